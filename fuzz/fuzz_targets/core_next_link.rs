//! RFC 8288 `Link` headers (`rel="next"`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scopelink_core::http::{next_link, Headers};

fuzz_target!(|data: &[u8]| {
    let mut headers = Headers::new();
    for part in data.split(|b| *b == b'\n') {
        let _ = headers.append("link", part);
    }
    let _ = next_link(&headers);
});
