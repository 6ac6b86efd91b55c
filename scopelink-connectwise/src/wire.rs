//! Serde types for ConnectWise Manage REST v3.0 JSON.
//!
//! Every field is optional and unknown fields are ignored: ConnectWise adds
//! fields between versions, leaves many out, and sends `null` freely. Ids are
//! read leniently, by the one rule of [`scopelink_core::wire`].

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The shared lenient readers (ids by the one rule of
/// [`scopelink_core::wire`]), used in this module's serde attributes.
pub use scopelink_core::wire::{lenient_bool, lenient_decimal, lenient_id, value_id};

/// A reference to another record: `{id, name, identifier?, _info}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Reference {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Name.
    pub name: Option<String>,
    /// Short identifier (companies, members).
    pub identifier: Option<String>,
}

impl Reference {
    /// The name, if not blank.
    pub fn name(&self) -> Option<String> {
        non_blank(self.name.as_deref())
    }
}

/// `_info`: metadata of a record. Only `lastUpdated` is used.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Info {
    /// Last change, ISO-8601 UTC.
    #[serde(rename = "lastUpdated")]
    pub last_updated: Option<String>,
}

/// A string that is not empty once trimmed.
pub fn non_blank(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `GET /login/companyinfo/{companyId}` (PascalCase fields). It names no
/// host: the API host is derived from the address the user typed
/// ([`crate::site::ConnectWiseSite::api_url`]).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CompanyInfo {
    /// Company name.
    #[serde(rename = "CompanyName")]
    pub company_name: Option<String>,
    /// The codebase path segment, with a trailing slash (`v2025_1/`).
    #[serde(rename = "Codebase")]
    pub codebase: Option<String>,
    /// Version code.
    #[serde(rename = "VersionCode")]
    pub version_code: Option<String>,
    /// The company id.
    #[serde(rename = "CompanyID")]
    pub company_id: Option<String>,
    /// Cloud or on-premise; a bool or `"True"`/`"False"`.
    #[serde(rename = "IsCloud", deserialize_with = "lenient_bool")]
    pub is_cloud: Option<bool>,
}

/// `GET /system/info`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct SystemInfo {
    /// Version (`v2025.1.118402`).
    pub version: Option<String>,
    /// Cloud or not.
    #[serde(rename = "isCloud", deserialize_with = "lenient_bool")]
    pub is_cloud: Option<bool>,
    /// Cloud region.
    #[serde(rename = "cloudRegion")]
    pub cloud_region: Option<String>,
}

/// `GET /…/count`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Count {
    /// The count.
    pub count: Option<u64>,
}

/// Any record's id and name (lookups, created objects).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct IdName {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Name.
    pub name: Option<String>,
    /// Description (phases, catalog items).
    pub description: Option<String>,
    /// Summary (tickets).
    pub summary: Option<String>,
    /// Inactive flag, where the record has one.
    #[serde(rename = "inactiveFlag", deserialize_with = "lenient_bool")]
    pub inactive: Option<bool>,
}

/// `GET /company/companies` record.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Company {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Short identifier.
    pub identifier: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Status.
    pub status: Option<Reference>,
    /// Address line 1.
    #[serde(rename = "addressLine1")]
    pub address_line1: Option<String>,
    /// Address line 2.
    #[serde(rename = "addressLine2")]
    pub address_line2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Postal code.
    pub zip: Option<String>,
    /// Country.
    pub country: Option<Reference>,
    /// Phone.
    #[serde(rename = "phoneNumber")]
    pub phone_number: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Territory (a system location).
    pub territory: Option<Reference>,
    /// Market.
    pub market: Option<Reference>,
    /// Company types.
    pub types: Option<Vec<Reference>>,
    /// Soft-deleted.
    #[serde(rename = "deletedFlag", deserialize_with = "lenient_bool")]
    pub deleted: Option<bool>,
    /// Metadata.
    #[serde(rename = "_info")]
    pub info: Option<Info>,
}

/// One of a contact's `communicationItems`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CommunicationItem {
    /// The communication type (`Email`, `Direct`, `Cell`, ...).
    #[serde(rename = "type")]
    pub kind: Option<Reference>,
    /// The address or number.
    pub value: Option<String>,
    /// Extension (phones).
    pub extension: Option<String>,
    /// The default of its kind.
    #[serde(rename = "defaultFlag", deserialize_with = "lenient_bool")]
    pub default_flag: Option<bool>,
    /// `Email`, `Phone` or `Fax`.
    #[serde(rename = "communicationType")]
    pub communication_type: Option<String>,
}

/// `GET /company/contacts` record.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Contact {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// First name.
    #[serde(rename = "firstName")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(rename = "lastName")]
    pub last_name: Option<String>,
    /// Company (absent for contacts without one).
    pub company: Option<Reference>,
    /// Job title.
    pub title: Option<String>,
    /// E-mail addresses and phone numbers.
    #[serde(rename = "communicationItems")]
    pub communication_items: Option<Vec<CommunicationItem>>,
    /// The default phone number.
    #[serde(rename = "defaultPhoneNbr")]
    pub default_phone: Option<String>,
    /// Metadata.
    #[serde(rename = "_info")]
    pub info: Option<Info>,
}

/// `GET /sales/opportunities` record.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Opportunity {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Name.
    pub name: Option<String>,
    /// Expected close date (`YYYY-MM-DDT00:00:00Z`).
    #[serde(rename = "expectedCloseDate")]
    pub expected_close_date: Option<String>,
    /// Stage.
    pub stage: Option<Reference>,
    /// Status (open, won, lost, ...).
    pub status: Option<Reference>,
    /// Probability: a reference to `/sales/probabilities`, its name the percentage.
    pub probability: Option<Reference>,
    /// Company.
    pub company: Option<Reference>,
    /// Primary contact.
    pub contact: Option<Reference>,
    /// When it was closed.
    #[serde(rename = "closedDate")]
    pub closed_date: Option<String>,
    /// Metadata.
    #[serde(rename = "_info")]
    pub info: Option<Info>,
}

/// `GET /company/configurations` record.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Configuration {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Name.
    pub name: Option<String>,
    /// Configuration type.
    #[serde(rename = "type")]
    pub kind: Option<Reference>,
    /// Status.
    pub status: Option<Reference>,
    /// Company.
    pub company: Option<Reference>,
    /// Serial number.
    #[serde(rename = "serialNumber")]
    pub serial_number: Option<String>,
    /// Metadata.
    #[serde(rename = "_info")]
    pub info: Option<Info>,
}

/// `GET /procurement/catalog` record.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CatalogItem {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Product identifier.
    pub identifier: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Inactive.
    #[serde(rename = "inactiveFlag", deserialize_with = "lenient_bool")]
    pub inactive: Option<bool>,
    /// Category.
    pub category: Option<Reference>,
    /// Subcategory.
    pub subcategory: Option<Reference>,
    /// Price.
    #[serde(deserialize_with = "lenient_decimal")]
    pub price: Option<Decimal>,
    /// Cost.
    #[serde(deserialize_with = "lenient_decimal")]
    pub cost: Option<Decimal>,
    /// Metadata.
    #[serde(rename = "_info")]
    pub info: Option<Info>,
}

/// `GET /sales/probabilities` record.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Probability {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// The percentage.
    #[serde(deserialize_with = "lenient_decimal")]
    pub probability: Option<Decimal>,
}

/// A callback (webhook subscription), `GET/POST /system/callbacks`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CallbackEntry {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Description.
    pub description: Option<String>,
    /// The URL called (the record id is appended).
    pub url: Option<String>,
    /// Object type (`company`, ...).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Level (`owner`, ...).
    pub level: Option<String>,
    /// Object id of the level.
    #[serde(rename = "objectId", deserialize_with = "lenient_id")]
    pub object_id: Option<i64>,
    /// Disabled (ConnectWise disables callbacks after 3 days of failures).
    #[serde(rename = "inactiveFlag", deserialize_with = "lenient_bool")]
    pub inactive: Option<bool>,
}

/// The body of a callback ConnectWise POSTs (PascalCase keys).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CallbackPayload {
    /// Message GUID.
    #[serde(rename = "MessageId")]
    pub message_id: Option<String>,
    /// The sending host.
    #[serde(rename = "FromUrl")]
    pub from_url: Option<String>,
    /// The login company id.
    #[serde(rename = "CompanyId")]
    pub company_id: Option<String>,
    /// `added`, `updated` or `deleted`.
    #[serde(rename = "Action")]
    pub action: Option<String>,
    /// Lower-case object type.
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    /// The record id.
    #[serde(rename = "ID", deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// The record as a JSON string (an object is accepted too); `null` on delete.
    #[serde(rename = "Entity")]
    pub entity: Option<serde_json::Value>,
    /// Where the signing key is.
    #[serde(rename = "Metadata")]
    pub metadata: Option<CallbackMetadata>,
    /// The callback's id.
    #[serde(rename = "CallbackObjectRecId", deserialize_with = "lenient_id")]
    pub callback_id: Option<i64>,
}

/// `Metadata` of a callback payload.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct CallbackMetadata {
    /// The signing key's URL.
    pub key_url: Option<String>,
}

/// `GET {key_url}`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct SigningKey {
    /// The key (snake_case on the wire).
    pub signing_key: Option<String>,
}

/// `GET /sales/opportunities/{id}/forecast`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Forecast {
    /// Items.
    #[serde(rename = "forecastItems")]
    pub forecast_items: Option<Vec<ForecastItem>>,
}

/// One forecast item.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ForecastItem {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Description.
    #[serde(rename = "forecastDescription")]
    pub description: Option<String>,
    /// Revenue.
    #[serde(deserialize_with = "lenient_decimal")]
    pub revenue: Option<Decimal>,
}

/// The error body: `{code, message, errors: [{code, message, resource, field}]}`
/// (a 429 uses `error` instead of `code`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct ErrorBody {
    /// Code.
    pub code: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Field errors.
    pub errors: Option<Vec<FieldError>>,
}

/// One field error.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct FieldError {
    /// Code.
    pub code: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Field.
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerant_of_nulls_strings_and_unknown_fields() {
        let c: Company = serde_json::from_str(
            r#"{"id":"250","name":null,"types":null,"deletedFlag":"False","extra":{"x":1},"_info":null}"#,
        )
        .unwrap();
        assert_eq!(c.id, Some(250));
        assert_eq!(c.name, None);
        assert_eq!(c.deleted, Some(false));
        // Whole floats within i64 are ids; beyond it they are not (they
        // would all saturate to the same i64::MAX).
        assert_eq!(value_id(&serde_json::json!(12.0)), Some(12));
        assert_eq!(value_id(&serde_json::json!(1e300)), None);
        assert_eq!(value_id(&serde_json::json!(-1e19)), None);
        assert_eq!(value_id(&serde_json::json!(9.3e18)), None);
        assert_eq!(value_id(&serde_json::json!(u64::MAX)), None);
        let p: CatalogItem = serde_json::from_str(r#"{"price":"12.50","cost":null}"#).unwrap();
        assert_eq!(p.price, Some(Decimal::new(1250, 2)));
        let info: CompanyInfo =
            serde_json::from_str(r#"{"IsCloud":"True","Codebase":"v4_6_release/"}"#).unwrap();
        assert_eq!(info.is_cloud, Some(true));
    }
}
