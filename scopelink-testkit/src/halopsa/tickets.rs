//! Ticket and project writes, milestones and their membership.

use super::*;

impl State {
    /// A milestone's membership from a posted `tickets_list`
    /// (`[{"id": ticket}]`): join rows as HaloPSA reports them, keeping the
    /// row ids of tickets that were members already.
    pub(super) fn membership(
        &mut self,
        milestone_id: i64,
        posted: Option<&Value>,
        before: &[Value],
        index: usize,
    ) -> Result<Vec<Value>, Out> {
        if !self.config.membership_writes {
            return Ok(before.to_vec());
        }
        let list = match posted {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(list)) => list,
            Some(_) => {
                return Err(validation(
                    index,
                    "milestones.tickets_list",
                    "must be a list".into(),
                ))
            }
        };
        let mut rows: Vec<Value> = Vec::new();
        for entry in list {
            let Some(ticket_id) = field_id(entry, "id").filter(|id| *id > 0) else {
                return Err(validation(
                    index,
                    "milestones.tickets_list",
                    "each entry needs the ticket's id".into(),
                ));
            };
            let Some(ticket) = self.tickets.get(&ticket_id) else {
                return Err(validation(
                    index,
                    "milestones.tickets_list",
                    format!("Ticket {ticket_id} does not exist."),
                ));
            };
            if rows
                .iter()
                .any(|r| field_id(r, "ticket_id") == Some(ticket_id))
            {
                continue;
            }
            let name = ticket.get("summary").cloned().unwrap_or(Value::Null);
            let row_id = match before
                .iter()
                .find(|r| field_id(r, "ticket_id") == Some(ticket_id))
                .and_then(|r| field_id(r, "id"))
            {
                Some(id) => id,
                None => {
                    self.next_link_id += 1;
                    self.next_link_id
                }
            };
            rows.push(json!({
                "id": row_id,
                "milestone_id": milestone_id,
                "ticket_id": ticket_id,
                "ticket_name": name,
            }));
        }
        Ok(rows)
    }

    /// Applies posted milestones to a project's list; returns the new list.
    /// Each posted milestone is rewritten whole: its writable fields come
    /// from the post or are blanked, its membership from `tickets_list`
    /// (the read-only `tickets` rows and any `milestone_id` on tickets are
    /// ignored).
    pub(super) fn merge_milestones(
        &mut self,
        project_id: i64,
        current: Vec<Value>,
        posted: &[Value],
        index: usize,
    ) -> Result<Vec<Value>, Out> {
        let mut by_id: BTreeMap<i64, Value> = current
            .iter()
            .filter_map(|m| field_id(m, "id").map(|id| (id, m.clone())))
            .collect();
        let mut out: Vec<Value> = match self.config.milestone_post {
            MilestonePost::Replace => Vec::new(),
            MilestonePost::Append => current.clone(),
        };
        for m in posted {
            let Some(obj) = m.as_object() else {
                return Err(validation(index, "milestones", "not an object".into()));
            };
            if obj
                .get("name")
                .and_then(Value::as_str)
                .is_none_or(|n| n.trim().is_empty())
            {
                return Err(validation(
                    index,
                    "milestones",
                    "A milestone needs a name.".into(),
                ));
            }
            let (id, before) = match field_id(m, "id").filter(|id| *id > 0) {
                Some(id) => {
                    let Some(existing) = by_id.remove(&id) else {
                        return Err(validation(
                            index,
                            "milestones",
                            format!("Milestone {id} does not exist on ticket {project_id}."),
                        ));
                    };
                    let before = existing
                        .get("tickets")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    (id, before)
                }
                None => {
                    self.next_milestone_id += 1;
                    (self.next_milestone_id, Vec::new())
                }
            };
            let mut row = Map::new();
            row.insert("id".into(), json!(id));
            row.insert("ticket_id".into(), json!(project_id));
            for field in MILESTONE_FIELDS {
                row.insert(field.into(), obj.get(field).cloned().unwrap_or(Value::Null));
            }
            let members = self.membership(id, obj.get("tickets_list"), &before, index)?;
            row.insert("tickets".into(), Value::Array(members));
            let row = Value::Object(row);
            match out.iter_mut().find(|x| field_id(x, "id") == Some(id)) {
                Some(slot) => *slot = row,
                None => out.push(row),
            }
        }
        Ok(out)
    }

    pub(super) fn update_ticket(
        &mut self,
        index: usize,
        item: &Map<String, Value>,
        id: i64,
    ) -> Result<i64, Out> {
        let Some(existing) = self.tickets.get(&id).cloned() else {
            return Err(validation(
                index,
                "id",
                format!("Ticket {id} does not exist."),
            ));
        };
        self.ticket_updates += 1;
        if self.fail_ticket_update_at == Some(self.ticket_updates) {
            self.fail_ticket_update_at = None;
            return Err(json_response(
                500,
                json!({"ClassName": "System.Exception", "Message": "Simulated failure while saving the ticket."}),
            ));
        }
        let mut updated = existing.as_object().cloned().unwrap_or_default();
        for (k, v) in item {
            // `milestone_id` and `milestone_name` are read-only: HaloPSA
            // answers 201 and leaves them as they were.
            if !matches!(
                k.as_str(),
                "milestones" | "id" | "milestone_id" | "milestone_name"
            ) {
                updated.insert(k.clone(), v.clone());
            }
        }
        if let Some(posted) = item.get("milestones") {
            let Some(posted) = posted.as_array() else {
                return Err(validation(index, "milestones", "must be a list".into()));
            };
            let current = existing
                .get("milestones")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let merged = self.merge_milestones(id, current, posted, index)?;
            updated.insert("milestones".into(), Value::Array(merged));
        }
        let stamp = self.now_stamp();
        updated.insert("last_update".into(), json!(stamp));
        self.tickets.insert(id, Value::Object(updated));
        Ok(id)
    }

    pub(super) fn create_ticket(
        &mut self,
        index: usize,
        item: &Map<String, Value>,
        via_projects: bool,
    ) -> Result<i64, Out> {
        let v = Value::Object(item.clone());
        if item
            .get("summary")
            .and_then(Value::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            return Err(validation(
                index,
                "summary",
                "Please enter a summary.".into(),
            ));
        }
        let client_id = field_id(&v, "client_id").unwrap_or(0);
        let client = self
            .config
            .clients
            .iter()
            .find(|c| field_id(c, "id") == Some(client_id))
            .cloned();
        let Some(client) = client else {
            return Err(json_response(
                400,
                json!("Please select a Customer before saving this Ticket."),
            ));
        };
        let type_id = field_id(&v, "tickettype_id").unwrap_or(0);
        let Some(ticket_type) = self.ticket_type(type_id).cloned() else {
            return Err(validation(
                index,
                "tickettype_id",
                format!("The ticket type {type_id} does not exist."),
            ));
        };
        let uses_milestones = ticket_type
            .get("usemilestones")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let parent_id = field_id(&v, "parent_id").unwrap_or(0);
        if parent_id > 0 && !self.tickets.contains_key(&parent_id) {
            return Err(validation(
                index,
                "parent_id",
                format!("The parent ticket {parent_id} does not exist."),
            ));
        }
        if item.contains_key("milestones") && !uses_milestones {
            return Err(validation(
                index,
                "milestones",
                format!("The ticket type {type_id} does not use milestones."),
            ));
        }
        if !via_projects {
            self.ticket_creates += 1;
            if self.fail_ticket_create_at == Some(self.ticket_creates) {
                self.fail_ticket_create_at = None;
                return Err(json_response(
                    500,
                    json!({"ClassName": "System.Exception", "Message": "Simulated failure while saving the ticket."}),
                ));
            }
        }
        self.next_ticket_id += 1;
        let id = self.next_ticket_id;
        let stamp = self.now_stamp();
        let mut t = item.clone();
        t.remove("milestones");
        // Read-only: a posted milestone is ignored (201 all the same).
        t.remove("milestone_name");
        t.insert("id".into(), json!(id));
        t.insert("dateoccurred".into(), json!(stamp));
        t.insert("last_update".into(), json!(stamp));
        t.insert(
            "client_name".into(),
            client.get("name").cloned().unwrap_or(Value::Null),
        );
        t.insert(
            "tickettype_name".into(),
            ticket_type.get("name").cloned().unwrap_or(Value::Null),
        );
        t.entry("status_id").or_insert(json!(1));
        t.insert("parent_id".into(), json!(parent_id));
        t.insert("milestone_id".into(), json!(0));
        let is_project = via_projects || uses_milestones;
        t.insert("is_project".into(), json!(is_project));
        // Stored first, so a project's own milestones may list it.
        self.tickets.insert(id, Value::Object(t.clone()));
        if is_project {
            let posted = item
                .get("milestones")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let merged = match self.merge_milestones(id, Vec::new(), &posted, index) {
                Ok(merged) => merged,
                Err(e) => {
                    self.tickets.remove(&id);
                    return Err(e);
                }
            };
            t.insert("milestones".into(), Value::Array(merged));
            self.tickets.insert(id, Value::Object(t));
        }
        Ok(id)
    }

    pub(super) fn post_tickets(&mut self, req: &Request, via_projects: bool) -> Out {
        let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
            return json_response(400, json!("The request body is not valid JSON."));
        };
        let Value::Array(items) = body else {
            return json_response(
                400,
                json!({"": "The request body must be a list of tickets."}),
            );
        };
        let mut ids = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let Some(obj) = item.as_object() else {
                return validation(index, "", "not an object".into());
            };
            let result = match field_id(item, "id").filter(|id| *id > 0) {
                Some(id) => self.update_ticket(index, obj, id),
                None => self.create_ticket(index, obj, via_projects),
            };
            match result {
                Ok(id) => ids.push(id),
                Err(resp) => return resp,
            }
        }
        let mut replies: Vec<Value> = ids.iter().map(|id| self.reply_view(*id)).collect();
        if replies.len() == 1 {
            json_response(201, replies.remove(0))
        } else {
            json_response(201, Value::Array(replies))
        }
    }
}
