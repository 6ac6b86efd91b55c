//! [`HaloPsaProvider`]: the factory a host links into a
//! [`Registry`](scopelink_core::Registry) to turn stored HaloPSA
//! connections into live connectors.

use crate::client::HaloPsaConnector;
use crate::settings::HaloPsaSettings;
use scopelink_core::error::ConnectorError;
use scopelink_core::provider::Provider;
use scopelink_core::registry::{ConnectRequest, ProviderConnection, ProviderFactory};
use scopelink_core::secret::Credentials;
use std::sync::Arc;

/// HaloPSA in a [`Registry`](scopelink_core::Registry): settings are
/// [`HaloPsaSettings`] (`host`, `tenant`, ticket type ids), credentials
/// [`Credentials::ClientCredentials`] (the API application's client id and
/// secret). Building the connector makes no request (the token is fetched
/// on the first call), so validating and connecting check the same things:
/// the host address under the registry's address policy, the ticket type
/// ids, the client id. The live connection offers CRM records and project
/// push.
///
/// The live connection also carries the [`HaloPsaConnector`] itself (the
/// one behind its capability handles, sharing its token), for HaloPSA's
/// extras: `live.extension::<HaloPsaConnector>()` (see
/// [`LiveConnection::extension`](scopelink_core::LiveConnection::extension))
/// gives its normalized address ([`HaloPsaConnector::base_url`]), its
/// request counts ([`HaloPsaConnector::http`]) and its page window
/// ([`HaloPsaConnector::concurrency`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct HaloPsaProvider;

fn build(request: &ConnectRequest) -> Result<HaloPsaConnector, ConnectorError> {
    let settings = HaloPsaSettings::from_map(&request.settings)?;
    let Credentials::ClientCredentials(credentials) = &request.credentials else {
        return Err(ConnectorError::InvalidConfig {
            field: "credentials",
            message: "HaloPSA connections need the client ID and secret of an API application (Configuration > Integrations > HaloPSA API)".into(),
        });
    };
    HaloPsaConnector::new(settings, credentials.clone(), request.http.clone())
}

#[async_trait::async_trait]
impl ProviderFactory for HaloPsaProvider {
    fn provider(&self) -> Provider {
        Provider::HaloPsa
    }

    fn validate(&self, request: &ConnectRequest) -> Result<(), ConnectorError> {
        build(request).map(|_| ())
    }

    async fn connect(&self, request: ConnectRequest) -> Result<ProviderConnection, ConnectorError> {
        let connector = Arc::new(build(&request)?);
        Ok(ProviderConnection::new(connector.clone())
            .crm(connector.clone())
            .psa(connector.clone())
            .extension(connector))
    }
}
