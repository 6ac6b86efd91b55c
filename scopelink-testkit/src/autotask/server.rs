//! The public handle.

use super::*;

/// A running Autotask PSA REST API simulator on a loopback port.
pub struct AutotaskSim {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for AutotaskSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutotaskSim")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl AutotaskSim {
    /// Starts the simulator on a loopback port with `config`'s data.
    pub async fn start(config: AutotaskSimConfig) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::new(config, server.uri())));
        mount(&server, &state).await;
        Self { server, state }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The host zone discovery is asked on (`http://127.0.0.1:PORT`; the
    /// real one is `https://webservices.autotask.net`):
    /// `GET {it}/ATServicesRest/v1.0/zoneInformation?user=...`.
    pub fn zone_lookup_url(&self) -> String {
        self.server.uri()
    }

    /// The zone's REST root, as `zoneInformation`'s `url` gives it
    /// (`http://127.0.0.1:PORT/ATServicesRest/`).
    pub fn zone_url(&self) -> String {
        format!("{}/ATServicesRest/", self.server.uri())
    }

    /// The configuration it started with (current limits).
    pub fn config(&self) -> AutotaskSimConfig {
        self.state().config.clone()
    }

    /// The rows of `entity` (its URL name, e.g. `"Companies"`), by id.
    pub fn rows(&self, entity: &str) -> Vec<Value> {
        let st = self.state();
        entity_def(entity)
            .map(|d| st.table(d.name))
            .unwrap_or_default()
    }

    /// Every company, by id.
    pub fn companies(&self) -> Vec<Value> {
        self.rows("Companies")
    }

    /// Every contact, by id.
    pub fn contacts(&self) -> Vec<Value> {
        self.rows("Contacts")
    }

    /// Every opportunity, by id.
    pub fn opportunities(&self) -> Vec<Value> {
        self.rows("Opportunities")
    }

    /// Every configuration item, by id.
    pub fn configuration_items(&self) -> Vec<Value> {
        self.rows("ConfigurationItems")
    }

    /// Every product, by id.
    pub fn products(&self) -> Vec<Value> {
        self.rows("Products")
    }

    /// Every project, by id.
    pub fn projects(&self) -> Vec<Value> {
        self.rows("Projects")
    }

    /// Every project phase, by id.
    pub fn phases(&self) -> Vec<Value> {
        self.rows("Phases")
    }

    /// Every project task, by id.
    pub fn tasks(&self) -> Vec<Value> {
        self.rows("Tasks")
    }

    /// Adds (or replaces) a row of `entity` as stored, e.g. a company made
    /// in Autotask's UI (fields it lacks become `null`); `false` for an
    /// unknown entity or a row without a numeric `id`.
    pub fn insert_row(&self, entity: &str, mut row: Value) -> bool {
        let Some(def) = entity_def(entity) else {
            return false;
        };
        let Some(id) = row.get("id").and_then(id_of) else {
            return false;
        };
        seed::complete_row(def, &mut row);
        let mut st = self.state();
        st.tables.entry(def.name).or_default().insert(id, row);
        let next = st.next_ids.entry(def.name).or_insert(id + 1);
        *next = (*next).max(id + 1);
        true
    }

    /// Marks company `id` changed now, as an edit in Autotask's UI would:
    /// `lastActivityDate` and `lastTrackedModifiedDateTime` become now
    /// (later than any stamp before). `false` when there is no such company.
    pub fn touch_company(&self, id: i64) -> bool {
        self.touch("Companies", id)
    }

    /// Marks row `id` of `entity` changed now: its modified-date fields
    /// (Contacts `lastActivityDate`/`lastModifiedDate`, Opportunities
    /// `lastActivity`, ConfigurationItems `lastModifiedTime`, Projects,
    /// Phases and Tasks `lastActivityDateTime`) become now. `false` when
    /// there is no such row.
    pub fn touch(&self, entity: &str, id: i64) -> bool {
        let Some(def) = entity_def(entity) else {
            return false;
        };
        let mut st = self.state();
        if !st.tables.get(def.name).is_some_and(|t| t.contains_key(&id)) {
            return false;
        }
        let now = st.now();
        if let Some(row) = st.tables.get_mut(def.name).and_then(|t| t.get_mut(&id)) {
            for f in def.modified_fields {
                row[*f] = json!(now);
            }
        }
        true
    }

    /// Changes the hourly threshold and the thread limit from now on (a new
    /// threshold starts a new, empty window).
    pub fn set_limits(&self, thresholds: u64, max_threads: usize) {
        let mut st = self.state();
        if thresholds != st.config.thresholds {
            st.config.thresholds = thresholds;
            st.hourly = RollingWindow::new(
                usize::try_from(thresholds).unwrap_or(usize::MAX),
                Duration::from_secs(3600),
            );
        }
        st.config.max_threads = max_threads;
    }

    /// Deletes company `id` (and its contacts), as Autotask's UI can (the
    /// API cannot); queues the `Delete` callouts of subscribed webhooks.
    /// `false` when there is no such company.
    pub fn delete_company(&self, id: i64) -> bool {
        let mut st = self.state();
        let Some(row) = st.tables.get_mut("Companies").and_then(|t| t.remove(&id)) else {
            return false;
        };
        st.queue_callouts("Companies", "Delete", id, &row, &[]);
        let contacts: Vec<(i64, Value)> = st
            .tables
            .get("Contacts")
            .into_iter()
            .flatten()
            .filter(|(_, c)| c.get("companyID").and_then(id_of) == Some(id))
            .map(|(k, c)| (*k, c.clone()))
            .collect();
        for (cid, contact) in contacts {
            if let Some(t) = st.tables.get_mut("Contacts") {
                t.remove(&cid);
            }
            st.queue_callouts("Contacts", "Delete", cid, &contact, &[]);
        }
        true
    }

    /// Edits row `id` of `entity` as a user would in Autotask's UI: sets
    /// `fields` (field names case-insensitive, unknown ones ignored, values
    /// taken as given), stamps the modified dates and queues the `Update`
    /// callouts of webhooks subscribed to a changed field. `false` when
    /// there is no such row or `fields` is not an object.
    pub fn edit(&self, entity: &str, id: i64, fields: Value) -> bool {
        let (Some(def), Value::Object(fields)) = (entity_def(entity), fields) else {
            return false;
        };
        let mut st = self.state();
        let Some(mut row) = st
            .tables
            .get(def.name)
            .and_then(|t| t.get(&id))
            .and_then(Value::as_object)
            .cloned()
        else {
            return false;
        };
        let before = row.clone();
        for (k, v) in fields {
            if let Some(f) = def.field(&k) {
                row.insert(f.name.to_string(), v);
            }
        }
        let changed = writes::changed_fields(def, &before, &row);
        let now = st.now();
        for f in def.modified_fields {
            row.insert((*f).to_string(), json!(now));
        }
        let row = Value::Object(row);
        st.queue_callouts(def.name, "Update", id, &row, &changed);
        st.tables.entry(def.name).or_default().insert(id, row);
        true
    }

    /// The callouts queued by changes since the last call (creates, updates
    /// and deletes through the API, [`AutotaskSim::edit`],
    /// [`AutotaskSim::delete_company`]), oldest first: what Autotask would
    /// have POSTed to each subscribed webhook's `webhookUrl`.
    pub fn take_callouts(&self) -> Vec<QueuedCallout> {
        std::mem::take(&mut self.state().outbox)
    }

    /// Every request so far, in order (no header is logged, so no secret).
    pub fn requests(&self) -> Vec<SimRequest> {
        self.state().sim.log.all().to_vec()
    }

    /// How many requests so far.
    pub fn request_count(&self) -> usize {
        self.state().sim.log.len()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.state().sim.log.clear();
    }

    /// Answers the next `n` authenticated API calls with `status` and an
    /// `{"errors": [..]}` body (429: the thread-limit refusal).
    pub fn fail_next(&self, n: u64, status: u16) {
        self.state().sim.faults.push(n, status);
    }

    /// Answers every `k`-th authenticated API call with `status` from now
    /// on (`k = 0` stops it).
    pub fn fail_every(&self, k: u64, status: u16) {
        self.state().sim.faults.set_every(k, status);
    }

    /// Stops injected failures.
    pub fn clear_faults(&self) {
        self.state().sim.faults.clear();
    }

    /// What fault injection did so far.
    pub fn fault_stats(&self) -> FaultStats {
        self.state().sim.faults.stats()
    }

    /// Sets the fixed delay and jitter of every answer.
    pub fn set_latency(&self, latency: Duration, jitter: Duration) {
        let mut st = self.state();
        st.config.latency = latency;
        st.config.jitter = jitter;
    }

    /// The hourly threshold and its use, as `ThresholdInformation` reports.
    pub fn threshold_usage(&self) -> ThresholdUsage {
        self.state().threshold_usage()
    }

    /// What the thread limit and the hourly threshold did so far.
    pub fn limit_stats(&self) -> AutotaskLimitStats {
        self.state().limits
    }

    /// Time spent answering (latency excluded).
    pub fn server_time(&self) -> Duration {
        self.state().sim.busy
    }

    /// Every registered webhook with its field subscriptions, by id.
    pub fn webhooks(&self) -> Vec<SimWebhook> {
        self.state().webhooks()
    }

    /// The callout Autotask would POST to webhook `webhook_id`'s
    /// `webhookUrl` for `action` (`"Create"`, `"Update"`, `"Delete"`) on
    /// record `entity_id`: its headers (`Content-Type`, `X-Hook-Signature`)
    /// and raw body. `Fields` holds the record's subscribed and
    /// display-always fields (none when the record no longer exists).
    ///
    /// # Panics
    ///
    /// When there is no webhook `webhook_id` (a mistake in the test).
    pub fn signed_callout(&self, webhook_id: i64, action: &str, entity_id: i64) -> Callout {
        self.state()
            .callout(webhook_id, action, entity_id)
            .unwrap_or_else(|| panic!("the Autotask simulator has no webhook {webhook_id}"))
    }
}
