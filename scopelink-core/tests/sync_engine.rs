//! The sync engine against an in-memory CRM source: dependency order, skips,
//! counts, progress, incremental cursors, checkpoints and resume, the
//! running mark and force-reset, auth failures, activity and webhooks.

mod common;

use common::*;
use scopelink_core::access::{Access, Entitlements, Permission};
use scopelink_core::activity::ActivityKind;
use scopelink_core::model::{Company, Contact, DataType, Record};
use scopelink_core::store::{RecordStore, SyncStateStore};
use scopelink_core::sync::{Checkpoint, RunLease, RunStatus, SyncCounts, SyncProgress, SyncReport};
use scopelink_core::webhook::{WebhookAction, WebhookEvent};
use scopelink_core::{
    AccessError, Connection, ConnectionEvent, ConnectionStatus, ConnectorError, FeatureCategory,
    HttpError, Provider, StoreError, SyncEngine, SyncError, SyncRequest,
};
use std::sync::Mutex;
use tokio::sync::broadcast::error::TryRecvError;

const CRM: &[FeatureCategory] = &[FeatureCategory::Crm];

/// Companies c1..c5 (ts 1..5); contacts p1 (c1), p2 (c2), p3 (of c9, never
/// synced), p4 (no company); opportunities o1 (c1), o2 (c9), o3 (c3). Two
/// records a page.
fn crm() -> FakeCrm {
    let crm = FakeCrm::new(2);
    crm.put_all((1..=5).map(|i| company(&format!("c{i}"), i)));
    crm.put_all([
        contact("p1", Some("c1"), 10),
        contact("p2", Some("c2"), 11),
        contact("p3", Some("c9"), 12),
        contact("p4", None, 13),
    ]);
    crm.put_all([
        opportunity("o1", Some("c1"), 20),
        opportunity("o2", Some("c9"), 21),
        opportunity("o3", Some("c3"), 22),
    ]);
    crm
}

struct Setup {
    env: Env,
    engine: SyncEngine,
    conn: Connection,
}

async fn setup() -> Setup {
    let env = Env::new();
    let conn = env.connected(Provider::HubSpot, CRM).await;
    let engine = SyncEngine::new(env.connections.clone());
    Setup { env, engine, conn }
}

fn request(types: &[DataType]) -> SyncRequest {
    SyncRequest::all().data_types(types.to_vec())
}

impl Setup {
    async fn run(&self, crm: &FakeCrm, request: &SyncRequest) -> Result<SyncReport, SyncError> {
        self.engine
            .run(&Access::full(), &self.conn.id, crm, request, None)
            .await
    }

    fn ids(&self, data_type: DataType) -> Vec<String> {
        self.env
            .store
            .records(&self.conn.id, data_type)
            .iter()
            .map(|r| r.external_id().to_string())
            .collect()
    }

    async fn status(&self) -> ConnectionStatus {
        self.env
            .connections
            .get(&Access::full(), &self.conn.id)
            .await
            .unwrap()
            .status
    }

    /// Activity since the connection was set up (created + tested).
    async fn sync_kinds(&self) -> Vec<ActivityKind> {
        self.env.kinds(&self.conn.id).await.split_off(2)
    }
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

#[tokio::test]
async fn runs_in_dependency_order_and_skips_orphans() {
    let s = setup().await;
    let crm = crm();
    let report = s
        .run(
            &crm,
            &request(&[
                DataType::Opportunities,
                DataType::Contacts,
                DataType::Companies,
            ]),
        )
        .await
        .unwrap();

    let order: Vec<DataType> = crm.requests().iter().map(|r| r.data_type).collect();
    assert_eq!(
        order,
        [
            DataType::Companies,
            DataType::Contacts,
            DataType::Opportunities
        ]
    );
    assert_eq!(report.counts(DataType::Companies), Some(counts(5, 0, 0, 0)));
    assert_eq!(report.counts(DataType::Contacts), Some(counts(2, 0, 0, 2)));
    assert_eq!(
        report.counts(DataType::Opportunities),
        Some(counts(2, 0, 0, 1))
    );
    assert_eq!(s.ids(DataType::Companies), ["c1", "c2", "c3", "c4", "c5"]);
    assert_eq!(s.ids(DataType::Contacts), ["p1", "p2"]);
    assert_eq!(s.ids(DataType::Opportunities), ["o1", "o3"]);
    insta::assert_yaml_snapshot!("first_run_report", report.per_type);

    let kinds = s.sync_kinds().await;
    let skipped: Vec<(DataType, String, String)> = kinds
        .iter()
        .filter_map(|k| match k {
            ActivityKind::RecordSkipped {
                data_type,
                external_id,
                reason,
            } => Some((*data_type, external_id.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        skipped,
        [
            (
                DataType::Contacts,
                "p3".to_string(),
                "its company c9 is not synced (filtered out, or not synced yet)".to_string()
            ),
            (
                DataType::Contacts,
                "p4".to_string(),
                "it belongs to no company".to_string()
            ),
            (
                DataType::Opportunities,
                "o2".to_string(),
                "its company c9 is not synced (filtered out, or not synced yet)".to_string()
            ),
        ]
    );
    // SyncStarted / RecordSkipped / SyncCompleted per type, then nothing
    // else: the connection was Connected already.
    insta::assert_yaml_snapshot!("first_run_activity", kinds);
}

#[tokio::test]
async fn incremental_runs_count_created_updated_unchanged() {
    let s = setup().await;
    let crm = crm();
    let all = request(&[]);
    let first = s.run(&crm, &all).await.unwrap();
    // Nothing changed: only the newest record of each type comes back
    // (`since` is inclusive) and it is unchanged.
    let second = s.run(&crm, &all).await.unwrap();
    assert_eq!(second.counts(DataType::Companies), Some(counts(0, 0, 1, 0)));

    // c2 changes, c6 is new, p3 moves to a synced company.
    crm.put(Record::Company(Company {
        external_id: "c2".into(),
        name: "Renamed".into(),
        updated_at: Some(ts(30)),
        ..Company::default()
    }));
    crm.put(company("c6", 31));
    crm.put(contact("p3", Some("c6"), 32));
    let third = s.run(&crm, &all).await.unwrap();
    assert_eq!(third.counts(DataType::Companies), Some(counts(1, 1, 1, 0)));
    assert_eq!(third.counts(DataType::Contacts), Some(counts(1, 0, 0, 1)));

    let full = s.run(&crm, &SyncRequest::all().full()).await.unwrap();
    assert_eq!(full.counts(DataType::Companies), Some(counts(0, 0, 6, 0)));

    // The `since` each request carried: none, then the newest modification
    // time of the previous run, then none again for the full run.
    let since: Vec<(DataType, Option<_>)> = crm
        .requests()
        .iter()
        .map(|r| (r.data_type, r.since))
        .collect();
    assert_eq!(
        since,
        [
            (DataType::Companies, None),
            (DataType::Contacts, None),
            (DataType::Opportunities, None),
            (DataType::Companies, Some(ts(5))),
            (DataType::Contacts, Some(ts(13))),
            (DataType::Opportunities, Some(ts(22))),
            (DataType::Companies, Some(ts(5))),
            (DataType::Contacts, Some(ts(13))),
            (DataType::Opportunities, Some(ts(22))),
            (DataType::Companies, None),
            (DataType::Contacts, None),
            (DataType::Opportunities, None),
        ]
    );
    assert!(crm.requests().iter().all(|r| r.resume_from.is_none()));
    let state = s
        .env
        .store
        .sync_state(&s.conn.id, DataType::Companies)
        .await
        .unwrap();
    assert_eq!(state.cursor, Some(ts(31)));
    assert_eq!(state.status, RunStatus::Idle);
    assert_eq!(state.checkpoint, None);
    assert!(state.last_completed.is_some());
    assert_eq!(
        s.ids(DataType::Companies),
        ["c1", "c2", "c3", "c4", "c5", "c6"]
    );
    assert_eq!(s.ids(DataType::Contacts), ["p1", "p2", "p3"]);

    let runs: Vec<(&str, Vec<(DataType, SyncCounts)>)> = vec![
        ("first", first.per_type),
        ("second", second.per_type),
        ("third", third.per_type),
        ("full", full.per_type),
    ];
    insta::assert_yaml_snapshot!("incremental_reports", runs);
}

#[tokio::test]
async fn progress_reports_every_page_and_the_end() {
    let s = setup().await;
    let crm = crm();
    let events: Mutex<Vec<SyncProgress>> = Mutex::new(Vec::new());
    let progress = |p: &SyncProgress| events.lock().unwrap().push(p.clone());
    s.engine
        .run(
            &Access::full(),
            &s.conn.id,
            &crm,
            &request(&[DataType::Companies, DataType::Contacts]),
            Some(&progress),
        )
        .await
        .unwrap();
    let events = events.into_inner().unwrap();
    // Companies: 3 pages + the end; contacts: 2 pages + the end.
    assert_eq!(events.len(), 7);
    assert_eq!(
        events.iter().filter(|e| e.finished).count(),
        2,
        "{events:?}"
    );
    assert!(events[3].finished && events[3].data_type == DataType::Companies);
    assert_eq!(events[3].counts, counts(5, 0, 0, 0));
    assert!(events[6].finished && events[6].data_type == DataType::Contacts);
    assert_eq!(crm.served().len(), 5);
    insta::assert_yaml_snapshot!("progress_events", events);
}

#[tokio::test]
async fn a_failed_run_resumes_from_its_checkpoint_without_loss_or_duplicates() {
    let s = setup().await;
    let crm = crm();
    let types = request(&[DataType::Companies, DataType::Contacts]);
    let events: Mutex<Vec<SyncProgress>> = Mutex::new(Vec::new());
    let progress = |p: &SyncProgress| events.lock().unwrap().push(p.clone());
    crm.fail_once_at(DataType::Companies, 1, Failure::Unavailable);

    let err = s
        .engine
        .run(&Access::full(), &s.conn.id, &crm, &types, Some(&progress))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Connector {
                data_type: DataType::Companies,
                source: ConnectorError::Http(HttpError::Status { status: 503, .. })
            }
        ),
        "{err:?}"
    );
    // The first page is committed, with its checkpoint; contacts never ran.
    assert_eq!(s.ids(DataType::Companies), ["c1", "c2"]);
    let state = s
        .env
        .store
        .sync_state(&s.conn.id, DataType::Companies)
        .await
        .unwrap();
    assert!(matches!(state.status, RunStatus::Failed { ref reason, .. } if reason.contains("503")));
    assert_eq!(
        state.checkpoint,
        Some(Checkpoint {
            since: None,
            page_token: Some("1".into()),
            high_water: Some(ts(2)),
            counts: counts(2, 0, 0, 0),
            pages: 1,
        })
    );
    assert_eq!(state.cursor, None);
    // A provider outage is not a credentials problem.
    assert_eq!(s.status().await, ConnectionStatus::Connected);
    assert_eq!(crm.requests().len(), 1);

    let report = s
        .engine
        .run(&Access::full(), &s.conn.id, &crm, &types, Some(&progress))
        .await
        .unwrap();
    let requests = crm.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].data_type, DataType::Companies);
    assert_eq!(requests[1].resume_from.as_deref(), Some("1"));
    assert_eq!(requests[1].since, None);
    assert_eq!(requests[2].data_type, DataType::Contacts);
    assert_eq!(requests[2].resume_from, None);
    // Every page served once; the failed one was asked for twice.
    assert_eq!(
        crm.served(),
        [
            (DataType::Companies, 0),
            (DataType::Companies, 1),
            (DataType::Companies, 2),
            (DataType::Contacts, 0),
            (DataType::Contacts, 1),
        ]
    );
    assert_eq!(crm.failed(), [(DataType::Companies, 1)]);
    assert_eq!(s.ids(DataType::Companies), ["c1", "c2", "c3", "c4", "c5"]);
    // The resumed run's counts include the pages the failed run committed.
    assert_eq!(report.counts(DataType::Companies), Some(counts(5, 0, 0, 0)));
    let state = s
        .env
        .store
        .sync_state(&s.conn.id, DataType::Companies)
        .await
        .unwrap();
    assert_eq!(state.checkpoint, None);
    assert_eq!(state.cursor, Some(ts(5)));
    assert_eq!(state.status, RunStatus::Idle);

    let companies: Vec<(u64, SyncCounts, bool)> = events
        .into_inner()
        .unwrap()
        .into_iter()
        .filter(|e| e.data_type == DataType::Companies)
        .map(|e| (e.pages, e.counts, e.finished))
        .collect();
    assert_eq!(
        companies,
        [
            (1, counts(2, 0, 0, 0), false),
            (2, counts(4, 0, 0, 0), false),
            (3, counts(5, 0, 0, 0), false),
            (3, counts(5, 0, 0, 0), true),
        ]
    );
    insta::assert_yaml_snapshot!("resumed_run_activity", s.sync_kinds().await);
}

#[tokio::test]
async fn an_incremental_run_resumes_with_its_own_since() {
    let s = setup().await;
    let crm = crm();
    let companies = request(&[DataType::Companies]);
    s.run(&crm, &companies).await.unwrap();
    crm.put_all((1..=5).map(|i| company(&format!("c{i}"), 40 + i)));
    crm.put(Record::Company(Company {
        external_id: "c1".into(),
        name: "Changed".into(),
        updated_at: Some(ts(41)),
        ..Company::default()
    }));
    crm.fail_once_at(DataType::Companies, 2, Failure::Unavailable);
    s.run(&crm, &companies).await.unwrap_err();
    // The resumed run asks with the interrupted run's `since`, not a
    // cursor moved by the pages it committed.
    let report = s.run(&crm, &companies).await.unwrap();
    let requests = crm.requests();
    assert_eq!(requests[1].since, Some(ts(5)));
    assert_eq!(requests[2].since, Some(ts(5)));
    assert_eq!(requests[2].resume_from.as_deref(), Some("2"));
    // Every company has a new modification time: all five were updated,
    // four by the interrupted run and one by the resumed run.
    assert_eq!(report.counts(DataType::Companies), Some(counts(0, 5, 0, 0)));
    let state = s
        .env
        .store
        .sync_state(&s.conn.id, DataType::Companies)
        .await
        .unwrap();
    assert_eq!(state.cursor, Some(ts(45)));
}

#[tokio::test]
async fn a_run_interrupted_after_its_last_page_does_not_fetch_again() {
    let s = setup().await;
    let crm = crm();
    let store = &s.env.store;
    let id = &s.conn.id;
    // A process died after committing the last page, before finishing the
    // run: the checkpoint has no next page.
    let dead = dead_run();
    store
        .begin_run(id, DataType::Companies, &dead)
        .await
        .unwrap();
    let records: Vec<Record> = (1..=5).map(|i| company(&format!("c{i}"), i)).collect();
    store
        .commit_page(
            id,
            DataType::Companies,
            records,
            &Checkpoint {
                since: None,
                page_token: None,
                high_water: Some(ts(5)),
                counts: SyncCounts::default(),
                pages: 3,
            },
            &dead,
        )
        .await
        .unwrap();
    s.engine
        .force_reset(&Access::full(), id, DataType::Companies)
        .await
        .unwrap();

    let report = s.run(&crm, &request(&[DataType::Companies])).await.unwrap();
    assert!(crm.served().is_empty(), "re-fetched: {:?}", crm.served());
    assert_eq!(report.counts(DataType::Companies), Some(counts(5, 0, 0, 0)));
    let state = store.sync_state(id, DataType::Companies).await.unwrap();
    assert_eq!(state.cursor, Some(ts(5)));
    assert_eq!(state.checkpoint, None);
}

#[tokio::test]
async fn refuses_to_start_while_running_until_force_reset() {
    let s = setup().await;
    let crm = crm();
    let store = &s.env.store;
    let id = &s.conn.id;
    // A run that died after its first page, still marked running.
    let dead = dead_run();
    store
        .begin_run(id, DataType::Companies, &dead)
        .await
        .unwrap();
    store
        .commit_page(
            id,
            DataType::Companies,
            vec![company("c1", 1), company("c2", 2)],
            &Checkpoint {
                since: None,
                page_token: Some("1".into()),
                high_water: Some(ts(2)),
                counts: SyncCounts::default(),
                pages: 1,
            },
            &dead,
        )
        .await
        .unwrap();

    let companies = request(&[DataType::Companies]);
    let err = s.run(&crm, &companies).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Store(StoreError::AlreadyRunning {
                connection,
                data_type: DataType::Companies
            }) if connection == id
        ),
        "{err:?}"
    );
    assert!(crm.requests().is_empty());

    let view = Access::with(Permission::View, Entitlements::of([FeatureCategory::Crm]));
    assert!(matches!(
        s.engine.force_reset(&view, id, DataType::Companies).await,
        Err(SyncError::Access(AccessError::MissingPermission {
            required: Permission::Manage
        }))
    ));
    s.engine
        .force_reset(&Access::full(), id, DataType::Companies)
        .await
        .unwrap();
    let state = store.sync_state(id, DataType::Companies).await.unwrap();
    assert_eq!(state.status, RunStatus::Idle);
    assert_eq!(
        state.checkpoint.as_ref().map(|c| c.page_token.clone()),
        Some(Some("1".to_string()))
    );

    let report = s.run(&crm, &companies).await.unwrap();
    assert_eq!(crm.requests()[0].resume_from.as_deref(), Some("1"));
    assert_eq!(
        crm.served(),
        [(DataType::Companies, 1), (DataType::Companies, 2)]
    );
    assert_eq!(report.counts(DataType::Companies), Some(counts(5, 0, 0, 0)));
    assert_eq!(s.ids(DataType::Companies), ["c1", "c2", "c3", "c4", "c5"]);
    assert_eq!(
        s.sync_kinds().await,
        [
            ActivityKind::SyncReset {
                data_type: DataType::Companies
            },
            ActivityKind::SyncStarted {
                data_type: DataType::Companies,
                resumed: true
            },
            ActivityKind::SyncCompleted {
                data_type: DataType::Companies,
                counts: counts(5, 0, 0, 0)
            },
        ]
    );
}

#[tokio::test]
async fn a_type_marked_running_refuses_the_whole_request_before_any_type_syncs() {
    let s = setup().await;
    let crm = crm();
    let id = &s.conn.id;
    s.env
        .store
        .begin_run(id, DataType::Contacts, &dead_run())
        .await
        .unwrap();
    let err = s
        .run(&crm, &request(&[DataType::Companies, DataType::Contacts]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Store(StoreError::AlreadyRunning {
                data_type: DataType::Contacts,
                ..
            })
        ),
        "{err:?}"
    );
    // Companies come first in the order, yet nothing was fetched or logged.
    assert!(crm.requests().is_empty());
    assert!(s.ids(DataType::Companies).is_empty());
    assert!(s.sync_kinds().await.is_empty());
}

#[tokio::test]
async fn an_auth_failure_moves_the_connection_to_error_once() {
    let s = setup().await;
    let crm = crm();
    let mut events = s.env.connections.subscribe();
    crm.fail_once_at(DataType::Companies, 1, Failure::Auth);
    let err = s.run(&crm, &request(&[])).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Connector {
                source: ConnectorError::Authentication { .. },
                ..
            }
        ),
        "{err:?}"
    );
    let ConnectionStatus::ConnectionError { reason, .. } = s.status().await else {
        panic!("not in error");
    };
    assert!(reason.contains("the API key was revoked"), "{reason}");
    assert!(matches!(
        events.try_recv().unwrap(),
        ConnectionEvent::EnteredError { connection_id, reason: r, .. }
            if connection_id == s.conn.id && r == reason
    ));
    assert!(matches!(events.try_recv(), Err(TryRecvError::Empty)));

    // Failing again while in error does not announce it again.
    crm.fail_once_at(DataType::Companies, 1, Failure::Auth);
    s.run(&crm, &request(&[])).await.unwrap_err();
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(event, ConnectionEvent::EnteredError { .. }),
            "{event:?}"
        );
    }

    // A good run brings it back.
    s.run(&crm, &request(&[])).await.unwrap();
    assert_eq!(s.status().await, ConnectionStatus::Connected);
    assert_eq!(
        events.try_recv().unwrap(),
        ConnectionEvent::StatusChanged {
            connection_id: s.conn.id.clone(),
            from: "Connection Error".into(),
            to: "Connected".into(),
        }
    );
    assert_eq!(s.ids(DataType::Companies).len(), 5);

    // HTTP 401 counts as an authentication failure too.
    let s2 = setup().await;
    let unauthorized = FakeCrm::new(2);
    unauthorized.put(company("c1", 1));
    unauthorized.fail_once_at(DataType::Companies, 0, Failure::Unauthorized);
    s2.run(&unauthorized, &request(&[])).await.unwrap_err();
    assert!(matches!(
        s2.status().await,
        ConnectionStatus::ConnectionError { .. }
    ));

    let kinds: Vec<ActivityKind> = s
        .sync_kinds()
        .await
        .into_iter()
        .filter(|k| !matches!(k, ActivityKind::RecordSkipped { .. }))
        .collect();
    insta::assert_yaml_snapshot!("auth_failure_activity", kinds);
}

#[tokio::test]
async fn refuses_types_it_cannot_sync_before_syncing_anything() {
    let s = setup().await;
    let crm = crm();
    let err = s
        .run(
            &crm,
            &request(&[DataType::Companies, DataType::CatalogItems]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::UnsupportedDataType(DataType::CatalogItems)),
        "{err:?}"
    );
    assert!(crm.requests().is_empty(), "synced before refusing");

    // A PSA-only connection cannot sync CRM data.
    let psa = s
        .env
        .connected(Provider::ConnectWiseManage, &[FeatureCategory::Psa])
        .await;
    let err = s
        .engine
        .run(
            &Access::full(),
            &psa.id,
            &crm,
            &request(&[DataType::Companies]),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::CategoryNotEnabled {
                category: FeatureCategory::Crm,
                data_type: DataType::Companies,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(crm.requests().is_empty());
}

fn event(
    data_type: DataType,
    id: &str,
    action: WebhookAction,
    record: Option<Record>,
) -> WebhookEvent {
    WebhookEvent {
        data_type,
        external_id: id.into(),
        action,
        record,
        event_id: None,
    }
}

#[tokio::test]
async fn webhooks_go_through_the_same_upsert_path() {
    let s = setup().await;
    let crm = crm();
    s.run(&crm, &request(&[DataType::Companies, DataType::Contacts]))
        .await
        .unwrap();
    let before = s.env.kinds(&s.conn.id).await.len();

    // The provider now has a new title for p1; the webhook only carries its id.
    crm.put(Record::Contact(Contact {
        external_id: "p1".into(),
        company_external_id: Some("c1".into()),
        title: Some("CTO".into()),
        updated_at: Some(ts(50)),
        ..Contact::default()
    }));
    let renamed_c1 = Record::Company(Company {
        external_id: "c1".into(),
        name: "Renamed".into(),
        updated_at: Some(ts(51)),
        ..Company::default()
    });
    use DataType::{Companies, Contacts};
    use WebhookAction::{Added, Deleted, Updated};
    // The provider deleted c3 (a deletion is checked with it first) and
    // has c7 (a record new to the store is confirmed with it first).
    assert!(crm.remove(Companies, "c3"));
    crm.put(company("c7", 52));
    let events = vec![
        event(Companies, "c7", Added, Some(company("c7", 52))),
        event(Companies, "c1", Updated, Some(renamed_c1.clone())),
        event(Companies, "c2", Updated, Some(company("c2", 2))),
        event(Companies, "c3", Deleted, None),
        event(Companies, "c404", Deleted, None),
        event(Contacts, "p1", Updated, None),
        event(Contacts, "p9", Added, Some(contact("p9", Some("c9"), 53))),
        event(Contacts, "p10", Added, None),
    ];
    let counts = s
        .engine
        .apply_webhook(&s.conn.id, &crm, events)
        .await
        .unwrap();
    assert_eq!(
        counts,
        SyncCounts {
            created: 1,
            updated: 2,
            unchanged: 1,
            skipped: 2,
            deleted: 1,
        }
    );
    assert_eq!(
        crm.fetches(),
        [
            (Companies, "c7".to_string()),
            (Companies, "c3".to_string()),
            (Companies, "c404".to_string()),
            (Contacts, "p1".to_string()),
            (Contacts, "p10".to_string())
        ]
    );
    assert_eq!(s.ids(Companies), ["c1", "c2", "c4", "c5", "c7"]);
    assert_eq!(
        s.env
            .store
            .record(&s.conn.id, Companies, "c1")
            .await
            .unwrap(),
        Some(renamed_c1)
    );
    assert!(matches!(
        s.env.store.record(&s.conn.id, Contacts, "p1").await.unwrap(),
        Some(Record::Contact(c)) if c.title.as_deref() == Some("CTO")
    ));
    assert!(!s
        .env
        .store
        .contains_record(&s.conn.id, Contacts, "p9")
        .await
        .unwrap());

    let kinds = s.env.kinds(&s.conn.id).await.split_off(before);
    insta::assert_yaml_snapshot!("webhook_apply", (counts, kinds));

    // Nothing is applied to a disabled connection.
    s.env
        .connections
        .disable(&Access::full(), &s.conn.id)
        .await
        .unwrap();
    let err = s
        .engine
        .apply_webhook(
            &s.conn.id,
            &crm,
            vec![event(Companies, "c8", Added, Some(company("c8", 60)))],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Disabled(_)), "{err:?}");
    assert!(!s
        .env
        .store
        .contains_record(&s.conn.id, Companies, "c8")
        .await
        .unwrap());
}

/// The lease of a run that died just now: still live for ten minutes.
fn dead_run() -> RunLease {
    RunLease::new(chrono::Utc::now(), chrono::Duration::minutes(10))
}
