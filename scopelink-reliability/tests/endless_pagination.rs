//! Providers whose lists never end: every list request answered with a full
//! page and no next link, either the same page again (a server that ignores
//! the page asked for) or new records each time. Every page walk is bounded:
//! a repeated page ends it at once with a typed error, new pages end at the
//! page limit, option lists gathered in memory end at the item limit, and a
//! whole sync can be given a deadline. Committed pages are kept; nothing
//! runs forever. Through the ConnectWise and HaloPSA connectors and the sync
//! engine.

mod fault_support;

use fault_support::*;
use scopelink_core::connector::CrmSource;
use scopelink_core::http::{HttpConfig, PageLimits};
use scopelink_core::sync::RunStatus;
use scopelink_core::{ConnectorError, DataType, HttpError, MemoryStore, Store, SyncError};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings};
use scopelink_reliability::hostile_server::{Answer, HostileServer};
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Fails the test instead of hanging when a walk does not end.
async fn bounded<T>(what: &str, run: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .unwrap_or_else(|_| panic!("{what} did not end within 2 minutes"))
}

/// The value of `name` in a request line's query, as a number.
fn query_number(line: &str, name: &str) -> Option<u64> {
    let target = line.split_whitespace().nth(1)?;
    let (_, query) = target.split_once('?')?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.parse().ok())
}

/// A ConnectWise company, shaped like the fixtures', with this id.
fn cw_company(id: u64) -> Value {
    json!({
        "id": id,
        "identifier": format!("Company{id}"),
        "name": format!("Company {id}"),
        "status": {"id": 1, "name": "Active"},
        "types": [{"id": 1, "name": "Client"}],
        "deletedFlag": false,
        "_info": {"lastUpdated": "2026-01-05T10:00:00Z"}
    })
}

/// `size` companies for page `page` (ids differ from page to page unless
/// `same` is set).
fn cw_page(page: u64, size: u64, same: bool) -> Value {
    let first = if same { 1 } else { (page - 1) * size + 1 };
    Value::Array((first..first + size).map(cw_company).collect())
}

/// A ConnectWise sync host, and a connector on `server` with pages of 5.
async fn cw_setup(
    server: &HostileServer,
    http: HttpConfig,
) -> (
    ConnectWiseSim,
    Host,
    scopelink_connectwise::ConnectWiseConnector,
) {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::default()).await;
    let connector = cw_connector(&sim, &server.url(), 5, http);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let host = Host::connectwise(store, &sim).await;
    (sim, host, connector)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectwise_sync_stops_on_a_page_that_repeats() {
    // Every request: the same full page, no Link header.
    let server = HostileServer::start(|_| Answer::json(200, &cw_page(1, 5, true)))
        .await
        .unwrap();
    let (_sim, host, connector) = cw_setup(&server, http(Duration::from_secs(10))).await;
    let rec = Recorder::default();
    let err = bounded("the sync", host.run_crm(&connector, &rec))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Connector {
                data_type: DataType::Companies,
                source: ConnectorError::Http(HttpError::DuplicatePage {
                    page: 2,
                    same_as: 1
                }),
            }
        ),
        "{err:?}"
    );
    let shown = scopelink_core::error::chain(&err);
    assert!(
        shown.contains("page 2 of this list is the same as page 1"),
        "{shown}"
    );
    assert_eq!(server.requests(), 2, "{:?}", server.request_lines());
    // The first page was committed once; the repeat was not.
    assert_eq!(rec.pages(DataType::Companies), 1);
    let stored = host
        .store
        .count_records(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert_eq!(stored, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectwise_sync_of_new_pages_forever_stops_at_the_page_limit() {
    let server = HostileServer::start(|line| {
        let page = query_number(line, "page").unwrap_or(1);
        Answer::json(200, &cw_page(page, 5, false))
    })
    .await
    .unwrap();
    let http = http(Duration::from_secs(10)).with_page_limits(PageLimits {
        max_pages: 40,
        ..PageLimits::DEFAULT
    });
    let (_sim, host, connector) = cw_setup(&server, http).await;
    let rec = Recorder::default();
    let err = bounded("the sync", host.run_crm(&connector, &rec))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Connector {
                data_type: DataType::Companies,
                source: ConnectorError::Http(HttpError::TooManyPages { limit: 40 }),
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.requests(), 40);
    // Every page read was committed; the run is marked failed with the
    // reason, and its checkpoint stays.
    assert_eq!(rec.pages(DataType::Companies), 40);
    let state = host
        .store
        .sync_state(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert!(
        matches!(&state.status, RunStatus::Failed { reason, .. } if reason.contains("did not end after 40 pages")),
        "{state:?}"
    );
    assert_eq!(state.checkpoint.map(|c| c.pages), Some(40));
    println!(
        "endless new pages: stopped after {} requests (limit 40)",
        server.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectwise_filter_discovery_against_endless_lists_stops_at_the_item_limit() {
    // Four option lists, each answering 1,000 new entries a page, forever.
    let server = HostileServer::start(|line| {
        let page = query_number(line, "page").unwrap_or(1);
        let items: Vec<Value> = ((page - 1) * 1000 + 1..=page * 1000)
            .map(|id| json!({"id": id, "name": format!("Option {id}")}))
            .collect();
        Answer::json(200, &Value::Array(items))
    })
    .await
    .unwrap();
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::default()).await;
    // The connector's default page size (1,000) and the default limits.
    let connector = cw_connector(&sim, &server.url(), 1000, http(Duration::from_secs(30)));
    assert_eq!(connector.http().config().pages, None);
    let err = bounded("filter discovery", connector.filter_options())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Http(HttpError::TooManyItems { limit: 100_000 })
        ),
        "{err:?}"
    );
    // 101 pages of one list pass the limit; the other lists, walked at the
    // same time, stop with it.
    let requests = server.requests();
    assert!((101..=4 * 101).contains(&requests), "{requests} requests");
    println!("endless option lists: filter discovery stopped after {requests} requests (limit 100,000 entries)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectwise_filter_discovery_stops_on_repeated_option_pages() {
    let server = HostileServer::start(|_| {
        let items: Vec<Value> = (1..=1000)
            .map(|id| json!({"id": id, "name": format!("Option {id}")}))
            .collect();
        Answer::json(200, &Value::Array(items))
    })
    .await
    .unwrap();
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::default()).await;
    let connector = cw_connector(&sim, &server.url(), 1000, http(Duration::from_secs(30)));
    let err = bounded("filter discovery", connector.filter_options())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Http(HttpError::DuplicatePage {
                page: 2,
                same_as: 1
            })
        ),
        "{err:?}"
    );
    assert!(server.requests() <= 4 * 2, "{:?}", server.request_lines());
}

/// A HaloPSA server: a token, then `clients(page_no)` for `/api/Client`.
async fn halo_server(clients: fn(u64) -> Value) -> HostileServer {
    HostileServer::start(move |line| {
        if line.contains("/auth/token") {
            return Answer::json(
                200,
                &json!({"access_token": "tok-abcdef", "token_type": "Bearer", "expires_in": 3600}),
            );
        }
        let page = query_number(line, "page_no").unwrap_or(1);
        Answer::json(
            200,
            &json!({"page_no": page, "page_size": 100, "clients": clients(page)}),
        )
    })
    .await
    .unwrap()
}

fn halo_clients(first: u64) -> Value {
    Value::Array(
        (first..first + 100)
            .map(|id| json!({"id": id, "name": format!("Client {id}"), "toplevel_id": id, "toplevel_name": format!("Level {id}"), "inactive": false}))
            .collect(),
    )
}

fn halo_connector(server: &HostileServer, http: HttpConfig) -> HaloPsaConnector {
    let settings = HaloPsaSettings::new(server.url()).tenant("acmemsp");
    HaloPsaConnector::new(
        settings,
        scopelink_core::secret::ClientCredentials::new("sim-client", "sim-secret"),
        http,
    )
    .unwrap()
}

#[test]
fn halopsa_walks_are_bounded_at_five_million_records_by_default() {
    let halo = HaloPsaConnector::new(
        HaloPsaSettings::new("https://acme.halopsa.com").tenant("acme"),
        scopelink_core::secret::ClientCredentials::new("id", "secret"),
        HttpConfig::default(),
    )
    .unwrap();
    assert_eq!(
        halo.http().config().pages,
        Some(PageLimits {
            max_pages: 50_000,
            max_collected_items: 100_000
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halopsa_sync_stops_on_a_page_that_repeats() {
    let server = halo_server(|_| halo_clients(1)).await;
    let halo = halo_connector(&server, http(Duration::from_secs(10)));
    let host = Host::halopsa(Arc::new(MemoryStore::new()), &server.url()).await;
    let rec = Recorder::default();
    let err = bounded("the sync", host.run_crm(&halo, &rec))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Connector {
                data_type: DataType::Companies,
                source: ConnectorError::Http(HttpError::DuplicatePage {
                    page: 2,
                    same_as: 1
                }),
            }
        ),
        "{err:?}"
    );
    // The token, then two pages.
    assert_eq!(server.requests(), 3, "{:?}", server.request_lines());
    assert_eq!(rec.pages(DataType::Companies), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halopsa_walks_of_new_pages_forever_stop_at_the_limits() {
    let server = halo_server(|page| halo_clients((page - 1) * 100 + 1)).await;
    let limits = PageLimits {
        max_pages: 30,
        max_collected_items: 1_000,
    };
    let halo = halo_connector(
        &server,
        http(Duration::from_secs(10)).with_page_limits(limits),
    );
    // Filter discovery gathers every client: stopped at 1,000 entries.
    let err = bounded("filter discovery", halo.filter_options())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::Http(HttpError::TooManyItems { limit: 1_000 })
        ),
        "{err:?}"
    );
    assert_eq!(server.requests(), 1 + 11, "{:?}", server.request_lines());

    // The sync streams pages: stopped at 30 pages, each committed.
    let host = Host::halopsa(Arc::new(MemoryStore::new()), &server.url()).await;
    let rec = Recorder::default();
    let err = bounded("the sync", host.run_crm(&halo, &rec))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Connector {
                data_type: DataType::Companies,
                source: ConnectorError::Http(HttpError::TooManyPages { limit: 30 }),
            }
        ),
        "{err:?}"
    );
    assert_eq!(rec.pages(DataType::Companies), 30);
    assert_eq!(server.requests(), 12 + 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_deadline_ends_an_endless_sync_and_keeps_its_pages() {
    let server = HostileServer::start(|line| {
        let page = query_number(line, "page").unwrap_or(1);
        Answer::json(200, &cw_page(page, 5, false))
    })
    .await
    .unwrap();
    let (_sim, host, connector) = cw_setup(&server, http(Duration::from_secs(10))).await;
    let rec = Recorder::default();
    let request = crm_request().with_time_limit(Duration::from_millis(1500));
    let progress = |p: &scopelink_core::sync::SyncProgress| rec.note(p);
    let err = bounded(
        "the sync",
        host.engine.run(
            &host.access,
            &host.conn,
            &connector,
            &request,
            Some(&progress),
        ),
    )
    .await
    .unwrap_err();
    let SyncError::DeadlineExceeded { data_type, pages } = err else {
        panic!("expected DeadlineExceeded, got {err:?}");
    };
    assert_eq!(data_type, DataType::Companies);
    assert!(pages > 0, "some pages were committed before the deadline");
    assert_eq!(rec.pages(DataType::Companies), pages);
    // Every committed page's records are stored; the checkpoint says where
    // the next run resumes, and the run is marked failed with the reason.
    let stored = host
        .store
        .count_records(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert_eq!(stored, pages * 5);
    let state = host
        .store
        .sync_state(&host.conn, DataType::Companies)
        .await
        .unwrap();
    let checkpoint = state.checkpoint.expect("a checkpoint");
    assert_eq!(checkpoint.pages, pages);
    assert_eq!(checkpoint.page_token, Some((pages + 1).to_string()));
    assert!(
        matches!(&state.status, RunStatus::Failed { reason, .. } if reason.contains("deadline")),
        "{:?}",
        state.status
    );
    println!(
        "sync deadline 1.5 s: stopped after {pages} committed pages, {} requests",
        server.requests()
    );
}
