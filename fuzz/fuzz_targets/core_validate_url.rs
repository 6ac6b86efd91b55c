//! User-typed URLs: an accepted URL is https, has no user info, and is not
//! a literal address the public-only policy refuses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scopelink_core::http::{validate_url, AddressPolicy};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    if let Ok(url) = validate_url(&input, AddressPolicy::public_only()) {
        assert_eq!(url.scheme(), "https");
        assert!(url.username().is_empty() && url.password().is_none());
        if let Some(host) = url.host_str() {
            if let Ok(ip) = host.trim_matches(|c| c == '[' || c == ']').parse() {
                assert!(AddressPolicy::public_only().permits(ip), "{input}");
            }
        }
    }
    let _ = validate_url(&input, AddressPolicy::allow_local());
});
