//! A request has an overall deadline across its retries: a slow host no
//! longer costs every attempt's full timeout (30 s × 4 attempts and the
//! backoffs were 122 s). Quick transient failures are still retried within
//! it, a backoff that would pass it gives up with the real error, and waits
//! a rate limit asks for do not count against it.

use scopelink_core::http::{
    AddressPolicy, HttpClient, HttpConfig, Method, Request, RetryPolicy, ThrottlePolicy,
};
use scopelink_core::HttpError;
use std::time::{Duration, Instant};
use url::Url;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(timeout: Duration, deadline: Option<Duration>) -> HttpConfig {
    let config = HttpConfig::default()
        .with_timeout(timeout)
        .with_retry(RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(5),
        })
        .with_addresses(AddressPolicy::allow_local());
    match deadline {
        Some(deadline) => config.with_deadline(deadline),
        None => config,
    }
}

fn get(server: &MockServer, p: &str) -> Request {
    Request::new(
        Method::GET,
        Url::parse(&format!("{}{p}", server.uri())).unwrap(),
    )
}

async fn slow_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_host_fails_at_the_request_deadline_not_after_every_retry() {
    let server = slow_server().await;
    // 2 s per attempt, 4 attempts: at least 8 s without a deadline.
    let http =
        HttpClient::new(config(Duration::from_secs(2), Some(Duration::from_secs(3)))).unwrap();
    let started = Instant::now();
    let err = http.send(get(&server, "/slow")).await.unwrap_err();
    let took = started.elapsed();
    match &err {
        HttpError::DeadlineExceeded {
            method,
            path,
            deadline,
            attempts,
        } => {
            assert_eq!((method.as_str(), path.as_str()), ("GET", "/slow"));
            assert_eq!(*deadline, Duration::from_secs(3));
            // The first attempt timed out after 2 s; the second was cut at
            // the deadline.
            assert_eq!(*attempts, 2);
        }
        other => panic!("expected DeadlineExceeded, got {other:?}"),
    }
    assert!(
        err.to_string()
            .contains("did not complete within 3s (2 attempts)"),
        "{err}"
    );
    assert_eq!(http.requests_sent(), 2);
    assert!(took < Duration::from_secs(7), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_deadline_is_twice_the_timeout() {
    let config = config(Duration::from_millis(1500), None);
    assert_eq!(config.request_deadline(), Duration::from_secs(3));
    assert_eq!(
        HttpConfig::default().request_deadline(),
        Duration::from_secs(60)
    );
    let server = slow_server().await;
    let http = HttpClient::new(config).unwrap();
    let started = Instant::now();
    let err = http.send(get(&server, "/slow")).await.unwrap_err();
    let took = started.elapsed();
    // The second attempt ends at the deadline, which falls where its own
    // timeout would: either error says so.
    assert!(
        matches!(
            err,
            HttpError::DeadlineExceeded { .. } | HttpError::Timeout { .. }
        ),
        "{err:?}"
    );
    assert_eq!(http.requests_sent(), 2);
    // 4 attempts of 1.5 s would take 6 s.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_transient_failures_are_still_retried_within_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    let http = HttpClient::new(config(
        Duration::from_secs(5),
        Some(Duration::from_secs(10)),
    ))
    .unwrap();
    let response = http.send(get(&server, "/flaky")).await.unwrap();
    assert_eq!(response.attempts, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_that_would_pass_the_deadline_gives_up_with_the_real_error() {
    let server = MockServer::start().await;
    Mock::given(path("/busy"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("Retry-After", "3")
                .set_body_json(serde_json::json!({"message": "Down for maintenance"})),
        )
        .mount(&server)
        .await;
    let http =
        HttpClient::new(config(Duration::from_secs(5), Some(Duration::from_secs(2)))).unwrap();
    let started = Instant::now();
    let err = http.send(get(&server, "/busy")).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.to_string().contains("Down for maintenance"), "{err}");
    assert_eq!(
        http.requests_sent(),
        1,
        "no retry that could not finish in time"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_waits_do_not_count_against_the_deadline() {
    let server = MockServer::start().await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    let http = HttpClient::new(
        // Waits of 200, 400 and 800 ms: 1.4 s, past the 0.5 s deadline.
        config(Duration::from_secs(5), Some(Duration::from_millis(500))).with_throttle(
            ThrottlePolicy {
                retry: true,
                first_wait: Duration::from_millis(200),
                max_wait: Duration::from_secs(1),
                max_total_wait: Duration::from_secs(10),
                max_retries: 5,
                quota_markers: &[],
            },
        ),
    )
    .unwrap();
    let started = Instant::now();
    let response = http.send(get(&server, "/limited")).await.unwrap();
    assert_eq!(response.attempts, 4);
    assert!(started.elapsed() >= Duration::from_millis(1400));
}
