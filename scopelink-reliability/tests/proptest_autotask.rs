//! Property tests of the Autotask decoders and callout parser: arbitrary
//! bytes and structured-but-hostile JSON go into each; nothing may panic,
//! every item of a page is either a record or a rejection, and a verified
//! callout signature fails after any change of its body.

use proptest::prelude::*;
use proptest::test_runner::Config;
use scopelink_autotask::fuzz::{convert_page, events_from_payload};
use scopelink_autotask::verify_signature;
use scopelink_core::model::DataType;
use scopelink_core::webhook::{hmac, HmacAlgorithm};
use secrecy::SecretString;
use serde_json::{json, Map, Value};

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Field names the decoders look at, so generated objects hit them.
const KEYS: &[&str] = &[
    "id",
    "companyName",
    "companyType",
    "isActive",
    "territoryID",
    "marketSegmentID",
    "lastTrackedModifiedDateTime",
    "lastActivityDate",
    "companyID",
    "firstName",
    "emailAddress",
    "lastModifiedDate",
    "title",
    "amount",
    "probability",
    "stage",
    "projectedCloseDate",
    "lastActivity",
    "referenceTitle",
    "serialNumber",
    "sku",
    "unitPrice",
    "Action",
    "EntityType",
    "Id",
    "Guid",
    "SequenceNumber",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("Create"),
            Just("Update"),
            Just("Delete"),
            Just("Company"),
            Just("Contact"),
            Just("2026-03-04T15:22:07Z")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

const TYPES: [DataType; 5] = [
    DataType::Companies,
    DataType::Contacts,
    DataType::Opportunities,
    DataType::Configurations,
    DataType::CatalogItems,
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn at_pages_of_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), t in 0usize..5) {
        let _ = convert_page(TYPES[t], &bytes);
    }

    #[test]
    fn at_every_item_is_a_record_or_a_rejection(items in prop::collection::vec(value(), 0..12), t in 0usize..5) {
        let body = serde_json::to_vec(&json!({"items": items, "pageDetails": {"nextPageUrl": null}})).unwrap();
        let out = convert_page(TYPES[t], &body).unwrap();
        prop_assert_eq!(out.len(), items.len());
        for record in out.into_iter().flatten() {
            prop_assert_eq!(record.data_type(), TYPES[t]);
            prop_assert!(record.external_id().parse::<i64>().is_ok_and(|i| i > 0));
        }
    }

    #[test]
    fn at_callouts_never_panic(body in value()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        if let Ok(events) = events_from_payload(&bytes) {
            prop_assert!(events.len() <= 1);
            for e in events {
                prop_assert!(e.external_id.parse::<i64>().is_ok_and(|i| i > 0));
            }
        }
        let _ = events_from_payload(&bytes[..bytes.len() / 2]);
    }

    #[test]
    fn at_signatures_fail_after_any_change(body in prop::collection::vec(any::<u8>(), 1..256), at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let key = SecretString::from("q7V2mRx9LpT4");
        let mac = hmac(HmacAlgorithm::Sha1, b"q7V2mRx9LpT4", &body);
        let header = format!("sha1={}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, mac));
        prop_assert!(verify_signature(&key, &body, &header).is_ok());
        let mut changed = body.clone();
        let i = at.index(changed.len());
        changed[i] ^= flip;
        prop_assert!(verify_signature(&key, &changed, &header).is_err());
    }
}
