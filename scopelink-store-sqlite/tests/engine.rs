//! The core's sync engine running into a SQLite store: a full sync, an
//! incremental one, a failed run that resumes after a reopen, and a process
//! killed mid-sync that resumes after a force-reset.

use scopelink_core::access::Access;
use scopelink_core::activity::{ActivityKind, ActivityLog};
use scopelink_core::secret::{ApiKeyPair, Credentials};
use scopelink_core::store::{ConnectionStore, RecordStore, SyncStateStore};
use scopelink_core::sync::{RunStatus, SyncCounts, SyncProgress};
use scopelink_core::{
    ConnectionId, ConnectionStatus, Connections, DataType, FeatureCategory, NewConnection,
    Provider, Record, Store, StoreError, SyncEngine, SyncError, SyncRequest,
};
use scopelink_store_sqlite::{SqliteStore, VaultKey};
use scopelink_testkit::fake_crm::{Failure, FakeCrm};
use scopelink_testkit::store_conformance::{at, company, contact};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A tiny CRM: 3 companies and 4 contacts (one of which belongs to no
/// company), in pages of 2; page tokens are page indexes; `since` keeps
/// records updated at or after it.
fn tiny_crm() -> FakeCrm {
    let crm = FakeCrm::new(2).with_data_types([DataType::Companies, DataType::Contacts]);
    crm.put_all([
        company("c1", "Acme", 1),
        company("c2", "Globex", 2),
        company("c3", "Initech", 3),
        contact("p1", "c1", 4),
        contact("p2", "c2", 5),
        contact("p3", "c3", 6),
        orphan("p4", 7),
    ]);
    crm
}

fn orphan(id: &str, minute: i64) -> Record {
    let Record::Contact(mut c) = contact(id, "none", minute) else {
        unreachable!("contact() builds a contact")
    };
    c.company_external_id = None;
    Record::Contact(c)
}

const VAULT_KEY: [u8; 32] = [9; 32];

/// A SQLite store (with its vault) on `path`, and the engine over it.
async fn engine_on(path: &Path) -> (SqliteStore, Connections, SyncEngine) {
    let store = SqliteStore::open(path).await.expect("open store");
    let vault = store.vault(VaultKey::from_bytes(VAULT_KEY));
    let connections = Connections::new(Arc::new(store.clone()), Arc::new(vault));
    let engine = SyncEngine::new(connections.clone());
    (store, connections, engine)
}

async fn create_connection(connections: &Connections) -> ConnectionId {
    connections
        .create(
            &Access::full(),
            NewConnection::new(
                Provider::ConnectWiseManage,
                "Acme CW",
                Credentials::ApiKeyPair(ApiKeyPair::new("acme", "pub", "private-key-1")),
            )
            .categories([FeatureCategory::Crm]),
        )
        .await
        .expect("create connection")
        .id
}

fn counts(created: u64, updated: u64, unchanged: u64, skipped: u64) -> SyncCounts {
    SyncCounts {
        created,
        updated,
        unchanged,
        skipped,
        deleted: 0,
    }
}

async fn kinds(store: &SqliteStore, id: &ConnectionId) -> Vec<ActivityKind> {
    let mut entries = store.entries(Some(id), usize::MAX).await.expect("entries");
    entries.reverse();
    entries.into_iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn full_then_incremental_sync_into_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (store, connections, engine) = engine_on(&dir.path().join("sync.db")).await;
    let id = create_connection(&connections).await;
    let crm = tiny_crm();
    let progress: Mutex<Vec<SyncProgress>> = Mutex::new(Vec::new());
    let on_progress = |p: &SyncProgress| progress.lock().unwrap().push(p.clone());

    let report = engine
        .run(
            &Access::full(),
            &id,
            &crm,
            &SyncRequest::default(),
            Some(&on_progress),
        )
        .await
        .expect("full sync");
    assert_eq!(
        report.per_type,
        [
            (DataType::Companies, counts(3, 0, 0, 0)),
            (DataType::Contacts, counts(3, 0, 0, 1)),
        ],
        "companies first; the orphan contact is skipped"
    );
    assert_eq!(
        store.count_records(&id, DataType::Companies).await.unwrap(),
        3
    );
    assert_eq!(
        store.count_records(&id, DataType::Contacts).await.unwrap(),
        3
    );
    assert_eq!(
        store.record(&id, DataType::Contacts, "p2").await.unwrap(),
        Some(contact("p2", "c2", 5))
    );
    assert!(!store
        .contains_record(&id, DataType::Contacts, "p4")
        .await
        .unwrap());
    for (t, cursor) in [(DataType::Companies, at(3)), (DataType::Contacts, at(7))] {
        let state = store.sync_state(&id, t).await.unwrap();
        assert_eq!(state.status, RunStatus::Idle, "{t}");
        assert_eq!(state.cursor, Some(cursor), "{t}: newest modification seen");
        assert_eq!(state.checkpoint, None, "{t}: a completed run clears it");
    }
    let conn = store.connection(&id).await.unwrap().expect("connection");
    assert_eq!(conn.status, ConnectionStatus::Connected);
    assert!(conn.last_sync.is_some());
    let log = kinds(&store, &id).await;
    assert!(
        log.iter().any(|k| matches!(k,
            ActivityKind::RecordSkipped { external_id, reason, .. }
                if external_id == "p4" && reason.contains("no company"))),
        "the skip is logged with its reason: {log:?}"
    );
    assert!(log.contains(&ActivityKind::SyncCompleted {
        data_type: DataType::Contacts,
        counts: counts(3, 0, 0, 1),
    }));
    {
        let progress = progress.lock().unwrap();
        assert!(progress
            .iter()
            .any(|p| p.data_type == DataType::Contacts && p.finished && p.pages == 2));
    }

    // Incremental: only changes since the cursor are asked for.
    crm.put(company("c2", "Globex Corp", 10));
    let report = engine
        .run(&Access::full(), &id, &crm, &SyncRequest::default(), None)
        .await
        .expect("incremental sync");
    let since: Vec<_> = crm.requests()[2..].iter().map(|r| r.since).collect();
    assert_eq!(
        since,
        [Some(at(3)), Some(at(7))],
        "each type from its cursor"
    );
    assert_eq!(
        report.per_type,
        [
            (DataType::Companies, counts(0, 1, 1, 0)),
            (DataType::Contacts, counts(0, 0, 0, 1)),
        ],
        "c3 (at the cursor) is unchanged, c2 updated, the orphan skipped again"
    );
    assert_eq!(
        store
            .sync_state(&id, DataType::Companies)
            .await
            .unwrap()
            .cursor,
        Some(at(10))
    );
    assert_eq!(
        store.record(&id, DataType::Companies, "c2").await.unwrap(),
        Some(company("c2", "Globex Corp", 10))
    );
}

#[tokio::test]
async fn a_failed_run_resumes_from_its_checkpoint_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resume.db");
    let crm = tiny_crm();
    crm.fail_once_at(DataType::Contacts, 1, Failure::Decode);
    let id = {
        let (store, connections, engine) = engine_on(&path).await;
        let id = create_connection(&connections).await;
        let err = engine
            .run(&Access::full(), &id, &crm, &SyncRequest::default(), None)
            .await
            .expect_err("the second contacts page fails");
        assert!(
            matches!(
                err,
                SyncError::Connector {
                    data_type: DataType::Contacts,
                    ..
                }
            ),
            "{err:?}"
        );
        let state = store.sync_state(&id, DataType::Contacts).await.unwrap();
        assert!(matches!(state.status, RunStatus::Failed { .. }));
        assert_eq!(
            state.checkpoint.as_ref().map(|c| (c.pages, c.counts)),
            Some((1, counts(2, 0, 0, 0)))
        );
        id
    };

    let (store, _connections, engine) = engine_on(&path).await;
    let report = engine
        .run(&Access::full(), &id, &crm, &SyncRequest::default(), None)
        .await
        .expect("resumed sync");
    assert_eq!(
        report.counts(DataType::Contacts),
        Some(counts(3, 0, 0, 1)),
        "the resumed run's counts include the pages committed before the failure, once"
    );
    let last = crm.requests().last().cloned().expect("a request");
    assert_eq!(
        (last.data_type, last.resume_from.as_deref()),
        (DataType::Contacts, Some("1")),
        "the resumed run starts at the page that failed"
    );
    assert_eq!(
        store.count_records(&id, DataType::Contacts).await.unwrap(),
        3
    );
    assert!(kinds(&store, &id)
        .await
        .contains(&ActivityKind::SyncStarted {
            data_type: DataType::Contacts,
            resumed: true,
        }));
}

#[tokio::test]
async fn a_killed_sync_resumes_after_force_reset_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("killed.db");
    let crm = tiny_crm();
    crm.hang_at(DataType::Contacts, 1);
    let id = {
        let (store, connections, engine) = engine_on(&path).await;
        let id = create_connection(&connections).await;
        let (access, request) = (Access::full(), SyncRequest::default());
        let run = engine.run(&access, &id, &crm, &request, None);
        tokio::pin!(run);
        // The process dies while waiting for the second contacts page: the
        // run future is dropped, nothing finishes the run. The engine reads
        // one page ahead, so the second page is requested while the first
        // is being committed: keep the run going until that commit landed.
        let killed = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::select! {
                r = &mut run => panic!("the run must hang on the second contacts page, got {r:?}"),
                _ = async {
                    crm.hung().await;
                    while store.count_records(&id, DataType::Contacts).await.unwrap() < 2 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                } => {}
            }
        })
        .await;
        assert!(killed.is_ok(), "the run never reached the hanging page");
        assert_eq!(
            store.count_records(&id, DataType::Contacts).await.unwrap(),
            2
        );
        id.clone()
    };

    let (store, _connections, engine) = engine_on(&path).await;
    match engine
        .run(&Access::full(), &id, &crm, &SyncRequest::default(), None)
        .await
    {
        Err(SyncError::Store(StoreError::AlreadyRunning { data_type, .. })) => {
            assert_eq!(data_type, DataType::Contacts)
        }
        other => panic!("the killed run's mark must still be set, got {other:?}"),
    }
    engine
        .force_reset(&Access::full(), &id, DataType::Contacts)
        .await
        .expect("force_reset");
    let state = store.sync_state(&id, DataType::Contacts).await.unwrap();
    assert_eq!(
        state
            .checkpoint
            .as_ref()
            .map(|c| (c.pages, c.page_token.as_deref())),
        Some((1, Some("1"))),
        "force_reset keeps the checkpoint"
    );
    let report = engine
        .run(&Access::full(), &id, &crm, &SyncRequest::default(), None)
        .await
        .expect("resumed sync");
    assert_eq!(report.counts(DataType::Contacts), Some(counts(3, 0, 0, 1)));
    assert_eq!(
        store.count_records(&id, DataType::Contacts).await.unwrap(),
        3
    );
    assert_eq!(
        store.count_records(&id, DataType::Companies).await.unwrap(),
        3
    );
    let state = store.sync_state(&id, DataType::Contacts).await.unwrap();
    assert_eq!(
        (state.status, state.cursor, state.checkpoint),
        (RunStatus::Idle, Some(at(7)), None)
    );
    let store: &dyn Store = &store;
    assert!(store
        .entries(Some(&id), usize::MAX)
        .await
        .unwrap()
        .iter()
        .any(|e| e.kind
            == ActivityKind::SyncReset {
                data_type: DataType::Contacts
            }));
}
