//! Zone discovery, test connection and the typed errors of bad credentials,
//! against the Autotask simulator.

use scopelink_autotask::{AutotaskConnector, AutotaskSettings, ZONE_URL_SETTING};
use scopelink_core::connector::Connector;
use scopelink_core::http::{AddressPolicy, HttpConfig};
use scopelink_core::secret::{ApiUserSecret, Credentials};
use scopelink_core::{ConnectionStatus, ConnectorError, FeatureCategory, NewConnection, Provider};
use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use scopelink_testkit::host::MemoryEnv;

fn local() -> HttpConfig {
    HttpConfig::default().with_addresses(AddressPolicy::allow_local())
}

fn settings(sim: &AutotaskSim) -> AutotaskSettings {
    AutotaskSettings {
        zone_lookup_url: Some(sim.zone_lookup_url()),
        ..AutotaskSettings::default()
    }
}

fn good(config: &AutotaskSimConfig) -> ApiUserSecret {
    ApiUserSecret::new(&config.username, &config.secret, &config.integration_code)
}

#[tokio::test]
async fn the_zone_is_discovered_kept_and_the_connection_tests_ok() {
    let sim = AutotaskSim::start(AutotaskSimConfig::default()).await;
    let config = sim.config();
    let connector = AutotaskConnector::connect(settings(&sim), good(&config), local())
        .await
        .unwrap();
    assert_eq!(connector.zone_url().as_str(), sim.zone_url());
    assert_eq!(
        connector.settings().to_map().get(ZONE_URL_SETTING),
        Some(&sim.zone_url())
    );
    connector.test_connection().await.unwrap();
    let usage = connector.threshold_information().await.unwrap();
    assert_eq!(usage.threshold, 10_000);
    assert_eq!(usage.timeframe_minutes, 60);
    assert!(usage.used >= 1, "{usage:?}");

    let requests = sim.requests();
    assert!(requests.iter().any(|r| r
        .path
        .to_ascii_lowercase()
        .ends_with("/v1.0/zoneinformation")));

    // A stored zone skips the lookup.
    let before = sim.request_count();
    let again = AutotaskConnector::connect(
        AutotaskSettings::from_map(&connector.settings().to_map()).unwrap(),
        good(&config),
        local(),
    )
    .await
    .unwrap();
    assert_eq!(sim.request_count(), before);
    again.test_connection().await.unwrap();
}

#[tokio::test]
async fn an_unknown_user_is_named_at_zone_lookup() {
    let sim = AutotaskSim::start(AutotaskSimConfig::default()).await;
    let config = sim.config();
    let creds = ApiUserSecret::new(
        "nobody@example.com",
        &config.secret,
        &config.integration_code,
    );
    let err = AutotaskConnector::connect(settings(&sim), creds, local())
        .await
        .unwrap_err();
    match err {
        ConnectorError::InvalidConfig { field, message } => {
            assert_eq!(field, "username");
            assert!(message.contains("nobody@example.com"), "{message}");
            assert!(
                message.contains("Zone information could not be determined"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_credentials_are_typed_errors_that_say_what_to_fix() {
    let sim = AutotaskSim::start(AutotaskSimConfig::default()).await;
    let config = sim.config();
    let zone = sim.zone_url();
    let build = |creds: ApiUserSecret| {
        AutotaskConnector::with_zone_url(&zone, AutotaskSettings::default(), creds, local())
            .unwrap()
    };

    let wrong_secret = build(ApiUserSecret::new(
        &config.username,
        "wrong",
        &config.integration_code,
    ));
    let err = wrong_secret.test_connection().await.unwrap_err();
    assert!(err.is_auth_failure(), "{err:?}");
    assert!(err.to_string().contains("secret"), "{err}");

    let wrong_code = build(ApiUserSecret::new(
        &config.username,
        &config.secret,
        "WRONGCODE",
    ));
    let err = wrong_code.test_connection().await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ConnectorError::Authentication { .. }),
        "{err:?}"
    );
    assert!(
        text.contains("tracking identifier") && text.contains("IntegrationCode is invalid"),
        "{text}"
    );
    assert!(!text.contains("WRONGCODE"), "{text}");

    let unknown_user = build(ApiUserSecret::new(
        "ghost@example.com",
        &config.secret,
        &config.integration_code,
    ));
    let err = unknown_user.test_connection().await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Authentication { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("ghost@example.com"), "{err}");

    // A missing tracking identifier is refused before any request.
    let before = sim.request_count();
    let err = AutotaskConnector::with_zone_url(
        &zone,
        AutotaskSettings::default(),
        ApiUserSecret::new(&config.username, &config.secret, ""),
        local(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        ConnectorError::InvalidConfig {
            field: "integration_code",
            ..
        }
    ));
    assert_eq!(sim.request_count(), before);
}

#[tokio::test]
async fn a_failed_test_puts_the_connection_in_connection_error_with_autotasks_reason() {
    let sim = AutotaskSim::start(AutotaskSimConfig::default()).await;
    let config = sim.config();
    let env = MemoryEnv::new();
    let conn = env
        .connections
        .create(
            &env.access,
            NewConnection::new(
                Provider::Autotask,
                "Autotask",
                Credentials::ApiUserSecret(ApiUserSecret::new(
                    &config.username,
                    "wrong",
                    &config.integration_code,
                )),
            )
            .categories([FeatureCategory::Crm, FeatureCategory::Psa])
            .settings(
                AutotaskSettings {
                    zone_url: Some(sim.zone_url()),
                    ..AutotaskSettings::default()
                }
                .to_map(),
            ),
        )
        .await
        .unwrap();
    let connector = AutotaskConnector::with_zone_url(
        &sim.zone_url(),
        AutotaskSettings::default(),
        ApiUserSecret::new(&config.username, "wrong", &config.integration_code),
        local(),
    )
    .unwrap();
    let _ = env
        .connections
        .test(&env.access, &conn.id, &connector)
        .await;
    let stored = env.connections.get(&env.access, &conn.id).await.unwrap();
    match stored.status {
        ConnectionStatus::ConnectionError { reason, .. } => {
            assert!(reason.contains("Autotask rejected"), "{reason}");
            assert!(!reason.contains("wrong"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn zone_addresses_pass_the_address_policy() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    // A typed lookup host on a link-local or private address is refused
    // before any request.
    for typed in [
        "http://169.254.169.254",
        "https://10.0.0.5/ATServicesRest/",
        "ftp://webservices.autotask.net",
    ] {
        let err = AutotaskConnector::connect(
            AutotaskSettings {
                zone_lookup_url: Some(typed.into()),
                ..AutotaskSettings::default()
            },
            ApiUserSecret::new("api@example.test", "secret", "CODE"),
            local(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConnectorError::InvalidConfig {
                    field: "zone_lookup_url",
                    ..
                }
            ),
            "{typed}: {err:?}"
        );
    }

    // A lookup that answers with a zone on a private or metadata address:
    // refused, so the credentials never go there.
    for zone in [
        "https://10.1.2.3/ATServicesRest/",
        "http://169.254.169.254/latest/",
        "https://192.168.0.9/",
    ] {
        let lookup = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/ATServicesRest/v1.0/zoneInformation"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "zoneName": "Elsewhere", "url": zone, "webUrl": "https://ww3.autotask.net/", "ci": 1
            })))
            .mount(&lookup)
            .await;
        let err = AutotaskConnector::connect(
            AutotaskSettings {
                zone_lookup_url: Some(lookup.uri()),
                ..AutotaskSettings::default()
            },
            ApiUserSecret::new("api@example.test", "secret", "CODE"),
            local(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConnectorError::InvalidConfig {
                    field: "zone_url",
                    ..
                }
            ),
            "{zone}: {err:?}"
        );
        // The lookup itself carried no credential.
        let received = lookup.received_requests().await.unwrap();
        assert_eq!(received.len(), 1);
        assert!(received[0].headers.get("secret").is_none());
        assert!(received[0].headers.get("apiintegrationcode").is_none());
    }
}
