//! The [`OpportunityWriteBack`] capability: one `PATCH` of the opportunity
//! (204 No Content) and the primary contact through
//! `OpportunityContactRole`.

use super::client::SalesforceConnector;
use super::settings::is_record_id;
use super::soql::quote;
use super::wire;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use scopelink_core::connector::{OpportunityUpdate, OpportunityWriteBack};
use scopelink_core::http::Method;
use scopelink_core::ConnectorError;
use serde_json::{json, Map, Value};

/// The role given to a primary contact the connector adds.
pub const PRIMARY_CONTACT_ROLE: &str = "Decision Maker";

fn number(field: &str, d: Decimal) -> Result<Value, ConnectorError> {
    if d.fract().is_zero() {
        if let Some(whole) = d.to_i64() {
            return Ok(Value::Number(whole.into()));
        }
    }
    d.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| ConnectorError::FieldRejected {
            field: field.to_string(),
            code: "NUMBER_OUTSIDE_VALID_RANGE".into(),
            message: format!("{d} cannot be sent as a number"),
        })
}

/// The `PATCH` body of an update: only the fields given. `Probability` and
/// `StageName` go in the same body, so the stage's default probability
/// does not replace the one written.
pub fn patch_body(update: &OpportunityUpdate) -> Result<Map<String, Value>, ConnectorError> {
    let mut body = Map::new();
    if let Some(value) = update.value {
        body.insert("Amount".into(), number("Amount", value)?);
    }
    if let Some(p) = update.probability {
        if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED {
            return Err(ConnectorError::FieldRejected {
                field: "Probability".into(),
                code: "NUMBER_OUTSIDE_VALID_RANGE".into(),
                message: format!("{p} is not a percentage from 0 to 100; nothing was written"),
            });
        }
        body.insert("Probability".into(), number("Probability", p)?);
    }
    if let Some(stage) = update.stage.as_deref().map(str::trim) {
        if stage.is_empty() {
            return Err(ConnectorError::FieldRejected {
                field: "StageName".into(),
                code: "REQUIRED_FIELD_MISSING".into(),
                message: "an empty stage cannot be written; nothing was written".into(),
            });
        }
        body.insert("StageName".into(), Value::String(stage.to_string()));
    }
    if let Some(date) = update.close_date {
        body.insert(
            "CloseDate".into(),
            Value::String(date.format("%Y-%m-%d").to_string()),
        );
    }
    Ok(body)
}

fn check_id(field: &str, id: &str) -> Result<(), ConnectorError> {
    if is_record_id(id) {
        Ok(())
    } else {
        Err(ConnectorError::NotFound {
            what: format!("{field} `{id}` (not a Salesforce record id)"),
        })
    }
}

impl SalesforceConnector {
    /// Makes `contact_id` the primary contact of `opportunity_id`: the
    /// contact's existing role is marked `IsPrimary` (a `PATCH`, skipped
    /// when it already is), or a role is created (`POST`, 201). Salesforce
    /// clears the flag on the opportunity's other roles itself. Running it
    /// again changes nothing, so a write-back that failed halfway is
    /// completed by running it again.
    pub async fn set_primary_contact(
        &self,
        opportunity_id: &str,
        contact_id: &str,
    ) -> Result<(), ConnectorError> {
        check_id("opportunity", opportunity_id)?;
        check_id("contact", contact_id)?;
        let q = format!(
            "SELECT Id, ContactId, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = {}",
            quote(opportunity_id)
        );
        let roles = self
            .query(&q, "reading the opportunity's contact roles")
            .await?;
        let existing = roles
            .records
            .into_iter()
            .filter_map(|r| serde_json::from_value::<wire::ContactRole>(r).ok())
            .find(|r| r.contact_id.as_deref() == Some(contact_id));
        match existing {
            Some(role) if role.is_primary == Some(true) => Ok(()),
            Some(role) => {
                let id = role.id.unwrap_or_default();
                check_id("contact role", &id)?;
                let url = self
                    .api_url(&format!("sobjects/OpportunityContactRole/{id}"))
                    .await?;
                self.send(
                    Method::PATCH,
                    url,
                    Some(&json!({ "IsPrimary": true })),
                    "marking the opportunity's primary contact",
                )
                .await?;
                Ok(())
            }
            None => {
                let url = self.api_url("sobjects/OpportunityContactRole").await?;
                let body = json!({
                    "OpportunityId": opportunity_id,
                    "ContactId": contact_id,
                    "IsPrimary": true,
                    "Role": PRIMARY_CONTACT_ROLE,
                });
                let what = "adding the opportunity's primary contact";
                let resp = self.send(Method::POST, url, Some(&body), what).await?;
                let created: wire::CreateResult = self.decode(&resp, what)?;
                if created.success == Some(false) {
                    return Err(ConnectorError::Rejected {
                        message: format!("{what}: Salesforce answered success=false"),
                    });
                }
                Ok(())
            }
        }
    }
}

#[async_trait::async_trait]
impl OpportunityWriteBack for SalesforceConnector {
    /// `PATCH /sobjects/Opportunity/{id}` with `Amount`, `Probability`,
    /// `StageName` and `CloseDate` as given (one request; 204), then the
    /// primary contact (see [`SalesforceConnector::set_primary_contact`]).
    /// A value Salesforce refuses (a validation rule, a value outside a
    /// restricted picklist) is [`ConnectorError::FieldRejected`] naming the
    /// field; nothing of that request is saved.
    async fn update_opportunity(
        &self,
        external_id: &str,
        update: &OpportunityUpdate,
    ) -> Result<(), ConnectorError> {
        check_id("opportunity", external_id)?;
        let body = patch_body(update)?;
        if let Some(contact) = &update.contact_id {
            check_id("contact", contact)?;
        }
        if !body.is_empty() {
            let url = self
                .api_url(&format!("sobjects/Opportunity/{external_id}"))
                .await?;
            self.send(
                Method::PATCH,
                url,
                Some(&Value::Object(body)),
                "updating the opportunity",
            )
            .await?;
        }
        if let Some(contact) = &update.contact_id {
            self.set_primary_contact(external_id, contact).await?;
        }
        Ok(())
    }
}
