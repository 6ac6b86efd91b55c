//! The settings of a ConnectWise connection, read from and written to the
//! connection's settings map through the core's [`scopelink_core::settings`].

use scopelink_core::error::ConnectorError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The key under which a host stores the discovered API base in a
/// connection's settings, to build later connectors with
/// [`ConnectWiseConnector::with_api_base`](crate::ConnectWiseConnector::with_api_base).
pub const API_BASE_SETTING: &str = "api_base";

/// Non-secret settings of a ConnectWise connection. Build them with
/// [`ConnectWiseSettings::new`] and the builder methods, or read them with
/// [`ConnectWiseSettings::from_map`] (the struct is `#[non_exhaustive]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(default)]
pub struct ConnectWiseSettings {
    /// The server address as the user typed it: `https://na.myconnectwise.net`,
    /// `na.myconnectwise.net`, the API form `api-na.myconnectwise.net`, an
    /// on-premise host, or a pasted API path such as
    /// `https://api-na.myconnectwise.net/v4_6_release/apis/3.0/`; it is
    /// normalized to scheme and host by [`normalize_server_url`](crate::normalize_server_url), and the
    /// login and API hosts are derived from it by [`ConnectWiseSite`](crate::ConnectWiseSite).
    pub server_url: String,
    /// The integrator `clientId` (a GUID from developer.connectwise.com),
    /// supplied by the host application and sent on every call.
    pub client_id: String,
    /// The API version pinned in the `Accept` header (`YYYY.N`); default
    /// [`DEFAULT_API_VERSION`](crate::DEFAULT_API_VERSION).
    pub api_version: Option<String>,
    /// The project board new projects go on (a service board with
    /// `projectFlag`); needed to push projects.
    pub board_id: Option<String>,
    /// The billing method of new projects (`ActualRates`, `FixedFee`,
    /// `NotToExceed`, `OverrideRate`); default `ActualRates`.
    pub billing_method: Option<String>,
    /// Records per page of a sync, 1 to 1,000 (ConnectWise's largest
    /// `pageSize`); default 1,000. Smaller pages commit and report progress
    /// more often, for more requests.
    pub page_size: Option<String>,
}

impl ConnectWiseSettings {
    /// Settings for the server address the user typed and the
    /// integration's `clientId`, with everything else at its default.
    ///
    /// ```
    /// use scopelink_connectwise::ConnectWiseSettings;
    ///
    /// let settings = ConnectWiseSettings::new("na.myconnectwise.net", "3f1c2b7e-5d4a-4c8b-9e21-7a6f0c5d3b19")
    ///     .board_id("31")
    ///     .billing_method("FixedFee");
    /// assert_eq!(settings.to_map()["board_id"], "31");
    /// assert_eq!(ConnectWiseSettings::from_map(&settings.to_map()).unwrap(), settings);
    /// ```
    pub fn new(server_url: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            server_url: server_url.into(),
            client_id: client_id.into(),
            api_version: None,
            board_id: None,
            billing_method: None,
            page_size: None,
        }
    }

    /// With the API version pinned in the `Accept` header (`YYYY.N`).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// With the project board new projects go on.
    pub fn board_id(mut self, board_id: impl Into<String>) -> Self {
        self.board_id = Some(board_id.into());
        self
    }

    /// With the billing method of new projects.
    pub fn billing_method(mut self, method: impl Into<String>) -> Self {
        self.billing_method = Some(method.into());
        self
    }

    /// With `page_size` records per page of a sync (1 to 1,000).
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size.to_string());
        self
    }

    /// The page size of a sync: the setting, else 1,000. A value that is
    /// not a whole number from 1 to 1,000 is
    /// [`ConnectorError::InvalidConfig`] naming `page_size`.
    pub fn records_per_page(&self) -> Result<u32, ConnectorError> {
        let Some(text) = self.page_size.as_deref().map(str::trim) else {
            return Ok(crate::client::MAX_PAGE_SIZE);
        };
        match text.parse::<u32>() {
            Ok(n) if (1..=crate::client::MAX_PAGE_SIZE).contains(&n) => Ok(n),
            _ => Err(ConnectorError::InvalidConfig {
                field: "page_size",
                message: format!(
                    "the page size must be a whole number from 1 to {}; correct it in the connection form",
                    crate::client::MAX_PAGE_SIZE
                ),
            }),
        }
    }

    /// Reads settings from a connection's settings map (keys `server_url`,
    /// `client_id`, `api_version`, `board_id`, `billing_method`,
    /// `page_size`; values
    /// trimmed, blank ones absent, other keys such as [`API_BASE_SETTING`]
    /// ignored).
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self, ConnectorError> {
        scopelink_core::settings::read(map)
    }

    /// Writes the settings into a map (the inverse of [`Self::from_map`]).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        scopelink_core::settings::write(self)
    }
}
