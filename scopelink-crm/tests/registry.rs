//! Salesforce in a connector registry, against the testkit's simulator: a
//! bad login host refused at create naming the field, and after the OAuth
//! flow completes, one `connect` gives a CRM handle that syncs and a test
//! that reads `/limits`, and hands back the connector for the API usage
//! and the deleted-records feed.

use scopelink_core::filter::SyncFilter;
use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig};
use scopelink_core::model::DataType;
use scopelink_core::oauth::{Callback, OAuthFlow};
use scopelink_core::registry::{ConnectRequest, ProviderFactory};
use scopelink_core::secret::{ApiKeyPair, ClientCredentials, Credentials};
use scopelink_core::store::PendingAuthorizationStore;
use scopelink_core::store::RecordStore;
use scopelink_core::{
    ConnectionId, ConnectorError, Error, FeatureCategory, NewConnection, Provider, Registry,
    SyncRequest,
};
use scopelink_crm::salesforce::{
    ApiUsage, SalesforceConnector, SalesforceProvider, SalesforceSettings,
};
use scopelink_testkit::host::MemoryEnv;
use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};
use secrecy::SecretString;
use std::sync::Arc;
use url::Url;

fn local() -> HttpConfig {
    HttpConfig::default().with_addresses(AddressPolicy::allow_local())
}

fn provider(config: &SalesforceSimConfig) -> SalesforceProvider {
    SalesforceProvider::new(
        &config.client_id,
        Some(SecretString::from(config.client_secret.clone())),
        &config.redirect_uri,
    )
}

fn registry(env: &MemoryEnv, config: &SalesforceSimConfig, http: HttpConfig) -> Registry {
    Registry::new(env.connections.clone())
        .with_http(http)
        .with_provider(provider(config))
}

fn form(config: &SalesforceSimConfig, settings: &SalesforceSettings) -> NewConnection {
    NewConnection::new(
        Provider::Salesforce,
        "Acme Salesforce",
        Credentials::ClientCredentials(ClientCredentials::new(
            &config.client_id,
            &config.client_secret,
        )),
    )
    .categories([FeatureCategory::Crm])
    .settings(settings.to_map())
}

/// The OAuth web-server flow for `connection`, the authorize URL followed
/// as a browser would.
async fn sign_in(
    sim: &SalesforceSim,
    env: &MemoryEnv,
    config: &SalesforceSimConfig,
    settings: &SalesforceSettings,
    connection: &ConnectionId,
) {
    let http = HttpClient::new(local()).unwrap();
    let client = provider(config)
        .oauth_client(settings, http.config().addresses)
        .unwrap();
    let flow = OAuthFlow::new(
        env.connections.clone(),
        env.store.clone() as Arc<dyn PendingAuthorizationStore>,
        http,
        client,
    );
    let start = flow.start(&env.access, connection).await.unwrap();
    let back = sim
        .follow(start.url.as_str())
        .expect("the login host redirects");
    flow.complete(
        &env.access,
        &Callback::from_url(&Url::parse(&back).unwrap()),
    )
    .await
    .unwrap();
}

fn invalid_field(result: Result<impl std::fmt::Debug, Error>) -> &'static str {
    match result {
        Err(Error::Connector(ConnectorError::InvalidConfig { field, .. })) => field,
        other => panic!("expected an invalid setting, got {other:?}"),
    }
}

#[tokio::test]
async fn create_refuses_a_bad_login_host_and_settings_naming_the_field() {
    let config = SalesforceSimConfig::default();
    let sim = SalesforceSim::start(config.clone()).await;
    let env = MemoryEnv::new();
    // Public addresses only: the loopback simulator is refused.
    let production = registry(&env, &config, HttpConfig::default());
    assert_eq!(
        invalid_field(
            production
                .create(
                    &env.access,
                    form(&config, &SalesforceSettings::new(sim.login_url()))
                )
                .await
        ),
        SalesforceSettings::LOGIN_HOST
    );
    for host in ["login.example.com", "http://login.salesforce.com"] {
        assert_eq!(
            invalid_field(
                production
                    .create(&env.access, form(&config, &SalesforceSettings::new(host)))
                    .await
            ),
            SalesforceSettings::LOGIN_HOST,
            "{host}"
        );
    }

    let r = registry(&env, &config, local());
    let with = |edit: fn(&mut SalesforceSettings)| {
        let mut s = SalesforceSettings::new(sim.login_url());
        edit(&mut s);
        form(&config, &s)
    };
    assert_eq!(
        invalid_field(
            r.create(&env.access, with(|s| s.api_version = Some("v20".into())))
                .await
        ),
        SalesforceSettings::API_VERSION
    );
    assert_eq!(
        invalid_field(
            r.create(&env.access, with(|s| s.batch_size = Some("5000".into())))
                .await
        ),
        SalesforceSettings::BATCH_SIZE
    );
    assert_eq!(
        invalid_field(
            r.create(
                &env.access,
                with(|s| s.instance_url = Some("https://evil.example.com".into()))
            )
            .await
        ),
        SalesforceSettings::INSTANCE_URL
    );
    let mut wrong_kind = form(&config, &SalesforceSettings::new(sim.login_url()));
    wrong_kind.credentials = Credentials::ApiKeyPair(ApiKeyPair::new("a", "b", "c"));
    assert_eq!(
        invalid_field(r.create(&env.access, wrong_kind).await),
        "credentials"
    );

    assert!(r.connections().list(&env.access).await.unwrap().is_empty());
    assert!(sim.requests().is_empty(), "validation makes no request");

    // A well-formed form is accepted, and a connect outside the registry
    // (no stored connection to read tokens from) is refused by name.
    let settings = SalesforceSettings::new(sim.login_url());
    let request = ConnectRequest::new(
        settings.to_map(),
        Credentials::ClientCredentials(ClientCredentials::new(
            &config.client_id,
            &config.client_secret,
        )),
        local(),
    );
    let factory = provider(&config);
    factory.validate(&request).unwrap();
    match factory.connect(request).await {
        Err(ConnectorError::InvalidConfig { field, .. }) => assert_eq!(field, "connection"),
        other => panic!("expected the connect refused, got {other:?}"),
    }
}

#[tokio::test]
async fn after_sign_in_connect_syncs_and_test_reads_limits() {
    let config = SalesforceSimConfig::default();
    let sim = SalesforceSim::start(config.clone()).await;
    let env = MemoryEnv::new();
    let r = registry(&env, &config, local());
    let settings = SalesforceSettings::new(sim.login_url());
    let connection = r
        .create(&env.access, form(&config, &settings))
        .await
        .unwrap();

    // Not signed in yet: no instance to call.
    match r.connect(&env.access, &connection.id).await {
        Err(Error::Connector(ConnectorError::InvalidConfig { field, .. })) => {
            assert_eq!(field, SalesforceSettings::INSTANCE_URL)
        }
        other => panic!("expected the missing instance named, got {other:?}"),
    }

    sign_in(&sim, &env, &config, &settings, &connection.id).await;

    let live = r.connect(&env.access, &connection.id).await.unwrap();
    assert!(live.crm().is_some());
    assert!(live.writeback().is_some(), "write-back comes with CRM");
    assert!(live.psa().is_none(), "Salesforce is no PSA");

    let requests = sim.request_count();
    let tested = r.test(&env.access, &connection.id).await.unwrap();
    assert!(tested.is_connected(), "{:?}", tested.status);
    let sent: Vec<String> = sim
        .requests()
        .into_iter()
        .skip(requests)
        .map(|q| q.path)
        .collect();
    assert!(
        sent.iter().any(|p| p.ends_with("/limits")),
        "the test reads /limits: {sent:?}"
    );

    let report = r
        .sync(
            &env.access,
            &connection.id,
            &SyncRequest::all().data_types(vec![DataType::Companies, DataType::Contacts]),
            None,
        )
        .await
        .unwrap();
    let companies = report.counts(DataType::Companies).unwrap();
    assert_eq!(
        companies.created,
        sim.accounts().len() as u64,
        "{companies:?}"
    );
    let contacts = report.counts(DataType::Contacts).unwrap();
    assert_eq!(
        contacts.created,
        sim.contacts().len() as u64,
        "{contacts:?}"
    );
    assert!(companies.created > 0 && contacts.created > 0);
}

#[tokio::test]
async fn the_live_connection_hands_back_its_connector_for_limits_and_deletions() {
    let config = SalesforceSimConfig::default();
    let sim = SalesforceSim::start(config.clone()).await;
    let env = MemoryEnv::new();
    let r = registry(&env, &config, local());
    let settings = SalesforceSettings::new(sim.login_url());
    let connection = r
        .create(&env.access, form(&config, &settings))
        .await
        .unwrap();
    sign_in(&sim, &env, &config, &settings, &connection.id).await;
    let live = r.connect(&env.access, &connection.id).await.unwrap();
    let salesforce = live
        .extension::<SalesforceConnector>()
        .expect("the Salesforce factory attaches its connector");
    assert!(live.extension::<String>().is_none());
    assert_eq!(salesforce.api_usage(), None, "no call made yet");

    // The org's daily allocation from `GET /limits`.
    sim.set_api_usage(1_234);
    let usage = salesforce.limits().await.unwrap();
    assert_eq!(
        usage,
        ApiUsage {
            used: sim.api_usage(),
            max: sim.daily_api_limit(),
        }
    );
    assert!(usage.used > 1_234, "the call itself is counted: {usage:?}");

    // The same connector (and OAuth session) as the CRM handle: the usage
    // its calls report is read here.
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    let report = r
        .sync(
            &env.access,
            &connection.id,
            &SyncRequest::all().data_types(vec![DataType::Companies]),
            None,
        )
        .await
        .unwrap();
    let accounts = sim.accounts().len() as u64;
    assert_eq!(
        report.counts(DataType::Companies).unwrap().created,
        accounts
    );
    live.crm()
        .expect("CRM is enabled")
        .preview(&SyncFilter::default())
        .await
        .unwrap();
    assert_eq!(
        salesforce.api_usage().map(|u| u.used),
        Some(sim.api_usage()),
        "the CRM handle's last call is the connector's"
    );

    // A deletion in Salesforce, applied through the deleted-records feed.
    let gone = sim.accounts()[0]["Id"].as_str().unwrap().to_string();
    assert!(sim.delete_account(&gone));
    let until = chrono::Utc::now() + chrono::Duration::minutes(2);
    let (deleted, _) = salesforce
        .apply_deletions(r.sync_engine(), &connection.id, since, until)
        .await
        .unwrap();
    assert!(deleted.deleted >= 1, "{deleted:?}");
    assert!(
        env.store
            .record(&connection.id, DataType::Companies, &gone)
            .await
            .unwrap()
            .is_none(),
        "the deleted account is gone from the store"
    );
    assert_eq!(
        env.store
            .count_records(&connection.id, DataType::Companies)
            .await
            .unwrap(),
        accounts - 1
    );
}
