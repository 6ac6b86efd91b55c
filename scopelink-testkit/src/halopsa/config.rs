//! The simulator's configuration and the fixtures it starts from.

use super::*;

pub(super) fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

pub(super) fn fixture_list(text: &str, key: Option<&str>) -> Vec<Value> {
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
pub(super) const MILESTONE_FIELDS: [&str; 9] = [
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
    /// Time taken to answer each request (none by default).
    pub latency: Latency,
    /// The most `/api/...` calls in flight (`None`, the default: no cap).
    /// A call arriving past it gets HaloPSA's 429 rate-limit body, without
    /// `Retry-After`, as its rolling window answers (HaloPSA documents no
    /// concurrency limit: this models a server refusing a burst the same
    /// way).
    pub max_in_flight: Option<usize>,
}

impl Default for HaloPsaSimConfig {
    /// The fixtures: 5 clients, 3 users (one of an unknown client), 2
    /// opportunities, 4 statuses, 4 priority rows (3 distinct), ticket types
    /// 1 / 3 (project, milestones) / 26 (project task), credentials
    /// `sim-client` / `sim-secret`, tenant `acmemsp` (not required),
    /// tokens for an hour.
    fn default() -> Self {
        let agent_me = fixture(include_str!("../../../fixtures/halopsa/agent_me.json"));
        let mut clients = fixture_list(
            include_str!("../../../fixtures/halopsa/clients_page1.json"),
            Some("clients"),
        );
        clients.extend(fixture_list(
            include_str!("../../../fixtures/halopsa/clients_page2.json"),
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
                include_str!("../../../fixtures/halopsa/users.json"),
                Some("users"),
            ),
            opportunities: fixture_list(
                include_str!("../../../fixtures/halopsa/opportunities.json"),
                Some("tickets"),
            ),
            statuses: fixture_list(
                include_str!("../../../fixtures/halopsa/statuses.json"),
                None,
            ),
            priorities: fixture_list(
                include_str!("../../../fixtures/halopsa/priorities.json"),
                None,
            ),
            ticket_types: fixture_list(
                include_str!("../../../fixtures/halopsa/tickettypes.json"),
                None,
            ),
            agents: vec![
                agent_me.clone(),
                json!({"id": 8, "name": "Morgan Reyes", "email": "morgan@acme-msp.example", "isdisabled": false}),
                json!({"id": 9, "name": "Former Agent", "email": "former@acme-msp.example", "isdisabled": true}),
            ],
            agent_me,
            latency: Latency::NONE,
            max_in_flight: None,
        }
    }
}

impl HaloPsaSimConfig {
    /// Answering each request after `latency`.
    pub fn with_latency(mut self, latency: Latency) -> Self {
        self.latency = latency;
        self
    }

    /// Refusing `/api/...` calls past `max` in flight with a 429.
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = Some(max);
        self
    }

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
