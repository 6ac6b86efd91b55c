//! The settings of an Autotask connection, read from and written to the
//! connection's settings map through the core's [`scopelink_core::settings`].

use scopelink_core::error::ConnectorError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The key under which the discovered zone URL is kept in a connection's
/// settings (the field [`AutotaskSettings::zone_url`]).
pub const ZONE_URL_SETTING: &str = "zone_url";

/// Non-secret settings of an Autotask connection. The API user name, its
/// secret and the API tracking identifier are the credentials
/// ([`scopelink_core::secret::ApiUserSecret`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutotaskSettings {
    /// The REST root of the database's zone as `zoneInformation` answered
    /// it (`https://webservices5.autotask.net/ATServicesRest/`). Empty on a
    /// new connection: [`AutotaskConnector::connect`](crate::AutotaskConnector::connect)
    /// discovers it, and the host stores
    /// [`AutotaskConnector::zone_url`](crate::AutotaskConnector::zone_url)
    /// here so later connectors skip the lookup.
    pub zone_url: Option<String>,
    /// Where the zone is looked up; default
    /// [`DEFAULT_ZONE_LOOKUP_URL`](crate::DEFAULT_ZONE_LOOKUP_URL). Any zone
    /// host answers the lookup.
    pub zone_lookup_url: Option<String>,
    /// The `projectType` picklist value of pushed projects; default the
    /// picklist's default value, else `Client` (read from
    /// `Projects/entityInformation/fields`).
    pub project_type: Option<String>,
    /// The `status` picklist value of pushed projects; default the
    /// picklist's default value, else the push form's choice.
    pub project_status: Option<String>,
    /// The `taskType` picklist value of pushed tasks (Autotask requires one);
    /// default the picklist's default value, else the first.
    pub task_type: Option<String>,
    /// The `status` picklist value of pushed tasks; default the picklist's
    /// default value, else `New`, else the first.
    pub task_status: Option<String>,
}

impl AutotaskSettings {
    /// Reads settings from a connection's settings map (keys as the field
    /// names; values trimmed, blank ones absent, unknown keys ignored).
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self, ConnectorError> {
        scopelink_core::settings::read(map)
    }

    /// Writes the settings into a map (the inverse of [`Self::from_map`]).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        scopelink_core::settings::write(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_a_map() {
        let s = AutotaskSettings {
            zone_url: Some("https://webservices3.autotask.net/ATServicesRest/".into()),
            task_type: Some("1".into()),
            ..AutotaskSettings::default()
        };
        let map = s.to_map();
        assert_eq!(
            map.get(ZONE_URL_SETTING).map(String::as_str),
            Some("https://webservices3.autotask.net/ATServicesRest/")
        );
        assert_eq!(AutotaskSettings::from_map(&map).unwrap(), s);
    }
}
