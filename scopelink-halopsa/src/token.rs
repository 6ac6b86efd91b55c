//! HaloPSA's access tokens live in the core's one token cache
//! ([`scopelink_core::oauth::TokenCache`]): reused until shortly before
//! they expire, renewed by one caller while concurrent callers wait for its
//! result, and dropped by generation when the API answers 401, so a burst
//! of 401s causes one token request.
//!
//! This file also holds how the connector finds its token endpoint
//! (settings or `GET /api/authinfo`), requests tokens and explains token
//! failures.

use crate::client::{invalid_host, oauth_code, HaloPsaConnector, API_SETTINGS};
use crate::wire::AuthInfo;
use scopelink_core::error_hints::{is_web_page, readable_message};
use scopelink_core::http::{Method, Request};
use scopelink_core::{ConnectorError, HttpError};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use url::Url;

pub(crate) use scopelink_core::oauth::{Token, TokenCache};

/// The lifetime assumed when the token reply gives none.
pub(crate) const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// Where tokens come from.
#[derive(Debug, Clone)]
pub(crate) struct TokenEndpoint {
    url: Url,
    tenant: Option<String>,
}

impl HaloPsaConnector {
    fn default_endpoint(&self) -> Result<Url, ConnectorError> {
        self.url("auth/token")
    }

    /// The token URL and tenant: from the settings, or discovered once
    /// through `GET /api/authinfo` (its `auth_url` is used only when it is on
    /// the same origin as the host, so the secret never goes elsewhere).
    async fn token_endpoint(&self) -> Result<TokenEndpoint, ConnectorError> {
        if let Some(tenant) = &self.inner.tenant {
            return Ok(TokenEndpoint {
                url: self.default_endpoint()?,
                tenant: Some(tenant.clone()),
            });
        }
        if let Some(found) = Self::lock(&self.inner.discovered).clone() {
            return Ok(found);
        }
        let fallback = TokenEndpoint {
            url: self.default_endpoint()?,
            tenant: None,
        };
        let req = Request::new(Method::GET, self.url("api/authinfo")?)
            .header("Accept", "application/json");
        let found = match self.inner.http.send(req).await {
            Ok(resp) => {
                let info: AuthInfo = if is_web_page(&resp) {
                    AuthInfo::default()
                } else {
                    serde_json::from_slice(&resp.body).unwrap_or_default()
                };
                let own = Url::parse(&self.inner.base).ok().map(|u| u.origin());
                let url = info
                    .auth_url
                    .as_deref()
                    .and_then(|a| Url::parse(a.trim()).ok())
                    .filter(|a| Some(a.origin()) == own)
                    .and_then(|a| {
                        Url::parse(&format!("{}/token", a.as_str().trim_end_matches('/'))).ok()
                    });
                if info.auth_url.is_some() && url.is_none() {
                    tracing::warn!(
                        "ignoring the auth_url from /api/authinfo: it is not on the HaloPSA host"
                    );
                }
                TokenEndpoint {
                    url: url.unwrap_or(fallback.url),
                    tenant: info
                        .tenant_id
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty()),
                }
            }
            Err(e) => match e {
                HttpError::Status { status, .. } if status < 500 && status != 429 => fallback,
                HttpError::Connect { .. }
                | HttpError::InvalidUrl { .. }
                | HttpError::InsecureScheme { .. }
                | HttpError::ForbiddenAddress { .. } => {
                    return Err(self.hints().get().unreachable(&self.inner.base, e))
                }
                // Transient: use the default this time, ask again next time.
                _ => return Ok(fallback),
            },
        };
        *Self::lock(&self.inner.discovered) = Some(found.clone());
        Ok(found)
    }

    fn token_error(&self, e: HttpError, endpoint: &TokenEndpoint) -> ConnectorError {
        match &e {
            HttpError::Status {
                status: 400 | 401,
                message,
                ..
            } => {
                if oauth_code(message) == Some("invalid_request")
                    && message.to_ascii_lowercase().contains("tenant")
                {
                    return self.tenant_error(endpoint, message);
                }
                let tenant_hint = if endpoint.tenant.is_some() {
                    ", and the tenant name (shown under API Details)"
                } else {
                    ""
                };
                let message = match oauth_code(message) {
                    Some("invalid_client") => format!(
                        "HaloPSA rejected the client ID or secret (invalid_client): check the client ID and secret in {API_SETTINGS} > Applications{tenant_hint}; an inactive or deleted application is refused the same way, so also check that it is active"
                    ),
                    Some("unauthorized_client") => format!(
                        "HaloPSA does not let this application use client credentials (unauthorized_client): in {API_SETTINGS} > Applications, make sure the application is active and its authentication method is Client ID and Secret (Services)"
                    ),
                    Some("invalid_scope") => format!(
                        "the API application is not granted the `all` scope (invalid_scope): tick it under the application's Permissions in {API_SETTINGS} > Applications"
                    ),
                    _ => format!(
                        "HaloPSA refused the token request ({}): check the client ID and secret in {API_SETTINGS} > Applications{tenant_hint}, and that the application is active",
                        readable_message(message)
                    ),
                };
                ConnectorError::Authentication { message }
            }
            HttpError::Status {
                status: 404 | 405, ..
            } => invalid_host(format!(
                "{} has no HaloPSA token endpoint (HTTP {}); check the HaloPSA web address (e.g. yourcompany.halopsa.com)",
                self.inner.base,
                e.status().unwrap_or_default()
            )),
            HttpError::Connect { .. }
            | HttpError::InvalidUrl { .. }
            | HttpError::InsecureScheme { .. }
            | HttpError::ForbiddenAddress { .. } => {
                self.hints().get().unreachable(&self.inner.base, e)
            }
            _ => ConnectorError::Http(e),
        }
    }

    /// HaloPSA refused the token request over the tenant: the one sent is
    /// not this instance's, or this instance needs one and none was sent.
    fn tenant_error(&self, endpoint: &TokenEndpoint, message: &str) -> ConnectorError {
        let message = match &endpoint.tenant {
            Some(tenant) => format!(
                "HaloPSA does not accept the tenant `{tenant}` ({}): check the tenant name shown under {API_SETTINGS} > API Details, or leave it empty for a tenant on its own web address (yourcompany.halopsa.com), which needs none",
                readable_message(message)
            ),
            None => format!(
                "HaloPSA needs the tenant name for {} ({}): enter the tenant shown under {API_SETTINGS} > API Details",
                self.inner.base,
                readable_message(message)
            ),
        };
        ConnectorError::InvalidConfig {
            field: "tenant",
            message,
        }
    }

    /// Requests a new token (client credentials, scope `all`).
    async fn fetch_token(&self) -> Result<(SecretString, Duration), ConnectorError> {
        let endpoint = self.token_endpoint().await?;
        let mut req = Request::new(Method::POST, endpoint.url.clone());
        if let Some(tenant) = &endpoint.tenant {
            req = req.query(&[("tenant", tenant.as_str())]);
        }
        let req = req
            .header("Accept", "application/json")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.inner.client_id.as_str()),
                ("client_secret", self.inner.client_secret.expose_secret()),
                ("scope", "all"),
            ])
            // Asking for a token twice does no harm.
            .retry_safe(true);
        let resp = self
            .inner
            .http
            .send(req)
            .await
            .map_err(|e| self.token_error(e, &endpoint))?;
        let not_halo = || {
            invalid_host(format!(
                "{} answered the token request, but not as a HaloPSA auth server; check the HaloPSA web address (e.g. yourcompany.halopsa.com)",
                self.inner.base
            ))
        };
        if is_web_page(&resp) {
            return Err(not_halo());
        }
        let (secret, lifetime) = crate::decode::token_reply(&resp.body).ok_or_else(not_halo)?;
        tracing::debug!(
            lifetime_s = lifetime.as_secs(),
            "obtained a HaloPSA access token"
        );
        Ok((secret, lifetime))
    }

    /// A valid token: cached, or fetched once for every concurrent caller.
    pub(crate) async fn token(&self) -> Result<Token, ConnectorError> {
        self.inner
            .tokens
            .get(|| async {
                let (token, lifetime) = self.fetch_token().await?;
                Ok((token, Some(lifetime)))
            })
            .await
    }
}
