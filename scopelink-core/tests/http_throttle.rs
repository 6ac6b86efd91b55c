//! 429s under a [`ThrottlePolicy`]: waited out on the policy's schedule,
//! without using up the retry budget of other failures; a `Retry-After` is
//! honoured; a quota marker or a policy without retries fails at once; a
//! refusal that outlasts the policy fails with the provider's 429.

use scopelink_core::http::{
    AddressPolicy, HttpClient, HttpConfig, Method, Request, RetryPolicy, ThrottlePolicy,
};
use std::time::{Duration, Instant};
use url::Url;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const FAST: ThrottlePolicy = ThrottlePolicy {
    retry: true,
    first_wait: Duration::from_millis(10),
    max_wait: Duration::from_secs(2),
    max_total_wait: Duration::from_secs(10),
    max_retries: 8,
    quota_markers: &["\"DAILY\""],
};

fn client(throttle: ThrottlePolicy) -> HttpClient {
    HttpClient::new(
        HttpConfig::default()
            .with_retry(RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_secs(5),
            })
            .with_throttle(throttle)
            .with_addresses(AddressPolicy::allow_local()),
    )
    .unwrap()
}

async fn limited(server: &MockServer, refusals: u64, refusal: ResponseTemplate) {
    Mock::given(path("/limited"))
        .respond_with(refusal)
        .up_to_n_times(refusals)
        .mount(server)
        .await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(server)
        .await;
}

fn get(server: &MockServer) -> Request {
    Request::new(
        Method::GET,
        Url::parse(&format!("{}/limited", server.uri())).unwrap(),
    )
}

#[tokio::test]
async fn refusals_are_waited_out_beyond_the_retry_budget() {
    let server = MockServer::start().await;
    limited(&server, 6, ResponseTemplate::new(429)).await;
    // Two attempts for other failures; six 429s are waited out all the same.
    let http = client(FAST);
    let response = http.send(get(&server)).await.unwrap();
    assert_eq!(response.attempts, 7);
    assert_eq!(http.requests_sent(), 7);
}

#[tokio::test]
async fn a_refusal_that_outlasts_the_policy_fails_with_the_429() {
    let server = MockServer::start().await;
    limited(
        &server,
        100,
        ResponseTemplate::new(429).set_body_json(serde_json::json!({"message": "slow down"})),
    )
    .await;
    let http = client(ThrottlePolicy {
        max_retries: 3,
        ..FAST
    });
    let err = http.send(get(&server)).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert!(err.to_string().contains("slow down"), "{err}");
    assert_eq!(http.requests_sent(), 4);
}

#[tokio::test]
async fn a_retry_after_is_honoured() {
    let server = MockServer::start().await;
    limited(
        &server,
        1,
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
    )
    .await;
    let http = client(FAST);
    let started = Instant::now();
    let response = http.send(get(&server)).await.unwrap();
    assert_eq!(response.attempts, 2);
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_used_up_quota_or_a_no_retry_policy_fails_at_once() {
    let server = MockServer::start().await;
    limited(
        &server,
        1,
        ResponseTemplate::new(429).set_body_json(serde_json::json!({
            "status": "error",
            "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT",
            "policyName": "DAILY"
        })),
    )
    .await;
    let http = client(FAST);
    let err = http.send(get(&server)).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert!(err.to_string().contains("daily limit"), "{err}");
    assert_eq!(http.requests_sent(), 1);

    let server = MockServer::start().await;
    limited(&server, 1, ResponseTemplate::new(429)).await;
    let http = client(ThrottlePolicy::NO_RETRY);
    let err = http.send(get(&server)).await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert_eq!(http.requests_sent(), 1);
}
