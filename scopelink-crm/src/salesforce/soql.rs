//! The SOQL the connector sends: only the fields it uses, company filters
//! as `IN` lists of escaped string literals, incremental reads on
//! `SystemModstamp` with an unquoted datetime literal.
//!
//! Values never change a query's shape: string literals escape `\`, `'`,
//! `"` and control characters as the SOQL reference lists (`\\`, `\'`,
//! `\"`, `\n`, `\r`, `\t`, `\b`, `\f`), and field names (the host-named
//! picklists) must be API names (letters, digits, underscores), checked
//! before use.

use super::convert::soql_datetime;
use chrono::{DateTime, Utc};
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::model::DataType;
use scopelink_core::ConnectorError;
use std::collections::BTreeSet;

/// Account fields read (the host-named picklists are added). The address
/// is the billing address.
pub const ACCOUNT_FIELDS: &[&str] = &[
    "Id",
    "Name",
    "Type",
    "Industry",
    "Website",
    "Phone",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "SystemModstamp",
];

/// Contact fields read.
pub const CONTACT_FIELDS: &[&str] = &[
    "Id",
    "AccountId",
    "FirstName",
    "LastName",
    "Title",
    "Email",
    "Phone",
    "SystemModstamp",
];

/// Opportunity fields read (`ContactId` is the primary contact).
pub const OPPORTUNITY_FIELDS: &[&str] = &[
    "Id",
    "AccountId",
    "ContactId",
    "Name",
    "StageName",
    "Probability",
    "Amount",
    "CloseDate",
    "IsClosed",
    "IsWon",
    "SystemModstamp",
];

/// A string as a SOQL string literal, quotes included.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Whether `name` is a usable field API name (`Rating`, `Region__c`,
/// `ns__Tier__c`): a letter, then letters, digits and underscores, at
/// most 80 characters.
pub fn is_field_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 80
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks a host-named field, as an error on `setting` when unusable.
pub fn field_name(setting: &'static str, name: &str) -> Result<String, ConnectorError> {
    let name = name.trim();
    if is_field_name(name) {
        Ok(name.to_string())
    } else {
        Err(ConnectorError::InvalidConfig {
            field: setting,
            message: format!("`{name}` is not a Salesforce field API name; enter the API name of an Account picklist, such as Rating or Region__c"),
        })
    }
}

/// The Account picklists the company filter may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterFields {
    /// The status picklist.
    pub status: Option<String>,
    /// The territory picklist.
    pub territory: Option<String>,
}

/// `field IN ('a', 'b')` for the options' values (their ids).
fn in_list(field: &str, options: &BTreeSet<FilterOption>) -> String {
    let values: Vec<String> = options.iter().map(|o| quote(&o.id)).collect();
    format!("{field} IN ({})", values.join(", "))
}

/// The company filter's conditions on Account fields, each field name
/// behind `prefix` (`Account.` for contacts and opportunities).
pub fn company_conditions(
    filter: &SyncFilter,
    fields: &FilterFields,
    prefix: &str,
) -> Result<Vec<String>, ConnectorError> {
    let mut out = Vec::new();
    let mut add = |set: &BTreeSet<FilterOption>,
                   field: Option<&str>,
                   what: &str|
     -> Result<(), ConnectorError> {
        if set.is_empty() {
            return Ok(());
        }
        let Some(field) = field else {
            return Err(ConnectorError::Unsupported {
                what: format!("a {what} filter: no Account picklist is set as the {what} field of this Salesforce connection"),
            });
        };
        out.push(in_list(&format!("{prefix}{field}"), set));
        Ok(())
    };
    add(&filter.company_types, Some("Type"), "company type")?;
    add(&filter.markets, Some("Industry"), "market")?;
    add(&filter.statuses, fields.status.as_deref(), "status")?;
    add(
        &filter.territories,
        fields.territory.as_deref(),
        "territory",
    )?;
    Ok(out)
}

/// The object a data type is read from.
pub fn object(data_type: DataType) -> Option<&'static str> {
    match data_type {
        DataType::Companies => Some("Account"),
        DataType::Contacts => Some("Contact"),
        DataType::Opportunities => Some("Opportunity"),
        _ => None,
    }
}

/// The fields read for a data type.
pub fn fields(data_type: DataType, filter_fields: &FilterFields) -> Vec<String> {
    let base: &[&str] = match data_type {
        DataType::Companies => ACCOUNT_FIELDS,
        DataType::Contacts => CONTACT_FIELDS,
        _ => OPPORTUNITY_FIELDS,
    };
    let mut out: Vec<String> = base.iter().map(|f| f.to_string()).collect();
    if data_type == DataType::Companies {
        for extra in [&filter_fields.status, &filter_fields.territory]
            .into_iter()
            .flatten()
        {
            if !out.iter().any(|f| f.eq_ignore_ascii_case(extra)) {
                out.push(extra.clone());
            }
        }
    }
    out
}

/// The query of one data type's sync: its fields, the company filter,
/// changes at or after `since`, oldest change first.
pub fn select(
    data_type: DataType,
    filter: &SyncFilter,
    filter_fields: &FilterFields,
    since: Option<DateTime<Utc>>,
) -> Result<String, ConnectorError> {
    let Some(object) = object(data_type) else {
        return Err(ConnectorError::Unsupported {
            what: format!("syncing {data_type} from Salesforce"),
        });
    };
    let prefix = if data_type == DataType::Companies {
        ""
    } else {
        "Account."
    };
    let mut conditions = company_conditions(filter, filter_fields, prefix)?;
    if let Some(since) = since {
        conditions.push(format!("SystemModstamp >= {}", soql_datetime(since)));
    }
    let mut q = format!(
        "SELECT {} FROM {object}",
        fields(data_type, filter_fields).join(", ")
    );
    if !conditions.is_empty() {
        q.push_str(" WHERE ");
        q.push_str(&conditions.join(" AND "));
    }
    q.push_str(" ORDER BY SystemModstamp ASC");
    Ok(q)
}

/// `SELECT COUNT() FROM Account` with the company filter.
pub fn count_accounts(
    filter: &SyncFilter,
    filter_fields: &FilterFields,
) -> Result<String, ConnectorError> {
    let conditions = company_conditions(filter, filter_fields, "")?;
    let mut q = "SELECT COUNT() FROM Account".to_string();
    if !conditions.is_empty() {
        q.push_str(" WHERE ");
        q.push_str(&conditions.join(" AND "));
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soql_literals_escape_quotes_so_a_value_cannot_change_the_query() {
        assert_eq!(quote("O'Brien"), r"'O\'Brien'");
        assert_eq!(quote(r"a\' OR Name != '"), r"'a\\\' OR Name != \''");
        assert_eq!(quote("line\nbreak\t\"x\""), r#"'line\nbreak\t\"x\"'"#);
        assert_eq!(quote("bell\u{7}"), "'bell'");
    }

    #[test]
    fn dependent_types_filter_through_their_account_and_named_picklists_are_read() {
        let fields = FilterFields {
            status: Some("Rating".into()),
            territory: Some("Region__c".into()),
        };
        let filter = SyncFilter {
            company_types: [FilterOption::new("Customer - Direct", "Customer - Direct")].into(),
            statuses: [FilterOption::new("Hot", "Hot")].into(),
            territories: [
                FilterOption::new("EMEA", "EMEA"),
                FilterOption::new("APAC", "APAC"),
            ]
            .into(),
            ..SyncFilter::default()
        };
        let since = chrono::DateTime::parse_from_rfc3339("2025-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            select(DataType::Companies, &filter, &fields, Some(since)).unwrap(),
            "SELECT Id, Name, Type, Industry, Website, Phone, BillingStreet, BillingCity, BillingState, BillingPostalCode, BillingCountry, SystemModstamp, Rating, Region__c FROM Account WHERE Type IN ('Customer - Direct') AND Rating IN ('Hot') AND Region__c IN ('APAC', 'EMEA') AND SystemModstamp >= 2025-06-01T00:00:00Z ORDER BY SystemModstamp ASC"
        );
        assert_eq!(
            select(DataType::Contacts, &filter, &fields, None).unwrap(),
            "SELECT Id, AccountId, FirstName, LastName, Title, Email, Phone, SystemModstamp FROM Contact WHERE Account.Type IN ('Customer - Direct') AND Account.Rating IN ('Hot') AND Account.Region__c IN ('APAC', 'EMEA') ORDER BY SystemModstamp ASC"
        );
        // A status filter with no status picklist named is refused, not ignored.
        let err = select(DataType::Companies, &filter, &FilterFields::default(), None).unwrap_err();
        assert!(matches!(err, ConnectorError::Unsupported { .. }), "{err}");
        assert!(select(
            DataType::CatalogItems,
            &SyncFilter::default(),
            &fields,
            None
        )
        .is_err());
    }

    #[test]
    fn field_names_are_api_names_only() {
        for ok in ["Rating", "Region__c", "ns__Tier__c"] {
            assert!(is_field_name(ok), "{ok}");
        }
        for bad in ["", "1x", "Name) FROM User--", "Type, Id", "a b", "Région"] {
            assert!(!is_field_name(bad), "{bad}");
        }
    }
}
