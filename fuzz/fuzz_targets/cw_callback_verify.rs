//! ConnectWise callback signatures: arbitrary key / signature / body never
//! panic; a correct signature verifies and fails after a flipped body byte.
#![no_main]

use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use scopelink_connectwise::verify_signature;
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    // [key_len][key][sig_len][sig][body...]
    let Some((&key_len, rest)) = data.split_first() else {
        return;
    };
    let (key, rest) = rest.split_at((key_len as usize).min(rest.len()));
    let Some((&sig_len, rest)) = rest.split_first() else {
        return;
    };
    let (sig, body) = rest.split_at((sig_len as usize).min(rest.len()));
    let key = String::from_utf8_lossy(key);
    let _ = verify_signature(body, &key, &String::from_utf8_lossy(sig));

    let digest = Sha256::digest(key.as_bytes());
    let mut mac = <Hmac<Sha256>>::new_from_slice(&digest).expect("any key length");
    mac.update(body);
    let good = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert!(verify_signature(body, &key, &good).is_ok());
    if !body.is_empty() {
        let mut flipped = body.to_vec();
        let i = usize::from(key_len) % flipped.len();
        flipped[i] ^= 0x01;
        assert!(verify_signature(&flipped, &key, &good).is_err());
    }
});
