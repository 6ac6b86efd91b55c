//! ConnectWise in a connector registry, against the testkit's simulator:
//! bad settings refused at create naming the field, connect with the
//! enabled capabilities, the discovered API base stored and reused, test
//! and sync in one call each, the connector handed back for callback
//! registration.

mod common;

use common::http_config;
use scopelink_connectwise::{
    ConnectWiseConnector, ConnectWiseProvider, ConnectWiseSettings, API_BASE_SETTING,
};
use scopelink_core::filter::SyncFilter;
use scopelink_core::http::HttpConfig;
use scopelink_core::model::DataType;
use scopelink_core::secret::{ApiKeyPair, ClientCredentials, Credentials, InMemoryVault};
use scopelink_core::store::RecordStore;
use scopelink_core::{
    Access, Connections, ConnectorError, Error, FeatureCategory, MemoryStore, NewConnection,
    Provider, Registry, SyncRequest,
};
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use std::sync::Arc;

struct Host {
    sim: ConnectWiseSim,
    store: Arc<MemoryStore>,
    registry: Registry,
}

async fn host(http: HttpConfig) -> Host {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(7, 2)).await;
    let store = Arc::new(MemoryStore::new());
    let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
    let registry = Registry::new(connections)
        .with_http(http)
        .with_provider(ConnectWiseProvider);
    Host {
        sim,
        store,
        registry,
    }
}

fn form(sim: &ConnectWiseSim, categories: &[FeatureCategory]) -> NewConnection {
    let settings =
        ConnectWiseSettings::new(sim.server_url().to_string(), sim.client_id().to_string());
    NewConnection::new(
        Provider::ConnectWiseManage,
        "Acme ConnectWise",
        Credentials::ApiKeyPair(ApiKeyPair::new(
            sim.company_id(),
            sim.public_key(),
            sim.private_key(),
        )),
    )
    .categories(categories.iter().copied())
    .settings(settings.to_map())
}

fn invalid_field(result: Result<impl std::fmt::Debug, Error>) -> &'static str {
    match result {
        Err(Error::Connector(ConnectorError::InvalidConfig { field, .. })) => field,
        other => panic!("expected an invalid setting, got {other:?}"),
    }
}

#[tokio::test]
async fn create_refuses_bad_settings_naming_the_field() {
    let access = Access::full();
    // A production host (public addresses only) refuses the loopback
    // simulator's address before anything is stored.
    let production = host(HttpConfig::default()).await;
    let new = form(&production.sim, &[FeatureCategory::Crm]);
    assert_eq!(
        invalid_field(production.registry.create(&access, new).await),
        "server_url"
    );
    assert!(production
        .registry
        .connections()
        .list(&access)
        .await
        .unwrap()
        .is_empty());

    let h = host(http_config()).await;
    let with = |key: &str, value: &str| {
        let mut new = form(&h.sim, &[FeatureCategory::Crm, FeatureCategory::Psa]);
        new.settings.insert(key.into(), value.into());
        new
    };
    for (key, value, field) in [
        ("server_url", "https://exa mple.com", "server_url"),
        ("server_url", "", "server_url"),
        ("client_id", " ", "client_id"),
        ("api_version", "2025.1; x=1", "api_version"),
        ("board_id", "main board", "board_id"),
        ("billing_method", "Hourly", "billing_method"),
        ("page_size", "0", "page_size"),
        ("page_size", "1001", "page_size"),
        ("page_size", "ten", "page_size"),
        (API_BASE_SETTING, "ftp://api.example.com/", API_BASE_SETTING),
    ] {
        assert_eq!(
            invalid_field(h.registry.create(&access, with(key, value)).await),
            field,
            "{key} = {value:?}"
        );
    }
    let mut wrong_kind = form(&h.sim, &[FeatureCategory::Crm]);
    wrong_kind.credentials = Credentials::ClientCredentials(ClientCredentials::new("id", "s"));
    assert_eq!(
        invalid_field(h.registry.create(&access, wrong_kind).await),
        "credentials"
    );
    assert!(h
        .registry
        .connections()
        .list(&access)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(h.sim.request_count(), 0, "validation makes no request");
}

#[tokio::test]
async fn connect_test_and_sync_store_the_api_base_once() {
    let access = Access::full();
    let h = host(http_config()).await;
    let c = h
        .registry
        .create(&access, form(&h.sim, &[FeatureCategory::Crm]))
        .await
        .unwrap();
    let tested = h.registry.test(&access, &c.id).await.unwrap();
    assert!(tested.is_connected(), "{:?}", tested.status);
    assert_eq!(
        tested.settings.get(API_BASE_SETTING).map(String::as_str),
        Some(h.sim.api_base()),
        "the discovered API base is stored"
    );
    let discoveries = |sim: &ConnectWiseSim| {
        sim.requests()
            .iter()
            .filter(|(_, target)| target.contains("/login/companyinfo/"))
            .count()
    };
    assert_eq!(discoveries(&h.sim), 1);

    let live = h.registry.connect(&access, &c.id).await.unwrap();
    assert!(live.crm().is_some() && live.writeback().is_some() && live.webhooks().is_some());
    assert!(
        live.psa().is_none(),
        "PSA is not enabled on this connection"
    );
    assert_eq!(discoveries(&h.sim), 1, "the stored API base is reused");

    let report = h
        .registry
        .sync(
            &access,
            &c.id,
            &SyncRequest::all().data_types(vec![DataType::Companies]),
            None,
        )
        .await
        .unwrap();
    let companies = h.sim.company_count() as u64;
    assert_eq!(
        report.counts(DataType::Companies).unwrap().created,
        companies
    );
    assert_eq!(
        h.store
            .count_records(&c.id, DataType::Companies)
            .await
            .unwrap(),
        companies
    );

    let both = h
        .registry
        .create(
            &access,
            form(&h.sim, &[FeatureCategory::Crm, FeatureCategory::Psa]),
        )
        .await
        .unwrap();
    let live = h.registry.connect(&access, &both.id).await.unwrap();
    assert!(live.psa().is_some());
}

#[tokio::test]
async fn the_page_size_setting_sizes_the_sync_pages() {
    let access = Access::full();
    let h = host(http_config()).await;
    let mut new = form(&h.sim, &[FeatureCategory::Crm]);
    new.settings.insert("page_size".into(), "7".into());
    let c = h.registry.create(&access, new).await.unwrap();
    h.sim.clear_requests();
    let report = h
        .registry
        .sync(
            &access,
            &c.id,
            &SyncRequest::all().data_types(vec![DataType::Companies]),
            None,
        )
        .await
        .unwrap();
    let companies = h.sim.company_count() as u64;
    assert_eq!(
        report.counts(DataType::Companies).unwrap().created,
        companies
    );
    let pages: Vec<String> = h
        .sim
        .requests()
        .iter()
        .filter(|(_, target)| target.contains("/company/companies?"))
        .map(|(_, target)| target.clone())
        .collect();
    assert_eq!(pages.len() as u64, companies.div_ceil(7), "{pages:?}");
    assert!(pages.iter().all(|t| t.contains("pageSize=7")), "{pages:?}");
}

#[tokio::test]
async fn refused_keys_and_unknown_company_are_recorded_by_the_test() {
    let access = Access::full();
    let h = host(http_config()).await;
    let mut bad_keys = form(&h.sim, &[FeatureCategory::Crm]);
    bad_keys.credentials = Credentials::ApiKeyPair(ApiKeyPair::new(
        h.sim.company_id(),
        h.sim.public_key(),
        "not-the-private-key",
    ));
    let c = h.registry.create(&access, bad_keys).await.unwrap();
    let tested = h.registry.test(&access, &c.id).await.unwrap();
    assert!(tested.is_error(), "{:?}", tested.status);
    assert!(!format!("{tested:?}").contains("not-the-private-key"));

    let mut unknown = form(&h.sim, &[FeatureCategory::Crm]);
    unknown.credentials = Credentials::ApiKeyPair(ApiKeyPair::new(
        "nosuchcompany",
        h.sim.public_key(),
        h.sim.private_key(),
    ));
    let c = h.registry.create(&access, unknown).await.unwrap();
    let tested = h.registry.test(&access, &c.id).await.unwrap();
    let reason = tested.error_reason().expect("Connection Error");
    assert!(reason.contains("company id"), "{reason}");
    assert!(!tested.settings.contains_key(API_BASE_SETTING));
}

#[tokio::test]
async fn the_live_connection_hands_back_its_connector_for_callbacks() {
    let access = Access::full();
    let h = host(http_config()).await;
    let c = h
        .registry
        .create(&access, form(&h.sim, &[FeatureCategory::Crm]))
        .await
        .unwrap();
    let live = h.registry.connect(&access, &c.id).await.unwrap();
    let cw = live
        .extension::<ConnectWiseConnector>()
        .expect("the ConnectWise factory attaches its connector");
    assert_eq!(cw.api_base().as_str(), h.sim.api_base());
    assert!(live.extension::<String>().is_none());

    // A ConnectWise extra no capability trait covers: callback registration.
    let hook = "https://hooks.example.com/connectwise";
    let ids = cw
        .register_callbacks(hook, &[DataType::Companies, DataType::Contacts])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let callbacks = h.sim.callbacks();
    assert_eq!(callbacks.len(), 2, "{callbacks:?}");
    assert!(
        callbacks
            .iter()
            .all(|cb| cb["url"].as_str().is_some_and(|u| u.starts_with(hook))),
        "{callbacks:?}"
    );

    // The same connector as the CRM handle: its requests count here.
    let before = cw.http().requests_sent();
    let preview = live
        .crm()
        .expect("CRM is enabled")
        .preview(&SyncFilter::default())
        .await
        .unwrap();
    assert_eq!(preview.companies, h.sim.company_count() as u64);
    assert!(cw.http().requests_sent() > before);
}
