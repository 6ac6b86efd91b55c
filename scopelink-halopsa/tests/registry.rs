//! HaloPSA in a connector registry, against the testkit's simulator: bad
//! settings refused at create naming the field, connect with the enabled
//! capabilities, test and sync in one call each, the connector handed
//! back.

mod common;

use common::{credentials, http, settings};
use scopelink_core::filter::SyncFilter;
use scopelink_core::http::HttpConfig;
use scopelink_core::model::DataType;
use scopelink_core::secret::{ApiKeyPair, Credentials, InMemoryVault};
use scopelink_core::{
    Access, Connections, ConnectorError, Error, FeatureCategory, MemoryStore, NewConnection,
    Provider, Registry, SyncRequest,
};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaProvider};
use scopelink_testkit::halopsa::HaloPsaSim;
use std::sync::Arc;

fn registry(http: HttpConfig) -> Registry {
    let connections =
        Connections::new(Arc::new(MemoryStore::new()), Arc::new(InMemoryVault::new()));
    Registry::new(connections)
        .with_http(http)
        .with_provider(HaloPsaProvider)
}

fn form(host: &str, categories: &[FeatureCategory]) -> NewConnection {
    NewConnection::new(
        Provider::HaloPsa,
        "Acme HaloPSA",
        Credentials::ClientCredentials(credentials()),
    )
    .categories(categories.iter().copied())
    .settings(settings(host).to_map())
}

fn invalid_field(result: Result<impl std::fmt::Debug, Error>) -> &'static str {
    match result {
        Err(Error::Connector(ConnectorError::InvalidConfig { field, .. })) => field,
        other => panic!("expected an invalid setting, got {other:?}"),
    }
}

#[tokio::test]
async fn create_refuses_bad_settings_naming_the_field() {
    let sim = HaloPsaSim::start_default().await;
    let access = Access::full();
    // Public addresses only: the loopback simulator is refused.
    let production = registry(HttpConfig::default());
    assert_eq!(
        invalid_field(
            production
                .create(&access, form(&sim.uri(), &[FeatureCategory::Crm]))
                .await
        ),
        "host"
    );
    let r = registry(http());
    let with = |key: &str, value: &str| {
        let mut new = form(&sim.uri(), &[FeatureCategory::Crm, FeatureCategory::Psa]);
        new.settings.insert(key.into(), value.into());
        new
    };
    for (key, value) in [
        ("host", "https://exa mple.com"),
        ("project_ticket_type_id", "projects"),
        ("task_ticket_type_id", "3.5"),
    ] {
        assert_eq!(
            invalid_field(r.create(&access, with(key, value)).await),
            key,
            "{value:?}"
        );
    }
    let mut wrong_kind = form(&sim.uri(), &[FeatureCategory::Crm]);
    wrong_kind.credentials = Credentials::ApiKeyPair(ApiKeyPair::new("a", "b", "c"));
    assert_eq!(
        invalid_field(r.create(&access, wrong_kind).await),
        "credentials"
    );
    assert!(r.connections().list(&access).await.unwrap().is_empty());
    assert!(sim.requests().is_empty(), "validation makes no request");
}

#[tokio::test]
async fn connect_test_and_sync_in_one_call_each() {
    let sim = HaloPsaSim::start_default().await;
    let access = Access::full();
    let r = registry(http());
    let crm_only = r
        .create(&access, form(&sim.uri(), &[FeatureCategory::Crm]))
        .await
        .unwrap();
    let live = r.connect(&access, &crm_only.id).await.unwrap();
    assert!(live.crm().is_some());
    assert!(live.psa().is_none(), "PSA not enabled");
    assert!(live.writeback().is_none(), "HaloPSA has no write-back");

    let tested = r.test(&access, &crm_only.id).await.unwrap();
    assert!(tested.is_connected(), "{:?}", tested.status);
    let report = r
        .sync(
            &access,
            &crm_only.id,
            &SyncRequest::all().data_types(vec![DataType::Companies]),
            None,
        )
        .await
        .unwrap();
    // No filter: every client, active or not.
    let counts = report.counts(DataType::Companies).unwrap();
    assert_eq!(counts.created, sim.clients().len() as u64, "{counts:?}");

    let both = r
        .create(
            &access,
            form(&sim.uri(), &[FeatureCategory::Crm, FeatureCategory::Psa]),
        )
        .await
        .unwrap();
    assert!(r.connect(&access, &both.id).await.unwrap().psa().is_some());
}

#[tokio::test]
async fn the_live_connection_hands_back_its_connector() {
    let sim = HaloPsaSim::start_default().await;
    let access = Access::full();
    let r = registry(http());
    let c = r
        .create(&access, form(&sim.uri(), &[FeatureCategory::Crm]))
        .await
        .unwrap();
    let live = r.connect(&access, &c.id).await.unwrap();
    let halo = live
        .extension::<HaloPsaConnector>()
        .expect("the HaloPSA factory attaches its connector");
    assert_eq!(
        halo.base_url().trim_end_matches('/'),
        sim.uri().trim_end_matches('/')
    );
    assert!(live.extension::<String>().is_none());
    assert_eq!(halo.http().requests_sent(), 0, "connecting sends nothing");

    // The same connector as the CRM handle: one HTTP client, its requests
    // (the token and the count) seen here.
    let preview = live
        .crm()
        .expect("CRM is enabled")
        .preview(&SyncFilter::default())
        .await
        .unwrap();
    assert_eq!(preview.companies, sim.clients().len() as u64);
    assert!(halo.http().requests_sent() >= 2, "a token, then the count");
}
