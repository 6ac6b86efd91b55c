//! [`LiveConnection`]: a stored connection with its live connector and a
//! handle for each capability it has.

use super::factory::ProviderConnection;
use crate::connection::Connection;
use crate::connector::{
    Connector, CrmSource, ESignature, FileStorage, OpportunityWriteBack, PsaProjects,
    WebhookReceiver,
};
use crate::provider::FeatureCategory;
use std::any::Any;
use std::sync::Arc;

/// A connection turned into its live connector by
/// [`Registry::connect`](super::Registry::connect). Each capability handle
/// is there when the connection has enabled its category AND the provider's
/// connector implements it. Cheap to clone (the handles are shared).
#[derive(Clone)]
pub struct LiveConnection {
    connection: Connection,
    built: ProviderConnection,
}

impl std::fmt::Debug for LiveConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConnection")
            .field("connection", &self.connection.id)
            .field("provider", &self.connection.provider)
            .field("crm", &self.crm().is_some())
            .field("psa", &self.psa().is_some())
            .field("writeback", &self.writeback().is_some())
            .field("webhooks", &self.webhooks().is_some())
            .field("extensions", &self.built.extensions.names())
            .finish_non_exhaustive()
    }
}

impl LiveConnection {
    /// `built` for `connection`, its handles limited to the categories the
    /// connection has enabled.
    pub(crate) fn new(connection: Connection, mut built: ProviderConnection) -> Self {
        let on = |c: FeatureCategory| connection.categories.contains(&c);
        if !on(FeatureCategory::Crm) && !on(FeatureCategory::Products) {
            built.crm = None;
        }
        if !on(FeatureCategory::Crm) {
            built.writeback = None;
        }
        if !on(FeatureCategory::Psa) {
            built.psa = None;
        }
        if !on(FeatureCategory::ESignature) {
            built.esign = None;
        }
        if !on(FeatureCategory::FileStorage) {
            built.files = None;
        }
        built.persist.clear();
        Self { connection, built }
    }

    /// The connection as stored once the connector was built (with any
    /// setting the connect discovered).
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The connector: its provider, capabilities and connection test.
    pub fn connector(&self) -> &dyn Connector {
        self.built.connector.as_ref()
    }

    /// The CRM source, when the connection enables CRM or Products and the
    /// provider has one: give it to [`crate::SyncEngine::run`].
    pub fn crm(&self) -> Option<&dyn CrmSource> {
        self.built.crm.as_deref()
    }

    /// The PSA project creation, when the connection enables PSA and the
    /// provider has it: give it to [`crate::Connections::push_project`].
    pub fn psa(&self) -> Option<&dyn PsaProjects> {
        self.built.psa.as_deref()
    }

    /// Opportunity write-back, when the connection enables CRM and the
    /// provider has it.
    pub fn writeback(&self) -> Option<&dyn OpportunityWriteBack> {
        self.built.writeback.as_deref()
    }

    /// The webhook receiver, when the provider has one.
    pub fn webhooks(&self) -> Option<&dyn WebhookReceiver> {
        self.built.webhooks.as_deref()
    }

    /// E-signature, when the connection enables it and the provider has it.
    pub fn esign(&self) -> Option<&dyn ESignature> {
        self.built.esign.as_deref()
    }

    /// File storage, when the connection enables it and the provider has it.
    pub fn files(&self) -> Option<&dyn FileStorage> {
        self.built.files.as_deref()
    }

    /// The CRM source as a shared handle (to move into a task).
    pub fn crm_shared(&self) -> Option<Arc<dyn CrmSource>> {
        self.built.crm.clone()
    }

    /// The PSA project creation as a shared handle.
    pub fn psa_shared(&self) -> Option<Arc<dyn PsaProjects>> {
        self.built.psa.clone()
    }

    /// The provider-specific handle of type `T` the provider's factory
    /// attached ([`ProviderConnection::extension`]), or `None` for a type
    /// it did not attach. Each provider crate's factory attaches its
    /// concrete connector (`AutotaskConnector`, `SalesforceConnector`,
    /// ...; its docs say which), the same one the capability handles
    /// share, for the provider's extras no capability trait covers: usage
    /// and limits, deletion feeds, webhook registration, ... Ask for the
    /// type itself, not its `Arc`. Each [`Registry::connect`](super::Registry::connect)
    /// builds a new connector; clones of one live connection share theirs.
    ///
    /// Unlike the capability handles, an extension is not limited to the
    /// categories the connection has enabled: the concrete connector can
    /// do everything its provider implements. Use the capability handles
    /// for what they cover, so a disabled category stays off, and the
    /// extension only for the provider's own extras.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use scopelink_core::connector::Connector;
    /// use scopelink_core::registry::{ConnectRequest, ProviderConnection};
    /// use scopelink_core::secret::{ApiKeyPair, Credentials, InMemoryVault};
    /// use scopelink_core::{
    ///     async_trait, Access, ConnectorError, Connections, FeatureCategory, MemoryStore,
    ///     NewConnection, Provider, ProviderFactory, Registry,
    /// };
    /// use std::collections::BTreeSet;
    /// use std::sync::Arc;
    ///
    /// // A provider crate's concrete connector, with an extra of its own.
    /// struct AcmeConnector;
    ///
    /// impl AcmeConnector {
    ///     /// The requests left this hour: no capability trait covers it.
    ///     async fn requests_left(&self) -> Result<u32, ConnectorError> {
    ///         Ok(4_200)
    ///     }
    /// }
    ///
    /// #[async_trait]
    /// impl Connector for AcmeConnector {
    ///     fn provider(&self) -> Provider {
    ///         Provider::HaloPsa
    ///     }
    ///     fn capabilities(&self) -> BTreeSet<FeatureCategory> {
    ///         BTreeSet::new()
    ///     }
    ///     async fn test_connection(&self) -> Result<(), ConnectorError> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// // Its factory hands out the connector as trait handles and attaches
    /// // the same connector as itself.
    /// struct AcmeProvider;
    ///
    /// #[async_trait]
    /// impl ProviderFactory for AcmeProvider {
    ///     fn provider(&self) -> Provider {
    ///         Provider::HaloPsa
    ///     }
    ///     fn validate(&self, _: &ConnectRequest) -> Result<(), ConnectorError> {
    ///         Ok(())
    ///     }
    ///     async fn connect(&self, _: ConnectRequest) -> Result<ProviderConnection, ConnectorError> {
    ///         let connector = Arc::new(AcmeConnector);
    ///         Ok(ProviderConnection::new(connector.clone()).extension(connector))
    ///     }
    /// }
    ///
    /// // The host: one registry, then any stored connection made live.
    /// let store = Arc::new(MemoryStore::new());
    /// let connections = Connections::new(store, Arc::new(InMemoryVault::new()));
    /// let registry = Registry::new(connections).with_provider(AcmeProvider);
    /// let access = Access::full();
    /// let keys = ApiKeyPair::new("acme", "public-key", "private-key");
    /// let new = NewConnection::new(Provider::HaloPsa, "Acme", Credentials::ApiKeyPair(keys));
    /// let connection = registry.create(&access, new).await?;
    /// let live = registry.connect(&access, &connection.id).await?;
    ///
    /// let acme = live
    ///     .extension::<AcmeConnector>()
    ///     .ok_or("the Acme factory attaches its connector")?;
    /// assert_eq!(acme.requests_left().await?, 4_200);
    /// // Nothing for a type the factory did not attach.
    /// assert!(live.extension::<String>().is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn extension<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.built.extensions.get::<T>()
    }
}
