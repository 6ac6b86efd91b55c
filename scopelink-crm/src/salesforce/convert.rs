//! Salesforce rows → scopelink records.
//!
//! Each row is decoded on its own, so one malformed row becomes a rejected
//! entry (with its id when it has one, and the reason) instead of failing
//! its page. Nothing here panics on bad input.

use super::wire;
use chrono::{DateTime, NaiveDate, Utc};
use scopelink_core::model::{Address, Company, Contact, DataType, Opportunity, Record};
use scopelink_core::wire::{non_blank, parse_timestamp, Rejected};
use serde_json::Value;

/// A converted record or why it was rejected.
pub type Converted = Result<Record, Rejected>;

/// Which Account picklists play the status and territory roles (the
/// host-named filter fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountRoles {
    /// The status picklist's API name.
    pub status_field: Option<String>,
    /// The territory picklist's API name.
    pub territory_field: Option<String>,
}

/// Parses a Salesforce datetime (`2025-06-02T14:05:11.000+0000`, or RFC
/// 3339).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| parse_timestamp(s))
}

/// A SOQL datetime literal (`2025-06-01T00:00:00Z`), written unquoted in
/// a query.
pub fn soql_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn row_id(value: &Value) -> Option<String> {
    value.get("Id").and_then(Value::as_str).map(str::to_string)
}

fn decode<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, Rejected> {
    let id = row_id(&value);
    serde_json::from_value(value)
        .map_err(|e| Rejected::new(id, format!("the {what} row could not be read: {e}")))
}

fn required_id(id: Option<String>, what: &str) -> Result<String, Rejected> {
    non_blank(id).ok_or_else(|| Rejected::new(None, format!("the {what} row has no Id")))
}

/// Converts one query row of `data_type`.
pub fn convert(data_type: DataType, value: Value, roles: &AccountRoles) -> Converted {
    match data_type {
        DataType::Companies => account(decode(value, "Account")?, roles),
        DataType::Contacts => contact(decode(value, "Contact")?),
        DataType::Opportunities => opportunity(decode(value, "Opportunity")?),
        other => Err(Rejected::new(
            row_id(&value),
            format!("{other} records are not read from Salesforce"),
        )),
    }
}

fn picklist_text(other: &serde_json::Map<String, Value>, field: &Option<String>) -> Option<String> {
    let value = other.get(field.as_deref()?)?;
    non_blank(value.as_str().map(str::to_string))
}

fn account(a: wire::Account, roles: &AccountRoles) -> Converted {
    let external_id = required_id(a.id, "Account")?;
    let Some(name) = non_blank(a.name) else {
        return Err(Rejected::new(Some(external_id), "the Account has no Name"));
    };
    let lines: Vec<String> = a
        .billing_street
        .as_deref()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let address = Address {
        lines,
        city: non_blank(a.billing_city),
        region: non_blank(a.billing_state),
        postal_code: non_blank(a.billing_postal_code),
        country: non_blank(a.billing_country),
    };
    let address = (address != Address::default()).then_some(address);
    Ok(Record::Company(Company {
        external_id,
        name,
        identifier: None,
        types: non_blank(a.r#type).into_iter().collect(),
        status: picklist_text(&a.other, &roles.status_field),
        territory: picklist_text(&a.other, &roles.territory_field),
        market: non_blank(a.industry),
        website: non_blank(a.website),
        phone: non_blank(a.phone),
        address,
        updated_at: a.system_modstamp.as_deref().and_then(parse_datetime),
    }))
}

fn contact(c: wire::Contact) -> Converted {
    let external_id = required_id(c.id, "Contact")?;
    Ok(Record::Contact(Contact {
        external_id,
        company_external_id: non_blank(c.account_id),
        first_name: non_blank(c.first_name),
        last_name: non_blank(c.last_name),
        title: non_blank(c.title),
        email: non_blank(c.email),
        phone: non_blank(c.phone),
        updated_at: c.system_modstamp.as_deref().and_then(parse_datetime),
    }))
}

fn opportunity(o: wire::Opportunity) -> Converted {
    let external_id = required_id(o.id, "Opportunity")?;
    let Some(name) = non_blank(o.name) else {
        return Err(Rejected::new(
            Some(external_id),
            "the Opportunity has no Name",
        ));
    };
    let status = match (o.is_closed, o.is_won) {
        (Some(true), Some(true)) => Some("Won"),
        (Some(true), _) => Some("Lost"),
        (Some(false), _) => Some("Open"),
        _ => None,
    };
    let close_date = match o.close_date.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            Rejected::new(
                Some(external_id.clone()),
                "the Opportunity's CloseDate is not a YYYY-MM-DD date",
            )
        })?),
    };
    Ok(Record::Opportunity(Opportunity {
        external_id,
        company_external_id: non_blank(o.account_id),
        contact_external_id: non_blank(o.contact_id),
        name,
        stage: non_blank(o.stage_name),
        status: status.map(str::to_string),
        probability: o.probability,
        value: o.amount,
        close_date,
        updated_at: o.system_modstamp.as_deref().and_then(parse_datetime),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salesforce_datetimes_with_a_bare_offset_are_read() {
        let t = parse_datetime("2025-06-02T14:05:11.000+0000").unwrap();
        assert_eq!(soql_datetime(t), "2025-06-02T14:05:11Z");
        assert!(parse_datetime("2025-06-02T14:05:11Z").is_some());
        assert!(parse_datetime("yesterday").is_none());
    }

    #[test]
    fn a_row_without_id_or_name_is_rejected_not_fatal() {
        let roles = AccountRoles::default();
        let err = convert(
            DataType::Companies,
            serde_json::json!({"Name": "x"}),
            &roles,
        )
        .unwrap_err();
        assert!(err.reason.contains("no Id"), "{}", err.reason);
        let err = convert(
            DataType::Opportunities,
            serde_json::json!({"Id": "0065g00000Fg7hAAAR", "Name": "n", "CloseDate": "soon"}),
            &roles,
        )
        .unwrap_err();
        assert_eq!(err.id.as_deref(), Some("0065g00000Fg7hAAAR"));
    }
}
