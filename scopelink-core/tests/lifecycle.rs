//! The connection lifecycle through `Connections`: transitions, vault
//! housekeeping, activity entries, events and access checks.

mod common;

use common::*;
use scopelink_core::access::{Access, Entitlements, Permission};
use scopelink_core::activity::ActivityKind;
use scopelink_core::model::DataType;
use scopelink_core::secret::Credentials;
use scopelink_core::store::{RecordStore, SyncStateStore};
use scopelink_core::sync::SyncState;
use scopelink_core::{
    AccessError, ConnectionEvent, ConnectionStatus, Error, FeatureCategory, Provider, StoreError,
    SyncEngine, SyncError, SyncRequest, TransitionError,
};
use tokio::sync::broadcast::error::TryRecvError;

const CRM: &[FeatureCategory] = &[FeatureCategory::Crm];

fn status_changed(from: &str, to: &str, reason: Option<&str>) -> ActivityKind {
    ActivityKind::StatusChanged {
        from: from.into(),
        to: to.into(),
        reason: reason.map(Into::into),
    }
}

fn assert_illegal(err: Error, action: &str, from: &str) {
    match err {
        Error::Transition(TransitionError::Illegal { action: a, from: f }) => {
            assert_eq!((a, f.as_str()), (action, from));
        }
        other => panic!("expected an illegal {action} from {from}, got {other:?}"),
    }
}

fn assert_needs_manage(result: Result<impl std::fmt::Debug, Error>) {
    match result {
        Err(Error::Access(AccessError::MissingPermission { required })) => {
            assert_eq!(required, Permission::Manage);
        }
        other => panic!("expected MissingPermission {{ Manage }}, got {other:?}"),
    }
}

#[tokio::test]
async fn create_stores_credentials_in_the_vault_and_test_connects() {
    let env = Env::new();
    let access = Access::full();
    let c = env
        .connections
        .create(&access, new_connection(Provider::HubSpot, CRM))
        .await
        .unwrap();
    assert_eq!(c.status, ConnectionStatus::Untested);
    assert_eq!(c.name, "Acme CRM");
    assert_eq!(env.vault.keys(), vec![c.credential_ref.0.clone()]);
    assert!(matches!(
        env.connections.credentials(&Access::full(), &c.id).await.unwrap(),
        Credentials::ApiKeyPair(k) if k.public_key == "pub-key-1"
    ));

    let connector = FakeConnector::ok();
    let c = env
        .connections
        .test(&access, &c.id, &connector)
        .await
        .unwrap();
    assert_eq!(c.status, ConnectionStatus::Connected);
    assert_eq!(connector.calls(), 1);
    assert_eq!(
        env.connections.get(&access, &c.id).await.unwrap().status,
        ConnectionStatus::Connected
    );
    assert_eq!(
        env.kinds(&c.id).await,
        vec![
            ActivityKind::Created,
            status_changed("Untested", "Connected", None)
        ]
    );
}

#[tokio::test]
async fn failed_test_enters_connection_error_once_with_the_reason() {
    let env = Env::new();
    let access = Access::full();
    let mut events = env.connections.subscribe();
    let c = env
        .connections
        .create(&access, new_connection(Provider::HubSpot, CRM))
        .await
        .unwrap();

    let connector = FakeConnector::failing("the API key was revoked");
    let failed = env
        .connections
        .test(&access, &c.id, &connector)
        .await
        .unwrap();
    let ConnectionStatus::ConnectionError { reason, since } = failed.status.clone() else {
        panic!("expected Connection Error, got {:?}", failed.status);
    };
    assert!(reason.contains("the API key was revoked"), "{reason}");
    assert_eq!(
        events.try_recv().unwrap(),
        ConnectionEvent::EnteredError {
            connection_id: c.id.clone(),
            name: "Acme CRM".into(),
            provider: Provider::HubSpot,
            reason: reason.clone(),
        }
    );
    assert!(matches!(events.try_recv(), Err(TryRecvError::Empty)));

    // Failing again while in error (a test, then a sync-reported failure)
    // keeps `since` and does not announce the error again.
    connector.fail_with("still revoked");
    let again = env
        .connections
        .test(&access, &c.id, &connector)
        .await
        .unwrap();
    assert!(matches!(
        &again.status,
        ConnectionStatus::ConnectionError { reason, since: s } if reason.contains("still revoked") && *s == since
    ));
    env.connections
        .mark_error(&Access::full(), &c.id, "sync saw 401")
        .await
        .unwrap();
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(event, ConnectionEvent::EnteredError { .. }),
            "entered error twice: {event:?}"
        );
    }

    // Recovering and failing again is a new entry into error.
    connector.succeed();
    let ok = env
        .connections
        .test(&access, &c.id, &connector)
        .await
        .unwrap();
    assert_eq!(ok.status, ConnectionStatus::Connected);
    assert_eq!(
        events.try_recv().unwrap(),
        ConnectionEvent::StatusChanged {
            connection_id: c.id.clone(),
            from: "Connection Error".into(),
            to: "Connected".into(),
        }
    );
    env.connections
        .mark_error(&Access::full(), &c.id, "sync saw 401")
        .await
        .unwrap();
    assert!(matches!(
        events.try_recv().unwrap(),
        ConnectionEvent::EnteredError { reason, .. } if reason == "sync saw 401"
    ));
    assert!(matches!(events.try_recv(), Err(TryRecvError::Empty)));

    let kinds = env.kinds(&c.id).await;
    assert_eq!(kinds[0], ActivityKind::Created);
    assert_eq!(
        kinds[1],
        status_changed("Untested", "Connection Error", Some(&reason))
    );
    assert_eq!(
        kinds.last().unwrap(),
        &status_changed("Connected", "Connection Error", Some("sync saw 401"))
    );
}

#[tokio::test]
async fn disable_stops_syncs_and_enable_retests() {
    let env = Env::new();
    let access = Access::full();
    let c = env.connected(Provider::HubSpot, CRM).await;

    let disabled = env.connections.disable(&access, &c.id).await.unwrap();
    assert_eq!(disabled.status, ConnectionStatus::Disabled);
    assert!(!disabled.is_enabled());

    let engine = SyncEngine::new(env.connections.clone());
    let crm = FakeCrm::new(10);
    crm.put(company("c1", 1));
    let err = engine
        .run(&access, &c.id, &crm, &SyncRequest::default(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Disabled(ref id) if id == &c.id),
        "{err:?}"
    );
    assert!(crm.requests().is_empty(), "a disabled connection streamed");

    // Illegal while disabled: disabling again, reconnecting, testing.
    assert_illegal(
        env.connections.disable(&access, &c.id).await.unwrap_err(),
        "disable",
        "Disabled",
    );
    let connector = FakeConnector::ok();
    let keys = env.vault.keys();
    assert_illegal(
        env.connections
            .reconnect(&access, &c.id, other_credentials(), &connector)
            .await
            .unwrap_err(),
        "reconnect",
        "Disabled",
    );
    assert_eq!(
        env.vault.keys(),
        keys,
        "a refused reconnect touched the vault"
    );
    assert_illegal(
        env.connections
            .test(&access, &c.id, &connector)
            .await
            .unwrap_err(),
        "test",
        "Disabled",
    );
    assert_eq!(connector.calls(), 0, "a disabled connection was tested");

    // Enable re-tests the connection.
    let enabled = env
        .connections
        .enable(&access, &c.id, &connector)
        .await
        .unwrap();
    assert_eq!(enabled.status, ConnectionStatus::Connected);
    assert_eq!(connector.calls(), 1);
    assert_illegal(
        env.connections
            .enable(&access, &c.id, &connector)
            .await
            .unwrap_err(),
        "enable",
        "Connected",
    );

    // Enabling with credentials that no longer work lands in error.
    env.connections.disable(&access, &c.id).await.unwrap();
    let bad = FakeConnector::failing("expired");
    let c2 = env.connections.enable(&access, &c.id, &bad).await.unwrap();
    assert!(matches!(
        c2.status,
        ConnectionStatus::ConnectionError { .. }
    ));

    assert_eq!(
        env.kinds(&c.id).await,
        vec![
            ActivityKind::Created,
            status_changed("Untested", "Connected", None),
            status_changed("Connected", "Disabled", None),
            status_changed("Disabled", "Untested", None),
            status_changed("Untested", "Connected", None),
            status_changed("Connected", "Disabled", None),
            status_changed("Disabled", "Untested", None),
            status_changed(
                "Untested",
                "Connection Error",
                Some("authentication failed: expired")
            ),
        ]
    );
}

#[tokio::test]
async fn reconnect_replaces_the_vault_entry_and_retests() {
    let env = Env::new();
    let access = Access::full();
    let mut c = env.connected(Provider::HubSpot, CRM).await;
    env.connections
        .mark_error(&Access::full(), &c.id, "401")
        .await
        .unwrap();
    let old_key = c.credential_ref.0.clone();
    assert_eq!(env.vault.keys(), vec![old_key.clone()]);

    let connector = FakeConnector::ok();
    c = env
        .connections
        .reconnect(&access, &c.id, other_credentials(), &connector)
        .await
        .unwrap();
    assert_eq!(c.status, ConnectionStatus::Connected);
    assert_eq!(connector.calls(), 1);
    assert_ne!(c.credential_ref.0, old_key);
    assert_eq!(env.vault.keys(), vec![c.credential_ref.0.clone()]);
    assert!(!env.vault.keys().contains(&old_key));
    assert!(matches!(
        env.connections.credentials(&Access::full(), &c.id).await.unwrap(),
        Credentials::ApiKeyPair(k) if k.public_key == "pub-key-2"
    ));

    let kinds = env.kinds(&c.id).await;
    assert_eq!(
        kinds[2..].to_vec(),
        vec![
            status_changed("Connected", "Connection Error", Some("401")),
            ActivityKind::Reconnected,
            status_changed("Connection Error", "Untested", None),
            status_changed("Untested", "Connected", None),
        ]
    );
}

#[tokio::test]
async fn delete_removes_connection_vault_entry_and_sync_state() {
    for purge in [false, true] {
        let env = Env::new();
        let access = Access::full();
        let c = env.connected(Provider::HubSpot, CRM).await;
        let other = env.connected(Provider::Salesforce, CRM).await;
        let engine = SyncEngine::new(env.connections.clone());
        let crm = FakeCrm::new(2);
        crm.put_all([company("c1", 1), company("c2", 2), company("c3", 3)]);
        crm.put(contact("p1", Some("c1"), 4));
        for id in [&c.id, &other.id] {
            engine
                .run(&access, id, &crm, &SyncRequest::default(), None)
                .await
                .unwrap();
        }
        assert_ne!(
            env.store
                .sync_state(&c.id, DataType::Companies)
                .await
                .unwrap(),
            SyncState::default()
        );
        assert_eq!(env.vault.keys().len(), 2);

        env.connections.delete(&access, &c.id, purge).await.unwrap();

        assert!(matches!(
            env.connections.get(&access, &c.id).await,
            Err(Error::Store(StoreError::ConnectionNotFound(ref id))) if id == &c.id
        ));
        assert_eq!(env.vault.keys(), vec![other.credential_ref.0.clone()]);
        for t in [DataType::Companies, DataType::Contacts] {
            assert_eq!(
                env.store.sync_state(&c.id, t).await.unwrap(),
                SyncState::default()
            );
        }
        let companies = env
            .store
            .count_records(&c.id, DataType::Companies)
            .await
            .unwrap();
        let contacts = env
            .store
            .count_records(&c.id, DataType::Contacts)
            .await
            .unwrap();
        if purge {
            assert_eq!((companies, contacts), (0, 0));
        } else {
            assert_eq!((companies, contacts), (3, 1));
        }
        // The other connection is untouched.
        assert_eq!(
            env.store
                .count_records(&other.id, DataType::Companies)
                .await
                .unwrap(),
            3
        );
        assert_ne!(
            env.store
                .sync_state(&other.id, DataType::Companies)
                .await
                .unwrap(),
            SyncState::default()
        );
        assert_eq!(env.kinds(&c.id).await.last(), Some(&ActivityKind::Deleted));
        assert_eq!(
            env.connections.list(&access).await.unwrap(),
            vec![env.connections.get(&access, &other.id).await.unwrap()]
        );
    }
}

#[tokio::test]
async fn view_can_read_but_not_change() {
    let env = Env::new();
    let c = env.connected(Provider::HubSpot, CRM).await;
    let view = Access::with(Permission::View, Entitlements::of([FeatureCategory::Crm]));
    let connector = FakeConnector::ok();

    assert_eq!(env.connections.list(&view).await.unwrap().len(), 1);
    assert_eq!(env.connections.get(&view, &c.id).await.unwrap().id, c.id);

    assert_needs_manage(
        env.connections
            .create(&view, new_connection(Provider::HubSpot, CRM))
            .await,
    );
    assert_needs_manage(
        env.connections
            .edit(&view, &c.id, Some("Renamed"), None)
            .await,
    );
    assert_needs_manage(env.connections.test(&view, &c.id, &connector).await);
    assert_needs_manage(env.connections.disable(&view, &c.id).await);
    assert_needs_manage(env.connections.enable(&view, &c.id, &connector).await);
    assert_needs_manage(
        env.connections
            .reconnect(&view, &c.id, other_credentials(), &connector)
            .await,
    );
    assert_needs_manage(env.connections.delete(&view, &c.id, true).await);
    assert_eq!(connector.calls(), 0);

    // Nothing changed.
    assert_eq!(env.connections.list(&view).await.unwrap(), vec![c.clone()]);
    assert_eq!(env.vault.keys(), vec![c.credential_ref.0.clone()]);

    // Without any connected-apps permission, not even reading is allowed.
    assert!(matches!(
        env.connections.list(&Access::default()).await,
        Err(Error::Access(AccessError::MissingPermission {
            required: Permission::View
        }))
    ));

    // Syncs need Manage too.
    let engine = SyncEngine::new(env.connections.clone());
    assert!(matches!(
        engine
            .run(
                &view,
                &c.id,
                &FakeCrm::new(1),
                &SyncRequest::default(),
                None
            )
            .await,
        Err(SyncError::Access(AccessError::MissingPermission {
            required: Permission::Manage
        }))
    ));
}

#[tokio::test]
async fn entitlements_and_categories_gate_creation_and_edits() {
    let env = Env::new();
    let crm_only = Access::with(Permission::Manage, Entitlements::of([FeatureCategory::Crm]));
    let err = env
        .connections
        .create(
            &crm_only,
            new_connection(
                Provider::ConnectWiseManage,
                &[FeatureCategory::Crm, FeatureCategory::Psa],
            ),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Access(AccessError::NotEntitled {
                category: FeatureCategory::Psa
            })
        ),
        "{err:?}"
    );
    // A category the provider does not offer is a typed error.
    let err = env
        .connections
        .create(
            &Access::full(),
            new_connection(Provider::HubSpot, &[FeatureCategory::Psa]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transition(TransitionError::UnsupportedCategory {
                category: FeatureCategory::Psa,
                ..
            })
        ),
        "{err:?}"
    );
    // Refused creations leave nothing behind.
    assert!(env.vault.keys().is_empty());
    assert!(env.connections.list(&crm_only).await.unwrap().is_empty());

    let c = env
        .connections
        .create(&crm_only, new_connection(Provider::ConnectWiseManage, CRM))
        .await
        .unwrap();
    let err = env
        .connections
        .edit(
            &crm_only,
            &c.id,
            None,
            Some([FeatureCategory::Crm, FeatureCategory::Products].into()),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Access(AccessError::NotEntitled {
            category: FeatureCategory::Products
        })
    ));
    let edited = env
        .connections
        .edit(&crm_only, &c.id, Some("  Renamed "), None)
        .await
        .unwrap();
    assert_eq!(edited.name, "Renamed");
    assert_eq!(
        env.kinds(&c.id).await,
        vec![ActivityKind::Created, ActivityKind::Edited]
    );
}

#[tokio::test]
async fn activity_log_is_for_site_admins_only() {
    let env = Env::new();
    let c = env.connected(Provider::HubSpot, CRM).await;
    let manager = Access::with(Permission::Manage, Entitlements::of([FeatureCategory::Crm]));
    assert!(matches!(
        env.connections.activity(&manager, Some(&c.id), 10).await,
        Err(Error::Access(AccessError::NotSiteAdmin))
    ));
    // A site admin without any connected-apps permission.
    let admin = Access {
        site_admin: true,
        ..Access::default()
    };
    let entries = env.connections.activity(&admin, None, 10).await.unwrap();
    assert_eq!(entries.len(), 2);
    // Newest first.
    assert_eq!(entries[1].kind, ActivityKind::Created);
    assert!(entries[0].at >= entries[1].at);
    assert!(entries.iter().all(|e| e.connection_id == c.id));
    assert_eq!(
        env.connections
            .activity(&admin, Some(&c.id), 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn full_lifecycle_activity_in_order() {
    let env = Env::new();
    let access = Access::full();
    let c = env
        .connections
        .create(&access, new_connection(Provider::ConnectWiseManage, CRM))
        .await
        .unwrap();
    let ok = FakeConnector::ok();
    let bad = FakeConnector::failing("wrong company id");
    env.connections.test(&access, &c.id, &bad).await.unwrap();
    env.connections
        .reconnect(&access, &c.id, other_credentials(), &ok)
        .await
        .unwrap();
    env.connections.disable(&access, &c.id).await.unwrap();
    env.connections.enable(&access, &c.id, &ok).await.unwrap();
    env.connections
        .edit(&access, &c.id, Some("Acme PSA"), None)
        .await
        .unwrap();
    env.connections.delete(&access, &c.id, false).await.unwrap();
    insta::assert_yaml_snapshot!("full_lifecycle_activity", env.kinds(&c.id).await);
}

#[tokio::test]
async fn debug_output_never_shows_a_secret() {
    let env = Env::new();
    let access = Access::full();
    let new = new_connection(Provider::ConnectWiseManage, CRM);
    let creds = credentials();
    let c = env.connections.create(&access, new.clone()).await.unwrap();
    env.connections
        .reconnect(&access, &c.id, other_credentials(), &FakeConnector::ok())
        .await
        .unwrap();
    let c = env.connections.get(&access, &c.id).await.unwrap();
    let loaded = env
        .connections
        .credentials(&Access::full(), &c.id)
        .await
        .unwrap();
    let activity = env
        .connections
        .activity(&access, None, usize::MAX)
        .await
        .unwrap();
    let printed = [
        format!("{c:?} {c:#?}"),
        format!("{:?} {:#?}", env.connections, env.connections),
        format!("{new:?} {new:#?}"),
        format!("{creds:?} {creds:#?} {loaded:?}"),
        format!("{:?} {:?}", env.vault, env.store),
        format!("{activity:?}"),
        serde_json::to_string(&c).unwrap(),
    ];
    for text in printed {
        assert!(!text.contains(SECRET), "secret leaked: {text}");
        assert!(!text.contains(OTHER_SECRET), "secret leaked: {text}");
    }
    // The non-secret parts are still there, so the check is meaningful.
    assert!(format!("{new:?}").contains("pub-key-1"));
}

#[tokio::test]
async fn reasons_never_keep_a_credential_the_provider_echoed() {
    let env = Env::new();
    let access = Access::full();
    let c = env
        .connections
        .create(&access, new_connection(Provider::HubSpot, CRM))
        .await
        .unwrap();

    // A test whose provider message echoes the key pair and the key alone.
    let connector = FakeConnector::failing(&format!(
        "401: bad login acme+pub-key-1:{SECRET} (key {SECRET})"
    ));
    let failed = env
        .connections
        .test(&access, &c.id, &connector)
        .await
        .unwrap();
    let ConnectionStatus::ConnectionError { reason, .. } = failed.status else {
        panic!("expected Connection Error, got {:?}", failed.status);
    };
    assert!(!reason.contains(SECRET), "{reason}");
    assert!(reason.contains("401: bad login"), "{reason}");

    // A reason assembled elsewhere (a sync or push) is scrubbed the same way.
    let marked = env
        .connections
        .mark_error(
            &Access::full(),
            &c.id,
            &format!("sync stopped: token {SECRET} refused"),
        )
        .await
        .unwrap();
    let ConnectionStatus::ConnectionError { reason, .. } = marked.status else {
        panic!("expected Connection Error, got {:?}", marked.status);
    };
    assert!(!reason.contains(SECRET), "{reason}");
    for entry in env.kinds(&c.id).await {
        assert!(!format!("{entry:?}").contains(SECRET), "{entry:?}");
    }
}
