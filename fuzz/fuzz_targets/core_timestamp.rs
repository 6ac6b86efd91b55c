//! Webhook timestamp windows at any instant and tolerance.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scopelink_core::webhook::check_timestamp;

fuzz_target!(|data: &[u8]| {
    if data.len() < 20 {
        return;
    }
    let n = |b: &[u8]| i64::from_le_bytes(b.try_into().expect("8 bytes"));
    let (ts, now) = (
        n(&data[..8]) % 8_000_000_000_000,
        n(&data[8..16]) % 8_000_000_000_000,
    );
    let tol = i64::from(i32::from_le_bytes(
        data[16..20].try_into().expect("4 bytes"),
    ));
    let (Some(ts), Some(now)) = (
        chrono::DateTime::from_timestamp(ts, 0),
        chrono::DateTime::from_timestamp(now, 0),
    ) else {
        return;
    };
    let _ = check_timestamp(ts, now, chrono::Duration::seconds(tol));
});
