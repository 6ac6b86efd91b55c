//! Lifecycle races (issue 10.6): a host's lifecycle calls racing each other
//! and racing a sync, each played at an exact point with a gate.
//!
//! - A connection test racing a disable: the disable stays, the test's
//!   result is refused, and no sync runs afterwards.
//! - A disable during a sync: the run stops at the next page with "connection
//!   disabled during sync"; nothing lands after the disable; after enabling,
//!   the next run resumes and syncs the rest exactly once.
//! - A disable after the last page, before the run marks the connection
//!   synced: reported as the disable, not as a store failure.
//! - A delete with purge during a sync: the run stops; no record, sync state
//!   or activity of the connection is left behind.
//! - Concurrent updates (settings, a disable) lose none of each other.
//!
//! Each runs on the memory store and on a SQLite file.

mod fault_support;

use fault_support::*;
use scopelink_core::activity::ActivityKind;
use scopelink_core::sync::{RunStatus, SyncProgress, SyncState};
use scopelink_core::{
    ConnectionStatus, DataType, Error, MemoryStore, Store, SyncError, SyncRequest, TransitionError,
};
use scopelink_reliability::gate::{Gate, GatedConnector, GatedSource};
use scopelink_store_sqlite::SqliteStore;
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use std::sync::Arc;
use std::time::Duration;

/// 300 companies in pages of 30.
const COMPANIES: usize = 300;
const PAGE: u32 = 30;
/// The sync is held before this page: pages 1-3 (90 records) are in.
const HELD_BEFORE: u64 = 4;

fn companies() -> SyncRequest {
    SyncRequest::all().data_types(vec![DataType::Companies])
}

async fn sqlite(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(dir.path().join("races.db"))
            .await
            .expect("open"),
    )
}

async fn setup(store: Arc<dyn Store>) -> (ConnectWiseSim, Host) {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(COMPANIES, 0)).await;
    let host = Host::connectwise(store, &sim).await;
    (sim, host)
}

// ---------------------------------------------------------------------------
// test() racing disable()
// ---------------------------------------------------------------------------

async fn test_racing_disable_keeps_the_disable(store: Arc<dyn Store>) {
    let (sim, host) = setup(store).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(5)));
    let gate = Gate::new();
    let slow = GatedConnector::new(&cw, gate.clone());
    // The test reads the connection (enabled), then waits on the provider;
    // meanwhile the connection is disabled.
    let (tested, ()) = tokio::join!(
        host.connections.test(&host.access, &host.conn, &slow),
        async {
            gate.reached().await;
            host.connections
                .disable(&host.access, &host.conn)
                .await
                .expect("disable");
            gate.release();
        }
    );
    match tested {
        Err(Error::Transition(TransitionError::Illegal { action, from })) => {
            assert_eq!((action, from.as_str()), ("test", "Disabled"));
        }
        other => panic!("the test that lost the race must be refused, got {other:?}"),
    }
    let stored = host
        .connections
        .get(&host.access, &host.conn)
        .await
        .unwrap();
    assert_eq!(
        stored.status,
        ConnectionStatus::Disabled,
        "the disable must not be overwritten by the test's result"
    );
    let requests = sim.request_count();
    let err = host
        .engine
        .run(&host.access, &host.conn, &cw, &companies(), None)
        .await
        .expect_err("a disabled connection does not sync");
    assert!(matches!(err, SyncError::Disabled(_)), "{err:?}");
    assert_eq!(sim.request_count(), requests, "no sync request was made");
    assert_eq!(
        host.store
            .count_records(&host.conn, DataType::Companies)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_racing_disable_keeps_the_disable_in_memory() {
    test_racing_disable_keeps_the_disable(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_racing_disable_keeps_the_disable_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    test_racing_disable_keeps_the_disable(sqlite(&dir).await).await;
}

// ---------------------------------------------------------------------------
// disable() during a sync
// ---------------------------------------------------------------------------

async fn disable_during_sync_stops_at_the_disable(store: Arc<dyn Store>) {
    let (sim, host) = setup(store).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(5)));
    let gate = Gate::new();
    let held = GatedSource::new(&cw, HELD_BEFORE, gate.clone());
    let rec = Recorder::default();
    let progress = |p: &SyncProgress| rec.note(p);
    let request = companies();
    let (run, at_disable) = tokio::join!(
        host.engine
            .run(&host.access, &host.conn, &held, &request, Some(&progress)),
        async {
            gate.reached().await;
            wait_for_committed_pages(&host, DataType::Companies, HELD_BEFORE - 1).await;
            host.connections
                .disable(&host.access, &host.conn)
                .await
                .expect("disable");
            let at_disable = host
                .store
                .count_records(&host.conn, DataType::Companies)
                .await
                .unwrap();
            gate.release();
            at_disable
        }
    );
    let err = run.expect_err("the run must stop at the disable");
    assert!(
        matches!(&err, SyncError::DisabledDuringSync(c) if *c == host.conn),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("disabled during sync") && !message.contains("store backend failed"),
        "{message}"
    );
    let stored = host
        .store
        .count_records(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert_eq!(at_disable, (HELD_BEFORE - 1) * u64::from(PAGE));
    assert_eq!(stored, at_disable, "nothing landed after the disable");
    let state = host
        .store
        .sync_state(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert!(
        matches!(&state.status, RunStatus::Failed { reason, .. } if reason.contains("disabled during sync")),
        "{:?}",
        state.status
    );
    assert_eq!(state.checkpoint.as_ref().map(|c| c.pages), Some(3));
    let entries = host.store.entries(Some(&host.conn), 3).await.unwrap();
    assert!(
        entries.iter().any(|e| matches!(&e.kind,
            ActivityKind::SyncFailed { reason, .. } if reason.contains("disabled during sync"))),
        "{entries:?}"
    );
    assert_eq!(
        host.connections
            .get(&host.access, &host.conn)
            .await
            .unwrap()
            .status,
        ConnectionStatus::Disabled,
        "the run's end does not touch the disabled connection"
    );

    // Enabled again, the next run resumes from the checkpoint: the rest is
    // created once, nothing twice.
    host.connections
        .enable(&host.access, &host.conn, &cw)
        .await
        .expect("enable");
    let report = host
        .engine
        .run(&host.access, &host.conn, &cw, &companies(), None)
        .await
        .expect("the resumed run completes");
    let counts = report.counts(DataType::Companies).unwrap();
    assert_eq!(counts.created, COMPANIES as u64, "{counts:?}");
    assert_eq!(counts.updated + counts.unchanged, 0, "{counts:?}");
    assert_eq!(
        host.store
            .count_records(&host.conn, DataType::Companies)
            .await
            .unwrap(),
        COMPANIES as u64
    );
    println!(
        "disable during sync: {at_disable} of {COMPANIES} records in at the disable, 0 after it; resumed run completed to {COMPANIES}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_during_sync_stops_at_the_disable_in_memory() {
    disable_during_sync_stops_at_the_disable(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_during_sync_stops_at_the_disable_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    disable_during_sync_stops_at_the_disable(sqlite(&dir).await).await;
}

/// Disabled after the last page is committed, before the run marks the
/// connection synced: the run reports the disable (not a store failure)
/// and leaves the connection disabled.
async fn disable_after_the_last_page_is_reported_as_such(store: Arc<dyn Store>) {
    let (sim, host) = setup(store).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(5)));
    let pages = (COMPANIES as u64).div_ceil(u64::from(PAGE));
    let gate = Gate::new();
    // Held before the stream reports its end.
    let held = GatedSource::new(&cw, pages + 1, gate.clone());
    let request = companies();
    let (run, ()) = tokio::join!(
        host.engine
            .run(&host.access, &host.conn, &held, &request, None),
        async {
            gate.reached().await;
            wait_for_committed_pages(&host, DataType::Companies, pages).await;
            host.connections
                .disable(&host.access, &host.conn)
                .await
                .expect("disable");
            gate.release();
        }
    );
    let err = run.expect_err("the run reports the disable");
    assert!(
        matches!(&err, SyncError::DisabledDuringSync(c) if *c == host.conn),
        "{err:?}"
    );
    assert!(!err.to_string().contains("store backend failed"), "{err}");
    let c = host
        .connections
        .get(&host.access, &host.conn)
        .await
        .unwrap();
    assert_eq!(c.status, ConnectionStatus::Disabled);
    assert_eq!(c.last_sync, None, "not marked synced after the disable");
    assert_eq!(
        host.store
            .count_records(&host.conn, DataType::Companies)
            .await
            .unwrap(),
        COMPANIES as u64,
        "every page was committed before the disable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_after_the_last_page_is_reported_as_such_in_memory() {
    disable_after_the_last_page_is_reported_as_such(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_after_the_last_page_is_reported_as_such_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    disable_after_the_last_page_is_reported_as_such(sqlite(&dir).await).await;
}

// ---------------------------------------------------------------------------
// delete(purge) during a sync
// ---------------------------------------------------------------------------

async fn delete_with_purge_during_sync_leaves_nothing(store: Arc<dyn Store>) {
    let (sim, host) = setup(store).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(5)));
    let gate = Gate::new();
    let held = GatedSource::new(&cw, HELD_BEFORE, gate.clone());
    let request = companies();
    let (run, ()) = tokio::join!(
        host.engine
            .run(&host.access, &host.conn, &held, &request, None),
        async {
            gate.reached().await;
            wait_for_committed_pages(&host, DataType::Companies, HELD_BEFORE - 1).await;
            host.connections
                .delete(&host.access, &host.conn, true)
                .await
                .expect("delete");
            gate.release();
        }
    );
    let err = run.expect_err("the run must stop at the delete");
    assert!(
        matches!(&err, SyncError::DeletedDuringSync(c) if *c == host.conn),
        "{err:?}"
    );
    assert_eq!(
        host.store.connection(&host.conn).await.unwrap(),
        None,
        "the connection is gone"
    );
    for t in [DataType::Companies, DataType::Contacts] {
        assert_eq!(
            host.store.count_records(&host.conn, t).await.unwrap(),
            0,
            "no orphan {t} record"
        );
        assert_eq!(
            host.store.sync_state(&host.conn, t).await.unwrap(),
            SyncState::default(),
            "no orphan {t} sync state"
        );
    }
    let last = host.store.entries(Some(&host.conn), 1).await.unwrap();
    assert_eq!(
        last.first().map(|e| &e.kind),
        Some(&ActivityKind::Deleted),
        "nothing is logged for the connection after its delete"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_purge_during_sync_leaves_nothing_in_memory() {
    delete_with_purge_during_sync_leaves_nothing(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_purge_during_sync_leaves_nothing_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    delete_with_purge_during_sync_leaves_nothing(sqlite(&dir).await).await;
}

// ---------------------------------------------------------------------------
// Concurrent updates
// ---------------------------------------------------------------------------

/// Eight settings written at once and a disable among them: every one is
/// kept (each update is compare-and-set, redone on a newer copy when it
/// loses).
async fn concurrent_updates_lose_nothing(store: Arc<dyn Store>) {
    let (_sim, host) = setup(store).await;
    let host = Arc::new(host);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let host = Arc::clone(&host);
        tasks.push(tokio::spawn(async move {
            host.connections
                .set_setting(
                    &scopelink_core::Access::full(),
                    &host.conn,
                    &format!("race_{i}"),
                    &format!("value {i}"),
                )
                .await
        }));
    }
    let disabling = {
        let host = Arc::clone(&host);
        tokio::spawn(async move { host.connections.disable(&host.access, &host.conn).await })
    };
    for t in tasks {
        t.await.unwrap().expect("set_setting");
    }
    disabling.await.unwrap().expect("disable");
    let c = host
        .connections
        .get(&host.access, &host.conn)
        .await
        .unwrap();
    for i in 0..8 {
        assert_eq!(
            c.settings.get(&format!("race_{i}")).map(String::as_str),
            Some(format!("value {i}").as_str()),
            "setting race_{i} was lost"
        );
    }
    assert_eq!(c.status, ConnectionStatus::Disabled, "the disable was lost");
    // Created (1), eight settings and the disable: ten saves.
    assert_eq!(c.version, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_lose_nothing_in_memory() {
    concurrent_updates_lose_nothing(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_lose_nothing_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_updates_lose_nothing(sqlite(&dir).await).await;
}
