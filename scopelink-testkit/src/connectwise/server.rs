//! The wiremock responder and the public handle.

use super::*;

impl Simulate for State {
    fn answer(&mut self, request: &Request) -> (u16, ResponseTemplate) {
        let st = self;
        if st.slow_next > 0 {
            st.slow_next -= 1;
            st.sim.faults.note_slowed();
            st.sim.load.delay = Some(st.slow_latency);
        }
        let reply = std::panic::catch_unwind(AssertUnwindSafe(|| st.handle(request)))
            .unwrap_or_else(|_| {
                error(
                    500,
                    "SimulatorBug",
                    "The simulator failed on this request (a bug in the simulator).",
                )
            });
        let status = reply.status;
        (status, render(reply))
    }

    fn layer(&mut self) -> &mut SimLayer {
        &mut self.sim
    }

    /// ConnectWise's 429 with `Retry-After`, for API calls (the login
    /// site's company-info page is not throttled here).
    fn over_limit(&mut self, request: &Request) -> Option<ResponseTemplate> {
        request
            .url
            .path()
            .to_ascii_lowercase()
            .contains("/apis/3.0")
            .then(|| render(self.fault(429)))
    }
}

/// A reply as the wiremock answer.
fn render(reply: Reply) -> ResponseTemplate {
    let status = reply.status;
    let mut t = ResponseTemplate::new(status)
        .insert_header("api-current-version", "2025.1")
        .insert_header("Cache-Control", "no-cache");
    for (k, v) in reply.headers {
        t = t.insert_header(k, v.as_str());
    }
    if !reply.body.is_empty() {
        t = t.set_body_raw(reply.body, "application/json; charset=utf-8");
    }
    t
}

/// The callback payload ConnectWise POSTs (PascalCase keys, `Entity` as a
/// JSON string).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CallbackPayload<'a> {
    pub(super) message_id: String,
    pub(super) from_url: &'a str,
    pub(super) company_id: &'a str,
    pub(super) member_id: &'a str,
    pub(super) action: &'a str,
    #[serde(rename = "Type")]
    pub(super) kind: String,
    #[serde(rename = "ID")]
    pub(super) id: u64,
    pub(super) product_instance_id: Option<String>,
    pub(super) partner_id: Option<String>,
    pub(super) entity: Option<String>,
    pub(super) metadata: CallbackMetadata,
    pub(super) callback_object_rec_id: u64,
}

#[derive(Serialize)]
pub(super) struct CallbackMetadata {
    pub(super) key_url: String,
}

/// A running ConnectWise Manage simulator. Dropping it stops the server.
pub struct ConnectWiseSim {
    pub(super) server: MockServer,
    pub(super) state: Arc<Mutex<State>>,
    pub(super) config: ConnectWiseSimConfig,
    pub(super) base: String,
    pub(super) api_base: String,
}

impl std::fmt::Debug for ConnectWiseSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectWiseSim")
            .field("server_url", &self.base)
            .field("companies", &self.config.companies)
            .finish_non_exhaustive()
    }
}

impl ConnectWiseSim {
    /// Generates the data and starts the server on `127.0.0.1`.
    pub async fn start(config: ConnectWiseSimConfig) -> ConnectWiseSim {
        let mut config = config;
        let cb = config.codebase.trim_matches('/');
        config.codebase = if cb.is_empty() {
            "v2025_1/".into()
        } else {
            format!("{cb}/")
        };
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        let base = server.uri();
        let site = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let api_base = format!("{base}/{}apis/3.0", config.codebase);
        let data = Data::generate(&config, api_base.clone());
        let lookups = build_lookups(&api_base);
        let seed = mix(config.companies as u64 ^ 0x5eed);
        let state = State {
            cfg: config.clone(),
            base: base.clone(),
            site,
            data,
            lookups,
            projects: Vec::new(),
            phases: Vec::new(),
            tickets: Vec::new(),
            tasks: Vec::new(),
            callbacks: Vec::new(),
            forecast_items: Vec::new(),
            next_id: 0,
            sim: SimLayer::default(),
            retry_after: 0,
            slow_next: 0,
            slow_latency: Duration::ZERO,
            restricted: false,
            restricted_paths: Vec::new(),
            cache: Cache::default(),
            generation: 0,
            signing_key: format!("sl-sim-signing-key-{:010x}", seed & 0xff_ffff_ffff),
            key_id: format!(
                "6e1b0f7a-2c9d-4a83-b5e4-{:012x}",
                mix(seed) & 0xffff_ffff_ffff
            ),
            messages: 0,
        };
        let mut state = state;
        state.sim.load.set_latency(config.latency);
        state.sim.load.set_max_in_flight(config.max_in_flight);
        let state = Arc::new(Mutex::new(state));
        mount(&server, &state).await;
        ConnectWiseSim {
            server,
            state,
            config,
            base,
            api_base,
        }
    }

    pub(super) fn st(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// `http://127.0.0.1:PORT`: what a user types as the server.
    pub fn server_url(&self) -> &str {
        &self.base
    }

    /// `127.0.0.1:PORT`: the host callbacks name as their `FromUrl`.
    pub fn site_url(&self) -> String {
        self.server.address().to_string()
    }

    /// `http://127.0.0.1:PORT/{codebase}apis/3.0`.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// The codebase, with its trailing slash (`v2025_1/`).
    pub fn codebase(&self) -> &str {
        &self.config.codebase
    }

    /// The login company id.
    pub fn company_id(&self) -> &str {
        &self.config.company_id
    }

    /// The API member's public key.
    pub fn public_key(&self) -> &str {
        &self.config.public_key
    }

    /// The API member's private key.
    pub fn private_key(&self) -> &str {
        &self.config.private_key
    }

    /// The `clientId` the simulator expects.
    pub fn client_id(&self) -> &str {
        &self.config.client_id
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &ConnectWiseSimConfig {
        &self.config
    }

    /// The `Authorization` header value for the simulator's credentials
    /// (`Basic base64(company+public:private)`), for raw HTTP tests.
    pub fn authorization(&self) -> String {
        let raw = format!(
            "{}+{}:{}",
            self.config.company_id, self.config.public_key, self.config.private_key
        );
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    // -- fault injection and observation ----------------------------------

    /// The next `n` requests (of any kind) fail with `status`. A 429 (and a
    /// 503) carries `Retry-After` (0 seconds unless
    /// [`ConnectWiseSim::set_retry_after`] says otherwise).
    pub fn fail_next(&self, n: u32, status: u16) {
        self.st().sim.faults.set_next(u64::from(n), status);
    }

    /// Every `k`-th request from now on fails with `status` (`k = 0` stops
    /// it).
    pub fn fail_every(&self, k: u64, status: u16) {
        self.st().sim.faults.set_every(k, status);
    }

    /// Stops all injected failures.
    pub fn clear_faults(&self) {
        self.st().sim.faults.clear();
    }

    /// The `Retry-After` seconds sent with injected 429 and 503 answers.
    pub fn set_retry_after(&self, seconds: u64) {
        self.st().retry_after = seconds;
    }

    /// Delays every answer by `latency` (`None`: no delay); see
    /// [`ConnectWiseSimConfig::latency`] for latency with jitter.
    pub fn set_latency(&self, latency: Option<Duration>) {
        self.st()
            .sim
            .load
            .set_latency(Latency::fixed(latency.unwrap_or_default()));
    }

    /// Caps the requests in flight (`None`: no cap); see
    /// [`ConnectWiseSimConfig::max_in_flight`].
    pub fn set_max_in_flight(&self, max: Option<usize>) {
        self.st().sim.load.set_max_in_flight(max);
    }

    /// Requests in flight at most so far and those refused for the cap.
    pub fn load_stats(&self) -> LoadStats {
        self.st().sim.load.stats()
    }

    /// Delays the next `n` answers (of any kind) by `latency`, then goes
    /// back to [`ConnectWiseSim::set_latency`]'s setting: a server that is
    /// slow for a moment.
    pub fn slow_next(&self, n: u32, latency: Duration) {
        let mut st = self.st();
        st.slow_next = n;
        st.slow_latency = latency;
    }

    /// What fault injection did so far.
    pub fn fault_stats(&self) -> FaultStats {
        self.st().sim.faults.stats()
    }

    /// Restricted mode: every API call except `/system/info` gets `403`, as
    /// for an API member whose security role lacks permissions.
    pub fn set_restricted(&self, restricted: bool) {
        self.st().restricted = restricted;
    }

    /// API paths starting with `prefix` (e.g. `/sales/opportunities`) get
    /// `403`.
    pub fn restrict_path(&self, prefix: &str) {
        let p = format!("/{}", prefix.trim_matches('/').to_ascii_lowercase());
        self.st().restricted_paths.push(p);
    }

    /// Every request received so far: (method, path and query as sent).
    pub fn requests(&self) -> Vec<(String, String)> {
        let st = self.st();
        st.sim
            .log
            .all()
            .iter()
            .map(|r| (r.method.clone(), r.target()))
            .collect()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.st().sim.log.len()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.st().sim.log.clear();
    }

    /// Time spent answering requests so far (routing, filtering and
    /// rendering; injected latency excluded), to tell the simulator's share
    /// of a benchmark from the client's.
    pub fn server_time(&self) -> Duration {
        self.st().sim.busy
    }

    // -- data ---------------------------------------------------------------

    /// How many companies there are.
    pub fn company_count(&self) -> usize {
        self.st().data.companies.len()
    }

    /// How many contacts there are (orphans included).
    pub fn contact_count(&self) -> usize {
        self.st().data.contacts.len()
    }

    /// How many opportunities there are.
    pub fn opportunity_count(&self) -> usize {
        self.st().data.opportunities.len()
    }

    /// Every company, in id order.
    pub fn companies(&self) -> Vec<CompanyView> {
        self.st()
            .data
            .companies
            .iter()
            .map(|c| CompanyView {
                id: c.id,
                name: c.name.to_string(),
                identifier: c.identifier.to_string(),
                status_id: COMPANY_STATUSES[c.status as usize].0,
                territory_id: TERRITORIES[c.territory as usize].0,
                market_id: MARKETS[c.market as usize].0,
                type_ids: TYPE_SETS[c.types as usize]
                    .iter()
                    .map(|t| COMPANY_TYPES[*t as usize].0)
                    .collect(),
                last_updated: utc(c.last_updated),
            })
            .collect()
    }

    /// Every contact, in id order.
    pub fn contacts(&self) -> Vec<ContactView> {
        let st = self.st();
        st.data
            .contacts
            .iter()
            .map(|c| ContactView {
                id: c.id,
                company_id: c.company,
                company_exists: c.company.is_some_and(|id| st.data.company(id).is_some()),
                last_updated: utc(c.last_updated),
            })
            .collect()
    }

    /// Every opportunity, in id order.
    pub fn opportunities(&self) -> Vec<OpportunityView> {
        self.st()
            .data
            .opportunities
            .iter()
            .map(|o| OpportunityView {
                id: o.id,
                company_id: o.company,
                contact_id: o.contact,
                name: o.name.to_string(),
                stage_id: o.stage,
                status_id: o.status,
                probability_id: o.probability,
                expected_close: utc(o.expected_close),
                last_updated: utc(o.last_updated),
            })
            .collect()
    }

    pub(super) fn rendered(&self, kind: &str, id: u64) -> Option<Value> {
        let s = self.st().render_entity(kind, id)?;
        serde_json::from_str(&s).ok()
    }

    /// A company as `GET /company/companies/{id}` returns it.
    pub fn company(&self, id: u64) -> Option<Value> {
        self.rendered("company", id)
    }

    /// A contact as `GET /company/contacts/{id}` returns it.
    pub fn contact(&self, id: u64) -> Option<Value> {
        self.rendered("contact", id)
    }

    /// An opportunity as `GET /sales/opportunities/{id}` returns it.
    pub fn opportunity(&self, id: u64) -> Option<Value> {
        self.rendered("opportunity", id)
    }

    /// Renames a company and sets its `lastUpdated` to now (as if a user
    /// edited it). Returns whether it exists.
    pub fn touch_company(&self, id: u64, new_name: &str) -> bool {
        let mut st = self.st();
        let Some(i) = find(&st.data.companies, id, |c| c.id) else {
            return false;
        };
        let c = &mut st.data.companies[i];
        c.name = new_name.into();
        c.last_updated = now_secs().max(c.last_updated);
        c.updated_by = MEMBERS[0].1;
        st.bump();
        true
    }

    /// Changes a company's status (see [`COMPANY_STATUSES`]) and sets its
    /// `lastUpdated` to now. Returns whether both exist.
    pub fn set_company_status(&self, id: u64, status_id: u64) -> bool {
        let Some(s) = COMPANY_STATUSES.iter().position(|s| s.0 == status_id) else {
            return false;
        };
        let mut st = self.st();
        let Some(i) = find(&st.data.companies, id, |c| c.id) else {
            return false;
        };
        let c = &mut st.data.companies[i];
        c.status = s as u8;
        c.last_updated = now_secs().max(c.last_updated);
        c.updated_by = MEMBERS[0].1;
        st.bump();
        true
    }

    /// Changes a contact's first name and sets its `lastUpdated` to now.
    /// Returns whether it exists.
    pub fn touch_contact(&self, id: u64, first_name: &str) -> bool {
        let mut st = self.st();
        let Some(i) = find(&st.data.contacts, id, |c| c.id) else {
            return false;
        };
        let c = &mut st.data.contacts[i];
        c.first = first_name.into();
        c.last_updated = now_secs().max(c.last_updated);
        c.updated_by = MEMBERS[0].1;
        st.bump();
        true
    }

    /// Deletes a company (its contacts keep pointing at it). Returns
    /// whether it existed.
    pub fn delete_company(&self, id: u64) -> bool {
        let mut st = self.st();
        let Some(i) = find(&st.data.companies, id, |c| c.id) else {
            return false;
        };
        st.data.companies.remove(i);
        st.bump();
        true
    }

    /// Projects created through `POST /project/projects`, in order.
    pub fn projects(&self) -> Vec<Value> {
        self.st().projects.clone()
    }

    /// Phases created through `POST /project/projects/{id}/phases`.
    pub fn phases(&self) -> Vec<Value> {
        self.st().phases.clone()
    }

    /// Tickets created through `POST /project/tickets` (with
    /// `initialDescription`, which the API itself never returns).
    pub fn tickets(&self) -> Vec<Value> {
        self.st().tickets.clone()
    }

    /// Ticket tasks created through `POST /project/tickets/{id}/tasks`.
    pub fn ticket_tasks(&self) -> Vec<Value> {
        self.st().tasks.clone()
    }

    /// Callback entries registered through `POST /system/callbacks`.
    pub fn callbacks(&self) -> Vec<Value> {
        self.st().callbacks.clone()
    }

    /// Forecast items of an opportunity.
    pub fn forecast_items(&self, opportunity_id: u64) -> Vec<Value> {
        self.st()
            .forecast_items
            .iter()
            .filter(|f| f["opportunity"]["id"] == json!(opportunity_id))
            .cloned()
            .collect()
    }

    // -- callbacks ------------------------------------------------------------

    /// The signing key served at [`ConnectWiseSim::key_url`].
    pub fn signing_key(&self) -> String {
        self.st().signing_key.clone()
    }

    /// The `Metadata.key_url` of callbacks (with ConnectWise's double slash
    /// after the codebase).
    pub fn key_url(&self) -> String {
        self.st().key_url()
    }

    /// `base64(HMAC-SHA256(key = SHA256(signing_key), body))`: the
    /// `x-content-signature` ConnectWise sends with `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        self.st().sign(body)
    }

    /// A signed callback as ConnectWise would POST it: (headers, raw body).
    /// `action` is `added`, `updated` or `deleted`; `kind` the lower-case
    /// callback type (`company`, `contact`, `opportunity`, `configuration`,
    /// `productcatalog`, `project`, `ticket`). `Entity` holds the record's
    /// current JSON as a string, or `null` on `deleted` (and when the record
    /// does not exist).
    pub fn callback_request(
        &self,
        action: &str,
        kind: &str,
        id: u64,
    ) -> (Vec<(String, String)>, Vec<u8>) {
        let mut st = self.st();
        st.messages += 1;
        let entity = if action.eq_ignore_ascii_case("deleted") {
            None
        } else {
            st.render_entity(kind, id)
        };
        let kind_lower = kind.to_ascii_lowercase();
        let callback_id = st
            .callbacks
            .iter()
            .find(|c| c["type"] == json!(kind_lower))
            .map_or(26_601, Value::row_id);
        let payload = CallbackPayload {
            message_id: format!(
                "0c5a7e3b-8d21-4f6e-9b1a-{:012x}",
                mix(st.messages) & 0xffff_ffff_ffff
            ),
            from_url: &st.site,
            company_id: &st.cfg.company_id,
            member_id: MEMBERS[0].1,
            action,
            kind: kind_lower,
            id,
            product_instance_id: None,
            partner_id: None,
            entity,
            metadata: CallbackMetadata {
                key_url: st.key_url(),
            },
            callback_object_rec_id: callback_id,
        };
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let signature = st.sign(&body);
        (
            vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("x-content-signature".to_string(), signature),
            ],
            body,
        )
    }
}
