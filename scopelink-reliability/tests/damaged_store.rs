//! Damaged store files (issue 10.10): a SQLite store reads what it can,
//! reports what it cannot, and refuses files it must not touch.
//!
//! - One unreadable connection row: the others still list; the bad one is
//!   reported by id.
//! - An unreadable sync state: runs are refused with a typed error that
//!   says to force-reset; the force reset repairs it and the next run is a
//!   full sync.
//! - A 0-byte file, a text file and another application's SQLite database
//!   are refused as "not a scopelink database", and left unchanged.
//! - Damage in the middle of the file is found by the integrity check on
//!   open, not later.

mod fault_support;

use fault_support::*;
use scopelink_core::activity::ActivityKind;
use scopelink_core::store::{ConnectionStore, RecordStore};
use scopelink_core::sync::RunStatus;
use scopelink_core::{ConnectionId, DataType, Store, StoreError, SyncError, SyncRequest};
use scopelink_store_sqlite::SqliteStore;
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use scopelink_testkit::store_conformance::company;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A second connection to the file, as another tool (or a bad disk) would
/// change it.
fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("raw open")
}

fn companies() -> SyncRequest {
    SyncRequest::all().data_types(vec![DataType::Companies])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_unreadable_connection_row_hides_no_other_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(3, 0)).await;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let good = Host::connectwise(store.clone(), &sim).await;
    let bad = Host::connectwise(store.clone(), &sim).await;
    raw(&path)
        .execute(
            "UPDATE connections SET body = '{\"id\": \"truncated' WHERE id = ?1",
            [&bad.conn.0],
        )
        .unwrap();
    let listed = good.connections.list(&good.access).await.expect("list");
    assert_eq!(
        listed.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![good.conn.clone()],
        "the readable connection is listed, the damaged one left out"
    );
    let reported = good
        .connections
        .unreadable(&good.access)
        .await
        .expect("unreadable");
    assert_eq!(reported.len(), 1);
    assert_eq!(reported[0].id, bad.conn.0);
    assert!(
        reported[0].reason.contains("not readable"),
        "{}",
        reported[0].reason
    );
    // The damaged connection itself is a clear error, not a panic.
    let err = bad
        .connections
        .get(&bad.access, &bad.conn)
        .await
        .expect_err("the damaged row");
    assert!(err.to_string().contains(&bad.conn.0), "{err}");
    // The host can delete it, with its records.
    bad.connections
        .delete(&bad.access, &bad.conn, true)
        .await
        .expect("an unreadable connection can be deleted");
    assert!(good
        .connections
        .unreadable(&good.access)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(good.connections.list(&good.access).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_reset_repairs_an_unreadable_sync_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(90, 0)).await;
    let cw = cw_connector(&sim, sim.server_url(), 30, http(Duration::from_secs(5)));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let host = Host::connectwise(store, &sim).await;
    host.engine
        .run(&host.access, &host.conn, &cw, &companies(), None)
        .await
        .expect("first sync");
    raw(&path)
        .execute(
            "UPDATE sync_state SET state = '{\"status\": 7' WHERE connection_id = ?1",
            [&host.conn.0],
        )
        .unwrap();
    let refused = host
        .engine
        .run(&host.access, &host.conn, &cw, &companies(), None)
        .await
        .expect_err("a damaged state refuses the run");
    match &refused {
        SyncError::Store(StoreError::DamagedSyncState {
            connection,
            data_type: DataType::Companies,
            ..
        }) => assert_eq!(connection, &host.conn),
        other => panic!("expected DamagedSyncState, got {other:?}"),
    }
    assert!(refused.to_string().contains("force-reset"), "{refused}");

    host.engine
        .force_reset(&host.access, &host.conn, DataType::Companies)
        .await
        .expect("force reset repairs the damaged state");
    let state = host
        .store
        .sync_state(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert_eq!(
        (state.status, state.cursor, state.checkpoint),
        (RunStatus::Idle, None, None)
    );
    let entries = host.store.entries(Some(&host.conn), 1).await.unwrap();
    assert_eq!(
        entries[0].kind,
        ActivityKind::SyncReset {
            data_type: DataType::Companies
        }
    );
    let report = host
        .engine
        .run(&host.access, &host.conn, &cw, &companies(), None)
        .await
        .expect("the repaired type syncs again");
    let counts = report.counts(DataType::Companies).unwrap();
    assert_eq!(
        (counts.created, counts.unchanged),
        (0, 90),
        "with its cursor lost the run is full: every record seen again, none duplicated"
    );
    assert_eq!(
        host.store
            .count_records(&host.conn, DataType::Companies)
            .await
            .unwrap(),
        90
    );
}

/// Opening `path` must fail with NotADatabase and leave its bytes as they
/// were.
async fn refused_unchanged(path: &Path) -> String {
    let before = std::fs::read(path).unwrap();
    let err = SqliteStore::open(path)
        .await
        .expect_err("the file must be refused");
    let message = err.to_string();
    assert!(
        matches!(err, StoreError::NotADatabase { .. }),
        "expected NotADatabase, got {err:?}"
    );
    assert_eq!(
        std::fs::read(path).unwrap(),
        before,
        "a refused file is left unchanged"
    );
    message
}

#[tokio::test]
async fn an_empty_file_is_refused_not_opened_as_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::File::create(&path).unwrap();
    let message = refused_unchanged(&path).await;
    assert!(message.contains("0 bytes"), "{message}");
}

/// Another process creating the store makes the file empty and writes it
/// a moment later: an empty file that fills within the open's grace period
/// is opened, not refused.
#[tokio::test]
async fn an_empty_file_another_process_is_creating_opens() {
    let dir = tempfile::tempdir().unwrap();
    let made = dir.path().join("made.db");
    drop(SqliteStore::open(&made).await.unwrap());
    let bytes = std::fs::read(&made).unwrap();
    let path = dir.path().join("being-created.db");
    std::fs::File::create(&path).unwrap();
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || std::fs::write(&path, bytes).unwrap())
    };
    let store = SqliteStore::open(&path)
        .await
        .expect("the file filled while the open waited");
    writer.join().unwrap();
    assert!(store.connections().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_text_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(
        &path,
        "these are not the rows you are looking for\n".repeat(200),
    )
    .unwrap();
    let message = refused_unchanged(&path).await;
    assert!(message.contains("not an SQLite database"), "{message}");
}

#[tokio::test]
async fn another_applications_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    raw(&path)
        .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total TEXT);")
        .unwrap();
    let message = refused_unchanged(&path).await;
    assert!(message.contains("another application"), "{message}");
}

#[tokio::test]
async fn damage_in_the_middle_of_the_file_is_found_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let conn = ConnectionId("conn-a".into());
    {
        let store = SqliteStore::open(&path).await.unwrap();
        // About 3 MB of records, so the middle of the file is record pages.
        let long_name = "x".repeat(1_000);
        for i in 0..3_000 {
            store
                .upsert_record(&conn, company(&format!("c{i:05}"), &long_name, 1))
                .await
                .unwrap();
        }
        // Dropping the store checkpoints its log into the file.
    }
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 2_000_000, "{len}");
    SqliteStore::open(&path)
        .await
        .expect("the intact file opens");
    // A bad disk: one 16 KiB page in the middle of the file is garbage.
    let page = 16 * 1024;
    let middle = (len / 2) / page * page;
    let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::Start(middle)).unwrap();
    file.write_all(&vec![0xA5; page as usize]).unwrap();
    file.sync_all().unwrap();
    drop(file);
    match SqliteStore::open(&path).await {
        Err(StoreError::Corrupt { path: p, detail }) => {
            assert!(p.ends_with("store.db"), "{p}");
            assert!(!detail.is_empty());
            println!("damaged page at byte {middle} of {len}: refused on open: {detail}");
        }
        other => panic!("expected Corrupt on open, got {other:?}"),
    }
}
