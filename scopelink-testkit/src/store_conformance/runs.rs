//! Sync runs: the run guard, page commits, ending runs and clearing sync state.

use super::fixtures::*;
use chrono::Duration;
use scopelink_core::store::UpsertOutcome;
use scopelink_core::sync::{Checkpoint, RunEnd, RunStatus, SyncCounts, SyncState};
use scopelink_core::{DataType, Store, StoreError};

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
