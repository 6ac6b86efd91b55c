//! The provider-message extraction from error bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(m) = scopelink_core::http::error_message(data) {
        assert!(!m.is_empty());
        assert!(m.chars().count() <= 301);
    }
});
