//! `entityInformation`, `entityInformation/fields` and
//! `entityInformation/userDefinedFields`.

use super::*;

/// A field's picklist: its own, or for a webhook fields entity's `fieldID`
/// the subscribable fields of the watched entity (value = field id).
pub(super) fn picklist(field: &FieldDef) -> Option<Vec<Value>> {
    if let Some(entity) = field.webhook_fields_of.and_then(entity_def) {
        return Some(
            entity
                .fields
                .iter()
                .filter_map(|f| f.webhook_id.map(|id| (id, f.name)))
                .enumerate()
                .map(|(i, (id, name))| {
                    json!({
                        "value": id.to_string(),
                        "label": name,
                        "isDefaultValue": false,
                        "sortOrder": i + 1,
                        "parentValue": "",
                        "isActive": true,
                        "isSystem": true,
                    })
                })
                .collect(),
        );
    }
    field.picklist.map(|list| {
        list.iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "value": p.value.to_string(),
                    "label": p.label,
                    "isDefaultValue": p.is_default,
                    "sortOrder": if p.is_system { i + 1 } else { 0 },
                    "parentValue": "",
                    "isActive": p.is_active,
                    "isSystem": p.is_system,
                })
            })
            .collect()
    })
}

/// Whether `value` is an entry of the field's picklist.
pub(super) fn in_picklist(field: &FieldDef, value: i64) -> bool {
    picklist(field).is_none_or(|list| {
        list.iter()
            .any(|p| p.get("value").and_then(Value::as_str) == Some(value.to_string().as_str()))
    })
}

/// An entity's singular name (`Companies` → `Company`).
fn singular(name: &str) -> String {
    match name.strip_suffix("ies") {
        Some(stem) => format!("{stem}y"),
        None => name.trim_end_matches('s').to_string(),
    }
}

impl State {
    pub(super) fn entity_information(&self, def: &EntityDef) -> Out {
        ok(json!({
            "info": {
                "name": singular(def.name),
                "canCreate": def.can_create,
                "canDelete": def.can_delete,
                "canQuery": true,
                "canUpdate": def.can_update,
                "userAccessForCreate": if def.can_create { "All" } else { "None" },
                "userAccessForDelete": if def.can_delete { "All" } else { "None" },
                "userAccessForQuery": "All",
                "userAccessForUpdate": if def.can_update { "All" } else { "None" },
                "hasUserDefinedFields": def.has_udfs,
                "supportsWebhookCallouts": def.webhook_type.is_some(),
            }
        }))
    }

    pub(super) fn field_information(&self, def: &EntityDef) -> Out {
        let fields: Vec<Value> = def
            .fields
            .iter()
            .map(|f| {
                let picklist = picklist(f);
                json!({
                    "name": f.name,
                    "dataType": f.data_type,
                    "length": f.length,
                    "isRequired": f.required,
                    "isReadOnly": f.read_only,
                    "isQueryable": f.queryable,
                    "isReference": f.reference.is_some(),
                    "referenceEntityType": f.reference.unwrap_or(""),
                    "isPickList": picklist.is_some(),
                    "picklistValues": picklist,
                    "picklistParentValueField": "",
                    "isSupportedWebhookField": f.webhook_id.is_some(),
                })
            })
            .collect();
        ok(json!({ "fields": fields }))
    }

    /// `entityInformation/userDefinedFields`: the swagger's `Field` model.
    pub(super) fn udf_information(&self, def: &EntityDef) -> Out {
        let fields: Vec<Value> = query::udf_names(def)
            .iter()
            .map(|name| {
                json!({
                    "name": name,
                    "label": name,
                    "type": "string",
                    "length": 20,
                    "description": "",
                    "isRequired": false,
                    "isReadOnly": false,
                    "isQueryable": true,
                    "isReference": false,
                    "referenceEntityType": "",
                    "isPickList": false,
                    "picklistValues": null,
                    "picklistParentValueField": "",
                    "defaultValue": "",
                    "isSupportedWebhookField": true,
                })
            })
            .collect();
        ok(json!({ "fields": fields }))
    }
}
