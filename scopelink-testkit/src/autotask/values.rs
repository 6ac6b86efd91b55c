//! Field values: reading a written or filtered value as the field's type,
//! and comparing stored values.

use super::*;
use chrono::NaiveDateTime;
use std::cmp::Ordering;

/// A datetime as Autotask accepts it: RFC 3339, or without an offset (UTC),
/// or a bare date.
pub(super) fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// A number from a JSON number or a numeric string.
pub(super) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean from `true`/`false` (or, leniently, the strings `"True"` /
/// `"false"` Datto's own examples send).
pub(super) fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// `v` read as `field`'s type, for storing: `Err` says why it cannot be.
/// `null` stays `null`.
pub(super) fn coerce(field: &FieldDef, v: &Value) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let bad = || {
        format!(
            "Value {v} is not a valid {} for field {}.",
            field.data_type, field.name
        )
    };
    match field.data_type {
        "integer" | "long" => {
            let n = number(v).filter(|n| n.fract() == 0.0).ok_or_else(bad)?;
            Ok(json!(n as i64))
        }
        "double" | "decimal" => Ok(json!(number(v).ok_or_else(bad)?)),
        "boolean" => Ok(json!(boolean(v).ok_or_else(bad)?)),
        "datetime" => {
            let s = v.as_str().ok_or_else(bad)?;
            let t = parse_datetime(s).ok_or_else(bad)?;
            Ok(json!(stamp(t)))
        }
        _ => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(bad()),
            };
            if field.length > 0 && s.chars().count() > field.length as usize {
                return Err(format!(
                    "Value for field {} exceeds its maximum length of {} characters.",
                    field.name, field.length
                ));
            }
            Ok(json!(s))
        }
    }
}

/// Compares a stored value with a filter value as `data_type`; `None` when
/// either is null or they cannot be compared.
pub(super) fn compare(data_type: &str, stored: &Value, given: &Value) -> Option<Ordering> {
    if stored.is_null() || given.is_null() {
        return None;
    }
    match data_type {
        "integer" | "long" | "double" | "decimal" => number(stored)?.partial_cmp(&number(given)?),
        "boolean" => Some(boolean(stored)?.cmp(&boolean(given)?)),
        "datetime" => {
            Some(parse_datetime(stored.as_str()?)?.cmp(&parse_datetime(given.as_str()?)?))
        }
        _ => Some(
            text(stored)?
                .to_lowercase()
                .cmp(&text(given)?.to_lowercase()),
        ),
    }
}

/// A value as text (strings as they are, numbers and booleans printed).
pub(super) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether a filter value can be read as `data_type` (numbers as numbers,
/// datetimes as datetimes, booleans as booleans).
pub(super) fn valid_filter_value(data_type: &str, v: &Value) -> bool {
    match data_type {
        "integer" | "long" | "double" | "decimal" => number(v).is_some(),
        "boolean" => boolean(v).is_some(),
        "datetime" => v.as_str().and_then(parse_datetime).is_some(),
        _ => text(v).is_some(),
    }
}
