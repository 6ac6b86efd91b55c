//! Both connectors read ids by the one rule of `scopelink_core::wire`: a
//! company page from ConnectWise and a client list from HaloPSA with the
//! same id spelled the same odd way give the same external id (or both
//! refuse it).

use proptest::prelude::*;
use proptest::test_runner::Config;
use scopelink_connectwise::fuzz::convert_json;
use scopelink_core::model::DataType;
use scopelink_core::wire::value_id;
use serde_json::{json, Value};

/// The external id each connector gives a company whose id is `id`, or
/// `None` when it rejects the record.
fn ids(id: &Value) -> (Option<String>, Option<String>) {
    let record = json!({"id": id, "name": "Contoso"});
    let cw = convert_json(DataType::Companies, &record.to_string())
        .ok()
        .map(|r| r.external_id().to_string());
    let body = serde_json::to_vec(&json!({ "clients": [record] })).unwrap();
    let (records, _) = scopelink_halopsa::fuzz::records(DataType::Companies, &body).unwrap();
    let halo = records.first().map(|r| r.external_id().to_string());
    (cw, halo)
}

#[test]
fn odd_spellings_of_an_id_read_the_same_in_both_connectors() {
    for (id, want) in [
        (json!(12), Some("12")),
        (json!(12.0), Some("12")),
        (json!("12"), Some("12")),
        (json!(" 12.0 "), Some("12")),
        (json!("1.2e1"), Some("12")),
        (json!(12.5), None),
        (json!("12a"), None),
        (json!(9.3e18), None),
        (json!([12]), None),
        (json!(423558677024821.0), Some("423558677024821")),
        (json!(4235586770248218.0), Some("4235586770248218")),
    ] {
        let (cw, halo) = ids(&id);
        assert_eq!(cw.as_deref(), want, "ConnectWise, id {id}");
        assert_eq!(halo.as_deref(), want, "HaloPSA, id {id}");
    }
}

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    /// Any positive id, as an integer, as text, or as a whole float up to
    /// 2^53 (what a float holds exactly; `serde_json` parses it exactly with
    /// `float_roundtrip`), is the same external id in both connectors.
    #[test]
    fn positive_ids_agree(n in 1i64..i64::MAX, spelling in 0u8..3) {
        let (value, id) = match spelling {
            0 => (json!(n), n),
            1 => (json!(format!(" {n} ")), n),
            _ => {
                let m = (n % (1i64 << 53)).max(1);
                (json!(m as f64), m)
            }
        };
        let want = Some(id.to_string());
        let (cw, halo) = ids(&value);
        prop_assert_eq!(&cw, &want);
        prop_assert_eq!(&halo, &want);
    }

    /// Any JSON scalar: the two connectors never disagree about an id.
    #[test]
    fn the_connectors_never_disagree(s in ".{0,12}", f in any::<f64>(), pick in 0u8..2) {
        let value = match pick {
            0 => Value::String(s),
            _ => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        };
        let (cw, halo) = ids(&value);
        // HaloPSA also refuses ids that are not positive.
        let positive = value_id(&value).is_some_and(|i| i > 0);
        if positive {
            prop_assert_eq!(cw, halo);
        } else {
            prop_assert_eq!(halo, None);
        }
    }
}
