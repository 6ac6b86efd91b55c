//! Provider extensions on a live connection, with a fake factory: what the
//! factory attached comes back by type (the same instance its capability
//! handles use), whatever categories the connection enables; nothing for a
//! type it did not attach; `Debug` names the types and shows no value; each
//! connect builds its own.

mod common;

use common::{credentials, new_connection, Env, FakeConnector, FakeCrm, SECRET};
use scopelink_core::registry::{ConnectRequest, ProviderConnection};
use scopelink_core::secret::Credentials;
use scopelink_core::{
    async_trait, ConnectorError, FeatureCategory, LiveConnection, Provider, ProviderFactory,
    Registry,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

/// A provider-specific handle holding a secret (as an API session would).
struct Session {
    key: SecretString,
}

/// Builds a [`FakeConnector`] (also attached as an extension), a CRM handle
/// and a [`Session`] over the connection's private key.
struct ExtrasFactory;

#[async_trait]
impl ProviderFactory for ExtrasFactory {
    fn provider(&self) -> Provider {
        Provider::ConnectWiseManage
    }

    fn validate(&self, _: &ConnectRequest) -> Result<(), ConnectorError> {
        Ok(())
    }

    async fn connect(&self, request: ConnectRequest) -> Result<ProviderConnection, ConnectorError> {
        let Credentials::ApiKeyPair(keys) = &request.credentials else {
            return Err(ConnectorError::InvalidConfig {
                field: "credentials",
                message: "API keys are needed".into(),
            });
        };
        let connector = Arc::new(FakeConnector::ok());
        Ok(ProviderConnection::new(connector.clone())
            .crm(Arc::new(FakeCrm::new(10)))
            .extension(connector)
            .extension(Arc::new(Session {
                key: keys.private_key.clone(),
            })))
    }
}

async fn connect(env: &Env, categories: &[FeatureCategory]) -> (Registry, LiveConnection) {
    let registry = Registry::new(env.connections.clone()).with_provider(ExtrasFactory);
    let connection = registry
        .create(
            &env.access,
            new_connection(Provider::ConnectWiseManage, categories),
        )
        .await
        .unwrap();
    let live = registry.connect(&env.access, &connection.id).await.unwrap();
    (registry, live)
}

#[tokio::test]
async fn attached_handles_come_back_by_type_whatever_the_categories() {
    let env = Env::new();
    let (_, live) = connect(&env, &[FeatureCategory::Crm]).await;
    let connector = live
        .extension::<FakeConnector>()
        .expect("the factory attached its connector");
    live.connector().test_connection().await.unwrap();
    assert_eq!(
        connector.calls(),
        1,
        "the extension is the connector the live connection tests with"
    );
    let session = live.extension::<Session>().expect("attached");
    let Credentials::ApiKeyPair(keys) = credentials() else {
        unreachable!("API keys")
    };
    assert_eq!(
        session.key.expose_secret(),
        keys.private_key.expose_secret()
    );
    assert!(
        live.extension::<FakeCrm>().is_none(),
        "a capability handle is not an extension unless attached as one"
    );
    assert!(live.extension::<Arc<FakeConnector>>().is_none());

    // Not limited to the enabled categories: none enabled here.
    let (_, bare) = connect(&env, &[]).await;
    assert!(bare.crm().is_none());
    assert!(bare.extension::<FakeConnector>().is_some());
    assert!(bare.extension::<Session>().is_some());
}

#[tokio::test]
async fn debug_names_the_extension_types_and_shows_no_value() {
    let env = Env::new();
    let (_, live) = connect(&env, &[FeatureCategory::Crm]).await;
    let shown = format!("{live:?}");
    assert!(shown.contains("extensions"), "{shown}");
    assert!(shown.contains("Session"), "{shown}");
    assert!(shown.contains("FakeConnector"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
}

#[tokio::test]
async fn each_connect_builds_its_own_clones_share_one() {
    let env = Env::new();
    let (registry, live) = connect(&env, &[FeatureCategory::Crm]).await;
    let again = registry
        .connect(&env.access, &live.connection().id)
        .await
        .unwrap();
    let first = live.extension::<FakeConnector>().unwrap();
    assert!(!Arc::ptr_eq(
        &first,
        &again.extension::<FakeConnector>().unwrap()
    ));
    let clone = live.clone();
    assert!(Arc::ptr_eq(
        &first,
        &clone.extension::<FakeConnector>().unwrap()
    ));
}
