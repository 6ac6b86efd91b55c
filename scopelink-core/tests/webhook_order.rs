//! Webhook events applied by the record's provider timestamp, deletions
//! checked with the provider, and event ids applied once.

mod common;

use common::*;
use scopelink_core::activity::ActivityKind;
use scopelink_core::model::{Company, DataType, Record};
use scopelink_core::store::RecordStore;
use scopelink_core::sync::SyncCounts;
use scopelink_core::webhook::{WebhookAction, WebhookEvent};
use scopelink_core::{
    Access, Connection, ConnectorError, FeatureCategory, Provider, SyncEngine, SyncRequest,
};

use DataType::Companies;
use WebhookAction::{Deleted, Updated};

fn named(id: &str, name: &str, minute: Option<i64>) -> Record {
    Record::Company(Company {
        external_id: id.into(),
        name: name.into(),
        updated_at: minute.map(ts),
        ..Company::default()
    })
}

fn event(action: WebhookAction, record: Option<Record>, event_id: Option<&str>) -> WebhookEvent {
    WebhookEvent {
        data_type: Companies,
        external_id: "c1".into(),
        action,
        record,
        event_id: event_id.map(Into::into),
    }
}

struct World {
    env: Env,
    engine: SyncEngine,
    conn: Connection,
    crm: FakeCrm,
}

/// c1 "Now" changed at minute 10, synced.
async fn world() -> World {
    let env = Env::new();
    let conn = env
        .connected(Provider::HubSpot, &[FeatureCategory::Crm])
        .await;
    let engine = SyncEngine::new(env.connections.clone());
    let crm = FakeCrm::new(10);
    crm.put(named("c1", "Now", Some(10)));
    engine
        .run(
            &Access::full(),
            &conn.id,
            &crm,
            &SyncRequest::all().data_types(vec![Companies]),
            None,
        )
        .await
        .unwrap();
    World {
        env,
        engine,
        conn,
        crm,
    }
}

impl World {
    async fn apply(&self, events: Vec<WebhookEvent>) -> SyncCounts {
        self.engine
            .apply_webhook(&self.conn.id, &self.crm, events)
            .await
            .unwrap()
    }

    async fn stored(&self) -> Option<Record> {
        self.env
            .store
            .record(&self.conn.id, Companies, "c1")
            .await
            .unwrap()
    }

    async fn last_skip(&self) -> String {
        self.env
            .kinds(&self.conn.id)
            .await
            .into_iter()
            .rev()
            .find_map(|k| match k {
                ActivityKind::RecordSkipped { reason, .. } => Some(reason),
                _ => None,
            })
            .unwrap_or_default()
    }
}

fn skipped(n: u64) -> SyncCounts {
    SyncCounts {
        skipped: n,
        ..SyncCounts::default()
    }
}

#[tokio::test]
async fn an_older_copy_never_replaces_a_newer_one() {
    let w = world().await;
    let counts = w
        .apply(vec![event(
            Updated,
            Some(named("c1", "Before", Some(9))),
            None,
        )])
        .await;
    assert_eq!(counts, skipped(1));
    assert_eq!(w.stored().await, Some(named("c1", "Now", Some(10))));
    assert!(w.last_skip().await.contains("older than the stored"));
    assert!(w.crm.fetches().is_empty(), "no need to ask the provider");

    // A newer copy applies.
    let counts = w
        .apply(vec![event(
            Updated,
            Some(named("c1", "Later", Some(11))),
            None,
        )])
        .await;
    assert_eq!(counts.updated, 1);
    assert_eq!(w.stored().await, Some(named("c1", "Later", Some(11))));
}

#[tokio::test]
async fn a_copy_that_cannot_be_ordered_is_replaced_by_the_providers() {
    let w = world().await;
    w.crm.put(named("c1", "Provider's", Some(12)));
    // No change time: the provider's current copy is applied.
    let counts = w
        .apply(vec![event(
            Updated,
            Some(named("c1", "Undated", None)),
            None,
        )])
        .await;
    assert_eq!(counts.updated, 1);
    assert_eq!(w.stored().await, Some(named("c1", "Provider's", Some(12))));
    // The stored time with other contents: asked again.
    let counts = w
        .apply(vec![event(
            Updated,
            Some(named("c1", "Same time", Some(12))),
            None,
        )])
        .await;
    assert_eq!(counts.unchanged, 1);
    assert_eq!(w.stored().await, Some(named("c1", "Provider's", Some(12))));
    assert_eq!(
        w.crm.fetches(),
        [(Companies, "c1".into()), (Companies, "c1".into())]
    );
    // The same copy again is simply unchanged, without a request.
    let counts = w
        .apply(vec![event(
            Updated,
            Some(named("c1", "Provider's", Some(12))),
            None,
        )])
        .await;
    assert_eq!(counts.unchanged, 1);
    assert_eq!(w.crm.fetches().len(), 2);
}

#[tokio::test]
async fn a_record_new_to_the_store_is_confirmed_with_the_provider() {
    let w = world().await;
    let c2 = |name: &str, minute| WebhookEvent {
        external_id: "c2".into(),
        ..event(
            WebhookAction::Added,
            Some(named("c2", name, Some(minute))),
            None,
        )
    };
    // The provider no longer has c2: a replayed "added" stores nothing.
    assert_eq!(w.apply(vec![c2("Replayed", 5)]).await, skipped(1));
    assert!(w.last_skip().await.contains("no longer has it"));
    // It has it: its current copy is stored.
    w.crm.put(named("c2", "Current", Some(20)));
    assert_eq!(w.apply(vec![c2("Payload", 19)]).await.created, 1);
    assert_eq!(
        w.env
            .store
            .record(&w.conn.id, Companies, "c2")
            .await
            .unwrap(),
        Some(named("c2", "Current", Some(20)))
    );
    assert_eq!(
        w.crm.fetches(),
        [(Companies, "c2".into()), (Companies, "c2".into())]
    );
}

#[tokio::test]
async fn a_deletion_is_checked_with_the_provider() {
    let w = world().await;
    assert_eq!(w.apply(vec![event(Deleted, None, None)]).await, skipped(1));
    assert!(w.stored().await.is_some());
    assert!(w.last_skip().await.contains("still has the record"));

    assert!(w.crm.remove(Companies, "c1"));
    let counts = w.apply(vec![event(Deleted, None, None)]).await;
    assert_eq!(counts.deleted, 1);
    assert_eq!(w.stored().await, None);
}

#[tokio::test]
async fn an_event_id_is_applied_once_and_released_on_failure() {
    let w = world().await;
    let newer = || event(Updated, Some(named("c1", "Later", Some(11))), Some("m-1"));
    assert_eq!(w.apply(vec![newer()]).await.updated, 1);
    assert_eq!(w.apply(vec![newer(), newer()]).await, skipped(2));
    assert!(w.last_skip().await.contains("already applied"));

    // An event that fails (the provider cannot be asked) is not remembered.
    let failing = event(Deleted, None, Some("m-2"));
    struct Down;
    #[scopelink_core::async_trait]
    impl scopelink_core::connector::CrmSource for Down {
        fn data_types(&self) -> std::collections::BTreeSet<DataType> {
            [Companies].into()
        }
        async fn filter_options(
            &self,
        ) -> Result<scopelink_core::filter::FilterOptions, ConnectorError> {
            unimplemented!("not asked")
        }
        async fn preview(
            &self,
            _: &scopelink_core::filter::SyncFilter,
        ) -> Result<scopelink_core::filter::Preview, ConnectorError> {
            unimplemented!("not asked")
        }
        fn stream(
            &self,
            _: scopelink_core::connector::StreamRequest,
        ) -> scopelink_core::connector::PageStream<'_> {
            unimplemented!("not asked")
        }
        async fn fetch(&self, _: DataType, _: &str) -> Result<Option<Record>, ConnectorError> {
            Err(ConnectorError::Rejected {
                message: "down".into(),
            })
        }
    }
    assert!(w
        .engine
        .apply_webhook(&w.conn.id, &Down, vec![failing.clone()])
        .await
        .is_err());
    assert!(w.stored().await.is_some());
    assert!(w.crm.remove(Companies, "c1"));
    assert_eq!(
        w.apply(vec![failing]).await.deleted,
        1,
        "redelivery applied"
    );
}
