//! Shared setup of the fault and resume tests: a connection in a store, a
//! ConnectWise connector pointed at the simulator (or a proxy in front of
//! it), fast retries, and a progress recorder.
#![allow(dead_code)]

use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings};
use scopelink_core::http::{AddressPolicy, HttpConfig, RateLimit, RetryPolicy};
use scopelink_core::secret::{ApiKeyPair, ClientCredentials, Credentials, InMemoryVault};
use scopelink_core::sync::{SyncCounts, SyncProgress};
use scopelink_core::{
    Access, ConnectionId, Connections, DataType, FeatureCategory, NewConnection, Provider, Store,
    SyncEngine, SyncRequest,
};
use scopelink_testkit::connectwise::ConnectWiseSim;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// The CRM types a ConnectWise or HaloPSA sync runs here.
pub const CRM: [DataType; 3] = [
    DataType::Companies,
    DataType::Contacts,
    DataType::Opportunities,
];

/// Loopback allowed; retries fast (1 ms backoff, 4 attempts); `timeout`
/// per attempt, and an overall deadline past four whole attempts (so every
/// attempt may time out); no client-side rate limit to speak of.
pub fn http(timeout: Duration) -> HttpConfig {
    HttpConfig {
        timeout,
        deadline: Some(timeout.saturating_mul(5)),
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(2),
        },
        rate_limit: Some(RateLimit {
            requests: 1_000_000,
            per: Duration::from_secs(1),
        }),
        addresses: AddressPolicy::allow_local(),
        ..HttpConfig::default()
    }
}

/// The simulator's keys.
pub fn cw_keys(sim: &ConnectWiseSim) -> ApiKeyPair {
    ApiKeyPair::new(sim.company_id(), sim.public_key(), sim.private_key())
}

/// Settings for the simulator.
pub fn cw_settings(sim: &ConnectWiseSim) -> ConnectWiseSettings {
    ConnectWiseSettings {
        server_url: sim.server_url().to_string(),
        client_id: sim.client_id().to_string(),
        ..ConnectWiseSettings::default()
    }
}

/// A connector on `origin` (the simulator's `server_url`, or a proxy's URL)
/// with the simulator's API path, keys and client id; pages of
/// `page_size`.
pub fn cw_connector(
    sim: &ConnectWiseSim,
    origin: &str,
    page_size: u32,
    http: HttpConfig,
) -> ConnectWiseConnector {
    let api_base = Url::parse(&format!(
        "{}/{}apis/3.0",
        origin.trim_end_matches('/'),
        sim.codebase()
    ))
    .expect("API base");
    ConnectWiseConnector::with_api_base(api_base, cw_settings(sim), cw_keys(sim), http)
        .expect("connector")
        .with_page_size(page_size)
}

/// A host: a store, the connection service over it, an engine, and one
/// CRM connection.
pub struct Host {
    pub store: Arc<dyn Store>,
    pub connections: Connections,
    pub engine: SyncEngine,
    pub access: Access,
    pub conn: ConnectionId,
}

impl Host {
    /// A host over `store` with a ConnectWise CRM connection to `sim`.
    pub async fn connectwise(store: Arc<dyn Store>, sim: &ConnectWiseSim) -> Self {
        Self::with(
            store,
            Provider::ConnectWiseManage,
            Credentials::ApiKeyPair(cw_keys(sim)),
            cw_settings(sim).to_map(),
        )
        .await
    }

    /// A host over `store` with a HaloPSA CRM connection.
    pub async fn halopsa(store: Arc<dyn Store>, host: &str) -> Self {
        let settings = scopelink_halopsa::HaloSettings {
            host: host.to_string(),
            tenant: Some("acmemsp".into()),
            project_ticket_type_id: Some("3".into()),
            task_ticket_type_id: Some("26".into()),
        };
        Self::with(
            store,
            Provider::HaloPsa,
            Credentials::ClientCredentials(ClientCredentials::new("sim-client", "sim-secret")),
            settings.to_map(),
        )
        .await
    }

    /// Runs the CRM sync from `source`, noting its progress in `rec`.
    pub async fn run_crm(
        &self,
        source: &dyn scopelink_core::connector::CrmSource,
        rec: &Recorder,
    ) -> Result<scopelink_core::sync::SyncReport, scopelink_core::error::SyncError> {
        self.engine
            .run(
                &self.access,
                &self.conn,
                source,
                &crm_request(),
                Some(&|p: &SyncProgress| rec.note(p)),
            )
            .await
    }

    async fn with(
        store: Arc<dyn Store>,
        provider: Provider,
        credentials: Credentials,
        settings: BTreeMap<String, String>,
    ) -> Self {
        let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
        let access = Access::full();
        let conn = connections
            .create(
                &access,
                NewConnection {
                    provider,
                    name: "reliability".into(),
                    categories: [FeatureCategory::Crm].into(),
                    credentials,
                    settings,
                },
            )
            .await
            .expect("connection created")
            .id;
        Self::attach(store, conn)
    }

    /// A host over `store` for an existing connection (after a reopen).
    pub fn attach(store: Arc<dyn Store>, conn: ConnectionId) -> Self {
        let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
        Self {
            engine: SyncEngine::new(connections.clone()),
            store,
            connections,
            access: Access::full(),
            conn,
        }
    }
}

/// A non-full CRM sync request (resumes a checkpoint, else starts from the
/// cursor).
pub fn crm_request() -> SyncRequest {
    SyncRequest {
        data_types: CRM.to_vec(),
        ..SyncRequest::default()
    }
}

/// Records the progress reports of runs: one report per page committed
/// (plus one when a type finishes).
#[derive(Default)]
pub struct Recorder {
    commits: Mutex<BTreeMap<DataType, u64>>,
    finished: Mutex<Vec<(DataType, SyncCounts)>>,
}

impl Recorder {
    /// Notes one report.
    pub fn note(&self, p: &SyncProgress) {
        if p.finished {
            self.finished.lock().unwrap().push((p.data_type, p.counts));
        } else {
            *self.commits.lock().unwrap().entry(p.data_type).or_default() += 1;
        }
    }

    /// The counts of every type that finished, in order, over every run (a
    /// resumed type's counts include those of the run it resumed).
    pub fn finished(&self) -> Vec<(DataType, SyncCounts)> {
        self.finished.lock().unwrap().clone()
    }

    /// Asserts that over every run each type in `totals` was created in
    /// full exactly once: its first completion counts `n` created and
    /// nothing updated or unchanged, later (incremental) completions
    /// create and update nothing.
    #[track_caller]
    pub fn assert_created_once(&self, totals: &[(DataType, u64)]) {
        let finished = self.finished();
        for (data_type, n) in totals {
            let runs: Vec<SyncCounts> = finished
                .iter()
                .filter(|(t, _)| t == data_type)
                .map(|(_, c)| *c)
                .collect();
            let first = runs
                .first()
                .unwrap_or_else(|| panic!("{data_type} never finished"));
            assert_eq!(
                (first.created, first.updated, first.unchanged, first.skipped),
                (*n, 0, 0, 0),
                "{data_type}: {first:?}"
            );
            for later in &runs[1..] {
                assert_eq!(
                    (later.created, later.updated),
                    (0, 0),
                    "{data_type}: {later:?}"
                );
            }
        }
    }

    /// Pages of `data_type` committed so far, over every run.
    pub fn pages(&self, data_type: DataType) -> u64 {
        self.commits
            .lock()
            .unwrap()
            .get(&data_type)
            .copied()
            .unwrap_or(0)
    }

    /// Pages committed so far, over every type and run.
    pub fn total_pages(&self) -> u64 {
        self.commits.lock().unwrap().values().sum()
    }
}

/// After an interrupted run: asserts the type's status passes `status`, and
/// that its checkpoint agrees with the store (the records stored are the
/// records created, `page_size` to each committed page). Returns the pages
/// committed.
pub async fn assert_checkpoint_matches_store(
    host: &Host,
    data_type: DataType,
    status: fn(&scopelink_core::sync::RunStatus) -> bool,
    page_size: u32,
) -> u64 {
    let state = host
        .store
        .sync_state(&host.conn, data_type)
        .await
        .expect("state");
    assert!(status(&state.status), "{:?}", state.status);
    let checkpoint = state.checkpoint.expect("a checkpoint to resume from");
    let stored = host
        .store
        .count_records(&host.conn, data_type)
        .await
        .expect("count");
    assert_eq!(stored, checkpoint.counts.created);
    assert_eq!(stored, checkpoint.pages * u64::from(page_size));
    checkpoint.pages
}

/// Waits until the checkpoint of `data_type` shows at least `pages`
/// committed pages (a run held at a gate commits the page before it while
/// the held one is fetched). Up to 20 s: generous for a loaded machine; it
/// takes milliseconds.
pub async fn wait_for_committed_pages(host: &Host, data_type: DataType, pages: u64) {
    for _ in 0..4_000 {
        let state = host.store.sync_state(&host.conn, data_type).await.unwrap();
        if state.checkpoint.is_some_and(|c| c.pages >= pages) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the {data_type} run never committed {pages} pages");
}
