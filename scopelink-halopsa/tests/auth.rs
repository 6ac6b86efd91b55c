//! Token handling and connection tests against the HaloPSA simulator.

mod common;

use common::{connector, connector_with, credentials, http, settings};
use scopelink_core::connector::{Connector, PsaProjects};
use scopelink_core::secret::ClientCredentials;
use scopelink_core::ConnectorError;
use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings, DEFAULT_RATE_LIMIT};
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig};
use std::time::Duration;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn token_request_is_a_client_credentials_form_with_the_tenant() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    halo.test_connection().await.expect("test connection");

    let log = sim.requests();
    let token = &log[0];
    assert_eq!(token.method, "POST");
    assert_eq!(token.path, "/auth/token");
    assert_eq!(
        token.query,
        vec![("tenant".to_string(), "acmemsp".to_string())]
    );
    assert_eq!(
        token.form,
        [
            ("grant_type", "client_credentials"),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
            ("scope", "all"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec()
    );
    assert!(!token.bearer);
    assert_eq!(token.status, 200);
    let me = &log[1];
    assert_eq!(
        (me.method.as_str(), me.path.as_str()),
        ("GET", "/api/Agent/me")
    );
    assert!(me.bearer);
    assert_eq!(me.status, 200);
    assert_eq!(log.len(), 2);
}

#[tokio::test]
async fn tenant_is_discovered_through_authinfo_when_not_configured() {
    // A Halo whose auth server needs the tenant reports it in authinfo.
    let sim = HaloPsaSim::start(HaloPsaSimConfig {
        tenant_required: true,
        ..HaloPsaSimConfig::default()
    })
    .await;
    let mut s = settings(&sim.uri());
    s.tenant = None;
    let halo = connector_with(s, credentials());
    halo.test_connection().await.expect("test connection");
    halo.test_connection().await.expect("second test");
    let log = sim.requests();
    let paths: Vec<_> = log.iter().map(|r| r.path.as_str()).collect();
    // authinfo once, then the token with the discovered tenant, then the calls.
    assert_eq!(
        paths,
        [
            "/api/authinfo",
            "/auth/token",
            "/api/Agent/me",
            "/api/Agent/me"
        ]
    );
    assert!(!log[0].bearer);
    assert_eq!(log[1].query_value("tenant"), Some("acmemsp"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_lookups_share_one_token() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let calls = (0..20).map(|_| {
        let halo = halo.clone();
        async move { halo.push_lookups().await }
    });
    let results = futures::future::join_all(calls).await;
    for r in results {
        let lookups = r.expect("lookups");
        assert_eq!(lookups.statuses.len(), 4);
    }
    assert_eq!(sim.token_requests(), 1);
    assert!(sim.api_requests().iter().all(|r| r.status == 200));
}

#[tokio::test]
async fn token_is_reused_until_shortly_before_it_expires() {
    // A 2-second token is renewed at half its life (tokens that live under
    // two minutes), i.e. after 1 s.
    let sim = HaloPsaSim::start(HaloPsaSimConfig {
        expires_in: 2,
        ..HaloPsaSimConfig::default()
    })
    .await;
    let halo = connector(&sim);
    halo.test_connection().await.unwrap();
    halo.test_connection().await.unwrap();
    assert_eq!(sim.token_requests(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    halo.test_connection().await.unwrap();
    assert_eq!(sim.token_requests(), 2);
    assert!(sim.api_requests().iter().all(|r| r.status == 200));
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_retries() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    halo.test_connection().await.unwrap();
    sim.expire_tokens();
    sim.clear_requests();
    halo.test_connection()
        .await
        .expect("retried with a new token");
    let log: Vec<_> = sim
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect();
    assert_eq!(
        log,
        [
            ("GET".to_string(), "/api/Agent/me".to_string(), 401),
            ("POST".to_string(), "/auth/token".to_string(), 200),
            ("GET".to_string(), "/api/Agent/me".to_string(), 200),
        ]
    );
    assert_eq!(sim.token_requests(), 2);
}

#[tokio::test]
async fn a_second_401_is_an_authentication_error_not_a_loop() {
    // Tokens that expire at once: every API call is refused.
    let sim = HaloPsaSim::start(HaloPsaSimConfig {
        expires_in: 0,
        ..HaloPsaSimConfig::default()
    })
    .await;
    let halo = connector(&sim);
    let err = halo.test_connection().await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Authentication { .. }),
        "{err:?}"
    );
    assert!(err.is_auth_failure());
    assert_eq!(sim.token_requests(), 2);
    assert_eq!(sim.api_requests().len(), 2);
}

#[tokio::test]
async fn bad_client_secret_is_an_authentication_error_with_a_fix() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector_with(
        settings(&sim.uri()),
        ClientCredentials::new("sim-client", "wrong-secret"),
    );
    let err = halo.test_connection().await.unwrap_err();
    let ConnectorError::Authentication { message } = &err else {
        panic!("expected Authentication, got {err:?}");
    };
    assert!(message.contains("invalid_client"), "{message}");
    assert!(
        message.contains(
            "check the client ID and secret in HaloPSA > Configuration > Integrations > HaloPSA API"
        ),
        "{message}"
    );
    let shown = format!("{err} {err:?} {halo:?}");
    assert!(!shown.contains("wrong-secret"), "{shown}");
    assert_eq!(sim.api_requests().len(), 0);
}

#[tokio::test]
async fn inactive_application_is_an_authentication_error_that_says_so() {
    let sim = HaloPsaSim::start_default().await;
    sim.set_application_active(false);
    let err = connector(&sim).test_connection().await.unwrap_err();
    let ConnectorError::Authentication { message } = &err else {
        panic!("expected Authentication, got {err:?}");
    };
    assert!(message.contains("active"), "{message}");
}

#[tokio::test]
async fn missing_permission_is_permission_denied_naming_the_agent() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    sim.forbid("agent/me");
    let err = halo.test_connection().await.unwrap_err();
    let ConnectorError::PermissionDenied { message } = &err else {
        panic!("expected PermissionDenied, got {err:?}");
    };
    assert!(message.contains("agent"), "{message}");
    assert!(message.contains("Permissions"), "{message}");

    // Once the agent is known, later refusals name it.
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    halo.test_connection().await.unwrap();
    sim.forbid("status");
    let err = halo.push_lookups().await.unwrap_err();
    assert!(err.to_string().contains("`Scopelink API`"), "{err}");
}

#[tokio::test]
async fn unreachable_host_is_an_invalid_host() {
    // Port 1 on loopback: nothing listens.
    for tenant in [Some("acmemsp".to_string()), None] {
        let mut s = settings("http://127.0.0.1:1");
        s.tenant = tenant;
        let err = connector_with(s, credentials())
            .test_connection()
            .await
            .unwrap_err();
        assert!(
            matches!(err, ConnectorError::InvalidConfig { field: "host", .. }),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn a_host_without_a_token_endpoint_is_an_invalid_host() {
    // An empty wiremock answers 404 to everything.
    let server = MockServer::start().await;
    for tenant in [Some("acmemsp".to_string()), None] {
        let mut s = settings(&server.uri());
        s.tenant = tenant;
        let err = connector_with(s, credentials())
            .test_connection()
            .await
            .unwrap_err();
        let ConnectorError::InvalidConfig { field, message } = &err else {
            panic!("expected InvalidConfig, got {err:?}");
        };
        assert_eq!(*field, "host");
        assert!(message.contains("token endpoint"), "{message}");
    }
}

#[tokio::test]
async fn a_web_page_instead_of_the_api_is_an_invalid_host() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<!doctype html><html><body>Welcome</body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let err = connector_with(settings(&server.uri()), credentials())
        .test_connection()
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectorError::InvalidConfig { field: "host", .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_disabled_agent_is_reported() {
    let mut config = HaloPsaSimConfig::default();
    config.agent_me["isdisabled"] = true.into();
    let sim = HaloPsaSim::start(config).await;
    let err = connector(&sim).test_connection().await.unwrap_err();
    let ConnectorError::Authentication { message } = &err else {
        panic!("expected Authentication, got {err:?}");
    };
    assert!(message.contains("Scopelink API"), "{message}");
    assert!(message.contains("disabled"), "{message}");
}

#[test]
fn settings_are_checked_and_normalized() {
    let ok = HaloPsaConnector::new(
        HaloPsaSettings::new("companyxyz.halopsa.com/api/"),
        credentials(),
        Default::default(),
    )
    .expect("valid host");
    assert_eq!(ok.base_url(), "https://companyxyz.halopsa.com");
    // The documented budget applies when the host sets none.
    assert_eq!(ok.http().config().rate_limit, Some(DEFAULT_RATE_LIMIT));
    // The host's own budget is kept.
    let own = HaloPsaConnector::new(HaloPsaSettings::new("x.halopsa.com"), credentials(), http())
        .unwrap();
    assert_ne!(own.http().config().rate_limit, Some(DEFAULT_RATE_LIMIT));

    let err = HaloPsaConnector::new(
        HaloPsaSettings::new("http://127.0.0.1:8080"),
        credentials(),
        Default::default(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        ConnectorError::InvalidConfig { field: "host", .. }
    ));
    let mut s = HaloPsaSettings::new("x.halopsa.com");
    s.project_ticket_type_id = Some("Project".into());
    assert!(matches!(
        HaloPsaConnector::new(s, credentials(), Default::default()),
        Err(ConnectorError::InvalidConfig {
            field: "project_ticket_type_id",
            ..
        })
    ));
    let debug = format!(
        "{:?}",
        HaloPsaConnector::new(
            settings("http://127.0.0.1:9"),
            ClientCredentials::new("id", "very-secret-value"),
            common::http()
        )
        .unwrap()
    );
    assert!(!debug.contains("very-secret-value"), "{debug}");
    assert!(debug.contains("127.0.0.1:9"), "{debug}");
}
