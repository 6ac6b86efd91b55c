//! Serde types of Autotask's REST JSON (camelCase on the wire), tolerant of
//! unknown and null fields: ids, numbers, flags and text are read with the
//! core's lenient decoders, so one odd field never fails a page.
//!
//! Shapes: the query reply `{"items":[...],"pageDetails":{...}}`, the count
//! `{"queryCount":N}`, the single read `{"item":{...}}`, the write reply
//! `{"itemId":N}`, field metadata `{"fields":[...]}` with picklists,
//! `zoneInformation` and `ThresholdInformation`; errors are
//! `{"errors":["..."]}` (read by the core's error mapping).

use scopelink_core::wire::{lenient_bool, lenient_decimal, lenient_id, lenient_text};
use serde::Deserialize;
use serde_json::value::RawValue;

pub use scopelink_core::wire::value_id;

/// `GET zoneInformation?user=`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ZoneInformation {
    /// The zone's name.
    #[serde(deserialize_with = "lenient_text")]
    pub zone_name: Option<String>,
    /// The zone's REST root (`https://webservicesN.autotask.net/ATServicesRest/`).
    #[serde(deserialize_with = "lenient_text")]
    pub url: Option<String>,
    /// The zone's web UI.
    #[serde(deserialize_with = "lenient_text")]
    pub web_url: Option<String>,
    /// The database id.
    #[serde(deserialize_with = "lenient_id")]
    pub ci: Option<i64>,
}

/// A page of a query, its items kept as raw JSON text to be decoded one by
/// one.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage<'a> {
    /// The records.
    #[serde(borrow, default)]
    pub items: Vec<&'a RawValue>,
    /// Paging.
    #[serde(default)]
    pub page_details: Option<PageDetails>,
}

/// `pageDetails` of a query reply.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PageDetails {
    /// Items in this page.
    #[serde(deserialize_with = "lenient_id")]
    pub count: Option<i64>,
    /// The next page's absolute URL; `null` on the last page.
    #[serde(deserialize_with = "lenient_text")]
    pub next_page_url: Option<String>,
}

/// `{Entity}/query/count`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QueryCount {
    /// Matching records.
    #[serde(deserialize_with = "lenient_id")]
    pub query_count: Option<i64>,
}

/// `GET {Entity}/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ItemReply {
    /// The record, `null` when it does not exist.
    pub item: Option<serde_json::Value>,
}

/// The reply of a create or update.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WriteReply {
    /// The record's id.
    #[serde(deserialize_with = "lenient_id")]
    pub item_id: Option<i64>,
}

/// `{Entity}/entityInformation/fields`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldsReply {
    /// The entity's fields.
    pub fields: Vec<FieldInfo>,
}

/// One field's metadata.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FieldInfo {
    /// The REST field name.
    #[serde(deserialize_with = "lenient_text")]
    pub name: Option<String>,
    /// Whether it is a picklist.
    #[serde(deserialize_with = "lenient_bool")]
    pub is_pick_list: Option<bool>,
    /// The picklist's entries (`null` for other fields).
    pub picklist_values: Option<Vec<PicklistValue>>,
}

/// A picklist entry (its `value` is text even for integer fields).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PicklistValue {
    /// The stored value.
    #[serde(deserialize_with = "lenient_text")]
    pub value: Option<String>,
    /// What users see.
    #[serde(deserialize_with = "lenient_text")]
    pub label: Option<String>,
    /// Whether it is the default.
    #[serde(deserialize_with = "lenient_bool")]
    pub is_default_value: Option<bool>,
    /// Whether it may be chosen.
    #[serde(deserialize_with = "lenient_bool")]
    pub is_active: Option<bool>,
    /// Display order.
    #[serde(deserialize_with = "lenient_id")]
    pub sort_order: Option<i64>,
}

/// `GET ThresholdInformation`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ThresholdReply {
    /// Requests allowed per timeframe.
    #[serde(deserialize_with = "lenient_id")]
    pub external_request_threshold: Option<i64>,
    /// The timeframe, in minutes.
    #[serde(deserialize_with = "lenient_id")]
    pub request_threshold_timeframe: Option<i64>,
    /// Requests made in the current timeframe.
    #[serde(deserialize_with = "lenient_id")]
    pub current_timeframe_request_count: Option<i64>,
}

/// A company (`Companies`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Company {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Name.
    #[serde(rename = "companyName", deserialize_with = "lenient_text")]
    pub company_name: Option<String>,
    /// Company number.
    #[serde(rename = "companyNumber", deserialize_with = "lenient_text")]
    pub company_number: Option<String>,
    /// `companyType` picklist value.
    #[serde(rename = "companyType", deserialize_with = "lenient_text")]
    pub company_type: Option<String>,
    /// Active flag.
    #[serde(rename = "isActive", deserialize_with = "lenient_bool")]
    pub is_active: Option<bool>,
    /// `territoryID` picklist value.
    #[serde(rename = "territoryID", deserialize_with = "lenient_text")]
    pub territory_id: Option<String>,
    /// `marketSegmentID` picklist value.
    #[serde(rename = "marketSegmentID", deserialize_with = "lenient_text")]
    pub market_segment_id: Option<String>,
    /// Phone.
    #[serde(deserialize_with = "lenient_text")]
    pub phone: Option<String>,
    /// Website.
    #[serde(rename = "webAddress", deserialize_with = "lenient_text")]
    pub web_address: Option<String>,
    /// Address line 1.
    #[serde(deserialize_with = "lenient_text")]
    pub address1: Option<String>,
    /// Address line 2.
    #[serde(deserialize_with = "lenient_text")]
    pub address2: Option<String>,
    /// City.
    #[serde(deserialize_with = "lenient_text")]
    pub city: Option<String>,
    /// State.
    #[serde(deserialize_with = "lenient_text")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(rename = "postalCode", deserialize_with = "lenient_text")]
    pub postal_code: Option<String>,
    /// Last change of a tracked field.
    #[serde(
        rename = "lastTrackedModifiedDateTime",
        deserialize_with = "lenient_text"
    )]
    pub last_tracked_modified_date_time: Option<String>,
    /// Last activity.
    #[serde(rename = "lastActivityDate", deserialize_with = "lenient_text")]
    pub last_activity_date: Option<String>,
}

/// A contact (`Contacts`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Contact {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// The company's id.
    #[serde(rename = "companyID", deserialize_with = "lenient_id")]
    pub company_id: Option<i64>,
    /// First name.
    #[serde(rename = "firstName", deserialize_with = "lenient_text")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(rename = "lastName", deserialize_with = "lenient_text")]
    pub last_name: Option<String>,
    /// Title.
    #[serde(deserialize_with = "lenient_text")]
    pub title: Option<String>,
    /// E-mail.
    #[serde(rename = "emailAddress", deserialize_with = "lenient_text")]
    pub email_address: Option<String>,
    /// Phone.
    #[serde(deserialize_with = "lenient_text")]
    pub phone: Option<String>,
    /// Mobile phone.
    #[serde(rename = "mobilePhone", deserialize_with = "lenient_text")]
    pub mobile_phone: Option<String>,
    /// Last change.
    #[serde(rename = "lastModifiedDate", deserialize_with = "lenient_text")]
    pub last_modified_date: Option<String>,
    /// Last activity.
    #[serde(rename = "lastActivityDate", deserialize_with = "lenient_text")]
    pub last_activity_date: Option<String>,
}

/// An opportunity (`Opportunities`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Opportunity {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Title.
    #[serde(deserialize_with = "lenient_text")]
    pub title: Option<String>,
    /// The company's id.
    #[serde(rename = "companyID", deserialize_with = "lenient_id")]
    pub company_id: Option<i64>,
    /// The contact's id.
    #[serde(rename = "contactID", deserialize_with = "lenient_id")]
    pub contact_id: Option<i64>,
    /// Amount.
    #[serde(deserialize_with = "lenient_decimal")]
    pub amount: Option<rust_decimal::Decimal>,
    /// Probability (percent).
    #[serde(deserialize_with = "lenient_decimal")]
    pub probability: Option<rust_decimal::Decimal>,
    /// `stage` picklist value.
    #[serde(deserialize_with = "lenient_text")]
    pub stage: Option<String>,
    /// `status` picklist value.
    #[serde(deserialize_with = "lenient_text")]
    pub status: Option<String>,
    /// Projected close date.
    #[serde(rename = "projectedCloseDate", deserialize_with = "lenient_text")]
    pub projected_close_date: Option<String>,
    /// Last activity (Autotask's change time of opportunities).
    #[serde(rename = "lastActivity", deserialize_with = "lenient_text")]
    pub last_activity: Option<String>,
}

/// A configuration item (`ConfigurationItems`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ConfigurationItem {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// The company's id.
    #[serde(rename = "companyID", deserialize_with = "lenient_id")]
    pub company_id: Option<i64>,
    /// Reference title (its name).
    #[serde(rename = "referenceTitle", deserialize_with = "lenient_text")]
    pub reference_title: Option<String>,
    /// Reference number.
    #[serde(rename = "referenceNumber", deserialize_with = "lenient_text")]
    pub reference_number: Option<String>,
    /// Serial number.
    #[serde(rename = "serialNumber", deserialize_with = "lenient_text")]
    pub serial_number: Option<String>,
    /// `configurationItemType` picklist value.
    #[serde(rename = "configurationItemType", deserialize_with = "lenient_text")]
    pub configuration_item_type: Option<String>,
    /// Active flag.
    #[serde(rename = "isActive", deserialize_with = "lenient_bool")]
    pub is_active: Option<bool>,
    /// Last change.
    #[serde(rename = "lastModifiedTime", deserialize_with = "lenient_text")]
    pub last_modified_time: Option<String>,
}

/// A product (`Products`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Product {
    /// Id.
    #[serde(deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Name.
    #[serde(deserialize_with = "lenient_text")]
    pub name: Option<String>,
    /// Description.
    #[serde(deserialize_with = "lenient_text")]
    pub description: Option<String>,
    /// SKU.
    #[serde(deserialize_with = "lenient_text")]
    pub sku: Option<String>,
    /// `productCategory` picklist value.
    #[serde(rename = "productCategory", deserialize_with = "lenient_text")]
    pub product_category: Option<String>,
    /// Unit price.
    #[serde(rename = "unitPrice", deserialize_with = "lenient_decimal")]
    pub unit_price: Option<rust_decimal::Decimal>,
    /// Unit cost.
    #[serde(rename = "unitCost", deserialize_with = "lenient_decimal")]
    pub unit_cost: Option<rust_decimal::Decimal>,
    /// Active flag.
    #[serde(rename = "isActive", deserialize_with = "lenient_bool")]
    pub is_active: Option<bool>,
}

/// A webhook callout's body (keys as Autotask writes them, PascalCase;
/// camelCase accepted too, as their casing is not documented).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Callout {
    /// `Create`, `Update`, `Delete` (or `Deactivated`).
    #[serde(rename = "Action", alias = "action", deserialize_with = "lenient_text")]
    pub action: Option<String>,
    /// The webhook's GUID.
    #[serde(rename = "Guid", alias = "guid", deserialize_with = "lenient_text")]
    pub guid: Option<String>,
    /// `Company`, `Contact`, ...
    #[serde(
        rename = "EntityType",
        alias = "entityType",
        deserialize_with = "lenient_text"
    )]
    pub entity_type: Option<String>,
    /// The entity's id.
    #[serde(rename = "Id", alias = "id", deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// The webhook's event counter.
    #[serde(
        rename = "SequenceNumber",
        alias = "sequenceNumber",
        deserialize_with = "lenient_id"
    )]
    pub sequence_number: Option<i64>,
    /// When it happened.
    #[serde(
        rename = "EventTime",
        alias = "eventTime",
        deserialize_with = "lenient_text"
    )]
    pub event_time: Option<String>,
}
