//! Lenient reading of providers' JSON, shared by every connector.
//!
//! Providers send ids as integers, as decimals (`31.0`) or as text, send
//! flags as booleans, `0`/`1` or `"True"`, and leave fields out or `null`.
//! The `lenient_*` deserializers read such a field as `None` instead of
//! failing the whole record when its value has an unexpected shape; the
//! connector's converters then decide what a record needs.
//!
//! # The one rule for ids
//!
//! An id is a whole number that fits `i64`, given as:
//! - a JSON integer (`12`);
//! - a JSON number with no fraction (`12.0`, `1.2e1`) whose magnitude is at
//!   most 2^53: beyond that a float no longer names one integer, so two
//!   different ids could read as the same one;
//! - text holding either of the above, spaces around it ignored (`"12"`,
//!   `" 12.0 "`); digits-only text is read exactly, up to `i64::MAX`.
//!
//! Anything else (`12.5`, `"12a"`, `"1e300"`, `true`, `[12]`, `null`) is not
//! an id. Connectors may refuse further values (e.g. non-positive ids).
//!
//! A float id is read exactly up to 2^53 (`4235586770248218.0` is
//! 4235586770248218): the workspace builds `serde_json` with its
//! `float_roundtrip` feature, as its default parser may round a float of
//! more than 15 significant digits to a neighbouring fraction, which would
//! then read as no id. Integer ids are always exact.
//!
//! # Rejected records
//!
//! A list page is decoded item by item ([`decode_array`], [`decode_record`]),
//! so one malformed record becomes a [`Rejected`] (its id, found by
//! [`record_id`] even when the rest does not read, and the reason) while the
//! others of its page still convert.
//!
//! # Example
//!
//! ```
//! use scopelink_core::wire::{decode_record, lenient_bool, lenient_id, text_id, value_id};
//! use serde::Deserialize;
//! use serde_json::json;
//!
//! assert_eq!(value_id(&json!(12)), Some(12));
//! assert_eq!(value_id(&json!(12.0)), Some(12));
//! assert_eq!(value_id(&json!(" 12 ")), Some(12));
//! assert_eq!(value_id(&json!(12.5)), None);
//! assert_eq!(text_id("12a"), None);
//!
//! #[derive(Deserialize)]
//! struct Client {
//!     #[serde(default, deserialize_with = "lenient_id")]
//!     id: Option<i64>,
//!     #[serde(default, deserialize_with = "lenient_bool")]
//!     inactive: Option<bool>,
//! }
//! // A flag given as "True" and an id as text still read; a field of an
//! // unexpected shape reads as `None` instead of failing the record.
//! let client: Client = decode_record(r#"{"id":"31","inactive":"True"}"#, "client").unwrap();
//! assert_eq!((client.id, client.inactive), (Some(31), Some(true)));
//! let odd: Client = decode_record(r#"{"id":[31],"inactive":null}"#, "client").unwrap();
//! assert_eq!((odd.id, odd.inactive), (None, None));
//! ```

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// The largest magnitude a float id may have: 2^53, the last integer from
/// which every smaller integer is exactly representable in `f64`.
const MAX_FLOAT_ID: f64 = 9_007_199_254_740_992.0;

/// A record of a page that could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The record's id at the provider, when it could be read.
    pub id: Option<String>,
    /// Why it was rejected, in words a user can act on.
    pub reason: String,
}

impl Rejected {
    /// A rejection of the record `id` (if known) for `reason`.
    pub fn new(id: Option<String>, reason: impl Into<String>) -> Rejected {
        Rejected {
            id,
            reason: reason.into(),
        }
    }
}

/// A whole float within [`MAX_FLOAT_ID`] as an id.
fn float_id(f: f64) -> Option<i64> {
    (f.is_finite() && f.fract() == 0.0 && f.abs() <= MAX_FLOAT_ID).then_some(f as i64)
}

/// An id from a JSON value, by the rule in the [module docs](self).
pub fn value_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(float_id)),
        Value::String(s) => text_id(s),
        _ => None,
    }
}

/// An id from text (a URL segment, a setting), by the rule in the
/// [module docs](self).
pub fn text_id(s: &str) -> Option<i64> {
    let s = s.trim();
    s.parse::<i64>()
        .ok()
        .or_else(|| s.parse::<f64>().ok().and_then(float_id))
}

/// Reads any JSON value, `null` as `None`; never fails.
fn any<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.filter(|v| !v.is_null()))
}

/// Deserializes an id leniently ([`value_id`]); any other value is `None`.
pub fn lenient_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(any(d)?.as_ref().and_then(value_id))
}

/// Deserializes a flag: a JSON bool, a number (true when not zero) or the
/// text `true`/`false`, `1`/`0`, `yes`/`no` in any case. Anything else is
/// `None`.
pub fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(any(d)?.and_then(|v| match v {
        Value::Bool(b) => Some(b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }))
}

/// Deserializes an amount as a [`Decimal`] from a JSON number or numeric
/// text, normalized (`95.0` and `95` are the same amount). Anything else,
/// or a number outside `Decimal`'s range, is `None`.
pub fn lenient_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let d = any(d)?.and_then(|v| match v {
        Value::Number(n) => n
            .to_string()
            .parse::<Decimal>()
            .ok()
            .or_else(|| n.as_f64().and_then(|f| Decimal::try_from(f).ok())),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    Ok(d.map(|d| d.normalize()))
}

/// Deserializes a number as `f64` from a JSON number or numeric text;
/// anything else is `None`.
pub fn lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(any(d)?.and_then(|v| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }))
}

/// Deserializes text: strings as they are, numbers and booleans as their
/// JSON text; anything else is `None`.
pub fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(any(d)?.and_then(|v| match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }))
}

/// `s` trimmed, `None` when blank; the string is moved, not copied, when it
/// needs no trimming.
pub fn non_blank(s: Option<String>) -> Option<String> {
    let s = s?;
    let trimmed = s.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == s.len() {
        Some(s)
    } else {
        Some(trimmed.to_string())
    }
}

/// Parses a provider timestamp: RFC 3339 (`2025-02-11T14:05:33Z`, any
/// offset), or a date-time without a zone (`2025-02-11T14:05:33`,
/// `2025-02-11 14:05:33`, with or without fractions), read as UTC.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|n| n.and_utc())
}

/// The `id` of a record given as JSON text, read on its own (by
/// [`value_id`]) so a record that does not otherwise decode can be named.
pub fn record_id(json: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "lenient_id")]
        id: Option<i64>,
    }
    serde_json::from_str::<Probe>(json)
        .ok()?
        .id
        .map(|i| i.to_string())
}

/// Decodes one record from its JSON text as `T`; when it does not decode,
/// a [`Rejected`] naming its id (if readable) and saying that the `what`
/// record could not be read and why.
pub fn decode_record<T: DeserializeOwned>(json: &str, what: &str) -> Result<T, Rejected> {
    serde_json::from_str(json).map_err(|e| {
        Rejected::new(
            record_id(json),
            format!("the {what} record could not be read: {e}"),
        )
    })
}

/// [`decode_record`] for a record already parsed as a JSON value.
pub fn decode_value<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, Rejected> {
    let id = value.get("id").and_then(value_id).map(|i| i.to_string());
    serde_json::from_value(value)
        .map_err(|e| Rejected::new(id, format!("the {what} record could not be read: {e}")))
}

/// Decodes a JSON array of `what` records as `T`, one result per item. The
/// page is decoded in one pass when every item reads; when one does not,
/// it is read again item by item ([`decode_record`]), so each bad item
/// becomes a [`Rejected`] and the others still decode. Fails only when the
/// body is not a JSON array.
pub fn decode_array<T: DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<Vec<Result<T, Rejected>>, serde_json::Error> {
    if let Ok(items) = serde_json::from_slice::<Vec<T>>(body) {
        return Ok(items.into_iter().map(Ok).collect());
    }
    let raw: Vec<&RawValue> = serde_json::from_slice(body)?;
    Ok(raw
        .into_iter()
        .map(|r| decode_record(r.get(), what))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_follow_the_one_rule() {
        let cases = [
            (json!(31), Some(31)),
            (json!(31.0), Some(31)),
            (json!("31"), Some(31)),
            (json!(" 12.0 "), Some(12)),
            (json!("1.2e1"), Some(12)),
            (json!(-4), Some(-4)),
            (json!(i64::MAX), Some(i64::MAX)),
            (json!(i64::MAX.to_string()), Some(i64::MAX)),
            (json!(9_007_199_254_740_992.0), Some(9_007_199_254_740_992)),
            (json!(9.3e18), None),
            (json!(u64::MAX), None),
            (json!(31.5), None),
            (json!("12a"), None),
            (json!("1e300"), None),
            (json!(1e300), None),
            (json!(true), None),
            (json!([1]), None),
            (json!(null), None),
        ];
        for (v, want) in cases {
            assert_eq!(value_id(&v), want, "{v}");
        }
    }

    #[derive(Debug, Deserialize)]
    struct Row {
        #[serde(default, deserialize_with = "lenient_id")]
        id: Option<i64>,
        #[serde(default, deserialize_with = "lenient_bool")]
        flag: Option<bool>,
        #[serde(default, deserialize_with = "lenient_decimal")]
        price: Option<Decimal>,
        #[serde(default, deserialize_with = "lenient_f64")]
        hours: Option<f64>,
        #[serde(default, deserialize_with = "lenient_text")]
        name: Option<String>,
        strict: Option<String>,
    }

    #[test]
    fn odd_shapes_read_as_none_not_errors() {
        let r: Row = serde_json::from_value(json!({
            "id": "12.0", "flag": "Yes", "price": "95.00", "hours": "1.5", "name": 7
        }))
        .unwrap();
        assert_eq!(r.id, Some(12));
        assert_eq!(r.flag, Some(true));
        assert_eq!(r.price, Some(Decimal::new(95, 0)));
        assert_eq!(r.hours, Some(1.5));
        assert_eq!(r.name.as_deref(), Some("7"));
        let r: Row = serde_json::from_value(json!({
            "id": {}, "flag": "maybe", "price": "lots", "hours": [], "name": {"x": 1}
        }))
        .unwrap();
        assert_eq!(
            (r.id, r.flag, r.price, r.hours, r.name),
            (None, None, None, None, None)
        );
        let r: Row = serde_json::from_value(json!({"flag": 0, "price": 1e300})).unwrap();
        assert_eq!((r.flag, r.price), (Some(false), None));
    }

    #[test]
    fn timestamps_with_and_without_zones() {
        let t = |s| parse_timestamp(s).map(|t| t.to_rfc3339());
        assert_eq!(
            t("2025-02-11T14:05:33Z").as_deref(),
            Some("2025-02-11T14:05:33+00:00")
        );
        assert_eq!(
            t("2025-02-11T16:05:33+02:00").as_deref(),
            Some("2025-02-11T14:05:33+00:00")
        );
        assert_eq!(
            t(" 2025-02-11 14:05:33.250 ").as_deref(),
            Some("2025-02-11T14:05:33.250+00:00")
        );
        assert_eq!(t("0000-00-00T99:99:99"), None);
        assert_eq!(t("2025-02-11"), None);
    }

    #[test]
    fn non_blank_trims() {
        assert_eq!(non_blank(Some(" a ".into())).as_deref(), Some("a"));
        assert_eq!(non_blank(Some("  ".into())), None);
        assert_eq!(non_blank(None), None);
    }

    #[test]
    fn a_page_decodes_item_by_item_and_names_the_rejected() {
        let page = br#"[{"id": 1, "strict": "a"}, {"id": "2.0", "strict": 5}, {"strict": []}]"#;
        let items = decode_array::<Row>(page, "company").unwrap();
        assert_eq!(items.len(), 3);
        let first = items[0].as_ref().unwrap();
        assert_eq!((first.id, first.strict.as_deref()), (Some(1), Some("a")));
        let bad = items[1].as_ref().unwrap_err();
        assert_eq!(bad.id.as_deref(), Some("2"));
        assert!(
            bad.reason
                .starts_with("the company record could not be read: invalid type"),
            "{}",
            bad.reason
        );
        assert_eq!(items[2].as_ref().unwrap_err().id, None);
        assert!(decode_array::<Row>(b"{}", "company").is_err());
        let all = decode_array::<Row>(br#"[{"id": 3}]"#, "company").unwrap();
        assert_eq!(all[0].as_ref().unwrap().id, Some(3));
    }

    #[test]
    fn a_value_is_named_when_rejected() {
        let bad = decode_value::<Row>(json!({"id": 9.0, "strict": 1}), "user").unwrap_err();
        assert_eq!(bad.id.as_deref(), Some("9"));
        assert!(bad.reason.starts_with("the user record could not be read"));
    }
}
