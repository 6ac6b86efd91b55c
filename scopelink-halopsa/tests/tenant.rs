//! The tenant is sent only where HaloPSA needs it, and a tenant HaloPSA
//! refuses is a setting to fix.

mod common;

use common::{connector_with, credentials, settings};
use scopelink_core::connector::Connector;
use scopelink_core::secret::ClientCredentials;
use scopelink_core::ConnectorError;
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig};

#[tokio::test]
async fn a_hosted_instance_gets_no_tenant_when_none_is_configured_or_reported() {
    // Like live hosted Halo: the instance's own /auth/token, no tenant in
    // authinfo, a token request without `?tenant=`.
    let sim = HaloPsaSim::start_default().await;
    let mut s = settings(&sim.uri());
    s.tenant = None;
    let halo = connector_with(s, credentials());
    halo.test_connection().await.expect("test connection");
    let log = sim.requests();
    let token = log
        .iter()
        .find(|r| r.path == "/auth/token")
        .expect("a token request");
    assert_eq!(token.status, 200);
    assert_eq!(token.query_value("tenant"), None, "{:?}", token.query);
    assert_eq!(sim.token_requests(), 1);
}

#[tokio::test]
async fn a_configured_tenant_is_sent_and_accepted() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector_with(settings(&sim.uri()), credentials());
    halo.test_connection().await.expect("test connection");
    let token = &sim.requests()[0];
    assert_eq!(token.query_value("tenant"), Some("acmemsp"));
    assert_eq!(token.status, 200);
}

#[tokio::test]
async fn a_tenant_halo_does_not_know_is_a_tenant_setting_error() {
    let sim = HaloPsaSim::start_default().await;
    let mut s = settings(&sim.uri());
    s.tenant = Some("acme-typo".into());
    let err = connector_with(s, credentials())
        .test_connection()
        .await
        .unwrap_err();
    let ConnectorError::InvalidConfig { field, message } = &err else {
        panic!("expected InvalidConfig, got {err:?}");
    };
    assert_eq!(*field, "tenant");
    assert!(message.contains("`acme-typo`"), "{message}");
    assert!(message.contains("unknown tenant"), "{message}");
    assert!(message.contains("leave it empty"), "{message}");
    assert!(
        !err.is_auth_failure(),
        "a wrong tenant is not bad credentials"
    );
    assert_eq!(sim.api_requests().len(), 0);
}

#[tokio::test]
async fn bad_credentials_still_read_as_invalid_client_with_the_description() {
    let sim = HaloPsaSim::start_default().await;
    let mut s = settings(&sim.uri());
    s.tenant = None;
    let err = connector_with(s, ClientCredentials::new("sim-client", "wrong-secret"))
        .test_connection()
        .await
        .unwrap_err();
    let ConnectorError::Authentication { message } = &err else {
        panic!("expected Authentication, got {err:?}");
    };
    assert!(message.contains("invalid_client"), "{message}");
    let token = sim
        .requests()
        .into_iter()
        .find(|r| r.path == "/auth/token")
        .expect("a token request");
    assert_eq!(token.status, 401);
}

#[tokio::test]
async fn a_required_tenant_reported_by_authinfo_is_sent() {
    let sim = HaloPsaSim::start(HaloPsaSimConfig {
        tenant_required: true,
        ..HaloPsaSimConfig::default()
    })
    .await;
    let mut s = settings(&sim.uri());
    s.tenant = None;
    connector_with(s, credentials())
        .test_connection()
        .await
        .expect("test connection");
    let token = sim
        .requests()
        .into_iter()
        .find(|r| r.path == "/auth/token")
        .expect("a token request");
    assert_eq!(token.query_value("tenant"), Some("acmemsp"));
    assert_eq!(token.status, 200);
}
