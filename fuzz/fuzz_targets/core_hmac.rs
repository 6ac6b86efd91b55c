//! The core HMAC helpers: any key, message and signature text, hex or
//! base64, SHA-256 or SHA-1; a computed MAC always verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scopelink_core::webhook::{
    constant_time_eq, hmac, verify_hmac, HmacAlgorithm, SignatureEncoding,
};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let alg = if mode & 1 == 0 {
        HmacAlgorithm::Sha256
    } else {
        HmacAlgorithm::Sha1
    };
    let enc = if mode & 2 == 0 {
        SignatureEncoding::Base64
    } else {
        SignatureEncoding::Hex
    };
    let split = (usize::from(mode) >> 2).min(rest.len());
    let (key, msg) = rest.split_at(split);
    let _ = verify_hmac(alg, key, msg, &String::from_utf8_lossy(msg), enc);
    let mac = hmac(alg, key, msg);
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    assert!(verify_hmac(alg, key, msg, &hex, SignatureEncoding::Hex).is_ok());
    assert!(constant_time_eq(&mac, &mac));
    assert_eq!(constant_time_eq(key, msg), key == msg);
});
