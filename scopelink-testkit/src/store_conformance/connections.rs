//! Connections, their versions, run leases and what runs need of a connection.

use super::fixtures::*;
use chrono::Duration;
use scopelink_core::sync::{Checkpoint, RunEnd, RunStatus, SyncState};
use scopelink_core::{DataType, Store, StoreError};

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
