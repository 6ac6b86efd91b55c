//! HaloPSA token replies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    if let Some((_, lifetime)) = scopelink_halopsa::fuzz::token_reply(data) {
        assert!(lifetime > Duration::ZERO && lifetime <= Duration::from_secs(30 * 86_400));
    }
});
