//! Hostile Autotask answers and callouts: each is refused with a typed
//! error or skipped with a reason, never a panic, never a request elsewhere.

use futures::StreamExt;
use scopelink_autotask::{AutotaskConnector, AutotaskSettings};
use scopelink_core::connector::{CrmSource, StreamRequest};
use scopelink_core::http::{AddressPolicy, HttpConfig, RetryPolicy};
use scopelink_core::model::DataType;
use scopelink_core::secret::ApiUserSecret;
use scopelink_core::ConnectorError;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ROOT: &str = "/ATServicesRest/v1.0";

fn connector(server: &MockServer) -> AutotaskConnector {
    AutotaskConnector::with_zone_url(
        &format!("{}/ATServicesRest/", server.uri()),
        AutotaskSettings::default(),
        ApiUserSecret::new("api@example.test", "secret", "CODE"),
        HttpConfig::default()
            .with_retry(RetryPolicy {
                max_attempts: 2,
                base_delay: std::time::Duration::from_millis(1),
                max_delay: std::time::Duration::from_millis(5),
            })
            .with_addresses(AddressPolicy::allow_local()),
    )
    .unwrap()
}

async fn serve_companies(server: &MockServer, body: Value) {
    Mock::given(method("POST"))
        .and(path(format!("{ROOT}/Companies/query")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// Every page of a companies stream, or its first error.
async fn read(
    at: &AutotaskConnector,
) -> Result<Vec<scopelink_core::connector::RecordPage>, ConnectorError> {
    let mut stream = at.stream(StreamRequest {
        data_type: DataType::Companies,
        filter: Default::default(),
        since: None,
        resume_from: None,
    });
    let mut pages = Vec::new();
    while let Some(page) = stream.next().await {
        pages.push(page?);
    }
    Ok(pages)
}

#[tokio::test]
async fn malformed_items_are_rejected_one_by_one() {
    let server = MockServer::start().await;
    serve_companies(
        &server,
        json!({
            "items": [
                {"id": 1, "companyName": "Fine"},
                1, "text", null, [], {},
                {"id": "9".repeat(40), "companyName": "Huge id"},
                {"id": 2.5, "companyName": "Fractional id"},
                {"id": 3, "companyName": {"$gt": ""}},
                {"id": 4, "companyName": "Wrong types", "companyType": [1], "isActive": "maybe", "lastTrackedModifiedDateTime": "yesterday"},
                {"id": 5, "companyName": "x".repeat(70 * 1024)}
            ],
            "pageDetails": {"count": 11, "nextPageUrl": null}
        }),
    )
    .await;
    let at = connector(&server);
    let pages = read(&at).await.unwrap();
    assert_eq!(pages.len(), 1);
    let ids: Vec<&str> = pages[0].records.iter().map(|r| r.external_id()).collect();
    // Record 5's long name is the engine's to skip (MAX_FIELD_BYTES).
    assert_eq!(ids, ["1", "4", "5"]);
    assert_eq!(pages[0].rejected.len(), 8);
    assert!(pages[0].rejected.iter().all(|r| !r.reason.is_empty()));
}

#[tokio::test]
async fn broken_pages_fail_typed() {
    for (label, body) in [
        (
            "not JSON",
            ResponseTemplate::new(200).set_body_string("<html>login</html>"),
        ),
        (
            "an array",
            ResponseTemplate::new(200).set_body_json(json!([1, 2])),
        ),
        (
            "a next page elsewhere",
            ResponseTemplate::new(200).set_body_json(json!({
                "items": [{"id": 1, "companyName": "A"}],
                "pageDetails": {"nextPageUrl": "http://169.254.169.254/latest/meta-data/"}
            })),
        ),
        (
            "a next page that is not a URL",
            ResponseTemplate::new(200).set_body_json(json!({
                "items": [{"id": 1, "companyName": "A"}],
                "pageDetails": {"nextPageUrl": 42}
            })),
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("{ROOT}/Companies/query")))
            .respond_with(body)
            .mount(&server)
            .await;
        let at = connector(&server);
        let err = read(&at).await.expect_err(label);
        assert!(
            matches!(
                err,
                ConnectorError::Decode { .. } | ConnectorError::InvalidConfig { .. }
            ),
            "{label}: {err:?}"
        );
    }
}

#[tokio::test]
async fn a_deeply_nested_item_is_rejected_alone() {
    let server = MockServer::start().await;
    let nested = format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000));
    Mock::given(method("POST"))
        .and(path(format!("{ROOT}/Companies/query")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            format!("{{\"items\":[{{\"id\":1,\"companyName\":\"A\"}},{nested}]}}"),
            "application/json",
        ))
        .mount(&server)
        .await;
    let at = connector(&server);
    let pages = read(&at).await.unwrap();
    assert_eq!(pages[0].records.len(), 1);
    assert_eq!(pages[0].rejected.len(), 1);
    assert!(pages[0].rejected[0].reason.contains("recursion limit"));
}

#[tokio::test]
async fn a_next_page_that_repeats_is_stopped() {
    let server = MockServer::start().await;
    let same = format!("{}{ROOT}/Companies/query?paging=same", server.uri());
    serve_companies(
        &server,
        json!({"items": [{"id": 1, "companyName": "A"}], "pageDetails": {"nextPageUrl": same}}),
    )
    .await;
    let at = connector(&server);
    let err = read(&at).await.expect_err("an endless walk is stopped");
    let requests = server.received_requests().await.unwrap().len();
    assert!(requests <= 5, "{requests} requests");
    assert!(!err.to_string().is_empty());
}

#[test]
fn hostile_callouts_are_refused_without_panic() {
    let deep = format!("{}{}", "{\"a\":".repeat(10_000), "1");
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\xff\xfe\x00".to_vec(),
        b"null".to_vec(),
        deep.into_bytes(),
        br#"{"Action":"Update","EntityType":"Company","Id":-1}"#.to_vec(),
        br#"{"Action":"Update","EntityType":"Company","Id":"1e400"}"#.to_vec(),
        br#"{"Action":["Update"],"EntityType":"Company","Id":1}"#.to_vec(),
        format!(
            r#"{{"Action":"{}","EntityType":"Company","Id":1}}"#,
            "U".repeat(100_000)
        )
        .into_bytes(),
    ];
    for body in cases {
        let out = scopelink_autotask::fuzz::events_from_payload(&body);
        assert!(
            out.is_err(),
            "{:?}",
            String::from_utf8_lossy(&body[..body.len().min(60)])
        );
        let text = out.unwrap_err().to_string();
        assert!(
            text.len() < 400,
            "the error stays short: {} bytes",
            text.len()
        );
    }
}
