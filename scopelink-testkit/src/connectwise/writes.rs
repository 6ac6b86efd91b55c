//! Writes: opportunity patches and callback creation.

use super::*;

/// A reference given as `{"id": n}` or `{"name": ".."}` / `{"identifier": ".."}`.
pub(super) fn ref_key(v: &Value) -> Option<(Option<u64>, Option<String>)> {
    let m = v.as_object()?;
    let id = field_ci(m, "id").and_then(|id| {
        id.as_u64()
            .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
    });
    let name = field_ci(m, "name")
        .or_else(|| field_ci(m, "identifier"))
        .and_then(Value::as_str)
        .map(str::to_string);
    (id.is_some() || name.is_some()).then_some((id, name))
}

impl State {
    pub(super) fn apply_opportunity_op(
        &self,
        opp: &mut Opportunity,
        path: &str,
        v: &Value,
    ) -> Result<(), Problem> {
        let field = path.to_string();
        let text = |v: &Value| -> Result<Box<str>, Problem> {
            match v {
                Value::Null => Ok("".into()),
                Value::String(s) => Ok(s.as_str().into()),
                _ => Err((
                    "InvalidField",
                    field.clone(),
                    format!("{field} must be a string."),
                )),
            }
        };
        let reference = |v: &Value| {
            ref_key(v).ok_or_else(|| {
                (
                    "InvalidField",
                    field.clone(),
                    format!("{field} must be replaced whole with a reference object such as {{\"id\": 4}}."),
                )
            })
        };
        if path.contains('/') {
            return Err((
                "InvalidField",
                field.clone(),
                format!("'{path}': reference objects must be replaced whole (path \"stage\" with value {{\"id\": 4}}); a nested path is not applied by ConnectWise."),
            ));
        }
        match path {
            "name" => {
                let n = text(v)?;
                if n.trim().is_empty() || n.chars().count() > 100 {
                    return Err(("InvalidField", field, "name must be 1 to 100 characters.".into()));
                }
                opp.name = n;
            }
            "notes" => opp.notes = text(v)?,
            "source" => opp.source = text(v)?,
            "customerPO" => opp.customer_po = text(v)?,
            "expectedCloseDate" | "closedDate" => {
                let secs = match v {
                    Value::String(s) => parse_ts_millis(s).map(|ms| ms.div_euclid(1000)),
                    _ => None,
                };
                match (path, secs, v.is_null()) {
                    ("closedDate", None, true) => opp.closed_date = None,
                    ("closedDate", Some(s), _) => opp.closed_date = Some(s),
                    ("expectedCloseDate", Some(s), _) => opp.expected_close = s,
                    _ => {
                        return Err((
                            "InvalidField",
                            field.clone(),
                            format!("{field} must be a date-time such as \"2025-05-31T00:00:00Z\"."),
                        ))
                    }
                }
            }
            "stage" => {
                let (id, name) = reference(v)?;
                let stage = STAGES.iter().find(|s| {
                    id.is_some_and(|i| i == s.0)
                        || name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(s.1))
                });
                match stage {
                    Some(s) => opp.stage = s.0,
                    None => {
                        return Err((
                            "InvalidField",
                            field,
                            format!("Stage id {} is invalid.", id.map_or("?".into(), |i| i.to_string())),
                        ))
                    }
                }
            }
            "probability" => {
                let (id, name) = reference(v)?;
                let p = PROBABILITIES.iter().find(|p| {
                    id.is_some_and(|i| i == p.0)
                        || name.as_deref().is_some_and(|n| n.trim() == p.1.to_string())
                });
                match p {
                    Some(p) => opp.probability = p.0,
                    None => {
                        return Err((
                            "InvalidField",
                            field,
                            format!("Probability id {} is invalid.", id.map_or("?".into(), |i| i.to_string())),
                        ))
                    }
                }
            }
            "status" => {
                let (id, name) = reference(v)?;
                let s = OPPORTUNITY_STATUSES.iter().find(|s| {
                    id.is_some_and(|i| i == s.0)
                        || name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(s.1))
                });
                match s {
                    Some(s) => {
                        opp.status = s.0;
                        if s.4 {
                            opp.closed_date.get_or_insert_with(now_secs);
                        } else {
                            opp.closed_date = None;
                        }
                    }
                    None => {
                        return Err((
                            "InvalidField",
                            field,
                            format!("Status id {} is invalid.", id.map_or("?".into(), |i| i.to_string())),
                        ))
                    }
                }
            }
            "contact" => {
                if v.is_null() {
                    opp.contact = None;
                } else {
                    let (id, _) = reference(v)?;
                    match id.filter(|i| self.data.contact(*i).is_some()) {
                        Some(i) => opp.contact = Some(i),
                        None => {
                            return Err((
                                "InvalidField",
                                field,
                                format!("Contact id {} is invalid.", id.map_or("?".into(), |i| i.to_string())),
                            ))
                        }
                    }
                }
            }
            "company" => {
                let (id, _) = reference(v)?;
                match id.filter(|i| self.data.company(*i).is_some()) {
                    Some(i) => opp.company = i,
                    None => {
                        return Err((
                            "InvalidField",
                            field,
                            format!("Company id {} is invalid.", id.map_or("?".into(), |i| i.to_string())),
                        ))
                    }
                }
            }
            other => {
                return Err((
                    "InvalidField",
                    field.clone(),
                    format!("'{other}' is not a writable opportunity field in the simulator (paths are case-sensitive)."),
                ))
            }
        }
        Ok(())
    }

    pub(super) fn patch_opportunity(&mut self, req: &Request, id: u64) -> Reply {
        let ops = match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Array(a)) => a,
            Ok(_) => return bad_request("A PATCH body must be a JSON array of {op, path, value}."),
            Err(e) => return bad_request(format!("The request body is not valid JSON: {e}")),
        };
        let Some(i) = find(&self.data.opportunities, id, |o| o.id) else {
            return not_found("Opportunity", id);
        };
        let mut opp = self.data.opportunities[i].clone();
        let mut problems = Vec::new();
        for op in &ops {
            let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
            let Some(path) = op.get("path").and_then(Value::as_str) else {
                problems.push((
                    "InvalidField",
                    "path".into(),
                    "Each operation needs a path.".into(),
                ));
                continue;
            };
            let path = path.strip_prefix('/').unwrap_or(path);
            let value = op.get("value").unwrap_or(&Value::Null);
            let result = match kind.to_ascii_lowercase().as_str() {
                "replace" | "add" => self.apply_opportunity_op(&mut opp, path, value),
                "remove" => self.apply_opportunity_op(&mut opp, path, &Value::Null),
                other => Err((
                    "InvalidField",
                    "op".into(),
                    format!("Unsupported patch op '{other}' (use add, replace or remove)."),
                )),
            };
            if let Err(p) = result {
                problems.push(p);
            }
        }
        if !problems.is_empty() {
            return invalid("opportunity", problems);
        }
        opp.last_updated = now_secs().max(opp.last_updated);
        opp.updated_by = API_MEMBER;
        self.data.opportunities[i] = opp;
        self.bump();
        single_row(&self.data.opportunities, &self.data, id, "Opportunity")
    }

    pub(super) fn create_callback(&mut self, req: &Request) -> Reply {
        let m = match body_object(req, "callbackEntry") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let mut problems = Vec::new();
        let url = str_of(&m, "url");
        match url {
            None => required(&mut problems, "url"),
            Some(u) => {
                let ok = url::Url::parse(u)
                    .is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
                if !ok {
                    problems.push(("InvalidField", "url".into(), "Invalid URL".into()));
                }
            }
        }
        let object_id = field_ci(&m, "objectId").and_then(Value::as_i64);
        if object_id.is_none() {
            required(&mut problems, "objectId");
        }
        let kind = str_of(&m, "type").map(str::to_ascii_lowercase);
        match kind.as_deref() {
            None => required(&mut problems, "type"),
            Some(t) if !CALLBACK_TYPES.contains(&t) => problems.push((
                "InvalidField",
                "type".into(),
                format!("Unrecognized type '{t}'"),
            )),
            _ => {}
        }
        let level = str_of(&m, "level").map(str::to_ascii_lowercase);
        match level.as_deref() {
            None => required(&mut problems, "level"),
            Some(l) => {
                let ok = l == "owner"
                    || match kind.as_deref() {
                        Some("company") => {
                            ["status", "type", "territory", "company", "integratortag"].contains(&l)
                        }
                        Some("contact") => ["type", "contact", "company"].contains(&l),
                        Some("ticket") => {
                            ["board", "status", "ticket", "company", "project", "phase"]
                                .contains(&l)
                        }
                        Some("activity") => ["status", "type", "company", "activity"].contains(&l),
                        Some("opportunity") => {
                            ["status", "type", "opportunity", "company"].contains(&l)
                        }
                        Some("project") => ["board", "status", "project", "company"].contains(&l),
                        _ => false,
                    };
                if !ok {
                    problems.push((
                        "InvalidObject",
                        "level".into(),
                        "Unrecognized level for type, see documentation for supported levels for each type".into(),
                    ));
                }
            }
        }
        let description = str_of(&m, "description").unwrap_or("");
        if description.chars().count() > 100 {
            problems.push((
                "InvalidField",
                "description".into(),
                "description may not exceed 100 characters.".into(),
            ));
        }
        if !problems.is_empty() {
            return invalid("callbackEntry", problems);
        }
        let (url, kind, level) = (
            url.unwrap_or_default().to_string(),
            kind.unwrap_or_default(),
            level.unwrap_or_default(),
        );
        let object_id = if level == "owner" {
            1
        } else {
            object_id.unwrap_or(0)
        };
        let duplicate = self.callbacks.iter().any(|c| {
            c["url"] == json!(url)
                && c["type"] == json!(kind)
                && c["level"] == json!(level)
                && c["objectId"] == json!(object_id)
        });
        if duplicate {
            return invalid(
                "callbackEntry",
                vec![(
                    "ObjectExists",
                    "objectId".into(),
                    "A matching callback entry already exists".into(),
                )],
            );
        }
        let id = 26_600 + self.new_id();
        let entry = json!({
            "id": id,
            "description": description,
            "url": url,
            "objectId": object_id,
            "type": kind,
            "level": level,
            "memberId": 243,
            "payloadVersion": str_of(&m, "payloadVersion").unwrap_or("3.0.0"),
            "inactiveFlag": bool_of(&m, "inactiveFlag").unwrap_or(false),
            "isSoapCallbackFlag": false,
            "isSelfSuppressedFlag": bool_of(&m, "isSelfSuppressedFlag").unwrap_or(false),
            "connectWiseID": guid(0x1b7e_2d4c, id),
            "_info": {"lastUpdated": ts(now_secs()), "updatedBy": API_MEMBER},
        });
        self.callbacks.push(entry.clone());
        self.bump();
        Reply::json(201, &entry)
    }
}
