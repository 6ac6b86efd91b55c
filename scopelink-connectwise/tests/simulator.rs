//! The connector against the testkit's stateful ConnectWise simulator:
//! discovery, a 429 retried by the core, a project push that fails on a
//! non-idempotent POST and resumes without duplicates.

mod common;

use common::http_config;
use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings};
use scopelink_core::access::Access;
use scopelink_core::connector::{Connector, PsaProjects};
use scopelink_core::mapping::{sample_project, PushOptions, TaskMode};
use scopelink_core::push::push_project;
use scopelink_core::secret::{ApiKeyPair, Credentials, InMemoryVault};
use scopelink_core::{Connections, FeatureCategory, MemoryStore, NewConnection, Provider};
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use std::sync::Arc;

#[tokio::test]
async fn discovery_retries_and_a_resumed_push_against_the_simulator() {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::default()).await;
    let keys = ApiKeyPair::new(sim.company_id(), sim.public_key(), sim.private_key());
    let settings =
        ConnectWiseSettings::new(sim.server_url().to_string(), sim.client_id().to_string());
    let cw = ConnectWiseConnector::connect(settings.clone(), keys.clone(), http_config())
        .await
        .expect("discovered");
    assert_eq!(cw.api_base().as_str(), sim.api_base());

    // A 429 is retried by the core runtime.
    sim.fail_next(1, 429);
    cw.test_connection().await.expect("retried after 429");

    let lookups = cw.push_lookups().await.expect("lookups");
    let board = lookups.extra["boards"][0].id.clone();
    let company = lookups.companies[0].id.clone();
    let cw = ConnectWiseConnector::connect(
        settings.clone().board_id(board),
        keys.clone(),
        http_config(),
    )
    .await
    .unwrap();

    let store = Arc::new(MemoryStore::new());
    let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
    let conn = connections
        .create(
            &Access::full(),
            NewConnection::new(
                Provider::ConnectWiseManage,
                "simulator",
                Credentials::ApiKeyPair(keys),
            )
            .categories([FeatureCategory::Crm, FeatureCategory::Psa])
            .settings(settings.to_map()),
        )
        .await
        .unwrap();
    connections
        .test(&Access::full(), &conn.id, &cw)
        .await
        .unwrap();

    let options = PushOptions {
        task_mode: TaskMode::PerService,
        include_sub_services: true,
        include_governance: true,
        ..PushOptions::for_company(company)
    };
    // The first POST fails with 503: a POST is never retried, so the push
    // stops and nothing is created.
    sim.fail_next(1, 503);
    let err = push_project(
        &Access::full(),
        store.as_ref(),
        &conn.id,
        &cw,
        &sample_project(),
        &options,
        None,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    assert!(sim.projects().is_empty());

    let report = push_project(
        &Access::full(),
        store.as_ref(),
        &conn.id,
        &cw,
        &sample_project(),
        &options,
        None,
    )
    .await
    .expect("pushed");
    assert_eq!(report.created, 11);
    assert_eq!(sim.projects().len(), 1);
    assert_eq!(sim.phases().len(), 2);
    let summaries: Vec<String> = sim
        .tickets()
        .iter()
        .filter_map(|t| t["summary"].as_str().map(str::to_string))
        .collect();
    assert_eq!(summaries.len(), 8);
    assert!(summaries.contains(&"Mailbox migration - Cut-over".to_string()));

    // Pushing again creates nothing more.
    let again = push_project(
        &Access::full(),
        store.as_ref(),
        &conn.id,
        &cw,
        &sample_project(),
        &options,
        None,
    )
    .await
    .unwrap();
    assert_eq!(again.created, 0);
    assert_eq!(sim.tickets().len(), 8);
}
