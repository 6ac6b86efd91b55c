//! Small helpers: hashing, time, JSON text.

use super::*;

pub(super) fn mix(mut x: u64) -> u64 {
    // splitmix64
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

pub(super) fn spread(salt: u64, i: u64, span: i64) -> i64 {
    (mix(salt.wrapping_mul(0x1000_0000_01b3) ^ i) % span.max(1) as u64) as i64
}

pub(super) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Appends `secs` as `YYYY-MM-DDTHH:MM:SSZ` (ConnectWise's format).
pub(super) fn push_ts(out: &mut String, secs: i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
}

pub(super) fn ts(secs: i64) -> String {
    let mut s = String::with_capacity(20);
    push_ts(&mut s, secs);
    s
}

pub(super) fn now_secs() -> i64 {
    Utc::now().timestamp()
}

/// Parses a ConnectWise date-time (RFC 3339, or without zone, or a date) to
/// milliseconds since the epoch.
pub(super) fn parse_ts_millis(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// Appends `s` as a JSON string literal.
pub(super) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b != 0x7f)
    {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

pub(super) fn push_num(out: &mut String, n: u64) {
    let _ = write!(out, "{n}");
}

pub(super) fn push_f64(out: &mut String, f: f64) {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        let _ = write!(out, "{f:.1}");
    } else if f.is_finite() {
        let _ = write!(out, "{f}");
    } else {
        out.push_str("0.0");
    }
}

pub(super) fn push_bool(out: &mut String, b: bool) {
    out.push_str(if b { "true" } else { "false" });
}

/// `,"key":` (the leading comma included).
pub(super) fn key(out: &mut String, k: &str) {
    out.push_str(",\"");
    out.push_str(k);
    out.push_str("\":");
}

/// `,"key":"<timestamp>"`.
pub(super) fn key_ts(out: &mut String, k: &str, secs: i64) {
    key(out, k);
    out.push('"');
    push_ts(out, secs);
    out.push('"');
}

/// `,"key":"<text>"`.
pub(super) fn key_str(out: &mut String, k: &str, v: &str) {
    key(out, k);
    push_json_str(out, v);
}

/// A reference object:
/// `{"id":..,["identifier":..,]"name":..,"_info":{"<href_key>":"<api><path><id>"}}`.
#[allow(clippy::too_many_arguments)]
pub(super) fn push_ref(
    out: &mut String,
    api: &str,
    id: u64,
    identifier: Option<&str>,
    name: &str,
    href_key: &str,
    path: &str,
) {
    out.push_str("{\"id\":");
    push_num(out, id);
    if let Some(ident) = identifier {
        key_str(out, "identifier", ident);
    }
    key_str(out, "name", name);
    out.push_str(",\"_info\":{\"");
    out.push_str(href_key);
    out.push_str("\":\"");
    out.push_str(api);
    out.push_str(path);
    push_num(out, id);
    out.push_str("\"}}");
}

/// `,"key":{reference}`.
#[allow(clippy::too_many_arguments)]
pub(super) fn key_ref(
    out: &mut String,
    k: &str,
    api: &str,
    id: u64,
    identifier: Option<&str>,
    name: &str,
    href_key: &str,
    path: &str,
) {
    key(out, k);
    push_ref(out, api, id, identifier, name, href_key, path);
}

/// `,"key":"<api><path>"` for `_info` hrefs.
pub(super) fn key_href(out: &mut String, k: &str, api: &str, path: std::fmt::Arguments<'_>) {
    key(out, k);
    out.push('"');
    out.push_str(api);
    let _ = out.write_fmt(path);
    out.push('"');
}

pub(super) fn guid(prefix: u32, n: u64) -> String {
    format!("{prefix:08x}-0000-4000-8000-{:012}", n % 1_000_000_000_000)
}
