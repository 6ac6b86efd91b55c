//! `Retry-After` (delta seconds or an HTTP date).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scopelink_core::http::{retry_after, Headers};
use std::time::{Duration, SystemTime};

fuzz_target!(|data: &[u8]| {
    let mut headers = Headers::new();
    if headers.insert("retry-after", data).is_err() {
        return;
    }
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let _ = retry_after(&headers, now);
});
