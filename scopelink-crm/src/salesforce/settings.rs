//! The settings of a Salesforce connection, read from and written to the
//! connection's settings map through the core's [`scopelink_core::settings`],
//! and the checks of the hosts they name.

use scopelink_core::http::{validate_url, AddressPolicy};
use scopelink_core::oauth::OAuthClient;
use scopelink_core::ConnectorError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use url::Url;

/// The production login host.
pub const PRODUCTION_LOGIN: &str = "login.salesforce.com";
/// The sandbox login host.
pub const SANDBOX_LOGIN: &str = "test.salesforce.com";

/// Domains a Salesforce login host or instance lives under: production
/// and sandbox logins and My Domains (`*.my.salesforce.com`,
/// `*.sandbox.my.salesforce.com`), classic instances (`na1.salesforce.com`),
/// Government Cloud (`*.my.salesforce.mil`) and Salesforce on Alibaba Cloud
/// (`*.sfcrmproducts.cn`).
pub const SALESFORCE_DOMAINS: [&str; 5] = [
    "salesforce.com",
    "force.com",
    "cloudforce.com",
    "salesforce.mil",
    "sfcrmproducts.cn",
];

/// The scopes asked for: the REST API and a refresh token.
pub const SCOPES: [&str; 2] = ["api", "refresh_token"];

/// A connection's non-secret Salesforce settings.
///
/// `instance_url` and `identity_url` are written by the core's OAuth flow
/// (the token response's `instance_url` and `id`, recorded as
/// `oauth.instance_url` and `oauth.id`); the others are typed or chosen by
/// the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SalesforceSettings {
    /// Where users sign in: `login.salesforce.com` (production, the
    /// default when empty), `test.salesforce.com` (sandboxes) or the org's
    /// My Domain (`acme.my.salesforce.com`). Any other host is refused.
    pub login_host: String,
    /// The org's API host from the token response (`oauth.instance_url`):
    /// every API call goes there.
    #[serde(rename = "oauth.instance_url")]
    pub instance_url: Option<String>,
    /// The token response's identity URL (`oauth.id`,
    /// `https://login.salesforce.com/id/{orgId}/{userId}`): where the org id
    /// that Outbound Messages must carry comes from.
    #[serde(rename = "oauth.id")]
    pub identity_url: Option<String>,
    /// The REST API version (`59.0`); when `None`, the newest the org lists
    /// at `GET /services/data/`.
    pub api_version: Option<String>,
    /// Records per query page (`Sforce-Query-Options: batchSize`), 200 to
    /// 2000; Salesforce's default (2000) when `None`.
    pub batch_size: Option<String>,
    /// The API name of an Account picklist offered as the "status" filter
    /// (`Rating`, `Customer_Status__c`); none when `None`.
    pub status_field: Option<String>,
    /// The API name of an Account picklist offered as the "territory"
    /// filter (`Region__c`); none when `None`.
    pub territory_field: Option<String>,
    /// The id of the Outbound Message action whose messages this
    /// connection accepts (`04k...`); any action of the org when `None`.
    pub outbound_action_id: Option<String>,
}

impl SalesforceSettings {
    /// See [`SalesforceSettings::login_host`].
    pub const LOGIN_HOST: &'static str = "login_host";
    /// See [`SalesforceSettings::instance_url`].
    pub const INSTANCE_URL: &'static str = "oauth.instance_url";
    /// See [`SalesforceSettings::identity_url`].
    pub const IDENTITY_URL: &'static str = "oauth.id";
    /// See [`SalesforceSettings::api_version`].
    pub const API_VERSION: &'static str = "api_version";
    /// See [`SalesforceSettings::batch_size`].
    pub const BATCH_SIZE: &'static str = "batch_size";

    /// Settings for signing in at `login_host` with nothing else set.
    pub fn new(login_host: impl Into<String>) -> Self {
        Self {
            login_host: login_host.into(),
            ..Self::default()
        }
    }

    /// Reads settings from a connection's settings map.
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<Self, ConnectorError> {
        scopelink_core::settings::read(map)
    }

    /// Writes settings into a connection's settings map.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        scopelink_core::settings::write(self)
    }

    /// The login host as a base URL (`https://login.salesforce.com/`),
    /// checked: https on a Salesforce domain (see [`SALESFORCE_DOMAINS`]),
    /// or, only when `policy` allows loopback, a loopback address (a
    /// simulator). Anything else is [`ConnectorError::InvalidConfig`] on
    /// `login_host`.
    pub fn login_url(&self, policy: AddressPolicy) -> Result<Url, ConnectorError> {
        let typed = self.login_host.trim();
        let typed = if typed.is_empty() {
            PRODUCTION_LOGIN
        } else {
            typed
        };
        salesforce_url(typed, policy).map_err(|problem| ConnectorError::InvalidConfig {
            field: Self::LOGIN_HOST,
            message: format!(
                "{problem}; enter {PRODUCTION_LOGIN} (production), {SANDBOX_LOGIN} (sandbox) or your My Domain, such as acme.my.salesforce.com"
            ),
        })
    }

    /// The instance URL, checked like the login host. Missing means the
    /// connection was never authorized.
    pub fn instance(&self, policy: AddressPolicy) -> Result<Url, ConnectorError> {
        let Some(typed) = self.instance_url.as_deref().map(str::trim) else {
            return Err(ConnectorError::InvalidConfig {
                field: Self::INSTANCE_URL,
                message: "the connection has no Salesforce instance yet; connect it through Salesforce sign-in first".into(),
            });
        };
        salesforce_url(typed, policy).map_err(|problem| ConnectorError::InvalidConfig {
            field: Self::INSTANCE_URL,
            message: format!("{problem}; connect the connection through Salesforce sign-in again"),
        })
    }

    /// The org id from the identity URL (`.../id/{orgId}/{userId}`), if
    /// known.
    pub fn organization_id(&self) -> Option<String> {
        let url = Url::parse(self.identity_url.as_deref()?.trim()).ok()?;
        let mut segments = url.path_segments()?;
        while let Some(segment) = segments.next() {
            if segment == "id" {
                return segments
                    .next()
                    .filter(|s| is_record_id(s))
                    .map(str::to_string);
            }
        }
        None
    }

    /// The OAuth application for this connection's login host: the
    /// authorize and token endpoints under `/services/oauth2/`, scopes
    /// `api refresh_token`, the secret sent in the form body, and the token
    /// response's `instance_url` and `id` recorded as settings.
    pub fn oauth_client(
        &self,
        policy: AddressPolicy,
        client_id: &str,
        client_secret: Option<secrecy::SecretString>,
        redirect_uri: &str,
    ) -> Result<OAuthClient, ConnectorError> {
        let login = self.login_url(policy)?;
        let join = |path: &str| {
            login.join(path).map_err(|e| ConnectorError::InvalidConfig {
                field: Self::LOGIN_HOST,
                message: format!("the login host cannot take `{path}`: {e}"),
            })
        };
        let mut client = OAuthClient::new(
            join("services/oauth2/authorize")?,
            join("services/oauth2/token")?,
            client_id,
            redirect_uri,
        );
        client.client_secret = client_secret;
        client.scopes = SCOPES.iter().map(|s| s.to_string()).collect();
        client.recorded_fields = vec!["instance_url".into(), "id".into()];
        Ok(client)
    }
}

/// Whether `host` is a Salesforce domain or a subdomain of one.
fn on_salesforce_domain(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    SALESFORCE_DOMAINS
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// `typed` (with or without `https://`) as a root URL on a Salesforce
/// domain, or on loopback where `policy` allows it.
pub(crate) fn salesforce_url(typed: &str, policy: AddressPolicy) -> Result<Url, String> {
    let with_scheme = if typed.contains("://") {
        typed.to_string()
    } else {
        format!("https://{typed}")
    };
    let mut url = validate_url(&with_scheme, policy).map_err(|e| e.to_string())?;
    let host = url.host_str().unwrap_or_default().to_string();
    let loopback = policy.allow_loopback
        && match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
    if !loopback && (url.scheme() != "https" || !on_salesforce_domain(&host)) {
        return Err(format!("`{typed}` is not a Salesforce host"));
    }
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// Whether `s` looks like a Salesforce record id: 15 or 18 ASCII letters
/// and digits. Checked before an id goes into a URL path or a SOQL literal.
pub fn is_record_id(s: &str) -> bool {
    matches!(s.len(), 15 | 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_hosts_production_sandbox_and_my_domain_are_accepted() {
        let policy = AddressPolicy::public_only();
        for (typed, want) in [
            ("", "https://login.salesforce.com/"),
            ("test.salesforce.com", "https://test.salesforce.com/"),
            (
                "https://acme.my.salesforce.com/some/page?x=1",
                "https://acme.my.salesforce.com/",
            ),
            (
                "acme--uat.sandbox.my.salesforce.com",
                "https://acme--uat.sandbox.my.salesforce.com/",
            ),
        ] {
            let url = SalesforceSettings::new(typed).login_url(policy).unwrap();
            assert_eq!(url.as_str(), want, "{typed}");
        }
    }

    #[test]
    fn login_hosts_elsewhere_or_over_http_are_refused() {
        let policy = AddressPolicy::public_only();
        for typed in [
            "evil.example.com",
            "salesforce.com.evil.example",
            "http://login.salesforce.com",
            "notsalesforce.com",
            "127.0.0.1",
        ] {
            let err = SalesforceSettings::new(typed)
                .login_url(policy)
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    ConnectorError::InvalidConfig {
                        field: "login_host",
                        ..
                    }
                ),
                "{typed}: {err}"
            );
        }
        // A simulator on loopback only when the host opts in.
        let local = SalesforceSettings::new("http://127.0.0.1:9999");
        assert!(local.login_url(AddressPolicy::allow_local()).is_ok());
    }

    #[test]
    fn settings_round_trip_through_the_connection_map() {
        let mut map = BTreeMap::new();
        map.insert("login_host".into(), "test.salesforce.com".into());
        map.insert(
            "oauth.instance_url".into(),
            "https://acme.my.salesforce.com".into(),
        );
        map.insert(
            "oauth.id".into(),
            "https://login.salesforce.com/id/00D5g000004XXXXEAA/0055g00000AbCdEAAB".into(),
        );
        let s = SalesforceSettings::from_map(&map).unwrap();
        assert_eq!(s.organization_id().as_deref(), Some("00D5g000004XXXXEAA"));
        assert_eq!(
            s.instance(AddressPolicy::public_only()).unwrap().as_str(),
            "https://acme.my.salesforce.com/"
        );
        assert_eq!(SalesforceSettings::from_map(&s.to_map()).unwrap(), s);
    }

    #[test]
    fn oauth_client_points_at_the_login_host() {
        let c = SalesforceSettings::new("test.salesforce.com")
            .oauth_client(
                AddressPolicy::public_only(),
                "cid",
                None,
                "https://app.example/cb",
            )
            .unwrap();
        assert_eq!(
            c.authorize_url.as_str(),
            "https://test.salesforce.com/services/oauth2/authorize"
        );
        assert_eq!(
            c.token_url.as_str(),
            "https://test.salesforce.com/services/oauth2/token"
        );
        assert_eq!(c.scope(), "api refresh_token");
        assert_eq!(c.recorded_fields, vec!["instance_url", "id"]);
    }
}
