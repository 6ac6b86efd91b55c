//! [`AutotaskProvider`]: the factory a host links into a
//! [`Registry`](scopelink_core::Registry) to turn stored Autotask
//! connections into live connectors.

use crate::client::{check, AutotaskConnector};
use crate::settings::{AutotaskSettings, ZONE_URL_SETTING};
use scopelink_core::error::ConnectorError;
use scopelink_core::provider::Provider;
use scopelink_core::registry::{ConnectRequest, ProviderConnection, ProviderFactory};
use scopelink_core::secret::{ApiUserSecret, Credentials};
use std::sync::Arc;

/// Autotask PSA in a [`Registry`](scopelink_core::Registry): settings are
/// [`AutotaskSettings`] (`zone_url`, `zone_lookup_url`, picklist choices),
/// credentials [`Credentials::ApiUserSecret`] (the API user's name, its
/// secret and the API tracking identifier).
///
/// Validating checks the credentials and the typed zone and lookup
/// addresses under the registry's address policy, with no request.
/// Connecting looks the zone up (`GET zoneInformation`, see
/// [`AutotaskConnector::connect`]) the first time and asks the registry to
/// store it under [`ZONE_URL_SETTING`]; later connects use it with no
/// lookup ([`AutotaskConnector::with_zone_url`]). The live connection
/// offers CRM (and Products) records, project push and opportunity
/// write-back. Webhooks are registered per entity through
/// [`AutotaskWebhookReceiver`](crate::AutotaskWebhookReceiver), not this
/// connection.
///
/// The live connection also carries the [`AutotaskConnector`] itself (the
/// one behind its capability handles), for Autotask's extras:
/// `live.extension::<AutotaskConnector>()` (see
/// [`LiveConnection::extension`](scopelink_core::LiveConnection::extension))
/// gives [`AutotaskConnector::threshold_information`], webhook
/// registration ([`AutotaskConnector::register_webhook`]), the zone, ...
#[derive(Debug, Clone, Copy, Default)]
pub struct AutotaskProvider;

/// The settings and credentials of `request`, checked without any network
/// call.
fn read(request: &ConnectRequest) -> Result<(AutotaskSettings, ApiUserSecret), ConnectorError> {
    let settings = AutotaskSettings::from_map(&request.settings)?;
    let Credentials::ApiUserSecret(credentials) = &request.credentials else {
        return Err(ConnectorError::InvalidConfig {
            field: "credentials",
            message: "Autotask connections need an API user: its user name, secret and API tracking identifier (Admin > Resources/Users, security level API User (API-only))".into(),
        });
    };
    check(&settings, credentials, &request.http)?;
    Ok((settings, credentials.clone()))
}

#[async_trait::async_trait]
impl ProviderFactory for AutotaskProvider {
    fn provider(&self) -> Provider {
        Provider::Autotask
    }

    fn validate(&self, request: &ConnectRequest) -> Result<(), ConnectorError> {
        read(request).map(|_| ())
    }

    async fn connect(&self, request: ConnectRequest) -> Result<ProviderConnection, ConnectorError> {
        let (settings, credentials) = read(&request)?;
        let stored = settings
            .zone_url
            .as_deref()
            .map(str::trim)
            .filter(|z| !z.is_empty())
            .map(str::to_string);
        let connector = match stored {
            Some(zone) => {
                AutotaskConnector::with_zone_url(&zone, settings, credentials, request.http)?
            }
            None => AutotaskConnector::connect(settings, credentials, request.http).await?,
        };
        let zone_url = connector.zone_url().to_string();
        let connector = Arc::new(connector);
        Ok(ProviderConnection::new(connector.clone())
            .crm(connector.clone())
            .psa(connector.clone())
            .writeback(connector.clone())
            .extension(connector)
            .persist(ZONE_URL_SETTING, zone_url))
    }
}
