//! The connector registry: the host builds it once from the providers it
//! links, its HTTP configuration and its [`Connections`] service (store and
//! vault), then turns any stored connection into its live connector with
//! one call.
//!
//! - [`Registry::create`] checks the settings and credentials through the
//!   provider's factory (no network) before anything is stored: a bad
//!   address is refused then, with an error naming the field.
//! - [`Registry::connect`] reads the credentials from the vault, builds the
//!   connector (discovering what the provider needs, and storing it on the
//!   connection so the next connect skips it) and hands out a
//!   [`LiveConnection`] with a handle for each capability the connection
//!   has enabled and the provider implements.
//! - [`Registry::test`], [`Registry::enable`], [`Registry::reconnect`],
//!   [`Registry::sync`] and [`Registry::push_project`] do the lifecycle
//!   steps that need a connector in one call each.
//!
//! Each provider crate exports one factory, named `<Provider>Provider`
//! (`ConnectWiseProvider`, `HaloPsaProvider`, ...), implementing
//! [`ProviderFactory`].
//!
//! # Provider extras: [`LiveConnection::extension`]
//!
//! The capability handles ([`LiveConnection::crm`],
//! [`LiveConnection::psa`], ...) are what every provider shares, and what
//! the registry's own calls use. What only one provider has (Autotask's
//! hourly request threshold, Salesforce's API limits and deleted-records
//! feed, webhook registration, ...) is a method of its concrete connector.
//! Each provider crate's factory attaches that connector to the connection
//! it builds ([`ProviderConnection::extension`]), and the host gets it back
//! by type from the live connection: `live.extension::<AutotaskConnector>()`
//! is `Some` for an Autotask connection, and its
//! `threshold_information()` reads the database's request threshold.
//!
//! Use it for those extras, instead of building a second concrete
//! connector beside the registry's: the extension is the same connector
//! the capability handles are, so it shares their HTTP client, rate
//! limiter, request counts and OAuth session (one token refresh, one
//! request budget). Keep using the capability handles for what they cover:
//! they are limited to the categories the connection has enabled, and the
//! extension is not. [`LiveConnection::extension`] is `None` when the
//! provider attached nothing of the type asked for (a connection of
//! another provider, say), so a host serving many providers asks for each
//! provider's type in turn. See its documentation for a complete example
//! with a fake factory.

mod extensions;
mod factory;
mod live;

pub use factory::{ConnectRequest, ProviderConnection, ProviderFactory};
pub use live::LiveConnection;

use crate::access::{Access, Permission};
use crate::connection::{Connection, ConnectionId};
use crate::connections::{Connections, NewConnection};
use crate::connector::Connector;
use crate::error::{ConnectorError, Error, RegistryError, TransitionError};
use crate::http::HttpConfig;
use crate::mapping::PushOptions;
use crate::model::ScopingProject;
use crate::provider::{FeatureCategory, Provider};
use crate::push::{PushProgress, PushReport};
use crate::secret::Credentials;
use crate::sync::{ProgressFn, SyncEngine, SyncReport, SyncRequest};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The providers a host links, its HTTP configuration and its connection
/// service. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    factories: Vec<Arc<dyn ProviderFactory>>,
    http: HttpConfig,
    connections: Connections,
    engine: SyncEngine,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("providers", &self.providers())
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A registry over `connections` with no provider linked yet, the
    /// default [`HttpConfig`] and a [`SyncEngine`] over `connections`.
    pub fn new(connections: Connections) -> Self {
        Self {
            factories: Vec::new(),
            http: HttpConfig::default(),
            engine: SyncEngine::new(connections.clone()),
            connections,
        }
    }

    /// Links a provider (its crate's `<Provider>Provider`). A later factory
    /// for the same provider replaces the earlier one.
    pub fn with_provider(mut self, factory: impl ProviderFactory + 'static) -> Self {
        let provider = factory.provider();
        self.factories.retain(|f| f.provider() != provider);
        self.factories.push(Arc::new(factory));
        self
    }

    /// The HTTP configuration every connector is built with (address
    /// policy, timeouts, retries, ...).
    pub fn with_http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// Syncs with `engine` (one built over the same [`Connections`], with
    /// its own lease duration or clock) instead of the default one.
    pub fn with_sync_engine(mut self, engine: SyncEngine) -> Self {
        self.engine = engine;
        self
    }

    /// The connection service (list, get, edit, disable, delete, activity).
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// The sync engine [`Registry::sync`] runs.
    pub fn sync_engine(&self) -> &SyncEngine {
        &self.engine
    }

    /// The HTTP configuration connectors are built with.
    pub fn http(&self) -> &HttpConfig {
        &self.http
    }

    /// The providers linked, in the order they were added.
    pub fn providers(&self) -> Vec<Provider> {
        self.factories.iter().map(|f| f.provider()).collect()
    }

    /// The factory for `provider`, or [`RegistryError::ProviderNotLinked`].
    pub fn factory(&self, provider: &Provider) -> Result<&dyn ProviderFactory, RegistryError> {
        self.factories
            .iter()
            .find(|f| f.serves(provider))
            .map(|f| f.as_ref())
            .ok_or_else(|| RegistryError::ProviderNotLinked {
                provider: provider.display_name(),
            })
    }

    /// Checks settings and credentials for `provider` as the connection
    /// form is filled in, without any network call or anything stored.
    pub fn validate(
        &self,
        provider: &Provider,
        settings: &std::collections::BTreeMap<String, String>,
        credentials: &Credentials,
    ) -> Result<(), Error> {
        let request = ConnectRequest::new(settings.clone(), credentials.clone(), self.http.clone());
        Ok(self.factory(provider)?.validate(&request)?)
    }

    /// Creates an untested connection (needs Manage and the entitlements),
    /// after its provider's factory accepted the settings and credentials
    /// ([`Registry::validate`]): a refused field stores nothing.
    pub async fn create(&self, access: &Access, new: NewConnection) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        access.require_entitled(&new.categories)?;
        self.validate(&new.provider, &new.settings, &new.credentials)?;
        self.connections.create(access, new).await
    }

    /// Turns a stored connection into its live connector (needs Manage: it
    /// reads the credentials). Refused for a disabled connection and for a
    /// provider not linked. Settings the connect discovered are stored on
    /// the connection before it returns.
    pub async fn connect(
        &self,
        access: &Access,
        id: &ConnectionId,
    ) -> Result<LiveConnection, Error> {
        access.require(Permission::Manage)?;
        let connection = self.connections.load(id).await?;
        if connection.is_disabled() {
            return Err(RegistryError::Disabled(id.clone()).into());
        }
        self.build(connection).await
    }

    /// Builds the connector of `connection` whatever its status, and stores
    /// the settings the factory discovered.
    async fn build(&self, connection: Connection) -> Result<LiveConnection, Error> {
        let factory = self.factory(&connection.provider)?;
        let credentials = self.connections.stored_credentials(&connection.id).await?;
        let request =
            ConnectRequest::new(connection.settings.clone(), credentials, self.http.clone())
                .for_connection(connection.id.clone(), self.connections.clone());
        let built = factory.connect(request).await?;
        let changed: Vec<(String, String)> = built
            .persist
            .iter()
            .filter(|(k, v)| connection.settings.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let connection = if changed.is_empty() {
            connection
        } else {
            let (_, saved, ()) = self
                .connections
                .update(&connection.id, |c| {
                    for (key, value) in &changed {
                        c.set_setting(key, value).map_err(TransitionError::from)?;
                    }
                    Ok(())
                })
                .await?;
            saved
        };
        Ok(LiveConnection::new(connection, built))
    }

    /// Tests the connection (needs Manage): builds its connector and makes
    /// the provider's cheapest authenticated call. The connection becomes
    /// Connected, or Connection Error with the reason, also when building
    /// the connector failed (an unreachable server, unknown company, ...).
    /// Refused for a disabled connection.
    pub async fn test(&self, access: &Access, id: &ConnectionId) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        match self.connect(access, id).await {
            Ok(live) => self.connections.test(access, id, live.connector()).await,
            Err(Error::Connector(e)) => {
                let failed = Failed::new(self.connections.load(id).await?.provider, e);
                self.connections.test(access, id, &failed).await
            }
            Err(e) => Err(e),
        }
    }

    /// Enables a disabled connection and tests it (needs Manage).
    pub async fn enable(&self, access: &Access, id: &ConnectionId) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        let connection = self.connections.load(id).await?;
        // Refused before the enable when the provider is not linked.
        self.factory(&connection.provider)?;
        match self.build(connection.clone()).await {
            Ok(live) => self.connections.enable(access, id, live.connector()).await,
            Err(Error::Connector(e)) => {
                let failed = Failed::new(connection.provider, e);
                self.connections.enable(access, id, &failed).await
            }
            Err(e) => Err(e),
        }
    }

    /// Replaces the credentials (needs Manage) once the provider's factory
    /// accepted their form with the connection's settings, then builds the
    /// connector from the stored credentials and tests the connection with
    /// it (see [`Connections::reconnect`]). The connector is built only
    /// after the vault holds the new credentials, so a connector that reads
    /// them from the vault (an OAuth session) uses the new ones; settings
    /// its connect discovers are stored, as in [`Registry::connect`].
    pub async fn reconnect(
        &self,
        access: &Access,
        id: &ConnectionId,
        credentials: Credentials,
    ) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        let connection = self.connections.load(id).await?;
        let factory = self.factory(&connection.provider)?;
        let request = ConnectRequest::new(
            connection.settings.clone(),
            credentials.clone(),
            self.http.clone(),
        )
        .for_connection(connection.id.clone(), self.connections.clone());
        factory.validate(&request)?;
        let saved = self
            .connections
            .replace_credentials(access, id, credentials)
            .await?;
        match self.build(saved).await {
            Ok(live) => self.connections.test(access, id, live.connector()).await,
            Err(Error::Connector(e)) => {
                let failed = Failed::new(connection.provider, e);
                self.connections.test(access, id, &failed).await
            }
            Err(e) => Err(e),
        }
    }

    /// Syncs the connection's CRM records into the store (needs Manage):
    /// connects, then runs the [`SyncEngine`] with its CRM source. When
    /// the provider refuses the credentials while connecting, the
    /// connection moves to Connection Error, as in a sync.
    pub async fn sync(
        &self,
        access: &Access,
        id: &ConnectionId,
        request: &SyncRequest,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<SyncReport, Error> {
        let live = self.connect_for_use(access, id).await?;
        let crm = live.crm().ok_or_else(|| {
            missing(
                &live,
                "CRM sync",
                [FeatureCategory::Crm, FeatureCategory::Products],
            )
        })?;
        Ok(self.engine.run(access, id, crm, request, progress).await?)
    }

    /// Pushes `project` to the connection's PSA (needs Manage): connects,
    /// then [`Connections::push_project`] with its PSA handle.
    pub async fn push_project(
        &self,
        access: &Access,
        id: &ConnectionId,
        project: &ScopingProject,
        options: &PushOptions,
        progress: Option<&(dyn Fn(&PushProgress) + Send + Sync)>,
    ) -> Result<PushReport, Error> {
        let live = self.connect_for_use(access, id).await?;
        let psa = live
            .psa()
            .ok_or_else(|| missing(&live, "project push", [FeatureCategory::Psa]))?;
        self.connections
            .push_project(access, id, psa, project, options, progress)
            .await
    }

    /// [`Registry::connect`], moving the connection to Connection Error
    /// when the provider refused its credentials.
    async fn connect_for_use(
        &self,
        access: &Access,
        id: &ConnectionId,
    ) -> Result<LiveConnection, Error> {
        match self.connect(access, id).await {
            Err(Error::Connector(e)) if e.is_auth_failure() => {
                if let Err(marking) = self.connections.record_error(id, &e.to_string()).await {
                    tracing::warn!(connection = %id, error = %marking, "could not mark the connection as failed");
                }
                Err(e.into())
            }
            other => other,
        }
    }
}

/// The error for a capability `live` lacks: which of `categories` is not
/// enabled, or that the connector does not implement it.
fn missing<const N: usize>(
    live: &LiveConnection,
    capability: &'static str,
    categories: [FeatureCategory; N],
) -> Error {
    let c = live.connection();
    let enabled = categories.iter().any(|k| c.categories.contains(k));
    let reason = if enabled {
        format!("the {} connector does not implement it", c.provider)
    } else {
        let names: Vec<String> = categories.iter().map(|k| k.to_string()).collect();
        format!(
            "the connection has not enabled {}; enable it in the connection's settings",
            names.join(" or ")
        )
    };
    RegistryError::MissingCapability {
        connection: c.id.clone(),
        provider: c.provider.display_name(),
        capability,
        reason,
    }
    .into()
}

/// A connector that could not be built: its test fails with the reason, so
/// the connection records it as a failed test would.
struct Failed {
    provider: Provider,
    error: Mutex<Option<ConnectorError>>,
}

impl Failed {
    fn new(provider: Provider, error: ConnectorError) -> Self {
        Self {
            provider,
            error: Mutex::new(Some(error)),
        }
    }
}

#[async_trait::async_trait]
impl Connector for Failed {
    fn provider(&self) -> Provider {
        self.provider.clone()
    }

    fn capabilities(&self) -> BTreeSet<FeatureCategory> {
        BTreeSet::new()
    }

    async fn test_connection(&self) -> Result<(), ConnectorError> {
        let taken = self.error.lock().ok().and_then(|mut e| e.take());
        Err(taken.unwrap_or_else(|| ConnectorError::Unsupported {
            what: "testing again a connector that could not be built".into(),
        }))
    }
}
