//! Callbacks: registration bodies, signature verification (known answer,
//! forgeries, foreign key hosts, other tenants) and applying events through
//! the sync engine.

mod common;

use base64::Engine as _;
use common::*;
use scopelink_connectwise::{verify_signature, SIGNATURE_HEADER};
use scopelink_core::connector::WebhookReceiver;
use scopelink_core::model::{DataType, Record};
use scopelink_core::webhook::{hmac, HmacAlgorithm, WebhookAction, WebhookRequest};
use scopelink_core::{ConnectorError, SyncEngine, WebhookError};
use serde_json::{json, Value};
use sha2::Digest as _;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const HOOK: &str = "https://hooks.scopelink.example/cw/4f2a9c";
const KEY_PATH: &str = "/v2025_1//system/callbackkey/index.rails";

fn signing_key() -> String {
    json(fixture!("callback_signing_key.json"))["signing_key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// base64(HMAC-SHA256(SHA256(key), body)), computed here from primitives.
fn sign(body: &[u8], key: &str) -> String {
    let k = sha2::Sha256::digest(key.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hmac(HmacAlgorithm::Sha256, &k, body))
}

fn request(body: Vec<u8>, signature: Option<&str>) -> WebhookRequest {
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    if let Some(s) = signature {
        headers.push(("X-Content-Signature".to_string(), s.to_string()));
    }
    WebhookRequest {
        headers,
        body,
        url: Some(format!("{HOOK}?recordId=251")),
    }
}

/// The fixture payload with its key URL on `key_host` (scheme://host:port).
fn payload_on(key_host: &str) -> Value {
    let mut p = json(fixture!("callback_payload_company_updated.json"));
    p["Metadata"]["key_url"] = json!(format!(
        "{key_host}{KEY_PATH}?companyName=scopelinkdemo&id=6e1b0f7a-2c9d-4a83-b5e4-91d2c3f07a58"
    ));
    p
}

async fn mount_key(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path_regex("/system/callbackkey/index.rails$"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json(fixture!("callback_signing_key.json"))),
        )
        .mount(server)
        .await;
}

fn key_requests(requests: &[Request]) -> usize {
    requests
        .iter()
        .filter(|r| r.url.path().ends_with("/system/callbackkey/index.rails"))
        .count()
}

#[test]
fn fixture_known_answer() {
    let body = fixture!("callback_payload_company_updated.json").as_bytes();
    let headers = json(fixture!("callback_payload_company_updated.headers.json"));
    let header = headers[SIGNATURE_HEADER].as_str().unwrap();
    assert_eq!(header, "aoUIJCM1Me+TcgXgFGWSmpmsA+jN2N/ow3Ssq83SwU4=");
    assert_eq!(sign(body, &signing_key()), header);
    assert_eq!(verify_signature(body, &signing_key(), header), Ok(()));
    assert_eq!(
        verify_signature(body, &signing_key(), &sign(b"{}", &signing_key())),
        Err(WebhookError::BadSignature)
    );
}

#[tokio::test]
async fn registers_one_callback_per_missing_type_and_reuses_existing_ones() {
    let server = MockServer::start().await;
    mock_get(
        &server,
        "/system/callbacks",
        json(fixture!("callbacks.json")),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/system/callbacks")))
        .and(wiremock::matchers::header("Authorization", EXPECTED_AUTH))
        .respond_with(|r: &Request| {
            let mut body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            let id = match body["type"].as_str() {
                Some("contact") => 26603,
                Some("configuration") => 26604,
                _ => 26605,
            };
            body["id"] = json!(id);
            ResponseTemplate::new(201).set_body_json(body)
        })
        .expect(3)
        .mount(&server)
        .await;
    let cw = connector(&server);
    let ids = cw
        .register_callbacks(HOOK, &scopelink_core::model::DataType::SYNC_ORDER)
        .await
        .expect("registered");
    assert_eq!(ids, ["26601", "26603", "26602", "26604", "26605"]);

    let posted = bodies(&server, "POST").await;
    // The contact callback is exactly the verified request shape.
    assert_eq!(posted[0].1, json(fixture!("callback_create_request.json")));
    let text = serde_json::to_string(&posted).unwrap();
    assert_no_secret(&text);
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("callback_registration_bodies", posted);
    });
}

#[tokio::test]
async fn a_disabled_callback_is_re_enabled_not_duplicated() {
    let server = MockServer::start().await;
    let mut existing = json(fixture!("callbacks.json"));
    existing[0]["inactiveFlag"] = json!(true);
    mock_get(&server, "/system/callbacks", existing).await;
    Mock::given(method("PATCH"))
        .and(path(format!("{API}/system/callbacks/26601")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json(fixture!("callbacks.json"))[0].clone()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let ids = connector(&server)
        .register_callbacks(&format!("{HOOK}?recordId="), &[DataType::Companies])
        .await
        .unwrap();
    assert_eq!(ids, ["26601"]);
    let patched = bodies(&server, "PATCH").await;
    assert_eq!(
        patched[0].1,
        json!([{"op": "replace", "path": "inactiveFlag", "value": false}])
    );
    assert!(bodies(&server, "POST").await.is_empty());

    let err = connector(&server)
        .register_callbacks("ftp://hooks.example/x", &[DataType::Companies])
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ConnectorError::InvalidConfig {
            field: "callback_url",
            ..
        }
    ));
}

#[tokio::test]
async fn a_signed_callback_is_verified_with_a_cached_key() {
    let server = MockServer::start().await;
    mount_key(&server).await;
    let cw = connector(&server);
    let body = serde_json::to_vec(&payload_on(&server.uri())).unwrap();
    let sig = sign(&body, &signing_key());

    let events = cw
        .receive(&request(body.clone(), Some(&sig)))
        .await
        .expect("verified");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data_type, DataType::Companies);
    assert_eq!(events[0].external_id, "251");
    assert_eq!(events[0].action, WebhookAction::Updated);
    let Some(Record::Company(c)) = &events[0].record else {
        panic!("the entity is carried");
    };
    assert_eq!(c.name, "Blue Fin Logistics, Inc.");
    assert_eq!(c.types, ["Client", "Managed Services"]);

    // The key is fetched once, without credentials, then cached.
    cw.receive(&request(body, Some(&sig)))
        .await
        .expect("verified again");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(key_requests(&requests), 1);
    assert!(!requests[0].headers.contains_key("authorization"));
}

#[tokio::test]
async fn forged_or_unsigned_callbacks_are_refused() {
    let server = MockServer::start().await;
    mount_key(&server).await;
    let cw = connector(&server);
    let body = serde_json::to_vec(&payload_on(&server.uri())).unwrap();
    let forged = sign(&body, "a key the attacker guessed");
    assert_eq!(
        cw.receive(&request(body.clone(), Some(&forged))).await,
        Err(WebhookError::BadSignature)
    );
    // A valid signature over other bytes does not carry over.
    let mut tampered = payload_on(&server.uri());
    tampered["ID"] = json!(250);
    let tampered = serde_json::to_vec(&tampered).unwrap();
    assert_eq!(
        cw.receive(&request(tampered, Some(&sign(&body, &signing_key()))))
            .await,
        Err(WebhookError::BadSignature)
    );
    assert!(matches!(
        cw.receive(&request(body, None)).await,
        Err(WebhookError::MissingSignature { .. })
    ));
    assert!(matches!(
        cw.receive(&request(b"<xml/>".to_vec(), Some(&forged)))
            .await,
        Err(WebhookError::Malformed(_))
    ));
}

#[tokio::test]
async fn a_key_url_on_a_foreign_host_is_refused_without_a_request() {
    let server = MockServer::start().await;
    let foreign = MockServer::start().await;
    mount_key(&foreign).await;
    let cw = connector(&server);
    for payload in [
        payload_on(&foreign.uri()),
        // The untouched fixture: its key is on api-na.myconnectwise.net.
        json(fixture!("callback_payload_company_updated.json")),
    ] {
        let body = serde_json::to_vec(&payload).unwrap();
        let sig = sign(&body, &signing_key());
        let err = cw.receive(&request(body, Some(&sig))).await.unwrap_err();
        assert!(matches!(err, WebhookError::ForeignHost { .. }), "{err:?}");
    }
    assert!(foreign.received_requests().await.unwrap().is_empty());
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn another_tenants_callback_is_refused_before_fetching_its_key() {
    let server = MockServer::start().await;
    mount_key(&server).await;
    let cw = connector(&server);
    let mut p = payload_on(&server.uri());
    p["CompanyId"] = json!("othertenant");
    let body = serde_json::to_vec(&p).unwrap();
    let err = cw
        .receive(&request(body.clone(), Some(&sign(&body, &signing_key()))))
        .await
        .unwrap_err();
    assert!(matches!(err, WebhookError::Malformed(_)), "{err:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn events_apply_through_the_engine() {
    let server = MockServer::start().await;
    mount_key(&server).await;
    mock_get(
        &server,
        "/company/contacts/1812",
        json(fixture!("contacts.json"))[1].clone(),
    )
    .await;
    let env = Env::new();
    let conn = env.connection(&server).await;
    let engine = SyncEngine::new(env.connections.clone());
    let cw = connector(&server);
    let receive = |payload: Value| {
        let cw = cw.clone();
        async move {
            let body = serde_json::to_vec(&payload).unwrap();
            let sig = sign(&body, &signing_key());
            cw.receive(&request(body, Some(&sig)))
                .await
                .expect("verified")
        }
    };

    // A company update carries its record; the company is new to the store,
    // so the engine confirms it with ConnectWise first.
    let payload = payload_on(&server.uri());
    let entity: Value = serde_json::from_str(payload["Entity"].as_str().unwrap()).unwrap();
    mock_get(&server, "/company/companies/251", entity).await;
    let events = receive(payload).await;
    let counts = engine.apply_webhook(&conn.id, &cw, events).await.unwrap();
    assert_eq!(counts.created, 1);

    // A contact added with no entity: the engine fetches it.
    let mut added = payload_on(&server.uri());
    added["Type"] = json!("contact");
    added["Action"] = json!("added");
    added["ID"] = json!(1812);
    added["Entity"] = Value::Null;
    added["MessageId"] = json!("0c5a7e3b-8d21-4f6e-9b1a-2e4d6f8a0c14");
    let events = receive(added).await;
    assert_eq!(events[0].record, None);
    let counts = engine.apply_webhook(&conn.id, &cw, events).await.unwrap();
    assert_eq!(counts.created, 1);
    let contacts = env.store.records(&conn.id, DataType::Contacts);
    assert_eq!(contacts.len(), 1);

    // And deleted: ConnectWise no longer has it (the engine checks).
    server.reset().await;
    mount_key(&server).await;
    let mut deleted = payload_on(&server.uri());
    deleted["Type"] = json!("contact");
    deleted["Action"] = json!("deleted");
    deleted["ID"] = json!(1812);
    deleted["Entity"] = Value::Null;
    deleted["MessageId"] = json!("0c5a7e3b-8d21-4f6e-9b1a-2e4d6f8a0c15");
    let counts = engine
        .apply_webhook(&conn.id, &cw, receive(deleted).await)
        .await
        .unwrap();
    assert_eq!(counts.deleted, 1);
    assert!(env.store.records(&conn.id, DataType::Contacts).is_empty());
}
