//! Reads by id and writes: `POST` create, `PATCH` / `PUT` update with the id
//! in the body, `DELETE`, at an entity's root or its parent's child URL.

use super::metadata::in_picklist;
use super::values::coerce;
use super::*;

/// Autotask's message for a picklist or reference value that names nothing
/// (also what a missing `taskType` gets).
fn no_reference(field: &str) -> String {
    format!("Value does not reference an existing entity for {field} . ")
}

/// The fields of `def` whose value differs between `before` and `after`.
pub(super) fn changed_fields(
    def: &EntityDef,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
) -> Vec<&'static str> {
    def.fields
        .iter()
        .filter(|f| before.get(f.name) != after.get(f.name))
        .map(|f| f.name)
        .collect()
}

impl State {
    pub(super) fn get_item(&mut self, def: &EntityDef, id: &str, parent: Option<i64>) -> Out {
        let row = id
            .parse::<i64>()
            .ok()
            .and_then(|id| self.tables.get(def.name).and_then(|t| t.get(&id)))
            .filter(|row| match (parent, def.child_of) {
                (Some(p), Some(c)) => row.get(c.parent_field).and_then(id_of) == Some(p),
                _ => true,
            });
        match row {
            Some(row) => ok(json!({ "item": row })),
            None => (404, None),
        }
    }

    fn exists(&self, entity: &str, id: i64) -> bool {
        self.tables.get(entity).is_some_and(|t| t.contains_key(&id))
    }

    /// The body as an object, or the refusal.
    fn write_body(req: &Request) -> Result<Map<String, Value>, Out> {
        match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(errors(500, "The request body must be a JSON object.")),
        }
    }

    /// The parent's id checked against the body: the parent must exist, and
    /// a parent field in the body must name it.
    fn check_parent(
        &self,
        def: &EntityDef,
        body: &Map<String, Value>,
        parent: Option<i64>,
    ) -> Result<(), Out> {
        let (Some(c), Some(pid)) = (def.child_of, parent) else {
            return Ok(());
        };
        if !self.exists(c.parent, pid) {
            return Err(errors(
                500,
                format!(
                    "No matching records found for the parent {} id {pid}.",
                    c.parent
                ),
            ));
        }
        match get_ci(body, c.parent_field).filter(|v| !v.is_null()) {
            Some(v) if id_of(v) != Some(pid) => Err(errors(
                500,
                format!(
                    "{} {v} in the body does not match the parent id {pid} in the URL.",
                    c.parent_field
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Applies the body's writable fields to `row` (read-only and unknown
    /// fields ignored); `replace` blanks the writable fields it leaves out.
    fn apply(
        &self,
        def: &EntityDef,
        row: &mut Map<String, Value>,
        body: &Map<String, Value>,
        replace: bool,
    ) -> Result<(), Out> {
        for field in def.fields.iter().filter(|f| !f.read_only) {
            let given = get_ci(body, field.name);
            let value = match given {
                Some(v) => coerce(field, v).map_err(|e| errors(500, e))?,
                None if replace => Value::Null,
                None => continue,
            };
            row.insert(field.name.to_string(), value);
        }
        if def.has_udfs {
            if let Some(udfs) = get_ci(body, "userDefinedFields") {
                let list = udfs
                    .as_array()
                    .ok_or_else(|| errors(500, "userDefinedFields must be a list."))?;
                let mut stored: Vec<Value> = row
                    .get("userDefinedFields")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for u in list {
                    let name = u.get("name").and_then(Value::as_str).unwrap_or("");
                    let known = query::udf_names(def)
                        .iter()
                        .find(|n| n.eq_ignore_ascii_case(name))
                        .ok_or_else(|| {
                            errors(500, format!("Unable to find user-defined field {name}."))
                        })?;
                    let value = u.get("value").cloned().unwrap_or(Value::Null);
                    stored.retain(|s| s.get("name").and_then(Value::as_str) != Some(known));
                    stored.push(json!({ "name": known, "value": value }));
                }
                row.insert("userDefinedFields".into(), Value::Array(stored));
            }
        }
        Ok(())
    }

    /// Required fields, picklists, references and the cross-field rules.
    fn validate(&self, def: &EntityDef, row: &Map<String, Value>) -> Result<(), Out> {
        for field in def.fields {
            let value = row.get(field.name).unwrap_or(&Value::Null);
            if value.is_null() {
                if field.required && !field.read_only {
                    let message = if field.picklist.is_some() || field.reference.is_some() {
                        no_reference(field.name)
                    } else {
                        format!("{} is a required field and was not supplied.", field.name)
                    };
                    return Err(errors(500, message));
                }
                continue;
            }
            if let Some(n) = value.as_i64() {
                if (field.picklist.is_some() || field.webhook_fields_of.is_some())
                    && !in_picklist(field, n)
                {
                    return Err(errors(500, no_reference(field.name)));
                }
                if let Some(target) = field.reference {
                    let held = entity_def(target).is_some_and(|d| self.tables.contains_key(d.name));
                    if held && !self.exists(target, n) {
                        return Err(errors(500, no_reference(field.name)));
                    }
                }
            }
        }
        let int = |k: &str| row.get(k).and_then(Value::as_i64);
        match def.name {
            "Tasks" => {
                if int("assignedResourceID").is_some() != int("assignedResourceRoleID").is_some() {
                    return Err(errors(
                        500,
                        "When assigning a Resource, you must assign both a assignedResourceID and assignedResourceRoleID.",
                    ));
                }
                if let Some(phase) = int("phaseID") {
                    let phase_project = self
                        .tables
                        .get("Phases")
                        .and_then(|t| t.get(&phase))
                        .and_then(|p| p.get("projectID"))
                        .and_then(id_of);
                    if phase_project != int("projectID") {
                        return Err(errors(
                            500,
                            format!("Phase {phase} does not belong to the task's project."),
                        ));
                    }
                }
            }
            "Phases" => {
                if let Some(parent) = int("parentPhaseID") {
                    let parent_project = self
                        .tables
                        .get("Phases")
                        .and_then(|t| t.get(&parent))
                        .and_then(|p| p.get("projectID"))
                        .and_then(id_of);
                    if parent_project != int("projectID") {
                        return Err(errors(
                            500,
                            format!("Phase {parent} does not belong to the phase's project."),
                        ));
                    }
                }
            }
            "Projects" => {
                let date = |k: &str| {
                    row.get(k)
                        .and_then(Value::as_str)
                        .and_then(values::parse_datetime)
                };
                if let (Some(s), Some(e)) = (date("startDateTime"), date("endDateTime")) {
                    if e < s {
                        return Err(errors(
                            500,
                            "The project's endDateTime must not be before its startDateTime.",
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// What a write changes besides the body: stamps, generated numbers,
    /// a webhook's readiness.
    fn stamp_row(&mut self, def: &EntityDef, row: &mut Map<String, Value>, created: bool) {
        let now = self.now();
        if created {
            if let Some(f) = def.created_field {
                row.insert(f.into(), json!(now));
            }
            let id = row.get("id").and_then(Value::as_i64).unwrap_or(0);
            match def.name {
                "Projects" => {
                    row.insert("projectNumber".into(), json!(format!("P2026{id:06}")));
                    row.insert("completedPercentage".into(), json!(0));
                }
                "Phases" => {
                    row.insert("phaseNumber".into(), json!(format!("PH{id}")));
                    row.insert("estimatedHours".into(), json!(0.0));
                }
                n if n.ends_with("Webhooks") => {
                    row.insert("isReady".into(), json!(false));
                    row.insert(
                        "webhookGUID".into(),
                        json!(format!(
                            "{:08x}-5a17-4e0c-9d3b-{:012x}",
                            id,
                            self.sequence * 7919
                        )),
                    );
                }
                _ => {}
            }
        }
        for f in def.modified_fields {
            row.insert((*f).into(), json!(now));
        }
    }

    /// A webhook is ready once it has a subscribed field.
    fn refresh_webhook_ready(&mut self) {
        for kind in ["Company", "Contact"] {
            let Some((hooks, fields, _)) = webhook_entities(kind) else {
                continue;
            };
            let subscribed: Vec<i64> = self
                .tables
                .get(fields)
                .into_iter()
                .flat_map(|t| t.values())
                .filter(|f| f.get("isSubscribedField").and_then(Value::as_bool) == Some(true))
                .filter_map(|f| f.get("webhookID").and_then(id_of))
                .collect();
            if let Some(t) = self.tables.get_mut(hooks) {
                for (id, hook) in t.iter_mut() {
                    hook["isReady"] = json!(subscribed.contains(id));
                }
            }
        }
    }

    pub(super) fn create(
        &mut self,
        req: &Request,
        def: &'static EntityDef,
        parent: Option<i64>,
    ) -> Out {
        if !def.can_create {
            return method_not_allowed("POST");
        }
        let body = match Self::write_body(req) {
            Ok(b) => b,
            Err(out) => return out,
        };
        if let Some(id) = get_ci(&body, "id").filter(|v| !v.is_null()) {
            if id_of(id) != Some(0) {
                return errors(500, "The id of a new entity must be empty or 0.");
            }
        }
        if let Err(out) = self.check_parent(def, &body, parent) {
            return out;
        }
        let mut row = Map::new();
        for field in def.fields {
            row.insert(field.name.to_string(), Value::Null);
        }
        if def.has_udfs {
            let udfs: Vec<Value> = query::udf_names(def)
                .iter()
                .map(|n| json!({ "name": n, "value": null }))
                .collect();
            row.insert("userDefinedFields".into(), Value::Array(udfs));
        }
        if let Err(out) = self.apply(def, &mut row, &body, false) {
            return out;
        }
        if let (Some(c), Some(pid)) = (def.child_of, parent) {
            row.insert(c.parent_field.into(), json!(pid));
        }
        if let Err(out) = self.validate(def, &row) {
            return out;
        }
        let id = self.new_id(def.name);
        row.insert("id".into(), json!(id));
        self.stamp_row(def, &mut row, true);
        let row = Value::Object(row);
        self.queue_callouts(def.name, "Create", id, &row, &[]);
        self.tables.entry(def.name).or_default().insert(id, row);
        self.refresh_webhook_ready();
        ok(json!({ "itemId": id }))
    }

    pub(super) fn update(
        &mut self,
        req: &Request,
        def: &'static EntityDef,
        parent: Option<i64>,
        replace: bool,
    ) -> Out {
        if !def.can_update {
            return method_not_allowed(if replace { "PUT" } else { "PATCH" });
        }
        let body = match Self::write_body(req) {
            Ok(b) => b,
            Err(out) => return out,
        };
        let Some(id) = get_ci(&body, "id").and_then(id_of).filter(|id| *id > 0) else {
            return errors(
                500,
                "The id of the entity to update is missing from the body.",
            );
        };
        if let Err(out) = self.check_parent(def, &body, parent) {
            return out;
        }
        let existing = self
            .tables
            .get(def.name)
            .and_then(|t| t.get(&id))
            .and_then(Value::as_object)
            .cloned()
            .filter(|row| match (parent, def.child_of) {
                (Some(p), Some(c)) => row.get(c.parent_field).and_then(id_of) == Some(p),
                _ => true,
            });
        let Some(mut row) = existing else {
            return errors(
                500,
                format!("No matching records found for {} id {id}.", def.name),
            );
        };
        let before = row.clone();
        // Fields that cannot change on update.
        let fixed: &[&str] = match def.name {
            "Projects" => &["companyID"],
            "Phases" | "Tasks" => &["projectID"],
            "Contacts" => &["companyID"],
            n if n.ends_with("WebhookFields") => &["webhookID"],
            _ => &[],
        };
        for f in fixed {
            if let Some(v) = get_ci(&body, f).filter(|v| !v.is_null()) {
                if id_of(v) != row.get(*f).and_then(id_of) {
                    return errors(500, format!("{f} cannot be changed on update."));
                }
            }
        }
        let kept: Vec<(String, Value)> = fixed
            .iter()
            .map(|f| {
                (
                    (*f).to_string(),
                    row.get(*f).cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        if let Err(out) = self.apply(def, &mut row, &body, replace) {
            return out;
        }
        for (k, v) in kept {
            row.insert(k, v);
        }
        if let Err(out) = self.validate(def, &row) {
            return out;
        }
        let changed = changed_fields(def, &before, &row);
        self.stamp_row(def, &mut row, false);
        let row = Value::Object(row);
        self.queue_callouts(def.name, "Update", id, &row, &changed);
        self.tables.entry(def.name).or_default().insert(id, row);
        self.refresh_webhook_ready();
        ok(json!({ "itemId": id }))
    }

    pub(super) fn delete(&mut self, def: &'static EntityDef, id: &str, parent: Option<i64>) -> Out {
        let id = id.parse::<i64>().ok();
        let found = id.filter(|id| {
            self.tables
                .get(def.name)
                .and_then(|t| t.get(id))
                .is_some_and(|row| match (parent, def.child_of) {
                    (Some(p), Some(c)) => row.get(c.parent_field).and_then(id_of) == Some(p),
                    _ => true,
                })
        });
        let Some(id) = found else {
            return errors(
                500,
                "No matching records found. The delete was not performed.",
            );
        };
        if let Some(row) = self.tables.get_mut(def.name).and_then(|t| t.remove(&id)) {
            self.queue_callouts(def.name, "Delete", id, &row, &[]);
        }
        if def.name.ends_with("Webhooks") {
            let fields = format!("{}Fields", def.name.trim_end_matches('s'));
            if let Some(t) = self.tables.get_mut(fields.as_str()) {
                t.retain(|_, f| f.get("webhookID").and_then(id_of) != Some(id));
            }
        }
        self.refresh_webhook_ready();
        ok(json!({ "itemId": id }))
    }
}
