//! RFC 8288 `Link` headers (`rel="next"`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scopelink_core::http::{next_link, HeaderMap, HeaderValue};

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for part in data.split(|b| *b == b'\n') {
        if let Ok(v) = HeaderValue::from_bytes(part) {
            headers.append("link", v);
        }
    }
    let _ = next_link(&headers);
});
