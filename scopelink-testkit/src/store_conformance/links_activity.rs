//! Project links and the activity log.

use super::fixtures::*;
use scopelink_core::activity::{ActivityEntry, ActivityKind};
use scopelink_core::mapping::{ItemRef, ProjectLinks};
use scopelink_core::sync::SyncCounts;
use scopelink_core::{DataType, Store};
use std::collections::BTreeMap;

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
