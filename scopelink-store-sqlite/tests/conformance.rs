//! The store-conformance suite of scopelink-testkit, run against the
//! in-memory reference store and against SQLite in memory and in a file.

use scopelink_core::{MemoryStore, Store};
use scopelink_store_sqlite::SqliteStore;
use scopelink_testkit::store_conformance::{self as suite, run_all};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

static NEXT_FILE: AtomicUsize = AtomicUsize::new(0);

// Each backend makes a fresh, empty store; file stores go into `dir`, which
// the test removes when it ends.

async fn memory(_dir: PathBuf) -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

async fn sqlite_memory(_dir: PathBuf) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open_in_memory().await.expect("open in memory"))
}

async fn sqlite_file(dir: PathBuf) -> Arc<dyn Store> {
    let n = NEXT_FILE.fetch_add(1, Ordering::Relaxed);
    let store = SqliteStore::open(dir.join(format!("store-{n}.db")))
        .await
        .expect("open file store");
    assert!(store.path().is_some(), "a file store knows its path");
    Arc::new(store)
}

/// One test per check (each on a fresh store) and one through `run_all`,
/// in a module named after the backend.
macro_rules! conformance {
    ($backend:ident) => {
        conformance!(@ $backend:
            check_connections,
            check_connection_versions,
            check_run_leases,
            check_writes_need_enabled_connection,
            check_records,
            check_record_keys,
            check_record_lookup,
            check_run_guard,
            check_commit_page,
            check_finish_run,
            check_clear_sync_state,
            check_links,
            check_activity
        );
    };
    (@ $backend:ident: $($check:ident),*) => {
        mod $backend {
            use super::*;

            $(
                #[tokio::test]
                async fn $check() {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let store = super::$backend(dir.path().to_path_buf()).await;
                    suite::$check(store.as_ref()).await;
                }
            )*

            #[tokio::test]
            async fn run_all_checks() {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().to_path_buf();
                run_all(|| super::$backend(path.clone())).await;
            }
        }
    };
}

conformance!(memory);
conformance!(sqlite_memory);
conformance!(sqlite_file);

/// The suite lists every check it runs.
#[test]
fn the_suite_names_thirteen_checks() {
    assert_eq!(suite::CHECKS.len(), 13);
}
