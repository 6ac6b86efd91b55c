//! Response bodies are capped while they are read: a page that never ends
//! (chunked, or a `Content-Length` of gigabytes) fails with a typed
//! "response too large" error once the cap is reached, without a retry and
//! without reading on; an error body is read only as far as its message.
//! Through the core client, then through the ConnectWise and HaloPSA
//! connectors and the sync engine with their default caps.

mod fault_support;

use fault_support::*;
use scopelink_core::http::{BodyLimits, HttpClient, Method, Request, RetryPolicy};
use scopelink_core::{ConnectorError, DataType, HttpError, MemoryStore, Store, SyncError};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings};
use scopelink_reliability::hostile_server::{Answer, HostileServer};
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

const MIB: u64 = 1024 * 1024;

/// What the kernel's socket buffers on loopback can hold beyond what the
/// client read: the server counts bytes its socket accepted, not bytes the
/// client read.
const SOCKET_SLACK: u64 = 16 * MIB;

fn client(limits: BodyLimits, attempts: u32) -> HttpClient {
    HttpClient::new(
        http(Duration::from_secs(30))
            .with_body_limits(limits)
            .with_retry(RetryPolicy {
                max_attempts: attempts,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(10),
            }),
    )
    .unwrap()
}

fn get(server: &HostileServer, path: &str) -> Request {
    Request::new(
        Method::GET,
        Url::parse(&format!("{}{path}", server.url())).unwrap(),
    )
}

const ONE_MIB_PAGES: BodyLimits = BodyLimits {
    success: MIB,
    error: 4 * 1024,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_chunked_page_fails_at_the_cap_and_is_not_retried() {
    let server = HostileServer::start(|_| Answer::endless(200, b"[".to_vec(), b' '))
        .await
        .unwrap();
    let http = client(ONE_MIB_PAGES, 4);
    let err = http.send(get(&server, "/companies")).await.unwrap_err();
    match &err {
        HttpError::ResponseTooLarge {
            method,
            path,
            limit,
        } => {
            assert_eq!(
                (method.as_str(), path.as_str(), *limit),
                ("GET", "/companies", MIB)
            );
        }
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("larger than the 1048576-byte limit"),
        "{err}"
    );
    // One request: a too-large body is not retried.
    assert_eq!(http.requests_sent(), 1);
    assert_eq!(server.requests(), 1);
    // The client stopped reading: the server's writes stop soon after the
    // cap (give its task a moment to notice the closed connection).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let written = server.body_bytes();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.body_bytes(), written, "the server is still writing");
    assert!(written < MIB + SOCKET_SLACK, "{written} bytes written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_cap_is_refused_before_reading() {
    // "2 GB of whitespace", declared up front.
    let server = HostileServer::start(|_| Answer::Declared {
        status: 200,
        length: 2 * 1024 * MIB,
        prefix: b"[".to_vec(),
        fill: b' ',
    })
    .await
    .unwrap();
    let http = client(ONE_MIB_PAGES, 4);
    let err = http.send(get(&server, "/companies")).await.unwrap_err();
    assert!(
        matches!(err, HttpError::ResponseTooLarge { limit, .. } if limit == MIB),
        "{err:?}"
    );
    assert_eq!(server.requests(), 1);
    assert!(
        server.body_bytes() < SOCKET_SLACK,
        "{}",
        server.body_bytes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_at_the_cap_is_read_whole() {
    let page = {
        let mut body = b"[".to_vec();
        body.resize(MIB as usize - 1, b' ');
        body.push(b']');
        body
    };
    let body = page.clone();
    let server = HostileServer::start(move |_| Answer::Full {
        status: 200,
        headers: Vec::new(),
        body: body.clone(),
    })
    .await
    .unwrap();
    let http = client(ONE_MIB_PAGES, 4);
    let response = http.send(get(&server, "/companies")).await.unwrap();
    assert_eq!(response.body, page);
    assert_eq!(response.json::<Vec<u8>>().unwrap(), Vec::<u8>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_error_body_is_read_only_as_far_as_its_message() {
    let server = HostileServer::start(|line| {
        let status = if line.contains("/bad") { 400 } else { 503 };
        Answer::endless(
            status,
            b"Internal failure: the database is down".to_vec(),
            b' ',
        )
    })
    .await
    .unwrap();
    let http = client(ONE_MIB_PAGES, 3);

    // A 400 is not retried; its message is the body's text.
    let err = http.send(get(&server, "/bad")).await.unwrap_err();
    match &err {
        HttpError::Status {
            status, message, ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(message, "Internal failure: the database is down");
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    assert_eq!(server.requests(), 1);

    // A 503 is retried, each time reading only the first bytes.
    let err = http.send(get(&server, "/busy")).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.requests(), 1 + 3);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let written = server.body_bytes();
    assert!(written < 4 * SOCKET_SLACK, "{written} bytes written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectwise_sync_against_an_endless_page_fails_typed_at_the_default_cap() {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::default()).await;
    let server = HostileServer::start(|_| Answer::endless(200, b"[".to_vec(), b' '))
        .await
        .unwrap();
    let connector = cw_connector(&sim, &server.url(), 1000, http(Duration::from_secs(30)));
    let limits = connector.http().config().body_limits.expect("a default");
    assert_eq!(limits.success, 32 * MIB);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let host = Host::connectwise(store, &sim).await;
    let err = host
        .run_crm(&connector, &Recorder::default())
        .await
        .unwrap_err();
    match &err {
        SyncError::Connector {
            data_type: DataType::Companies,
            source: ConnectorError::Http(HttpError::ResponseTooLarge { limit, path, .. }),
        } => {
            assert_eq!(*limit, 32 * MIB);
            assert!(path.ends_with("/company/companies"), "{path}");
        }
        other => panic!("expected a too-large companies page, got {other:?}"),
    }
    assert_eq!(server.requests(), 1, "{:?}", server.request_lines());
    let state = host
        .store
        .sync_state(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert!(
        matches!(&state.status, scopelink_core::sync::RunStatus::Failed { reason, .. } if reason.contains("larger than the")),
        "{state:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halopsa_sync_against_an_endless_page_fails_typed_at_the_default_cap() {
    let server = HostileServer::start(|line| {
        if line.contains("/auth/token") {
            Answer::json(
                200,
                &serde_json::json!({"access_token": "tok-abcdef", "token_type": "Bearer", "expires_in": 3600}),
            )
        } else {
            Answer::endless(200, br#"{"record_count": 5, "clients": ["#.to_vec(), b' ')
        }
    })
    .await
    .unwrap();
    let settings = HaloPsaSettings::new(server.url()).tenant("acmemsp");
    let halo = HaloPsaConnector::new(
        settings,
        scopelink_core::secret::ClientCredentials::new("sim-client", "sim-secret"),
        http(Duration::from_secs(30)),
    )
    .unwrap();
    let limits = halo.http().config().body_limits.expect("a default");
    assert_eq!(limits.success, 16 * MIB);
    let host = Host::halopsa(Arc::new(MemoryStore::new()), &server.url()).await;
    let err = host.run_crm(&halo, &Recorder::default()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Connector {
                data_type: DataType::Companies,
                source: ConnectorError::Http(HttpError::ResponseTooLarge { limit, .. }),
            } if *limit == 16 * MIB
        ),
        "{err:?}"
    );
    // The token, then one page request: not retried.
    assert_eq!(server.requests(), 2, "{:?}", server.request_lines());
}
