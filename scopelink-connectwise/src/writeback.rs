//! Writing scoping results back to a ConnectWise opportunity.
//!
//! Fields go in one JSON Patch (`PATCH /sales/opportunities/{id}`), each
//! reference replaced whole (`{"op":"replace","path":"stage","value":{"id":4}}`;
//! a `stage/id` path can return a false 200 without applying the change):
//!
//! - close date → `expectedCloseDate` as `YYYY-MM-DDT00:00:00Z`;
//! - stage → `stage`: an id, or a name looked up in `/sales/stages`;
//! - probability → `probability`: the `/sales/probabilities` record whose
//!   percentage equals the requested one (none → rejected, listing the
//!   allowed values);
//! - contact → `contact`.
//!
//! Every lookup runs before anything is written, so a rejected value leaves
//! the opportunity untouched.
//!
//! ConnectWise opportunities have no value field: the value is the total of
//! the opportunity's forecast items. scopelink keeps one forecast item of
//! its own, described [`FORECAST_DESCRIPTION`] (type `Service`), and sets its
//! revenue: the item is patched when it exists
//! (`PATCH /sales/opportunities/{id}/forecast/{itemId}`), created otherwise.
//! `/sales/opportunities/{id}/forecast` takes and returns a whole
//! `Forecast` (the item list plus totals) in ConnectWise's schema, and its
//! GET answers a list of them; so the item is created by posting a
//! `Forecast` whose `forecastItems` hold only the new item (with the
//! opportunity and its status, which a forecast item requires). Other
//! forecast items are left alone, so the opportunity total is scopelink's
//! estimate plus whatever else the salesperson forecast.

use crate::client::ConnectWiseConnector;
use crate::push::{id_ref, number, parse_id, IdRef};
use crate::wire::{Forecast, IdName, Opportunity, Probability};
use async_trait::async_trait;
use rust_decimal::Decimal;
use scopelink_core::connector::{OpportunityUpdate, OpportunityWriteBack};
use scopelink_core::error::ConnectorError;
use scopelink_core::http::Method;
use serde::Serialize;

/// The description of the forecast item that carries scopelink's value.
pub const FORECAST_DESCRIPTION: &str = "scopelink estimate";

/// One JSON Patch operation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PatchOperation {
    /// `replace`.
    pub op: &'static str,
    /// The field (no leading slash, case-sensitive).
    pub path: &'static str,
    /// The new value.
    pub value: serde_json::Value,
}

impl PatchOperation {
    fn replace(path: &'static str, value: serde_json::Value) -> Self {
        Self {
            op: "replace",
            path,
            value,
        }
    }
}

/// The body of `POST /sales/opportunities/{id}/forecast`: a `Forecast`
/// carrying the items to create.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewForecast {
    forecast_items: [NewForecastItem; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewForecastItem {
    forecast_type: &'static str,
    forecast_description: &'static str,
    revenue: f64,
    cost: f64,
    quantity: u32,
    include_flag: bool,
    status: IdRef,
    opportunity: IdRef,
}

fn reject(message: impl Into<String>) -> ConnectorError {
    ConnectorError::Rejected {
        message: message.into(),
    }
}

fn id_value(id: i64) -> serde_json::Value {
    serde_json::json!({ "id": id })
}

impl ConnectWiseConnector {
    /// The stage id for an id or a (case-insensitive) name.
    async fn resolve_stage(&self, stage: &str) -> Result<i64, ConnectorError> {
        let stage = stage.trim();
        if let Some(id) = parse_id(stage) {
            return Ok(id);
        }
        let stages: Vec<IdName> = self
            .get_all(
                "sales/stages",
                vec![("orderBy".into(), "id asc".into())],
                "listing opportunity stages",
            )
            .await?;
        stages
            .iter()
            .find(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case(stage))
            })
            .and_then(|s| s.id)
            .ok_or_else(|| {
                let names: Vec<&str> = stages.iter().filter_map(|s| s.name.as_deref()).collect();
                reject(format!(
                    "ConnectWise has no opportunity stage named `{stage}`; the stages are: {}",
                    names.join(", ")
                ))
            })
    }

    /// The probability record id for a percentage.
    async fn resolve_probability(&self, percent: Decimal) -> Result<i64, ConnectorError> {
        let records: Vec<Probability> = self
            .get_all(
                "sales/probabilities",
                vec![("orderBy".into(), "id asc".into())],
                "listing opportunity probabilities",
            )
            .await?;
        let wanted = percent.normalize();
        records
            .iter()
            .find(|r| r.probability.is_some_and(|p| p.normalize() == wanted))
            .and_then(|r| r.id)
            .ok_or_else(|| {
                let mut allowed: Vec<Decimal> = records
                    .iter()
                    .filter(|r| r.id.is_some())
                    .filter_map(|r| r.probability.map(|p| p.normalize()))
                    .collect();
                allowed.sort();
                allowed.dedup();
                let allowed: Vec<String> = allowed.iter().map(|p| format!("{p}%")).collect();
                reject(format!(
                    "ConnectWise has no {wanted}% probability; the allowed values are: {}",
                    allowed.join(", ")
                ))
            })
    }

    /// The JSON Patch for `update` (every lookup done, nothing written).
    pub async fn opportunity_patch(
        &self,
        update: &OpportunityUpdate,
    ) -> Result<Vec<PatchOperation>, ConnectorError> {
        let mut ops = Vec::new();
        if let Some(date) = update.close_date {
            ops.push(PatchOperation::replace(
                "expectedCloseDate",
                serde_json::Value::String(format!("{}T00:00:00Z", date.format("%Y-%m-%d"))),
            ));
        }
        if let Some(stage) = update.stage.as_deref() {
            if stage.trim().is_empty() {
                return Err(reject("the stage is empty"));
            }
            ops.push(PatchOperation::replace(
                "stage",
                id_value(self.resolve_stage(stage).await?),
            ));
        }
        if let Some(p) = update.probability {
            if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED {
                return Err(reject(format!(
                    "a probability is a percentage from 0 to 100, not {p}"
                )));
            }
            ops.push(PatchOperation::replace(
                "probability",
                id_value(self.resolve_probability(p).await?),
            ));
        }
        if let Some(contact) = update.contact_id.as_deref() {
            let id = parse_id(contact)
                .ok_or_else(|| reject(format!("`{contact}` is not a ConnectWise contact id")))?;
            ops.push(PatchOperation::replace("contact", id_value(id)));
        }
        Ok(ops)
    }

    /// Sets the revenue of scopelink's forecast item (see the module docs).
    async fn write_value(&self, opportunity: i64, value: Decimal) -> Result<(), ConnectorError> {
        let revenue =
            number(value).ok_or_else(|| reject(format!("{value} is not a usable amount")))?;
        let opp = opportunity.to_string();
        let forecast_url = || {
            let mut url = self.record_url("sales/opportunities", &opp);
            if let Ok(mut s) = url.path_segments_mut() {
                s.push("forecast");
            }
            url
        };
        let raw = match self
            .get_json::<serde_json::Value>(forecast_url(), "reading the opportunity forecast")
            .await
        {
            Ok(raw) => raw,
            // No forecast yet; a missing opportunity shows up below.
            Err(ConnectorError::NotFound { .. }) => serde_json::Value::Null,
            Err(e) => return Err(e),
        };
        // The spec types the answer as a list of forecasts; servers send one.
        let forecast: Forecast = match raw {
            serde_json::Value::Array(mut list) if !list.is_empty() => {
                serde_json::from_value(list.swap_remove(0)).unwrap_or_default()
            }
            v @ serde_json::Value::Object(_) => serde_json::from_value(v).unwrap_or_default(),
            _ => Forecast::default(),
        };
        let ours = forecast
            .forecast_items
            .unwrap_or_default()
            .into_iter()
            .find(|i| {
                i.id.is_some()
                    && i.description
                        .as_deref()
                        .is_some_and(|d| d.trim().eq_ignore_ascii_case(FORECAST_DESCRIPTION))
            });
        if let Some(item) = ours.and_then(|i| i.id) {
            let mut url = forecast_url();
            if let Ok(mut s) = url.path_segments_mut() {
                s.push(&item.to_string());
            }
            let ops = [PatchOperation::replace(
                "revenue",
                serde_json::json!(revenue),
            )];
            let _: serde_json::Value = self
                .send_json(Method::PATCH, url, &ops, true, "updating the forecast item")
                .await?;
            return Ok(());
        }
        let record: Opportunity = self
            .get_json(
                self.record_url("sales/opportunities", &opp),
                &format!("reading opportunity {opp}"),
            )
            .await?;
        let status = record.status.as_ref().and_then(id_ref).ok_or_else(|| {
            reject(format!(
                "opportunity {opp} has no status, which a forecast item needs"
            ))
        })?;
        let body = NewForecast {
            forecast_items: [NewForecastItem {
                forecast_type: "Service",
                forecast_description: FORECAST_DESCRIPTION,
                revenue,
                cost: 0.0,
                quantity: 1,
                include_flag: true,
                status,
                opportunity: IdRef { id: opportunity },
            }],
        };
        // The answer is the whole Forecast; nothing in it is needed.
        let _: serde_json::Value = self
            .send_json(
                Method::POST,
                forecast_url(),
                &body,
                false,
                "adding a forecast item",
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl OpportunityWriteBack for ConnectWiseConnector {
    async fn update_opportunity(
        &self,
        external_id: &str,
        update: &OpportunityUpdate,
    ) -> Result<(), ConnectorError> {
        if update.is_empty() {
            return Err(reject("nothing to write"));
        }
        let id = parse_id(external_id).ok_or_else(|| ConnectorError::NotFound {
            what: format!("opportunity `{external_id}`"),
        })?;
        if let Some(v) = update.value {
            if v < Decimal::ZERO {
                return Err(reject(format!("the value {v} is negative")));
            }
        }
        let ops = self.opportunity_patch(update).await?;
        if !ops.is_empty() {
            // Replacing fields is idempotent, so a retry after a lost answer is safe.
            let _: serde_json::Value = self
                .send_json(
                    Method::PATCH,
                    self.record_url("sales/opportunities", &id.to_string()),
                    &ops,
                    true,
                    &format!("updating opportunity {id}"),
                )
                .await?;
        }
        if let Some(value) = update.value {
            self.write_value(id, value).await?;
        }
        Ok(())
    }
}
