//! Callbacks (ConnectWise webhooks): registration, payload parsing and
//! signature verification.
//!
//! ConnectWise signs each callback with `x-content-signature =
//! base64(HMAC-SHA256(key = SHA256(signing_key), message = raw body))`; the
//! signing key is fetched from the payload's `Metadata.key_url`. Because
//! the payload names that URL, it is checked first: only the connection's
//! own API or server host (same scheme and port) is ever asked, so a forged
//! payload cannot make the connector call elsewhere. The payload must also
//! be for the connection's own company: cloud hosts are shared, and another
//! tenant's correctly signed callback must not be applied here.

use crate::client::ConnectWiseConnector;
use crate::convert::convert;
use crate::wire::{CallbackEntry, CallbackPayload, SigningKey};
use scopelink_core::error::{ConnectorError, HttpError, WebhookError};
use scopelink_core::http::{validate_url, Method, Request};
use scopelink_core::model::DataType;
use scopelink_core::webhook::{
    verify_hmac, HmacAlgorithm, SignatureEncoding, WebhookAction, WebhookEvent, WebhookRequest,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use url::Url;

/// The header holding the callback signature.
pub const SIGNATURE_HEADER: &str = "x-content-signature";
/// How long a fetched signing key is reused.
pub const SIGNING_KEY_TTL: Duration = Duration::from_secs(15 * 60);
/// The payload version requested for callbacks.
pub const PAYLOAD_VERSION: &str = "3.0.0";
const MAX_CACHED_KEYS: usize = 64;

/// The callback `type` of a data type.
pub fn callback_type(data_type: DataType) -> Option<&'static str> {
    Some(match data_type {
        DataType::Companies => "company",
        DataType::Contacts => "contact",
        DataType::Opportunities => "opportunity",
        DataType::Configurations => "configuration",
        DataType::CatalogItems => "productcatalog",
        _ => return None,
    })
}

/// The data type of a callback `Type`, for the types scopelink syncs.
pub fn callback_data_type(kind: &str) -> Option<DataType> {
    Some(match kind.trim().to_ascii_lowercase().as_str() {
        "company" => DataType::Companies,
        "contact" => DataType::Contacts,
        "opportunity" => DataType::Opportunities,
        "configuration" => DataType::Configurations,
        "productcatalog" => DataType::CatalogItems,
        _ => return None,
    })
}

/// The callback URL ending in `recordId=`, to which ConnectWise appends the
/// record id.
pub fn callback_url_with_record_id(url: &str) -> String {
    let url = url.trim();
    if url.ends_with("recordId=") {
        url.to_string()
    } else if url.contains('?') {
        if url.ends_with('?') || url.ends_with('&') {
            format!("{url}recordId=")
        } else {
            format!("{url}&recordId=")
        }
    } else {
        format!("{url}?recordId=")
    }
}

/// Checks `signature` (the `x-content-signature` value) over the raw body
/// with `signing_key`: `base64(HMAC-SHA256(SHA256(signing_key), body))`,
/// compared in constant time.
pub fn verify_signature(
    body: &[u8],
    signing_key: &str,
    signature: &str,
) -> Result<(), WebhookError> {
    let key = Sha256::digest(signing_key.as_bytes());
    verify_hmac(
        HmacAlgorithm::Sha256,
        key.as_slice(),
        body,
        signature,
        SignatureEncoding::Base64,
    )
}

/// Parses a callback body.
pub fn parse_payload(body: &[u8]) -> Result<CallbackPayload, WebhookError> {
    serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("not a ConnectWise callback: {e}")))
}

/// The normalized events of a (verified) payload: none for object types
/// scopelink does not sync. The record is read from `Entity` when it holds
/// the same record; otherwise the engine fetches it.
pub fn events_from_payload(payload: &CallbackPayload) -> Result<Vec<WebhookEvent>, WebhookError> {
    let kind = payload
        .kind
        .as_deref()
        .ok_or_else(|| WebhookError::Malformed("the callback has no Type".into()))?;
    let Some(data_type) = callback_data_type(kind) else {
        tracing::debug!(%kind, "ignoring a callback for a type scopelink does not sync");
        return Ok(vec![]);
    };
    let id = payload
        .id
        .ok_or_else(|| WebhookError::Malformed("the callback has no record ID".into()))?
        .to_string();
    let action = match payload
        .action
        .as_deref()
        .map(|a| a.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("added") => WebhookAction::Added,
        Some("updated") => WebhookAction::Updated,
        Some("deleted") => WebhookAction::Deleted,
        other => {
            return Err(WebhookError::Malformed(format!(
                "unknown callback Action {other:?}"
            )))
        }
    };
    let record = if action == WebhookAction::Deleted {
        None
    } else {
        let entity = match &payload.entity {
            Some(serde_json::Value::String(s)) => serde_json::from_str(s).ok(),
            Some(v @ serde_json::Value::Object(_)) => Some(v.clone()),
            _ => None,
        };
        entity
            .and_then(|e| convert(data_type, e).ok())
            .filter(|r| r.external_id() == id)
    };
    // `MessageId` is the same on every delivery of a message (ConnectWise
    // redelivers after 404, 409, 419 and 429), so it identifies a replay.
    let event_id = payload
        .message_id
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| m.to_ascii_lowercase());
    Ok(vec![WebhookEvent {
        data_type,
        external_id: id,
        action,
        record,
        event_id,
    }])
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewCallback<'a> {
    description: String,
    url: &'a str,
    object_id: i64,
    #[serde(rename = "type")]
    kind: &'a str,
    level: &'a str,
    payload_version: &'a str,
    inactive_flag: bool,
    is_self_suppressed_flag: bool,
}

#[derive(Serialize)]
struct PatchOp<'a, T: Serialize> {
    op: &'a str,
    path: &'a str,
    value: T,
}

impl ConnectWiseConnector {
    /// Subscribes `callback_url` to changes of each of `types` (owner level:
    /// every record). The URL gets `?recordId=` appended as ConnectWise
    /// requires. A callback that already exists for the same type and URL is
    /// reused (and re-enabled if ConnectWise disabled it), so calling this
    /// again creates no duplicates. Returns the callback ids, one per type.
    pub async fn register_callbacks(
        &self,
        callback_url: &str,
        types: &[DataType],
    ) -> Result<Vec<String>, ConnectorError> {
        validate_url(callback_url.trim(), self.http().config().addresses).map_err(|e| {
            ConnectorError::InvalidConfig {
                field: "callback_url",
                message: e.to_string(),
            }
        })?;
        let url = callback_url_with_record_id(callback_url);
        let mut kinds: Vec<&'static str> = Vec::new();
        for t in types {
            let kind = callback_type(*t).ok_or_else(|| ConnectorError::Unsupported {
                what: format!("ConnectWise callbacks for {t}"),
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        let existing: Vec<CallbackEntry> = self
            .get_all(
                "system/callbacks",
                vec![("orderBy".into(), "id asc".into())],
                "listing callbacks",
            )
            .await?;
        let mut ids = Vec::with_capacity(kinds.len());
        for kind in kinds {
            let found = existing.iter().find(|c| {
                c.kind
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case(kind))
                    && c.url.as_deref() == Some(url.as_str())
                    && c.level
                        .as_deref()
                        .is_some_and(|l| l.eq_ignore_ascii_case("owner"))
                    && c.id.is_some()
            });
            let id = match found.and_then(|c| c.id.map(|id| (id, c.inactive == Some(true)))) {
                Some((id, inactive)) => {
                    if inactive {
                        let ops = [PatchOp {
                            op: "replace",
                            path: "inactiveFlag",
                            value: false,
                        }];
                        let _: serde_json::Value = self
                            .send_json(
                                Method::PATCH,
                                self.record_url("system/callbacks", &id.to_string()),
                                &ops,
                                true,
                                "re-enabling a callback",
                            )
                            .await?;
                    }
                    id
                }
                None => {
                    let body = NewCallback {
                        description: format!("scopelink {kind} sync"),
                        url: &url,
                        object_id: 1,
                        kind,
                        level: "owner",
                        payload_version: PAYLOAD_VERSION,
                        inactive_flag: false,
                        is_self_suppressed_flag: false,
                    };
                    let created: CallbackEntry = self
                        .send_json(
                            Method::POST,
                            self.endpoint(&["system", "callbacks"]),
                            &body,
                            false,
                            "creating a callback",
                        )
                        .await?;
                    created.id.ok_or_else(|| ConnectorError::Decode {
                        what: "created callback".into(),
                        message: "the answer has no id".into(),
                    })?
                }
            };
            ids.push(id.to_string());
        }
        Ok(ids)
    }

    /// Verifies and parses a callback request (see the module docs).
    pub(crate) async fn receive_callback(
        &self,
        request: &WebhookRequest,
    ) -> Result<Vec<WebhookEvent>, WebhookError> {
        let signature = request.require_header(SIGNATURE_HEADER)?;
        let payload = parse_payload(&request.body)?;
        let key_url_text = payload
            .metadata
            .as_ref()
            .and_then(|m| m.key_url.as_deref())
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                WebhookError::Malformed("the callback has no Metadata.key_url".into())
            })?;
        let key_url = Url::parse(key_url_text)
            .map_err(|e| WebhookError::Malformed(format!("Metadata.key_url is not a URL: {e}")))?;
        let host = key_url.host_str().unwrap_or_default().to_string();
        if !self.trusted_key_origin(&key_url) {
            tracing::warn!(%host, "refusing a callback whose signing key is on a foreign host");
            return Err(WebhookError::ForeignHost { host });
        }
        validate_url(key_url.as_str(), self.http().config().addresses)
            .map_err(|_| WebhookError::ForeignHost { host: host.clone() })?;
        self.check_company(&payload, &key_url)?;
        let key = self.signing_key(&key_url).await?;
        verify_signature(&request.body, key.expose_secret(), signature)?;
        events_from_payload(&payload)
    }

    /// Refuses callbacks for another company (shared cloud hosts).
    fn check_company(&self, payload: &CallbackPayload, key_url: &Url) -> Result<(), WebhookError> {
        let ours = &self.inner.company_id;
        let company = payload
            .company_id
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        if !company.eq_ignore_ascii_case(ours) {
            return Err(WebhookError::Malformed(format!(
                "the callback is for company `{company}`, not this connection's company"
            )));
        }
        if let Some((_, name)) = key_url
            .query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case("companyName"))
        {
            if !name.trim().eq_ignore_ascii_case(ours) {
                return Err(WebhookError::Malformed(format!(
                    "the callback's signing key belongs to company `{name}`, not this connection's company"
                )));
            }
        }
        Ok(())
    }

    /// The signing key at `url` (host already checked), cached per URL.
    async fn signing_key(&self, url: &Url) -> Result<SecretString, WebhookError> {
        let cache_key = url.to_string();
        {
            let cache = self
                .inner
                .signing_keys
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(hit) = cache.get(&cache_key) {
                if hit.fetched.elapsed() < SIGNING_KEY_TTL {
                    return Ok(hit.key.clone());
                }
            }
        }
        let plain = || Request::new(Method::GET, url.clone()).header("Accept", "application/json");
        let response = match self.http().send(plain()).await {
            Err(HttpError::Status { status: 401, .. }) => {
                // Some servers want the API credentials; only ever sent to
                // the connection's own host, checked above.
                self.http().send(self.authenticated(plain())).await
            }
            other => other,
        }
        .map_err(|e| WebhookError::KeyFetch(e.to_string()))?;
        let body: SigningKey = serde_json::from_slice(&response.body)
            .map_err(|e| WebhookError::KeyFetch(format!("unreadable answer: {e}")))?;
        let key = body
            .signing_key
            .filter(|k| !k.is_empty())
            .ok_or_else(|| WebhookError::KeyFetch("the answer has no signing_key".into()))?;
        let key = SecretString::from(key);
        let mut cache = self
            .inner
            .signing_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, v| v.fetched.elapsed() < SIGNING_KEY_TTL);
        if cache.len() >= MAX_CACHED_KEYS {
            cache.clear();
        }
        cache.insert(
            cache_key,
            crate::client::CachedKey {
                fetched: Instant::now(),
                key: key.clone(),
            },
        );
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str =
        include_str!("../../fixtures/connectwise/callback_payload_company_updated.json");
    const KEY: &str = "sl-fixture-signing-key-3f9a1c7e5d";
    const SIGNATURE: &str = "aoUIJCM1Me+TcgXgFGWSmpmsA+jN2N/ow3Ssq83SwU4=";

    #[test]
    fn known_answer_from_the_fixture() {
        assert_eq!(BODY.len(), 3952);
        assert_eq!(verify_signature(BODY.as_bytes(), KEY, SIGNATURE), Ok(()));
        assert_eq!(
            verify_signature(BODY.as_bytes(), "another key", SIGNATURE),
            Err(WebhookError::BadSignature)
        );
        let mut tampered = BODY.as_bytes().to_vec();
        tampered[100] ^= 1;
        assert_eq!(
            verify_signature(&tampered, KEY, SIGNATURE),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn payload_becomes_an_event_with_its_record() {
        let payload = parse_payload(BODY.as_bytes()).unwrap();
        let events = events_from_payload(&payload).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data_type, DataType::Companies);
        assert_eq!(events[0].external_id, "251");
        assert_eq!(events[0].action, WebhookAction::Updated);
        assert!(events[0].record.is_some());
    }

    #[test]
    fn deletes_unknown_types_and_bad_payloads() {
        let deleted =
            parse_payload(br#"{"Action":"deleted","Type":"contact","ID":57919,"Entity":null}"#)
                .unwrap();
        let e = events_from_payload(&deleted).unwrap();
        assert_eq!(e[0].action, WebhookAction::Deleted);
        assert_eq!(e[0].record, None);
        let ticket =
            parse_payload(br#"{"Action":"added","Type":"ticket","ID":1,"Entity":"{}"}"#).unwrap();
        assert!(events_from_payload(&ticket).unwrap().is_empty());
        let odd = parse_payload(br#"{"Action":"exploded","Type":"company","ID":1}"#).unwrap();
        assert!(matches!(
            events_from_payload(&odd),
            Err(WebhookError::Malformed(_))
        ));
        assert!(parse_payload(b"not json").is_err());
        // An entity for another record is not trusted: the engine refetches.
        let other = parse_payload(
            br#"{"Action":"updated","Type":"company","ID":5,"Entity":"{\"id\":6,\"name\":\"x\"}"}"#,
        )
        .unwrap();
        assert_eq!(events_from_payload(&other).unwrap()[0].record, None);
    }

    #[test]
    fn record_id_suffix() {
        assert_eq!(
            callback_url_with_record_id("https://h/x"),
            "https://h/x?recordId="
        );
        assert_eq!(
            callback_url_with_record_id("https://h/x?a=1"),
            "https://h/x?a=1&recordId="
        );
        assert_eq!(
            callback_url_with_record_id("https://h/x?recordId="),
            "https://h/x?recordId="
        );
    }
}
