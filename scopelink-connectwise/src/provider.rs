//! [`ConnectWiseProvider`]: the factory a host links into a
//! [`Registry`](scopelink_core::Registry) to turn stored ConnectWise
//! connections into live connectors.

use crate::client::{check, ConnectWiseConnector};
use crate::push::check_push_settings;
use crate::settings::{ConnectWiseSettings, API_BASE_SETTING};
use crate::site::ConnectWiseSite;
use scopelink_core::error::ConnectorError;
use scopelink_core::http::validate_url;
use scopelink_core::provider::Provider;
use scopelink_core::registry::{ConnectRequest, ProviderConnection, ProviderFactory};
use scopelink_core::secret::{ApiKeyPair, Credentials};
use std::sync::Arc;
use url::Url;

/// ConnectWise Manage in a [`Registry`](scopelink_core::Registry): settings
/// are [`ConnectWiseSettings`] (`server_url`, `client_id`, ...), credentials
/// [`Credentials::ApiKeyPair`] (company id, public and private key).
///
/// Connecting discovers the API base (see [`ConnectWiseConnector::connect`])
/// the first time and asks the registry to store it under
/// [`API_BASE_SETTING`]; later connects use it with no discovery request
/// ([`ConnectWiseConnector::with_api_base`]). The live connection offers
/// CRM (and Products) records, project push, opportunity write-back and
/// callbacks.
///
/// The live connection also carries the [`ConnectWiseConnector`] itself
/// (the one behind its capability handles), for ConnectWise's extras:
/// `live.extension::<ConnectWiseConnector>()` (see
/// [`LiveConnection::extension`](scopelink_core::LiveConnection::extension))
/// gives [`ConnectWiseConnector::register_callbacks`], its API base and
/// site, its request counts ([`ConnectWiseConnector::http`]), ...
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectWiseProvider;

/// The settings and keys of `request`, checked without any network call.
fn read(request: &ConnectRequest) -> Result<(ConnectWiseSettings, ApiKeyPair), ConnectorError> {
    let settings = ConnectWiseSettings::from_map(&request.settings)?;
    let Credentials::ApiKeyPair(keys) = &request.credentials else {
        return Err(ConnectorError::InvalidConfig {
            field: "credentials",
            message:
                "ConnectWise connections need API member keys (company id, public key, private key)"
                    .into(),
        });
    };
    ConnectWiseSite::parse(&settings.server_url, request.http.addresses)?;
    check(&settings, keys)?;
    check_push_settings(&settings)?;
    Ok((settings, keys.clone()))
}

/// The API base stored on the connection, if any.
fn stored_api_base(request: &ConnectRequest) -> Result<Option<Url>, ConnectorError> {
    let Some(base) = request
        .settings
        .get(API_BASE_SETTING)
        .map(|b| b.trim())
        .filter(|b| !b.is_empty())
    else {
        return Ok(None);
    };
    validate_url(base, request.http.addresses)
        .map(Some)
        .map_err(|e| ConnectorError::InvalidConfig {
            field: API_BASE_SETTING,
            message: format!("the stored ConnectWise API address is refused: {e}; remove it to discover it again"),
        })
}

#[async_trait::async_trait]
impl ProviderFactory for ConnectWiseProvider {
    fn provider(&self) -> Provider {
        Provider::ConnectWiseManage
    }

    fn validate(&self, request: &ConnectRequest) -> Result<(), ConnectorError> {
        read(request)?;
        stored_api_base(request)?;
        Ok(())
    }

    async fn connect(&self, request: ConnectRequest) -> Result<ProviderConnection, ConnectorError> {
        let (settings, keys) = read(&request)?;
        let connector = match stored_api_base(&request)? {
            Some(base) => ConnectWiseConnector::with_api_base(base, settings, keys, request.http)?,
            None => ConnectWiseConnector::connect(settings, keys, request.http).await?,
        };
        let api_base = connector.api_base().to_string();
        let connector = Arc::new(connector);
        Ok(ProviderConnection::new(connector.clone())
            .crm(connector.clone())
            .psa(connector.clone())
            .writeback(connector.clone())
            .webhooks(connector.clone())
            .extension(connector)
            .persist(API_BASE_SETTING, api_base))
    }
}
