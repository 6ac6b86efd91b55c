//! Serde types of Salesforce's REST JSON, tolerant of unknown and null
//! fields (every field is optional; numbers and flags are read leniently).
//!
//! Shapes: the REST API Developer Guide (query, describe, limits,
//! versions, sObject rows, getDeleted) and the samples in the API notes
//! (`salesforce_*.json`).

use rust_decimal::Decimal;
use scopelink_core::wire::{lenient_bool, lenient_decimal, lenient_text};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /query?q=...` and `GET {nextRecordsUrl}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryResponse {
    /// Rows the query matches in all (the count of a `SELECT COUNT()`).
    pub total_size: u64,
    /// Whether this is the last page.
    pub done: bool,
    /// The next page's path (`/services/data/v59.0/query/01g...-2000`).
    pub next_records_url: Option<String>,
    /// The rows, each kept as JSON until it is converted.
    pub records: Vec<Value>,
}

/// One entry of an error body (always a JSON array).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiError {
    /// The message.
    #[serde(deserialize_with = "lenient_text")]
    pub message: Option<String>,
    /// `INVALID_SESSION_ID`, `REQUEST_LIMIT_EXCEEDED`, ...
    #[serde(deserialize_with = "lenient_text")]
    pub error_code: Option<String>,
    /// The fields concerned, when the error is about fields.
    pub fields: Vec<String>,
}

/// One entry of `GET /services/data/`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ApiVersion {
    /// `59.0`.
    #[serde(deserialize_with = "lenient_text")]
    pub version: Option<String>,
    /// `/services/data/v59.0`.
    #[serde(deserialize_with = "lenient_text")]
    pub url: Option<String>,
}

/// One limit of `GET /limits`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Limit {
    /// The allocation.
    pub max: Option<u64>,
    /// What is left of it.
    pub remaining: Option<u64>,
}

/// `GET /limits` (only the limit used here).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Limits {
    /// The rolling 24-hour API request allocation.
    pub daily_api_requests: Option<Limit>,
}

/// `GET /sobjects/{Type}/describe` (only the fields used here).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Describe {
    /// The object's fields.
    pub fields: Vec<FieldDescribe>,
}

/// One field of a describe.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FieldDescribe {
    /// API name.
    pub name: String,
    /// `picklist`, `multipicklist`, `string`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The picklist's values.
    pub picklist_values: Vec<PicklistValue>,
}

/// One picklist value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PicklistValue {
    /// The stored value.
    #[serde(deserialize_with = "lenient_text")]
    pub value: Option<String>,
    /// What users see.
    #[serde(deserialize_with = "lenient_text")]
    pub label: Option<String>,
    /// Whether it can still be chosen.
    #[serde(deserialize_with = "lenient_bool")]
    pub active: Option<bool>,
}

/// `GET /sobjects/{Type}/deleted/?start=&end=`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Deleted {
    /// The records deleted in the window.
    pub deleted_records: Vec<DeletedRecord>,
    /// The earliest time deletions are still known for.
    pub earliest_date_available: Option<String>,
    /// The last time the answer covers.
    pub latest_date_covered: Option<String>,
}

/// One deleted record.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeletedRecord {
    /// Its id.
    pub id: String,
    /// When it was deleted.
    pub deleted_date: Option<String>,
}

/// `POST /sobjects/{Type}` (201).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CreateResult {
    /// The new record's id.
    pub id: Option<String>,
    /// Whether it was created.
    #[serde(deserialize_with = "lenient_bool")]
    pub success: Option<bool>,
}

/// An `Account` row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Account {
    /// Id.
    #[serde(deserialize_with = "lenient_text")]
    pub id: Option<String>,
    /// Name.
    #[serde(deserialize_with = "lenient_text")]
    pub name: Option<String>,
    /// Type picklist (`Customer - Direct`, ...).
    #[serde(deserialize_with = "lenient_text")]
    pub r#type: Option<String>,
    /// Industry picklist.
    #[serde(deserialize_with = "lenient_text")]
    pub industry: Option<String>,
    /// Website.
    #[serde(deserialize_with = "lenient_text")]
    pub website: Option<String>,
    /// Phone.
    #[serde(deserialize_with = "lenient_text")]
    pub phone: Option<String>,
    /// Billing street (lines separated by newlines).
    #[serde(deserialize_with = "lenient_text")]
    pub billing_street: Option<String>,
    /// Billing city.
    #[serde(deserialize_with = "lenient_text")]
    pub billing_city: Option<String>,
    /// Billing state.
    #[serde(deserialize_with = "lenient_text")]
    pub billing_state: Option<String>,
    /// Billing postal code.
    #[serde(deserialize_with = "lenient_text")]
    pub billing_postal_code: Option<String>,
    /// Billing country.
    #[serde(deserialize_with = "lenient_text")]
    pub billing_country: Option<String>,
    /// Last change, system changes included.
    #[serde(deserialize_with = "lenient_text")]
    pub system_modstamp: Option<String>,
    /// Whether it is in the recycle bin (`queryAll`).
    #[serde(deserialize_with = "lenient_bool")]
    pub is_deleted: Option<bool>,
    /// Every field, for the host-named filter picklists.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// A `Contact` row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Contact {
    /// Id.
    #[serde(deserialize_with = "lenient_text")]
    pub id: Option<String>,
    /// The account's id.
    #[serde(deserialize_with = "lenient_text")]
    pub account_id: Option<String>,
    /// First name.
    #[serde(deserialize_with = "lenient_text")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(deserialize_with = "lenient_text")]
    pub last_name: Option<String>,
    /// Title.
    #[serde(deserialize_with = "lenient_text")]
    pub title: Option<String>,
    /// E-mail.
    #[serde(deserialize_with = "lenient_text")]
    pub email: Option<String>,
    /// Phone.
    #[serde(deserialize_with = "lenient_text")]
    pub phone: Option<String>,
    /// Last change.
    #[serde(deserialize_with = "lenient_text")]
    pub system_modstamp: Option<String>,
}

/// An `Opportunity` row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Opportunity {
    /// Id.
    #[serde(deserialize_with = "lenient_text")]
    pub id: Option<String>,
    /// The account's id.
    #[serde(deserialize_with = "lenient_text")]
    pub account_id: Option<String>,
    /// The primary contact (API 46.0+; read-only, set through contact
    /// roles).
    #[serde(deserialize_with = "lenient_text")]
    pub contact_id: Option<String>,
    /// Name.
    #[serde(deserialize_with = "lenient_text")]
    pub name: Option<String>,
    /// Stage picklist.
    #[serde(deserialize_with = "lenient_text")]
    pub stage_name: Option<String>,
    /// Percent, 0-100.
    #[serde(deserialize_with = "lenient_decimal")]
    pub probability: Option<Decimal>,
    /// Currency amount.
    #[serde(deserialize_with = "lenient_decimal")]
    pub amount: Option<Decimal>,
    /// `YYYY-MM-DD`.
    #[serde(deserialize_with = "lenient_text")]
    pub close_date: Option<String>,
    /// Closed (won or lost).
    #[serde(deserialize_with = "lenient_bool")]
    pub is_closed: Option<bool>,
    /// Won.
    #[serde(deserialize_with = "lenient_bool")]
    pub is_won: Option<bool>,
    /// Last change.
    #[serde(deserialize_with = "lenient_text")]
    pub system_modstamp: Option<String>,
}

/// An `OpportunityContactRole` row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContactRole {
    /// Id.
    #[serde(deserialize_with = "lenient_text")]
    pub id: Option<String>,
    /// The contact.
    #[serde(deserialize_with = "lenient_text")]
    pub contact_id: Option<String>,
    /// Whether it is the primary contact.
    #[serde(deserialize_with = "lenient_bool")]
    pub is_primary: Option<bool>,
}
