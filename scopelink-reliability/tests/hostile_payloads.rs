//! Malformed and hostile provider payloads, served by wiremock, through the
//! real connectors and the sync engine: wrong types, missing and null ids,
//! huge strings, deep nesting, non-JSON and empty bodies, HTML with 200, an
//! object where a page (array) belongs. Each case asserts its outcome: the
//! whole page fails with a typed error (the run fails, its reason logged),
//! or the bad records are skipped with a reason (the run completes, each
//! skip logged); never a panic. Also: bad credentials (401 with the
//! provider's error body) put the connection into Connection Error with the
//! provider's reason, through the connection test and the sync engine.

use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings};
use scopelink_core::access::Access;
use scopelink_core::activity::{ActivityEntry, ActivityKind};
use scopelink_core::connector::{Connector, CrmSource, WebhookReceiver};
use scopelink_core::http::{AddressPolicy, HttpConfig, RateLimit, RetryPolicy};
use scopelink_core::model::DataType;
use scopelink_core::secret::{ApiKeyPair, ClientCredentials, Credentials, InMemoryVault};
use scopelink_core::sync::SyncReport;
use scopelink_core::webhook::WebhookRequest;
use scopelink_core::{
    Connection, ConnectionStatus, Connections, ConnectorError, FeatureCategory, MemoryStore,
    NewConnection, Provider, SyncEngine, SyncError, SyncRequest, WebhookError,
};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use url::Url;
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API: &str = "/v2025_1/apis/3.0";
const COMPANY_ID: &str = "scopelinkdemo";
const CW_CLIENT_ID: &str = "3f1e9d2a-5b7c-4c11-9a0e-0d2b6c7e8f90";
const FIVE_MB: usize = 5 * 1024 * 1024;
const DEPTH: usize = 10_000;

// ---------------------------------------------------------------- bodies

/// A response body and its content type.
#[derive(Clone)]
struct Body {
    bytes: Vec<u8>,
    content_type: &'static str,
}

fn json_body(v: Value) -> Body {
    Body {
        bytes: serde_json::to_vec(&v).unwrap(),
        content_type: "application/json",
    }
}

fn raw(bytes: impl Into<Vec<u8>>, content_type: &'static str) -> Body {
    Body {
        bytes: bytes.into(),
        content_type,
    }
}

fn respond(status: u16, body: &Body) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.bytes.clone(), body.content_type)
}

fn deep_unclosed() -> Vec<u8> {
    vec![b'['; DEPTH]
}

/// `[[[ ... ]]]` nested `DEPTH` deep, as one item of a page.
fn deep_closed_item() -> Vec<u8> {
    let mut v = vec![b'['];
    v.extend(std::iter::repeat_n(b'[', DEPTH));
    v.extend(std::iter::repeat_n(b']', DEPTH));
    v.push(b']');
    v
}

/// An object nested `DEPTH` deep under `"name"`.
fn deep_object_item() -> Vec<u8> {
    let mut v = br#"[{"id":1,"name":"#.to_vec();
    v.extend(std::iter::repeat_n(&b"{\"a\":"[..], DEPTH).flatten());
    v.extend(b"1");
    v.extend(std::iter::repeat_n(b'}', DEPTH));
    v.extend(b"}]");
    v
}

fn huge(c: char) -> String {
    std::iter::repeat_n(c, FIVE_MB).collect()
}

fn html() -> Body {
    raw(
        "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Maintenance</body></html>",
        "text/html; charset=utf-8",
    )
}

/// What a page did to a sync run.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The run failed with a typed page error (`SyncError::Connector`).
    PageError,
    /// The run completed: records created, records skipped with a reason.
    Completed { created: u64, skipped: u64 },
}

/// Page-level hostile bodies shared by both providers: none of them is a
/// page of records.
fn page_level_bodies() -> Vec<(&'static str, Body)> {
    vec![
        ("empty body", raw("", "application/json")),
        ("whitespace body", raw("  \r\n ", "application/json")),
        ("null", raw("null", "application/json")),
        ("a number", raw("42", "application/json")),
        ("a string", raw("\"[]\"", "application/json")),
        ("HTML error page with 200", html()),
        ("plain text", raw("Service Unavailable", "text/plain")),
        (
            "truncated JSON",
            raw(r#"[{"id":1,"name":"A"#, "application/json"),
        ),
        (
            "not UTF-8",
            raw(vec![0xff, 0xfe, b'[', 0x80], "application/json"),
        ),
        (
            "10 000 unclosed [",
            raw(deep_unclosed(), "application/json"),
        ),
        (
            "JSON then junk",
            raw(r#"[{"id":1,"name":"A"}] trailing"#, "application/json"),
        ),
    ]
}

// ------------------------------------------------------------ connectwise

fn http() -> HttpConfig {
    HttpConfig::default()
        .with_timeout(Duration::from_secs(20))
        .with_retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        })
        .with_rate_limit(RateLimit {
            requests: 100_000,
            per: Duration::from_secs(1),
        })
        .with_addresses(AddressPolicy::allow_local())
}

fn cw_settings(server: &MockServer) -> ConnectWiseSettings {
    ConnectWiseSettings::new(server.uri(), CW_CLIENT_ID)
}

fn cw_keys() -> ApiKeyPair {
    ApiKeyPair::new(COMPANY_ID, "pubKEY123", "Priv-SECRET-9f8e7d")
}

fn cw(server: &MockServer) -> ConnectWiseConnector {
    ConnectWiseConnector::with_api_base(
        Url::parse(&format!("{}{API}", server.uri())).unwrap(),
        cw_settings(server),
        cw_keys(),
        http(),
    )
    .unwrap()
}

struct Host {
    connections: Connections,
    engine: SyncEngine,
}

impl Host {
    fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let connections = Connections::new(store, Arc::new(InMemoryVault::new()));
        let engine = SyncEngine::new(connections.clone());
        Self {
            connections,
            engine,
        }
    }

    async fn create(&self, provider: Provider, credentials: Credentials) -> Connection {
        let offered = provider.categories();
        self.connections
            .create(
                &Access::full(),
                NewConnection::new(provider, "hostile", credentials).categories(
                    [
                        FeatureCategory::Crm,
                        FeatureCategory::Psa,
                        FeatureCategory::Products,
                    ]
                    .into_iter()
                    .filter(|c| offered.contains(c)),
                ),
            )
            .await
            .unwrap()
    }

    async fn activity(&self, c: &Connection) -> Vec<ActivityEntry> {
        self.connections
            .activity(&Access::full(), Some(&c.id), 10_000)
            .await
            .unwrap()
    }

    async fn status(&self, c: &Connection) -> ConnectionStatus {
        self.connections
            .get(&Access::full(), &c.id)
            .await
            .unwrap()
            .status
    }
}

/// Checks the run result against the log, and classifies it.
async fn outcome(
    host: &Host,
    conn: &Connection,
    data_type: DataType,
    result: Result<SyncReport, SyncError>,
    case: &str,
) -> Outcome {
    let log = host.activity(conn).await;
    match result {
        Ok(report) => {
            let counts = report.counts(data_type).expect("the type ran");
            let skips: Vec<&str> = log
                .iter()
                .filter_map(|e| match &e.kind {
                    ActivityKind::RecordSkipped {
                        data_type: t,
                        reason,
                        ..
                    } if *t == data_type => Some(reason.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(
                skips.len() as u64,
                counts.skipped,
                "{case}: every skip is logged"
            );
            for reason in &skips {
                assert!(!reason.trim().is_empty(), "{case}: a skip says why");
                assert!(
                    reason.len() < 2_000,
                    "{case}: a skip reason stays short ({} bytes)",
                    reason.len()
                );
            }
            Outcome::Completed {
                created: counts.created,
                skipped: counts.skipped,
            }
        }
        Err(err) => {
            assert!(
                matches!(err, SyncError::Connector { data_type: t, .. } if t == data_type),
                "{case}: a page failure is a connector error of the type: {err:?}"
            );
            let text = scopelink_core::error::chain(&err);
            assert!(
                text.len() < 2_000,
                "{case}: the error stays short ({} bytes)",
                text.len()
            );
            assert!(
                log.iter().any(|e| matches!(
                    &e.kind,
                    ActivityKind::SyncFailed { data_type: t, reason } if *t == data_type && !reason.is_empty()
                )),
                "{case}: the failure is logged"
            );
            assert!(
                !matches!(
                    host.status(conn).await,
                    ConnectionStatus::ConnectionError { .. }
                ),
                "{case}: a bad page is not a credentials problem"
            );
            Outcome::PageError
        }
    }
}

/// Creates a connection with `credentials`, syncs companies and then
/// `data_type` from `connector`, and judges the run (see [`outcome`]).
async fn sync_and_judge(
    connector: &dyn CrmSource,
    provider: Provider,
    credentials: Credentials,
    data_type: DataType,
    case: &str,
) -> Outcome {
    let host = Host::new();
    let conn = host.create(provider, credentials).await;
    let mut types = vec![DataType::Companies];
    if data_type != DataType::Companies {
        types.push(data_type);
    }
    let result = host
        .engine
        .run(
            &Access::full(),
            &conn.id,
            connector,
            &SyncRequest::all().data_types(types).full(),
            None,
        )
        .await;
    outcome(&host, &conn, data_type, result, case).await
}

/// Syncs `data_type` (companies first when it needs them) from a mock
/// ConnectWise serving `companies` and, for other types, `page`.
async fn cw_sync(
    data_type: DataType,
    companies: &Body,
    page: Option<&Body>,
    case: &str,
) -> Outcome {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/company/companies")))
        .respond_with(respond(200, companies))
        .mount(&server)
        .await;
    if let Some(page) = page {
        let p = match data_type {
            DataType::Contacts => "company/contacts",
            DataType::Opportunities => "sales/opportunities",
            DataType::Configurations => "company/configurations",
            DataType::CatalogItems => "procurement/catalog",
            _ => "company/companies",
        };
        Mock::given(method("GET"))
            .and(path(format!("{API}/{p}")))
            .respond_with(respond(200, page))
            .mount(&server)
            .await;
    }
    let connector = cw(&server);
    let credentials = Credentials::ApiKeyPair(cw_keys());
    sync_and_judge(
        &connector,
        Provider::ConnectWiseManage,
        credentials,
        data_type,
        case,
    )
    .await
}

fn completed(created: u64, skipped: u64) -> Outcome {
    Outcome::Completed { created, skipped }
}

#[tokio::test]
async fn connectwise_company_pages() {
    let mut cases: Vec<(&str, Body, Outcome)> = page_level_bodies()
        .into_iter()
        .map(|(n, b)| (n, b, Outcome::PageError))
        .collect();
    let name_5mb = huge('x');
    cases.extend([
        (
            "an object instead of an array",
            json_body(json!({"companies": [{"id": 1, "name": "A"}]})),
            Outcome::PageError,
        ),
        ("an empty object", json_body(json!({})), Outcome::PageError),
        ("an empty page", json_body(json!([])), completed(0, 0)),
        (
            "items that are not objects",
            json_body(json!([1, "x", null, true, [], 2.5])),
            completed(0, 6),
        ),
        (
            "an empty object item",
            json_body(json!([{}])),
            completed(0, 1),
        ),
        (
            "missing id",
            json_body(json!([{"name": "No id"}])),
            completed(0, 1),
        ),
        (
            "null id",
            json_body(json!([{"id": null, "name": "Null id"}])),
            completed(0, 1),
        ),
        (
            "object id",
            json_body(json!([{"id": {"value": 1}, "name": "Object id"}])),
            completed(0, 1),
        ),
        (
            "text id",
            json_body(json!([{"id": "abc", "name": "Text id"}])),
            completed(0, 1),
        ),
        (
            "fractional id",
            json_body(json!([{"id": 1.5, "name": "Fraction id"}])),
            completed(0, 1),
        ),
        (
            "id beyond i64",
            raw(r#"[{"id": 1e300, "name": "Huge id"}]"#, "application/json"),
            completed(0, 1),
        ),
        (
            "id beyond i64 as text",
            json_body(json!([{"id": "99999999999999999999", "name": "Huge id"}])),
            completed(0, 1),
        ),
        (
            "number where a string belongs",
            json_body(json!([{"id": 1, "name": 123}])),
            completed(0, 1),
        ),
        (
            "object where an array belongs",
            json_body(json!([{"id": 1, "name": "A", "types": {"id": 1, "name": "Client"}}])),
            completed(0, 1),
        ),
        (
            "string where an object belongs",
            json_body(json!([{"id": 1, "name": "A", "status": "Active"}])),
            completed(0, 1),
        ),
        (
            "number where _info belongs",
            json_body(json!([{"id": 1, "name": "A", "_info": 12}])),
            completed(0, 1),
        ),
        ("no name", json_body(json!([{"id": 1}])), completed(0, 1)),
        (
            "blank name",
            json_body(json!([{"id": 1, "name": " \t "}])),
            completed(0, 1),
        ),
        (
            "good and bad records mixed",
            json_body(json!([
                {"id": 1, "name": "Good"},
                {"id": "x", "name": "Bad id"},
                {"id": 3, "name": ["not", "text"]},
                {"id": 2, "name": "Also good", "unknownField": {"deep": [1, 2, 3]}}
            ])),
            completed(2, 2),
        ),
        (
            "a 5 MB name",
            json_body(json!([{"id": 1, "name": name_5mb}])),
            completed(0, 1),
        ),
        (
            "an item nested 10 000 deep",
            raw(deep_closed_item(), "application/json"),
            completed(0, 1),
        ),
        (
            "a name nested 10 000 deep",
            raw(deep_object_item(), "application/json"),
            completed(0, 1),
        ),
        (
            "nulls everywhere but id and name",
            json_body(
                json!([{"id": 7, "name": "Nulls", "status": null, "types": null,
                "_info": null, "territory": null, "market": null, "deletedFlag": null}]),
            ),
            completed(1, 0),
        ),
    ]);
    let total = cases.len();
    for (case, body, want) in cases {
        let got = cw_sync(DataType::Companies, &body, None, case).await;
        assert_eq!(got, want, "ConnectWise companies: {case}");
    }
    assert!(total >= 34, "{total}");
}

#[tokio::test]
async fn connectwise_contact_pages() {
    let companies = json_body(json!([{"id": 1, "name": "Acme"}]));
    let mut cases: Vec<(&str, Body, Outcome)> = page_level_bodies()
        .into_iter()
        .map(|(n, b)| (n, b, Outcome::PageError))
        .collect();
    let first_5mb = huge('y');
    cases.extend([
        (
            "an object instead of an array",
            json_body(json!({"contacts": []})),
            Outcome::PageError,
        ),
        (
            "a good contact",
            json_body(json!([{"id": 5, "firstName": "Ann", "company": {"id": 1}}])),
            completed(1, 0),
        ),
        (
            "null id",
            json_body(json!([{"id": null, "firstName": "Ann", "company": {"id": 1}}])),
            completed(0, 1),
        ),
        (
            "company as a string",
            json_body(json!([{"id": 5, "firstName": "Ann", "company": "Acme"}])),
            completed(0, 1),
        ),
        (
            "communicationItems as an object",
            json_body(
                json!([{"id": 5, "company": {"id": 1}, "communicationItems": {"value": "a@b"}}]),
            ),
            completed(0, 1),
        ),
        (
            "an unknown company",
            json_body(json!([{"id": 5, "firstName": "Ann", "company": {"id": 999}}])),
            completed(0, 1),
        ),
        (
            "no company",
            json_body(json!([{"id": 5, "firstName": "Ann"}])),
            completed(0, 1),
        ),
        (
            "a 5 MB first name",
            json_body(json!([{"id": 5, "firstName": first_5mb, "company": {"id": 1}}])),
            completed(0, 1),
        ),
    ]);
    for (case, body, want) in cases {
        let got = cw_sync(DataType::Contacts, &companies, Some(&body), case).await;
        assert_eq!(got, want, "ConnectWise contacts: {case}");
    }
}

/// The other ConnectWise types: one page-level and one record-level case
/// each, so every decoder is exercised through the engine.
#[tokio::test]
async fn connectwise_other_pages() {
    let companies = json_body(json!([{"id": 1, "name": "Acme"}]));
    for data_type in [
        DataType::Opportunities,
        DataType::Configurations,
        DataType::CatalogItems,
    ] {
        let object = json_body(json!({"items": []}));
        let got = cw_sync(data_type, &companies, Some(&object), "object page").await;
        assert_eq!(got, Outcome::PageError, "{data_type}: object page");
        let got = cw_sync(data_type, &companies, Some(&html()), "html page").await;
        assert_eq!(got, Outcome::PageError, "{data_type}: html page");
        let bad = json_body(json!([
            {"id": null},
            {"id": 9, "company": "Acme", "price": {"x": 1}, "stage": 3, "type": []},
            7,
        ]));
        let got = cw_sync(data_type, &companies, Some(&bad), "bad records").await;
        assert_eq!(got, completed(0, 3), "{data_type}: bad records");
    }
}

// ---------------------------------------------------- connectwise callbacks

fn key_url(server: &MockServer) -> String {
    format!(
        "{}/v2025_1//system/callbackkey/index.rails?companyName={COMPANY_ID}&id=1",
        server.uri()
    )
}

const SIGNING_KEY: &str = "sl-hostile-signing-key";

/// `x-content-signature` as ConnectWise computes it (the testkit's signer).
fn sign(body: &[u8]) -> String {
    scopelink_testkit::connectwise::sign_callback(SIGNING_KEY, body)
}

fn callback(body: Vec<u8>, signed: bool) -> WebhookRequest {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if signed {
        headers.push(("x-content-signature".to_string(), sign(&body)));
    }
    WebhookRequest {
        headers,
        body,
        url: Some("https://hooks.example/cw?recordId=1".into()),
    }
}

fn payload(server: &MockServer, patch: Value) -> Vec<u8> {
    let mut p = json!({
        "MessageId": "m-1", "FromUrl": "127.0.0.1", "CompanyId": COMPANY_ID,
        "Action": "updated", "Type": "company", "ID": 251,
        "Entity": "{\"id\":251,\"name\":\"Acme\"}",
        "Metadata": {"key_url": key_url(server)},
    });
    if let (Value::Object(p), Value::Object(patch)) = (&mut p, patch) {
        for (k, v) in patch {
            p.insert(k, v);
        }
    }
    serde_json::to_vec(&p).unwrap()
}

/// What a callback came to.
#[derive(Debug, PartialEq)]
enum Hook {
    /// Refused as malformed.
    Malformed,
    /// Refused: no signature header.
    MissingSignature,
    /// Refused: the signature does not match.
    BadSignature,
    /// Accepted: events, and whether the first carried its record.
    Events(usize, bool),
}

fn hook(result: Result<Vec<scopelink_core::webhook::WebhookEvent>, WebhookError>) -> Hook {
    match result {
        Ok(events) => Hook::Events(
            events.len(),
            events.first().is_some_and(|e| e.record.is_some()),
        ),
        Err(WebhookError::Malformed(m)) => {
            assert!(!m.is_empty() && m.len() < 2_000, "{m}");
            Hook::Malformed
        }
        Err(WebhookError::MissingSignature { .. }) => Hook::MissingSignature,
        Err(WebhookError::BadSignature) => Hook::BadSignature,
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn connectwise_callback_payloads() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("/system/callbackkey/index.rails$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"signing_key": SIGNING_KEY})))
        .mount(&server)
        .await;
    let connector = cw(&server);
    let big_entity = format!("{{\"id\":251,\"name\":\"{}\"}}", huge('z'));
    let mut deep_entity = String::from("{\"id\":251,\"name\":\"A\",\"x\":");
    deep_entity.push_str(&"[".repeat(DEPTH));
    deep_entity.push_str(&"]".repeat(DEPTH));
    deep_entity.push('}');
    let cases: Vec<(&str, Vec<u8>, bool, Hook)> = vec![
        // Unparsable bodies: refused before any key is fetched.
        ("empty body", vec![], true, Hook::Malformed),
        ("null", b"null".to_vec(), true, Hook::Malformed),
        ("an array", b"[]".to_vec(), true, Hook::Malformed),
        ("HTML", html().bytes, true, Hook::Malformed),
        ("not UTF-8", vec![0xff, 0xfe, b'{'], true, Hook::Malformed),
        ("10 000 unclosed [", deep_unclosed(), true, Hook::Malformed),
        (
            "10 000 nested objects",
            {
                let mut v = b"{\"Metadata\":".to_vec();
                v.extend(std::iter::repeat_n(&b"{\"a\":"[..], DEPTH).flatten());
                v.extend(b"1");
                v.extend(std::iter::repeat_n(b'}', DEPTH + 1));
                v
            },
            true,
            Hook::Malformed,
        ),
        (
            "Metadata as a string",
            payload(&server, json!({"Metadata": "https://evil.example/key"})),
            true,
            Hook::Malformed,
        ),
        (
            "no Metadata",
            payload(&server, json!({"Metadata": null})),
            true,
            Hook::Malformed,
        ),
        (
            "Type as a number",
            payload(&server, json!({"Type": 7})),
            true,
            Hook::Malformed,
        ),
        // No signature, or a wrong one.
        (
            "no signature",
            payload(&server, json!({})),
            false,
            Hook::MissingSignature,
        ),
        // Signed, but the content is wrong.
        (
            "null ID",
            payload(&server, json!({"ID": null})),
            true,
            Hook::Malformed,
        ),
        (
            "text ID",
            payload(&server, json!({"ID": "abc"})),
            true,
            Hook::Malformed,
        ),
        (
            "ID beyond i64",
            {
                let text = String::from_utf8(payload(&server, json!({}))).unwrap();
                text.replace("\"ID\":251", "\"ID\":1e300").into_bytes()
            },
            true,
            Hook::Malformed,
        ),
        (
            "no Type",
            payload(&server, json!({"Type": null})),
            true,
            Hook::Malformed,
        ),
        (
            "unknown Action",
            payload(&server, json!({"Action": "exploded"})),
            true,
            Hook::Malformed,
        ),
        (
            "another company",
            payload(&server, json!({"CompanyId": "othertenant"})),
            true,
            Hook::Malformed,
        ),
        (
            "a type scopelink does not sync",
            payload(&server, json!({"Type": "ticket"})),
            true,
            Hook::Events(0, false),
        ),
        (
            "Entity that is not JSON: refetched",
            payload(&server, json!({"Entity": "{\"id\":251,"})),
            true,
            Hook::Events(1, false),
        ),
        (
            "Entity of another record: refetched",
            payload(&server, json!({"Entity": "{\"id\":9,\"name\":\"Other\"}"})),
            true,
            Hook::Events(1, false),
        ),
        (
            "Entity as a number: refetched",
            payload(&server, json!({"Entity": 12})),
            true,
            Hook::Events(1, false),
        ),
        (
            "Entity nested 10 000 deep: refetched",
            payload(&server, json!({"Entity": deep_entity})),
            true,
            Hook::Events(1, false),
        ),
        (
            "a 5 MB Entity name: carried (the engine skips it, below)",
            payload(&server, json!({"Entity": big_entity.clone()})),
            true,
            Hook::Events(1, true),
        ),
        (
            "a good callback",
            payload(&server, json!({})),
            true,
            Hook::Events(1, true),
        ),
    ];
    for (case, body, signed, want) in cases {
        let got = hook(connector.receive(&callback(body, signed)).await);
        assert_eq!(got, want, "callback: {case}");
    }
    // The oversized record reaches the engine, which skips it with the
    // reason instead of storing it.
    let events = connector
        .receive(&callback(
            payload(&server, json!({"Entity": big_entity})),
            true,
        ))
        .await
        .unwrap();
    let host = Host::new();
    let conn = host
        .create(
            Provider::ConnectWiseManage,
            Credentials::ApiKeyPair(cw_keys()),
        )
        .await;
    let counts = host
        .engine
        .apply_webhook(&conn.id, &connector, events)
        .await
        .unwrap();
    assert_eq!((counts.created, counts.skipped), (0, 1));
    assert!(host.activity(&conn).await.iter().any(|e| matches!(
        &e.kind,
        ActivityKind::RecordSkipped { reason, .. } if reason.contains("byte limit")
    )));

    // A signature over other bytes.
    let mut req = callback(payload(&server, json!({})), true);
    req.body.push(b' ');
    assert_eq!(hook(connector.receive(&req).await), Hook::BadSignature);
    // A signature that is not base64, or is empty.
    for sig in ["", "%%%", "aGVsbG8="] {
        let mut req = callback(payload(&server, json!({})), false);
        req.headers.push(("x-content-signature".into(), sig.into()));
        assert_eq!(
            hook(connector.receive(&req).await),
            Hook::BadSignature,
            "{sig:?}"
        );
    }
}

// ---------------------------------------------------------------- halopsa

fn halo(server: &MockServer) -> HaloPsaConnector {
    let mut settings = HaloPsaSettings::new(server.uri());
    settings.tenant = Some("acme".into());
    HaloPsaConnector::new(settings, halo_credentials(), http()).unwrap()
}

fn halo_credentials() -> ClientCredentials {
    ClientCredentials::new("halo-client", "halo-secret-5d1f")
}

async fn mount_token(server: &MockServer, body: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/auth/token"))
        .respond_with(body)
        .mount(server)
        .await;
}

fn good_token() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": "halo-access-token-1", "token_type": "Bearer", "expires_in": 3600
    }))
}

async fn halo_sync(
    data_type: DataType,
    clients: &Body,
    page: Option<&Body>,
    case: &str,
) -> Outcome {
    let server = MockServer::start().await;
    mount_token(&server, good_token()).await;
    Mock::given(method("GET"))
        .and(path("/api/Client"))
        .respond_with(respond(200, clients))
        .mount(&server)
        .await;
    if let Some(page) = page {
        let p = match data_type {
            DataType::Contacts => "/api/Users",
            _ => "/api/Opportunities",
        };
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(respond(200, page))
            .mount(&server)
            .await;
    }
    let connector = halo(&server);
    let credentials = Credentials::ClientCredentials(halo_credentials());
    sync_and_judge(&connector, Provider::HaloPsa, credentials, data_type, case).await
}

#[tokio::test]
async fn halopsa_client_pages() {
    let mut cases: Vec<(&str, Body, Outcome)> = page_level_bodies()
        .into_iter()
        .map(|(n, b)| (n, b, Outcome::PageError))
        .collect();
    let name_5mb = huge('h');
    cases.extend([
        (
            "an object without a list",
            json_body(json!({"page_no": 1, "record_count": 3})),
            Outcome::PageError,
        ),
        (
            "the list as an object",
            json_body(json!({"clients": {"id": 1, "name": "A"}})),
            Outcome::PageError,
        ),
        (
            "a wrapper with record_count 0 and no list",
            json_body(json!({"record_count": 0})),
            completed(0, 0),
        ),
        (
            "a bare array",
            json_body(json!([{"id": 1, "name": "A"}])),
            completed(1, 0),
        ),
        (
            "items that are not objects",
            json_body(json!({"clients": [1, "x", null, true, []]})),
            completed(0, 5),
        ),
        (
            "missing, null, zero, negative, text and huge ids",
            raw(
                r#"{"clients":[{"name":"A"},{"id":null,"name":"B"},{"id":0,"name":"C"},
                {"id":-4,"name":"D"},{"id":"abc","name":"E"},{"id":1e300,"name":"F"}]}"#,
                "application/json",
            ),
            completed(0, 6),
        ),
        (
            "an object where the name belongs",
            json_body(json!({"clients": [{"id": 1, "name": {"first": "A"}}]})),
            completed(0, 1),
        ),
        (
            "a decimal id",
            json_body(json!({"clients": [{"id": 12.0, "name": "Decimal id"}]})),
            completed(1, 0),
        ),
        (
            "a 5 MB name",
            json_body(json!({"clients": [{"id": 1, "name": name_5mb}]})),
            completed(0, 1),
        ),
        (
            "an item nested 10 000 deep",
            {
                let mut v = b"{\"clients\":".to_vec();
                v.extend(deep_closed_item());
                v.push(b'}');
                raw(v, "application/json")
            },
            Outcome::PageError,
        ),
    ]);
    for (case, body, want) in cases {
        let got = halo_sync(DataType::Companies, &body, None, case).await;
        assert_eq!(got, want, "HaloPSA clients: {case}");
    }
}

#[tokio::test]
async fn halopsa_user_and_opportunity_pages() {
    let clients = json_body(json!({"record_count": 1, "clients": [{"id": 1, "name": "Acme"}]}));
    let users: Vec<(&str, Body, Outcome)> = vec![
        ("an HTML page", html(), Outcome::PageError),
        (
            "an object without a list",
            json_body(json!({"record_count": 2})),
            Outcome::PageError,
        ),
        (
            "a good user",
            json_body(json!({"users": [{"id": 4, "name": "Ann Lee", "client_id": 1}]})),
            completed(1, 0),
        ),
        (
            "a text client id",
            json_body(json!({"users": [{"id": 4, "name": "Ann Lee", "client_id": "Acme"}]})),
            completed(0, 1),
        ),
        (
            "null id",
            json_body(json!({"users": [{"id": null, "name": "Ann Lee", "client_id": 1}]})),
            completed(0, 1),
        ),
        (
            "a 5 MB name",
            json_body(json!({"users": [{"id": 4, "name": huge('u'), "client_id": 1}]})),
            completed(0, 1),
        ),
    ];
    for (case, body, want) in users {
        let got = halo_sync(DataType::Contacts, &clients, Some(&body), case).await;
        assert_eq!(got, want, "HaloPSA users: {case}");
    }
    let opportunities: Vec<(&str, Body, Outcome)> = vec![
        (
            "the list as a number",
            json_body(json!({"tickets": 3})),
            Outcome::PageError,
        ),
        (
            "a good opportunity",
            json_body(
                json!({"tickets": [{"id": 9, "summary": "Deal", "client_id": 1,
                "oppvalue": 1200.5, "oppconversionprobability": 0.4}]}),
            ),
            completed(1, 0),
        ),
        (
            "a probability far below zero",
            raw(
                r#"{"tickets":[{"id":9,"summary":"Deal","client_id":1,"oppconversionprobability":-7e28}]}"#,
                "application/json",
            ),
            completed(1, 0),
        ),
        (
            "a probability and value beyond any decimal",
            raw(
                r#"{"tickets":[{"id":9,"summary":"Deal","client_id":1,"oppconversionprobability":1e300,"oppvalue":-1e300}]}"#,
                "application/json",
            ),
            completed(1, 0),
        ),
        (
            "text where numbers belong",
            json_body(
                json!({"tickets": [{"id": 9, "client_id": 1, "oppvalue": "lots",
                "oppconversionprobability": "high", "targetdate": 5}]}),
            ),
            completed(1, 0),
        ),
        (
            "dates that are not dates",
            json_body(
                json!({"tickets": [{"id": 9, "client_id": 1, "targetdate": "31/31/31",
                "last_update": "0000-00-00T99:99:99"}]}),
            ),
            completed(1, 0),
        ),
    ];
    for (case, body, want) in opportunities {
        let got = halo_sync(DataType::Opportunities, &clients, Some(&body), case).await;
        assert_eq!(got, want, "HaloPSA opportunities: {case}");
    }
}

/// What a token reply came to, through `test_connection`.
#[derive(Debug, PartialEq)]
enum TokenOutcome {
    /// Connected.
    Ok,
    /// `InvalidConfig { field: "host" }`: not a HaloPSA auth server.
    Host,
    /// `Authentication`.
    Auth,
}

#[tokio::test]
async fn halopsa_token_responses() {
    let cases: Vec<(&str, ResponseTemplate, TokenOutcome)> = vec![
        ("HTML with 200", respond(200, &html()), TokenOutcome::Host),
        (
            "empty body",
            respond(200, &raw("", "application/json")),
            TokenOutcome::Host,
        ),
        (
            "null",
            respond(200, &raw("null", "application/json")),
            TokenOutcome::Host,
        ),
        (
            "an array",
            respond(200, &json_body(json!([]))),
            TokenOutcome::Host,
        ),
        (
            "plain text",
            respond(200, &raw("ok", "text/plain")),
            TokenOutcome::Host,
        ),
        (
            "no access_token",
            respond(200, &json_body(json!({"expires_in": 3600}))),
            TokenOutcome::Host,
        ),
        (
            "null access_token",
            respond(200, &json_body(json!({"access_token": null}))),
            TokenOutcome::Host,
        ),
        (
            "numeric access_token",
            respond(200, &json_body(json!({"access_token": 123}))),
            TokenOutcome::Host,
        ),
        (
            "object access_token",
            respond(200, &json_body(json!({"access_token": {"t": "x"}}))),
            TokenOutcome::Host,
        ),
        (
            "blank access_token",
            respond(200, &json_body(json!({"access_token": "  "}))),
            TokenOutcome::Host,
        ),
        (
            "10 000 unclosed [",
            respond(200, &raw(deep_unclosed(), "application/json")),
            TokenOutcome::Host,
        ),
        (
            "truncated",
            respond(
                200,
                &raw(r#"{"access_token":"halo-access"#, "application/json"),
            ),
            TokenOutcome::Host,
        ),
        (
            "expires_in as text",
            respond(
                200,
                &json_body(json!({"access_token": "halo-access-token-1", "expires_in": "soon"})),
            ),
            TokenOutcome::Ok,
        ),
        (
            "negative expires_in",
            respond(
                200,
                &json_body(json!({"access_token": "halo-access-token-1", "expires_in": -5})),
            ),
            TokenOutcome::Ok,
        ),
        (
            "huge expires_in",
            respond(
                200,
                &raw(
                    r#"{"access_token":"halo-access-token-1","expires_in":1e308}"#,
                    "application/json",
                ),
            ),
            TokenOutcome::Ok,
        ),
        (
            "a token that cannot be a header value",
            respond(
                200,
                &json_body(
                    json!({"access_token": "halo-access\r\nX-Injected: 1", "expires_in": 3600}),
                ),
            ),
            TokenOutcome::Auth,
        ),
        (
            "401 invalid_client",
            ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})),
            TokenOutcome::Auth,
        ),
        ("400 with HTML", respond(400, &html()), TokenOutcome::Auth),
    ];
    for (case, reply, want) in cases {
        let server = MockServer::start().await;
        mount_token(&server, reply).await;
        Mock::given(method("GET"))
            .and(path("/api/Agent/me"))
            .and(header("Authorization", "Bearer halo-access-token-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1, "name": "API"})))
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/Agent/me"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({})))
            .with_priority(5)
            .mount(&server)
            .await;
        let got = match halo(&server).test_connection().await {
            Ok(()) => TokenOutcome::Ok,
            Err(ConnectorError::InvalidConfig { field: "host", .. }) => TokenOutcome::Host,
            Err(ConnectorError::Authentication { .. }) => TokenOutcome::Auth,
            Err(other) => panic!("token: {case}: unexpected {other:?}"),
        };
        assert_eq!(got, want, "token: {case}");
    }
}

// ------------------------------------------------------- bad credentials

fn error_reason(status: &ConnectionStatus) -> &str {
    match status {
        ConnectionStatus::ConnectionError { reason, .. } => reason,
        other => panic!("expected Connection Error, got {other:?}"),
    }
}

const CW_401: &str = include_str!("../../fixtures/connectwise/error_401.json");
const HALO_INVALID_CLIENT: &str =
    include_str!("../../fixtures/halopsa/token_error_invalid_client.json");

#[tokio::test]
async fn connectwise_bad_keys_become_connection_error_with_the_provider_reason() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(401).set_body_raw(CW_401, "application/json"))
        .mount(&server)
        .await;
    let provider_says = "invalid public/private key pair";
    let connector = cw(&server);

    // Through the connection test.
    let host = Host::new();
    let conn = host
        .create(
            Provider::ConnectWiseManage,
            Credentials::ApiKeyPair(cw_keys()),
        )
        .await;
    let tested = host
        .connections
        .test(&Access::full(), &conn.id, &connector)
        .await
        .unwrap();
    let reason = error_reason(&tested.status);
    assert!(reason.contains(provider_says), "{reason}");

    // Through a sync: the auth failure moves a Connected connection to
    // Connection Error.
    let host = Host::new();
    let conn = host
        .create(
            Provider::ConnectWiseManage,
            Credentials::ApiKeyPair(cw_keys()),
        )
        .await;
    host.connections
        .mark_synced(&Access::full(), &conn.id)
        .await
        .unwrap();
    assert_eq!(host.status(&conn).await, ConnectionStatus::Connected);
    let err = host
        .engine
        .run(
            &Access::full(),
            &conn.id,
            &connector,
            &SyncRequest::default(),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Connector { .. }), "{err:?}");
    let status = host.status(&conn).await;
    let reason = error_reason(&status);
    assert!(reason.contains(provider_says), "{reason}");
}

#[tokio::test]
async fn halopsa_bad_credentials_become_connection_error_with_the_provider_reason() {
    let server = MockServer::start().await;
    mount_token(
        &server,
        ResponseTemplate::new(401).set_body_raw(HALO_INVALID_CLIENT, "application/json"),
    )
    .await;
    let connector = halo(&server);

    let host = Host::new();
    let conn = host
        .create(
            Provider::HaloPsa,
            Credentials::ClientCredentials(halo_credentials()),
        )
        .await;
    let tested = host
        .connections
        .test(&Access::full(), &conn.id, &connector)
        .await
        .unwrap();
    assert!(error_reason(&tested.status).contains("invalid_client"));

    let host = Host::new();
    let conn = host
        .create(
            Provider::HaloPsa,
            Credentials::ClientCredentials(halo_credentials()),
        )
        .await;
    host.connections
        .mark_synced(&Access::full(), &conn.id)
        .await
        .unwrap();
    host.engine
        .run(
            &Access::full(),
            &conn.id,
            &connector,
            &SyncRequest::default(),
            None,
        )
        .await
        .unwrap_err();
    let status = host.status(&conn).await;
    assert!(
        error_reason(&status).contains("invalid_client"),
        "{status:?}"
    );

    // A token that the API then refuses (401 twice, with HaloPSA's empty
    // error body): Connection Error saying the token was rejected.
    let server = MockServer::start().await;
    mount_token(&server, good_token()).await;
    Mock::given(method("GET"))
        .and(path_regex("^/api/"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({})))
        .mount(&server)
        .await;
    let connector = halo(&server);
    let host = Host::new();
    let conn = host
        .create(
            Provider::HaloPsa,
            Credentials::ClientCredentials(halo_credentials()),
        )
        .await;
    host.engine
        .run(
            &Access::full(),
            &conn.id,
            &connector,
            &SyncRequest::default(),
            None,
        )
        .await
        .unwrap_err();
    let status = host.status(&conn).await;
    assert!(
        error_reason(&status).contains("rejected the access token"),
        "{status:?}"
    );
}
