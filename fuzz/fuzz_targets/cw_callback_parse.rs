//! ConnectWise callback bodies: parse, then normalize into events (what the
//! receiver does before it fetches the signing key).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scopelink_connectwise::fuzz::{events_from_payload, parse_payload};

fuzz_target!(|data: &[u8]| {
    if let Ok(payload) = parse_payload(data) {
        if let Ok(events) = events_from_payload(&payload) {
            assert!(events.len() <= 1);
            for e in events {
                if let Some(r) = e.record {
                    assert_eq!(r.external_id(), e.external_id);
                }
            }
        }
    }
});
