//! [`SalesforceProvider`]: the factory a host links into a
//! [`Registry`](scopelink_core::Registry) to turn stored Salesforce
//! connections into live connectors.

use super::client::{version_and_batch, SalesforceConnector};
use super::settings::SalesforceSettings;
use scopelink_core::error::ConnectorError;
use scopelink_core::http::{AddressPolicy, HttpClient};
use scopelink_core::oauth::{OAuthClient, OAuthSession, Renewal};
use scopelink_core::provider::Provider;
use scopelink_core::registry::{ConnectRequest, ProviderConnection, ProviderFactory};
use scopelink_core::secret::Credentials;
use secrecy::SecretString;
use std::sync::Arc;

/// Salesforce in a [`Registry`](scopelink_core::Registry). Salesforce is
/// OAuth: the factory holds the host's connected app (consumer key, secret,
/// redirect URI), and each connection's settings are
/// [`SalesforceSettings`] (`login_host`, and after the sign-in
/// `oauth.instance_url`).
///
/// Validating checks, with no request, the login host (and the instance,
/// once recorded) under the registry's address policy, the API version
/// and the batch size, and that the credentials are the connected app's or
/// OAuth tokens. Connecting a connection whose OAuth flow has completed
/// builds an [`OAuthSession`] over the registry's
/// [`Connections`](scopelink_core::Connections) (tokens read from and
/// renewed in the vault, refresh-token renewal) and a
/// [`SalesforceConnector`]; it makes no request. The live connection
/// offers CRM records and opportunity write-back. Outbound Messages are
/// received through [`OutboundMessages`](super::OutboundMessages), not this
/// connection.
///
/// The live connection also carries the [`SalesforceConnector`] itself
/// (the one behind its capability handles, sharing its OAuth session), for
/// Salesforce's extras: `live.extension::<SalesforceConnector>()` (see
/// [`LiveConnection::extension`](scopelink_core::LiveConnection::extension))
/// gives [`SalesforceConnector::limits`], [`SalesforceConnector::api_usage`],
/// [`SalesforceConnector::apply_deletions`], ...
#[derive(Debug, Clone)]
pub struct SalesforceProvider {
    client_id: String,
    client_secret: Option<SecretString>,
    redirect_uri: String,
}

impl SalesforceProvider {
    /// The factory for the host's connected app: its consumer key
    /// (`client_id`), consumer secret (none for a public client using PKCE
    /// alone) and the callback URL registered on it (`redirect_uri`), as
    /// given to [`SalesforceSettings::oauth_client`].
    pub fn new(
        client_id: impl Into<String>,
        client_secret: Option<SecretString>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
            redirect_uri: redirect_uri.into(),
        }
    }

    /// The OAuth application for a connection with `settings` (its login
    /// host's endpoints), as the OAuth flow and the session use it.
    pub fn oauth_client(
        &self,
        settings: &SalesforceSettings,
        policy: AddressPolicy,
    ) -> Result<OAuthClient, ConnectorError> {
        settings.oauth_client(
            policy,
            &self.client_id,
            self.client_secret.clone(),
            &self.redirect_uri,
        )
    }

    /// The settings of `request` and the OAuth application for them,
    /// checked without any network call.
    fn read(
        &self,
        request: &ConnectRequest,
    ) -> Result<(SalesforceSettings, OAuthClient), ConnectorError> {
        let settings = SalesforceSettings::from_map(&request.settings)?;
        if !matches!(
            request.credentials,
            Credentials::ClientCredentials(_) | Credentials::OAuth(_)
        ) {
            return Err(ConnectorError::InvalidConfig {
                field: "credentials",
                message: "Salesforce connections sign in with OAuth: store the connected app's consumer key and secret, then connect through Salesforce sign-in".into(),
            });
        }
        let policy = request.http.addresses;
        let client = self.oauth_client(&settings, policy)?;
        if settings
            .instance_url
            .as_deref()
            .is_some_and(|i| !i.trim().is_empty())
        {
            settings.instance(policy)?;
        }
        version_and_batch(&settings)?;
        Ok((settings, client))
    }
}

#[async_trait::async_trait]
impl ProviderFactory for SalesforceProvider {
    fn provider(&self) -> Provider {
        Provider::Salesforce
    }

    fn validate(&self, request: &ConnectRequest) -> Result<(), ConnectorError> {
        self.read(request).map(|_| ())
    }

    async fn connect(&self, request: ConnectRequest) -> Result<ProviderConnection, ConnectorError> {
        let (settings, client) = self.read(&request)?;
        let (Some(id), Some(connections)) = (request.connection_id(), request.connections()) else {
            return Err(ConnectorError::InvalidConfig {
                field: "connection",
                message: "a Salesforce connector reads its OAuth tokens from a stored connection; connect it through Registry::connect".into(),
            });
        };
        let http = HttpClient::new(request.http.clone())?;
        let session = OAuthSession::new(
            connections.clone(),
            http.clone(),
            client,
            id.clone(),
            Renewal::RefreshToken,
        );
        let connector = Arc::new(SalesforceConnector::new(settings, session, http)?);
        Ok(ProviderConnection::new(connector.clone())
            .crm(connector.clone())
            .writeback(connector.clone())
            .extension(connector))
    }
}
