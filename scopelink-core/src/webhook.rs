//! Webhook signature checks and the normalized webhook event.
//!
//! # Example
//!
//! Checking an HMAC-SHA256 signature sent in a header (compared in constant
//! time) and the request's timestamp:
//!
//! ```
//! use chrono::{Duration, Utc};
//! use scopelink_core::webhook::{check_timestamp, hmac, verify_hmac, HmacAlgorithm, SignatureEncoding};
//! use scopelink_core::WebhookError;
//!
//! let key = b"shared signing key";
//! let body = br#"{"ID":250,"Action":"updated"}"#;
//! let header = hex::encode(hmac(HmacAlgorithm::Sha256, key, body));
//!
//! assert!(verify_hmac(HmacAlgorithm::Sha256, key, body, &header, SignatureEncoding::Hex).is_ok());
//! let tampered = br#"{"ID":251,"Action":"updated"}"#;
//! assert!(matches!(
//!     verify_hmac(HmacAlgorithm::Sha256, key, tampered, &header, SignatureEncoding::Hex),
//!     Err(WebhookError::BadSignature)
//! ));
//!
//! let now = Utc::now();
//! assert!(check_timestamp(now - Duration::seconds(30), now, Duration::minutes(5)).is_ok());
//! assert!(check_timestamp(now - Duration::hours(1), now, Duration::minutes(5)).is_err());
//! ```

use crate::error::WebhookError;
use crate::model::{DataType, Record};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

/// An incoming webhook request, as the host's web framework received it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookRequest {
    /// Headers (names compared case-insensitively).
    pub headers: Vec<(String, String)>,
    /// The raw body, byte for byte: signatures cover it exactly.
    pub body: Vec<u8>,
    /// The full URL the provider called, when a scheme signs it.
    pub url: Option<String>,
}

impl WebhookRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The header named `name`, or a typed error saying it is missing.
    pub fn require_header(&self, name: &str) -> Result<&str, WebhookError> {
        self.header(name)
            .ok_or_else(|| WebhookError::MissingSignature {
                header: name.to_string(),
            })
    }
}

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookAction {
    /// Created.
    Added,
    /// Changed.
    Updated,
    /// Deleted.
    Deleted,
}

impl WebhookAction {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookAction::Added => "added",
            WebhookAction::Updated => "updated",
            WebhookAction::Deleted => "deleted",
        }
    }
}

/// A provider event, normalized.
///
/// The engine applies events by the record's provider timestamp (an older
/// copy never replaces a newer one), checks a deletion with the provider
/// before deleting, and applies an event with an `event_id` once (see
/// [`SeenEvents`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The record's data type.
    pub data_type: DataType,
    /// The provider's id.
    pub external_id: String,
    /// What happened.
    pub action: WebhookAction,
    /// The record, when the payload carried it; otherwise the engine fetches
    /// it.
    pub record: Option<Record>,
    /// The provider's id of this event (a message id or sequence number),
    /// the same on every delivery of it, when the provider sends one
    /// (ConnectWise: `MessageId`). A provider that sends several events in
    /// one message must make it unique per event.
    #[serde(default)]
    pub event_id: Option<String>,
}

/// How a signature is written in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureEncoding {
    /// Lower- or upper-case hex.
    Hex,
    /// Standard base64.
    Base64,
}

/// The HMAC algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA1 (legacy schemes).
    Sha1,
}

/// Computes the HMAC of `message` under `key`.
pub fn hmac(algorithm: HmacAlgorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    match algorithm {
        HmacAlgorithm::Sha256 => {
            let mut mac = <Hmac<sha2::Sha256>>::new_from_slice(key).expect("any key length");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        HmacAlgorithm::Sha1 => {
            let mut mac = <Hmac<sha1::Sha1>>::new_from_slice(key).expect("any key length");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

impl HmacAlgorithm {
    /// The length of its MAC in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HmacAlgorithm::Sha256 => 32,
            HmacAlgorithm::Sha1 => 20,
        }
    }
}

/// Decodes a signature as written in a header, refusing one that cannot be
/// an `algorithm` MAC (wrong encoding or length) with
/// [`WebhookError::BadSignature`]. Receivers call it before anything costly
/// (fetching a signing key), so an obviously forged request costs nothing.
pub fn decode_signature(
    algorithm: HmacAlgorithm,
    signature: &str,
    encoding: SignatureEncoding,
) -> Result<Vec<u8>, WebhookError> {
    let given = match encoding {
        SignatureEncoding::Hex => hex::decode(signature.trim()).ok(),
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(signature.trim())
            .ok(),
    };
    given
        .filter(|g| g.len() == algorithm.output_len())
        .ok_or(WebhookError::BadSignature)
}

/// Checks `signature` (as written in a header) against the HMAC of
/// `message`, in constant time.
pub fn verify_hmac(
    algorithm: HmacAlgorithm,
    key: &[u8],
    message: &[u8],
    signature: &str,
    encoding: SignatureEncoding,
) -> Result<(), WebhookError> {
    let given = decode_signature(algorithm, signature, encoding)?;
    let expected = hmac(algorithm, key, message);
    if constant_time_eq(&expected, &given) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Refuses a webhook timestamp more than `tolerance` away from `now`
/// (replay protection).
pub fn check_timestamp(
    timestamp: DateTime<Utc>,
    now: DateTime<Utc>,
    tolerance: chrono::Duration,
) -> Result<(), WebhookError> {
    let skew = (now - timestamp).num_seconds().abs();
    if skew > tolerance.num_seconds() {
        Err(WebhookError::Stale { skew_seconds: skew })
    } else {
        Ok(())
    }
}

/// How many event ids [`SeenEvents`] remembers per connection.
pub const SEEN_EVENTS_PER_CONNECTION: usize = 4096;

/// The provider event ids recently applied, per connection, in memory: a
/// redelivered or replayed event (same id) is applied once. The newest
/// [`SEEN_EVENTS_PER_CONNECTION`] ids of each connection are kept. A
/// process that restarts forgets them; the timestamp rule of the engine
/// still refuses an older copy of a record then.
#[derive(Debug, Default)]
pub struct SeenEvents {
    by_connection: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Default)]
struct Window {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl SeenEvents {
    /// An empty memory.
    pub fn new() -> Self {
        Self::default()
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        self.by_connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Claims `event_id` for `connection`: `true` the first time (the
    /// caller applies the event), `false` if it was claimed already (a
    /// replay or redelivery). Claiming is atomic, so two deliveries racing
    /// each other apply it once.
    pub fn claim(&self, connection: &str, event_id: &str) -> bool {
        let mut windows = self.windows();
        let window = windows.entry(connection.to_string()).or_default();
        if !window.ids.insert(event_id.to_string()) {
            return false;
        }
        window.order.push_back(event_id.to_string());
        while window.order.len() > SEEN_EVENTS_PER_CONNECTION {
            if let Some(oldest) = window.order.pop_front() {
                window.ids.remove(&oldest);
            }
        }
        true
    }

    /// Gives back a claim whose event could not be applied (the provider's
    /// redelivery should then be applied).
    pub fn release(&self, connection: &str, event_id: &str) {
        let mut windows = self.windows();
        if let Some(window) = windows.get_mut(connection) {
            if window.ids.remove(event_id) {
                window.order.retain(|id| id != event_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_events_claim_once_per_connection_and_forget_the_oldest() {
        let seen = SeenEvents::new();
        assert!(seen.claim("a", "m1"));
        assert!(!seen.claim("a", "m1"));
        assert!(seen.claim("b", "m1"), "another connection's id space");
        seen.release("a", "m1");
        assert!(seen.claim("a", "m1"), "released after a failure");
        for i in 0..SEEN_EVENTS_PER_CONNECTION {
            assert!(seen.claim("a", &format!("x{i}")));
        }
        assert!(seen.claim("a", "m1"), "the oldest id was forgotten");
        assert!(!seen.claim("a", &format!("x{}", SEEN_EVENTS_PER_CONNECTION - 1)));
    }

    // RFC 4231 test case 2.
    const KEY: &[u8] = b"Jefe";
    const MSG: &[u8] = b"what do ya want for nothing?";
    const SHA256_HEX: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

    #[test]
    fn hmac_sha256_matches_rfc4231() {
        assert_eq!(
            hex::encode(hmac(HmacAlgorithm::Sha256, KEY, MSG)),
            SHA256_HEX
        );
        assert!(verify_hmac(
            HmacAlgorithm::Sha256,
            KEY,
            MSG,
            SHA256_HEX,
            SignatureEncoding::Hex
        )
        .is_ok());
        assert!(verify_hmac(
            HmacAlgorithm::Sha256,
            KEY,
            MSG,
            &SHA256_HEX.to_uppercase(),
            SignatureEncoding::Hex
        )
        .is_ok());
    }

    #[test]
    fn hmac_sha1_matches_rfc2202() {
        // RFC 2202 test case 2.
        assert_eq!(
            hex::encode(hmac(HmacAlgorithm::Sha1, KEY, MSG)),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn base64_signatures_and_forgeries() {
        let sig =
            base64::engine::general_purpose::STANDARD.encode(hmac(HmacAlgorithm::Sha256, KEY, MSG));
        assert!(verify_hmac(
            HmacAlgorithm::Sha256,
            KEY,
            MSG,
            &sig,
            SignatureEncoding::Base64
        )
        .is_ok());
        assert_eq!(
            verify_hmac(
                HmacAlgorithm::Sha256,
                KEY,
                b"tampered",
                &sig,
                SignatureEncoding::Base64
            ),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_hmac(
                HmacAlgorithm::Sha256,
                KEY,
                MSG,
                "not base64!!",
                SignatureEncoding::Base64
            ),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify_hmac(
                HmacAlgorithm::Sha256,
                KEY,
                MSG,
                "abcd",
                SignatureEncoding::Hex
            ),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn signatures_of_the_wrong_length_are_refused_before_any_mac() {
        let sig = hmac(HmacAlgorithm::Sha256, KEY, MSG);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&sig);
        assert_eq!(
            decode_signature(HmacAlgorithm::Sha256, &b64, SignatureEncoding::Base64),
            Ok(sig.clone())
        );
        let short = base64::engine::general_purpose::STANDARD.encode(&sig[..31]);
        for bad in [short.as_str(), "", "not base64!!"] {
            assert_eq!(
                decode_signature(HmacAlgorithm::Sha256, bad, SignatureEncoding::Base64),
                Err(WebhookError::BadSignature),
                "{bad:?}"
            );
        }
        assert_eq!(
            decode_signature(HmacAlgorithm::Sha1, SHA256_HEX, SignatureEncoding::Hex),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn webhook_errors_say_what_to_answer() {
        assert_eq!(WebhookError::BadSignature.response_status(), 401);
        assert_eq!(WebhookError::Malformed("x".into()).response_status(), 400);
        let limited = WebhookError::TooManyKeyFetches {
            retry_after_seconds: 42,
        };
        assert_eq!(limited.response_status(), 429);
        assert_eq!(limited.retry_after_seconds(), Some(42));
        assert_eq!(WebhookError::KeyFetch("down".into()).response_status(), 429);
        assert_eq!(WebhookError::BadSignature.retry_after_seconds(), None);
    }

    #[test]
    fn constant_time_eq_checks_length_and_content() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn timestamp_window() {
        let now = Utc::now();
        let tol = chrono::Duration::minutes(5);
        assert!(check_timestamp(now - chrono::Duration::minutes(4), now, tol).is_ok());
        assert!(matches!(
            check_timestamp(now - chrono::Duration::minutes(6), now, tol),
            Err(WebhookError::Stale { skew_seconds: 360 })
        ));
        assert!(check_timestamp(now + chrono::Duration::minutes(6), now, tol).is_err());
    }

    #[test]
    fn headers_are_case_insensitive() {
        let r = WebhookRequest {
            headers: vec![("X-Content-Signature".into(), "abc".into())],
            body: vec![],
            url: None,
        };
        assert_eq!(r.header("x-content-signature"), Some("abc"));
        assert_eq!(
            r.require_header("x-other"),
            Err(WebhookError::MissingSignature {
                header: "x-other".into()
            })
        );
    }
}
