//! A stateful HaloPSA simulator on wiremock.
//!
//! It answers the calls the HaloPSA connector makes, shaped like the
//! fixtures in `fixtures/halopsa/` (see that folder's README for what is
//! verified about the real API):
//!
//! - `POST /auth/token`: OAuth2 client credentials (form body; checks
//!   `grant_type`, `client_id`, `client_secret`, `scope`). `?tenant=` is
//!   optional, as on a hosted instance's own host (public clients post
//!   there without it); a tenant other than the instance's is refused, and
//!   [`HaloPsaSimConfig::tenant_required`] makes it mandatory.
//!   `{"error":"invalid_client","error_description":..}` with 401 for bad
//!   credentials or an inactive application.
//! - `GET /api/authinfo` (no token needed): `auth_url`, and `tenant_id`
//!   where the tenant is required.
//! - Every other `/api/...` call needs `Authorization: Bearer <token>` with
//!   a live token (401 with an empty body otherwise).
//! - `GET /api/Agent/me`, `/api/Agent`, `/api/Status`, `/api/Priority`,
//!   `/api/TicketType` (bare arrays), `/api/Client`, `/api/Users`,
//!   `/api/Opportunities` (paged with `pageinate=true&page_size&page_no`, a
//!   `record_count` wrapper, the filters the connector uses), single records
//!   by id.
//! - `POST /api/Projects` and `POST /api/Tickets` (array bodies): create, or
//!   update when an item has an `id`; projects' `milestones` arrays get ids;
//!   tasks link to their parent (`parent_id`). A ticket's `milestone_id` is
//!   read-only (accepted with 201 and left unchanged); a ticket joins a
//!   milestone only through the project's `milestones[].tickets_list`
//!   (`[{"id": ticket}]`), which HaloPSA reports back as the milestone's
//!   read-only `tickets` join rows. Posting `milestones` replaces the whole
//!   list: milestones left out are deleted and a field left off an included
//!   milestone is blanked (its membership too, when `tickets_list` is left
//!   off). `GET /api/Projects/{id}?includedetails=true` and
//!   `GET /api/Tickets/{id}` read them back.
//!
//! Paths are matched case-insensitively. Fault injection:
//! [`HaloSim::fail_next`], [`HaloSim::fail_on_ticket_create`],
//! [`HaloSim::fail_on_ticket_update`], [`HaloSim::expire_tokens`],
//! [`HaloSim::forbid`], [`HaloSim::set_membership_writes`], and
//! [`HaloSim::delete_milestone`] for an agent's edit in HaloPSA. Every
//! request is logged ([`HaloSim::requests`]) without its `Authorization`
//! header.
//!
//! Where the real behaviour is unknown the simulator picks the stricter
//! reading, so a connector that works here works under either: the
//! milestones' `GET` rows carry `tickets` but no `tickets_list` (the
//! schema's `MileStone` has only `tickets`), milestone dates may be empty,
//! and replies may leave the milestones out
//! ([`HaloPsaSimConfig::echo_milestones`]).

use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use wiremock::{MockServer, Request, ResponseTemplate};

pub use crate::sim::SimRequest;
use crate::sim::{lock, mount, SimLayer, Simulate};

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn fixture_list(text: &str, key: Option<&str>) -> Vec<Value> {
    let v = fixture(text);
    let list = match key {
        Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
        None => v,
    };
    match list {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// What posting a project's `milestones` array does to the milestones it
/// leaves out. Either way an included milestone is rewritten whole: its
/// fields left off are blanked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MilestonePost {
    /// The posted array becomes the list: milestones left out are deleted
    /// (with their membership). Items with a known `id` keep it. This is
    /// what a production Halo sync module documents.
    #[default]
    Replace,
    /// Items with an `id` update that milestone, items without are added,
    /// the rest are kept (a lenient reading, for comparison).
    Append,
}

/// The writable fields of a milestone (`MileStone` in the API schema):
/// each is set from a posted milestone, or blanked when left off.
const MILESTONE_FIELDS: [&str; 9] = [
    "name",
    "sequence",
    "start_date",
    "target_date",
    "start_days",
    "target_days",
    "milestone_value",
    "dependencies",
    "milestone_dependencies",
];

/// How the simulator starts.
#[derive(Debug, Clone)]
pub struct HaloPsaSimConfig {
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: String,
    /// The instance's tenant name. A token request naming another tenant
    /// (`?tenant=`) is refused with `invalid_request` "unknown tenant"; one
    /// without a tenant is accepted unless [`Self::tenant_required`].
    pub tenant: Option<String>,
    /// Whether token requests must name the tenant (an auth server shared
    /// by several tenants); `GET /api/authinfo` then reports it as
    /// `tenant_id`. Off by default: a hosted instance's own
    /// `/auth/token` knows its tenant from the host.
    pub tenant_required: bool,
    /// Token lifetime in seconds.
    pub expires_in: u64,
    /// Whether the API application is active (inactive: `invalid_client`).
    pub application_active: bool,
    /// Whether create/update replies include the project's milestones.
    pub echo_milestones: bool,
    /// What posting `milestones` does.
    pub milestone_post: MilestonePost,
    /// Whether `milestones[].tickets_list` changes membership. `false`
    /// models a HaloPSA that answers 201 and leaves membership as it was
    /// (as it does with a ticket's `milestone_id`), to check that a push
    /// verifies what it wrote.
    pub membership_writes: bool,
    /// The largest page size honoured.
    pub max_page_size: usize,
    /// Clients (`Area_List` objects).
    pub clients: Vec<Value>,
    /// Users (`Users_List` objects).
    pub users: Vec<Value>,
    /// Opportunities (`Faults` objects).
    pub opportunities: Vec<Value>,
    /// Ticket statuses.
    pub statuses: Vec<Value>,
    /// Priorities (one row per SLA, string `id`s).
    pub priorities: Vec<Value>,
    /// Ticket types.
    pub ticket_types: Vec<Value>,
    /// Agents.
    pub agents: Vec<Value>,
    /// The agent the application logs in as (`GET /api/Agent/me`).
    pub agent_me: Value,
}

impl Default for HaloPsaSimConfig {
    /// The fixtures: 5 clients, 3 users (one of an unknown client), 2
    /// opportunities, 4 statuses, 4 priority rows (3 distinct), ticket types
    /// 1 / 3 (project, milestones) / 26 (project task), credentials
    /// `sim-client` / `sim-secret`, tenant `acmemsp` (not required),
    /// tokens for an hour.
    fn default() -> Self {
        let agent_me = fixture(include_str!("../../fixtures/halopsa/agent_me.json"));
        let mut clients = fixture_list(
            include_str!("../../fixtures/halopsa/clients_page1.json"),
            Some("clients"),
        );
        clients.extend(fixture_list(
            include_str!("../../fixtures/halopsa/clients_page2.json"),
            Some("clients"),
        ));
        Self {
            client_id: "sim-client".into(),
            client_secret: "sim-secret".into(),
            tenant: Some("acmemsp".into()),
            tenant_required: false,
            expires_in: 3600,
            application_active: true,
            echo_milestones: true,
            milestone_post: MilestonePost::Replace,
            membership_writes: true,
            max_page_size: 100,
            clients,
            users: fixture_list(
                include_str!("../../fixtures/halopsa/users.json"),
                Some("users"),
            ),
            opportunities: fixture_list(
                include_str!("../../fixtures/halopsa/opportunities.json"),
                Some("tickets"),
            ),
            statuses: fixture_list(include_str!("../../fixtures/halopsa/statuses.json"), None),
            priorities: fixture_list(include_str!("../../fixtures/halopsa/priorities.json"), None),
            ticket_types: fixture_list(
                include_str!("../../fixtures/halopsa/tickettypes.json"),
                None,
            ),
            agents: vec![
                agent_me.clone(),
                json!({"id": 8, "name": "Morgan Reyes", "email": "morgan@acme-msp.example", "isdisabled": false}),
                json!({"id": 9, "name": "Former Agent", "email": "former@acme-msp.example", "isdisabled": true}),
            ],
            agent_me,
        }
    }
}

impl HaloPsaSimConfig {
    /// Adds `n` generated active clients (ids from 1000, top level 1
    /// "Customers"), e.g. to make lists span several pages.
    pub fn with_generated_clients(mut self, n: usize) -> Self {
        for i in 0..n {
            self.clients.push(json!({
                "id": 1000 + i,
                "name": format!("Generated Client {:04}", i + 1),
                "toplevel_id": 1,
                "toplevel_name": "Customers",
                "inactive": false,
                "colour": "#607d8b",
                "main_site_id": 5000 + i,
                "website": null,
                "main_phonenumber": format!("+1 555 {:04}", i % 10_000),
                "is_vip": false
            }));
        }
        self
    }
}

/// A task (child ticket) in [`HaloSim::project_tree`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimTask {
    /// Ticket id.
    pub id: i64,
    /// Summary.
    pub summary: String,
    /// Details.
    pub details: String,
    /// Ticket type id.
    pub tickettype_id: i64,
    /// Estimate in hours.
    pub estimate: f64,
    /// Child tickets of this ticket.
    pub children: Vec<SimTask>,
}

/// A milestone in [`HaloSim::project_tree`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimMilestone {
    /// Milestone id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Sequence.
    pub sequence: i64,
    /// Tickets in this milestone's membership (its `tickets` rows), in the
    /// order written.
    pub tasks: Vec<SimTask>,
}

/// A project in [`HaloSim::project_tree`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimProject {
    /// Ticket id.
    pub id: i64,
    /// Summary.
    pub summary: String,
    /// Client id.
    pub client_id: i64,
    /// Milestones by sequence.
    pub milestones: Vec<SimMilestone>,
    /// Child tickets in no milestone of the project.
    pub unassigned: Vec<SimTask>,
}

impl SimProject {
    /// Every task of the project (milestone tasks, unassigned ones and their
    /// children).
    pub fn all_tasks(&self) -> Vec<&SimTask> {
        fn walk<'a>(t: &'a SimTask, out: &mut Vec<&'a SimTask>) {
            out.push(t);
            for c in &t.children {
                walk(c, out);
            }
        }
        let mut out = Vec::new();
        for t in self
            .milestones
            .iter()
            .flat_map(|m| &m.tasks)
            .chain(&self.unassigned)
        {
            walk(t, &mut out);
        }
        out
    }
}

struct State {
    config: HaloPsaSimConfig,
    base: String,
    tokens: HashMap<String, Instant>,
    token_requests: usize,
    token_counter: u64,
    /// Ticket creations (via `/api/Tickets`) seen so far, and the one to fail.
    ticket_creates: usize,
    fail_ticket_create_at: Option<usize>,
    /// Updates of existing tickets (a POST item with an `id`) seen so far,
    /// and the one to fail.
    ticket_updates: usize,
    fail_ticket_update_at: Option<usize>,
    forbidden: Vec<String>,
    /// Every ticket (projects included) by id.
    tickets: BTreeMap<i64, Value>,
    next_ticket_id: i64,
    next_milestone_id: i64,
    next_link_id: i64,
    clock: u64,
    sim: SimLayer,
    /// HaloPSA's rate limit, when set ([`HaloSim::limit_rate`]).
    rate_window: Option<crate::sim::rate_window::RollingWindow>,
}

fn id_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn field_id(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(id_of)
}

/// A reply: status and JSON body (none for an empty body).
type Out = (u16, Option<Value>);

fn json_response(status: u16, body: Value) -> Out {
    (status, Some(body))
}

/// HaloPSA's 429 body (`fixtures/halopsa/error_429.json`).
fn rate_limit_body() -> Value {
    json!({"error": "Rate Limit Reached - 300 Requests per rolling 5 minute window"})
}

fn empty(status: u16) -> Out {
    (status, None)
}

fn validation(index: usize, field: &str, message: String) -> Out {
    json_response(400, json!({ format!("[{index}].{field}"): message }))
}

fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl State {
    fn now_stamp(&mut self) -> String {
        // A deterministic clock: one second per write, from a fixed date.
        self.clock += 1;
        let base = chrono::NaiveDate::from_ymd_opt(2025, 2, 20)
            .and_then(|d| d.and_hms_opt(14, 0, 0))
            .unwrap_or_default();
        (base + chrono::Duration::seconds(self.clock as i64))
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    }

    fn token(&mut self, req: &Request, query: &Query) -> Out {
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
                    "../../fixtures/halopsa/token_error_invalid_client.json"
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

    fn authorized(&self, req: &Request) -> bool {
        req.headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| self.tokens.get(t))
            .is_some_and(|exp| Instant::now() < *exp)
    }

    fn page(&self, items: Vec<Value>, key: &str, query: &Query) -> Out {
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

    fn clients(&self, query: &Query) -> Out {
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

    fn users(&self, query: &Query) -> Out {
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

    fn opportunities(&self, query: &Query) -> Out {
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

    fn find(list: &[Value], id: &str) -> Out {
        let id = id.parse::<i64>().ok();
        match list
            .iter()
            .find(|v| id.is_some() && field_id(v, "id") == id)
        {
            Some(v) => json_response(200, v.clone()),
            None => empty(404),
        }
    }

    fn ticket_type(&self, id: i64) -> Option<&Value> {
        self.config
            .ticket_types
            .iter()
            .find(|t| field_id(t, "id") == Some(id))
    }

    /// The milestone of `project_id` whose membership holds ticket `id`
    /// (the first, as membership is many-to-many).
    fn milestone_of(&self, project_id: i64, id: i64) -> Option<Value> {
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
    fn ticket_view(&self, id: i64, details: bool) -> Option<Value> {
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

    fn reply_view(&self, id: i64) -> Value {
        let mut v = self.ticket_view(id, true).unwrap_or(Value::Null);
        if !self.config.echo_milestones {
            if let Some(obj) = v.as_object_mut() {
                obj.remove("milestones");
            }
        }
        v
    }

    /// A milestone's membership from a posted `tickets_list`
    /// (`[{"id": ticket}]`): join rows as HaloPSA reports them, keeping the
    /// row ids of tickets that were members already.
    fn membership(
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
    fn merge_milestones(
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

    fn update_ticket(
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

    fn create_ticket(
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

    fn post_tickets(&mut self, req: &Request, via_projects: bool) -> Out {
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

    fn route(&mut self, req: &Request, query: &Query) -> Out {
        let path = req.url.path().to_ascii_lowercase();
        let path = path.trim_end_matches('/');
        let method = req.method.as_str().to_ascii_uppercase();
        if path == "/auth/token" {
            return self.token(req, query);
        }
        let Some(rest) = path.strip_prefix("/api/") else {
            return empty(404);
        };
        if rest == "authinfo" && method == "GET" {
            return json_response(
                200,
                json!({
                    "auth_url": format!("{}/auth", self.base),
                    "tenant_id": self.config.tenant.as_ref().filter(|_| self.config.tenant_required),
                }),
            );
        }
        if let Some(window) = &mut self.rate_window {
            if !window.admit(Instant::now()) {
                return json_response(429, rate_limit_body());
            }
        }
        if !self.authorized(req) {
            return empty(401);
        }
        if self.forbidden.iter().any(|p| rest.starts_with(p.as_str())) {
            return json_response(403, json!({}));
        }
        if let Some(status) = self.sim.faults.take() {
            let body = match status {
                429 => rate_limit_body(),
                _ => {
                    json!({"ClassName": "System.Exception", "Message": format!("Simulated HTTP {status}.")})
                }
            };
            return json_response(status, body);
        }
        let segments: Vec<&str> = rest.split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["agent", "me"]) => json_response(200, self.config.agent_me.clone()),
            ("GET", ["agent"]) => json_response(200, Value::Array(self.config.agents.clone())),
            ("GET", ["status"]) => json_response(200, Value::Array(self.config.statuses.clone())),
            ("GET", ["priority"]) => {
                json_response(200, Value::Array(self.config.priorities.clone()))
            }
            ("GET", ["tickettype"]) => {
                json_response(200, Value::Array(self.config.ticket_types.clone()))
            }
            ("GET", ["client"]) => self.clients(query),
            ("GET", ["client", id]) => Self::find(&self.config.clients, id),
            ("GET", ["users"]) => self.users(query),
            ("GET", ["users", id]) => Self::find(&self.config.users, id),
            ("GET", ["opportunities"]) => self.opportunities(query),
            ("GET", ["opportunities", id]) => Self::find(&self.config.opportunities, id),
            ("GET", ["projects"]) => {
                let items: Vec<Value> = self
                    .tickets
                    .keys()
                    .copied()
                    .filter(|id| {
                        self.tickets[id].get("is_project").and_then(Value::as_bool) == Some(true)
                    })
                    .filter_map(|id| self.ticket_view(id, false))
                    .collect();
                self.page(items, "tickets", query)
            }
            ("GET", ["projects" | "tickets", id]) => {
                let details = truthy(query.get("includedetails"));
                match id
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| self.ticket_view(id, details))
                {
                    Some(t) => json_response(200, t),
                    None => empty(404),
                }
            }
            ("POST", ["projects"]) => self.post_tickets(req, true),
            ("POST", ["tickets"]) => self.post_tickets(req, false),
            _ => empty(404),
        }
    }

    fn task(&self, id: i64) -> Option<SimTask> {
        let t = self.tickets.get(&id)?;
        let children = self
            .tickets
            .values()
            .filter(|c| field_id(c, "parent_id") == Some(id))
            .filter_map(|c| field_id(c, "id"))
            .filter_map(|c| self.task(c))
            .collect();
        Some(SimTask {
            id,
            summary: t
                .get("summary")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            details: t
                .get("details")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            tickettype_id: field_id(t, "tickettype_id").unwrap_or(0),
            estimate: t.get("estimate").and_then(Value::as_f64).unwrap_or(0.0),
            children,
        })
    }

    fn tree(&self) -> Vec<SimProject> {
        let mut out = Vec::new();
        for (id, p) in &self.tickets {
            if p.get("is_project").and_then(Value::as_bool) != Some(true)
                || field_id(p, "parent_id").unwrap_or(0) > 0
            {
                continue;
            }
            let children: Vec<&Value> = self
                .tickets
                .values()
                .filter(|c| field_id(c, "parent_id") == Some(*id))
                .collect();
            let mut milestones: Vec<SimMilestone> = p
                .get("milestones")
                .and_then(Value::as_array)
                .map(|ms| {
                    ms.iter()
                        .map(|m| {
                            let mid = field_id(m, "id").unwrap_or(0);
                            SimMilestone {
                                id: mid,
                                name: m
                                    .get("name")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_string(),
                                sequence: field_id(m, "sequence").unwrap_or(0),
                                tasks: m
                                    .get("tickets")
                                    .and_then(Value::as_array)
                                    .map(|rows| {
                                        rows.iter()
                                            .filter_map(|r| field_id(r, "ticket_id"))
                                            .filter_map(|c| self.task(c))
                                            .collect()
                                    })
                                    .unwrap_or_default(),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            milestones.sort_by_key(|m| (m.sequence, m.id));
            let members: Vec<i64> = milestones
                .iter()
                .flat_map(|m| m.tasks.iter().map(|t| t.id))
                .collect();
            let unassigned = children
                .iter()
                .filter(|c| field_id(c, "id").is_some_and(|id| !members.contains(&id)))
                .filter_map(|c| field_id(c, "id"))
                .filter_map(|c| self.task(c))
                .collect();
            out.push(SimProject {
                id: *id,
                summary: p
                    .get("summary")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                client_id: field_id(p, "client_id").unwrap_or(0),
                milestones,
                unassigned,
            });
        }
        out
    }
}

impl Simulate for State {
    fn answer(&mut self, req: &Request) -> (u16, ResponseTemplate) {
        let query = Query(req.url.query_pairs().into_owned().collect());
        let (status, body) = self.route(req, &query);
        let template = match body {
            Some(body) => ResponseTemplate::new(status).set_body_json(body),
            None => ResponseTemplate::new(status),
        };
        (status, template)
    }

    fn layer(&mut self) -> &mut SimLayer {
        &mut self.sim
    }
}

/// A running HaloPSA simulator.
pub struct HaloSim {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for HaloSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaloSim")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl HaloSim {
    /// Starts the simulator on a loopback port.
    pub async fn start(config: HaloPsaSimConfig) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            config,
            base: server.uri(),
            tokens: HashMap::new(),
            token_requests: 0,
            token_counter: 0,
            ticket_creates: 0,
            fail_ticket_create_at: None,
            ticket_updates: 0,
            fail_ticket_update_at: None,
            forbidden: Vec::new(),
            tickets: BTreeMap::new(),
            next_ticket_id: 4320,
            next_milestone_id: 800,
            next_link_id: 9000,
            clock: 0,
            sim: SimLayer::default(),
            rate_window: None,
        }));
        mount(&server, &state).await;
        Self { server, state }
    }

    /// Starts the simulator with the fixtures ([`HaloPsaSimConfig::default`]).
    pub async fn start_default() -> Self {
        Self::start(HaloPsaSimConfig::default()).await
    }

    /// The base URL, `http://127.0.0.1:PORT` (the connector's host).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<SimRequest> {
        self.state().sim.log.all().to_vec()
    }

    /// Requests to `/api/...` so far (the token endpoint left out).
    pub fn api_requests(&self) -> Vec<SimRequest> {
        self.state()
            .sim
            .log
            .all()
            .iter()
            .filter(|r| r.is_api())
            .cloned()
            .collect()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.state().sim.log.clear();
    }

    /// Token requests so far (successful or not).
    pub fn token_requests(&self) -> usize {
        self.state().token_requests
    }

    /// Enforces HaloPSA's rate limit on `/api/...` calls (`GET /api/authinfo`
    /// and the token endpoint left out): at most `limit` calls in any rolling
    /// `window` (HaloPSA hosted: about 300 per 5 minutes per instance);
    /// calls past it get 429 with HaloPSA's body and no `Retry-After`. The
    /// window frees up as admitted calls age out of it, one by one; refused
    /// calls are not counted (an assumption: no public source says).
    pub fn limit_rate(&self, limit: usize, window: Duration) {
        self.state().rate_window = Some(crate::sim::rate_window::RollingWindow::new(limit, window));
    }

    /// Answers the next `n` authenticated API calls with `status` (429
    /// with HaloPSA's rate-limit body, others with an exception body).
    pub fn fail_next(&self, n: usize, status: u16) {
        self.state().sim.faults.push(n as u64, status);
    }

    /// Fails the `k`-th ticket creation through `POST /api/Tickets` from now
    /// on (1 = the next one) with HTTP 500; nothing is created.
    pub fn fail_on_ticket_create(&self, k: usize) {
        let mut s = self.state();
        s.fail_ticket_create_at = Some(s.ticket_creates + k.max(1));
    }

    /// Fails the `k`-th update of an existing ticket or project (a POST item
    /// with an `id`, e.g. a project's milestone list) from now on (1 = the
    /// next one) with HTTP 500; nothing is changed.
    pub fn fail_on_ticket_update(&self, k: usize) {
        let mut s = self.state();
        s.fail_ticket_update_at = Some(s.ticket_updates + k.max(1));
    }

    /// Whether `milestones[].tickets_list` changes membership (see
    /// [`HaloPsaSimConfig::membership_writes`]).
    pub fn set_membership_writes(&self, on: bool) {
        self.state().config.membership_writes = on;
    }

    /// Deletes milestone `milestone_id` of project `project_id` with its
    /// membership, as an agent would in HaloPSA; `false` when there is no
    /// such milestone.
    pub fn delete_milestone(&self, project_id: i64, milestone_id: i64) -> bool {
        let mut s = self.state();
        let Some(list) = s
            .tickets
            .get_mut(&project_id)
            .and_then(|p| p.get_mut("milestones"))
            .and_then(Value::as_array_mut)
        else {
            return false;
        };
        let before = list.len();
        list.retain(|m| field_id(m, "id") != Some(milestone_id));
        list.len() < before
    }

    /// Invalidates every token issued so far (the next API call gets 401).
    pub fn expire_tokens(&self) {
        self.state().tokens.clear();
    }

    /// API calls answered 401 so far (a missing, unknown or expired token).
    pub fn unauthorized_count(&self) -> usize {
        self.state()
            .sim
            .log
            .all()
            .iter()
            .filter(|r| r.is_api() && r.status == 401)
            .count()
    }

    /// Every client (`Area_List` objects), in the order served.
    pub fn clients(&self) -> Vec<Value> {
        self.state().config.clients.clone()
    }

    /// Every user (`Users_List` objects).
    pub fn users(&self) -> Vec<Value> {
        self.state().config.users.clone()
    }

    /// Every opportunity (`Faults` objects).
    pub fn opportunities(&self) -> Vec<Value> {
        self.state().config.opportunities.clone()
    }

    /// Answers 403 to API paths starting with `path` (relative to `/api/`,
    /// case-insensitive, e.g. `"agent/me"` or `"tickets"`).
    pub fn forbid(&self, path: &str) {
        self.state()
            .forbidden
            .push(path.trim_matches('/').to_ascii_lowercase());
    }

    /// Activates or deactivates the API application.
    pub fn set_application_active(&self, active: bool) {
        self.state().config.application_active = active;
    }

    /// Adds a client.
    pub fn add_client(&self, client: Value) {
        self.state().config.clients.push(client);
    }

    /// Adds a user.
    pub fn add_user(&self, user: Value) {
        self.state().config.users.push(user);
    }

    /// Adds an opportunity.
    pub fn add_opportunity(&self, opportunity: Value) {
        self.state().config.opportunities.push(opportunity);
    }

    /// A stored ticket (projects included), as `GET /api/Tickets/{id}` with
    /// details shows it.
    pub fn ticket(&self, id: i64) -> Option<Value> {
        self.state().ticket_view(id, true)
    }

    /// How many tickets (projects included) exist.
    pub fn ticket_count(&self) -> usize {
        self.state().tickets.len()
    }

    /// Every top-level project with its milestones, their tasks and the
    /// tasks' child tickets.
    pub fn project_tree(&self) -> Vec<SimProject> {
        self.state().tree()
    }

    /// [`HaloSim::project_tree`] as indented text.
    pub fn render_tree(&self) -> String {
        fn task(out: &mut String, t: &SimTask, depth: usize) {
            let _ = writeln!(
                out,
                "{}- #{} {} ({} h)",
                "  ".repeat(depth),
                t.id,
                t.summary,
                t.estimate
            );
            for c in &t.children {
                task(out, c, depth + 1);
            }
        }
        let mut out = String::new();
        for p in self.project_tree() {
            let _ = writeln!(
                out,
                "project #{} {} (client {})",
                p.id, p.summary, p.client_id
            );
            for m in &p.milestones {
                let _ = writeln!(out, "  milestone #{} {} (seq {})", m.id, m.name, m.sequence);
                for t in &m.tasks {
                    task(&mut out, t, 2);
                }
            }
            for t in &p.unassigned {
                let _ = writeln!(out, "  (no milestone)");
                task(&mut out, t, 2);
            }
        }
        out
    }
}
