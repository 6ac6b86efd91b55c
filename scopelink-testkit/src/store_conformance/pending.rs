//! Pending OAuth authorizations.

use super::fixtures::*;
use scopelink_core::ConnectionId;

/// Pending OAuth authorizations
/// ([`PendingAuthorizationStore`](scopelink_core::store::PendingAuthorizationStore)):
/// a state is taken once (a second take finds nothing), what was put comes back
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
