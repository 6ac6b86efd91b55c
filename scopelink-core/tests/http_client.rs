//! The HTTP client against wiremock on loopback: retries, `Retry-After`,
//! timeouts, status errors, the rate limiter, redirects and the resolver's
//! address checks, and what reaches logs and errors.
//!
//! No test sends traffic anywhere but 127.0.0.1: refused redirects and
//! names are refused before any connection is made.

use scopelink_core::http::{
    AddressPolicy, HttpClient, HttpConfig, Method, RateLimit, Request, RetryPolicy,
};
use scopelink_core::HttpError;
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use url::Url;
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
    }
}

fn config() -> HttpConfig {
    HttpConfig::default()
        .with_timeout(Duration::from_secs(10))
        .with_retry(retry(4))
        .with_addresses(AddressPolicy::allow_local())
}

fn client_with(config: HttpConfig) -> HttpClient {
    HttpClient::new(config).unwrap()
}

fn client() -> HttpClient {
    client_with(config())
}

fn url(server: &MockServer, p: &str) -> Url {
    Url::parse(&format!("{}{p}", server.uri())).unwrap()
}

fn get(server: &MockServer, p: &str) -> Request {
    Request::new(Method::GET, url(server, p))
}

async fn seen(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

#[tokio::test]
async fn a_200_is_returned_with_its_body_and_headers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .and(query_param("page", "1"))
        .and(header("accept", "application/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Total", "3")
                .set_body_json(serde_json::json!({"items": [1, 2, 3]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let http = client();
    let resp = http
        .send(
            get(&server, "/items")
                .query(&[("page", "1")])
                .header("Accept", "application/json"),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.attempts, 1);
    assert_eq!(resp.header("x-total"), Some("3"));
    assert_eq!(resp.url.path(), "/items");
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(body["items"][2], 3);
    assert_eq!(http.requests_sent(), 1);
}

#[tokio::test]
async fn json_and_form_bodies_are_sent_with_their_content_type() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/json"))
        .and(header("content-type", "application/json"))
        .and(body_json(serde_json::json!({"name": "Acme", "n": 1})))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/form"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("grant_type=client_credentials&scope=all"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let http = client();
    let created = http
        .send(
            Request::new(Method::POST, url(&server, "/json"))
                .json(&serde_json::json!({"name": "Acme", "n": 1})),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201);
    http.send(
        Request::new(Method::POST, url(&server, "/form"))
            .form(&[("grant_type", "client_credentials"), ("scope", "all")]),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn secret_headers_are_sent() {
    let server = MockServer::start().await;
    Mock::given(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let token = SecretString::from("Bearer tok-1".to_string());
    let resp = client()
        .send(get(&server, "/me").secret_header("Authorization", &token))
        .await
        .unwrap();
    assert_eq!(resp.status, 204);
}

#[tokio::test]
async fn a_429_with_retry_after_seconds_is_retried_after_that_wait() {
    let server = MockServer::start().await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let http = client();
    let started = Instant::now();
    let resp = http.send(get(&server, "/limited")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(resp.attempts, 2);
    assert_eq!(resp.body, b"ok");
    assert_eq!(seen(&server).await, 2);
    assert_eq!(http.requests_sent(), 2);
}

#[tokio::test]
async fn retry_after_zero_retries_at_once() {
    let server = MockServer::start().await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let resp = client().send(get(&server, "/limited")).await.unwrap();
    assert_eq!(resp.attempts, 3);
    assert_eq!(seen(&server).await, 3);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honored() {
    let server = MockServer::start().await;
    let when = chrono::Utc::now() + chrono::Duration::seconds(2);
    let date = when.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    Mock::given(path("/busy"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", date.as_str()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/busy"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let started = Instant::now();
    let resp = client().send(get(&server, "/busy")).await.unwrap();
    // The date has whole seconds: at least one of the two remains.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(resp.attempts, 2);
    assert_eq!(seen(&server).await, 2);
}

#[tokio::test]
async fn a_burst_of_503s_is_ridden_out() {
    let server = MockServer::start().await;
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(200).set_body_string("finally"))
        .mount(&server)
        .await;
    let http = client();
    let resp = http.send(get(&server, "/flaky")).await.unwrap();
    assert_eq!(resp.attempts, 4);
    assert_eq!(resp.body, b"finally");
    assert_eq!(seen(&server).await, 4);
    assert_eq!(http.requests_sent(), 4);
}

#[tokio::test]
async fn gateway_errors_502_and_504_are_retried_but_500_and_4xx_are_not() {
    let server = MockServer::start().await;
    Mock::given(path("/gw"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/gw"))
        .respond_with(ResponseTemplate::new(504))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/gw"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(path("/boom"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    Mock::given(path("/missing"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let http = client();
    assert_eq!(http.send(get(&server, "/gw")).await.unwrap().attempts, 3);
    let err = http.send(get(&server, "/boom")).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    let err = http.send(get(&server, "/missing")).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(http.requests_sent(), 5);
}

#[tokio::test]
async fn retries_stop_at_max_attempts_with_the_providers_message() {
    let server = MockServer::start().await;
    Mock::given(path("/down"))
        .respond_with(ResponseTemplate::new(503).set_body_json(
            serde_json::json!({"code": "Maintenance", "message": "Down for maintenance until 02:00 UTC"}),
        ))
        .mount(&server)
        .await;
    let http = client_with(config().with_retry(retry(3)));
    let err = http.send(get(&server, "/down")).await.unwrap_err();
    match &err {
        HttpError::Status {
            method,
            path,
            status,
            message,
            retry_after,
        } => {
            assert_eq!(method, "GET");
            assert_eq!(path, "/down");
            assert_eq!(*status, 503);
            assert_eq!(message, "Down for maintenance until 02:00 UTC");
            assert_eq!(*retry_after, None);
        }
        other => panic!("expected Status, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "GET /down failed with HTTP 503: Down for maintenance until 02:00 UTC"
    );
    assert_eq!(seen(&server).await, 3);
    assert_eq!(http.requests_sent(), 3);
}

#[tokio::test]
async fn a_retry_after_longer_than_max_delay_is_returned_at_once() {
    let server = MockServer::start().await;
    Mock::given(path("/quota"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "120")
                .set_body_json(serde_json::json!({"error": "Rate Limit Reached"})),
        )
        .mount(&server)
        .await;
    let http = client_with(config().with_retry(RetryPolicy {
        max_delay: Duration::from_secs(1),
        ..retry(4)
    }));
    let started = Instant::now();
    let err = http.send(get(&server, "/quota")).await.unwrap_err();
    let HttpError::Status {
        status,
        message,
        retry_after,
        ..
    } = &err
    else {
        panic!("expected Status, got {err:?}");
    };
    assert_eq!(*status, 429);
    assert_eq!(message, "Rate Limit Reached");
    assert_eq!(*retry_after, Some(Duration::from_secs(120)));
    assert_eq!(seen(&server).await, 1);
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test]
async fn post_is_not_retried_unless_marked_retry_safe() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/create"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/create"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let http = client();
    let err = http
        .send(Request::new(Method::POST, url(&server, "/create")).json(&serde_json::json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(seen(&server).await, 1);

    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/create"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/create"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let resp = http
        .send(
            Request::new(Method::POST, url(&server, "/create"))
                .json(&serde_json::json!({}))
                .retry_safe(true),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 201);
    assert_eq!(resp.attempts, 2);
    assert_eq!(seen(&server).await, 2);
}

#[tokio::test]
async fn a_post_refused_with_429_is_resent_because_it_was_not_processed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/create"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/create"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let resp = client()
        .send(Request::new(Method::POST, url(&server, "/create")).json(&serde_json::json!({})))
        .await
        .unwrap();
    assert_eq!(resp.status, 201);
    assert_eq!(resp.attempts, 2);
    assert_eq!(seen(&server).await, 2);
}

#[tokio::test]
async fn idempotent_methods_are_retried() {
    let server = MockServer::start().await;
    for verb in ["PUT", "DELETE", "HEAD", "OPTIONS"] {
        Mock::given(method(verb))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method(verb))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
    }
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let http = client();
    for verb in [Method::PUT, Method::DELETE, Method::HEAD, Method::OPTIONS] {
        let resp = http
            .send(Request::new(verb.clone(), url(&server, "/x")))
            .await
            .unwrap();
        assert_eq!(resp.attempts, 2, "{verb}");
    }
    let err = http
        .send(Request::new(Method::PATCH, url(&server, "/x")))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(http.requests_sent(), 9);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let http = client_with(
        config()
            .with_timeout(Duration::from_millis(200))
            .with_retry(retry(1)),
    );
    let err = http.send(get(&server, "/slow")).await.unwrap_err();
    match err {
        HttpError::Timeout {
            method,
            path,
            timeout,
        } => {
            assert_eq!(method, "GET");
            assert_eq!(path, "/slow");
            assert_eq!(timeout, Duration::from_millis(200));
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert_eq!(http.requests_sent(), 1);

    // Timeouts are retried like connection errors (within the request's
    // overall deadline, by default twice the timeout, here longer).
    let http = client_with(
        config()
            .with_timeout(Duration::from_millis(200))
            .with_retry(retry(2))
            .with_deadline(Duration::from_secs(10)),
    );
    let err = http.send(get(&server, "/slow")).await.unwrap_err();
    assert!(matches!(err, HttpError::Timeout { .. }), "{err:?}");
    assert_eq!(http.requests_sent(), 2);
}

#[tokio::test]
async fn an_unreachable_host_is_a_connect_error_after_retries() {
    // A port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let http = client_with(config().with_retry(retry(3)));
    let target = Url::parse(&format!("http://127.0.0.1:{port}/x?api_key=SECRET")).unwrap();
    let err = http
        .send(Request::new(Method::GET, target))
        .await
        .unwrap_err();
    match &err {
        HttpError::Connect { host, source } => {
            assert_eq!(host, "127.0.0.1");
            // The transport's cause is a typed source, not text in the
            // message: the OS's refusal is reachable through it.
            assert_eq!(
                source.io_error_kind(),
                Some(std::io::ErrorKind::ConnectionRefused)
            );
        }
        other => panic!("expected Connect, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "could not reach 127.0.0.1; check the server address and the network"
    );
    let printed = scopelink_core::error::chain(&err);
    assert!(
        printed
            .starts_with("could not reach 127.0.0.1; check the server address and the network: "),
        "{printed}"
    );
    assert!(printed.to_lowercase().contains("refused"), "{printed}");
    let shown = format!("{err} {err:?} {printed}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert_eq!(http.requests_sent(), 3);
}

#[tokio::test]
async fn errors_name_the_path_but_never_the_query() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/items"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad page size"))
        .mount(&server)
        .await;
    let err = client()
        .send(get(&server, "/v1/items").query(&[("api_key", "SECRET-Q"), ("page_size", "5000")]))
        .await
        .unwrap_err();
    let HttpError::Status { path, message, .. } = &err else {
        panic!("expected Status, got {err:?}");
    };
    assert_eq!(path, "/v1/items");
    assert_eq!(message, "bad page size");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET-Q"), "{shown}");
    assert!(!shown.contains("page_size"), "{shown}");
}

#[tokio::test]
async fn an_empty_error_body_gives_the_status_reason() {
    let server = MockServer::start().await;
    Mock::given(path("/nothing"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let err = client().send(get(&server, "/nothing")).await.unwrap_err();
    let HttpError::Status { message, .. } = &err else {
        panic!("expected Status, got {err:?}");
    };
    assert_eq!(message, "Forbidden");
}

#[tokio::test]
async fn provider_messages_are_kept_for_several_body_shapes() {
    let server = MockServer::start().await;
    let shapes = [
        (
            "/cw",
            serde_json::json!({"code": "NotFound", "message": "Company 99999 not found"}),
            "Company 99999 not found",
        ),
        (
            "/sf",
            serde_json::json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
            "Session expired or invalid",
        ),
        (
            "/d365",
            serde_json::json!({"error": {"code": "0x0", "message": "Principal user is missing prvReadAccount"}}),
            "Principal user is missing prvReadAccount",
        ),
        (
            "/oauth",
            serde_json::json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
            "invalid_client: Client authentication failed",
        ),
        (
            "/at",
            serde_json::json!({"errors": ["Invalid API user."]}),
            "Invalid API user.",
        ),
        (
            "/merge",
            serde_json::json!({"detail": "Invalid token."}),
            "Invalid token.",
        ),
    ];
    for (p, body, _) in &shapes {
        Mock::given(path(*p))
            .respond_with(ResponseTemplate::new(401).set_body_json(body.clone()))
            .mount(&server)
            .await;
    }
    let http = client();
    for (p, _, want) in &shapes {
        let err = http.send(get(&server, p)).await.unwrap_err();
        let HttpError::Status {
            status, message, ..
        } = &err
        else {
            panic!("{p}: expected Status, got {err:?}");
        };
        assert_eq!(*status, 401);
        assert_eq!(message, want, "{p}");
        assert!(err.is_unauthorized());
    }
}

#[tokio::test]
async fn undecodable_json_is_a_decode_error_naming_method_and_path() {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"access_token": 12345}"#))
        .mount(&server)
        .await;
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Token {
        access_token: String,
    }
    let resp = client()
        .send(Request::new(Method::POST, url(&server, "/token")).query(&[("secret", "Q")]))
        .await
        .unwrap();
    match resp.json::<Token>() {
        Err(HttpError::Decode {
            method,
            path,
            reason,
        }) => {
            assert_eq!(method, "POST");
            assert_eq!(path, "/token");
            assert!(reason.contains("invalid type"), "{reason}");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    // A quoted value in serde's message is not repeated.
    let resp = client().send(get(&server, "/token")).await.unwrap();
    let err = resp.json::<Vec<String>>().unwrap_err();
    assert!(matches!(err, HttpError::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn the_rate_limit_spaces_requests_across_clones() {
    let server = MockServer::start().await;
    Mock::given(path("/rl"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let http = client_with(config().with_rate_limit(RateLimit {
        requests: 2,
        per: Duration::from_millis(200),
    }));
    let started = Instant::now();
    for _ in 0..3 {
        http.send(get(&server, "/rl")).await.unwrap();
    }
    let clone = http.clone();
    let (a, b) = tokio::join!(
        clone.send(get(&server, "/rl")),
        http.send(get(&server, "/rl"))
    );
    a.unwrap();
    b.unwrap();
    // Two in the first window, two in the second, the fifth in the third.
    assert!(
        started.elapsed() >= Duration::from_millis(390),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(seen(&server).await, 5);
    assert_eq!(http.requests_sent(), 5);
    assert_eq!(clone.requests_sent(), 5);
}

#[tokio::test]
async fn redirects_to_link_local_and_private_addresses_are_refused() {
    let server = MockServer::start().await;
    for (p, target) in [
        ("/metadata", "http://169.254.169.254/latest/meta-data"),
        ("/private", "http://10.0.0.5/"),
        ("/mapped", "http://[::ffff:10.0.0.1]/"),
        ("/link-local6", "https://[fe80::1]/"),
        ("/unspecified", "http://0.0.0.0:9000/"),
    ] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(302).insert_header("Location", target))
            .mount(&server)
            .await;
    }
    let http = client();
    for (p, host) in [
        ("/metadata", "169.254.169.254"),
        ("/private", "10.0.0.5"),
        ("/mapped", "[::ffff:a00:1]"),
        ("/link-local6", "[fe80::1]"),
        ("/unspecified", "0.0.0.0"),
    ] {
        let err = http.send(get(&server, p)).await.unwrap_err();
        match &err {
            HttpError::ForbiddenAddress { host: refused } => assert_eq!(refused, host, "{p}"),
            other => panic!("{p}: expected ForbiddenAddress, got {other:?}"),
        }
    }
    // Refused at once: not retried.
    assert_eq!(http.requests_sent(), 5);
    assert_eq!(seen(&server).await, 5);
}

#[tokio::test]
async fn redirects_to_other_schemes_are_refused() {
    let server = MockServer::start().await;
    Mock::given(path("/ftp"))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", "ftp://example.com/x"))
        .mount(&server)
        .await;
    let err = client().send(get(&server, "/ftp")).await.unwrap_err();
    assert!(matches!(err, HttpError::InsecureScheme { .. }), "{err:?}");

    // reqwest hands back a redirect it cannot follow at all (file:, data:)
    // instead of asking the redirect policy: refused the same way, the
    // target shown without its query, and not retried.
    for (p, target, shown) in [
        (
            "/file",
            "file:///etc/passwd?token=abc",
            "file:///etc/passwd",
        ),
        ("/data", "data:text/plain,hello", "data:text/plain,hello"),
        (
            "/gopher",
            "gopher://example.com/1#frag",
            "gopher://example.com/1",
        ),
    ] {
        Mock::given(path(p))
            .respond_with(ResponseTemplate::new(307).insert_header("Location", target))
            .mount(&server)
            .await;
        let http = client();
        let err = http.send(get(&server, p)).await.unwrap_err();
        match &err {
            HttpError::InsecureScheme { url } => assert_eq!(url, shown, "{p}"),
            other => panic!("{p}: expected InsecureScheme, got {other:?}"),
        }
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(http.requests_sent(), 1, "{p}: refused at once");
    }
}

#[tokio::test]
async fn a_redirect_without_a_usable_location_stays_a_status_error() {
    let server = MockServer::start().await;
    Mock::given(path("/nowhere"))
        .respond_with(ResponseTemplate::new(302))
        .mount(&server)
        .await;
    let err = client().send(get(&server, "/nowhere")).await.unwrap_err();
    assert_eq!(err.status(), Some(302), "{err:?}");
}

#[tokio::test]
async fn loopback_redirects_are_followed_up_to_five() {
    let server = MockServer::start().await;
    Mock::given(path("/old"))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", "/new?x=1"))
        .mount(&server)
        .await;
    Mock::given(path("/new"))
        .respond_with(ResponseTemplate::new(200).set_body_string("moved"))
        .mount(&server)
        .await;
    Mock::given(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/loop"))
        .mount(&server)
        .await;
    let http = client();
    let resp = http.send(get(&server, "/old")).await.unwrap();
    assert_eq!(resp.body, b"moved");
    assert_eq!(resp.url.path(), "/new");
    assert_eq!(resp.attempts, 1);

    let err = http.send(get(&server, "/loop")).await.unwrap_err();
    match &err {
        HttpError::Transport {
            path,
            reason,
            source,
            ..
        } => {
            assert_eq!(path, "/loop");
            assert!(reason.contains("redirects"), "{reason}");
            assert!(
                source.is_none(),
                "the SDK's own refusal has no transport cause"
            );
        }
        other => panic!("expected Transport, got {other:?}"),
    }
    // The original request and five redirects.
    let loops = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/loop")
        .count();
    assert_eq!(loops, 6);
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_under_public_only() {
    let http = client_with(
        HttpConfig::default()
            .with_addresses(AddressPolicy::public_only())
            .with_retry(retry(3))
            .with_timeout(Duration::from_secs(5)),
    );
    let err = http
        .send(Request::new(
            Method::GET,
            Url::parse("https://localhost:1/").unwrap(),
        ))
        .await
        .unwrap_err();
    match &err {
        HttpError::ForbiddenAddress { host } => assert_eq!(host, "localhost"),
        other => panic!("expected ForbiddenAddress, got {other:?}"),
    }
    // Not retried.
    assert_eq!(http.requests_sent(), 1);
}

#[tokio::test]
async fn literal_refused_addresses_and_http_are_refused_before_sending() {
    let http = client_with(HttpConfig::default().with_addresses(AddressPolicy::public_only()));
    for (target, want_forbidden) in [
        ("https://127.0.0.1:1/", true),
        ("https://[::1]:1/", true),
        ("https://10.0.0.1/", true),
        ("https://169.254.169.254/latest/meta-data", true),
        ("http://example.com/", false),
    ] {
        let err = http
            .send(Request::new(Method::GET, Url::parse(target).unwrap()))
            .await
            .unwrap_err();
        if want_forbidden {
            assert!(
                matches!(err, HttpError::ForbiddenAddress { .. }),
                "{target}: {err:?}"
            );
        } else {
            assert!(
                matches!(err, HttpError::InsecureScheme { .. }),
                "{target}: {err:?}"
            );
        }
    }
    assert_eq!(http.requests_sent(), 0);
    // Private addresses stay refused under allow_local.
    let err = client()
        .send(Request::new(
            Method::GET,
            Url::parse("http://10.0.0.1/").unwrap(),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::ForbiddenAddress { .. }), "{err:?}");
}

#[tokio::test]
async fn client_debug_shows_no_headers() {
    let http = client();
    let shown = format!("{http:?}");
    assert!(shown.contains("HttpClient"), "{shown}");
    assert!(shown.contains("requests_sent"), "{shown}");
    assert!(!shown.to_lowercase().contains("authorization"), "{shown}");
}

/// A tracing subscriber that writes every span field and event field to a
/// string.
#[derive(Clone, Default)]
struct Capture {
    text: Arc<Mutex<String>>,
    ids: Arc<std::sync::atomic::AtomicU64>,
}

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl Capture {
    fn write(&self, f: impl FnOnce(&mut String)) {
        let mut text = self.text.lock().unwrap();
        f(&mut text);
        text.push('\n');
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        self.write(|t| {
            t.push_str(&format!("span {} ", span.metadata().name()));
            span.record(&mut Fields(t));
        });
        let id = self.ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        self.write(|t| {
            t.push_str("record ");
            values.record(&mut Fields(t));
        });
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        self.write(|t| {
            t.push_str(&format!("event {} ", event.metadata().level()));
            event.record(&mut Fields(t));
        });
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn traces_carry_method_path_status_and_attempt_but_no_secrets() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/companies"))
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/companies"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    let token = SecretString::from("Bearer HEADER-SECRET".to_string());
    client()
        .send(
            get(&server, "/v1/companies")
                .query(&[("access_token", "QUERY-SECRET")])
                .secret_header("Authorization", &token)
                .header("X-Api-Key", "KEY-SECRET"),
        )
        .await
        .unwrap();
    drop(guard);
    let text = capture.text.lock().unwrap().clone();
    assert!(text.contains("path=/v1/companies"), "{text}");
    assert!(text.contains("method=GET"), "{text}");
    assert!(text.contains("attempt=1"), "{text}");
    assert!(text.contains("attempt=2"), "{text}");
    assert!(text.contains("status=503"), "{text}");
    assert!(text.contains("status=200"), "{text}");
    for secret in [
        "QUERY-SECRET",
        "HEADER-SECRET",
        "KEY-SECRET",
        "access_token",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}
