//! The [`OpportunityWriteBack`] capability: one `PATCH Opportunities` per
//! update, the opportunity's id in the body (Autotask's partial update:
//! only the fields sent change).

use crate::client::AutotaskConnector;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use scopelink_core::connector::{OpportunityUpdate, OpportunityWriteBack};
use scopelink_core::error::ConnectorError;
use scopelink_core::http::Method;
use serde_json::{json, Map, Value};

fn number(d: Decimal) -> Value {
    d.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn bad(field: &'static str, message: String) -> ConnectorError {
    ConnectorError::InvalidConfig { field, message }
}

impl AutotaskConnector {
    /// The PATCH body of `update` for opportunity `id`: `id`, and `amount`,
    /// `probability` (a whole percent), `stage` (a picklist value, from a
    /// value or a label), `projectedCloseDate`, `contactID` for the fields
    /// set.
    pub(crate) async fn opportunity_patch(
        &self,
        id: i64,
        update: &OpportunityUpdate,
    ) -> Result<Value, ConnectorError> {
        let mut body = Map::new();
        body.insert("id".into(), json!(id));
        if let Some(value) = update.value {
            if value < Decimal::ZERO {
                return Err(bad("value", format!("the amount {value} is negative")));
            }
            body.insert("amount".into(), number(value));
        }
        if let Some(p) = update.probability {
            if p < Decimal::ZERO || p > Decimal::from(100) {
                return Err(bad(
                    "probability",
                    format!("the probability {p} is not a percentage from 0 to 100"),
                ));
            }
            body.insert("probability".into(), json!(p.round().to_i64().unwrap_or(0)));
        }
        if let Some(stage) = update.stage.as_deref() {
            let lists = self.picklists("Opportunities").await?;
            let value = lists
                .value_of("stage", stage)
                .or_else(|| scopelink_core::wire::text_id(stage).map(|n| n.to_string()))
                .ok_or_else(|| {
                    bad(
                        "stage",
                        format!(
                            "Autotask has no opportunity stage `{stage}`; choose one of its stages"
                        ),
                    )
                })?;
            let value =
                scopelink_core::wire::text_id(&value).map_or(Value::String(value), |n| json!(n));
            body.insert("stage".into(), value);
        }
        if let Some(date) = update.close_date {
            body.insert(
                "projectedCloseDate".into(),
                Value::String(format!("{}T00:00:00Z", date.format("%Y-%m-%d"))),
            );
        }
        if let Some(contact) = update.contact_id.as_deref() {
            let contact = scopelink_core::wire::text_id(contact)
                .filter(|c| *c > 0)
                .ok_or_else(|| {
                    bad(
                        "contact_id",
                        format!("`{contact}` is not an Autotask contact id"),
                    )
                })?;
            body.insert("contactID".into(), json!(contact));
        }
        Ok(Value::Object(body))
    }
}

#[scopelink_core::async_trait]
impl OpportunityWriteBack for AutotaskConnector {
    /// `PATCH Opportunities` with the id and the fields set; nothing is
    /// sent when no field is set. A PATCH sets the same values when
    /// repeated, so it is resent after a failure where the answer was lost.
    async fn update_opportunity(
        &self,
        external_id: &str,
        update: &OpportunityUpdate,
    ) -> Result<(), ConnectorError> {
        let id = scopelink_core::wire::text_id(external_id)
            .filter(|id| *id > 0)
            .ok_or_else(|| ConnectorError::NotFound {
                what: format!("opportunity `{external_id}` (not an Autotask id)"),
            })?;
        if update.is_empty() {
            return Ok(());
        }
        let body = self.opportunity_patch(id, update).await?;
        let what = format!("updating opportunity {id} (PATCH Opportunities)");
        let _: crate::wire::WriteReply = self
            .send_json(
                Method::PATCH,
                self.endpoint(&["Opportunities"]),
                &body,
                true,
                &what,
            )
            .await?;
        Ok(())
    }
}
