//! Replayed webhooks (issue 10.3): a validly signed callback captured and
//! sent again must not roll a record back, must not delete a record the
//! provider still has, and the same message is applied once.
//!
//! The callbacks come from the ConnectWise simulator, signed with its key,
//! received by the real connector (signature checked) and applied by the
//! real engine.

mod fault_support;

use fault_support::*;
use scopelink_core::activity::ActivityKind;
use scopelink_core::connector::WebhookReceiver;
use scopelink_core::model::Record;
use scopelink_core::store::MemoryStore;
use scopelink_core::webhook::{WebhookEvent, WebhookRequest};
use scopelink_core::{DataType, Store, SyncEngine};
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use std::sync::Arc;
use std::time::Duration;

const REPLAYS: usize = 20;

fn as_request((headers, body): (Vec<(String, String)>, Vec<u8>)) -> WebhookRequest {
    WebhookRequest {
        headers,
        body,
        url: None,
    }
}

struct World {
    sim: ConnectWiseSim,
    host: Host,
    cw: scopelink_connectwise::ConnectWiseConnector,
}

/// A simulator with 3 companies, synced into a memory store.
async fn world() -> World {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(3, 0)).await;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let host = Host::connectwise(store, &sim).await;
    let cw = cw_connector(&sim, sim.server_url(), 100, http(Duration::from_secs(10)));
    host.engine
        .run(
            &host.access,
            &host.conn,
            &cw,
            &scopelink_core::SyncRequest::all().data_types(vec![DataType::Companies]),
            None,
        )
        .await
        .expect("initial sync");
    World { sim, host, cw }
}

impl World {
    async fn receive(&self, request: &WebhookRequest) -> Vec<WebhookEvent> {
        self.cw
            .receive(request)
            .await
            .expect("a validly signed callback")
    }

    async fn company_name(&self, id: u64) -> Option<String> {
        match self
            .host
            .store
            .record(&self.host.conn, DataType::Companies, &id.to_string())
            .await
            .unwrap()
        {
            Some(Record::Company(c)) => Some(c.name),
            Some(other) => panic!("not a company: {other:?}"),
            None => None,
        }
    }

    async fn skip_reasons(&self) -> Vec<String> {
        self.host
            .store
            .entries(Some(&self.host.conn), 10_000)
            .await
            .unwrap()
            .into_iter()
            .rev()
            .filter_map(|e| match e.kind {
                ActivityKind::RecordSkipped { reason, .. } => Some(reason),
                _ => None,
            })
            .collect()
    }
}

/// An "updated" callback captured before a newer change, replayed after it
/// (out of order, or by an attacker who recorded it) on a fresh engine that
/// has no memory of it: the stored record keeps the newer name, every
/// replay is refused by the record's provider timestamp.
#[tokio::test]
async fn webhook_replay_of_an_older_update_does_not_roll_back() {
    let w = world().await;
    let old = as_request(w.sim.callback_request("updated", "company", 251));
    let old_name = w.company_name(251).await.expect("synced");

    assert!(w.sim.touch_company(251, "Renamed After Capture"));
    let fresh = as_request(w.sim.callback_request("updated", "company", 251));
    let events = w.receive(&fresh).await;
    let counts = w
        .host
        .engine
        .apply_webhook(&w.host.conn, &w.cw, events)
        .await
        .unwrap();
    assert_eq!(counts.updated, 1);
    assert_eq!(
        w.company_name(251).await.as_deref(),
        Some("Renamed After Capture")
    );

    let mut refused = 0;
    for _ in 0..REPLAYS {
        // A new engine each time: the process restarted, nothing is
        // remembered but the store.
        let engine = SyncEngine::new(w.host.connections.clone());
        let events = w.receive(&old).await;
        let counts = engine
            .apply_webhook(&w.host.conn, &w.cw, events)
            .await
            .unwrap();
        assert_eq!((counts.updated, counts.created), (0, 0), "{counts:?}");
        refused += counts.skipped;
    }
    assert_eq!(refused, REPLAYS as u64, "every replay refused");
    assert_eq!(
        w.company_name(251).await.as_deref(),
        Some("Renamed After Capture"),
        "not rolled back to {old_name:?}"
    );
    let reasons = w.skip_reasons().await;
    assert_eq!(reasons.len(), REPLAYS);
    assert!(reasons[0].contains("older than the stored"), "{reasons:?}");
}

/// A "deleted" callback for a record the provider still has (a replay of
/// an old delete, or one for the wrong record) is checked with the
/// provider first: the record stays. A real deletion still deletes.
#[tokio::test]
async fn webhook_replay_of_a_delete_keeps_a_record_the_provider_has() {
    let w = world().await;
    let delete = as_request(w.sim.callback_request("deleted", "company", 252));
    for _ in 0..REPLAYS {
        let engine = SyncEngine::new(w.host.connections.clone());
        let events = w.receive(&delete).await;
        let counts = engine
            .apply_webhook(&w.host.conn, &w.cw, events)
            .await
            .unwrap();
        assert_eq!((counts.deleted, counts.skipped), (0, 1), "{counts:?}");
    }
    assert!(w.company_name(252).await.is_some(), "the record is kept");
    let reasons = w.skip_reasons().await;
    assert_eq!(reasons.len(), REPLAYS);
    assert!(reasons[0].contains("still has"), "{reasons:?}");

    // The provider deletes it: the next callback deletes it here too.
    assert!(w.sim.delete_company(252));
    let real = as_request(w.sim.callback_request("deleted", "company", 252));
    let events = w.receive(&real).await;
    let counts = w
        .host
        .engine
        .apply_webhook(&w.host.conn, &w.cw, events)
        .await
        .unwrap();
    assert_eq!(counts.deleted, 1);
    assert_eq!(w.company_name(252).await, None);
}

/// The same message (same `MessageId`) delivered again to the same engine
/// is applied once: ConnectWise redelivers on 404/409/419/429, and a
/// replay is the same bytes.
#[tokio::test]
async fn webhook_replay_of_the_same_message_is_applied_once() {
    let w = world().await;
    assert!(w.sim.touch_company(250, "Applied Once"));
    let message = as_request(w.sim.callback_request("updated", "company", 250));
    let events = w.receive(&message).await;
    assert!(events[0].event_id.is_some(), "MessageId is the event id");
    let first = w
        .host
        .engine
        .apply_webhook(&w.host.conn, &w.cw, events)
        .await
        .unwrap();
    assert_eq!(first.updated, 1);

    let requests_before = w.sim.request_count();
    let mut refused = 0;
    for _ in 0..REPLAYS {
        let events = w.receive(&message).await;
        let counts = w
            .host
            .engine
            .apply_webhook(&w.host.conn, &w.cw, events)
            .await
            .unwrap();
        assert_eq!(
            (counts.created, counts.updated, counts.unchanged),
            (0, 0, 0)
        );
        refused += counts.skipped;
    }
    assert_eq!(refused, REPLAYS as u64);
    // The signing key is cached and a known message needs no fetch.
    assert_eq!(w.sim.request_count(), requests_before);
    let reasons = w.skip_reasons().await;
    assert!(
        reasons.iter().all(|r| r.contains("already applied")),
        "{reasons:?}"
    );
    assert_eq!(w.company_name(250).await.as_deref(), Some("Applied Once"));
}

/// An "added" callback captured while a record existed, replayed after the
/// provider deleted it (and the deletion reached the store): the record
/// does not come back, since a record new to the store is confirmed with
/// the provider first.
#[tokio::test]
async fn webhook_replay_of_an_add_does_not_bring_back_a_deleted_record() {
    let w = world().await;
    let added = as_request(w.sim.callback_request("added", "company", 251));
    assert!(w.sim.delete_company(251));
    let deleted = as_request(w.sim.callback_request("deleted", "company", 251));
    let events = w.receive(&deleted).await;
    let counts = w
        .host
        .engine
        .apply_webhook(&w.host.conn, &w.cw, events)
        .await
        .unwrap();
    assert_eq!(counts.deleted, 1);

    let mut refused = 0;
    for _ in 0..REPLAYS {
        let engine = SyncEngine::new(w.host.connections.clone());
        let events = w.receive(&added).await;
        assert!(
            events[0].record.is_some(),
            "the payload carries the old copy"
        );
        let counts = engine
            .apply_webhook(&w.host.conn, &w.cw, events)
            .await
            .unwrap();
        assert_eq!(counts.created, 0, "{counts:?}");
        refused += counts.skipped;
    }
    assert_eq!(refused, REPLAYS as u64);
    assert_eq!(w.company_name(251).await, None, "not brought back");
    let reasons = w.skip_reasons().await;
    assert!(
        reasons.iter().all(|r| r.contains("no longer has it")),
        "{reasons:?}"
    );
}
