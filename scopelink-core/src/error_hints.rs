//! One mapping from [`HttpError`] to [`ConnectorError`], with each
//! provider's hints passed in as data.
//!
//! A connector describes what its user must check ([`ErrorHints`]: the
//! provider's name, what its credentials are called and where to fix them
//! or the missing permission) and what its address field is
//! ([`BaseUrlRules`]); the mapping is the same for every provider:
//!
//! | failure | error |
//! |---|---|
//! | HTTP 401 | [`ConnectorError::Authentication`]: credentials wrong, where to fix them |
//! | HTTP 403 | [`ConnectorError::PermissionDenied`]: which permission to grant, where |
//! | HTTP 404 | [`ConnectorError::NotFound`] naming what was asked for |
//! | HTTP 400, 409, 422 | [`ConnectorError::Rejected`] with the provider's message |
//! | no answer, refused address | [`ConnectorError::InvalidConfig`] on the address field ([`ErrorHints::unreachable`]) |
//! | a web page instead of API data | [`ConnectorError::InvalidConfig`] on the address field ([`ErrorHints::web_page`]) |
//! | anything else | [`ConnectorError::Http`], unchanged |
//!
//! The provider's own message is kept, made readable by
//! [`readable_message`].

use crate::base_url::BaseUrlRules;
use crate::error::{ConnectorError, HttpError};
use crate::http::Response;
use serde_json::Value;

/// The longest provider message kept in an error, in characters.
const MAX_MESSAGE_CHARS: usize = 500;

/// What one provider tells its user to check when a call fails.
#[derive(Debug, Clone, Copy)]
pub struct ErrorHints<'a> {
    /// The provider's name as users know it (`ConnectWise`).
    pub provider: &'a str,
    /// What its credentials are called, as it reads after "rejected"
    /// (`the API keys`).
    pub credentials: &'a str,
    /// What to check when the credentials are refused (HTTP 401).
    pub fix_credentials: &'a str,
    /// What to grant, and where, when a call is forbidden (HTTP 403).
    pub fix_permission: &'a str,
    /// The connection's address field, for failures that mean the address
    /// is wrong.
    pub address: &'a BaseUrlRules,
}

impl ErrorHints<'_> {
    /// Maps a failed call; `what` names the operation (`reading companies`).
    pub fn map(&self, err: HttpError, what: &str) -> ConnectorError {
        let HttpError::Status {
            status, message, ..
        } = &err
        else {
            return ConnectorError::Http(err);
        };
        let message = readable_message(message);
        let said = |fallback: String| {
            if message.is_empty() {
                fallback
            } else {
                message.clone()
            }
        };
        match status {
            401 => ConnectorError::Authentication {
                message: format!(
                    "{} rejected {} while {what} ({}); {}",
                    self.provider,
                    self.credentials,
                    said("HTTP 401".into()),
                    self.fix_credentials
                ),
            },
            403 => ConnectorError::PermissionDenied {
                message: format!(
                    "{} refused {what} ({}); {}",
                    self.provider,
                    said("HTTP 403".into()),
                    self.fix_permission
                ),
            },
            404 if message.is_empty() => ConnectorError::NotFound {
                what: what.to_string(),
            },
            404 => ConnectorError::NotFound {
                what: format!("{what}: {message}"),
            },
            400 | 409 | 422 => ConnectorError::Rejected {
                message: format!("{what}: {}", said(format!("HTTP {status}"))),
            },
            _ => ConnectorError::Http(err),
        }
    }

    /// A failure before any HTTP answer from `host` (unreachable, timed
    /// out, cut off, or an address the policy refuses) as a problem with
    /// the address; other failures are [`ConnectorError::Http`].
    pub fn unreachable(&self, host: &str, err: HttpError) -> ConnectorError {
        let problem = match &err {
            HttpError::Connect { source, .. } => {
                format!("could not reach {host}: {}", crate::error::chain(source))
            }
            HttpError::Timeout { timeout, .. } => {
                format!("{host} did not answer within {timeout:?}")
            }
            HttpError::Transport { reason, source, .. } => {
                let cause = source
                    .as_ref()
                    .map(|s| format!(" ({})", crate::error::chain(s)))
                    .unwrap_or_default();
                format!("the exchange with {host} failed: {reason}{cause}")
            }
            HttpError::InvalidUrl { .. }
            | HttpError::InsecureScheme { .. }
            | HttpError::ForbiddenAddress { .. } => err.to_string(),
            _ => return ConnectorError::Http(err),
        };
        self.address.error(format_args!(
            "{problem}; check the server address and the network"
        ))
    }

    /// `host` answered `what` with a web page (a login or marketing page)
    /// instead of the provider's API data: the address is wrong.
    pub fn web_page(&self, host: &str, what: &str) -> ConnectorError {
        self.address.error(format_args!(
            "{host} answered {what} with a web page instead of {} data, so it is not the {} server; check the address",
            self.provider, self.provider
        ))
    }
}

/// Whether a response is a web page rather than API data: an HTML content
/// type, or a body starting with `<`.
pub fn is_web_page(resp: &Response) -> bool {
    let html_type = resp
        .header("content-type")
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("html"));
    html_type || resp.body.trim_ascii_start().first() == Some(&b'<')
}

/// A provider's error message made readable: a JSON string unquoted, an
/// error object reduced to its message (`error_description`,
/// `errorMessage`, `Message`, `message`, `error`) or its text fields listed,
/// anything else trimmed. Truncated to 500 characters.
pub fn readable_message(raw: &str) -> String {
    let t = raw.trim();
    let text = match serde_json::from_str::<Value>(t) {
        Ok(Value::String(s)) => s,
        Ok(Value::Object(map)) => [
            "error_description",
            "errorMessage",
            "Message",
            "message",
            "error",
        ]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            let parts: Vec<String> = map
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| format!("{k}: {s}")))
                .collect();
            if parts.is_empty() {
                t.to_string()
            } else {
                parts.join("; ")
            }
        }),
        _ => t.to_string(),
    };
    let text = text.trim();
    if text.chars().count() > MAX_MESSAGE_CHARS {
        text.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "..."
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base_url::PathRule;
    use std::time::Duration;

    const ADDRESS: BaseUrlRules = BaseUrlRules {
        field: "host",
        address: "your web address",
        example: "acme.example.com",
        path: PathRule::Root,
    };
    const HINTS: ErrorHints<'static> = ErrorHints {
        provider: "Acme",
        credentials: "the API keys",
        fix_credentials: "check the keys in Settings > API",
        fix_permission: "grant it in Settings > Roles",
        address: &ADDRESS,
    };

    fn status(status: u16, message: &str) -> HttpError {
        HttpError::Status {
            method: "GET".into(),
            path: "/x".into(),
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    #[test]
    fn statuses_map_with_the_providers_hints() {
        let e = HINTS.map(status(401, "bad key"), "reading companies");
        assert!(e.is_auth_failure());
        assert_eq!(
            e.to_string(),
            "authentication failed: Acme rejected the API keys while reading companies (bad key); check the keys in Settings > API"
        );
        let e = HINTS.map(status(403, ""), "reading companies");
        assert_eq!(
            e.to_string(),
            "permission denied: Acme refused reading companies (HTTP 403); grant it in Settings > Roles"
        );
        let e = HINTS.map(status(404, ""), "company 7");
        assert!(matches!(e, ConnectorError::NotFound { ref what } if what == "company 7"));
        let e = HINTS.map(status(422, r#"{"message":"name is required"}"#), "creating");
        assert!(
            matches!(e, ConnectorError::Rejected { ref message } if message == "creating: name is required")
        );
        let e = HINTS.map(status(500, "boom"), "x");
        assert!(matches!(e, ConnectorError::Http(_)));
    }

    #[test]
    fn no_answer_and_web_pages_point_at_the_address() {
        let e = HINTS.unreachable(
            "acme.example.com",
            HttpError::Connect {
                host: "acme.example.com".into(),
                source: crate::error::TransportCause::new("connection refused"),
            },
        );
        let ConnectorError::InvalidConfig { field, message } = e else {
            panic!("{e:?}")
        };
        assert_eq!(field, "host");
        assert!(
            message.starts_with(
                "could not reach acme.example.com: connection refused; check the server address"
            ),
            "{message}"
        );
        assert!(message.ends_with("such as acme.example.com"), "{message}");
        let e = HINTS.unreachable(
            "h",
            HttpError::Timeout {
                method: "GET".into(),
                path: "/".into(),
                timeout: Duration::from_secs(3),
            },
        );
        assert!(e.to_string().contains("h did not answer within 3s"), "{e}");
        let e = HINTS.web_page("h", "the login request");
        assert!(
            e.to_string()
                .contains("h answered the login request with a web page instead of Acme data"),
            "{e}"
        );
        assert!(matches!(
            HINTS.unreachable("h", status(500, "")),
            ConnectorError::Http(_)
        ));
    }

    #[test]
    fn messages_are_made_readable() {
        assert_eq!(readable_message(" plain text "), "plain text");
        assert_eq!(readable_message(r#""quoted""#), "quoted");
        assert_eq!(
            readable_message(r#"{"error":"invalid_client","error_description":"Bad secret"}"#),
            "Bad secret"
        );
        assert_eq!(
            readable_message(r#"{"name":"is required"}"#),
            "name: is required"
        );
        assert_eq!(readable_message("{}"), "{}");
        assert!(readable_message(&"x".repeat(2000)).len() < 600);
    }
}
