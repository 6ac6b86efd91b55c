//! A process killed mid-sync from Autotask resumes exactly from its SQLite
//! file: this test binary runs itself as a child that syncs from the
//! Autotask simulator (which lives in the parent) into a SQLite file; the
//! parent kills it (SIGKILL) while it waits on the simulator, then resumes
//! from the file, starting at the checkpointed `nextPageUrl`.

mod fault_support;

use fault_support::{assert_checkpoint_matches_store, http, reset_and_resume, Host, Recorder};
use scopelink_autotask::{AutotaskConnector, AutotaskSettings};
use scopelink_core::secret::{ApiUserSecret, Credentials};
use scopelink_core::sync::RunStatus;
use scopelink_core::{DataType, Provider, Store};
use scopelink_reliability::child::{self, SyncChild};
use scopelink_store_sqlite::SqliteStore;
use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use std::sync::Arc;
use std::time::Duration;

/// 2,000 companies and contacts (4 pages of 500 each), 300 opportunities.
fn sim_config() -> AutotaskSimConfig {
    AutotaskSimConfig {
        companies: 2_000,
        contacts_per_company: 1,
        opportunities: 300,
        ..AutotaskSimConfig::default()
    }
}

fn credentials() -> ApiUserSecret {
    let c = AutotaskSimConfig::default();
    ApiUserSecret::new(&c.username, &c.secret, &c.integration_code)
}

fn connector(zone: &str, timeout: Duration) -> AutotaskConnector {
    AutotaskConnector::with_zone_url(
        zone,
        AutotaskSettings::default(),
        credentials(),
        http(timeout),
    )
    .expect("connector")
}

/// The child: syncs into the SQLite file the parent names, printing a line
/// per progress report. Does nothing unless run as the child.
#[test]
fn autotask_sync_child_process() {
    if !child::is_child() {
        return;
    }
    child::sync_in_child(|| connector(&child::var("SL_CHILD_ZONE"), Duration::from_secs(120)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_autotask_sync_resumes_exactly_from_its_sqlite_file() {
    if child::is_child() {
        return;
    }
    let sim = AutotaskSim::start(sim_config()).await;
    // Answers take 100 ms, so when contacts page 1 is reported the child
    // holds at most the page after it (the connector reads ahead) and the
    // rest of contacts is still to be asked for.
    sim.set_latency(Duration::from_millis(100), Duration::ZERO);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("killed.db");
    let conn = {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).await.expect("open"));
        Host::with(
            store,
            Provider::Autotask,
            Credentials::ApiUserSecret(credentials()),
            AutotaskSettings {
                zone_url: Some(sim.zone_url()),
                ..AutotaskSettings::default()
            }
            .to_map(),
        )
        .await
        .conn
    };

    // Once the child has committed contacts page 1, every answer hangs, so
    // the child is killed mid-sync whatever it is doing.
    SyncChild::command("autotask_sync_child_process", &db, &conn)
        .env("SL_CHILD_ZONE", sim.zone_url())
        .spawn()
        .kill_at_progress(DataType::Contacts, 1, || {
            sim.set_latency(Duration::from_secs(600), Duration::ZERO);
        })
        .await;
    sim.set_latency(Duration::ZERO, Duration::ZERO);

    // The parent resumes from the file.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).await.expect("reopen"));
    let host = Host::attach(store, conn);
    let committed = assert_checkpoint_matches_store(
        &host,
        DataType::Contacts,
        |s| matches!(s, RunStatus::Running { .. }),
        500,
    )
    .await;
    assert!((1..4).contains(&committed), "{committed}");
    let at = connector(&sim.zone_url(), Duration::from_secs(5));
    let rec = Recorder::default();
    reset_and_resume(&host, &at, DataType::Contacts, &rec).await;

    // Every contact created once in all (the child's counts carried over).
    let contacts = rec
        .first_completion(DataType::Contacts)
        .expect("contacts finished");
    assert_eq!(
        (contacts.created, contacts.updated),
        (sim.contacts().len() as u64, 0)
    );
    let opportunities = rec
        .first_completion(DataType::Opportunities)
        .expect("opportunities finished");
    assert_eq!(opportunities.created, sim.opportunities().len() as u64);
    println!(
        "autotask killed process: child committed 4 companies + {committed} contacts pages; resumed {} pages; requests={}",
        rec.total_pages(),
        sim.request_count()
    );
}
