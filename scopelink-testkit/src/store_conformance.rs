//! A conformance suite for implementations of scopelink-core's store traits
//! ([`Store`]): every store must behave like [`scopelink_core::MemoryStore`].
//!
//! Each `check_*` function exercises one trait on a fresh, empty store and
//! panics with a message naming what differed. [`run_all`] runs every check,
//! each on a new store from a factory:
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use scopelink_core::{MemoryStore, Store};
//! scopelink_testkit::store_conformance::run_all(|| async {
//!     Arc::new(MemoryStore::new()) as Arc<dyn Store>
//! })
//! .await;
//! # }
//! ```

use chrono::{DateTime, Duration, TimeZone, Utc};
use scopelink_core::activity::{ActivityEntry, ActivityKind};
use scopelink_core::mapping::{ItemRef, ProjectLinks};
use scopelink_core::model::{Company, Contact};
use scopelink_core::secret::CredentialRef;
use scopelink_core::store::UpsertOutcome;
use scopelink_core::sync::{Checkpoint, RunEnd, RunLease, RunStatus, SyncCounts, SyncState};
use scopelink_core::{
    Connection, ConnectionId, DataType, FeatureCategory, Provider, Record, Store, StoreError,
};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// The names of every check, in the order [`run_all`] runs them.
pub const CHECKS: [&str; 13] = [
    "connections",
    "connection_versions",
    "run_leases",
    "writes_need_enabled_connection",
    "records",
    "record_keys",
    "record_lookup",
    "run_guard",
    "commit_page",
    "finish_run",
    "clear_sync_state",
    "links",
    "activity",
];

/// Runs every check, each on a fresh store from `fresh`.
pub async fn run_all<F, Fut>(mut fresh: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    check_connections(fresh().await.as_ref()).await;
    check_connection_versions(fresh().await.as_ref()).await;
    check_run_leases(fresh().await.as_ref()).await;
    check_writes_need_enabled_connection(fresh().await.as_ref()).await;
    check_records(fresh().await.as_ref()).await;
    check_record_keys(fresh().await.as_ref()).await;
    check_record_lookup(fresh().await.as_ref()).await;
    check_run_guard(fresh().await.as_ref()).await;
    check_commit_page(fresh().await.as_ref()).await;
    check_finish_run(fresh().await.as_ref()).await;
    check_clear_sync_state(fresh().await.as_ref()).await;
    check_links(fresh().await.as_ref()).await;
    check_activity(fresh().await.as_ref()).await;
}

/// A fixed instant plus `minutes` and some nanoseconds, so stores that
/// round timestamps fail the round-trip checks.
pub fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
        + Duration::minutes(minutes)
        + Duration::nanoseconds(123_456_789)
}

/// A HaloPSA connection created at `at(created_minute)`.
pub fn connection(id: &str, created_minute: i64) -> Connection {
    let mut c = Connection::new(
        ConnectionId(id.into()),
        Provider::HaloPsa,
        &format!("Halo {id}"),
        [FeatureCategory::Crm, FeatureCategory::Psa]
            .into_iter()
            .collect(),
        CredentialRef(format!("scopelink/{id}/v1")),
        at(created_minute),
    )
    .expect("a valid connection");
    c.settings
        .insert("server".into(), "https://halo.example.com".into());
    c
}

/// A company record.
pub fn company(id: &str, name: &str, minute: i64) -> Record {
    Record::Company(Company {
        external_id: id.into(),
        name: name.into(),
        types: vec!["Customer".into()],
        updated_at: Some(at(minute)),
        ..Company::default()
    })
}

/// A contact record of company `company_id`.
pub fn contact(id: &str, company_id: &str, minute: i64) -> Record {
    Record::Contact(Contact {
        external_id: id.into(),
        company_external_id: Some(company_id.into()),
        first_name: Some(format!("First {id}")),
        last_name: Some("Doe".into()),
        updated_at: Some(at(minute)),
        ..Contact::default()
    })
}

fn cid(id: &str) -> ConnectionId {
    ConnectionId(id.into())
}

/// How long the suite's leases last.
pub const LEASE_MINUTES: i64 = 10;

/// The lease of the run begun at `at(minute)` (owner `run-{minute}`),
/// lasting [`LEASE_MINUTES`].
pub fn lease(minute: i64) -> RunLease {
    RunLease {
        owner: format!("run-{minute}"),
        now: at(minute),
        expires_at: at(minute + LEASE_MINUTES),
    }
}

/// The running mark of the run begun at `at(started)` (see [`lease`]),
/// last renewed at `at(renewed)`.
fn running(started: i64, renewed: i64) -> RunStatus {
    RunStatus::Running {
        started_at: at(started),
        owner: format!("run-{started}"),
        expires_at: at(renewed + LEASE_MINUTES),
    }
}

/// Saves a new connection under each id (runs write only into stored,
/// enabled connections).
pub async fn save_connections(store: &dyn Store, ids: &[&str]) {
    for (i, id) in ids.iter().enumerate() {
        store
            .save_connection(&connection(id, i as i64))
            .await
            .expect("save_connection");
    }
}

/// Connections: save, get, replace, list oldest first (ties by id), delete.
pub async fn check_connections(store: &dyn Store) {
    let ctx = "connections";
    assert!(
        store.connections().await.expect("list").is_empty(),
        "{ctx}: a fresh store must have no connections"
    );
    let mut late = connection("b-late", 10);
    let mut early = connection("z-early", 0);
    let mut tie = connection("a-tie", 10);
    for c in [&mut late, &mut early, &mut tie] {
        c.version = store.save_connection(c).await.expect("save_connection");
        assert_eq!(
            c.version, 1,
            "{ctx}: a new connection is stored as version 1"
        );
    }
    assert_eq!(
        store.connection(&late.id).await.expect("get").as_ref(),
        Some(&late),
        "{ctx}: get must return the saved connection unchanged (every field)"
    );
    assert_eq!(
        store
            .connection(&cid("missing"))
            .await
            .expect("get missing"),
        None,
        "{ctx}: get of an unknown id must be None"
    );
    let ids: Vec<String> = store
        .connections()
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.id.0)
        .collect();
    assert_eq!(
        ids,
        ["z-early", "a-tie", "b-late"],
        "{ctx}: list must be oldest first, ties by id"
    );

    let mut renamed = late.clone();
    renamed.rename("Renamed").expect("rename");
    renamed.mark_synced(at(30)).expect("mark_synced");
    renamed.version = store.save_connection(&renamed).await.expect("save again");
    assert_eq!(
        renamed.version, 2,
        "{ctx}: each save moves the version on by one"
    );
    assert_eq!(
        store.connection(&late.id).await.expect("get"),
        Some(renamed.clone()),
        "{ctx}: saving an existing id must replace it"
    );
    assert_eq!(
        store.connections().await.expect("list").len(),
        3,
        "{ctx}: replacing must not add a connection"
    );

    store
        .delete_connection(&early.id)
        .await
        .expect("delete_connection");
    assert_eq!(
        store.connection(&early.id).await.expect("get deleted"),
        None,
        "{ctx}: a deleted connection must be gone"
    );
    assert_eq!(
        store.connections().await.expect("list"),
        vec![tie.clone(), renamed],
        "{ctx}: list after delete"
    );
    store
        .delete_connection(&cid("missing"))
        .await
        .expect("deleting an unknown connection must not be an error");
}

/// Compare-and-set: a save based on a stale version is refused with
/// `VersionConflict` and changes nothing; each save moves the version on.
pub async fn check_connection_versions(store: &dyn Store) {
    let ctx = "connection_versions";
    let mut first = connection("conn-a", 0);
    first.version = store.save_connection(&first).await.expect("insert");
    assert_eq!(first.version, 1, "{ctx}: an insert stores version 1");
    let stale = connection("conn-a", 0);
    match store.save_connection(&stale).await {
        Err(StoreError::VersionConflict {
            connection,
            expected,
            found,
        }) => assert_eq!(
            (connection, expected, found),
            (cid("conn-a"), 0, 1),
            "{ctx}: a second insert of the same id conflicts, naming both versions"
        ),
        other => panic!("{ctx}: a second insert must be a VersionConflict, got {other:?}"),
    }
    // Two updates read at version 1: the first wins, the second is refused.
    let mut disabled = first.clone();
    disabled.disable().expect("disable");
    let mut tested = first.clone();
    tested
        .record_test(Ok(()), at(1))
        .expect("record a passing test");
    assert_eq!(
        store
            .save_connection(&disabled)
            .await
            .expect("first update"),
        2,
        "{ctx}: an update stores the next version"
    );
    assert!(
        matches!(
            store.save_connection(&tested).await,
            Err(StoreError::VersionConflict {
                expected: 1,
                found: 2,
                ..
            })
        ),
        "{ctx}: an update based on a stale copy must be refused"
    );
    let stored = store
        .connection(&first.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (stored.status.clone(), stored.version),
        (scopelink_core::ConnectionStatus::Disabled, 2),
        "{ctx}: the refused update must change nothing (the disable stays)"
    );
    assert_eq!(
        store.connections().await.expect("list")[0].version,
        2,
        "{ctx}: listed connections carry their stored version"
    );
    store.delete_connection(&first.id).await.expect("delete");
    assert!(
        matches!(
            store.save_connection(&stored).await,
            Err(StoreError::VersionConflict { found: 0, .. })
        ),
        "{ctx}: an update of a deleted connection must not bring it back"
    );
    assert_eq!(
        store.connection(&first.id).await.expect("get"),
        None,
        "{ctx}: the deleted connection stays deleted"
    );
}

/// Leases: a live lease refuses other runs; commits renew it; a lapsed
/// lease is taken over; the old holder's commits and end are refused
/// without writing, and so are a reset run's.
pub async fn check_run_leases(store: &dyn Store) {
    let ctx = "run_leases";
    let a = cid("conn-a");
    let t = DataType::Companies;
    save_connections(store, &["conn-a"]).await;
    let first = lease(0);
    store.begin_run(&a, t, &first).await.expect("begin");
    let page = |token: &str, pages| Checkpoint {
        page_token: Some(token.into()),
        pages,
        ..Checkpoint::default()
    };
    let intruder = lease(5);
    assert!(
        matches!(
            store.begin_run(&a, t, &intruder).await,
            Err(StoreError::AlreadyRunning { .. })
        ),
        "{ctx}: a second run is refused while the first's lease is live"
    );
    assert!(
        matches!(
            store
                .commit_page(
                    &a,
                    t,
                    vec![company("x1", "Intruder", 5)],
                    &page("x", 1),
                    &intruder
                )
                .await,
            Err(StoreError::LeaseLost { .. })
        ),
        "{ctx}: a commit without the lease is refused"
    );
    assert_eq!(
        store.count_records(&a, t).await.expect("count"),
        0,
        "{ctx}: a refused commit writes no record"
    );
    // A commit at minute 8 renews the lease to minute 18.
    let renewed = first.renewed(at(8), Duration::minutes(LEASE_MINUTES));
    store
        .commit_page(
            &a,
            t,
            vec![company("c1", "Acme", 8)],
            &page("p2", 1),
            &renewed,
        )
        .await
        .expect("commit by the holder");
    assert!(
        matches!(
            store.begin_run(&a, t, &lease(15)).await,
            Err(StoreError::AlreadyRunning { .. })
        ),
        "{ctx}: the renewed lease is still live at minute 15"
    );
    // The holder dies; at minute 19 its lease has lapsed and a new run
    // takes over, resuming from its checkpoint.
    let second = lease(19);
    let before = store
        .begin_run(&a, t, &second)
        .await
        .expect("a lapsed lease is taken over");
    assert_eq!(
        before.checkpoint.map(|c| c.page_token),
        Some(Some("p2".to_string())),
        "{ctx}: the run taking over resumes from the dead run's checkpoint"
    );
    let late = first.renewed(at(20), Duration::minutes(LEASE_MINUTES));
    assert!(
        matches!(
            store
                .commit_page(
                    &a,
                    t,
                    vec![company("c2", "Late", 20)],
                    &page("p3", 2),
                    &late
                )
                .await,
            Err(StoreError::LeaseLost { .. })
        ),
        "{ctx}: the old holder's commit after a takeover is refused"
    );
    assert!(
        matches!(
            store
                .finish_run(
                    &a,
                    t,
                    &late,
                    RunEnd::Failed {
                        reason: "late".into(),
                        at: at(20)
                    }
                )
                .await,
            Err(StoreError::LeaseLost { .. })
        ),
        "{ctx}: the old holder cannot end the new run"
    );
    let state = store.sync_state(&a, t).await.expect("state");
    assert_eq!(
        state.status,
        running(19, 19),
        "{ctx}: the new run still holds the mark"
    );
    assert_eq!(
        (
            store.count_records(&a, t).await.expect("count"),
            state.checkpoint.map(|c| c.pages)
        ),
        (1, Some(1)),
        "{ctx}: refused commits wrote neither records nor a checkpoint"
    );
    // A force reset revokes the live lease: its holder's next commit and
    // end are refused.
    store.force_reset(&a, t).await.expect("force_reset");
    assert!(
        matches!(
            store
                .commit_page(
                    &a,
                    t,
                    vec![company("c3", "After reset", 21)],
                    &page("p3", 2),
                    &second
                )
                .await,
            Err(StoreError::LeaseLost { .. })
        ),
        "{ctx}: a reset run's commit is refused"
    );
    assert!(
        matches!(
            store
                .finish_run(
                    &a,
                    t,
                    &second,
                    RunEnd::Completed {
                        cursor: Some(at(21)),
                        at: at(21)
                    }
                )
                .await,
            Err(StoreError::LeaseLost { .. })
        ),
        "{ctx}: a reset run cannot end"
    );
    let state = store.sync_state(&a, t).await.expect("state");
    assert_eq!(
        (
            state.status,
            state.cursor,
            store.count_records(&a, t).await.expect("count")
        ),
        (RunStatus::Idle, None, 1),
        "{ctx}: after the reset nothing of the reset run landed"
    );
}

/// Runs write only into a stored, enabled connection: begin and commit are
/// refused for a missing, disabled or deleted one, without writing.
pub async fn check_writes_need_enabled_connection(store: &dyn Store) {
    let ctx = "writes_need_enabled_connection";
    let a = cid("conn-a");
    let t = DataType::Companies;
    assert!(
        matches!(
            store.begin_run(&a, t, &lease(0)).await,
            Err(StoreError::ConnectionNotFound(_))
        ),
        "{ctx}: a run of an unknown connection is refused"
    );
    assert_eq!(
        store.sync_state(&a, t).await.expect("state"),
        SyncState::default(),
        "{ctx}: a refused begin leaves no sync state"
    );
    let mut conn = connection("conn-a", 0);
    conn.version = store.save_connection(&conn).await.expect("save");
    store.begin_run(&a, t, &lease(1)).await.expect("begin");
    let checkpoint = |pages| Checkpoint {
        pages,
        ..Checkpoint::default()
    };
    store
        .commit_page(
            &a,
            t,
            vec![company("c1", "Acme", 1)],
            &checkpoint(1),
            &lease(1),
        )
        .await
        .expect("commit while enabled");
    conn.disable().expect("disable");
    conn.version = store.save_connection(&conn).await.expect("save disabled");
    assert!(
        matches!(
            store
                .commit_page(
                    &a,
                    t,
                    vec![company("c2", "Globex", 2)],
                    &checkpoint(2),
                    &lease(1)
                )
                .await,
            Err(StoreError::ConnectionDisabled(_))
        ),
        "{ctx}: a commit for a disabled connection is refused"
    );
    assert!(
        matches!(
            store.begin_run(&a, DataType::Contacts, &lease(2)).await,
            Err(StoreError::ConnectionDisabled(_))
        ),
        "{ctx}: a run of a disabled connection is refused"
    );
    assert_eq!(
        (
            store.count_records(&a, t).await.expect("count"),
            store
                .sync_state(&a, t)
                .await
                .expect("state")
                .checkpoint
                .map(|c| c.pages)
        ),
        (1, Some(1)),
        "{ctx}: nothing of the refused commit landed"
    );
    conn.enable().expect("enable");
    store.save_connection(&conn).await.expect("save enabled");
    store.delete_connection(&a).await.expect("delete");
    assert!(
        matches!(
            store
                .commit_page(
                    &a,
                    t,
                    vec![company("c3", "Initech", 3)],
                    &checkpoint(2),
                    &lease(1)
                )
                .await,
            Err(StoreError::ConnectionNotFound(_))
        ),
        "{ctx}: a commit for a deleted connection is refused"
    );
    assert_eq!(
        store.count_records(&a, t).await.expect("count"),
        1,
        "{ctx}: nothing of the commit for a deleted connection landed"
    );
}

/// Records: upsert created / updated / unchanged, read back, contains,
/// count, delete, purge of one connection leaving the other untouched.
pub async fn check_records(store: &dyn Store) {
    let ctx = "records";
    let (a, b) = (cid("conn-a"), cid("conn-b"));
    let acme = company("c1", "Acme", 1);
    assert_eq!(
        store.upsert_record(&a, acme.clone()).await.expect("upsert"),
        UpsertOutcome::Created,
        "{ctx}: a new record must be Created"
    );
    assert_eq!(
        store.upsert_record(&a, acme.clone()).await.expect("upsert"),
        UpsertOutcome::Unchanged,
        "{ctx}: an identical record must be Unchanged"
    );
    let renamed = company("c1", "Acme Ltd", 2);
    assert_eq!(
        store
            .upsert_record(&a, renamed.clone())
            .await
            .expect("upsert"),
        UpsertOutcome::Updated,
        "{ctx}: a changed record must be Updated"
    );
    assert_eq!(
        store
            .record(&a, DataType::Companies, "c1")
            .await
            .expect("record"),
        Some(renamed.clone()),
        "{ctx}: record must return the latest version, every field intact"
    );
    assert_eq!(
        store
            .upsert_record(&a, renamed.clone())
            .await
            .expect("upsert"),
        UpsertOutcome::Unchanged,
        "{ctx}: re-sending the latest version must be Unchanged"
    );

    store
        .upsert_record(&a, company("c2", "Globex", 3))
        .await
        .expect("upsert");
    store
        .upsert_record(&a, contact("p1", "c1", 4))
        .await
        .expect("upsert");
    store
        .upsert_record(&b, company("c1", "Other tenant's c1", 5))
        .await
        .expect("upsert");

    assert!(
        store
            .contains_record(&a, DataType::Companies, "c2")
            .await
            .expect("contains"),
        "{ctx}: contains must see a stored record"
    );
    assert!(
        !store
            .contains_record(&a, DataType::Companies, "nope")
            .await
            .expect("contains"),
        "{ctx}: contains must not see an unknown id"
    );
    assert!(
        !store
            .contains_record(&a, DataType::Contacts, "c1")
            .await
            .expect("contains"),
        "{ctx}: contains must not see a record of another data type"
    );
    assert_eq!(
        store
            .record(&a, DataType::Companies, "missing")
            .await
            .expect("record"),
        None,
        "{ctx}: record of an unknown id must be None"
    );
    assert_eq!(
        store
            .count_records(&a, DataType::Companies)
            .await
            .expect("count"),
        2,
        "{ctx}: companies of conn-a"
    );
    assert_eq!(
        store
            .count_records(&a, DataType::Contacts)
            .await
            .expect("count"),
        1,
        "{ctx}: contacts of conn-a"
    );
    assert_eq!(
        store
            .count_records(&b, DataType::Companies)
            .await
            .expect("count"),
        1,
        "{ctx}: companies of conn-b"
    );
    assert_eq!(
        store
            .count_records(&a, DataType::Opportunities)
            .await
            .expect("count"),
        0,
        "{ctx}: a type never stored counts 0"
    );

    assert!(
        store
            .delete_record(&a, DataType::Companies, "c2")
            .await
            .expect("delete"),
        "{ctx}: deleting a stored record must return true"
    );
    assert!(
        !store
            .delete_record(&a, DataType::Companies, "c2")
            .await
            .expect("delete again"),
        "{ctx}: deleting a missing record must return false"
    );
    assert!(
        !store
            .contains_record(&a, DataType::Companies, "c2")
            .await
            .expect("contains"),
        "{ctx}: a deleted record must be gone"
    );

    store.purge_records(&a).await.expect("purge");
    for t in [DataType::Companies, DataType::Contacts] {
        assert_eq!(
            store.count_records(&a, t).await.expect("count"),
            0,
            "{ctx}: purge must remove every {t} record of conn-a"
        );
    }
    assert_eq!(
        store
            .record(&b, DataType::Companies, "c1")
            .await
            .expect("record"),
        Some(company("c1", "Other tenant's c1", 5)),
        "{ctx}: purging conn-a must leave conn-b untouched"
    );
}

/// Record keys: the same provider id under two connections or two data
/// types are distinct records.
pub async fn check_record_keys(store: &dyn Store) {
    let ctx = "record_keys";
    let (a, b) = (cid("conn-a"), cid("conn-b"));
    let outcomes = [
        store.upsert_record(&a, company("42", "A's 42", 1)).await,
        store.upsert_record(&b, company("42", "B's 42", 1)).await,
        store.upsert_record(&a, contact("42", "42", 1)).await,
    ];
    for o in outcomes {
        assert_eq!(
            o.expect("upsert"),
            UpsertOutcome::Created,
            "{ctx}: the same id under another connection or data type must be a new record"
        );
    }
    assert_eq!(
        store
            .record(&b, DataType::Companies, "42")
            .await
            .expect("record"),
        Some(company("42", "B's 42", 1)),
        "{ctx}: conn-b's record must not be conn-a's"
    );
    assert_eq!(
        store
            .record(&a, DataType::Contacts, "42")
            .await
            .expect("record"),
        Some(contact("42", "42", 1)),
        "{ctx}: the contact 42 must not be the company 42"
    );
    assert!(
        store
            .delete_record(&a, DataType::Contacts, "42")
            .await
            .expect("delete"),
        "{ctx}: delete contact 42"
    );
    assert!(
        store
            .contains_record(&a, DataType::Companies, "42")
            .await
            .expect("contains"),
        "{ctx}: deleting the contact 42 must leave the company 42"
    );
}

/// Batch lookups (`contains_records`): one answer per id asked, in order,
/// duplicates answered each time, only records of the connection and data
/// type asked count; ids with quotes, backslashes and non-ASCII text are
/// matched exactly.
pub async fn check_record_lookup(store: &dyn Store) {
    let ctx = "record_lookup";
    let (a, b) = (cid("conn-a"), cid("conn-b"));
    let odd = ["it's \"7\"", "back\\slash", "Zürich-ø", "[1]"];
    for id in ["1", "2", "3"].into_iter().chain(odd) {
        store
            .upsert_record(&a, company(id, "A", 1))
            .await
            .expect("upsert");
    }
    store
        .upsert_record(&b, company("9", "B", 1))
        .await
        .expect("upsert");
    store
        .upsert_record(&a, contact("8", "1", 1))
        .await
        .expect("upsert");
    let ask: Vec<String> = [
        "3",
        "9",
        "8",
        "1",
        "missing",
        "3",
        "",
        odd[0],
        odd[1],
        odd[2],
        odd[3],
        "zürich-ø",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let found = store
        .contains_records(&a, DataType::Companies, &ask)
        .await
        .expect("contains_records");
    assert_eq!(
        found,
        [true, false, false, true, false, true, false, true, true, true, true, false],
        "{ctx}: one answer per id asked ({ask:?}); conn-b's 9 and the contact 8 are not conn-a's companies"
    );
    assert_eq!(
        store
            .contains_records(&a, DataType::Companies, &[])
            .await
            .expect("contains_records"),
        Vec::<bool>::new(),
        "{ctx}: nothing asked, nothing answered"
    );
    assert_eq!(
        store
            .contains_records(&cid("conn-none"), DataType::Companies, &ask[..2])
            .await
            .expect("contains_records"),
        [false, false],
        "{ctx}: an unknown connection has no records"
    );
}

/// The run guard: begin refuses a second begin, independently per data type
/// and connection; force-reset clears the mark and keeps the checkpoint.
pub async fn check_run_guard(store: &dyn Store) {
    let ctx = "run_guard";
    let a = cid("conn-a");
    save_connections(store, &["conn-a", "conn-b", "conn-c"]).await;
    assert_eq!(
        store
            .sync_state(&a, DataType::Companies)
            .await
            .expect("sync_state"),
        SyncState::default(),
        "{ctx}: a never-run type must be idle with no cursor or checkpoint"
    );
    let before = store
        .begin_run(&a, DataType::Companies, &lease(1))
        .await
        .expect("first begin_run");
    assert_eq!(
        before,
        SyncState::default(),
        "{ctx}: begin_run must return the state as it was before"
    );
    assert_eq!(
        store
            .sync_state(&a, DataType::Companies)
            .await
            .expect("sync_state")
            .status,
        running(1, 1),
        "{ctx}: begin_run must mark the type running since `now`, held by the lease's owner until it expires"
    );
    match store.begin_run(&a, DataType::Companies, &lease(2)).await {
        Err(StoreError::AlreadyRunning {
            connection,
            data_type,
        }) => {
            assert_eq!(
                connection, a,
                "{ctx}: AlreadyRunning must name the connection"
            );
            assert_eq!(
                data_type,
                DataType::Companies,
                "{ctx}: AlreadyRunning must name the data type"
            );
        }
        other => panic!("{ctx}: a second begin_run must fail with AlreadyRunning, got {other:?}"),
    }
    store
        .begin_run(&a, DataType::Contacts, &lease(2))
        .await
        .expect("another data type must be able to run at the same time");
    store
        .begin_run(&cid("conn-b"), DataType::Companies, &lease(2))
        .await
        .expect("another connection must be able to run at the same time");

    let checkpoint = Checkpoint {
        since: Some(at(-60)),
        page_token: Some("page-2".into()),
        high_water: Some(at(-5)),
        counts: SyncCounts::default(),
        pages: 1,
    };
    store
        .commit_page(
            &a,
            DataType::Companies,
            vec![company("c1", "Acme", -5)],
            &checkpoint,
            &lease(1),
        )
        .await
        .expect("commit_page");
    let reset = store
        .force_reset(&a, DataType::Companies)
        .await
        .expect("force_reset");
    let expected_checkpoint = Checkpoint {
        counts: SyncCounts {
            created: 1,
            ..SyncCounts::default()
        },
        ..checkpoint
    };
    assert_eq!(
        reset.status,
        RunStatus::Idle,
        "{ctx}: force_reset must clear the running mark"
    );
    assert_eq!(
        reset.checkpoint,
        Some(expected_checkpoint.clone()),
        "{ctx}: force_reset must keep the checkpoint"
    );
    assert_eq!(
        store
            .sync_state(&a, DataType::Companies)
            .await
            .expect("sync_state"),
        reset,
        "{ctx}: force_reset must return the stored state"
    );
    let resumed = store
        .begin_run(&a, DataType::Companies, &lease(3))
        .await
        .expect("begin_run after force_reset");
    assert_eq!(
        resumed.checkpoint,
        Some(expected_checkpoint),
        "{ctx}: the next begin_run must hand back the checkpoint to resume from"
    );
    let idle = store
        .force_reset(&cid("conn-c"), DataType::Companies)
        .await
        .expect("force_reset of a never-run type");
    assert_eq!(
        idle,
        SyncState::default(),
        "{ctx}: force_reset of a never-run type is idle and empty"
    );
}

/// Pages: records and checkpoint are stored together, with the page's
/// outcomes added to the checkpoint's counts.
pub async fn check_commit_page(store: &dyn Store) {
    let ctx = "commit_page";
    let a = cid("conn-a");
    save_connections(store, &["conn-a"]).await;
    store
        .begin_run(&a, DataType::Companies, &lease(0))
        .await
        .expect("begin_run");
    let first = Checkpoint {
        since: None,
        page_token: Some("p2".into()),
        high_water: Some(at(2)),
        counts: SyncCounts {
            skipped: 1,
            ..SyncCounts::default()
        },
        pages: 1,
    };
    let outcomes = store
        .commit_page(
            &a,
            DataType::Companies,
            vec![company("c1", "Acme", 1), company("c2", "Globex", 2)],
            &first,
            &lease(0),
        )
        .await
        .expect("commit_page 1");
    assert_eq!(
        outcomes,
        [UpsertOutcome::Created, UpsertOutcome::Created],
        "{ctx}: page 1 outcomes, one per record in order"
    );
    let stored = store
        .sync_state(&a, DataType::Companies)
        .await
        .expect("sync_state")
        .checkpoint
        .expect("a checkpoint must be stored with the page");
    assert_eq!(
        stored,
        first.with_outcomes(&outcomes),
        "{ctx}: the stored checkpoint must be the given one plus the page's outcomes"
    );
    assert_eq!(
        stored.counts,
        SyncCounts {
            created: 2,
            skipped: 1,
            ..SyncCounts::default()
        },
        "{ctx}: counts after page 1"
    );

    let second = Checkpoint {
        page_token: None,
        high_water: Some(at(5)),
        pages: 2,
        ..stored
    };
    let outcomes = store
        .commit_page(
            &a,
            DataType::Companies,
            vec![
                company("c1", "Acme Ltd", 5),
                company("c2", "Globex", 2),
                company("c3", "Initech", 4),
            ],
            &second,
            &lease(0).renewed(at(3), Duration::minutes(LEASE_MINUTES)),
        )
        .await
        .expect("commit_page 2");
    assert_eq!(
        outcomes,
        [
            UpsertOutcome::Updated,
            UpsertOutcome::Unchanged,
            UpsertOutcome::Created
        ],
        "{ctx}: page 2 outcomes, one per record in order"
    );
    let state = store
        .sync_state(&a, DataType::Companies)
        .await
        .expect("sync_state");
    assert_eq!(
        state.checkpoint.as_ref().map(|c| (c.counts, c.pages)),
        Some((
            SyncCounts {
                created: 3,
                updated: 1,
                unchanged: 1,
                skipped: 1,
                deleted: 0,
            },
            2
        )),
        "{ctx}: counts and pages after page 2"
    );
    assert_eq!(
        state.status,
        running(0, 3),
        "{ctx}: commit_page must renew the lease (same start and owner, expiry from the commit's time)"
    );
    assert_eq!(
        store
            .count_records(&a, DataType::Companies)
            .await
            .expect("count"),
        3,
        "{ctx}: every committed record must be stored"
    );
    assert_eq!(
        store
            .record(&a, DataType::Companies, "c1")
            .await
            .expect("record"),
        Some(company("c1", "Acme Ltd", 5)),
        "{ctx}: a page's update must be stored"
    );

    store
        .begin_run(&a, DataType::Contacts, &lease(4))
        .await
        .expect("begin_run contacts");
    let empty = store
        .commit_page(
            &a,
            DataType::Contacts,
            vec![],
            &Checkpoint::default(),
            &lease(4),
        )
        .await
        .expect("an empty page");
    assert!(empty.is_empty(), "{ctx}: an empty page has no outcomes");
    assert_eq!(
        store
            .sync_state(&a, DataType::Contacts)
            .await
            .expect("sync_state")
            .checkpoint,
        Some(Checkpoint::default()),
        "{ctx}: an empty page still stores its checkpoint"
    );
}

/// Ending runs: completion advances the cursor (never backwards) and clears
/// the checkpoint; failure keeps the checkpoint and the cursor.
pub async fn check_finish_run(store: &dyn Store) {
    let ctx = "finish_run";
    let a = cid("conn-a");
    save_connections(store, &["conn-a"]).await;
    let t = DataType::Contacts;
    store.begin_run(&a, t, &lease(0)).await.expect("begin_run");
    let checkpoint = Checkpoint {
        page_token: Some("p2".into()),
        high_water: Some(at(20)),
        pages: 1,
        ..Checkpoint::default()
    };
    store
        .commit_page(&a, t, vec![contact("p1", "c1", 20)], &checkpoint, &lease(0))
        .await
        .expect("commit_page");
    store
        .finish_run(
            &a,
            t,
            &lease(0),
            RunEnd::Completed {
                cursor: Some(at(20)),
                at: at(21),
            },
        )
        .await
        .expect("finish_run completed");
    let state = store.sync_state(&a, t).await.expect("sync_state");
    assert_eq!(
        state,
        SyncState {
            status: RunStatus::Idle,
            cursor: Some(at(20)),
            checkpoint: None,
            last_completed: Some(at(21)),
        },
        "{ctx}: a completed run is idle, has the new cursor, no checkpoint, and its completion time"
    );

    store
        .begin_run(&a, t, &lease(30))
        .await
        .expect("begin_run 2");
    store
        .finish_run(
            &a,
            t,
            &lease(30),
            RunEnd::Completed {
                cursor: Some(at(10)),
                at: at(31),
            },
        )
        .await
        .expect("finish_run with an older cursor");
    assert_eq!(
        store.sync_state(&a, t).await.expect("sync_state").cursor,
        Some(at(20)),
        "{ctx}: the cursor must be the max of the old and new cursors"
    );
    store
        .begin_run(&a, t, &lease(40))
        .await
        .expect("begin_run 3");
    store
        .finish_run(
            &a,
            t,
            &lease(40),
            RunEnd::Completed {
                cursor: None,
                at: at(41),
            },
        )
        .await
        .expect("finish_run with no cursor");
    let state = store.sync_state(&a, t).await.expect("sync_state");
    assert_eq!(
        (state.cursor, state.last_completed),
        (Some(at(20)), Some(at(41))),
        "{ctx}: a run that saw nothing keeps the cursor and records its completion"
    );

    store
        .begin_run(&a, t, &lease(50))
        .await
        .expect("begin_run 4");
    let checkpoint = Checkpoint {
        since: Some(at(20)),
        page_token: Some("p3".into()),
        high_water: Some(at(55)),
        pages: 2,
        ..Checkpoint::default()
    };
    store
        .commit_page(
            &a,
            t,
            vec![contact("p2", "c1", 55)],
            &checkpoint,
            &lease(50),
        )
        .await
        .expect("commit_page");
    store
        .finish_run(
            &a,
            t,
            &lease(50),
            RunEnd::Failed {
                reason: "HTTP 503 from the provider".into(),
                at: at(56),
            },
        )
        .await
        .expect("finish_run failed");
    let state = store.sync_state(&a, t).await.expect("sync_state");
    assert_eq!(
        state.status,
        RunStatus::Failed {
            at: at(56),
            reason: "HTTP 503 from the provider".into()
        },
        "{ctx}: a failed run is marked failed with its reason"
    );
    assert_eq!(
        state
            .checkpoint
            .as_ref()
            .and_then(|c| c.page_token.as_deref()),
        Some("p3"),
        "{ctx}: a failed run must keep its checkpoint"
    );
    assert_eq!(
        (state.cursor, state.last_completed),
        (Some(at(20)), Some(at(41))),
        "{ctx}: a failed run must not move the cursor or the last completion"
    );
    let resumed = store
        .begin_run(&a, t, &lease(60))
        .await
        .expect("a failed run can be started again");
    assert_eq!(
        resumed.checkpoint.and_then(|c| c.page_token),
        Some("p3".into()),
        "{ctx}: the run after a failure resumes from the checkpoint"
    );
}

/// Clearing the sync states of one connection leaves the others.
pub async fn check_clear_sync_state(store: &dyn Store) {
    let ctx = "clear_sync_state";
    let (a, b) = (cid("conn-a"), cid("conn-b"));
    save_connections(store, &["conn-a", "conn-b"]).await;
    for (c, t) in [
        (&a, DataType::Companies),
        (&a, DataType::Contacts),
        (&b, DataType::Companies),
    ] {
        store.begin_run(c, t, &lease(0)).await.expect("begin_run");
        store
            .finish_run(
                c,
                t,
                &lease(0),
                RunEnd::Completed {
                    cursor: Some(at(5)),
                    at: at(6),
                },
            )
            .await
            .expect("finish_run");
    }
    store.clear_sync_state(&a).await.expect("clear_sync_state");
    for t in [DataType::Companies, DataType::Contacts] {
        assert_eq!(
            store.sync_state(&a, t).await.expect("sync_state"),
            SyncState::default(),
            "{ctx}: conn-a's {t} state must be forgotten"
        );
    }
    assert_eq!(
        store
            .sync_state(&b, DataType::Companies)
            .await
            .expect("sync_state")
            .cursor,
        Some(at(5)),
        "{ctx}: conn-b's state must be untouched"
    );
    store
        .begin_run(&a, DataType::Companies, &lease(7))
        .await
        .expect("a cleared type can run again");
}

/// Links: stored per connection and scoping project; a second link for the
/// same item replaces the first.
pub async fn check_links(store: &dyn Store) {
    let ctx = "links";
    let (a, b) = (cid("conn-a"), cid("conn-b"));
    assert_eq!(
        store.links(&a, "sp-1").await.expect("links"),
        ProjectLinks::default(),
        "{ctx}: a project never pushed has no links"
    );
    let items = [
        (ItemRef::Project, "900"),
        (ItemRef::Phase("ph-1".into()), "901"),
        (ItemRef::Service("sv:1".into()), "902"),
        (ItemRef::SubService("ss-1".into()), "903"),
        (ItemRef::PhaseTask("ph-1".into()), "904"),
        (ItemRef::Governance("ph-1".into()), "905"),
    ];
    for (item, psa) in &items {
        store
            .put_link(&a, "sp-1", item, psa)
            .await
            .expect("put_link");
    }
    store
        .put_link(&a, "sp-2", &ItemRef::Project, "700")
        .await
        .expect("put_link");
    store
        .put_link(&b, "sp-1", &ItemRef::Project, "800")
        .await
        .expect("put_link");
    let expected: BTreeMap<ItemRef, String> = items
        .iter()
        .map(|(i, p)| (i.clone(), p.to_string()))
        .collect();
    assert_eq!(
        store.links(&a, "sp-1").await.expect("links").items,
        expected,
        "{ctx}: every link of conn-a's sp-1, and only those"
    );
    assert_eq!(
        store
            .links(&a, "sp-2")
            .await
            .expect("links")
            .get(&ItemRef::Project),
        Some("700"),
        "{ctx}: links are per project"
    );
    assert_eq!(
        store.links(&b, "sp-1").await.expect("links").items.len(),
        1,
        "{ctx}: links are per connection"
    );
    store
        .put_link(&a, "sp-1", &ItemRef::Phase("ph-1".into()), "999")
        .await
        .expect("put_link again");
    let links = store.links(&a, "sp-1").await.expect("links");
    assert_eq!(
        (links.get(&ItemRef::Phase("ph-1".into())), links.items.len()),
        (Some("999"), items.len()),
        "{ctx}: a second link for an item must replace the first"
    );
}

/// The activity log: newest first, limited, optionally per connection,
/// every field intact.
pub async fn check_activity(store: &dyn Store) {
    let ctx = "activity";
    let (a, b) = (cid("conn-a"), cid("conn-b"));
    assert!(
        store.entries(None, 10).await.expect("entries").is_empty(),
        "{ctx}: a fresh log is empty"
    );
    let entries = vec![
        ActivityEntry {
            at: at(1),
            connection_id: a.clone(),
            kind: ActivityKind::Created,
        },
        ActivityEntry {
            at: at(2),
            connection_id: b.clone(),
            kind: ActivityKind::StatusChanged {
                from: "Untested".into(),
                to: "Connection Error".into(),
                reason: Some("401: bad keys".into()),
            },
        },
        ActivityEntry {
            at: at(3),
            connection_id: a.clone(),
            kind: ActivityKind::SyncStarted {
                data_type: DataType::Companies,
                resumed: false,
            },
        },
        // Out of time order on purpose: "newest" means last appended.
        ActivityEntry {
            at: at(0),
            connection_id: a.clone(),
            kind: ActivityKind::SyncCompleted {
                data_type: DataType::Companies,
                counts: SyncCounts {
                    created: 3,
                    updated: 1,
                    unchanged: 2,
                    skipped: 1,
                    deleted: 0,
                },
            },
        },
        ActivityEntry {
            at: at(5),
            connection_id: b.clone(),
            kind: ActivityKind::RecordSkipped {
                data_type: DataType::Contacts,
                external_id: "p9".into(),
                reason: "it belongs to no company".into(),
            },
        },
    ];
    for e in &entries {
        store.append(e.clone()).await.expect("append");
    }
    let newest_first: Vec<ActivityEntry> = entries.iter().rev().cloned().collect();
    assert_eq!(
        store.entries(None, 100).await.expect("entries"),
        newest_first,
        "{ctx}: every entry, newest (last appended) first, every field intact"
    );
    assert_eq!(
        store.entries(None, usize::MAX).await.expect("entries"),
        newest_first,
        "{ctx}: a limit of usize::MAX means all"
    );
    assert_eq!(
        store.entries(None, 2).await.expect("entries"),
        newest_first[..2],
        "{ctx}: the limit keeps the newest"
    );
    assert!(
        store.entries(None, 0).await.expect("entries").is_empty(),
        "{ctx}: a limit of 0 returns nothing"
    );
    let of_a: Vec<ActivityEntry> = newest_first
        .iter()
        .filter(|e| e.connection_id == a)
        .cloned()
        .collect();
    assert_eq!(
        store.entries(Some(&a), 100).await.expect("entries"),
        of_a,
        "{ctx}: per-connection entries, newest first"
    );
    assert_eq!(
        store.entries(Some(&a), 2).await.expect("entries"),
        of_a[..2],
        "{ctx}: the limit applies after the connection filter"
    );
    assert!(
        store
            .entries(Some(&cid("conn-z")), 10)
            .await
            .expect("entries")
            .is_empty(),
        "{ctx}: a connection with no entries has none"
    );
}

/// Pending OAuth authorizations ([`PendingAuthorizationStore`]): a state
/// is taken once (a second take finds nothing), what was put comes back
/// unchanged (verifier included), states are independent, and purging
/// removes exactly the expired ones.
pub async fn check_pending_authorizations(
    store: &dyn scopelink_core::store::PendingAuthorizationStore,
) {
    use scopelink_core::oauth::PendingAuthorization;
    use secrecy::ExposeSecret;
    let pending = |state: &str, expires_minute: i64| PendingAuthorization {
        state: state.to_string(),
        verifier: format!("verifier-of-{state}-0123456789012345678901234567").into(),
        connection: ConnectionId::from("c1"),
        created_at: at(0),
        expires_at: at(expires_minute),
    };
    let a = pending("state-a", 10);
    let b = pending("state-b", 20);
    store.put_pending(&a).await.expect("put a");
    store.put_pending(&b).await.expect("put b");
    assert!(
        store
            .take_pending("state-unknown")
            .await
            .expect("take")
            .is_none(),
        "an unknown state must find nothing"
    );
    let got = store
        .take_pending("state-a")
        .await
        .expect("take a")
        .expect("a was put");
    assert_eq!(got, a, "a pending authorization must come back unchanged");
    assert_eq!(
        got.verifier.expose_secret(),
        a.verifier.expose_secret(),
        "the verifier must come back"
    );
    assert!(
        store
            .take_pending("state-a")
            .await
            .expect("retake")
            .is_none(),
        "a state must be taken at most once"
    );
    store
        .put_pending(&pending("state-c", 5))
        .await
        .expect("put c");
    assert_eq!(
        store.purge_expired_pending(at(15)).await.expect("purge"),
        1,
        "only the authorization that expired before the purge time goes"
    );
    assert!(store
        .take_pending("state-c")
        .await
        .expect("take c")
        .is_none());
    assert_eq!(
        store.take_pending("state-b").await.expect("take b"),
        Some(b),
        "a live authorization survives the purge"
    );
}
