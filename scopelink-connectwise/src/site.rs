//! Where a ConnectWise site answers: the login host the user knows, the API
//! host calls must go to, and the cloud region.
//!
//! ConnectWise's Developer Guide ("Authentication", "Cloud vs Premise",
//! "Cloud URLs"):
//!
//! - `/login/companyinfo/{companyId}` is called on the site the user logs in
//!   to (`https://na.myconnectwise.net/login/companyinfo/connectwise`); its
//!   answer has a `Codebase` but no host.
//! - Cloud and staging calls must go to the `api-` host
//!   (`api-na.myconnectwise.net`, `api-eu...`, `api-au...`,
//!   `api-staging.connectwisedev.com`), else they fail with
//!   `{"code":"Security","message":"SSL is required."}` or a 401. A codebase
//!   other than `v4_6_release/` means the site is in the cloud and the
//!   request must be prefixed by `API-`.
//! - On-premise servers answer `v4_6_release/` and are called on the host
//!   as it is.
//!
//! The user may type either form of a cloud host (`na.myconnectwise.net` or
//! `api-na.myconnectwise.net`); [`ConnectWiseSite`] keeps both.

use crate::client::normalize_server_url;
use scopelink_core::error::ConnectorError;
use scopelink_core::http::AddressPolicy;
use scopelink_core::pages::same_origin;
use url::{Host, Url};

/// The domains of ConnectWise's cloud and staging sites (Developer Guide,
/// "Cloud URLs": `na|eu|au|aus|za.myconnectwise.net`,
/// `staging.connectwisedev.com`).
pub const CLOUD_DOMAINS: [&str; 2] = ["myconnectwise.net", "connectwisedev.com"];

/// The codebase on-premise servers report (without its trailing slash).
pub const ON_PREMISE_CODEBASE: &str = "v4_6_release";

/// The prefix of ConnectWise cloud API hosts.
const API_PREFIX: &str = "api-";

/// The site name (first label without `api-`) and cloud domain of a host
/// under one of [`CLOUD_DOMAINS`]: `("na", "myconnectwise.net")` for
/// `api-na.myconnectwise.net`; `None` for any other host.
fn cloud_site_name(host: &str) -> Option<(String, &'static str)> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let (first, domain) = host.split_once('.')?;
    let domain = CLOUD_DOMAINS.iter().copied().find(|d| *d == domain)?;
    let name = first.strip_prefix(API_PREFIX).unwrap_or(first);
    (!name.is_empty()).then(|| (name.to_string(), domain))
}

/// The cloud region and domain a ConnectWise host belongs to, for telling
/// sibling hosts of one region apart from the rest: `na`, `api-na` and
/// `sandbox-na.myconnectwise.net` are all `("na", "myconnectwise.net")`
/// (real callbacks name their signing key on `sandbox-na` beside entity
/// links on `na`, see `fixtures/connectwise/README.md` section 9); `None`
/// for a host outside ConnectWise's cloud domains.
pub(crate) fn cloud_region_of(host: &str) -> Option<(String, &'static str)> {
    let (name, domain) = cloud_site_name(host)?;
    let region = name.strip_prefix("sandbox-").unwrap_or(&name);
    (!region.is_empty()).then(|| (region.to_string(), domain))
}

/// A ConnectWise site as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectWiseSite {
    /// `scheme://host[:port]/` as typed (normalized).
    typed: Url,
    /// `scheme://host[:port]/` of the login site (`na.myconnectwise.net`).
    login: Url,
    /// The cloud region (`na`, `eu`, `au`, `aus`, `za`, `staging`, ...)
    /// when the host is under a [`CLOUD_DOMAINS`] domain.
    region: Option<String>,
}

impl ConnectWiseSite {
    /// Parses a user-typed server address (see [`normalize_server_url`]:
    /// scheme optional, any path dropped, checked against `policy`).
    pub fn parse(input: &str, policy: AddressPolicy) -> Result<Self, ConnectorError> {
        Ok(Self::from_url(&normalize_server_url(input, policy)?))
    }

    /// The site of an already normalized `scheme://host[:port]/` URL.
    pub fn from_url(url: &Url) -> Self {
        let mut typed = url.clone();
        typed.set_path("/");
        typed.set_query(None);
        typed.set_fragment(None);
        let mut login = typed.clone();
        let mut region = None;
        if let Some((name, domain)) = typed.host_str().and_then(cloud_site_name) {
            // A valid domain name with one label changed stays valid.
            let _ = login.set_host(Some(&format!("{name}.{domain}")));
            region = Some(name);
        }
        Self {
            typed,
            login,
            region,
        }
    }

    /// `scheme://host[:port]/` of the site the user logs in to, where
    /// `/login/companyinfo` is called: a cloud host without its `api-`
    /// prefix, any other host as typed.
    pub fn login_url(&self) -> &Url {
        &self.login
    }

    /// The address as the user typed it, normalized to `scheme://host[:port]/`.
    pub fn typed_url(&self) -> &Url {
        &self.typed
    }

    /// The cloud region (`na`, `eu`, `au`, `aus`, `za`, `staging`, ...) of
    /// a `*.myconnectwise.net` or `*.connectwisedev.com` host; `None` for an
    /// on-premise host.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Whether the host is one of ConnectWise's cloud or staging sites.
    pub fn is_cloud(&self) -> bool {
        self.region.is_some()
    }

    /// `scheme://host[:port]/` API calls go to once `/login/companyinfo`
    /// answered `codebase`, by the Developer Guide's rule:
    ///
    /// - a cloud host → `api-{region}.{domain}` whatever the codebase;
    /// - another host name with a codebase other than `v4_6_release/` (a
    ///   cloud answer) → the host with `api-` in front of its first label,
    ///   unless it has it already;
    /// - otherwise (on-premise, an IP address, a one-label name such as
    ///   `localhost`, which cannot carry the prefix) → the host as typed.
    pub fn api_url(&self, codebase: &str) -> Url {
        let mut api = self.login.clone();
        let host = match self.login.host() {
            Some(Host::Domain(h)) => h.trim_end_matches('.').to_ascii_lowercase(),
            _ => return self.typed.clone(),
        };
        let on_premise = codebase
            .trim()
            .trim_matches('/')
            .eq_ignore_ascii_case(ON_PREMISE_CODEBASE);
        if !self.is_cloud() && (on_premise || !host.contains('.')) {
            return self.typed.clone();
        }
        let typed_host = self
            .typed
            .host_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if typed_host.starts_with(API_PREFIX) {
            return self.typed.clone();
        }
        let _ = api.set_host(Some(&format!("{API_PREFIX}{host}")));
        api
    }

    /// The API base: `{api_url(codebase)}{codebase}/apis/3.0` (no trailing
    /// slash), for example `https://api-na.myconnectwise.net/v2025_1/apis/3.0`.
    /// `codebase` must be a single path segment (checked by the caller).
    pub fn api_base(&self, codebase: &str) -> Url {
        let mut url = self.api_url(codebase);
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .push(codebase.trim().trim_matches('/'))
                .push("apis")
                .push("3.0");
        }
        url
    }

    /// Whether `url` is on this site: its login host, the host as typed, or
    /// its `api-` host (same scheme and port). For checking hosts a
    /// callback names (such as `Metadata.key_url`) before fetching them.
    pub fn is_own_host(&self, url: &Url) -> bool {
        let same = |base: &Url| same_origin(base, url);
        same(&self.login)
            || same(&self.typed)
            || same(&self.api_url(""))
            || same(&self.api_url(ON_PREMISE_CODEBASE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(input: &str) -> ConnectWiseSite {
        ConnectWiseSite::parse(input, AddressPolicy::public_only()).unwrap()
    }

    #[test]
    fn every_cloud_region_and_staging_goes_to_its_api_host_from_either_form() {
        for (region, domain) in [
            ("na", "myconnectwise.net"),
            ("eu", "myconnectwise.net"),
            ("au", "myconnectwise.net"),
            ("aus", "myconnectwise.net"),
            ("za", "myconnectwise.net"),
            ("staging", "connectwisedev.com"),
        ] {
            for typed in [
                format!("{region}.{domain}"),
                format!("https://api-{region}.{domain}/"),
                format!("https://{region}.{domain}/v4_6_release/apis/3.0/"),
                format!("API-{}.{domain}", region.to_uppercase()),
            ] {
                let s = site(&typed);
                assert_eq!(s.region(), Some(region), "{typed}");
                assert!(s.is_cloud(), "{typed}");
                assert_eq!(
                    s.login_url().as_str(),
                    format!("https://{region}.{domain}/"),
                    "{typed}"
                );
                for codebase in ["v2025_1/", "v4_6_release/", ""] {
                    assert_eq!(
                        s.api_url(codebase).as_str(),
                        format!("https://api-{region}.{domain}/"),
                        "{typed} {codebase}"
                    );
                }
                assert_eq!(
                    s.api_base("v2025_1/").as_str(),
                    format!("https://api-{region}.{domain}/v2025_1/apis/3.0"),
                    "{typed}"
                );
            }
        }
    }

    #[test]
    fn on_premise_hosts_stay_as_they_are() {
        for typed in [
            "cw.acme.example",
            "https://psa.acme.example:8443/v4_6_release/ConnectWise.aspx",
            "api-cw.acme.example",
        ] {
            let s = site(typed);
            assert_eq!(s.region(), None, "{typed}");
            assert!(!s.is_cloud());
            assert_eq!(s.login_url(), s.typed_url(), "{typed}");
            assert_eq!(
                s.api_url("v4_6_release/"),
                *s.typed_url(),
                "on-premise answers v4_6_release: {typed}"
            );
        }
        assert_eq!(
            site("https://psa.acme.example:8443/")
                .api_base("v4_6_release/")
                .as_str(),
            "https://psa.acme.example:8443/v4_6_release/apis/3.0"
        );
    }

    #[test]
    fn a_cloud_codebase_on_another_host_name_takes_the_api_prefix() {
        // "If your returned codebase contains anything other than
        // v4_6_release/, you will need to ensure your request is prefixed
        // by API-."
        assert_eq!(
            site("cw.acme.example").api_url("v2025_1/").as_str(),
            "https://api-cw.acme.example/"
        );
        assert_eq!(
            site("api-cw.acme.example").api_url("v2025_1/").as_str(),
            "https://api-cw.acme.example/"
        );
    }

    #[test]
    fn addresses_that_cannot_carry_the_prefix_stay_as_they_are() {
        let local = |s: &str| ConnectWiseSite::parse(s, AddressPolicy::allow_local()).unwrap();
        for typed in [
            "http://127.0.0.1:8080",
            "http://localhost:9000",
            "http://[::1]:80",
        ] {
            let s = local(typed);
            assert_eq!(s.region(), None);
            assert_eq!(s.api_url("v2025_1/"), *s.typed_url(), "{typed}");
        }
        assert_eq!(
            local("http://127.0.0.1:8080/x")
                .api_base("v2025_1/")
                .as_str(),
            "http://127.0.0.1:8080/v2025_1/apis/3.0"
        );
    }

    #[test]
    fn own_hosts_are_the_login_typed_and_api_hosts() {
        let s = site("na.myconnectwise.net");
        let u = |x: &str| Url::parse(x).unwrap();
        assert!(s.is_own_host(&u("https://na.myconnectwise.net/v2025_1/x")));
        assert!(s.is_own_host(&u("https://api-na.myconnectwise.net/v2025_1/x")));
        assert!(!s.is_own_host(&u("https://api-eu.myconnectwise.net/")));
        assert!(!s.is_own_host(&u("http://api-na.myconnectwise.net/")));
        assert!(!s.is_own_host(&u("https://evil.example/")));
        let p = site("cw.acme.example");
        assert!(p.is_own_host(&u("https://cw.acme.example/")));
        assert!(p.is_own_host(&u("https://api-cw.acme.example/")));
        assert!(!p.is_own_host(&u("https://na.myconnectwise.net/")));
    }
}
