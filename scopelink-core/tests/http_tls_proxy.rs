//! TLS trust and proxies (issue 13): a private root CA makes a TLS server
//! signed by it reachable (and without it the call is refused); an opted-in
//! proxy carries the requests; the default client uses no proxy, even with
//! the proxy environment variables set.

use scopelink_core::error::{CertificateError, HttpError};
use scopelink_core::http::{
    AddressPolicy, HttpClient, HttpConfig, Method, Request, RetryPolicy, RootCertificate,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;
use url::Url;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CA: &[u8] = include_bytes!("tls/ca.pem");
const SERVER_CERT: &[u8] = include_bytes!("tls/server.pem");
const SERVER_KEY: &[u8] = include_bytes!("tls/server.key");

fn config() -> HttpConfig {
    HttpConfig::default()
        .with_addresses(AddressPolicy::allow_local())
        .with_timeout(Duration::from_secs(10))
        .with_retry(RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
        })
}

/// Reads one request's head from `stream`; returns its first line.
async fn read_head<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn answer<S: AsyncWrite + Unpin>(stream: &mut S, body: &str) {
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A TLS server on loopback with the certificate the test CA signed,
/// answering every request with `{"tls":true}`. Returns its port.
async fn tls_server() -> u16 {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(SERVER_CERT)
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY).unwrap();
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate aborts the
                // handshake; nothing to answer then.
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    read_head(&mut tls).await;
                    answer(&mut tls, r#"{"tls":true}"#).await;
                }
            });
        }
    });
    port
}

/// A proxy that counts the requests it gets and answers each itself with
/// `{"proxied":true}`, noting their request lines.
struct CountingProxy {
    url: Url,
    count: Arc<AtomicUsize>,
    lines: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn counting_proxy() -> CountingProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, l) = (count.clone(), lines.clone());
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let (c, l) = (c.clone(), l.clone());
            tokio::spawn(async move {
                let line = read_head(&mut tcp).await;
                c.fetch_add(1, Ordering::SeqCst);
                l.lock().unwrap().push(line);
                answer(&mut tcp, r#"{"proxied":true}"#).await;
            });
        }
    });
    CountingProxy { url, count, lines }
}

#[tokio::test]
async fn a_private_root_ca_makes_its_server_reachable_and_is_needed() {
    let port = tls_server().await;
    let url = format!("https://127.0.0.1:{port}/api/ping");

    // Not trusted by the built-in roots: refused during the handshake.
    let plain = HttpClient::new(config()).unwrap();
    let err = plain
        .send(Request::new(Method::GET, Url::parse(&url).unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpError::Connect { .. } | HttpError::Transport { .. }),
        "{err:?}"
    );
    // The handshake's refusal is the error's typed source, printed once
    // in the chain.
    let printed = scopelink_core::error::chain(&err);
    assert!(
        std::error::Error::source(&err).is_some(),
        "the transport's cause is kept: {err:?}"
    );
    assert!(
        printed.to_ascii_lowercase().contains("certificate"),
        "the error says the certificate is not trusted: {printed}"
    );

    let ca = RootCertificate::from_pem(CA).unwrap();
    assert_eq!(ca.len(), 1);
    let trusting = HttpClient::new(config().with_root_certificate(ca)).unwrap();
    let response = trusting
        .send(Request::new(Method::GET, Url::parse(&url).unwrap()))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.json::<serde_json::Value>().unwrap()["tls"], true);
}

#[test]
fn bad_certificate_text_is_a_typed_error() {
    assert!(matches!(
        RootCertificate::from_pem(b""),
        Err(CertificateError::NoCertificate)
    ));
    // A key is not a certificate.
    assert!(matches!(
        RootCertificate::from_pem(SERVER_KEY),
        Err(CertificateError::NoCertificate)
    ));
    let broken = b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n";
    let err = RootCertificate::from_pem(broken).unwrap_err();
    assert!(matches!(err, CertificateError::Malformed { .. }), "{err:?}");
    // A bundle: both certificates are read.
    let bundle = [CA, SERVER_CERT].concat();
    assert_eq!(RootCertificate::from_pem(&bundle).unwrap().len(), 2);
}

#[tokio::test]
async fn an_opted_in_proxy_carries_the_requests() {
    let proxy = counting_proxy().await;
    let client = HttpClient::new(config().with_proxy(proxy.url.clone())).unwrap();
    // The target's name is never resolved here: the proxy gets it.
    let target = Url::parse("http://psa.scopelink.invalid/api/ping").unwrap();
    let response = client
        .send(Request::new(Method::GET, target))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json::<serde_json::Value>().unwrap()["proxied"],
        true
    );
    assert_eq!(proxy.count.load(Ordering::SeqCst), 1);
    assert_eq!(
        proxy.lines.lock().unwrap().as_slice(),
        ["GET http://psa.scopelink.invalid/api/ping HTTP/1.1"]
    );
    // The proxy's credentials never show in Debug.
    let with_password =
        config().with_proxy(Url::parse("http://user:pa55word@127.0.0.1:3128").unwrap());
    assert!(!format!("{with_password:?}").contains("pa55word"));

    // Not an http(s) proxy: refused when the client is built.
    let err = HttpClient::new(config().with_proxy(Url::parse("ftp://127.0.0.1:21").unwrap()))
        .unwrap_err();
    assert!(matches!(err, HttpError::Client { .. }), "{err:?}");
}

#[tokio::test]
async fn the_default_client_ignores_proxy_environment_variables() {
    let proxy = counting_proxy().await;
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        std::env::set_var(name, proxy.url.as_str());
    }
    let server = MockServer::start().await;
    Mock::given(path("/api/ping"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"direct":true}"#))
        .mount(&server)
        .await;
    let client = HttpClient::new(config()).unwrap();
    let url = Url::parse(&format!("{}/api/ping", server.uri())).unwrap();
    let response = client.send(Request::new(Method::GET, url)).await.unwrap();
    assert_eq!(
        response.json::<serde_json::Value>().unwrap()["direct"],
        true
    );
    assert_eq!(proxy.count.load(Ordering::SeqCst), 0, "the proxy was used");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
