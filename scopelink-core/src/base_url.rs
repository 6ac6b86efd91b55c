//! Turning the address a user typed into a connector's base URL.
//!
//! Users type `na.myconnectwise.net`, paste `https://acme.halopsa.com/api/`
//! or a whole browser address. [`BaseUrlRules::normalize`] adds `https://`
//! when no scheme is given, checks the result with [`validate_url`] (https
//! only; loopback, private and link-local addresses refused unless the
//! [`AddressPolicy`] allows them; no user name or password), drops the
//! query and fragment, and keeps or drops the path as the provider needs.
//! Every failure is a [`ConnectorError::InvalidConfig`] on the provider's
//! address field, saying what to enter.
//!
//! # Example
//!
//! ```
//! use scopelink_core::base_url::{BaseUrlRules, PathRule};
//! use scopelink_core::http::AddressPolicy;
//!
//! let rules = BaseUrlRules {
//!     field: "host",
//!     address: "your HaloPSA web address",
//!     example: "yourcompany.halopsa.com",
//!     path: PathRule::Prefix { strip: &["/api", "/auth"] },
//! };
//! let url = rules.normalize(" acme.halopsa.com/api/?x=1 ", AddressPolicy::default()).unwrap();
//! assert_eq!(url.as_str(), "https://acme.halopsa.com/");
//!
//! let error = rules.normalize("http://acme.halopsa.com", AddressPolicy::default()).unwrap_err();
//! assert!(error.to_string().contains("your HaloPSA web address"), "{error}");
//! ```

use crate::error::ConnectorError;
use crate::http::{validate_url, AddressPolicy};
use url::Url;

/// What a provider keeps of a typed address's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRule {
    /// The base is the site's root (`https://host[:port]/`); any path is
    /// dropped.
    Root,
    /// The path is kept as a prefix (an instance under a path), without
    /// trailing slashes and without the first of these suffixes it ends
    /// with (compared ignoring ASCII case), such as a pasted `/api`.
    Prefix {
        /// Suffixes that name an endpoint rather than the instance.
        strip: &'static [&'static str],
    },
}

/// How one provider reads a typed address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseUrlRules {
    /// The setting the address is typed into (`server_url`, `host`), named
    /// in errors.
    pub field: &'static str,
    /// What to enter, as it reads after "enter": `your HaloPSA web
    /// address`.
    pub address: &'static str,
    /// An example address, without scheme: `yourcompany.halopsa.com`.
    pub example: &'static str,
    /// What is kept of the path.
    pub path: PathRule,
}

impl BaseUrlRules {
    /// The error for this address field, saying what to enter.
    pub fn error(&self, problem: impl std::fmt::Display) -> ConnectorError {
        ConnectorError::InvalidConfig {
            field: self.field,
            message: format!(
                "{problem}; enter {}, such as {}",
                self.address, self.example
            ),
        }
    }

    /// Normalizes the typed `input` under `policy` (see the [module
    /// docs](self)). The result has no query or fragment; with
    /// [`PathRule::Root`] its path is `/`, with [`PathRule::Prefix`] it is
    /// the kept prefix (`/` when none).
    pub fn normalize(&self, input: &str, policy: AddressPolicy) -> Result<Url, ConnectorError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(self.error("no address was entered"));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_string()
        } else {
            format!("https://{trimmed}")
        };
        let mut url = validate_url(&with_scheme, policy).map_err(|e| self.error(e))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(self.error(format_args!("`{trimmed}` has no host")));
        }
        let path = match self.path {
            PathRule::Root => String::new(),
            PathRule::Prefix { strip } => {
                let mut path = url.path().trim_end_matches('/').to_string();
                if let Some(suffix) = strip.iter().find(|s| {
                    path.len() >= s.len()
                        && path
                            .get(path.len() - s.len()..)
                            .is_some_and(|end| end.eq_ignore_ascii_case(s))
                }) {
                    path.truncate(path.len() - suffix.len());
                }
                path.trim_end_matches('/').to_string()
            }
        };
        url.set_path(if path.is_empty() { "/" } else { &path });
        url.set_query(None);
        url.set_fragment(None);
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: BaseUrlRules = BaseUrlRules {
        field: "server_url",
        address: "only the server address",
        example: "na.example.net",
        path: PathRule::Root,
    };
    const PREFIX: BaseUrlRules = BaseUrlRules {
        field: "host",
        address: "your web address",
        example: "acme.example.com",
        path: PathRule::Prefix {
            strip: &["/api", "/auth"],
        },
    };

    fn ok(rules: &BaseUrlRules, input: &str) -> String {
        rules
            .normalize(input, AddressPolicy::default())
            .unwrap()
            .to_string()
    }

    fn err(rules: &BaseUrlRules, input: &str, policy: AddressPolicy) -> String {
        match rules.normalize(input, policy) {
            Err(ConnectorError::InvalidConfig { field, message }) => {
                assert_eq!(field, rules.field);
                message
            }
            other => panic!("{input}: {other:?}"),
        }
    }

    #[test]
    fn root_drops_path_query_and_fragment() {
        assert_eq!(ok(&ROOT, " na.example.net "), "https://na.example.net/");
        assert_eq!(
            ok(
                &ROOT,
                "https://NA.example.net/v4_6_release/apis/3.0/?x=1#top"
            ),
            "https://na.example.net/"
        );
        assert_eq!(
            ok(&ROOT, "https://na.example.net:8443/login"),
            "https://na.example.net:8443/"
        );
    }

    #[test]
    fn prefix_keeps_the_instance_path_without_endpoint_suffixes() {
        assert_eq!(ok(&PREFIX, "acme.example.com"), "https://acme.example.com/");
        assert_eq!(
            ok(&PREFIX, "https://acme.example.com/API/"),
            "https://acme.example.com/"
        );
        assert_eq!(
            ok(&PREFIX, "https://example.com/halo/auth?x#y"),
            "https://example.com/halo"
        );
        assert_eq!(
            ok(&PREFIX, "https://example.com/halo//"),
            "https://example.com/halo"
        );
    }

    #[test]
    fn the_ssrf_rules_hold_and_errors_say_what_to_enter() {
        let strict = AddressPolicy::default();
        let m = err(&ROOT, "", strict);
        assert!(
            m.contains("enter only the server address, such as na.example.net"),
            "{m}"
        );
        for bad in [
            "http://na.example.net",
            "https://127.0.0.1",
            "https://10.1.2.3/",
            "https://[::1]:8443",
            "https://169.254.169.254/latest",
            "https://user:pw@na.example.net",
            "ftp://na.example.net",
            "https://",
        ] {
            let m = err(&PREFIX, bad, strict);
            assert!(
                m.ends_with("enter your web address, such as acme.example.com"),
                "{bad}: {m}"
            );
            assert!(!m.contains("pw@"), "{m}");
        }
        let local = AddressPolicy::allow_local();
        assert_eq!(
            ROOT.normalize("http://127.0.0.1:9000/x", local)
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9000/"
        );
    }
}
