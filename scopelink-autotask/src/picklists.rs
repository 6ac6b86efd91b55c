//! Autotask's picklists (company types, territories, market segments,
//! opportunity stages, project and task statuses and types), read from
//! `{Entity}/entityInformation/fields`: a record holds a picklist's value
//! (`1`), users see its label (`Customer`).

use crate::wire::{FieldInfo, PicklistValue};
use std::collections::HashMap;

/// One picklist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) value: String,
    pub(crate) label: String,
    pub(crate) is_default: bool,
    pub(crate) is_active: bool,
}

/// The picklists of one entity, by field name (compared
/// case-insensitively: Autotask's metadata mixes `companyType` and
/// `CompanyType`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Picklists {
    fields: HashMap<String, Vec<Entry>>,
}

fn entry(v: PicklistValue) -> Option<(i64, Entry)> {
    let value = v
        .value
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())?;
    let label = v
        .label
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| value.clone());
    Some((
        v.sort_order.unwrap_or(0),
        Entry {
            value,
            label,
            is_default: v.is_default_value.unwrap_or(false),
            is_active: v.is_active.unwrap_or(true),
        },
    ))
}

impl Picklists {
    /// The picklists among `fields`, each sorted by its `sortOrder`.
    pub(crate) fn from_fields(fields: Vec<FieldInfo>) -> Self {
        let mut map = HashMap::new();
        for field in fields {
            let (Some(name), Some(values)) = (field.name, field.picklist_values) else {
                continue;
            };
            let mut entries: Vec<(i64, Entry)> = values.into_iter().filter_map(entry).collect();
            entries.sort_by_key(|(order, _)| *order);
            map.insert(
                name.trim().to_ascii_lowercase(),
                entries.into_iter().map(|(_, e)| e).collect(),
            );
        }
        Self { fields: map }
    }

    /// The entries of `field` (empty when it is not a picklist).
    pub(crate) fn entries(&self, field: &str) -> &[Entry] {
        self.fields
            .get(&field.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// The label of `value` in `field`; the value itself when the picklist
    /// does not hold it.
    pub(crate) fn label(&self, field: &str, value: Option<&str>) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        Some(
            self.entries(field)
                .iter()
                .find(|e| e.value == value)
                .map_or_else(|| value.to_string(), |e| e.label.clone()),
        )
    }

    /// The value of `field` that `given` names: a value, or a label
    /// (case-insensitive).
    pub(crate) fn value_of(&self, field: &str, given: &str) -> Option<String> {
        let given = given.trim();
        let entries = self.entries(field);
        entries
            .iter()
            .find(|e| e.value == given)
            .or_else(|| entries.iter().find(|e| e.label.eq_ignore_ascii_case(given)))
            .map(|e| e.value.clone())
    }

    /// The default value of `field`: its entry marked default, else the
    /// active entry labelled one of `preferred`, else its first active
    /// entry.
    pub(crate) fn default_value(&self, field: &str, preferred: &[&str]) -> Option<String> {
        let entries = self.entries(field);
        let active = || entries.iter().filter(|e| e.is_active);
        active()
            .find(|e| e.is_default)
            .or_else(|| {
                preferred
                    .iter()
                    .find_map(|p| active().find(|e| e.label.eq_ignore_ascii_case(p)))
            })
            .or_else(|| active().next())
            .map(|e| e.value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::FieldsReply;

    fn sample() -> Picklists {
        let reply: FieldsReply = serde_json::from_str(
            r#"{"fields":[
              {"name":"CompanyType","isPickList":true,"picklistValues":[
                {"value":"3","label":"Prospect","isDefaultValue":true,"sortOrder":3,"isActive":true},
                {"value":"1","label":"Customer","isDefaultValue":false,"sortOrder":1,"isActive":true},
                {"value":"8","label":"Partner","isDefaultValue":false,"sortOrder":6,"isActive":false}]},
              {"name":"companyName","isPickList":false,"picklistValues":null}]}"#,
        )
        .unwrap();
        Picklists::from_fields(reply.fields)
    }

    #[test]
    fn labels_values_and_defaults() {
        let p = sample();
        assert_eq!(p.entries("companyType").len(), 3);
        assert_eq!(p.entries("companyType")[0].label, "Customer");
        assert_eq!(
            p.label("companytype", Some("1")).as_deref(),
            Some("Customer")
        );
        assert_eq!(p.label("companyType", Some("99")).as_deref(), Some("99"));
        assert_eq!(p.label("companyType", None), None);
        assert_eq!(p.value_of("companyType", "customer").as_deref(), Some("1"));
        assert_eq!(p.value_of("companyType", "3").as_deref(), Some("3"));
        assert_eq!(p.value_of("companyType", "Nope"), None);
        assert_eq!(p.default_value("companyType", &[]).as_deref(), Some("3"));
        assert!(p.entries("companyName").is_empty());
    }
}
