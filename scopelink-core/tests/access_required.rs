//! Every operation that changes a connection or reads its secrets checks the
//! caller's access: a viewer (or a caller with no permission) is refused
//! with a typed error and nothing changes.

mod common;

use common::{Env, EnvExt, FakePsa};
use scopelink_core::access::{Access, Entitlements, Permission};
use scopelink_core::mapping::{sample_project, PushOptions};
use scopelink_core::{AccessError, Error, FeatureCategory, Provider};

fn viewer() -> Access {
    Access::with(
        Permission::View,
        Entitlements::of([FeatureCategory::Crm, FeatureCategory::Psa]),
    )
}

fn refused<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Err(Error::Access(AccessError::MissingPermission {
            required: Permission::Manage,
        })) => {}
        other => panic!("expected a missing-Manage refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn secrets_and_changes_need_manage() {
    let env = Env::new();
    let c = env
        .connected(
            Provider::ConnectWiseManage,
            &[FeatureCategory::Crm, FeatureCategory::Psa],
        )
        .await;
    let id = &c.id;
    for access in [viewer(), Access::default()] {
        refused(env.connections.credentials(&access, id).await);
        refused(env.connections.set_setting(&access, id, "k", "v").await);
        refused(env.connections.mark_error(&access, id, "401").await);
        refused(env.connections.mark_synced(&access, id).await);
        refused(
            env.connections
                .push_project(
                    &access,
                    id,
                    &FakePsa::new(),
                    &sample_project(),
                    &PushOptions::for_company("19"),
                    None,
                )
                .await,
        );
        let psa = FakePsa::new();
        refused(
            scopelink_core::push::push_project(
                &access,
                env.store.as_ref(),
                id,
                &psa,
                &sample_project(),
                &PushOptions::for_company("19"),
                None,
            )
            .await,
        );
        assert!(psa.calls().is_empty(), "nothing reached the PSA");
    }
    // Nothing changed.
    let after = env.connections.get(&viewer(), id).await.unwrap();
    assert!(after.is_connected(), "{:?}", after.status);
    assert_eq!(after.last_sync, c.last_sync);
    assert!(!after.settings.contains_key("k"));
    // A manager may.
    let admin = Access::full();
    assert!(env.connections.credentials(&admin, id).await.is_ok());
    env.connections
        .set_setting(&admin, id, "k", "v")
        .await
        .unwrap();
    let marked = env.connections.mark_error(&admin, id, "401").await.unwrap();
    assert_eq!(marked.error_reason(), Some("401"));
    let synced = env.connections.mark_synced(&admin, id).await.unwrap();
    assert!(synced.is_connected() && synced.last_sync.is_some());
    assert_eq!(synced.settings.get("k").map(String::as_str), Some("v"));
}
