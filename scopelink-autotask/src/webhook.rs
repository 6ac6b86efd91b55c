//! Webhooks: registering company and contact webhooks with the fields to
//! watch, verifying each callout's signature, and turning callouts into the
//! core's events.
//!
//! Autotask signs a callout with `X-Hook-Signature: sha1=<base64>`, the
//! base64 of HMAC-SHA1 over the raw body bytes, keyed with the webhook's
//! `secretKey`. The signature is checked over the bytes as received (in
//! constant time) before the body is parsed: a forged, unsigned or altered
//! callout is refused. Each event carries the webhook GUID and the
//! callout's `SequenceNumber` as its id, so the sync engine applies a
//! redelivered or replayed callout once. A callout carries only the fields
//! subscribed to, so the engine reads the whole record from Autotask.

use crate::client::AutotaskConnector;
use crate::wire::Callout;
use scopelink_core::connector::WebhookReceiver;
use scopelink_core::error::{ConnectorError, WebhookError};
use scopelink_core::model::DataType;
use scopelink_core::webhook::{
    verify_hmac, HmacAlgorithm, SignatureEncoding, WebhookAction, WebhookEvent, WebhookRequest,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

/// The header holding a callout's signature.
pub const SIGNATURE_HEADER: &str = "X-Hook-Signature";

/// The longest webhook secret key Autotask stores (`secretKey`), in
/// characters.
pub const MAX_SECRET_KEY_CHARS: usize = 64;

/// The entities scopelink registers webhooks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookEntity {
    /// Companies (`CompanyWebhooks`).
    Company,
    /// Contacts (`ContactWebhooks`).
    Contact,
}

impl WebhookEntity {
    /// The webhook entity's endpoint (`CompanyWebhooks`).
    pub fn endpoint(self) -> &'static str {
        match self {
            WebhookEntity::Company => "CompanyWebhooks",
            WebhookEntity::Contact => "ContactWebhooks",
        }
    }

    /// The endpoint of its fields' metadata (`CompanyWebhookFields`).
    fn fields_endpoint(self) -> &'static str {
        match self {
            WebhookEntity::Company => "CompanyWebhookFields",
            WebhookEntity::Contact => "ContactWebhookFields",
        }
    }

    /// The fields watched by default: those a synced record holds.
    pub fn default_fields(self) -> &'static [&'static str] {
        match self {
            WebhookEntity::Company => &[
                "companyName",
                "companyNumber",
                "companyType",
                "isActive",
                "territoryID",
                "marketSegmentID",
                "phone",
                "webAddress",
            ],
            WebhookEntity::Contact => &[
                "companyID",
                "firstName",
                "lastName",
                "title",
                "emailAddress",
                "phone",
            ],
        }
    }
}

/// A webhook to register.
#[derive(Debug, Clone)]
pub struct WebhookRegistration {
    /// The webhook's name (at most 50 characters).
    pub name: String,
    /// The host's HTTPS endpoint that receives callouts.
    pub url: String,
    /// The endpoint Autotask calls when it deactivates the webhook.
    pub deactivation_url: String,
    /// The key callouts are signed with (at most 64 characters).
    pub secret_key: SecretString,
    /// The REST names of the fields to watch (`companyName`); empty for
    /// [`WebhookEntity::default_fields`].
    pub fields: Vec<String>,
}

/// A registered webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredWebhook {
    /// The webhook's id.
    pub id: i64,
    /// The fields' ids (`fieldID`) subscribed.
    pub field_ids: Vec<i64>,
}

/// `name` reduced for comparing a REST field name with a label
/// (`companyName` ~ `Company Name`).
fn squash(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl AutotaskConnector {
    /// Registers a webhook for `entity`: `POST {Entity}Webhooks` (active,
    /// create, update and delete events, signed with the secret key), then
    /// one `POST {Entity}Webhooks/{id}/Fields` per watched field, its
    /// `fieldID` read from the `fieldID` picklist of
    /// `{Entity}WebhookFields/entityInformation/fields`. The fields are
    /// added one after another (Autotask refuses parallel field creates
    /// past its thread limit).
    pub async fn register_webhook(
        &self,
        entity: WebhookEntity,
        registration: &WebhookRegistration,
    ) -> Result<RegisteredWebhook, ConnectorError> {
        let secret = registration.secret_key.expose_secret();
        if secret.is_empty() || secret.chars().count() > MAX_SECRET_KEY_CHARS {
            return Err(ConnectorError::InvalidConfig {
                field: "secret_key",
                message: format!(
                    "the webhook secret key must have 1 to {MAX_SECRET_KEY_CHARS} characters"
                ),
            });
        }
        let url = self
            .http()
            .validate_url(registration.url.trim())
            .map_err(|e| ConnectorError::InvalidConfig {
                field: "webhook_url",
                message: format!("{e}; enter the HTTPS address Autotask should call"),
            })?;
        let deactivation = self
            .http()
            .validate_url(registration.deactivation_url.trim())
            .map_err(|e| ConnectorError::InvalidConfig {
                field: "deactivation_url",
                message: format!(
                    "{e}; enter the HTTPS address Autotask calls when it deactivates the webhook"
                ),
            })?;
        let names: Vec<String> = if registration.fields.is_empty() {
            entity
                .default_fields()
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            registration.fields.clone()
        };
        let lists = self.picklists(entity.fields_endpoint()).await?;
        let mut field_ids = Vec::with_capacity(names.len());
        for name in &names {
            let id = lists
                .entries("fieldID")
                .iter()
                .find(|e| e.value == name.trim() || squash(&e.label) == squash(name))
                .and_then(|e| scopelink_core::wire::text_id(&e.value))
                .ok_or_else(|| ConnectorError::InvalidConfig {
                    field: "fields",
                    message: format!(
                        "Autotask offers no webhook field `{name}` for {}; choose among its fieldID picklist",
                        entity.endpoint()
                    ),
                })?;
            field_ids.push(id);
        }
        let body = json!({
            "name": registration.name.trim().chars().take(50).collect::<String>(),
            "webhookUrl": url.as_str(),
            "deactivationUrl": deactivation.as_str(),
            "secretKey": secret,
            "isActive": true,
            "isSubscribedToCreateEvents": true,
            "isSubscribedToUpdateEvents": true,
            "isSubscribedToDeleteEvents": true,
            "sendThresholdExceededNotification": true,
        });
        let endpoint = entity.endpoint();
        let id = self
            .create(
                &[endpoint],
                &body,
                &format!("registering a webhook (POST {endpoint})"),
            )
            .await?;
        for field in &field_ids {
            let body = json!({
                "webhookID": id,
                "fieldID": field,
                "isSubscribedField": true,
                "isDisplayAlwaysField": false,
            });
            self.create(
                &[endpoint, &id.to_string(), "Fields"],
                &body,
                &format!("subscribing a webhook field (POST {endpoint}/{{id}}/Fields)"),
            )
            .await?;
        }
        Ok(RegisteredWebhook { id, field_ids })
    }

    /// A receiver that verifies callouts signed with `secret_key`.
    pub fn webhook_receiver(&self, secret_key: SecretString) -> AutotaskWebhookReceiver {
        AutotaskWebhookReceiver::new(secret_key)
    }
}

/// Checks `X-Hook-Signature` (`sha1=<base64>`) against the HMAC-SHA1 of
/// `body` under `secret_key`, in constant time.
pub fn verify_signature(
    secret_key: &SecretString,
    body: &[u8],
    header: &str,
) -> Result<(), WebhookError> {
    let header = header.trim();
    let signature = match header.split_once('=') {
        Some((scheme, sig)) if scheme.trim().eq_ignore_ascii_case("sha1") => sig,
        _ => return Err(WebhookError::BadSignature),
    };
    verify_hmac(
        HmacAlgorithm::Sha1,
        secret_key.expose_secret().as_bytes(),
        body,
        signature,
        SignatureEncoding::Base64,
    )
}

/// The data type of a callout's `EntityType`.
fn data_type(entity: &str) -> Option<DataType> {
    Some(match entity.trim().to_ascii_lowercase().as_str() {
        "company" | "account" => DataType::Companies,
        "contact" => DataType::Contacts,
        "configurationitem" | "installedproduct" => DataType::Configurations,
        _ => return None,
    })
}

/// The events of a callout body (already verified): none for a
/// `Deactivated` notice or an entity scopelink does not sync.
pub fn events_from_payload(body: &[u8]) -> Result<Vec<WebhookEvent>, WebhookError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Malformed(format!("the body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(WebhookError::Malformed(
            "the body is not a JSON object".into(),
        ));
    }
    let callout: Callout =
        serde_json::from_value(value).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let action = callout.action.as_deref().map(str::trim).unwrap_or_default();
    let action = match action.to_ascii_lowercase().as_str() {
        "create" => WebhookAction::Added,
        "update" => WebhookAction::Updated,
        "delete" => WebhookAction::Deleted,
        "deactivated" => return Ok(Vec::new()),
        "" => return Err(WebhookError::Malformed("the callout has no Action".into())),
        other => {
            return Err(WebhookError::Malformed(format!(
                "unknown Action `{}`",
                other.chars().take(40).collect::<String>()
            )))
        }
    };
    let Some(entity) = callout.entity_type.as_deref() else {
        return Err(WebhookError::Malformed(
            "the callout has no EntityType".into(),
        ));
    };
    let Some(data_type) = data_type(entity) else {
        return Ok(Vec::new());
    };
    let id = callout
        .id
        .filter(|i| *i > 0)
        .ok_or_else(|| WebhookError::Malformed("the callout has no entity Id".into()))?;
    let event_id = match (callout.guid.as_deref(), callout.sequence_number) {
        (Some(guid), Some(seq)) if !guid.trim().is_empty() => {
            Some(format!("{}:{seq}", guid.trim()))
        }
        _ => None,
    };
    Ok(vec![WebhookEvent {
        data_type,
        external_id: id.to_string(),
        action,
        record: None,
        event_id,
    }])
}

/// Verifies and parses Autotask callouts signed with one webhook's secret
/// key. The key never shows in `Debug`.
#[derive(Clone)]
pub struct AutotaskWebhookReceiver {
    secret_key: SecretString,
}

impl std::fmt::Debug for AutotaskWebhookReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutotaskWebhookReceiver")
            .finish_non_exhaustive()
    }
}

impl AutotaskWebhookReceiver {
    /// A receiver for callouts signed with `secret_key`.
    pub fn new(secret_key: SecretString) -> Self {
        Self { secret_key }
    }
}

#[scopelink_core::async_trait]
impl WebhookReceiver for AutotaskWebhookReceiver {
    /// Refuses a callout without [`SIGNATURE_HEADER`]
    /// ([`WebhookError::MissingSignature`]) or whose signature does not
    /// match its raw body ([`WebhookError::BadSignature`]), then parses it.
    async fn receive(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>, WebhookError> {
        let header = request.require_header(SIGNATURE_HEADER)?;
        verify_signature(&self.secret_key, &request.body, header)?;
        events_from_payload(&request.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"Action":"Update","Guid":"7c1e4b2a-93d5-4f08-b6a1-0e5d2c9f8a31","EntityType":"Company","Id":29684107,"Fields":{"companyName":"Harbor \u0026 Pine Outfitters","companyType":1,"isActive":true,"territoryID":29683458},"EventTime":"2026-03-04T15:22:07Z","SequenceNumber":42,"PersonID":29682885}"#;

    #[test]
    fn the_documented_signature_verifies_over_the_raw_body() {
        // The api-notes sample callout (secret, raw body, header).
        let key = SecretString::from("q7V2mRx9LpT4");
        verify_signature(&key, BODY.as_bytes(), "sha1=i9PFoOOy/3cbzMUaPEO/HjR8UqI=").unwrap();
        // Re-serialised (the & unescaped), the same content no longer verifies.
        let altered = BODY.replace("\\u0026", "&");
        assert_eq!(
            verify_signature(
                &key,
                altered.as_bytes(),
                "sha1=i9PFoOOy/3cbzMUaPEO/HjR8UqI="
            ),
            Err(WebhookError::BadSignature)
        );
        for bad in [
            "",
            "i9PFoOOy/3cbzMUaPEO/HjR8UqI=",
            "sha256=i9PFoOOy/3cbzMUaPEO/HjR8UqI=",
            "sha1=@@",
        ] {
            assert_eq!(
                verify_signature(&key, BODY.as_bytes(), bad),
                Err(WebhookError::BadSignature),
                "{bad}"
            );
        }
    }

    #[test]
    fn callouts_become_events() {
        let events = events_from_payload(BODY.as_bytes()).unwrap();
        assert_eq!(
            events,
            vec![WebhookEvent {
                data_type: DataType::Companies,
                external_id: "29684107".into(),
                action: WebhookAction::Updated,
                record: None,
                event_id: Some("7c1e4b2a-93d5-4f08-b6a1-0e5d2c9f8a31:42".into()),
            }]
        );
        let deleted = events_from_payload(
            br#"{"Action":"Delete","Guid":"g","EntityType":"Contact","Id":5,"SequenceNumber":1}"#,
        )
        .unwrap();
        assert_eq!(deleted[0].action, WebhookAction::Deleted);
        assert_eq!(deleted[0].data_type, DataType::Contacts);
        assert!(events_from_payload(br#"{"Action":"Deactivated"}"#)
            .unwrap()
            .is_empty());
        assert!(
            events_from_payload(br#"{"Action":"Create","EntityType":"Ticket","Id":9}"#)
                .unwrap()
                .is_empty()
        );
        for bad in [
            &b"[]"[..],
            b"nope",
            br#"{"Action":"Explode","EntityType":"Company","Id":1}"#,
            br#"{"Action":"Create","EntityType":"Company"}"#,
        ] {
            assert!(matches!(
                events_from_payload(bad),
                Err(WebhookError::Malformed(_))
            ));
        }
    }
}
