//! Property tests of every wire decoder and webhook parser: the
//! stable-toolchain stand-in for the cargo-fuzz targets in `fuzz/` (one
//! property group per fuzz target, same names). Arbitrary bytes and
//! structured-but-hostile JSON go into each; nothing may panic, and where
//! there is an invariant it is checked (a verified signature fails after any
//! byte flip, a parsed `Retry-After` of digits is exact, an accepted URL is
//! https on a permitted host, ...).
//!
//! Case counts are modest so the suite runs in seconds in debug builds;
//! failure persistence is off, so no `proptest-regressions` files appear.

use proptest::prelude::*;
use proptest::test_runner::Config;
use scopelink_connectwise::fuzz::convert_json;
use scopelink_connectwise::fuzz::wire;
use scopelink_connectwise::fuzz::{events_from_payload, parse_payload};
use scopelink_connectwise::verify_signature;
use scopelink_core::http::{
    error_message, next_link, retry_after, validate_url, AddressPolicy, Headers,
};
use scopelink_core::model::DataType;
use scopelink_core::webhook::{
    check_timestamp, constant_time_eq, hmac, verify_hmac, HmacAlgorithm, SignatureEncoding,
};
use scopelink_core::Rejected;
use scopelink_core::WebhookError;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime};

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
    "name",
    "identifier",
    "status",
    "types",
    "_info",
    "lastUpdated",
    "firstName",
    "lastName",
    "company",
    "communicationItems",
    "type",
    "value",
    "defaultFlag",
    "expectedCloseDate",
    "probability",
    "stage",
    "price",
    "cost",
    "inactiveFlag",
    "deletedFlag",
    "serialNumber",
    "clients",
    "users",
    "tickets",
    "faults",
    "record_count",
    "client_id",
    "toplevel_id",
    "toplevel_name",
    "inactive",
    "oppvalue",
    "oppconversionprobability",
    "targetdate",
    "last_update",
    "emailaddress",
    "surname",
    "access_token",
    "expires_in",
    "Metadata",
    "key_url",
    "Entity",
    "ID",
    "Type",
    "Action",
    "CompanyId",
    "message",
    "errors",
    "error",
    "error_description",
    "Codebase",
    "SiteUrl",
];

/// Hostile scalars: wrong types, extremes, odd text.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just(1e300),
            Just(-7e28),
            Just(9.3e18),
            Just(-0.0),
            Just(0.5),
            Just(12.0)
        ]
        .prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        prop_oneof![
            Just("2025-02-11T14:05:33Z"),
            Just("0000-00-00T99:99:99"),
            Just("99999999999999999999"),
            Just("-1"),
            Just("True"),
            Just("  "),
            Just("{\"id\":1,\"name\":\"x\"}"),
            Just("50%"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

/// Nested JSON with the decoders' keys.
fn hostile_json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|pairs| {
                let mut map = Map::new();
                for (k, v) in pairs {
                    map.insert(k.to_string(), v);
                }
                Value::Object(map)
            }),
        ]
    })
}

/// A page: an array of hostile records (usually), or anything.
fn hostile_page() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(hostile_json(), 0..8)
            .prop_map(|items| serde_json::to_vec(&Value::Array(items)).unwrap()),
        1 => hostile_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

const CW_TYPES: [DataType; 5] = [
    DataType::Companies,
    DataType::Contacts,
    DataType::Opportunities,
    DataType::Configurations,
    DataType::CatalogItems,
];

/// What the ConnectWise connector does with a page body.
fn cw_page(data_type: DataType, body: &[u8]) -> usize {
    let Ok(items) = serde_json::from_slice::<Vec<Box<RawValue>>>(body) else {
        return 0;
    };
    let mut ok = 0;
    for item in &items {
        match convert_json(data_type, item.get()) {
            Ok(record) => {
                assert_eq!(record.data_type(), data_type);
                assert!(!record.external_id().is_empty());
                ok += 1;
            }
            Err(Rejected { id, reason }) => {
                assert!(!reason.is_empty());
                if let Some(id) = id {
                    assert!(!id.is_empty());
                }
            }
        }
    }
    ok
}

/// Every ConnectWise wire type from the same bytes.
fn cw_wire(body: &[u8]) {
    let _ = serde_json::from_slice::<wire::Company>(body);
    let _ = serde_json::from_slice::<wire::Contact>(body);
    let _ = serde_json::from_slice::<wire::Opportunity>(body);
    let _ = serde_json::from_slice::<wire::Configuration>(body);
    let _ = serde_json::from_slice::<wire::CatalogItem>(body);
    let _ = serde_json::from_slice::<wire::CompanyInfo>(body);
    let _ = serde_json::from_slice::<wire::SystemInfo>(body);
    let _ = serde_json::from_slice::<wire::Count>(body);
    let _ = serde_json::from_slice::<Vec<wire::IdName>>(body);
    let _ = serde_json::from_slice::<wire::CallbackEntry>(body);
    let _ = serde_json::from_slice::<wire::SigningKey>(body);
    let _ = serde_json::from_slice::<wire::Forecast>(body);
    let _ = serde_json::from_slice::<wire::ErrorBody>(body);
    let _ = serde_json::from_slice::<wire::Probability>(body);
}

/// What the callback receiver does before fetching the key.
fn cw_callback(body: &[u8]) {
    match parse_payload(body) {
        Ok(payload) => match events_from_payload(&payload) {
            Ok(events) => {
                assert!(events.len() <= 1);
                for e in events {
                    assert!(!e.external_id.is_empty());
                    if let Some(r) = e.record {
                        assert_eq!(r.external_id(), e.external_id);
                    }
                }
            }
            Err(e) => assert!(matches!(e, WebhookError::Malformed(_))),
        },
        Err(e) => assert!(matches!(e, WebhookError::Malformed(_))),
    }
}

fn cw_sign(key: &str, body: &[u8]) -> String {
    scopelink_testkit::connectwise::sign_callback(key, body)
}

fn halo_records(data_type: DataType, body: &[u8]) {
    if let Ok((records, rejected)) = scopelink_halopsa::fuzz::records(data_type, body) {
        for r in &records {
            assert_eq!(r.data_type(), data_type);
            assert!(r.external_id().parse::<i64>().is_ok_and(|id| id > 0));
        }
        for r in &rejected {
            assert!(!r.reason.is_empty());
        }
    }
}

fn header(value: &[u8], name: &'static str) -> Option<Headers> {
    let mut headers = Headers::new();
    headers.insert(name, value).ok()?;
    Some(headers)
}

// ------------------------------------------------------------- connectwise

proptest! {
    #![proptest_config(config(256))]

    /// fuzz target `cw_callback_parse`.
    #[test]
    fn cw_callback_parse_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        cw_callback(&body);
    }

    /// fuzz target `cw_callback_parse`, structured.
    #[test]
    fn cw_callback_parse_json(v in hostile_json()) {
        cw_callback(&serde_json::to_vec(&v).unwrap());
    }

    /// fuzz target `cw_callback_verify`: any signature text, key and body.
    #[test]
    fn cw_callback_verify_arbitrary(body in prop::collection::vec(any::<u8>(), 0..256), key in ".{0,40}", sig in ".{0,80}") {
        let _ = verify_signature(&body, &key, &sig);
    }

    /// fuzz target `cw_wire_types`.
    #[test]
    fn cw_wire_types_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        cw_wire(&body);
    }

    /// fuzz target `cw_wire_types`, structured.
    #[test]
    fn cw_wire_types_json(v in hostile_json()) {
        cw_wire(&serde_json::to_vec(&v).unwrap());
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// fuzz target `cw_callback_verify`: a correct signature verifies, and
    /// fails after flipping any bit of the body or the signature, or with
    /// another key.
    #[test]
    fn cw_callback_verify_flips(body in prop::collection::vec(any::<u8>(), 1..256), key in "[ -~]{1,40}", at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let sig = cw_sign(&key, &body);
        prop_assert_eq!(verify_signature(&body, &key, &sig), Ok(()));
        let mut flipped = body.clone();
        let i = at.index(flipped.len());
        flipped[i] ^= 1 << bit;
        prop_assert_eq!(verify_signature(&flipped, &key, &sig), Err(WebhookError::BadSignature));
        let mut other_key = key.clone();
        other_key.push('x');
        prop_assert_eq!(verify_signature(&body, &other_key, &sig), Err(WebhookError::BadSignature));
        let mut raw = base64_decode(&sig);
        let j = at.index(raw.len());
        raw[j] ^= 1 << bit;
        let tampered = base64_encode(&raw);
        prop_assert_eq!(verify_signature(&body, &key, &tampered), Err(WebhookError::BadSignature));
    }

    /// fuzz target `cw_pages`: arbitrary page bodies, every data type.
    #[test]
    fn cw_pages(body in hostile_page()) {
        for t in CW_TYPES {
            cw_page(t, &body);
        }
    }

    /// fuzz target `cw_pages`: a well-formed record stays well-formed with
    /// hostile extra fields.
    #[test]
    fn cw_pages_good_records_survive_noise(id in 1i64..i64::MAX, extra in hostile_json()) {
        let mut record = serde_json::json!({"id": id, "name": "Acme", "identifier": "acme"});
        if let Value::Object(noise) = extra {
            for (k, v) in noise {
                if !matches!(k.as_str(), "id" | "name" | "identifier") {
                    record[&k] = v;
                }
            }
        }
        let body = serde_json::to_vec(&Value::Array(vec![record])).unwrap();
        let items: Vec<Box<RawValue>> = serde_json::from_slice(&body).unwrap();
        // Either the record converts with its id, or it is rejected with its id.
        match convert_json(DataType::Companies, items[0].get()) {
            Ok(r) => prop_assert_eq!(r.external_id(), id.to_string()),
            Err(Rejected { id: rid, .. }) => prop_assert_eq!(rid, Some(id.to_string())),
        }
    }
}

// ------------------------------------------------------------------ halopsa

proptest! {
    #![proptest_config(config(128))]

    /// fuzz target `halo_records`.
    #[test]
    fn halo_records_pages(body in hostile_page()) {
        for t in [DataType::Companies, DataType::Contacts, DataType::Opportunities] {
            halo_records(t, &body);
        }
    }

    /// fuzz target `halo_records`, wrapped lists.
    #[test]
    fn halo_records_wrapped(items in prop::collection::vec(hostile_json(), 0..6), count in any::<Option<i64>>()) {
        for (t, key) in [(DataType::Companies, "clients"), (DataType::Contacts, "users"), (DataType::Opportunities, "tickets")] {
            let mut wrapper = serde_json::json!({ key: items.clone() });
            if let Some(c) = count {
                wrapper["record_count"] = c.into();
            }
            let body = serde_json::to_vec(&wrapper).unwrap();
            let (records, rejected) = scopelink_halopsa::fuzz::records(t, &body)
                .expect("a wrapper with the list is a page");
            prop_assert_eq!(records.len() + rejected.len(), items.len());
        }
    }

    /// fuzz target `halo_token`.
    #[test]
    fn halo_token_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Some((_, lifetime)) = scopelink_halopsa::fuzz::token_reply(&body) {
            prop_assert!(lifetime > Duration::ZERO && lifetime <= Duration::from_secs(30 * 86_400));
        }
    }

    /// fuzz target `halo_token`, structured: a non-blank string token is
    /// always accepted, whatever `expires_in` holds.
    #[test]
    fn halo_token_json(token in "[A-Za-z0-9._-]{1,40}", expires in scalar(), extra in hostile_json()) {
        let mut body = match extra { Value::Object(m) => Value::Object(m), _ => serde_json::json!({}) };
        body["access_token"] = token.into();
        body["expires_in"] = expires;
        let got = scopelink_halopsa::fuzz::token_reply(&serde_json::to_vec(&body).unwrap());
        let (_, lifetime) = got.expect("a token reply");
        prop_assert!(lifetime > Duration::ZERO && lifetime <= Duration::from_secs(30 * 86_400));
    }
}

// --------------------------------------------------------------------- core

proptest! {
    #![proptest_config(config(256))]

    /// fuzz target `core_hmac`.
    #[test]
    fn core_hmac(key in prop::collection::vec(any::<u8>(), 0..80), msg in prop::collection::vec(any::<u8>(), 0..200), sig in ".{0,90}", sha1 in any::<bool>(), hex in any::<bool>()) {
        let alg = if sha1 { HmacAlgorithm::Sha1 } else { HmacAlgorithm::Sha256 };
        let enc = if hex { SignatureEncoding::Hex } else { SignatureEncoding::Base64 };
        let _ = verify_hmac(alg, &key, &msg, &sig, enc);
        let mac = hmac(alg, &key, &msg);
        let text = if hex { hex_encode(&mac) } else { base64_encode(&mac) };
        prop_assert!(verify_hmac(alg, &key, &msg, &text, enc).is_ok());
        let mut other = msg.clone();
        other.push(0);
        prop_assert_eq!(verify_hmac(alg, &key, &other, &text, enc), Err(WebhookError::BadSignature));
        prop_assert!(constant_time_eq(&mac, &mac));
        prop_assert_eq!(constant_time_eq(&key, &msg), key == msg);
    }

    /// fuzz target `core_timestamp`.
    #[test]
    fn core_timestamp(ts in -8_000_000_000_000i64..8_000_000_000_000, now in -8_000_000_000_000i64..8_000_000_000_000, tol in any::<i32>()) {
        let (Some(ts), Some(now)) = (chrono::DateTime::from_timestamp(ts, 0), chrono::DateTime::from_timestamp(now, 0)) else {
            return Ok(());
        };
        let tolerance = chrono::Duration::seconds(i64::from(tol));
        match check_timestamp(ts, now, tolerance) {
            Ok(()) => prop_assert!((now - ts).num_seconds().abs() <= tolerance.num_seconds()),
            Err(WebhookError::Stale { skew_seconds }) => prop_assert!(skew_seconds > tolerance.num_seconds()),
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    /// fuzz target `core_next_link`.
    #[test]
    fn core_next_link_bytes(value in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Some(headers) = header(&value, "link") {
            let _ = next_link(&headers);
        }
    }

    /// fuzz target `core_next_link`, structured: a well-formed next link is
    /// found among junk links.
    #[test]
    fn core_next_link_found(target in "[a-z0-9/?=&.:-]{1,40}", junk in "[ -~]{0,40}", quoted in any::<bool>()) {
        let rel = if quoted { "rel=\"next\"" } else { "rel=next" };
        let junk = junk.replace(['<', '>', ',', '"', '\\'], "");
        let value = format!("<https://x/prev>; rel=\"prev\"; title=\"{junk}\", <{target}>; {rel}");
        let headers = header(value.as_bytes(), "link").expect("printable ASCII");
        prop_assert_eq!(next_link(&headers), Some(target.clone()));
    }

    /// fuzz target `core_retry_after`.
    #[test]
    fn core_retry_after(value in prop::collection::vec(any::<u8>(), 0..64), secs in any::<u64>()) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        if let Some(headers) = header(&value, "retry-after") {
            let _ = retry_after(&headers, now);
        }
        let headers = header(secs.to_string().as_bytes(), "retry-after").unwrap();
        prop_assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(secs)));
    }

    /// fuzz target `core_error_message`.
    #[test]
    fn core_error_message_bytes(body in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Some(m) = error_message(&body) {
            prop_assert!(!m.is_empty());
            prop_assert!(m.chars().count() <= 301);
        }
    }

    /// fuzz target `core_error_message`, structured.
    #[test]
    fn core_error_message_json(v in hostile_json()) {
        if let Some(m) = error_message(&serde_json::to_vec(&v).unwrap()) {
            prop_assert!(!m.is_empty());
            prop_assert!(m.chars().count() <= 301);
            prop_assert!(!m.contains('\n'));
        }
    }

    /// fuzz target `core_validate_url`.
    #[test]
    fn core_validate_url(input in prop_oneof![
        ".{0,60}",
        "(https?|ftp|file)://[a-z0-9.:\\[\\]@%-]{0,30}(/[a-z0-9]{0,8})?",
        "https://(0x[0-9a-f]{1,8}|[0-9]{1,10}|[0-9]{1,3}\\.[0-9]{1,3})/",
    ]) {
        if let Ok(url) = validate_url(&input, AddressPolicy::public_only()) {
            prop_assert_eq!(url.scheme(), "https");
            prop_assert!(url.username().is_empty() && url.password().is_none());
            let ip = match url.host() {
                Some(url::Host::Ipv4(v4)) => Some(std::net::IpAddr::V4(v4)),
                Some(url::Host::Ipv6(v6)) => Some(std::net::IpAddr::V6(v6)),
                _ => None,
            };
            if let Some(ip) = ip {
                prop_assert!(AddressPolicy::public_only().permits(ip), "{} accepted", input);
            }
        }
    }
}

// ------------------------------------------------------------- encodings

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = B64.iter().position(|b| *b == c).expect("base64") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

#[test]
fn local_base64_matches_the_testkit() {
    let sig = cw_sign("k", b"body");
    assert_eq!(base64_encode(&base64_decode(&sig)), sig);
    assert_eq!(base64_encode(b"hi"), "aGk=");
}
