//! The sync-state transition rules that live on `SyncState` and that every
//! store calls: who may commit a page, end a run or clear a stuck mark.

use chrono::{DateTime, Duration, TimeZone, Utc};
use scopelink_core::error::StoreError;
use scopelink_core::store::UpsertOutcome;
use scopelink_core::sync::{Checkpoint, RunEnd, RunLease, RunStatus, SyncState};
use scopelink_core::{ConnectionId, DataType};

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, minute, 0).unwrap()
}

fn conn() -> ConnectionId {
    ConnectionId("conn_rules".into())
}

/// A state whose mark is held by a fresh run, with that run's lease.
fn running() -> (SyncState, RunLease) {
    let mut state = SyncState::default();
    let lease = RunLease::new(at(0), Duration::minutes(5));
    state
        .begin(&conn(), DataType::Companies, &lease)
        .expect("an idle state can begin");
    (state, lease)
}

fn page_checkpoint() -> Checkpoint {
    Checkpoint {
        page_token: Some("page-2".into()),
        pages: 1,
        ..Checkpoint::default()
    }
}

#[test]
fn a_page_committed_by_the_lease_holder_is_counted_and_renews_the_lease() {
    let (mut state, lease) = running();
    let later = lease.renewed(at(3), Duration::minutes(5));
    let outcomes = state
        .commit_page(
            &conn(),
            DataType::Companies,
            &later,
            &page_checkpoint(),
            || Ok(vec![UpsertOutcome::Created, UpsertOutcome::Updated]),
        )
        .expect("the holder may commit");
    assert_eq!(outcomes.len(), 2);
    let checkpoint = state.checkpoint.clone().expect("checkpoint stored");
    assert_eq!(checkpoint.page_token.as_deref(), Some("page-2"));
    assert_eq!(checkpoint.counts.created, 1);
    assert_eq!(checkpoint.counts.updated, 1);
    match state.status {
        RunStatus::Running { expires_at, .. } => assert_eq!(expires_at, at(8)),
        other => panic!("expected still running, got {other:?}"),
    }
}

#[test]
fn a_commit_without_the_mark_is_refused_before_anything_is_written() {
    let (mut state, _holder) = running();
    let before = state.clone();
    let stranger = RunLease::new(at(1), Duration::minutes(5));
    let mut wrote = false;
    let err = state
        .commit_page(
            &conn(),
            DataType::Companies,
            &stranger,
            &page_checkpoint(),
            || {
                wrote = true;
                Ok(vec![UpsertOutcome::Created])
            },
        )
        .expect_err("a run without the mark may not commit");
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err:?}");
    assert!(!wrote, "the page's records must not be written");
    assert_eq!(state, before);
}

#[test]
fn a_failed_write_leaves_the_state_as_it_was() {
    let (mut state, lease) = running();
    let before = state.clone();
    let err = state
        .commit_page(
            &conn(),
            DataType::Companies,
            &lease,
            &page_checkpoint(),
            || {
                Err(StoreError::Backend(
                    "disk full while writing the page".into(),
                ))
            },
        )
        .expect_err("the write failed");
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert_eq!(
        state, before,
        "no checkpoint for a page that was not written"
    );
}

#[test]
fn only_the_lease_holder_can_end_the_run() {
    let (mut state, lease) = running();
    let before = state.clone();
    let stranger = RunLease::new(at(2), Duration::minutes(5));
    let err = state
        .finish(
            &conn(),
            DataType::Companies,
            &stranger,
            RunEnd::Completed {
                cursor: Some(at(2)),
                at: at(2),
            },
        )
        .expect_err("a stranger cannot end the run");
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err:?}");
    assert_eq!(state, before);

    state
        .finish(
            &conn(),
            DataType::Companies,
            &lease,
            RunEnd::Completed {
                cursor: Some(at(4)),
                at: at(4),
            },
        )
        .expect("the holder ends its run");
    assert_eq!(state.status, RunStatus::Idle);
    assert_eq!(state.cursor, Some(at(4)));
    assert_eq!(state.last_completed, Some(at(4)));
    assert_eq!(state.checkpoint, None);
}

#[test]
fn ending_a_run_that_never_began_is_refused() {
    let mut state = SyncState::default();
    let lease = RunLease::new(at(0), Duration::minutes(5));
    let err = state
        .finish(
            &conn(),
            DataType::Contacts,
            &lease,
            RunEnd::Failed {
                reason: "boom".into(),
                at: at(1),
            },
        )
        .expect_err("no run holds the mark");
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err:?}");
    assert_eq!(state, SyncState::default());
}

#[test]
fn force_reset_frees_the_mark_and_keeps_the_checkpoint() {
    let (mut state, lease) = running();
    state
        .commit_page(
            &conn(),
            DataType::Companies,
            &lease,
            &page_checkpoint(),
            || Ok(vec![UpsertOutcome::Created]),
        )
        .expect("commit");
    state.force_reset();
    assert_eq!(state.status, RunStatus::Idle);
    assert_eq!(
        state
            .checkpoint
            .as_ref()
            .and_then(|c| c.page_token.as_deref()),
        Some("page-2"),
        "the next run resumes where the stuck one stopped"
    );
    // The run that held the mark has lost it; a new run can begin at once.
    let err = state
        .commit_page(
            &conn(),
            DataType::Companies,
            &lease,
            &page_checkpoint(),
            || Ok(vec![]),
        )
        .expect_err("the old run lost its mark");
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err:?}");
    let next = RunLease::new(at(1), Duration::minutes(5));
    state
        .begin(&conn(), DataType::Companies, &next)
        .expect("a new run begins after the reset");
}

#[test]
fn a_live_lease_refuses_a_second_run_and_a_lapsed_one_is_taken_over() {
    let (mut state, _holder) = running();
    let rival = RunLease::new(at(2), Duration::minutes(5));
    let err = state
        .begin(&conn(), DataType::Companies, &rival)
        .expect_err("the first run's lease is live until 09:05");
    assert!(matches!(err, StoreError::AlreadyRunning { .. }), "{err:?}");

    let after_lapse = RunLease::new(at(6), Duration::minutes(5));
    state
        .begin(&conn(), DataType::Companies, &after_lapse)
        .expect("a lapsed lease is taken over");
    match &state.status {
        RunStatus::Running { owner, .. } => assert_eq!(*owner, after_lapse.owner),
        other => panic!("expected running, got {other:?}"),
    }
}
