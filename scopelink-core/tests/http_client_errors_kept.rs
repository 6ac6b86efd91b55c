//! `Request::keep_client_errors`: a 4xx (other than 429) comes back as a
//! response with its status, headers and body, for providers whose error
//! bodies carry codes and fields; 429, 5xx and transport failures are still
//! retried and reported as errors.

use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig, Method, Request, RetryPolicy};
use scopelink_core::HttpError;
use std::time::Duration;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client() -> HttpClient {
    HttpClient::new(
        HttpConfig::default()
            .with_retry(RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(50),
            })
            .with_addresses(AddressPolicy::allow_local()),
    )
    .unwrap()
}

fn get(server: &MockServer, p: &str) -> Request {
    Request::new(
        Method::GET,
        Url::parse(&format!("{}{p}", server.uri())).unwrap(),
    )
}

#[tokio::test]
async fn kept_client_errors_come_back_with_status_headers_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/limited"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("Sforce-Limit-Info", "api-usage=5000/5000")
                .set_body_string(
                    r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
                ),
        )
        .expect(2)
        .mount(&server)
        .await;
    let resp = client()
        .send(get(&server, "/limited").keep_client_errors(true))
        .await
        .unwrap();
    assert_eq!(resp.status, 403);
    assert!(!resp.is_success());
    assert_eq!(
        resp.header("Sforce-Limit-Info"),
        Some("api-usage=5000/5000")
    );
    assert!(String::from_utf8_lossy(&resp.body).contains("REQUEST_LIMIT_EXCEEDED"));
    // Without the flag: the usual error, with the provider's message.
    let err = client().send(get(&server, "/limited")).await.unwrap_err();
    assert_eq!(err.status(), Some(403));
}

#[tokio::test]
async fn kept_client_errors_do_not_change_retries_of_5xx_and_429() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/down"))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let err = client()
        .send(get(&server, "/down").keep_client_errors(true))
        .await
        .unwrap_err();
    assert!(
        matches!(err, HttpError::Status { status: 503, .. }),
        "{err}"
    );
    Mock::given(method("GET"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(429))
        .expect(3)
        .mount(&server)
        .await;
    let err = client()
        .send(get(&server, "/busy").keep_client_errors(true))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429));
}
