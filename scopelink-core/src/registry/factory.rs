//! What a provider crate implements to be linked into a
//! [`Registry`](super::Registry): [`ProviderFactory`], the input it gets
//! ([`ConnectRequest`]) and what it builds ([`ProviderConnection`]).

use super::extensions::Extensions;
use crate::connection::ConnectionId;
use crate::connections::Connections;
use crate::connector::{
    Connector, CrmSource, ESignature, FileStorage, OpportunityWriteBack, PsaProjects,
    WebhookReceiver,
};
use crate::error::ConnectorError;
use crate::http::HttpConfig;
use crate::provider::Provider;
use crate::secret::Credentials;
use async_trait::async_trait;
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a factory is given: a connection's stored settings and credentials,
/// the registry's HTTP configuration and, when connecting a stored
/// connection, its id and the [`Connections`] service (what an OAuth
/// factory needs to build an
/// [`OAuthSession`](crate::oauth::OAuthSession) reading and renewing the
/// connection's tokens in the vault).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectRequest {
    /// The connection's non-secret settings (text keys and values; read
    /// them with the provider's settings type, see [`crate::settings`]).
    pub settings: BTreeMap<String, String>,
    /// The connection's credentials, from the vault.
    pub credentials: Credentials,
    /// The host's HTTP configuration (address policy, timeouts, ...).
    pub http: HttpConfig,
    /// The stored connection being connected, with the service holding it.
    stored: Option<(ConnectionId, Connections)>,
}

impl ConnectRequest {
    /// A request for `settings` and `credentials` under `http` (the
    /// registry builds these; tests of a factory may too).
    pub fn new(
        settings: BTreeMap<String, String>,
        credentials: Credentials,
        http: HttpConfig,
    ) -> Self {
        Self {
            settings,
            credentials,
            http,
            stored: None,
        }
    }

    /// The same request for the stored connection `id`, whose store and
    /// vault are behind `connections` ([`Registry::connect`](super::Registry::connect)
    /// and the lifecycle calls fill this in; [`Registry::validate`](super::Registry::validate)
    /// and create, before anything is stored, do not).
    pub fn for_connection(mut self, id: ConnectionId, connections: Connections) -> Self {
        self.stored = Some((id, connections));
        self
    }

    /// The id of the stored connection being connected, if any (none while
    /// a new connection's form is validated).
    pub fn connection_id(&self) -> Option<&ConnectionId> {
        self.stored.as_ref().map(|(id, _)| id)
    }

    /// The connection service the connection is stored in, if any: an
    /// OAuth factory builds its session over it.
    pub fn connections(&self) -> Option<&Connections> {
        self.stored.as_ref().map(|(_, c)| c)
    }
}

/// What each provider crate exports one of (`<Provider>Provider`, e.g.
/// `ConnectWiseProvider`), so a host links the providers it wants into a
/// [`Registry`](super::Registry) and turns stored connections into live
/// connectors with one call.
#[async_trait]
pub trait ProviderFactory: Send + Sync {
    /// The provider it builds connectors for.
    fn provider(&self) -> Provider;

    /// Whether it builds connectors for connections of `provider` (by
    /// default: `provider` is [`ProviderFactory::provider`]; a factory
    /// serving a family of providers, such as every file-storage
    /// integration, answers for each).
    fn serves(&self, provider: &Provider) -> bool {
        *provider == self.provider()
    }

    /// Checks settings and credentials without any network call, as they
    /// are entered: a missing field, an address the HTTP policy refuses, a
    /// malformed id, credentials of the wrong kind. Errors are
    /// [`ConnectorError::InvalidConfig`] naming the field to fix (or
    /// [`ConnectorError::Authentication`] for empty keys).
    fn validate(&self, request: &ConnectRequest) -> Result<(), ConnectorError>;

    /// Builds the live connector from the stored settings and credentials,
    /// making whatever discovery calls the provider needs. Settings found
    /// that way (an API base, ...) go in
    /// [`ProviderConnection::persist`], and the registry stores them on the
    /// connection so the next connect skips the discovery.
    async fn connect(&self, request: ConnectRequest) -> Result<ProviderConnection, ConnectorError>;
}

/// A connector a factory built, with a handle for each capability its
/// provider implements and, for what the capability traits do not cover
/// (a provider's own usage figures, deletion feeds, ...), its concrete
/// connector or other provider-specific handles attached with
/// [`ProviderConnection::extension`].
#[derive(Clone)]
pub struct ProviderConnection {
    pub(crate) connector: Arc<dyn Connector>,
    pub(crate) crm: Option<Arc<dyn CrmSource>>,
    pub(crate) psa: Option<Arc<dyn PsaProjects>>,
    pub(crate) writeback: Option<Arc<dyn OpportunityWriteBack>>,
    pub(crate) webhooks: Option<Arc<dyn WebhookReceiver>>,
    pub(crate) esign: Option<Arc<dyn ESignature>>,
    pub(crate) files: Option<Arc<dyn FileStorage>>,
    pub(crate) extensions: Extensions,
    pub(crate) persist: BTreeMap<String, String>,
}

impl std::fmt::Debug for ProviderConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConnection")
            .field("provider", &self.connector.provider())
            .field("crm", &self.crm.is_some())
            .field("psa", &self.psa.is_some())
            .field("writeback", &self.writeback.is_some())
            .field("webhooks", &self.webhooks.is_some())
            .field("esign", &self.esign.is_some())
            .field("files", &self.files.is_some())
            .field("extensions", &self.extensions.names())
            .field("persist", &self.persist.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ProviderConnection {
    /// A connection with `connector` (its test and capabilities) and no
    /// capability handle yet.
    pub fn new(connector: Arc<dyn Connector>) -> Self {
        Self {
            connector,
            crm: None,
            psa: None,
            writeback: None,
            webhooks: None,
            esign: None,
            files: None,
            extensions: Extensions::default(),
            persist: BTreeMap::new(),
        }
    }

    /// With a CRM source (CRM records, and the product catalog where the
    /// provider has one).
    pub fn crm(mut self, crm: Arc<dyn CrmSource>) -> Self {
        self.crm = Some(crm);
        self
    }

    /// With project creation in a PSA.
    pub fn psa(mut self, psa: Arc<dyn PsaProjects>) -> Self {
        self.psa = Some(psa);
        self
    }

    /// With opportunity write-back.
    pub fn writeback(mut self, writeback: Arc<dyn OpportunityWriteBack>) -> Self {
        self.writeback = Some(writeback);
        self
    }

    /// With a webhook receiver.
    pub fn webhooks(mut self, webhooks: Arc<dyn WebhookReceiver>) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// With e-signature.
    pub fn esign(mut self, esign: Arc<dyn ESignature>) -> Self {
        self.esign = Some(esign);
        self
    }

    /// With file storage.
    pub fn files(mut self, files: Arc<dyn FileStorage>) -> Self {
        self.files = Some(files);
        self
    }

    /// With a provider-specific handle the host gets back by its type
    /// through [`LiveConnection::extension`](super::LiveConnection::extension):
    /// a factory attaches its concrete connector (the same `Arc` it hands
    /// out as the capability handles, so both share one HTTP client, rate
    /// limiter and token cache) for the provider's extras the capability
    /// traits do not cover. One value per type: attaching a second value
    /// of the same type replaces the first.
    pub fn extension<T: Any + Send + Sync>(mut self, value: Arc<T>) -> Self {
        self.extensions.insert(value);
        self
    }

    /// With a setting the connect discovered, which the registry stores on
    /// the connection (a detected API base, a tenant, ...).
    pub fn persist(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.persist.insert(key.into(), value.into());
        self
    }
}
