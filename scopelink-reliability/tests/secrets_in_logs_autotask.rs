//! No Autotask secret (the API user's secret, the API tracking identifier,
//! a webhook's secret key) in logs, errors or `Debug` output.
//!
//! Every event and span of this test binary is captured at TRACE level. The
//! test runs the whole Autotask flow against the simulator (zone discovery,
//! test, sync, webhook, write-back, push, threshold) and its failures (a
//! wrong secret, a wrong tracking identifier, 429s and 500s), then checks
//! every captured line and every error and `Debug` output.

use scopelink_autotask::{AutotaskConnector, AutotaskSettings, WebhookEntity, WebhookRegistration};
use scopelink_core::access::Access;
use scopelink_core::connector::{
    Connector, OpportunityUpdate, OpportunityWriteBack, WebhookReceiver,
};
use scopelink_core::http::{AddressPolicy, HttpConfig, RetryPolicy, ThrottlePolicy};
use scopelink_core::mapping::{sample_project, PushOptions};
use scopelink_core::push::push_project;
use scopelink_core::secret::{ApiUserSecret, Credentials, InMemoryVault};
use scopelink_core::webhook::WebhookRequest;
use scopelink_core::{
    Connections, FeatureCategory, MemoryStore, NewConnection, Provider, SyncEngine, SyncRequest,
};
use scopelink_reliability::log_capture::LogCapture;
use scopelink_reliability::secrets::Secrets;
use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "Sim-S3cret-e81f4a";
const CODE: &str = "TRACKINGCODE7Q2W9E4R1T6Y8U0";
const HOOK_KEY: &str = "hook-key-5d0c93b1e7";
const WRONG_SECRET: &str = "Wrong-S3cret-04c7d2";
const WRONG_CODE: &str = "WRONGTRACKINGCODE000000000X";

fn http() -> HttpConfig {
    HttpConfig::default()
        .with_timeout(Duration::from_secs(10))
        .with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        })
        .with_throttle(ThrottlePolicy {
            first_wait: Duration::from_millis(2),
            ..scopelink_autotask::DEFAULT_THROTTLE
        })
        .with_addresses(AddressPolicy::allow_local())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_autotask_flow_and_its_failures_leak_nothing() {
    let log = LogCapture::global().expect("no other global subscriber in this test binary");
    let sim = AutotaskSim::start(AutotaskSimConfig {
        secret: SECRET.into(),
        integration_code: CODE.into(),
        ..AutotaskSimConfig::default()
    })
    .await;
    let config = sim.config();
    let secrets = Secrets::from_pairs([
        ("API user's secret", SECRET),
        ("API tracking identifier", CODE),
        ("webhook secret key", HOOK_KEY),
        ("wrong secret", WRONG_SECRET),
        ("wrong tracking identifier", WRONG_CODE),
    ]);
    let credentials = ApiUserSecret::new(&config.username, SECRET, CODE);
    secrets.check_debug("credentials", &credentials);

    let store = Arc::new(MemoryStore::new());
    let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
    let engine = SyncEngine::new(connections.clone());
    let access = Access::full();
    let at = AutotaskConnector::connect(
        AutotaskSettings {
            zone_lookup_url: Some(sim.zone_lookup_url()),
            ..AutotaskSettings::default()
        },
        credentials.clone(),
        http(),
    )
    .await
    .unwrap();
    secrets.check_debug("connector", &at);
    let conn = connections
        .create(
            &access,
            NewConnection::new(
                Provider::Autotask,
                "secrets",
                Credentials::ApiUserSecret(credentials.clone()),
            )
            .categories([FeatureCategory::Crm, FeatureCategory::Psa])
            .settings(at.settings().to_map()),
        )
        .await
        .unwrap();
    secrets.check_debug("connection", &conn);
    secrets.check_debug("settings", at.settings());
    connections.test(&access, &conn.id, &at).await.unwrap();

    // A sync with 429s and 503s on the way.
    sim.fail_every(6, 429);
    engine
        .run(&access, &conn.id, &at, &SyncRequest::default(), None)
        .await
        .unwrap();
    sim.clear_faults();

    // A webhook, a signed callout, a forged one.
    let hook = at
        .register_webhook(
            WebhookEntity::Company,
            &WebhookRegistration {
                name: "secrets".into(),
                url: "https://hooks.example.test/at".into(),
                deactivation_url: "https://hooks.example.test/at/off".into(),
                secret_key: SecretString::from(HOOK_KEY),
                fields: Vec::new(),
            },
        )
        .await
        .unwrap();
    let receiver = at.webhook_receiver(SecretString::from(HOOK_KEY));
    secrets.check_debug("webhook receiver", &receiver);
    let company = sim.companies()[0]["id"].as_i64().unwrap();
    let (headers, body) = sim.signed_callout(hook.id, "Update", company);
    let events = receiver
        .receive(&WebhookRequest {
            headers: headers.clone(),
            body: body.clone(),
            url: None,
        })
        .await
        .unwrap();
    engine.apply_webhook(&conn.id, &at, events).await.unwrap();
    let mut altered = body.clone();
    altered.push(b' ');
    let err = receiver
        .receive(&WebhookRequest {
            headers,
            body: altered,
            url: None,
        })
        .await
        .unwrap_err();
    secrets.check_error("webhook error", &err);

    // Write-back, push, threshold; a 500 on a write.
    let opp = sim.opportunities()[0]["id"].as_i64().unwrap().to_string();
    at.update_opportunity(
        &opp,
        &OpportunityUpdate {
            probability: Some("40".parse().unwrap()),
            ..OpportunityUpdate::default()
        },
    )
    .await
    .unwrap();
    push_project(
        &Access::full(),
        store.as_ref(),
        &conn.id,
        &at,
        &sample_project(),
        &PushOptions::for_company(company.to_string()),
        None,
    )
    .await
    .unwrap();
    sim.fail_next(1, 500);
    let err = at
        .update_opportunity(
            &opp,
            &OpportunityUpdate {
                probability: Some("50".parse().unwrap()),
                ..OpportunityUpdate::default()
            },
        )
        .await
        .unwrap_err();
    secrets.check_error("500 write error", &err);
    at.threshold_information().await.unwrap();

    // A wrong secret: test and sync fail, the connection ends in
    // Connection Error; a wrong tracking identifier fails the test.
    let wrong = AutotaskConnector::with_zone_url(
        at.zone_url().as_str(),
        AutotaskSettings::default(),
        ApiUserSecret::new(&config.username, WRONG_SECRET, CODE),
        http(),
    )
    .unwrap();
    secrets.check_debug("wrong connector", &wrong);
    let err = wrong.test_connection().await.unwrap_err();
    secrets.check_error("401 test error", &err);
    let err = engine
        .run(&access, &conn.id, &wrong, &SyncRequest::default(), None)
        .await
        .unwrap_err();
    secrets.check_error("401 sync error", &err);
    let after = connections.get(&access, &conn.id).await.unwrap();
    assert_eq!(after.status.label(), "Connection Error");
    secrets.check_debug("connection in error", &after);
    let wrong_code = AutotaskConnector::with_zone_url(
        at.zone_url().as_str(),
        AutotaskSettings::default(),
        ApiUserSecret::new(&config.username, SECRET, WRONG_CODE),
        http(),
    )
    .unwrap();
    let err = wrong_code.test_connection().await.unwrap_err();
    secrets.check_error("tracking identifier error", &err);

    secrets.check_log(log);
    assert!(log.line_count() > 0, "the flow was logged");
    println!(
        "autotask flow: {} log lines captured, no secret",
        log.line_count()
    );
}
