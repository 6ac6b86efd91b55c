//! Autotask in a connector registry, against the testkit's simulator: bad
//! settings and credentials refused at create naming the field, connect
//! with the enabled capabilities, the zone looked up once and stored, test
//! and sync in one call each, the connector handed back for the hourly
//! threshold.

mod common;

use common::{credentials, local};
use scopelink_autotask::{AutotaskConnector, AutotaskProvider, AutotaskSettings, ZONE_URL_SETTING};
use scopelink_core::filter::SyncFilter;
use scopelink_core::http::HttpConfig;
use scopelink_core::model::DataType;
use scopelink_core::secret::{ApiKeyPair, ApiUserSecret, Credentials, InMemoryVault};
use scopelink_core::{
    Access, Connections, ConnectorError, Error, FeatureCategory, MemoryStore, NewConnection,
    Provider, Registry, SyncRequest,
};
use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use std::sync::Arc;

fn registry(http: HttpConfig) -> Registry {
    let connections =
        Connections::new(Arc::new(MemoryStore::new()), Arc::new(InMemoryVault::new()));
    Registry::new(connections)
        .with_http(http)
        .with_provider(AutotaskProvider)
}

/// A new connection's form: only the lookup address typed (the zone is
/// discovered).
fn form(sim: &AutotaskSim, categories: &[FeatureCategory]) -> NewConnection {
    let settings = AutotaskSettings {
        zone_lookup_url: Some(sim.zone_lookup_url()),
        ..AutotaskSettings::default()
    };
    NewConnection::new(
        Provider::Autotask,
        "Acme Autotask",
        Credentials::ApiUserSecret(credentials(sim)),
    )
    .categories(categories.iter().copied())
    .settings(settings.to_map())
}

fn refused(result: Result<impl std::fmt::Debug, Error>) -> ConnectorError {
    match result {
        Err(Error::Connector(e)) => e,
        other => panic!("expected a refused setting, got {other:?}"),
    }
}

fn invalid_field(result: Result<impl std::fmt::Debug, Error>) -> &'static str {
    match refused(result) {
        ConnectorError::InvalidConfig { field, .. } => field,
        other => panic!("expected an invalid setting, got {other:?}"),
    }
}

fn is_zone_lookup(path: &str) -> bool {
    path.ends_with("/v1.0/zoneInformation")
}

#[tokio::test]
async fn create_refuses_bad_settings_and_credentials_naming_the_field() {
    let sim = AutotaskSim::start(AutotaskSimConfig::default()).await;
    let access = Access::full();
    // Public addresses only: the loopback lookup and zone are refused.
    let production = registry(HttpConfig::default());
    assert_eq!(
        invalid_field(
            production
                .create(&access, form(&sim, &[FeatureCategory::Crm]))
                .await
        ),
        "zone_lookup_url"
    );
    let mut stored_zone = form(&sim, &[FeatureCategory::Crm]);
    stored_zone.settings.remove("zone_lookup_url");
    stored_zone
        .settings
        .insert(ZONE_URL_SETTING.into(), sim.zone_url());
    assert_eq!(
        invalid_field(production.create(&access, stored_zone).await),
        "zone_url"
    );

    let r = registry(local());
    for (key, value) in [
        ("zone_url", "https://exa mple.com"),
        ("zone_lookup_url", "ftp://webservices.autotask.net"),
    ] {
        let mut new = form(&sim, &[FeatureCategory::Crm]);
        new.settings.insert(key.into(), value.into());
        assert_eq!(
            invalid_field(r.create(&access, new).await),
            key,
            "{value:?}"
        );
    }

    let c = sim.config();
    let with_credentials = |user: &str, secret: &str, code: &str| {
        let mut new = form(&sim, &[FeatureCategory::Crm]);
        new.credentials = Credentials::ApiUserSecret(ApiUserSecret::new(user, secret, code));
        new
    };
    assert_eq!(
        invalid_field(
            r.create(
                &access,
                with_credentials("", &c.secret, &c.integration_code)
            )
            .await
        ),
        "username"
    );
    assert_eq!(
        invalid_field(
            r.create(&access, with_credentials(&c.username, &c.secret, ""))
                .await
        ),
        "integration_code"
    );
    match refused(
        r.create(
            &access,
            with_credentials(&c.username, "", &c.integration_code),
        )
        .await,
    ) {
        ConnectorError::Authentication { message } => {
            assert!(message.contains("secret is empty"), "{message}")
        }
        other => panic!("expected the empty secret refused, got {other:?}"),
    }
    let mut wrong_kind = form(&sim, &[FeatureCategory::Crm]);
    wrong_kind.credentials = Credentials::ApiKeyPair(ApiKeyPair::new("a", "b", "c"));
    assert_eq!(
        invalid_field(r.create(&access, wrong_kind).await),
        "credentials"
    );

    assert!(r.connections().list(&access).await.unwrap().is_empty());
    assert!(sim.requests().is_empty(), "validation makes no request");
}

#[tokio::test]
async fn connect_stores_the_zone_and_the_next_connect_skips_the_lookup() {
    let sim = AutotaskSim::start(AutotaskSimConfig::default()).await;
    let access = Access::full();
    let r = registry(local());
    let crm_only = r
        .create(&access, form(&sim, &[FeatureCategory::Crm]))
        .await
        .unwrap();
    assert!(!crm_only.settings.contains_key(ZONE_URL_SETTING));

    let live = r.connect(&access, &crm_only.id).await.unwrap();
    assert!(live.crm().is_some());
    assert!(live.psa().is_none(), "PSA not enabled");
    assert!(
        live.writeback().is_some(),
        "opportunity write-back comes with CRM"
    );
    let lookups = sim
        .requests()
        .iter()
        .filter(|q| is_zone_lookup(&q.path))
        .count();
    assert_eq!(lookups, 1, "the first connect looks the zone up");

    let stored = r.connections().get(&access, &crm_only.id).await.unwrap();
    assert_eq!(
        stored.settings.get(ZONE_URL_SETTING),
        Some(&sim.zone_url()),
        "the discovered zone is stored on the connection"
    );

    sim.clear_requests();
    r.connect(&access, &crm_only.id).await.unwrap();
    let tested = r.test(&access, &crm_only.id).await.unwrap();
    assert!(tested.is_connected(), "{:?}", tested.status);
    let requests = sim.requests();
    assert!(
        !requests.iter().any(|q| is_zone_lookup(&q.path)),
        "later connects use the stored zone: {:?}",
        requests.iter().map(|q| &q.path).collect::<Vec<_>>()
    );
    assert!(
        requests
            .iter()
            .any(|q| q.path.ends_with("/v1.0/ThresholdInformation")),
        "the test reads the threshold"
    );

    let both = r
        .create(
            &access,
            form(
                &sim,
                &[
                    FeatureCategory::Crm,
                    FeatureCategory::Psa,
                    FeatureCategory::Products,
                ],
            ),
        )
        .await
        .unwrap();
    let live = r.connect(&access, &both.id).await.unwrap();
    assert!(live.crm().is_some());
    assert!(live.psa().is_some());
    assert!(live.writeback().is_some());
}

#[tokio::test]
async fn sync_through_the_registry_stores_every_company() {
    let sim = AutotaskSim::start(AutotaskSimConfig::default()).await;
    let access = Access::full();
    let r = registry(local());
    let conn = r
        .create(&access, form(&sim, &[FeatureCategory::Crm]))
        .await
        .unwrap();
    let report = r
        .sync(
            &access,
            &conn.id,
            &SyncRequest::all().data_types(vec![DataType::Companies]),
            None,
        )
        .await
        .unwrap();
    let counts = report.counts(DataType::Companies).unwrap();
    assert_eq!(counts.created, sim.companies().len() as u64, "{counts:?}");
    assert!(counts.created > 0);

    // Again: nothing new.
    let again = r
        .sync(
            &access,
            &conn.id,
            &SyncRequest::all().data_types(vec![DataType::Companies]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(again.counts(DataType::Companies).unwrap().created, 0);
}

#[tokio::test]
async fn the_live_connection_hands_back_its_connector_for_the_threshold() {
    let sim = AutotaskSim::start(AutotaskSimConfig::default()).await;
    let access = Access::full();
    let r = registry(local());
    let conn = r
        .create(&access, form(&sim, &[FeatureCategory::Crm]))
        .await
        .unwrap();
    let live = r.connect(&access, &conn.id).await.unwrap();
    let at = live
        .extension::<AutotaskConnector>()
        .expect("the Autotask factory attaches its connector");
    assert_eq!(
        at.zone_url().as_str(),
        sim.zone_url(),
        "the discovered zone"
    );
    assert!(
        live.extension::<String>().is_none(),
        "nothing for a type the factory did not attach"
    );

    sim.clear_requests();
    let usage = at.threshold_information().await.unwrap();
    assert_eq!(usage.threshold, 10_000);
    assert_eq!(usage.timeframe_minutes, 60);
    assert!(usage.used >= 1, "this call is counted: {usage:?}");
    let paths: Vec<String> = sim.requests().into_iter().map(|q| q.path).collect();
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.ends_with("/v1.0/ThresholdInformation"))
            .count(),
        1,
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| is_zone_lookup(p)),
        "no second connector, no second zone lookup: {paths:?}"
    );

    // The same connector as the CRM handle: its requests count here.
    let before = at.http().requests_sent();
    let crm = live.crm().expect("CRM is enabled");
    let preview = crm.preview(&SyncFilter::default()).await.unwrap();
    assert_eq!(preview.companies, sim.companies().len() as u64);
    assert!(at.http().requests_sent() > before);
}
