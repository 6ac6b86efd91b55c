//! The settings of a HaloPSA connection, read from and written to the
//! connection's settings map through the core's [`scopelink_core::settings`].

use scopelink_core::ConnectorError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A connection's non-secret HaloPSA settings. Build them with
/// [`HaloPsaSettings::new`] and the builder methods, or read them with
/// [`HaloPsaSettings::from_map`] (the struct is `#[non_exhaustive]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(default)]
pub struct HaloPsaSettings {
    /// The HaloPSA web address, e.g. `companyxyz.halopsa.com`, with or
    /// without `https://` (a pasted `/api` or `/auth` suffix is dropped).
    /// Normalized to `https://host`; plain `http` only where the client's
    /// [`scopelink_core::http::AddressPolicy`] allows it (loopback tests).
    pub host: String,
    /// The tenant name, sent as `?tenant=` on the token request, for Halo
    /// setups whose auth server needs it (shown in HaloPSA under
    /// Configuration > Integrations > HaloPSA API > API Details). Usually
    /// `None`: a tenant on its own web address (`yourcompany.halopsa.com`)
    /// needs none. When `None`, the connector asks `GET /api/authinfo` once
    /// and sends the `tenant_id` it reports, if any; a tenant HaloPSA
    /// refuses is an [`ConnectorError::InvalidConfig`] on `tenant`.
    pub tenant: Option<String>,
    /// The ticket type id of projects (a type with milestones enabled).
    /// Needed to push projects.
    pub project_ticket_type_id: Option<String>,
    /// The ticket type id of project tasks; the project type is used when
    /// `None`.
    pub task_ticket_type_id: Option<String>,
}

impl HaloPsaSettings {
    /// Setting keys in a connection's settings map.
    pub const HOST: &'static str = "host";
    /// See [`HaloPsaSettings::tenant`].
    pub const TENANT: &'static str = "tenant";
    /// See [`HaloPsaSettings::project_ticket_type_id`].
    pub const PROJECT_TICKET_TYPE_ID: &'static str = "project_ticket_type_id";
    /// See [`HaloPsaSettings::task_ticket_type_id`].
    pub const TASK_TICKET_TYPE_ID: &'static str = "task_ticket_type_id";

    /// Settings for `host` with nothing else set.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            ..Self::default()
        }
    }

    /// With the tenant name sent on token requests.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// With the ticket type id of projects.
    ///
    /// ```
    /// use scopelink_halopsa::HaloPsaSettings;
    ///
    /// let settings = HaloPsaSettings::new("companyxyz.halopsa.com")
    ///     .project_ticket_type_id("3")
    ///     .task_ticket_type_id("26");
    /// assert_eq!(settings.to_map()["project_ticket_type_id"], "3");
    /// assert_eq!(settings.tenant, None);
    /// ```
    pub fn project_ticket_type_id(mut self, id: impl Into<String>) -> Self {
        self.project_ticket_type_id = Some(id.into());
        self
    }

    /// With the ticket type id of project tasks.
    pub fn task_ticket_type_id(mut self, id: impl Into<String>) -> Self {
        self.task_ticket_type_id = Some(id.into());
        self
    }

    /// Reads settings from a connection's settings map (the keys above;
    /// values trimmed, blank ones absent, other keys ignored).
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self, ConnectorError> {
        scopelink_core::settings::read(map)
    }

    /// Writes settings into a connection's settings map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        scopelink_core::settings::write(self)
    }
}
