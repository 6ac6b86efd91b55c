//! Real-time changes from Salesforce: Outbound Message receipt.
//!
//! What Salesforce offers, and why this connector receives Outbound
//! Messages:
//!
//! - **Outbound Messages** (a workflow rule or flow action): a SOAP
//!   `notifications` POST to an https endpoint with the org id, the
//!   action id, an optional session id and up to 100 `Notification`s (an id
//!   and the record's chosen fields). **There is no signature (no HMAC)**:
//!   a listener checks that the organization id is its org's and that the
//!   action is the one it was given, serves https only, and may restrict
//!   callers to Salesforce's published IP ranges or use the action's
//!   client certificate (mutual TLS) at the host's web server. Salesforce
//!   resends a message until it is answered with `<Ack>true</Ack>`, for up
//!   to 24 hours, and may deliver one more than once.
//! - **Change Data Capture** (`AccountChangeEvent`, ...) needs a streaming
//!   client: the Pub/Sub API (gRPC, Avro) or CometD long polling on
//!   `/cometd/`. Neither fits a request/response webhook receiver; a host
//!   that wants it runs a subscriber and feeds its events to the engine.
//! - **Polling**: the incremental sync (`SystemModstamp`) plus
//!   [`super::SalesforceConnector::deleted_since`] catch everything,
//!   whichever way records changed; it is the default, and Outbound
//!   Messages make it faster.
//!
//! [`OutboundMessages`] checks and parses a message into events with no
//! record, so the engine reads each record's current copy (fields an admin
//! chose for the message are not trusted to be complete), and
//! [`ACK_RESPONSE`] is the reply. The session id a message may carry is
//! never read, logged or used.

use super::settings::is_record_id;
use scopelink_core::connector::WebhookReceiver;
use scopelink_core::model::DataType;
use scopelink_core::webhook::{constant_time_eq, WebhookAction, WebhookEvent, WebhookRequest};
use scopelink_core::WebhookError;

/// The namespace of the `notifications` element.
pub const OUTBOUND_NAMESPACE: &str = "http://soap.sforce.com/2005/09/outbound";

/// Notifications one message may hold.
pub const MAX_NOTIFICATIONS: usize = 100;

/// The largest message read, in bytes (100 notifications of a few dozen
/// fields are well under 1 MiB).
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024 * 1024;

/// The reply that acknowledges a message (HTTP 200, `text/xml`): without
/// it Salesforce sends the message again.
pub const ACK_RESPONSE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><notificationsResponse xmlns=\"http://soap.sforce.com/2005/09/outbound\"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>";

/// The receiver of one connection's Outbound Messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessages {
    organization_id: String,
    action_id: Option<String>,
}

/// The first 15 characters of an id: the case-sensitive part (the 18
/// character form adds a case-insensitive checksum).
fn id15(id: &str) -> &str {
    id.get(..15).unwrap_or(id)
}

fn malformed(reason: impl Into<String>) -> WebhookError {
    WebhookError::Malformed(reason.into())
}

impl OutboundMessages {
    /// Accepts messages of org `organization_id` (`00D...`, 15 or 18
    /// characters) and, when given, only of action `action_id` (`04k...`).
    /// `None` when an id is not a Salesforce id.
    pub fn new(organization_id: &str, action_id: Option<&str>) -> Option<Self> {
        let organization_id = organization_id.trim();
        let action_id = action_id.map(str::trim).filter(|a| !a.is_empty());
        if !is_record_id(organization_id) || action_id.is_some_and(|a| !is_record_id(a)) {
            return None;
        }
        Some(Self {
            organization_id: organization_id.to_string(),
            action_id: action_id.map(str::to_string),
        })
    }

    /// Checks and parses one message: well-formed XML without a DTD, a
    /// `notifications` element in the outbound namespace, this org's id,
    /// the expected action, at most [`MAX_NOTIFICATIONS`] notifications of
    /// Accounts, Contacts or Opportunities with Salesforce ids. One
    /// [`WebhookAction::Updated`] event per notification, its event id the
    /// notification id (the same on every redelivery).
    pub fn parse(&self, body: &[u8]) -> Result<Vec<WebhookEvent>, WebhookError> {
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(malformed(format!(
                "the message is larger than {MAX_MESSAGE_BYTES} bytes"
            )));
        }
        let text = std::str::from_utf8(body).map_err(|_| malformed("the message is not UTF-8"))?;
        let doc = roxmltree::Document::parse(text)
            .map_err(|e| malformed(format!("the message is not well-formed XML: {e}")))?;
        let notifications = doc
            .descendants()
            .find(|n| n.has_tag_name((OUTBOUND_NAMESPACE, "notifications")))
            .ok_or_else(|| malformed("no Outbound Message `notifications` element"))?;
        let child_text = |name: &str| {
            notifications
                .children()
                .find(|n| n.has_tag_name((OUTBOUND_NAMESPACE, name)))
                .and_then(|n| n.text())
                .map(str::trim)
                .unwrap_or_default()
        };
        let org = child_text("OrganizationId");
        if !constant_time_eq(id15(org).as_bytes(), id15(&self.organization_id).as_bytes()) {
            return Err(WebhookError::NotForThisConnection {
                reason: format!(
                    "the message is from organization `{}`, not this connection's `{}`",
                    id15(org),
                    id15(&self.organization_id)
                ),
            });
        }
        let action = child_text("ActionId");
        if let Some(expected) = &self.action_id {
            if id15(action) != id15(expected) {
                return Err(WebhookError::NotForThisConnection {
                    reason: format!(
                        "the message comes from action `{}`, not the configured `{}`",
                        id15(action),
                        id15(expected)
                    ),
                });
            }
        }
        let items: Vec<_> = notifications
            .children()
            .filter(|n| n.has_tag_name((OUTBOUND_NAMESPACE, "Notification")))
            .collect();
        if items.len() > MAX_NOTIFICATIONS {
            return Err(malformed(format!(
                "{} notifications in one message; Salesforce sends at most {MAX_NOTIFICATIONS}",
                items.len()
            )));
        }
        items
            .into_iter()
            .map(|item| {
                let notification_id = item
                    .children()
                    .find(|n| n.has_tag_name((OUTBOUND_NAMESPACE, "Id")))
                    .and_then(|n| n.text())
                    .map(str::trim)
                    .filter(|id| is_record_id(id))
                    .ok_or_else(|| malformed("a notification has no valid Id"))?;
                let sobject = item
                    .children()
                    .find(|n| n.has_tag_name((OUTBOUND_NAMESPACE, "sObject")))
                    .ok_or_else(|| malformed("a notification has no sObject"))?;
                let kind = sobject
                    .attributes()
                    .find(|a| a.name() == "type")
                    .map(|a| a.value())
                    .unwrap_or_default();
                let object = kind.rsplit(':').next().unwrap_or_default();
                let data_type = match object {
                    "Account" => DataType::Companies,
                    "Contact" => DataType::Contacts,
                    "Opportunity" => DataType::Opportunities,
                    other => {
                        return Err(malformed(format!(
                            "a notification of `{}` records, which are not synced",
                            other.chars().take(40).collect::<String>()
                        )))
                    }
                };
                let record_id = sobject
                    .children()
                    .find(|n| n.tag_name().name() == "Id")
                    .and_then(|n| n.text())
                    .map(str::trim)
                    .filter(|id| is_record_id(id))
                    .ok_or_else(|| malformed("a notification's sObject has no valid Id"))?;
                Ok(WebhookEvent {
                    data_type,
                    external_id: record_id.to_string(),
                    action: WebhookAction::Updated,
                    record: None,
                    event_id: Some(format!("outbound:{notification_id}")),
                })
            })
            .collect()
    }
}

impl super::SalesforceConnector {
    /// The receiver of this connection's Outbound Messages: its org (from
    /// the identity URL recorded at sign-in) and, when set,
    /// `outbound_action_id`. [`scopelink_core::ConnectorError::InvalidConfig`]
    /// when the org is unknown (connect again) or the action id is not a
    /// Salesforce id.
    pub fn outbound_messages(&self) -> Result<OutboundMessages, scopelink_core::ConnectorError> {
        let settings = self.settings();
        let org = settings.organization_id().ok_or_else(|| {
            scopelink_core::ConnectorError::InvalidConfig {
                field: super::SalesforceSettings::IDENTITY_URL,
                message: "the connection's organization is not known; connect it through Salesforce sign-in again".into(),
            }
        })?;
        OutboundMessages::new(&org, settings.outbound_action_id.as_deref()).ok_or_else(|| {
            scopelink_core::ConnectorError::InvalidConfig {
                field: "outbound_action_id",
                message: "not a Salesforce id; copy the id (04k...) of the outbound message action from Setup > Outbound Messages".into(),
            }
        })
    }
}

#[async_trait::async_trait]
impl WebhookReceiver for OutboundMessages {
    /// [`OutboundMessages::parse`] of the request's body. Answer a success
    /// with HTTP 200 and [`ACK_RESPONSE`]; an error with
    /// [`WebhookError::response_status`] (Salesforce then retries, which
    /// is right for a message that could not be applied yet).
    async fn receive(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>, WebhookError> {
        self.parse(&request.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "00D5g000004SimOEAS";

    fn message(org: &str, action: &str, object: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{org}</OrganizationId>
   <ActionId>{action}</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D5g000004SimO</EnterpriseUrl>
   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D5g000004SimO</PartnerUrl>
   <Notification>
    <Id>04l5g0000000001AAA</Id>
    <sObject xsi:type="sf:{object}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>0015g00000QxYzAAAV</sf:Id>
     <sf:Name>O&apos;Brien &amp; Sons</sf:Name>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>"#
        )
    }

    #[test]
    fn outbound_messages_of_this_org_and_action_become_events() {
        let r = OutboundMessages::new(ORG, Some("04k5g000000AbCdAAA")).unwrap();
        let events = r
            .parse(message(ORG, "04k5g000000AbCdAAA", "Account").as_bytes())
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data_type, DataType::Companies);
        assert_eq!(events[0].external_id, "0015g00000QxYzAAAV");
        assert_eq!(
            events[0].event_id.as_deref(),
            Some("outbound:04l5g0000000001AAA")
        );
        assert!(ACK_RESPONSE.contains("<Ack>true</Ack>"));
    }

    #[test]
    fn outbound_messages_of_another_org_or_action_are_refused() {
        let r = OutboundMessages::new(ORG, Some("04k5g000000AbCdAAA")).unwrap();
        let other_org = r
            .parse(message("00D5g000009OtherAAA", "04k5g000000AbCdAAA", "Account").as_bytes())
            .unwrap_err();
        assert!(
            matches!(other_org, WebhookError::NotForThisConnection { .. }),
            "{other_org}"
        );
        assert_eq!(other_org.response_status(), 403);
        let other_action = r
            .parse(message(ORG, "04k5g000000ZzZzAAA", "Account").as_bytes())
            .unwrap_err();
        assert!(matches!(
            other_action,
            WebhookError::NotForThisConnection { .. }
        ));
        // The 15-character form of the org id matches its 18-character form.
        let short = OutboundMessages::new(&ORG[..15], None).unwrap();
        assert!(short
            .parse(message(ORG, "04k5g000000ZzZzAAA", "Contact").as_bytes())
            .is_ok());
    }

    #[test]
    fn outbound_messages_that_are_not_messages_are_malformed() {
        let r = OutboundMessages::new(ORG, None).unwrap();
        let dtd = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]>{}",
            message(ORG, "04k5g000000AbCdAAA", "Account")
                .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        );
        for body in [
            "not xml".to_string(),
            "<a/>".to_string(),
            dtd,
            message(ORG, "04k5g000000AbCdAAA", "User"),
        ] {
            let err = r.parse(body.as_bytes()).unwrap_err();
            assert!(matches!(err, WebhookError::Malformed(_)), "{err}");
            assert_eq!(err.response_status(), 400);
        }
        assert!(OutboundMessages::new("not-an-org", None).is_none());
    }
}
