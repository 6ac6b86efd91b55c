//! Callbacks (ConnectWise webhooks): registration, payload parsing and
//! signature verification.
//!
//! ConnectWise signs each callback with `x-content-signature =
//! base64(HMAC-SHA256(key = SHA256(signing_key), message = raw body))`; the
//! signing key is fetched from the payload's `Metadata.key_url`. Because
//! the payload names that URL, a forged callback must not be able to make
//! the connector send requests of the attacker's choosing:
//! - a signature header that cannot be an HMAC-SHA256 is refused first;
//! - the key URL must be on a host the connection trusts (the hosts of its
//!   ConnectWise cloud region, or its own on-premise host as typed, under
//!   the SSRF rules of the core) and have the shape of ConnectWise's key
//!   URL for the connection's company; anything else is refused without a
//!   request;
//! - keys are cached by their key id (the URL's `id`), not by URL, so a new
//!   query string does not defeat the cache;
//! - at most [`KEY_FETCHES_PER_WINDOW`](crate::KEY_FETCHES_PER_WINDOW) keys are fetched per connection per
//!   [`KEY_FETCH_WINDOW`];
//! - no credential is ever sent to a key URL (ConnectWise serves keys
//!   without authentication).
//!
//! The payload must also be for the connection's own company: cloud hosts
//! are shared, and another tenant's correctly signed callback must not be
//! applied here. Each event carries the payload's `MessageId`, so the sync
//! engine applies a redelivered or replayed message once.

use crate::callback_key::{
    key_host_trusted, key_url_shape, KeyUrl, KEY_FETCH_WINDOW, KEY_REFRESH_AFTER,
};
use crate::client::ConnectWiseConnector;
use crate::convert::convert;
use crate::wire::{CallbackEntry, CallbackPayload, SigningKey};
use scopelink_core::error::{ConnectorError, HttpError, WebhookError};
use scopelink_core::http::{validate_url, Method, Request};
use scopelink_core::model::DataType;
use scopelink_core::webhook::{
    decode_signature, verify_hmac, HmacAlgorithm, SignatureEncoding, WebhookAction, WebhookEvent,
    WebhookRequest,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Instant;
use url::Url;

/// The header holding the callback signature.
pub const SIGNATURE_HEADER: &str = "x-content-signature";
/// The payload version requested for callbacks.
pub const PAYLOAD_VERSION: &str = "3.0.0";

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
        // A header that cannot be an HMAC-SHA256 costs nothing more.
        decode_signature(HmacAlgorithm::Sha256, signature, SignatureEncoding::Base64)?;
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
        let key_url = self.key_url(key_url_text)?;
        self.check_company(&payload)?;
        let (key, fetched) = self.signing_key(&key_url, false).await?;
        match verify_signature(&request.body, key.expose_secret(), signature) {
            Err(WebhookError::BadSignature) if fetched.elapsed() >= KEY_REFRESH_AFTER => {
                // The key may have changed since it was cached: ask once
                // more (rate-limited like any fetch).
                let (key, _) = self.signing_key(&key_url, true).await?;
                verify_signature(&request.body, key.expose_secret(), signature)?;
            }
            other => other?,
        }
        events_from_payload(&payload)
    }

    /// The URL a callback's signing key would be fetched from, given its
    /// `Metadata.key_url`, or why it is refused (no request is made):
    /// [`WebhookError::ForeignHost`] for a host this connection does not
    /// trust (on ConnectWise cloud the `{region}`, `api-{region}` and
    /// `sandbox-{region}` hosts of the connection's region, on-premise only
    /// the API and server hosts), [`WebhookError::Malformed`] for
    /// anything but ConnectWise's key URL shape,
    /// `{host}/{codebase}/system/callbackkey/index.rails?companyName={this
    /// company}&id={key id}` (the double slash after the codebase that
    /// ConnectWise writes is accepted).
    pub fn signing_key_url(&self, key_url: &str) -> Result<Url, WebhookError> {
        self.key_url(key_url).map(|k| k.url)
    }

    fn key_url(&self, text: &str) -> Result<KeyUrl, WebhookError> {
        let url = Url::parse(text.trim())
            .map_err(|e| WebhookError::Malformed(format!("Metadata.key_url is not a URL: {e}")))?;
        let host = url.host_str().unwrap_or_default().to_string();
        let foreign = || WebhookError::ForeignHost { host: host.clone() };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(foreign());
        }
        if !key_host_trusted(&url, &self.inner.api_base, self.inner.server.as_ref()) {
            tracing::warn!(%host, "refusing a callback whose signing key is on a host this connection does not trust");
            return Err(foreign());
        }
        validate_url(url.as_str(), self.http().config().addresses).map_err(|_| foreign())?;
        let id = key_url_shape(&url, &self.inner.company_id).map_err(|why| {
            WebhookError::Malformed(format!(
                "Metadata.key_url is not a ConnectWise callback-key URL: {why}"
            ))
        })?;
        Ok(KeyUrl { url, id })
    }

    /// Refuses callbacks for another company (shared cloud hosts).
    fn check_company(&self, payload: &CallbackPayload) -> Result<(), WebhookError> {
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
        Ok(())
    }

    /// The signing key of `key_url` and when it was fetched: from the cache
    /// (by key id) unless `refresh`, else fetched, without credentials,
    /// within the connection's fetch budget.
    async fn signing_key(
        &self,
        key_url: &KeyUrl,
        refresh: bool,
    ) -> Result<(SecretString, Instant), WebhookError> {
        let keys = &self.inner.signing_keys;
        if !refresh {
            match keys.cached(&key_url.id) {
                Some((fetched, Some(key))) => return Ok((key, fetched)),
                Some((_, None)) => {
                    return Err(WebhookError::KeyFetch(format!(
                        "ConnectWise has no signing key `{}` (asked less than {}s ago)",
                        key_url.id,
                        KEY_FETCH_WINDOW.as_secs()
                    )))
                }
                None => {}
            }
        }
        keys.take_fetch_slot()?;
        // ConnectWise serves keys without authentication; no credential is
        // ever sent to a key URL, whatever it answers.
        let request =
            Request::new(Method::GET, key_url.url.clone()).header("Accept", "application/json");
        let response = match self.http().send(request).await {
            Ok(r) => r,
            Err(HttpError::Status { status: 404, .. }) => {
                keys.store(&key_url.id, None);
                return Err(WebhookError::KeyFetch(format!(
                    "ConnectWise has no signing key `{}`",
                    key_url.id
                )));
            }
            Err(HttpError::Status {
                status: status @ (401 | 403),
                ..
            }) => {
                return Err(WebhookError::KeyFetch(format!(
                    "the key URL answered HTTP {status}; ConnectWise serves callback keys without credentials, and none are sent to a key URL"
                )))
            }
            Err(e) => return Err(WebhookError::KeyFetch(e.to_string())),
        };
        let body: SigningKey = serde_json::from_slice(&response.body)
            .map_err(|e| WebhookError::KeyFetch(format!("unreadable answer: {e}")))?;
        let key = body
            .signing_key
            .filter(|k| !k.is_empty())
            .ok_or_else(|| WebhookError::KeyFetch("the answer has no signing_key".into()))?;
        let key = SecretString::from(key);
        keys.store(&key_url.id, Some(key.clone()));
        Ok((key, Instant::now()))
    }
}

// ----- the WebhookReceiver capability -----

#[async_trait::async_trait]
impl scopelink_core::connector::WebhookReceiver for ConnectWiseConnector {
    /// Verifies `x-content-signature` with the key at `Metadata.key_url`
    /// (only on the connection's own host) and parses the callback.
    async fn receive(
        &self,
        request: &scopelink_core::webhook::WebhookRequest,
    ) -> Result<Vec<scopelink_core::webhook::WebhookEvent>, WebhookError> {
        self.receive_callback(request).await
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
