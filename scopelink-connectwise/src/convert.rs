//! ConnectWise JSON → scopelink records.
//!
//! Each record is decoded on its own, so one malformed record becomes a
//! rejected entry (with its id when it has one, and the reason) instead of
//! failing its page. Nothing here panics on bad input.

use crate::wire::{self, non_blank, Reference};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use scopelink_core::model::{
    Address, CatalogItem, Company, Configuration, Contact, DataType, Opportunity, Record,
};
pub use scopelink_core::wire::parse_timestamp;
use scopelink_core::wire::{decode_array, decode_record, non_blank as text, record_id, Rejected};

/// A converted record or why it was rejected (its id when known, and the
/// reason).
pub type Converted = Result<Record, Rejected>;

/// Parses a ConnectWise date field (`2025-04-30T00:00:00Z`) as the calendar
/// date it names, without shifting it through a time zone.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let head = s.get(..10)?;
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

fn updated_at(info: &Option<wire::Info>) -> Option<DateTime<Utc>> {
    info.as_ref()?
        .last_updated
        .as_deref()
        .and_then(parse_timestamp)
}

/// A reference's name, moved out of it.
fn ref_text(r: Option<Reference>) -> Option<String> {
    text(r?.name)
}

fn ref_name(r: &Option<Reference>) -> Option<String> {
    r.as_ref().and_then(Reference::name)
}

fn ref_id(r: &Option<Reference>) -> Option<String> {
    r.as_ref().and_then(|r| r.id).map(|id| id.to_string())
}

/// The percentage a probability reference names (`"50"`, `"50%"`, `"0.5"`
/// stays 0.5): `None` when its name is not a number in 0..=100.
pub fn probability_percent(r: &Option<Reference>) -> Option<Decimal> {
    let name = r.as_ref()?.name.as_deref()?.trim();
    let number = name.strip_suffix('%').unwrap_or(name).trim();
    let d: Decimal = number.parse().ok()?;
    (d >= Decimal::ZERO && d <= Decimal::ONE_HUNDRED).then_some(d.normalize())
}

/// Converts one JSON record of `data_type`.
pub fn convert(data_type: DataType, value: serde_json::Value) -> Converted {
    convert_json(data_type, &value.to_string())
}

/// Converts one record of `data_type` from its JSON text (what a page's
/// items are kept as: each is decoded once, straight into its wire type).
pub fn convert_json(data_type: DataType, json: &str) -> Converted {
    match data_type {
        DataType::Companies => company(json),
        DataType::Contacts => contact(json),
        DataType::Opportunities => opportunity(json),
        DataType::Configurations => configuration(json),
        DataType::CatalogItems => catalog_item(json),
        other => Err(Rejected::new(
            record_id(json),
            format!("{other} records are not read from ConnectWise"),
        )),
    }
}

/// A ConnectWise wire record that becomes a scopelink record.
pub trait WireRecord: serde::de::DeserializeOwned {
    /// What the record is called in rejection reasons.
    const WHAT: &'static str;
    /// Its ConnectWise id.
    fn id(&self) -> Option<i64>;
    /// The scopelink record (or why it is rejected), given its id.
    fn into_record(self, id: String) -> Converted;
}

impl WireRecord for wire::Company {
    const WHAT: &'static str = "company";
    fn id(&self) -> Option<i64> {
        self.id
    }
    fn into_record(self, id: String) -> Converted {
        company_from(self, id)
    }
}

impl WireRecord for wire::Contact {
    const WHAT: &'static str = "contact";
    fn id(&self) -> Option<i64> {
        self.id
    }
    fn into_record(self, id: String) -> Converted {
        contact_from(self, id)
    }
}

impl WireRecord for wire::Opportunity {
    const WHAT: &'static str = "opportunity";
    fn id(&self) -> Option<i64> {
        self.id
    }
    fn into_record(self, id: String) -> Converted {
        opportunity_from(self, id)
    }
}

impl WireRecord for wire::Configuration {
    const WHAT: &'static str = "configuration";
    fn id(&self) -> Option<i64> {
        self.id
    }
    fn into_record(self, id: String) -> Converted {
        configuration_from(self, id)
    }
}

impl WireRecord for wire::CatalogItem {
    const WHAT: &'static str = "catalog item";
    fn id(&self) -> Option<i64> {
        self.id
    }
    fn into_record(self, id: String) -> Converted {
        catalog_item_from(self, id)
    }
}

/// A decoded item (or why it did not decode) → a record or the reason it
/// was rejected, naming the item's id when it has one.
fn convert_item<T: WireRecord>(item: Result<T, Rejected>) -> Converted {
    let t = item?;
    match t.id() {
        Some(i) => t.into_record(i.to_string()),
        None => Err(Rejected::new(
            None,
            format!("the {} record has no id", T::WHAT),
        )),
    }
}

/// One record from its JSON text, decoded straight into its wire type.
fn from_json<T: WireRecord>(json: &str) -> Converted {
    convert_item(decode_record::<T>(json, T::WHAT))
}

fn page_of<T: WireRecord>(body: &[u8]) -> Result<Vec<Converted>, serde_json::Error> {
    Ok(decode_array::<T>(body, T::WHAT)?
        .into_iter()
        .map(convert_item)
        .collect())
}

/// Converts a list page (a JSON array) of `data_type` records: one entry
/// per item, a record or the reason it was rejected. Fails only when the
/// body is not a JSON array.
pub fn convert_page(data_type: DataType, body: &[u8]) -> Result<Vec<Converted>, serde_json::Error> {
    match data_type {
        DataType::Companies => page_of::<wire::Company>(body),
        DataType::Contacts => page_of::<wire::Contact>(body),
        DataType::Opportunities => page_of::<wire::Opportunity>(body),
        DataType::Configurations => page_of::<wire::Configuration>(body),
        DataType::CatalogItems => page_of::<wire::CatalogItem>(body),
        other => {
            let raw: Vec<&serde_json::value::RawValue> = serde_json::from_slice(body)?;
            Ok(raw
                .into_iter()
                .map(|r| convert_json(other, r.get()))
                .collect())
        }
    }
}

/// A company.
pub fn company(json: &str) -> Converted {
    from_json::<wire::Company>(json)
}

fn company_from(c: wire::Company, id: String) -> Converted {
    let identifier = text(c.identifier);
    let Some(name) = text(c.name).or_else(|| identifier.clone()) else {
        return Err(Rejected::new(Some(id), "the company has no name"));
    };
    let lines: Vec<String> = [c.address_line1, c.address_line2]
        .into_iter()
        .filter_map(text)
        .collect();
    let address = Address {
        lines,
        city: text(c.city),
        region: text(c.state),
        postal_code: text(c.zip),
        country: ref_text(c.country),
    };
    let address = (address != Address::default()).then_some(address);
    Ok(Record::Company(Company {
        external_id: id,
        name,
        identifier,
        types: c
            .types
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| text(t.name))
            .collect(),
        status: ref_text(c.status),
        territory: ref_text(c.territory),
        market: ref_text(c.market),
        website: text(c.website),
        phone: text(c.phone_number),
        address,
        updated_at: updated_at(&c.info),
    }))
}

/// The value of the best communication item of `kind` (`Email`, `Phone`):
/// the default one, else the first.
fn communication(items: &[wire::CommunicationItem], kind: &str) -> Option<String> {
    let of_kind = || {
        items.iter().filter(|i| {
            i.communication_type
                .as_deref()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(kind))
                && non_blank(i.value.as_deref()).is_some()
        })
    };
    of_kind()
        .find(|i| i.default_flag == Some(true))
        .or_else(|| of_kind().next())
        .and_then(|i| non_blank(i.value.as_deref()))
}

/// A contact: e-mail and phone come from `communicationItems`.
pub fn contact(json: &str) -> Converted {
    from_json::<wire::Contact>(json)
}

fn contact_from(c: wire::Contact, id: String) -> Converted {
    let items = c.communication_items.unwrap_or_default();
    Ok(Record::Contact(Contact {
        external_id: id,
        company_external_id: ref_id(&c.company),
        first_name: text(c.first_name),
        last_name: text(c.last_name),
        title: text(c.title),
        email: communication(&items, "Email"),
        phone: communication(&items, "Phone").or_else(|| text(c.default_phone)),
        updated_at: updated_at(&c.info),
    }))
}

/// An opportunity. ConnectWise keeps no value on the opportunity (it is the
/// forecast's total), so `value` is `None`.
pub fn opportunity(json: &str) -> Converted {
    from_json::<wire::Opportunity>(json)
}

fn opportunity_from(o: wire::Opportunity, id: String) -> Converted {
    let Some(name) = text(o.name) else {
        return Err(Rejected::new(Some(id), "the opportunity has no name"));
    };
    Ok(Record::Opportunity(Opportunity {
        external_id: id,
        company_external_id: ref_id(&o.company),
        contact_external_id: ref_id(&o.contact),
        name,
        stage: ref_text(o.stage),
        status: ref_text(o.status),
        probability: probability_percent(&o.probability),
        value: None,
        close_date: o.expected_close_date.as_deref().and_then(parse_date),
        updated_at: updated_at(&o.info),
    }))
}

/// A configuration.
pub fn configuration(json: &str) -> Converted {
    from_json::<wire::Configuration>(json)
}

fn configuration_from(c: wire::Configuration, id: String) -> Converted {
    let Some(name) = non_blank(c.name.as_deref()) else {
        return Err(Rejected::new(Some(id), "the configuration has no name"));
    };
    Ok(Record::Configuration(Configuration {
        external_id: id,
        company_external_id: ref_id(&c.company),
        name,
        type_name: ref_name(&c.kind),
        status: ref_name(&c.status),
        serial_number: non_blank(c.serial_number.as_deref()),
        updated_at: updated_at(&c.info),
    }))
}

/// A catalog item.
pub fn catalog_item(json: &str) -> Converted {
    from_json::<wire::CatalogItem>(json)
}

fn catalog_item_from(p: wire::CatalogItem, id: String) -> Converted {
    let Some(identifier) = non_blank(p.identifier.as_deref()) else {
        return Err(Rejected::new(
            Some(id),
            "the catalog item has no identifier",
        ));
    };
    Ok(Record::CatalogItem(CatalogItem {
        external_id: id,
        identifier,
        description: non_blank(p.description.as_deref()),
        category: ref_name(&p.category),
        price: p.price,
        cost: p.cost,
        inactive: p.inactive.unwrap_or(false),
        updated_at: updated_at(&p.info),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_without_ids_or_names_are_rejected_not_panics() {
        assert_eq!(
            company(&json!({"name": "x"}).to_string()),
            Err(Rejected::new(None, "the company record has no id"))
        );
        assert_eq!(
            company(&json!({"id": 3}).to_string()),
            Err(Rejected::new(Some("3".into()), "the company has no name"))
        );
        let bad = contact(&json!({"id": 4, "firstName": 12}).to_string());
        assert_eq!(bad.unwrap_err().id.as_deref(), Some("4"));
        assert!(convert(DataType::Contacts, json!(null)).is_err());
        assert!(convert(DataType::Contacts, json!([1, 2])).is_err());
    }

    #[test]
    fn dates_and_probabilities() {
        assert_eq!(
            parse_date("2025-04-30T00:00:00Z"),
            NaiveDate::from_ymd_opt(2025, 4, 30)
        );
        assert_eq!(parse_date("garbage"), None);
        assert_eq!(parse_date(""), None);
        assert!(parse_timestamp("2025-02-11T14:05:33Z").is_some());
        assert!(parse_timestamp("2025-02-11T14:05:33").is_some());
        let p = |name: &str| {
            probability_percent(&Some(Reference {
                name: Some(name.into()),
                ..Reference::default()
            }))
        };
        assert_eq!(p("50"), Some(Decimal::new(50, 0)));
        assert_eq!(p("75%"), Some(Decimal::new(75, 0)));
        assert_eq!(p("Likely"), None);
        assert_eq!(p("250"), None);
    }

    #[test]
    fn contact_prefers_default_items() {
        let c = contact(&json!({
            "id": 9,
            "communicationItems": [
                {"communicationType": "Email", "value": "second@x.example", "defaultFlag": false},
                {"communicationType": "Email", "value": "main@x.example", "defaultFlag": true},
                {"communicationType": "Phone", "value": " ", "defaultFlag": true},
                {"communicationType": "Phone", "value": "555", "defaultFlag": false}
            ]
        }).to_string())
        .unwrap();
        let Record::Contact(c) = c else {
            panic!("not a contact")
        };
        assert_eq!(c.email.as_deref(), Some("main@x.example"));
        assert_eq!(c.phone.as_deref(), Some("555"));
        assert_eq!(c.company_external_id, None);
    }
}
