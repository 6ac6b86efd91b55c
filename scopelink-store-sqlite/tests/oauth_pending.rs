//! The pending-authorization check of the store-conformance suite, on the
//! in-memory reference store and on SQLite in memory and in a file.

use scopelink_core::MemoryStore;
use scopelink_store_sqlite::SqliteStore;
use scopelink_testkit::store_conformance::check_pending_authorizations;

#[tokio::test]
async fn oauth_pending_authorizations_memory() {
    check_pending_authorizations(&MemoryStore::new()).await;
}

#[tokio::test]
async fn oauth_pending_authorizations_sqlite_memory() {
    let store = SqliteStore::open_in_memory().await.expect("open");
    check_pending_authorizations(&store).await;
}

#[tokio::test]
async fn oauth_pending_authorizations_sqlite_file_survive_reopen() {
    use scopelink_core::oauth::PendingAuthorization;
    use scopelink_core::store::PendingAuthorizationStore;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).await.expect("open");
    check_pending_authorizations(&store).await;
    let now = chrono::Utc::now();
    let pending = PendingAuthorization {
        state: "cross-process".into(),
        verifier: "v".repeat(43).into(),
        connection: "c9".into(),
        created_at: now,
        expires_at: now + chrono::Duration::minutes(10),
    };
    store.put_pending(&pending).await.expect("put");
    drop(store);
    // The callback lands on another process: a second open of the file.
    let other = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(
        other.take_pending("cross-process").await.expect("take"),
        Some(pending)
    );
    assert_eq!(
        other.take_pending("cross-process").await.expect("retake"),
        None
    );
}
