//! Webhooks against the Autotask simulator: registration with fields,
//! signed callouts applied through the engine (create, update, delete),
//! forged, unsigned, altered and replayed callouts refused or ignored.

mod common;

use common::setup;
use scopelink_autotask::{WebhookEntity, WebhookRegistration};
use scopelink_core::connector::WebhookReceiver;
use scopelink_core::error::{ConnectorError, WebhookError};
use scopelink_core::model::{DataType, Record};
use scopelink_core::store::RecordStore;
use scopelink_core::webhook::WebhookRequest;
use scopelink_core::SyncRequest;
use scopelink_testkit::autotask::AutotaskSimConfig;
use secrecy::SecretString;

const SECRET: &str = "whk-9c2f71ab44d0";

fn registration(fields: Vec<String>) -> WebhookRegistration {
    WebhookRegistration {
        name: "scopelink".into(),
        url: "https://hooks.example.test/autotask".into(),
        deactivation_url: "https://hooks.example.test/autotask/off".into(),
        secret_key: SecretString::from(SECRET),
        fields,
    }
}

fn request((headers, body): (Vec<(String, String)>, Vec<u8>)) -> WebhookRequest {
    WebhookRequest {
        headers,
        body,
        url: None,
    }
}

#[tokio::test]
async fn webhooks_are_registered_with_their_fields() {
    let s = setup(AutotaskSimConfig::default()).await;
    let company =
        s.at.register_webhook(WebhookEntity::Company, &registration(Vec::new()))
            .await
            .unwrap();
    let contact =
        s.at.register_webhook(
            WebhookEntity::Contact,
            &registration(vec!["firstName".into(), "emailAddress".into()]),
        )
        .await
        .unwrap();
    let hooks = s.sim.webhooks();
    assert_eq!(hooks.len(), 2);
    let c = hooks.iter().find(|h| h.id == company.id).unwrap();
    assert_eq!(c.entity_type, "Company");
    assert_eq!(c.record["secretKey"], SECRET);
    assert_eq!(c.record["isSubscribedToDeleteEvents"], true);
    assert_eq!(
        c.fields.len(),
        WebhookEntity::Company.default_fields().len()
    );
    assert!(c.fields.iter().all(|f| f["isSubscribedField"] == true));
    let k = hooks.iter().find(|h| h.id == contact.id).unwrap();
    assert_eq!(k.entity_type, "Contact");
    assert_eq!(k.fields.len(), 2);

    let err =
        s.at.register_webhook(
            WebhookEntity::Company,
            &registration(vec!["noSuchField".into()]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::InvalidConfig {
                field: "fields",
                ..
            }
        ),
        "{err:?}"
    );
    let mut plain = registration(Vec::new());
    plain.url = "ftp://hooks.example.test/autotask".into();
    let err =
        s.at.register_webhook(WebhookEntity::Company, &plain)
            .await
            .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::InvalidConfig {
                field: "webhook_url",
                ..
            }
        ),
        "{err:?}"
    );
    let mut long = registration(Vec::new());
    long.secret_key = SecretString::from("k".repeat(65));
    assert!(matches!(
        s.at.register_webhook(WebhookEntity::Company, &long).await,
        Err(ConnectorError::InvalidConfig {
            field: "secret_key",
            ..
        })
    ));
    assert_eq!(
        s.sim.webhooks().len(),
        2,
        "nothing registered by the refused calls"
    );
}

#[tokio::test]
async fn signed_callouts_update_and_delete_through_the_engine() {
    let s = setup(AutotaskSimConfig::default()).await;
    let engine = s.env.engine();
    engine
        .run(
            &s.env.access,
            &s.conn,
            &s.at,
            &SyncRequest::all()
                .data_types(vec![DataType::Companies, DataType::Contacts])
                .filter(Default::default())
                .full(),
            None,
        )
        .await
        .unwrap();
    let hook =
        s.at.register_webhook(WebhookEntity::Company, &registration(Vec::new()))
            .await
            .unwrap();
    let receiver = s.at.webhook_receiver(SecretString::from(SECRET));
    let id = s.sim.companies()[2]["id"].as_i64().unwrap();

    // An update: verified, the record read from Autotask and stored.
    let mut row = s.sim.companies()[2].clone();
    row["companyName"] = "Renamed & Co".into();
    assert!(s.sim.insert_row("Companies", row));
    assert!(s.sim.touch_company(id));
    let update = request(s.sim.signed_callout(hook.id, "Update", id));
    let events = receiver.receive(&update).await.unwrap();
    let counts = engine.apply_webhook(&s.conn, &s.at, events).await.unwrap();
    assert_eq!(counts.updated, 1);
    let Some(Record::Company(c)) = s
        .env
        .store
        .record(&s.conn, DataType::Companies, &id.to_string())
        .await
        .unwrap()
    else {
        panic!("company {id} missing");
    };
    assert_eq!(c.name, "Renamed & Co");

    // The same callout again: applied once.
    let events = receiver.receive(&update).await.unwrap();
    let counts = engine.apply_webhook(&s.conn, &s.at, events).await.unwrap();
    assert_eq!((counts.updated, counts.skipped), (0, 1));

    // A delete, once Autotask no longer has the company.
    assert!(s.sim.delete_company(id));
    let delete = request(s.sim.signed_callout(hook.id, "Delete", id));
    let events = receiver.receive(&delete).await.unwrap();
    let counts = engine.apply_webhook(&s.conn, &s.at, events).await.unwrap();
    assert_eq!(counts.deleted, 1);
    assert!(s
        .env
        .store
        .record(&s.conn, DataType::Companies, &id.to_string())
        .await
        .unwrap()
        .is_none());

    // A create of a new company.
    let mut fresh = s.sim.companies()[0].clone();
    fresh["id"] = 99_000_001.into();
    fresh["companyName"] = "Brand New Ltd".into();
    assert!(s.sim.insert_row("Companies", fresh));
    let create = request(s.sim.signed_callout(hook.id, "Create", 99_000_001));
    let events = receiver.receive(&create).await.unwrap();
    let counts = engine.apply_webhook(&s.conn, &s.at, events).await.unwrap();
    assert_eq!(counts.created, 1);
}

#[tokio::test]
async fn forged_unsigned_and_altered_callouts_are_refused() {
    let s = setup(AutotaskSimConfig::default()).await;
    let hook =
        s.at.register_webhook(WebhookEntity::Company, &registration(Vec::new()))
            .await
            .unwrap();
    let id = s.sim.companies()[1]["id"].as_i64().unwrap();
    let genuine = request(s.sim.signed_callout(hook.id, "Update", id));
    let receiver = s.at.webhook_receiver(SecretString::from(SECRET));
    assert_eq!(receiver.receive(&genuine).await.unwrap().len(), 1);

    // Signed with another key.
    let forged = s.at.webhook_receiver(SecretString::from("not-the-key"));
    assert_eq!(
        forged.receive(&genuine).await,
        Err(WebhookError::BadSignature)
    );

    // No signature.
    let mut unsigned = genuine.clone();
    unsigned
        .headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("x-hook-signature"));
    assert!(matches!(
        receiver.receive(&unsigned).await,
        Err(WebhookError::MissingSignature { .. })
    ));

    // Replayed with an altered body (a delete of the same record).
    let mut altered = genuine.clone();
    altered.body = String::from_utf8(genuine.body.clone())
        .unwrap()
        .replacen("\"Update\"", "\"Delete\"", 1)
        .into_bytes();
    assert_ne!(altered.body, genuine.body);
    assert_eq!(
        receiver.receive(&altered).await,
        Err(WebhookError::BadSignature)
    );

    // Re-serialised JSON (same content, other escaping) does not verify
    // either: the signature covers the raw bytes.
    let reparsed: serde_json::Value = serde_json::from_slice(&genuine.body).unwrap();
    let mut reserialized = genuine.clone();
    reserialized.body = serde_json::to_vec(&reparsed).unwrap();
    if reserialized.body != genuine.body {
        assert_eq!(
            receiver.receive(&reserialized).await,
            Err(WebhookError::BadSignature)
        );
    }
}
