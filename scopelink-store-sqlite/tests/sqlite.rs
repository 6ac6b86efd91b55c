//! What only a real database shows: persistence across reopen, a crash in
//! the middle of a sync, concurrent run marks, corrupt rows, the schema
//! version, and the encrypted vault.

use scopelink_core::activity::{ActivityEntry, ActivityKind, ActivityLog};
use scopelink_core::mapping::ItemRef;
use scopelink_core::secret::Vault;
use scopelink_core::store::{
    ConnectionStore, LinkStore, RecordStore, SyncStateStore, UpsertOutcome,
};
use scopelink_core::sync::{Checkpoint, RunEnd, RunStatus, SyncCounts};
use scopelink_core::{ConnectionId, DataType, Store, StoreError, VaultError};
use scopelink_store_sqlite::{SqliteStore, SqliteVault, VaultKey, SCHEMA_VERSION};
use scopelink_testkit::store_conformance::{
    at, company, connection, contact, lease, save_connections,
};
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;
use std::sync::Arc;

fn cid(id: &str) -> ConnectionId {
    ConnectionId(id.into())
}

/// A second, raw connection to the same file, as another tool would open it.
fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("raw open")
}

#[tokio::test]
async fn reopening_a_file_store_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scopelink.db");
    let a = cid("conn-a");
    let mut conn = connection("conn-a", 0);
    {
        let store = SqliteStore::open(&path).await.expect("open");
        conn.version = store.save_connection(&conn).await.unwrap();
        store
            .upsert_record(&a, company("c1", "Acme", 1))
            .await
            .unwrap();
        store
            .begin_run(&a, DataType::Companies, &lease(2))
            .await
            .unwrap();
        store
            .finish_run(
                &a,
                DataType::Companies,
                &lease(2),
                RunEnd::Completed {
                    cursor: Some(at(1)),
                    at: at(3),
                },
            )
            .await
            .unwrap();
        store
            .put_link(&a, "sp-1", &ItemRef::Service("s1".into()), "T-1")
            .await
            .unwrap();
        store
            .append(ActivityEntry {
                at: at(4),
                connection_id: a.clone(),
                kind: ActivityKind::Created,
            })
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    assert_eq!(store.connection(&a).await.unwrap(), Some(conn));
    assert_eq!(
        store.record(&a, DataType::Companies, "c1").await.unwrap(),
        Some(company("c1", "Acme", 1)),
        "records survive a reopen"
    );
    let state = store.sync_state(&a, DataType::Companies).await.unwrap();
    assert_eq!(
        (state.status, state.cursor, state.last_completed),
        (RunStatus::Idle, Some(at(1)), Some(at(3))),
        "sync state survives a reopen"
    );
    assert_eq!(
        store
            .links(&a, "sp-1")
            .await
            .unwrap()
            .get(&ItemRef::Service("s1".into())),
        Some("T-1"),
        "links survive a reopen"
    );
    assert_eq!(
        store.entries(None, 10).await.unwrap().len(),
        1,
        "activity survives a reopen"
    );
    // Appending after a reopen keeps newest-first order.
    store
        .append(ActivityEntry {
            at: at(0),
            connection_id: a.clone(),
            kind: ActivityKind::Edited,
        })
        .await
        .unwrap();
    assert_eq!(
        store.entries(None, 1).await.unwrap()[0].kind,
        ActivityKind::Edited
    );
}

#[tokio::test]
async fn a_crash_mid_sync_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scopelink.db");
    let a = cid("conn-a");
    let t = DataType::Companies;
    let page2 = {
        let store = SqliteStore::open(&path).await.unwrap();
        save_connections(&store, &["conn-a"]).await;
        store.begin_run(&a, t, &lease(0)).await.unwrap();
        let page1 = Checkpoint {
            page_token: Some("2".into()),
            high_water: Some(at(2)),
            pages: 1,
            ..Checkpoint::default()
        };
        let o = store
            .commit_page(
                &a,
                t,
                vec![company("c1", "Acme", 1), company("c2", "Globex", 2)],
                &page1,
                &lease(0),
            )
            .await
            .unwrap();
        let page2 = Checkpoint {
            page_token: Some("3".into()),
            high_water: Some(at(3)),
            pages: 2,
            ..page1.with_outcomes(&o)
        };
        let o = store
            .commit_page(&a, t, vec![company("c3", "Initech", 3)], &page2, &lease(0))
            .await
            .unwrap();
        page2.with_outcomes(&o)
        // The store is dropped here without finish_run: the process died.
    };
    let store = SqliteStore::open(&path).await.unwrap();
    // Within the dead run's lease, its mark still refuses a new run.
    match store.begin_run(&a, t, &lease(5)).await {
        Err(StoreError::AlreadyRunning { .. }) => {}
        other => panic!("the dead run's mark must survive the crash, got {other:?}"),
    }
    let reset = store.force_reset(&a, t).await.unwrap();
    assert_eq!(reset.status, RunStatus::Idle);
    assert_eq!(
        reset.checkpoint.as_ref(),
        Some(&page2),
        "the checkpoint of the last committed page survives the crash"
    );
    assert_eq!(
        page2.counts,
        SyncCounts {
            created: 3,
            ..SyncCounts::default()
        }
    );
    assert_eq!(store.count_records(&a, t).await.unwrap(), 3);
    let resumed = store.begin_run(&a, t, &lease(11)).await.unwrap();
    assert_eq!(
        resumed.checkpoint.and_then(|c| c.page_token),
        Some("3".into())
    );
    // Re-sending a committed record (a provider that repeats the boundary)
    // is Unchanged, not a duplicate.
    let o = store
        .commit_page(
            &a,
            t,
            vec![company("c3", "Initech", 3), company("c4", "Hooli", 4)],
            &page2,
            &lease(11),
        )
        .await
        .unwrap();
    assert_eq!(o, [UpsertOutcome::Unchanged, UpsertOutcome::Created]);
    assert_eq!(store.count_records(&a, t).await.unwrap(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_begin_run_has_exactly_one_winner() {
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    for round in 0..20 {
        let a = cid(&format!("conn-{round}"));
        save_connections(store.as_ref(), &[&a.0]).await;
        let tasks: Vec<_> = (0..2)
            .map(|i| {
                let store = Arc::clone(&store);
                let a = a.clone();
                tokio::spawn(
                    async move { store.begin_run(&a, DataType::Contacts, &lease(i)).await },
                )
            })
            .collect();
        let mut wins = 0;
        let mut refusals = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => wins += 1,
                Err(StoreError::AlreadyRunning { .. }) => refusals += 1,
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        assert_eq!((wins, refusals), (1, 1), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_file_have_exactly_one_winner() {
    // Two stores opened separately on one file behave like two processes:
    // the run mark is taken with a write-locking transaction.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let one = Arc::new(SqliteStore::open(&path).await.unwrap());
    let two = Arc::new(SqliteStore::open(&path).await.unwrap());
    for round in 0..10 {
        let a = cid(&format!("conn-{round}"));
        save_connections(one.as_ref(), &[&a.0]).await;
        let (x, y) = tokio::join!(
            tokio::spawn({
                let (s, a) = (Arc::clone(&one), a.clone());
                async move { s.begin_run(&a, DataType::Companies, &lease(0)).await }
            }),
            tokio::spawn({
                let (s, a) = (Arc::clone(&two), a.clone());
                async move { s.begin_run(&a, DataType::Companies, &lease(1)).await }
            }),
        );
        let results = [x.unwrap(), y.unwrap()];
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(StoreError::AlreadyRunning { .. }))),
            "round {round}: the loser must see AlreadyRunning: {results:?}"
        );
    }
}

#[tokio::test]
async fn corrupt_rows_are_backend_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let a = cid("conn-a");
    store
        .save_connection(&connection("conn-a", 0))
        .await
        .unwrap();
    store
        .upsert_record(&a, company("c1", "Acme", 1))
        .await
        .unwrap();
    store
        .upsert_record(&a, contact("p1", "c1", 1))
        .await
        .unwrap();
    store
        .begin_run(&a, DataType::Companies, &lease(0))
        .await
        .unwrap();
    store
        .put_link(&a, "sp-1", &ItemRef::Project, "P-1")
        .await
        .unwrap();
    store
        .append(ActivityEntry {
            at: at(0),
            connection_id: a.clone(),
            kind: ActivityKind::Created,
        })
        .await
        .unwrap();

    let db = raw(&path);
    db.execute_batch(
        "UPDATE connections SET body = '{\"id\": 12';
         UPDATE records SET body = 'not json' WHERE external_id = 'c1';
         UPDATE sync_state SET state = '[]';
         UPDATE links SET item_key = '{\"Nope\": 1}';
         UPDATE activity SET at = 'yesterday';",
    )
    .unwrap();

    fn backend<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) -> String {
        match r {
            Err(StoreError::Backend(msg)) => msg,
            other => panic!("{what}: expected a Backend error, got {other:?}"),
        }
    }
    let msg = backend(store.connection(&a).await, "connection");
    assert!(msg.contains("connection conn-a"), "{msg}");
    // A listing leaves the unreadable row out and reports it.
    assert_eq!(store.connections().await.unwrap(), vec![]);
    let unreadable = store.unreadable_connections().await.unwrap();
    assert_eq!(unreadable.len(), 1);
    assert_eq!(unreadable[0].id, "conn-a");
    let msg = backend(store.record(&a, DataType::Companies, "c1").await, "record");
    assert!(msg.contains("companies record `c1`"), "{msg}");
    backend(
        store.records(&a, DataType::Companies).await,
        "records listing",
    );
    match store.sync_state(&a, DataType::Companies).await {
        Err(e @ StoreError::DamagedSyncState { .. }) => {
            assert!(e.to_string().contains("force-reset"), "{e}")
        }
        other => panic!("sync_state: expected DamagedSyncState, got {other:?}"),
    }
    assert!(
        store
            .begin_run(&a, DataType::Companies, &lease(1))
            .await
            .is_err(),
        "begin_run over a corrupt connection and state"
    );
    backend(store.links(&a, "sp-1").await, "links");
    let msg = backend(store.entries(None, 10).await, "entries");
    assert!(msg.contains("timestamp"), "{msg}");

    // Rows that were not damaged still read, and a sync repairs a damaged
    // record by overwriting it.
    assert_eq!(
        store.record(&a, DataType::Contacts, "p1").await.unwrap(),
        Some(contact("p1", "c1", 1))
    );
    assert_eq!(
        store
            .upsert_record(&a, company("c1", "Acme", 1))
            .await
            .unwrap(),
        UpsertOutcome::Updated
    );
    assert_eq!(
        store.record(&a, DataType::Companies, "c1").await.unwrap(),
        Some(company("c1", "Acme", 1))
    );
}

#[tokio::test]
async fn a_newer_schema_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    drop(SqliteStore::open(&path).await.unwrap());
    raw(&path)
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    match SqliteStore::open(&path).await {
        Err(StoreError::Backend(msg)) => assert!(msg.contains("newer"), "{msg}"),
        other => panic!("expected a Backend error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unopenable_path_is_a_backend_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("x.db");
    match SqliteStore::open(&path).await {
        Err(StoreError::Backend(msg)) => {
            assert!(
                msg.contains("opening"),
                "the message says what failed: {msg}"
            )
        }
        other => panic!("expected a Backend error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_file_store_runs_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db");
    let _store = SqliteStore::open(&path).await.unwrap();
    let mode: String = raw(&path)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode.to_ascii_lowercase(), "wal");
}

const SECRET: &str = "sk-live-VERY-SECRET-value-0042";

#[tokio::test]
async fn vault_round_trip_replace_and_delete() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let vault = store.vault(VaultKey::generate());
    assert!(vault.get("scopelink/c1/v1").await.unwrap().is_none());
    vault
        .put("scopelink/c1/v1", SecretString::from(SECRET))
        .await
        .unwrap();
    vault
        .put("scopelink/c2/v1", SecretString::from("other"))
        .await
        .unwrap();
    assert_eq!(
        vault
            .get("scopelink/c1/v1")
            .await
            .unwrap()
            .expect("stored")
            .expose_secret(),
        SECRET
    );
    vault
        .put("scopelink/c1/v1", SecretString::from("replaced"))
        .await
        .unwrap();
    assert_eq!(
        vault
            .get("scopelink/c1/v1")
            .await
            .unwrap()
            .unwrap()
            .expose_secret(),
        "replaced"
    );
    assert_eq!(
        vault.keys().await.unwrap(),
        ["scopelink/c1/v1", "scopelink/c2/v1"]
    );
    vault.delete("scopelink/c1/v1").await.unwrap();
    vault
        .delete("scopelink/c1/v1")
        .await
        .expect("deleting a missing key is not an error");
    assert!(vault.get("scopelink/c1/v1").await.unwrap().is_none());
    assert_eq!(
        vault
            .get("scopelink/c2/v1")
            .await
            .unwrap()
            .unwrap()
            .expose_secret(),
        "other"
    );
    // Empty and non-ASCII values round-trip too.
    for value in ["", "pässwörd-🔑"] {
        vault.put("k", SecretString::from(value)).await.unwrap();
        assert_eq!(
            vault.get("k").await.unwrap().unwrap().expose_secret(),
            value
        );
    }
}

#[tokio::test]
async fn vault_with_the_wrong_key_is_refused_and_a_tampered_entry_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let key = [42u8; 32];
    {
        let vault = SqliteVault::open(&path, VaultKey::from_bytes(key))
            .await
            .unwrap();
        vault
            .put("scopelink/c1/v1", SecretString::from(SECRET))
            .await
            .unwrap();
    }
    match SqliteVault::open(&path, VaultKey::from_bytes([7u8; 32])).await {
        Err(VaultError::WrongKey) => {}
        other => panic!("a wrong key must be refused at open, got {other:?}"),
    }
    let right = SqliteVault::open(&path, VaultKey::from_bytes(key))
        .await
        .unwrap();
    assert_eq!(
        right
            .get("scopelink/c1/v1")
            .await
            .unwrap()
            .unwrap()
            .expose_secret(),
        SECRET,
        "the right key still reads it after a refused open"
    );
    drop(right);
    // A tampered entry under the right key does not decrypt.
    raw(&path)
        .execute(
            "UPDATE vault SET ciphertext = zeroblob(length(ciphertext)) WHERE key = 'scopelink/c1/v1'",
            [],
        )
        .unwrap();
    let vault = SqliteVault::open(&path, VaultKey::from_bytes(key))
        .await
        .unwrap();
    let err = vault.get("scopelink/c1/v1").await.expect_err("tampered");
    assert!(
        matches!(&err, VaultError::Corrupt { key, .. } if key == "scopelink/c1/v1"),
        "{err:?}"
    );
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains(SECRET),
        "the error must not carry the secret"
    );
}

#[tokio::test]
async fn vault_never_writes_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let vault = store.vault(VaultKey::generate());
    vault
        .put("scopelink/c1/v1", SecretString::from(SECRET))
        .await
        .unwrap();
    // The store and the vault share the file.
    store.save_connection(&connection("c1", 0)).await.unwrap();

    let db = raw(&path);
    let rows: Vec<(String, Vec<u8>, Vec<u8>)> = db
        .prepare("SELECT key, nonce, ciphertext FROM vault")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 1);
    let (key, nonce, ciphertext) = &rows[0];
    assert_eq!(key, "scopelink/c1/v1");
    assert_eq!(nonce.len(), 24, "XChaCha20 nonce");
    assert_eq!(
        ciphertext.len(),
        SECRET.len() + 16,
        "ciphertext plus a 16-byte tag"
    );
    for bytes in [nonce, ciphertext] {
        assert!(
            !contains(bytes, SECRET.as_bytes()),
            "the secret must not appear in the vault row"
        );
    }
    drop(db);
    drop(vault);
    drop(store);
    // Every byte on disk: the database file and any WAL left beside it.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let file = entry.unwrap().path();
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !contains(&bytes, SECRET.as_bytes()),
            "the secret appears in plain text in {}",
            file.display()
        );
    }
}

#[tokio::test]
async fn vault_ciphertexts_cannot_be_swapped_between_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("swap.db");
    let vault = SqliteVault::open(&path, VaultKey::generate())
        .await
        .unwrap();
    vault
        .put("conn-a", SecretString::from("secret-of-a"))
        .await
        .unwrap();
    vault
        .put("conn-b", SecretString::from("secret-of-b"))
        .await
        .unwrap();
    // An attacker with write access to the file copies a's row onto b.
    raw(&path)
        .execute_batch(
            "UPDATE vault SET
               nonce = (SELECT nonce FROM vault WHERE key = 'conn-a'),
               ciphertext = (SELECT ciphertext FROM vault WHERE key = 'conn-a')
             WHERE key = 'conn-b';",
        )
        .unwrap();
    assert!(matches!(
        vault.get("conn-b").await,
        Err(VaultError::Corrupt { .. })
    ));
    // A damaged nonce is Corrupt as well.
    raw(&path)
        .execute_batch("UPDATE vault SET nonce = x'00' WHERE key = 'conn-a';")
        .unwrap();
    assert!(matches!(
        vault.get("conn-a").await,
        Err(VaultError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn the_vault_plugs_into_the_connection_service() {
    use scopelink_core::access::Access;
    use scopelink_core::secret::{ApiKeyPair, Credentials};
    use scopelink_core::{Connections, FeatureCategory, NewConnection, Provider};

    let store = SqliteStore::open_in_memory().await.unwrap();
    let vault = store.vault(VaultKey::generate());
    let connections = Connections::new(Arc::new(store.clone()), Arc::new(vault.clone()));
    let created = connections
        .create(
            &Access::full(),
            NewConnection::new(
                Provider::ConnectWiseManage,
                "Acme CW",
                Credentials::ApiKeyPair(ApiKeyPair::new("acme", "pub", SECRET)),
            )
            .categories([FeatureCategory::Crm]),
        )
        .await
        .unwrap();
    match connections
        .credentials(&Access::full(), &created.id)
        .await
        .unwrap()
    {
        Credentials::ApiKeyPair(k) => assert_eq!(k.private_key.expose_secret(), SECRET),
        other => panic!("unexpected credentials {other:?}"),
    }
    assert_eq!(
        vault.keys().await.unwrap(),
        std::slice::from_ref(&created.credential_ref.0)
    );
    connections
        .delete(&Access::full(), &created.id, true)
        .await
        .unwrap();
    assert!(
        vault.keys().await.unwrap().is_empty(),
        "deleting the connection removes its vault entry"
    );
    let store: &dyn Store = &store;
    assert!(store.connections().await.unwrap().is_empty());
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Commits do not wait for checkpoints: a thread of the store's own copies
/// the write-ahead log into the database file while the store is open, and
/// when the store is dropped the log is emptied and every page reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_checkpointed_off_the_write_path_and_settled_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpointed.db");
    let wal = dir.path().join("checkpointed.db-wal");
    let a = cid("conn-a");
    let t = DataType::Companies;
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let long_name = "x".repeat(900);
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let empty = size(&path);
        save_connections(&store, &["conn-a"]).await;
        store.begin_run(&a, t, &lease(0)).await.unwrap();
        let mut checkpoint = Checkpoint::default();
        // 20 pages of 250 records of about 1 KiB: some 5 MB, far below the
        // writer's own checkpoint threshold (64 MiB of log).
        for page in 0..20u32 {
            let records = (0..250u32)
                .map(|i| company(&format!("{page}-{i}"), &long_name, 1))
                .collect();
            checkpoint.pages += 1;
            checkpoint.page_token = Some((page + 2).to_string());
            let outcomes = store
                .commit_page(&a, t, records, &checkpoint, &lease(0))
                .await
                .unwrap();
            assert!(outcomes.iter().all(|o| *o == UpsertOutcome::Created));
            checkpoint = checkpoint.with_outcomes(&outcomes);
        }
        // The database file itself grows while the store is open: only the
        // checkpoint thread writes it.
        let mut waited = 0;
        while size(&path) < empty + 4 * 1024 * 1024 && waited < 100 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            waited += 1;
        }
        assert!(
            size(&path) >= empty + 4 * 1024 * 1024,
            "the database file is {} bytes after 5 MB of commits (log: {} bytes)",
            size(&path),
            size(&wal)
        );
        assert_eq!(store.count_records(&a, t).await.unwrap(), 5_000);
    }
    assert_eq!(size(&wal), 0, "dropping the store empties the log");
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.count_records(&a, t).await.unwrap(), 5_000);
    let state = store.sync_state(&a, t).await.unwrap();
    assert_eq!(state.checkpoint.unwrap().pages, 20);
}

/// New files get 16 KiB pages; a file made with SQLite's default 4 KiB
/// pages (an older store, another tool) opens, keeps its pages and works.
#[tokio::test]
async fn new_files_get_16_kib_pages_and_older_files_keep_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let page_size = |p: &Path| -> i64 {
        raw(p)
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    };
    let new = dir.path().join("new.db");
    drop(SqliteStore::open(&new).await.unwrap());
    assert_eq!(page_size(&new), 16 * 1024);

    let old = dir.path().join("old.db");
    version_1_file(&old, 4096);
    let a = cid("conn-a");
    {
        let store = SqliteStore::open(&old).await.unwrap();
        store
            .upsert_record(&a, company("c1", "Acme", 1))
            .await
            .unwrap();
    }
    assert_eq!(page_size(&old), 4096);
    let store = SqliteStore::open(&old).await.unwrap();
    assert_eq!(
        store.record(&a, DataType::Companies, "c1").await.unwrap(),
        Some(company("c1", "Acme", 1))
    );
}

/// Writes a store file as version 1 of the schema made it (before
/// connection versions and the vault key check), with one connection.
fn version_1_file(path: &Path, page_size: u32) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(&format!(
        "PRAGMA page_size = {page_size}; PRAGMA journal_mode = WAL;
         CREATE TABLE connections (id TEXT PRIMARY KEY NOT NULL, created_at TEXT NOT NULL,
             body TEXT NOT NULL) STRICT;
         CREATE INDEX connections_by_age ON connections (created_at, id);
         CREATE TABLE records (connection_id TEXT NOT NULL, data_type TEXT NOT NULL,
             external_id TEXT NOT NULL, body TEXT NOT NULL, updated_at TEXT) STRICT;
         CREATE UNIQUE INDEX records_by_key ON records (connection_id, data_type, external_id);
         CREATE TABLE sync_state (connection_id TEXT NOT NULL, data_type TEXT NOT NULL,
             state TEXT NOT NULL, PRIMARY KEY (connection_id, data_type)) STRICT;
         CREATE TABLE links (connection_id TEXT NOT NULL, scoping_project_id TEXT NOT NULL,
             item_key TEXT NOT NULL, psa_id TEXT NOT NULL) STRICT;
         CREATE UNIQUE INDEX links_by_item ON links (connection_id, scoping_project_id, item_key);
         CREATE TABLE activity (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
             connection_id TEXT NOT NULL, kind TEXT NOT NULL) STRICT;
         CREATE INDEX activity_by_connection ON activity (connection_id, id);
         CREATE TABLE vault (key TEXT PRIMARY KEY NOT NULL, nonce BLOB NOT NULL,
             ciphertext BLOB NOT NULL) STRICT;
         PRAGMA user_version = 1;"
    ))
    .unwrap();
    // A connection as version 1 wrote it: no `version` in its body, and a
    // sync state whose running mark has no lease.
    let mut body = serde_json::to_value(connection("conn-old", 0)).unwrap();
    body.as_object_mut().unwrap().remove("version");
    db.execute(
        "INSERT INTO connections (id, created_at, body) VALUES ('conn-old', '2025-03-01T09:00:00.123456789Z', ?1)",
        [body.to_string()],
    )
    .unwrap();
    db.execute(
        "INSERT INTO sync_state (connection_id, data_type, state) VALUES ('conn-old', 'companies', \
         '{\"status\":{\"Running\":{\"started_at\":\"2025-03-01T09:00:00Z\"}},\"cursor\":null,\"checkpoint\":null,\"last_completed\":null}')",
        [],
    )
    .unwrap();
}

/// A version-1 file migrates on open: its connection reads as version 0
/// and saves with compare-and-set from there; a running mark written
/// before leases counts as lapsed, so the next run takes it over.
#[tokio::test]
async fn a_version_1_file_migrates_to_versions_and_leases() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    version_1_file(&path, 16 * 1024);
    let store = SqliteStore::open(&path)
        .await
        .expect("open a version-1 file");
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    let id = cid("conn-old");
    let mut conn = store.connection(&id).await.unwrap().expect("kept");
    assert_eq!(conn.version, 0);
    assert_eq!(conn, connection("conn-old", 0));
    conn.rename("Renamed").unwrap();
    assert_eq!(store.save_connection(&conn).await.unwrap(), 1);
    assert!(matches!(
        store.save_connection(&conn).await,
        Err(StoreError::VersionConflict {
            expected: 0,
            found: 1,
            ..
        })
    ));
    let state = store.sync_state(&id, DataType::Companies).await.unwrap();
    assert!(matches!(state.status, RunStatus::Running { .. }));
    assert!(!state.status.is_live_at(at(0)));
    store
        .begin_run(&id, DataType::Companies, &lease(0))
        .await
        .expect("a pre-lease running mark is taken over");
}
