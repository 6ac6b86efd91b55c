//! One test host for the tests of core, the connectors, the stores and the
//! reliability suite: [`MemoryEnv`] (a memory store, an in-memory vault and
//! the connection service over them), and [`Host`] (any store, the
//! connection service, a sync engine and one CRM connection); plus a
//! recorder of sync progress and checks of a run's checkpoint against the
//! store.

use scopelink_core::activity::ActivityKind;
use scopelink_core::secret::{Credentials, InMemoryVault};
use scopelink_core::sync::{SyncCounts, SyncProgress};
use scopelink_core::{
    Access, ConnectionId, Connections, DataType, FeatureCategory, MemoryStore, NewConnection,
    Provider, Store, SyncEngine, SyncRequest,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A memory store, an in-memory vault and the connection service over
/// them, used with full access.
pub struct MemoryEnv {
    /// The store.
    pub store: Arc<MemoryStore>,
    /// The vault.
    pub vault: Arc<InMemoryVault>,
    /// The service.
    pub connections: Connections,
    /// The caller's access (full).
    pub access: Access,
}

impl Default for MemoryEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryEnv {
    /// An empty environment.
    pub fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let vault = Arc::new(InMemoryVault::new());
        let connections = Connections::new(store.clone(), vault.clone());
        Self {
            store,
            vault,
            connections,
            access: Access::full(),
        }
    }

    /// A sync engine over the connection service.
    pub fn engine(&self) -> SyncEngine {
        SyncEngine::new(self.connections.clone())
    }

    /// The activity kinds of a connection, oldest first.
    pub async fn kinds(&self, id: &ConnectionId) -> Vec<ActivityKind> {
        let mut entries = self
            .connections
            .activity(&Access::full(), Some(id), usize::MAX)
            .await
            .expect("activity");
        entries.reverse();
        entries.into_iter().map(|e| e.kind).collect()
    }
}

/// The CRM types a ConnectWise or HaloPSA sync runs here.
pub const CRM: [DataType; 3] = [
    DataType::Companies,
    DataType::Contacts,
    DataType::Opportunities,
];

/// A host: a store, the connection service over it, an engine, and one
/// CRM connection.
pub struct Host {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The connection service over the store and an in-memory vault.
    pub connections: Connections,
    /// The sync engine over the connection service.
    pub engine: SyncEngine,
    /// The caller's access (full).
    pub access: Access,
    /// The one CRM connection.
    pub conn: ConnectionId,
}

impl Host {
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

    /// A host over `store` with a new CRM connection to `provider`.
    pub async fn with(
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
                NewConnection::new(provider, "reliability", credentials)
                    .categories([FeatureCategory::Crm])
                    .settings(settings),
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
    SyncRequest::all().data_types(CRM.to_vec())
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

    /// The counts of `data_type`'s first completion over every run (for a
    /// resumed type, the resumed run's, which include the interrupted
    /// run's); `None` if it never finished.
    pub fn first_completion(&self, data_type: DataType) -> Option<SyncCounts> {
        self.finished
            .lock()
            .unwrap()
            .iter()
            .find(|(t, _)| *t == data_type)
            .map(|(_, c)| *c)
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
