//! The public handle.

use super::*;

/// A running HaloPSA simulator.
pub struct HaloPsaSim {
    pub(super) server: MockServer,
    pub(super) state: Arc<Mutex<State>>,
}

/// The simulator's former name.
#[deprecated(note = "renamed to `HaloPsaSim` (one `<Provider>Sim` naming scheme)")]
pub type HaloSim = HaloPsaSim;

impl std::fmt::Debug for HaloPsaSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaloPsaSim")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl HaloPsaSim {
    /// Starts the simulator on a loopback port.
    pub async fn start(config: HaloPsaSimConfig) -> Self {
        let server = MockServer::start().await;
        let mut sim = SimLayer::default();
        sim.load.set_latency(config.latency);
        sim.load.set_max_in_flight(config.max_in_flight);
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
            sim,
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

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
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

    /// Caps the `/api/...` calls in flight (`None`: no cap); see
    /// [`HaloPsaSimConfig::max_in_flight`].
    pub fn set_max_in_flight(&self, max: Option<usize>) {
        self.state().sim.load.set_max_in_flight(max);
    }

    /// Sets the time taken to answer each request.
    pub fn set_latency(&self, latency: Latency) {
        self.state().sim.load.set_latency(latency);
    }

    /// Calls in flight at most so far and those refused for the cap.
    pub fn load_stats(&self) -> LoadStats {
        self.state().sim.load.stats()
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

    /// [`HaloPsaSim::project_tree`] as indented text.
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
