//! Autotask's query language: the JSON filter of `{Entity}/query` and
//! `{Entity}/query/count`. Every user value goes in as a JSON value (a
//! number, a flag or text), never spliced into a string.

use chrono::{DateTime, SecondsFormat, Utc};
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::model::DataType;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The filter options of the company status filter: Autotask companies are
/// active or inactive (`isActive`).
pub(crate) fn status_options() -> Vec<FilterOption> {
    vec![
        FilterOption::new("true", "Active"),
        FilterOption::new("false", "Inactive"),
    ]
}

/// A filter option's id as a JSON value: a whole number as a number (the
/// records' picklist fields are integers), `true`/`false` as a flag, else
/// the text as it is.
pub(crate) fn option_value(id: &str) -> Value {
    let id = id.trim();
    if let Ok(n) = id.parse::<i64>() {
        return json!(n);
    }
    match id.to_ascii_lowercase().as_str() {
        "true" | "active" => Value::Bool(true),
        "false" | "inactive" => Value::Bool(false),
        _ => Value::String(id.to_string()),
    }
}

/// `{"op":"in","field":field,"value":[...]}` for a non-empty option set.
fn any_of(field: &str, options: &BTreeSet<FilterOption>) -> Option<Value> {
    if options.is_empty() {
        return None;
    }
    let values: Vec<Value> = options.iter().map(|o| option_value(&o.id)).collect();
    Some(json!({ "op": "in", "field": field, "value": values }))
}

/// The time field a data type's incremental reads are filtered on (`None`:
/// Autotask's products carry no change time, so they are read whole).
pub(crate) fn changed_field(data_type: DataType) -> Option<&'static str> {
    match data_type {
        DataType::Companies => Some("lastTrackedModifiedDateTime"),
        DataType::Contacts => Some("lastModifiedDate"),
        DataType::Opportunities => Some("lastActivity"),
        DataType::Configurations => Some("lastModifiedTime"),
        _ => None,
    }
}

/// A time as Autotask's query values write it (UTC, `Z`).
pub(crate) fn time_value(t: DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Matches every record: `id gte 0` (the filter may not be empty).
pub(crate) fn everything() -> Value {
    json!({ "op": "gte", "field": "id", "value": 0 })
}

/// The filter items of a company read or count: the sync filter's sets
/// (each an `in`, the status an `eq` on `isActive`), and `since` on the
/// change time or the creation time. Never empty.
pub(crate) fn company_filter(filter: &SyncFilter, since: Option<DateTime<Utc>>) -> Vec<Value> {
    let mut items: Vec<Value> = Vec::new();
    items.extend(any_of("companyType", &filter.company_types));
    let flags: BTreeSet<bool> = filter
        .statuses
        .iter()
        .filter_map(|o| option_value(&o.id).as_bool())
        .collect();
    if flags.len() == 1 {
        if let Some(flag) = flags.first() {
            items.push(json!({ "op": "eq", "field": "isActive", "value": flag }));
        }
    }
    items.extend(any_of("territoryID", &filter.territories));
    items.extend(any_of("marketSegmentID", &filter.markets));
    if let Some(since) = since {
        // A company never edited since its creation may have no tracked
        // modification time: new companies are found by `createDate`.
        items.push(json!({
            "op": "or",
            "items": [
                { "op": "gte", "field": "lastTrackedModifiedDateTime", "value": time_value(since) },
                { "op": "gte", "field": "createDate", "value": time_value(since) },
            ],
        }));
    }
    if items.is_empty() {
        items.push(everything());
    }
    items
}

/// `{"op":"gte","field":<change time>,"value":since}` where the type has a
/// change time.
pub(crate) fn since_filter(data_type: DataType, since: Option<DateTime<Utc>>) -> Option<Value> {
    let field = changed_field(data_type)?;
    Some(json!({ "op": "gte", "field": field, "value": time_value(since?) }))
}

/// The body of a query: `MaxRecords`, `IncludeFields`, `Filter`.
pub(crate) fn query_body(max_records: u32, include: &[&str], filter: Vec<Value>) -> Value {
    json!({
        "MaxRecords": max_records,
        "IncludeFields": include,
        "Filter": filter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn user_values_are_json_values() {
        assert_eq!(option_value("12"), json!(12));
        assert_eq!(option_value("true"), json!(true));
        assert_eq!(
            option_value(r#"x","op":"exist"#),
            Value::String(r#"x","op":"exist"#.into())
        );
    }

    #[test]
    fn company_filters_become_json_items() {
        let mut f = SyncFilter::default();
        assert_eq!(company_filter(&f, None), vec![everything()]);
        f.company_types.insert(FilterOption::new("1", "Customer"));
        f.company_types.insert(FilterOption::new("3", "Prospect"));
        f.statuses.insert(FilterOption::new("true", "Active"));
        f.territories
            .insert(FilterOption::new("29683458", "Northeast"));
        let since = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(
            Value::Array(company_filter(&f, Some(since))),
            json!([
                {"op":"in","field":"companyType","value":[1,3]},
                {"op":"eq","field":"isActive","value":true},
                {"op":"in","field":"territoryID","value":[29683458]},
                {"op":"or","items":[
                    {"op":"gte","field":"lastTrackedModifiedDateTime","value":"2026-03-01T00:00:00Z"},
                    {"op":"gte","field":"createDate","value":"2026-03-01T00:00:00Z"}
                ]}
            ])
        );
        // Both statuses do not narrow.
        f.statuses.insert(FilterOption::new("false", "Inactive"));
        assert!(!company_filter(&f, None)
            .iter()
            .any(|i| i["field"] == "isActive"));
        assert_eq!(since_filter(DataType::CatalogItems, Some(since)), None);
    }
}
