//! Running marks are leases (issue 10.7): owned by one run, renewed at each
//! page it commits, lapsing on their own when the run dies.
//!
//! - A dropped run's mark lapses: once its lease has expired the next run
//!   takes over without a force reset and resumes from its checkpoint.
//! - A force reset during a live run cannot make two runs write: the reset
//!   run's next commit is refused, the new run syncs the rest, and every
//!   record is created exactly once.
//! - A second run is refused while the first's lease is live; after it
//!   lapses (a stalled run) the second takes over and the stalled one, when
//!   it wakes up, writes nothing.
//!
//! Lease expiry is played with the engine's injectable clock, never by
//! sleeping. Each runs on the memory store and on a SQLite file.

mod fault_support;

use fault_support::*;
use scopelink_core::sync::{RunStatus, SyncProgress};
use scopelink_core::{DataType, MemoryStore, Store, StoreError, SyncError, SyncRequest};
use scopelink_reliability::gate::{Gate, GatedSource};
use scopelink_store_sqlite::SqliteStore;
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use std::sync::Arc;
use std::time::Duration;

const COMPANIES: usize = 300;
const PAGE: u32 = 30;
const HELD_BEFORE: u64 = 4;
/// The engines' lease.
const LEASE: Duration = Duration::from_secs(60);

fn companies() -> SyncRequest {
    SyncRequest::all().data_types(vec![DataType::Companies])
}

async fn sqlite(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(dir.path().join("leases.db"))
            .await
            .expect("open"),
    )
}

/// A host whose engine uses a 60 s lease, and an engine over the same
/// connections whose clock runs `ahead` of the real one.
async fn setup(store: Arc<dyn Store>) -> (ConnectWiseSim, Host) {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(COMPANIES, 0)).await;
    let mut host = Host::connectwise(store, &sim).await;
    host.engine = host.engine.clone().with_lease_duration(LEASE);
    (sim, host)
}

fn later_engine(host: &Host, ahead: Duration) -> scopelink_core::SyncEngine {
    let ahead = chrono::Duration::from_std(ahead).unwrap();
    host.engine
        .clone()
        .with_clock(Arc::new(move || chrono::Utc::now() + ahead))
}

async fn records(host: &Host) -> u64 {
    host.store
        .count_records(&host.conn, DataType::Companies)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------
// A dropped run lapses on its own
// ---------------------------------------------------------------------------

async fn a_dropped_run_lapses_and_the_next_run_takes_over(store: Arc<dyn Store>) {
    let (sim, host) = setup(store).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(5)));
    let gate = Gate::new();
    let held = GatedSource::new(&cw, HELD_BEFORE, gate.clone());
    let request = companies();
    {
        let run = host
            .engine
            .run(&host.access, &host.conn, &held, &request, None);
        tokio::select! {
            biased;
            () = async {
                gate.reached().await;
                wait_for_committed_pages(&host, DataType::Companies, HELD_BEFORE - 1).await;
            } => {}
            result = run => panic!("the run ended before it was dropped: {result:?}"),
        }
        // The run's future is dropped here: the host lost the task.
    }
    let state = host
        .store
        .sync_state(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert!(
        state.status.is_live_at(chrono::Utc::now()),
        "the dead run's lease is live until it lapses: {:?}",
        state.status
    );
    let committed = records(&host).await;
    assert_eq!(committed, (HELD_BEFORE - 1) * u64::from(PAGE));

    let refused = host
        .engine
        .run(&host.access, &host.conn, &cw, &companies(), None)
        .await
        .expect_err("refused while the lease is live");
    assert!(
        matches!(refused, SyncError::Store(StoreError::AlreadyRunning { .. })),
        "{refused:?}"
    );

    // A minute and a second later the lease has lapsed: no force reset.
    let later = later_engine(&host, LEASE + Duration::from_secs(1));
    let report = later
        .run(&host.access, &host.conn, &cw, &companies(), None)
        .await
        .expect("the next run takes the lapsed mark over");
    let counts = report.counts(DataType::Companies).unwrap();
    assert_eq!(
        (counts.created, counts.updated, counts.unchanged),
        (COMPANIES as u64, 0, 0),
        "the resumed run counts the dead run's pages and creates the rest once"
    );
    assert_eq!(records(&host).await, COMPANIES as u64);
    let state = host
        .store
        .sync_state(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert_eq!(state.status, RunStatus::Idle);
    assert_eq!(state.checkpoint, None);
    println!(
        "dropped run: {committed} records in when dropped; lease {}s lapsed, next run resumed to {COMPANIES} without force reset",
        LEASE.as_secs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_run_lapses_and_the_next_run_takes_over_in_memory() {
    a_dropped_run_lapses_and_the_next_run_takes_over(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_run_lapses_and_the_next_run_takes_over_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_dropped_run_lapses_and_the_next_run_takes_over(sqlite(&dir).await).await;
}

// ---------------------------------------------------------------------------
// A force reset during a live run
// ---------------------------------------------------------------------------

async fn force_reset_during_a_live_run_never_runs_two(store: Arc<dyn Store>) {
    let (sim, host) = setup(store).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(5)));
    let gate = Gate::new();
    let held = GatedSource::new(&cw, HELD_BEFORE, gate.clone());
    let first = Recorder::default();
    let first_progress = |p: &SyncProgress| first.note(p);
    let request = companies();
    let (held_run, second) = tokio::join!(
        host.engine.run(
            &host.access,
            &host.conn,
            &held,
            &request,
            Some(&first_progress)
        ),
        async {
            gate.reached().await;
            wait_for_committed_pages(&host, DataType::Companies, HELD_BEFORE - 1).await;
            host.engine
                .force_reset(&host.access, &host.conn, DataType::Companies)
                .await
                .expect("force reset");
            let second = host
                .engine
                .run(&host.access, &host.conn, &cw, &companies(), None)
                .await;
            gate.release();
            second
        }
    );
    let err = held_run.expect_err("the reset run must stop");
    assert!(
        matches!(
            err,
            SyncError::Store(StoreError::LeaseLost {
                data_type: DataType::Companies,
                ..
            })
        ),
        "{err:?}"
    );
    let second = second.expect("the run after the reset completes");
    let created_by_first = (HELD_BEFORE - 1) * u64::from(PAGE);
    assert_eq!(first.pages(DataType::Companies), HELD_BEFORE - 1);
    let counts = second.counts(DataType::Companies).unwrap();
    // The second run resumed the first's checkpoint: its counts include
    // the first's pages, and it created the rest.
    assert_eq!(
        (counts.created, counts.updated, counts.unchanged),
        (COMPANIES as u64, 0, 0),
        "{counts:?}"
    );
    assert_eq!(
        records(&host).await,
        COMPANIES as u64,
        "every record stored once"
    );
    let state = host
        .store
        .sync_state(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert_eq!(
        (state.status, state.checkpoint),
        (RunStatus::Idle, None),
        "the reset run's end did not overwrite the completed run's state"
    );
    println!(
        "force reset during a live run: first run {created_by_first} created then refused; second run {} created in all; store {COMPANIES}",
        counts.created
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_reset_during_a_live_run_never_runs_two_in_memory() {
    force_reset_during_a_live_run_never_runs_two(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_reset_during_a_live_run_never_runs_two_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    force_reset_during_a_live_run_never_runs_two(sqlite(&dir).await).await;
}

// ---------------------------------------------------------------------------
// A stalled run overtaken after its lease lapsed
// ---------------------------------------------------------------------------

async fn a_stalled_run_overtaken_after_its_lease_writes_nothing(store: Arc<dyn Store>) {
    let (sim, host) = setup(store).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(5)));
    let gate = Gate::new();
    let held = GatedSource::new(&cw, HELD_BEFORE, gate.clone());
    let request = companies();
    let later = later_engine(&host, LEASE + Duration::from_secs(1));
    let (stalled, (refused, second, at_takeover_end)) = tokio::join!(
        host.engine
            .run(&host.access, &host.conn, &held, &request, None),
        async {
            gate.reached().await;
            wait_for_committed_pages(&host, DataType::Companies, HELD_BEFORE - 1).await;
            let refused = host
                .engine
                .run(&host.access, &host.conn, &cw, &companies(), None)
                .await;
            let second = later
                .run(&host.access, &host.conn, &cw, &companies(), None)
                .await;
            let at_end = records(&host).await;
            gate.release();
            (refused, second, at_end)
        }
    );
    assert!(
        matches!(
            refused,
            Err(SyncError::Store(StoreError::AlreadyRunning { .. }))
        ),
        "{refused:?}"
    );
    let second = second.expect("the run after the lapse completes");
    assert_eq!(
        second.counts(DataType::Companies).map(|c| c.created),
        Some(COMPANIES as u64)
    );
    let err = stalled.expect_err("the stalled run must stop when it wakes");
    assert!(
        matches!(err, SyncError::Store(StoreError::LeaseLost { .. })),
        "{err:?}"
    );
    assert_eq!(at_takeover_end, COMPANIES as u64);
    assert_eq!(
        records(&host).await,
        COMPANIES as u64,
        "the stalled run wrote nothing after waking"
    );
    let state = host
        .store
        .sync_state(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert_eq!((state.status, state.checkpoint), (RunStatus::Idle, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_run_overtaken_after_its_lease_writes_nothing_in_memory() {
    a_stalled_run_overtaken_after_its_lease_writes_nothing(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_run_overtaken_after_its_lease_writes_nothing_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_stalled_run_overtaken_after_its_lease_writes_nothing(sqlite(&dir).await).await;
}
