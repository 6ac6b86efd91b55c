//! A process killed mid-sync from Autotask resumes exactly from its SQLite
//! file: this test binary runs itself as a child that syncs from the
//! Autotask simulator (which lives in the parent) into a SQLite file; the
//! parent kills it (SIGKILL) while it waits on the simulator, then resumes
//! from the file, starting at the checkpointed `nextPageUrl`.

mod fault_support;

use fault_support::{assert_checkpoint_matches_store, crm_request, http, Host, Recorder};
use scopelink_autotask::{AutotaskConnector, AutotaskSettings};
use scopelink_core::secret::{ApiUserSecret, Credentials};
use scopelink_core::sync::{RunStatus, SyncProgress};
use scopelink_core::{ConnectionId, DataType, Provider, Store, StoreError, SyncError};
use scopelink_store_sqlite::SqliteStore;
use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// Set in the child's environment: the test binary acts as the child.
const CHILD: &str = "SCOPELINK_RELIABILITY_AUTOTASK_CHILD";

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

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set for the child"))
}

/// The child: syncs into the SQLite file the parent names, printing a line
/// per progress report. Does nothing unless run as the child.
#[test]
fn autotask_sync_child_process() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let at = connector(&env("SL_CHILD_ZONE"), Duration::from_secs(120));
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(env("SL_CHILD_DB"))
                .await
                .expect("open the file"),
        );
        let host = Host::attach(store, ConnectionId(env("SL_CHILD_CONN")));
        let progress = |p: &SyncProgress| {
            println!("PROGRESS {} {} {}", p.data_type, p.pages, p.finished);
        };
        let result = host
            .engine
            .run(
                &host.access,
                &host.conn,
                &at,
                &crm_request(),
                Some(&progress),
            )
            .await;
        println!("DONE {result:?}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_autotask_sync_resumes_exactly_from_its_sqlite_file() {
    if std::env::var_os(CHILD).is_some() {
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

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "autotask_sync_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("SL_CHILD_ZONE", sim.zone_url())
        .env("SL_CHILD_DB", &db)
        .env("SL_CHILD_CONN", &conn.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("child started");
    let stdout = child.stdout.take().expect("child stdout");
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    // Once the child has committed contacts page 1, every answer hangs, so
    // the child is killed mid-sync whatever it is doing.
    let mut seen = Vec::new();
    let waited = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.recv().await {
            let hit = line == "PROGRESS contacts 1 false";
            seen.push(line);
            if hit {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        waited,
        Ok(true),
        "the child never reported contacts page 1: {seen:?}"
    );
    sim.set_latency(Duration::from_secs(600), Duration::ZERO);
    child.kill().expect("kill");
    let status = child.wait().expect("reaped");
    assert!(!status.success(), "{status:?}");
    reader.join().expect("reader");
    while let Ok(line) = lines.try_recv() {
        seen.push(line);
    }
    assert!(
        !seen.iter().any(|l| l.starts_with("DONE")),
        "the child finished before it was killed: {seen:?}"
    );
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
    let refused = host
        .run_crm(&at, &rec)
        .await
        .expect_err("still marked running");
    assert!(matches!(
        refused,
        SyncError::Store(StoreError::AlreadyRunning {
            data_type: DataType::Contacts,
            ..
        })
    ));
    host.engine
        .force_reset(&host.access, &host.conn, DataType::Contacts)
        .await
        .expect("force reset");
    host.run_crm(&at, &rec)
        .await
        .expect("the resumed run completes");

    // Every contact created once in all (the child's counts carried over).
    let finished = rec.finished();
    let contacts = finished
        .iter()
        .find(|(t, _)| *t == DataType::Contacts)
        .map(|(_, c)| *c)
        .expect("contacts finished");
    assert_eq!(
        (contacts.created, contacts.updated),
        (sim.contacts().len() as u64, 0)
    );
    let opportunities = finished
        .iter()
        .find(|(t, _)| *t == DataType::Opportunities)
        .map(|(_, c)| *c)
        .expect("opportunities finished");
    assert_eq!(opportunities.created, sim.opportunities().len() as u64);
    println!(
        "autotask killed process: child committed 4 companies + {committed} contacts pages; resumed {} pages; requests={}",
        rec.total_pages(),
        sim.request_count()
    );
}
