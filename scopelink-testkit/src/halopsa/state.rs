//! State: tokens, tickets, counters, and the reads.

use super::*;

pub(super) struct State {
    pub(super) config: HaloPsaSimConfig,
    pub(super) base: String,
    pub(super) tokens: HashMap<String, Instant>,
    pub(super) token_requests: usize,
    pub(super) token_counter: u64,
    /// Ticket creations (via `/api/Tickets`) seen so far, and the one to fail.
    pub(super) ticket_creates: usize,
    pub(super) fail_ticket_create_at: Option<usize>,
    /// Updates of existing tickets (a POST item with an `id`) seen so far,
    /// and the one to fail.
    pub(super) ticket_updates: usize,
    pub(super) fail_ticket_update_at: Option<usize>,
    pub(super) forbidden: Vec<String>,
    /// Every ticket (projects included) by id.
    pub(super) tickets: BTreeMap<i64, Value>,
    pub(super) next_ticket_id: i64,
    pub(super) next_milestone_id: i64,
    pub(super) next_link_id: i64,
    pub(super) clock: u64,
    pub(super) sim: SimLayer,
    /// HaloPSA's rate limit, when set ([`HaloPsaSim::limit_rate`]).
    pub(super) rate_window: Option<crate::sim::rate_window::RollingWindow>,
}

pub(super) fn id_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn field_id(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(id_of)
}

/// A reply: status and JSON body (none for an empty body).
pub(super) type Out = (u16, Option<Value>);

pub(super) fn json_response(status: u16, body: Value) -> Out {
    (status, Some(body))
}

/// HaloPSA's 429 body (`fixtures/halopsa/error_429.json`).
pub(super) fn rate_limit_body() -> Value {
    json!({"error": "Rate Limit Reached - 300 Requests per rolling 5 minute window"})
}

pub(super) fn empty(status: u16) -> Out {
    (status, None)
}

pub(super) fn validation(index: usize, field: &str, message: String) -> Out {
    json_response(400, json!({ format!("[{index}].{field}"): message }))
}

pub(super) fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

pub(super) struct Query(pub(super) Vec<(String, String)>);

impl Query {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl State {
    pub(super) fn now_stamp(&mut self) -> String {
        // A deterministic clock: one second per write, from a fixed date.
        self.clock += 1;
        let base = chrono::NaiveDate::from_ymd_opt(2025, 2, 20)
            .and_then(|d| d.and_hms_opt(14, 0, 0))
            .unwrap_or_default();
        (base + chrono::Duration::seconds(self.clock as i64))
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    }

    pub(super) fn token(&mut self, req: &Request, query: &Query) -> Out {
        self.token_requests += 1;
        if req.method.as_str() != "POST" {
            return empty(405);
        }
        let form_ct = req
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_ct {
            return json_response(400, json!({"error": "invalid_request"}));
        }
        let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body)
            .into_owned()
            .collect();
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        if field("grant_type") != "client_credentials" {
            return json_response(400, json!({"error": "unsupported_grant_type"}));
        }
        match query.get("tenant").map(str::trim).filter(|t| !t.is_empty()) {
            Some(asked) if self.config.tenant.as_deref() != Some(asked) => {
                return json_response(
                    400,
                    json!({"error": "invalid_request", "error_description": "unknown tenant"}),
                );
            }
            None if self.config.tenant_required => {
                return json_response(
                    400,
                    json!({"error": "invalid_request", "error_description": "tenant is required"}),
                );
            }
            _ => {}
        }
        if field("client_id") != self.config.client_id
            || field("client_secret") != self.config.client_secret
            || !self.config.application_active
        {
            return json_response(
                401,
                fixture(include_str!(
                    "../../../fixtures/halopsa/token_error_invalid_client.json"
                )),
            );
        }
        let scope = field("scope");
        let known = |s: &str| {
            matches!(
                s,
                "all"
                    | "all:standard"
                    | "admin"
                    | "read:tickets"
                    | "edit:tickets"
                    | "read:customers"
                    | "edit:customers"
                    | "read:crm"
                    | "edit:crm"
                    | "read:projects"
                    | "edit:projects"
            )
        };
        if scope.is_empty() || !scope.split(' ').all(known) {
            return json_response(400, json!({"error": "invalid_scope"}));
        }
        self.token_counter += 1;
        let token = format!(
            "sim-token-{}-{:08x}",
            self.token_counter,
            (self.token_counter.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32
        );
        self.tokens.insert(
            token.clone(),
            Instant::now() + Duration::from_secs(self.config.expires_in),
        );
        json_response(
            200,
            json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.config.expires_in,
                "scope": scope,
            }),
        )
    }

    pub(super) fn authorized(&self, req: &Request) -> bool {
        req.headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| self.tokens.get(t))
            .is_some_and(|exp| Instant::now() < *exp)
    }

    pub(super) fn page(&self, items: Vec<Value>, key: &str, query: &Query) -> Out {
        let total = items.len();
        if !truthy(query.get("pageinate")) {
            let count = query
                .get("count")
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(total);
            let items: Vec<Value> = items.into_iter().take(count).collect();
            return json_response(200, json!({ "record_count": total, key: items }));
        }
        let size = query
            .get("page_size")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(50)
            .clamp(1, self.config.max_page_size.max(1));
        let page_no = query
            .get("page_no")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let slice: Vec<Value> = items
            .into_iter()
            .skip((page_no - 1).saturating_mul(size))
            .take(size)
            .collect();
        json_response(
            200,
            json!({ "page_no": page_no, "page_size": size, "record_count": total, key: slice }),
        )
    }

    pub(super) fn clients(&self, query: &Query) -> Out {
        let include_inactive = truthy(query.get("includeinactive"));
        let include_active = query
            .get("includeactive")
            .is_none_or(|v| !v.eq_ignore_ascii_case("false"));
        let toplevel = query.get("toplevel_id").and_then(|t| t.parse::<i64>().ok());
        let search = query.get("search").map(str::to_ascii_lowercase);
        let items = self
            .config
            .clients
            .iter()
            .filter(|c| {
                let inactive = c.get("inactive").and_then(Value::as_bool).unwrap_or(false);
                (if inactive {
                    include_inactive
                } else {
                    include_active
                }) && toplevel.is_none_or(|t| field_id(c, "toplevel_id") == Some(t))
                    && search.as_ref().is_none_or(|s| {
                        c.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| n.to_ascii_lowercase().contains(s))
                    })
            })
            .cloned()
            .collect();
        self.page(items, "clients", query)
    }

    pub(super) fn users(&self, query: &Query) -> Out {
        let include_inactive = truthy(query.get("includeinactive"));
        let client = query.get("client_id").and_then(|t| t.parse::<i64>().ok());
        let items = self
            .config
            .users
            .iter()
            .filter(|u| {
                (include_inactive || !u.get("inactive").and_then(Value::as_bool).unwrap_or(false))
                    && client.is_none_or(|c| field_id(u, "client_id") == Some(c))
            })
            .cloned()
            .collect();
        self.page(items, "users", query)
    }

    pub(super) fn opportunities(&self, query: &Query) -> Out {
        let from = query.get("lastupdatefromdate").map(str::to_string);
        let mut items: Vec<Value> = self
            .config
            .opportunities
            .iter()
            .filter(|o| {
                from.as_deref().is_none_or(|f| {
                    o.get("last_update")
                        .and_then(Value::as_str)
                        .is_some_and(|u| u >= f)
                })
            })
            .cloned()
            .collect();
        if query
            .get("order")
            .is_some_and(|o| o.eq_ignore_ascii_case("last_update"))
        {
            items.sort_by(|a, b| {
                let k = |v: &Value| {
                    v.get("last_update")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                k(a).cmp(&k(b))
            });
        }
        self.page(items, "tickets", query)
    }

    pub(super) fn find(list: &[Value], id: &str) -> Out {
        let id = id.parse::<i64>().ok();
        match list
            .iter()
            .find(|v| id.is_some() && field_id(v, "id") == id)
        {
            Some(v) => json_response(200, v.clone()),
            None => empty(404),
        }
    }

    pub(super) fn ticket_type(&self, id: i64) -> Option<&Value> {
        self.config
            .ticket_types
            .iter()
            .find(|t| field_id(t, "id") == Some(id))
    }

    /// The milestone of `project_id` whose membership holds ticket `id`
    /// (the first, as membership is many-to-many).
    pub(super) fn milestone_of(&self, project_id: i64, id: i64) -> Option<Value> {
        self.tickets
            .get(&project_id)?
            .get("milestones")?
            .as_array()?
            .iter()
            .find(|m| {
                m.get("tickets")
                    .and_then(Value::as_array)
                    .is_some_and(|rows| rows.iter().any(|r| field_id(r, "ticket_id") == Some(id)))
            })
            .cloned()
    }

    /// A stored ticket as the API shows it: milestones only with details,
    /// each with its member tickets (`tickets`); a child ticket's
    /// `milestone_id` and `milestone_name` come from that membership.
    pub(super) fn ticket_view(&self, id: i64, details: bool) -> Option<Value> {
        let mut t = self.tickets.get(&id)?.clone();
        let parent = field_id(&t, "parent_id").unwrap_or(0);
        let milestone = (parent > 0)
            .then(|| self.milestone_of(parent, id))
            .flatten();
        if let Some(obj) = t.as_object_mut() {
            if !details {
                obj.remove("milestones");
            }
            let children: Vec<i64> = self
                .tickets
                .values()
                .filter(|c| field_id(c, "parent_id") == Some(id))
                .filter_map(|c| field_id(c, "id"))
                .collect();
            obj.insert("child_count".into(), json!(children.len()));
            obj.insert("child_ticket_ids".into(), json!(children));
            obj.insert(
                "milestone_id".into(),
                json!(milestone
                    .as_ref()
                    .and_then(|m| field_id(m, "id"))
                    .unwrap_or(0)),
            );
            match milestone.as_ref().and_then(|m| m.get("name")) {
                Some(name) => obj.insert("milestone_name".into(), name.clone()),
                None => obj.remove("milestone_name"),
            };
        }
        Some(t)
    }

    pub(super) fn reply_view(&self, id: i64) -> Value {
        let mut v = self.ticket_view(id, true).unwrap_or(Value::Null);
        if !self.config.echo_milestones {
            if let Some(obj) = v.as_object_mut() {
                obj.remove("milestones");
            }
        }
        v
    }
}
