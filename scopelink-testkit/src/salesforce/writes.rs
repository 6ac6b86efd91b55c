//! Writes: `POST sobjects/{Type}` (create), `PATCH sobjects/{Type}/{Id}`
//! (update), `DELETE sobjects/{Type}/{Id}`. Every field of the body is
//! checked before anything changes (all or nothing): unknown fields,
//! read-only fields, wrong JSON types, required fields set to null,
//! restricted picklists, validation rules.

use super::schema::{stage, FieldDef, FieldType, SObject, CURRENCY_FIELD};
use super::state::{stamp, Row};
use super::*;

/// Whether `id` is shaped like a Salesforce id of `object`.
pub(super) fn id_shaped(object: SObject, id: &str) -> bool {
    matches!(id.len(), 15 | 18)
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && id.starts_with(object.key_prefix())
}

fn parser_error(kind: FieldType, value: &Value) -> Reply {
    let token = match value {
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    };
    let shown = match value {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    Reply::error(
        400,
        "JSON_PARSER_ERROR",
        &format!(
            "Cannot deserialize instance of {} from {token} value {shown} or request may be missing a required field",
            kind.wire_name()
        ),
    )
}

/// Checks one value against its field; the stored form, or the error.
fn check_value(f: &FieldDef, value: &Value) -> Result<Value, Reply> {
    if value.is_null() {
        if !f.nillable || (f.restricted && f.kind == FieldType::Picklist) {
            if f.kind == FieldType::Picklist && f.restricted {
                return Err(Reply::field_error(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    &format!("{}: bad value for restricted picklist field: null", f.label),
                    &[f.name],
                ));
            }
            return Err(Reply::field_error(
                400,
                "REQUIRED_FIELD_MISSING",
                &format!("Required fields are missing: [{}]", f.name),
                &[f.name],
            ));
        }
        return Ok(Value::Null);
    }
    match f.kind {
        k if k.is_text() => {
            let Some(s) = value.as_str() else {
                // Salesforce turns numbers and booleans into text.
                return match value {
                    Value::Number(_) | Value::Bool(_) => Ok(json!(value.to_string())),
                    _ => Err(parser_error(k, value)),
                };
            };
            if k == FieldType::Picklist && f.restricted && !f.picklist.contains(&s) {
                return Err(Reply::field_error(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    &format!("{}: bad value for restricted picklist field: {s}", f.label),
                    &[f.name],
                ));
            }
            if k == FieldType::Email && !is_email(s) {
                return Err(Reply::field_error(
                    400,
                    "INVALID_EMAIL_ADDRESS",
                    &format!("{}: invalid email address: {s}", f.label),
                    &[f.name],
                ));
            }
            if matches!(k, FieldType::Reference | FieldType::Id)
                && !(matches!(s.len(), 15 | 18) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                return Err(Reply::field_error(
                    400,
                    "MALFORMED_ID",
                    &format!("{}: id value of incorrect type: {s}", f.label),
                    &[f.name],
                ));
            }
            Ok(json!(s))
        }
        FieldType::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(json!(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(json!(false)),
            _ => Err(parser_error(f.kind, value)),
        },
        k if k.is_number() => {
            let n = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            let Some(n) = n else {
                return Err(parser_error(k, value));
            };
            if k == FieldType::Percent && !(-100_000.0..=100_000.0).contains(&n) {
                return Err(Reply::field_error(
                    400,
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    &format!(
                        "{}: value outside of valid range on numeric field: {n}",
                        f.label
                    ),
                    &[f.name],
                ));
            }
            if k == FieldType::Int {
                Ok(json!(n as i64))
            } else {
                Ok(json!(n))
            }
        }
        FieldType::Date => {
            let s = value.as_str().unwrap_or_default();
            let date = chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d");
            match date {
                Ok(d) if value.is_string() => Ok(json!(d.to_string())),
                _ => Err(parser_error(f.kind, value)),
            }
        }
        FieldType::DateTime => {
            let s = value.as_str().unwrap_or_default();
            match DateTime::parse_from_rfc3339(s)
                .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
            {
                Ok(t) => Ok(json!(stamp(t.with_timezone(&Utc)))),
                Err(_) => Err(parser_error(f.kind, value)),
            }
        }
        _ => Err(parser_error(f.kind, value)),
    }
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !s.contains(' ')
}

impl State {
    /// Checks a write body; the changes to apply, or the error.
    fn check_body(&self, object: SObject, body: &[u8], create: bool) -> Result<Row, Reply> {
        let parsed: Value = serde_json::from_slice(body).map_err(|e| {
            Reply::error(
                400,
                "JSON_PARSER_ERROR",
                &format!(
                    "Unexpected character at [line:{}, column:{}]",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let Value::Object(map) = parsed else {
            return Err(Reply::error(
                400,
                "JSON_PARSER_ERROR",
                &format!(
                    "Cannot deserialize instance of {} from {} value",
                    object.name(),
                    if parsed.is_array() {
                        "START_ARRAY"
                    } else {
                        "VALUE_STRING"
                    }
                ),
            ));
        };
        let mut changes = Row::new();
        for (k, v) in map {
            if k == "attributes" {
                continue;
            }
            let Some(f) = self.field(object, &k) else {
                return Err(Reply::error(
                    400,
                    "INVALID_FIELD",
                    &format!("No such column '{k}' on sobject of type {}", object.name()),
                ));
            };
            if !(if create { f.createable } else { f.updateable }) {
                return Err(Reply::field_error(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    &format!("Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.name),
                    &[f.name],
                ));
            }
            let stored = check_value(f, &v)?;
            if let (Some(to), Some(id)) = (f.reference_to.and_then(SObject::parse), stored.as_str())
            {
                let live = self
                    .find(to, id)
                    .is_some_and(|r| r.get("IsDeleted") != Some(&json!(true)));
                if !id_shaped(to, id) {
                    return Err(Reply::field_error(
                        400,
                        "FIELD_INTEGRITY_EXCEPTION",
                        &format!("{}: id value of incorrect type: {id}", f.label),
                        &[f.name],
                    ));
                }
                if !live {
                    return Err(Reply::field_error(
                        400,
                        "INVALID_CROSS_REFERENCE_KEY",
                        "invalid cross reference id",
                        &[f.name],
                    ));
                }
            }
            changes.insert(f.name.to_string(), stored);
        }
        if create {
            // Booleans default to false and the currency to the user's.
            let missing: Vec<&str> = self
                .fields(object)
                .filter(|f| f.createable && !f.nillable && f.kind != FieldType::Boolean)
                .filter(|f| f.name != CURRENCY_FIELD)
                .filter(|f| changes.get(f.name).is_none_or(Value::is_null))
                .map(|f| f.name)
                .collect();
            if !missing.is_empty() {
                return Err(Reply::field_error(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    &format!("Required fields are missing: [{}]", missing.join(", ")),
                    &missing,
                ));
            }
        }
        for rule in &self.rules {
            if rule.object == object && changes.contains_key(&rule.field) {
                return Err(Reply::field_error(
                    400,
                    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                    &rule.message,
                    &[rule.field.as_str()],
                ));
            }
        }
        Ok(changes)
    }

    /// What follows from the changes: stage defaults, the full name, the
    /// single primary contact role.
    fn derive(&mut self, object: SObject, id: &str, changes: &Row) {
        let Some(row) = self.find_mut(object, id) else {
            return;
        };
        match object {
            SObject::Opportunity => {
                if let Some(s) = changes
                    .get("StageName")
                    .and_then(Value::as_str)
                    .and_then(stage)
                {
                    let (_, probability, forecast, closed, won) = *s;
                    if !changes.contains_key("Probability") {
                        row.insert("Probability".into(), json!(probability));
                    }
                    if !changes.contains_key("ForecastCategoryName") {
                        row.insert("ForecastCategoryName".into(), json!(forecast));
                    }
                    row.insert("IsClosed".into(), json!(closed));
                    row.insert("IsWon".into(), json!(won));
                }
            }
            SObject::Contact | SObject::User => {
                let first = row.get("FirstName").and_then(Value::as_str).unwrap_or("");
                let last = row.get("LastName").and_then(Value::as_str).unwrap_or("");
                let name = format!("{first} {last}").trim().to_string();
                row.insert("Name".into(), json!(name));
            }
            SObject::OpportunityContactRole => {
                let opportunity = row
                    .get("OpportunityId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let primary = row.get("IsPrimary") == Some(&json!(true));
                if primary {
                    let own = id.to_string();
                    for r in self
                        .records
                        .get_mut(&SObject::OpportunityContactRole)
                        .into_iter()
                        .flatten()
                    {
                        let same_opp = r
                            .get("OpportunityId")
                            .and_then(Value::as_str)
                            .is_some_and(|o| state::same_id(o, &opportunity));
                        let other = r
                            .get("Id")
                            .and_then(Value::as_str)
                            .is_some_and(|i| !state::same_id(i, &own));
                        if same_opp && other {
                            r.insert("IsPrimary".into(), json!(false));
                        }
                    }
                }
                self.sync_primary_contact(&opportunity);
            }
            SObject::Account => {}
        }
    }

    /// `POST sobjects/{Type}`: 201 `{id, success, errors}`.
    pub(super) fn create(&mut self, object: SObject, body: &[u8]) -> Reply {
        let mut changes = match self.check_body(object, body, true) {
            Ok(c) => c,
            Err(e) => return e,
        };
        if object == SObject::OpportunityContactRole {
            changes.entry("IsPrimary").or_insert(json!(false));
        }
        if object == SObject::Opportunity {
            if let Some(s) = changes
                .get("StageName")
                .and_then(Value::as_str)
                .and_then(stage)
            {
                changes.entry("Probability").or_insert(json!(s.1));
            }
        }
        changes
            .entry("OwnerId")
            .or_insert(json!(self.config.user_id));
        if object.field("OwnerId").is_none() {
            changes.remove("OwnerId");
        }
        let at = self.tick();
        let id = self.insert(object, changes.clone(), at);
        self.derive(object, &id, &changes);
        Reply::json(201, json!({"id": id, "success": true, "errors": []}))
    }

    /// `PATCH sobjects/{Type}/{Id}`: 204.
    pub(super) fn update(&mut self, object: SObject, id: &str, body: &[u8]) -> Reply {
        if let Some(e) = self.writable(object, id) {
            return e;
        }
        let changes = match self.check_body(object, body, false) {
            Ok(c) => c,
            Err(e) => return e,
        };
        if let Some(row) = self.find_mut(object, id) {
            for (k, v) in &changes {
                row.insert(k.clone(), v.clone());
            }
        }
        self.derive(object, id, &changes);
        self.touch(object, id);
        Reply::empty(204)
    }

    /// `DELETE sobjects/{Type}/{Id}`: 204; an account takes its contacts
    /// and opportunities with it, an opportunity its contact roles.
    pub(super) fn delete(&mut self, object: SObject, id: &str) -> Reply {
        if let Some(e) = self.writable(object, id) {
            return e;
        }
        self.cascade_delete(object, id);
        Reply::empty(204)
    }

    /// Deletes a record and what Salesforce deletes with it.
    pub(super) fn cascade_delete(&mut self, object: SObject, id: &str) -> bool {
        if !self.soft_delete(object, id) {
            return false;
        }
        match object {
            SObject::Account => {
                for c in self.children(SObject::Contact, "AccountId", id) {
                    self.cascade_delete(SObject::Contact, &c);
                }
                for o in self.children(SObject::Opportunity, "AccountId", id) {
                    self.cascade_delete(SObject::Opportunity, &o);
                }
            }
            SObject::Opportunity => {
                for r in self.children(SObject::OpportunityContactRole, "OpportunityId", id) {
                    self.soft_delete(SObject::OpportunityContactRole, &r);
                }
            }
            SObject::Contact => {
                for r in self.children(SObject::OpportunityContactRole, "ContactId", id) {
                    let opp = self
                        .find(SObject::OpportunityContactRole, &r)
                        .and_then(|row| row.get("OpportunityId"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    self.soft_delete(SObject::OpportunityContactRole, &r);
                    if let Some(opp) = opp {
                        self.sync_primary_contact(&opp);
                    }
                }
            }
            SObject::User => {}
            SObject::OpportunityContactRole => {
                let opp = self
                    .find(object, id)
                    .and_then(|row| row.get("OpportunityId"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if let Some(opp) = opp {
                    self.sync_primary_contact(&opp);
                }
            }
        }
        true
    }

    /// The refusal for writing `id`, if it cannot be written.
    fn writable(&self, object: SObject, id: &str) -> Option<Reply> {
        if !id_shaped(object, id) {
            return Some(Reply::error(
                404,
                "NOT_FOUND",
                &format!("Provided external ID field does not exist or is not accessible: {id}"),
            ));
        }
        match self.find(object, id) {
            None => Some(Reply::not_found()),
            Some(r) if r.get("IsDeleted") == Some(&json!(true)) => {
                Some(Reply::error(404, "ENTITY_IS_DELETED", "entity is deleted"))
            }
            Some(_) => None,
        }
    }
}
