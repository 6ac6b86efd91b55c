//! The connector registry with a fake provider factory: settings checked at
//! create, one call from a stored connection to its live connector with
//! the capabilities it has enabled, discovered settings stored, disabled
//! connections and providers not linked refused with typed errors.

mod common;

use common::{company, credentials, Env, FakeCrm, FakePsa};
use scopelink_core::access::{Access, Entitlements, Permission};
use scopelink_core::connector::Connector;
use scopelink_core::error::RegistryError;
use scopelink_core::model::DataType;
use scopelink_core::registry::{ConnectRequest, ProviderConnection};
use scopelink_core::secret::{ClientCredentials, Credentials};
use scopelink_core::store::RecordStore;
use scopelink_core::{
    async_trait, AccessError, ConnectorError, Error, FeatureCategory, NewConnection, Provider,
    ProviderFactory, Registry, SyncRequest,
};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The address a [`FakeFactory`] "discovers" and asks the registry to store.
const DISCOVERED: &str = "https://api.example.com/v1";

/// A factory for ConnectWise-shaped connections: a `server` setting that
/// must be https, API key credentials; its connector offers CRM (a
/// [`FakeCrm`] with one company) and PSA, and its test fails when the
/// public key is `bad`.
struct FakeFactory {
    connects: Arc<AtomicUsize>,
    crm: Arc<FakeCrm>,
}

impl FakeFactory {
    fn new() -> Self {
        let crm = FakeCrm::new(10);
        crm.put(company("c1", 1));
        Self {
            connects: Arc::new(AtomicUsize::new(0)),
            crm: Arc::new(crm),
        }
    }
}

struct FakeConnector {
    ok: bool,
}

#[async_trait]
impl Connector for FakeConnector {
    fn provider(&self) -> Provider {
        Provider::ConnectWiseManage
    }
    fn capabilities(&self) -> BTreeSet<FeatureCategory> {
        [FeatureCategory::Crm, FeatureCategory::Psa].into()
    }
    async fn test_connection(&self) -> Result<(), ConnectorError> {
        if self.ok {
            Ok(())
        } else {
            Err(ConnectorError::Authentication {
                message: "the keys were refused".into(),
            })
        }
    }
}

#[async_trait]
impl ProviderFactory for FakeFactory {
    fn provider(&self) -> Provider {
        Provider::ConnectWiseManage
    }

    fn validate(&self, request: &ConnectRequest) -> Result<(), ConnectorError> {
        let server = request.settings.get("server").map(String::as_str);
        if !server.is_some_and(|s| s.starts_with("https://")) {
            return Err(ConnectorError::InvalidConfig {
                field: "server",
                message: "enter an https address".into(),
            });
        }
        if !matches!(request.credentials, Credentials::ApiKeyPair(_)) {
            return Err(ConnectorError::InvalidConfig {
                field: "credentials",
                message: "API keys are needed".into(),
            });
        }
        Ok(())
    }

    async fn connect(&self, request: ConnectRequest) -> Result<ProviderConnection, ConnectorError> {
        self.validate(&request)?;
        self.connects.fetch_add(1, Ordering::SeqCst);
        let Credentials::ApiKeyPair(keys) = &request.credentials else {
            unreachable!("validated")
        };
        if keys.public_key == "unreachable" {
            return Err(ConnectorError::InvalidConfig {
                field: "server",
                message: "the server did not answer".into(),
            });
        }
        let connector = Arc::new(FakeConnector {
            ok: keys.public_key != "bad",
        });
        Ok(ProviderConnection::new(connector)
            .crm(self.crm.clone())
            .psa(Arc::new(FakePsa::new()))
            .persist("api_base", DISCOVERED))
    }
}

fn form(settings: &[(&str, &str)], categories: &[FeatureCategory]) -> NewConnection {
    NewConnection::new(Provider::ConnectWiseManage, "Acme", credentials())
        .categories(categories.iter().copied())
        .settings(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

const GOOD: &[(&str, &str)] = &[("server", "https://na.example.com")];

fn registry(env: &Env, factory: FakeFactory) -> Registry {
    Registry::new(env.connections.clone()).with_provider(factory)
}

#[tokio::test]
async fn create_refuses_bad_settings_with_the_field_and_stores_nothing() {
    let env = Env::new();
    let registry = registry(&env, FakeFactory::new());
    let err = registry
        .create(
            &env.access,
            form(
                &[("server", "http://na.example.com")],
                &[FeatureCategory::Crm],
            ),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Connector(ConnectorError::InvalidConfig {
                field: "server",
                ..
            })
        ),
        "{err:?}"
    );
    let mut wrong_kind = form(GOOD, &[FeatureCategory::Crm]);
    wrong_kind.credentials = Credentials::ClientCredentials(ClientCredentials::new("id", "s"));
    assert!(matches!(
        registry.create(&env.access, wrong_kind).await,
        Err(Error::Connector(ConnectorError::InvalidConfig {
            field: "credentials",
            ..
        }))
    ));
    assert!(env.connections.list(&env.access).await.unwrap().is_empty());
    assert!(env.vault.keys().is_empty(), "no credentials were stored");

    // A viewer is refused before the settings are looked at.
    let viewer = Access::with(Permission::View, Entitlements::of([FeatureCategory::Crm]));
    assert!(matches!(
        registry
            .create(&viewer, form(GOOD, &[FeatureCategory::Crm]))
            .await,
        Err(Error::Access(AccessError::MissingPermission { .. }))
    ));

    let created = registry
        .create(&env.access, form(GOOD, &[FeatureCategory::Crm]))
        .await
        .unwrap();
    assert!(created.is_untested());
}

#[tokio::test]
async fn connect_gives_the_enabled_capabilities_and_stores_what_it_discovered() {
    let env = Env::new();
    let factory = FakeFactory::new();
    let connects = factory.connects.clone();
    let registry = registry(&env, factory);
    let crm_only = registry
        .create(&env.access, form(GOOD, &[FeatureCategory::Crm]))
        .await
        .unwrap();
    let live = registry.connect(&env.access, &crm_only.id).await.unwrap();
    assert!(live.crm().is_some(), "CRM is enabled and implemented");
    assert!(live.psa().is_none(), "PSA is implemented but not enabled");
    assert!(live.writeback().is_none(), "not implemented by the fake");
    assert_eq!(live.connector().provider(), Provider::ConnectWiseManage);
    assert_eq!(
        live.connection()
            .settings
            .get("api_base")
            .map(String::as_str),
        Some(DISCOVERED)
    );
    let stored = env
        .connections
        .get(&env.access, &crm_only.id)
        .await
        .unwrap();
    assert_eq!(
        stored.settings.get("api_base").map(String::as_str),
        Some(DISCOVERED),
        "the discovered setting is stored"
    );
    assert_eq!(
        stored.settings.get("server"),
        crm_only.settings.get("server")
    );
    assert_eq!(connects.load(Ordering::SeqCst), 1);

    let both = registry
        .create(
            &env.access,
            form(GOOD, &[FeatureCategory::Crm, FeatureCategory::Psa]),
        )
        .await
        .unwrap();
    let live = registry.connect(&env.access, &both.id).await.unwrap();
    assert!(live.crm().is_some() && live.psa().is_some());

    // Connect reads secrets: a viewer may not.
    let viewer = Access::with(Permission::View, Entitlements::default());
    assert!(matches!(
        registry.connect(&viewer, &both.id).await,
        Err(Error::Access(_))
    ));
}

#[tokio::test]
async fn test_and_sync_in_one_call_each() {
    let env = Env::new();
    let registry = registry(&env, FakeFactory::new());
    let c = registry
        .create(&env.access, form(GOOD, &[FeatureCategory::Crm]))
        .await
        .unwrap();
    let tested = registry.test(&env.access, &c.id).await.unwrap();
    assert!(tested.is_connected(), "{:?}", tested.status);
    let report = registry
        .sync(
            &env.access,
            &c.id,
            &SyncRequest::all().data_types(vec![DataType::Companies]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(report.counts(DataType::Companies).unwrap().created, 1);
    assert_eq!(
        env.store
            .count_records(&c.id, DataType::Companies)
            .await
            .unwrap(),
        1
    );

    // No PSA enabled: the push is refused with the reason.
    let err = registry
        .push_project(
            &env.access,
            &c.id,
            &scopelink_core::mapping::sample_project(),
            &scopelink_core::mapping::PushOptions::for_company("1"),
            None,
        )
        .await
        .unwrap_err();
    let Error::Registry(RegistryError::MissingCapability { reason, .. }) = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("has not enabled PSA"), "{reason}");
}

#[tokio::test]
async fn a_connector_that_cannot_be_built_fails_the_test_with_its_reason() {
    let env = Env::new();
    let registry = registry(&env, FakeFactory::new());
    let mut new = form(GOOD, &[FeatureCategory::Crm]);
    new.credentials = Credentials::ApiKeyPair(scopelink_core::secret::ApiKeyPair::new(
        "acme",
        "unreachable",
        "k",
    ));
    let c = registry.create(&env.access, new).await.unwrap();
    let tested = registry.test(&env.access, &c.id).await.unwrap();
    assert!(
        tested
            .error_reason()
            .is_some_and(|r| r.contains("the server did not answer")),
        "{:?}",
        tested.status
    );

    // Refused keys: Connection Error; new keys through the registry: Connected.
    let mut new = form(GOOD, &[FeatureCategory::Crm]);
    new.credentials =
        Credentials::ApiKeyPair(scopelink_core::secret::ApiKeyPair::new("acme", "bad", "k"));
    let c = registry.create(&env.access, new).await.unwrap();
    assert!(registry.test(&env.access, &c.id).await.unwrap().is_error());
    let fixed = registry
        .reconnect(&env.access, &c.id, credentials())
        .await
        .unwrap();
    assert!(fixed.is_connected(), "{:?}", fixed.status);
}

#[tokio::test]
async fn disabled_connections_and_unlinked_providers_are_refused() {
    let env = Env::new();
    let registry = registry(&env, FakeFactory::new());
    let c = registry
        .create(&env.access, form(GOOD, &[FeatureCategory::Crm]))
        .await
        .unwrap();
    env.connections.disable(&env.access, &c.id).await.unwrap();
    let err = registry.connect(&env.access, &c.id).await.unwrap_err();
    assert!(
        matches!(&err, Error::Registry(RegistryError::Disabled(id)) if *id == c.id),
        "{err:?}"
    );
    assert!(err.to_string().contains("enable it"), "{err}");
    assert!(matches!(
        registry
            .sync(&env.access, &c.id, &SyncRequest::default(), None)
            .await,
        Err(Error::Registry(RegistryError::Disabled(_)))
    ));
    let enabled = registry.enable(&env.access, &c.id).await.unwrap();
    assert!(enabled.is_connected(), "{:?}", enabled.status);

    // HaloPSA is not linked into this registry.
    let mut halo = form(GOOD, &[FeatureCategory::Crm]);
    halo.provider = Provider::HaloPsa;
    let err = registry
        .create(&env.access, halo.clone())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        RegistryError::ProviderNotLinked {
            provider: "HaloPSA".into()
        }
        .to_string()
    );
    assert!(matches!(
        err,
        Error::Registry(RegistryError::ProviderNotLinked { .. })
    ));
    // A HaloPSA connection stored by another program cannot be connected here.
    let stored = env.connections.create(&env.access, halo).await.unwrap();
    assert!(matches!(
        registry.connect(&env.access, &stored.id).await,
        Err(Error::Registry(RegistryError::ProviderNotLinked { .. }))
    ));
    assert_eq!(registry.providers(), vec![Provider::ConnectWiseManage]);
}

/// A factory whose connector reads its credentials from the vault when it
/// is built (as an OAuth session does), not from the request: its test
/// passes unless the stored public key is `bad`.
struct VaultReadingFactory;

#[async_trait]
impl ProviderFactory for VaultReadingFactory {
    fn provider(&self) -> Provider {
        Provider::ConnectWiseManage
    }

    fn validate(&self, _request: &ConnectRequest) -> Result<(), ConnectorError> {
        Ok(())
    }

    async fn connect(&self, request: ConnectRequest) -> Result<ProviderConnection, ConnectorError> {
        let (Some(id), Some(connections)) = (request.connection_id(), request.connections()) else {
            return Err(ConnectorError::Unsupported {
                what: "connecting a connection that is not stored".into(),
            });
        };
        let stored = connections
            .credentials(&Access::full(), id)
            .await
            .map_err(|e| ConnectorError::Authentication {
                message: e.to_string(),
            })?;
        let Credentials::ApiKeyPair(keys) = stored else {
            unreachable!("API keys stored")
        };
        Ok(ProviderConnection::new(Arc::new(FakeConnector {
            ok: keys.public_key != "bad",
        })))
    }
}

#[tokio::test]
async fn reconnect_builds_the_connector_from_the_new_credentials_in_the_vault() {
    let env = Env::new();
    let registry = Registry::new(env.connections.clone()).with_provider(VaultReadingFactory);
    let mut new = form(GOOD, &[FeatureCategory::Crm]);
    new.credentials =
        Credentials::ApiKeyPair(scopelink_core::secret::ApiKeyPair::new("acme", "bad", "k"));
    let c = registry.create(&env.access, new).await.unwrap();
    assert!(registry.test(&env.access, &c.id).await.unwrap().is_error());
    let old_ref = env
        .connections
        .get(&env.access, &c.id)
        .await
        .unwrap()
        .credential_ref;

    let fixed = registry
        .reconnect(&env.access, &c.id, credentials())
        .await
        .unwrap();
    assert!(
        fixed.is_connected(),
        "the connector saw the old credentials: {:?}",
        fixed.status
    );
    assert_ne!(fixed.credential_ref, old_ref);
    let Credentials::ApiKeyPair(stored) = env
        .connections
        .credentials(&env.access, &c.id)
        .await
        .unwrap()
    else {
        panic!("API keys stored")
    };
    assert_eq!(stored.public_key, "pub-key-1");
}
