//! A valid access token per request, for one connection.

use super::flow::tokens_from;
use super::{
    request_token, Grant, JwtGrant, OAuthClient, OAuthError, Token, TokenCache, REFRESH_MARGIN,
};
use crate::connection::ConnectionId;
use crate::connections::Connections;
use crate::error::Error;
use crate::http::HttpClient;
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a session gets a new access token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Renewal {
    /// With the refresh token from the vault (authorization-code
    /// connections).
    RefreshToken,
    /// With a new signed assertion (JWT bearer connections, which get no
    /// refresh token).
    Jwt(JwtGrant),
}

struct Inner {
    connection: ConnectionId,
    connections: Connections,
    http: HttpClient,
    client: OAuthClient,
    renewal: Renewal,
    cache: TokenCache,
    /// A digest of the access token the API last rejected, so a token
    /// another process already replaced in the vault is used, and the
    /// rejected one never again.
    rejected: Mutex<Option<[u8; 32]>>,
}

/// The token source of one OAuth connection. Clone it into every client of
/// that connection: clones share one cache, so refresh is single-flight.
#[derive(Clone)]
pub struct OAuthSession {
    inner: Arc<Inner>,
}

impl fmt::Debug for OAuthSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthSession")
            .field("connection", &self.inner.connection)
            .field("cache", &self.inner.cache)
            .finish_non_exhaustive()
    }
}

fn digest(token: &SecretString) -> [u8; 32] {
    Sha256::digest(token.expose_secret().as_bytes()).into()
}

impl OAuthSession {
    /// A session for `connection`, whose tokens are in the vault behind
    /// `connections`.
    pub fn new(
        connections: Connections,
        http: HttpClient,
        client: OAuthClient,
        connection: ConnectionId,
        renewal: Renewal,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                connection,
                connections,
                http,
                client,
                renewal,
                cache: TokenCache::new(),
                rejected: Mutex::new(None),
            }),
        }
    }

    /// A valid access token: the cached one, else the vault's while it is
    /// not about to expire and was not rejected, else a renewed one (the
    /// vault is updated before it is returned). Concurrent callers share
    /// one renewal. A grant the provider no longer accepts moves the
    /// connection to Connection Error and returns the error.
    pub async fn access_token(&self) -> Result<Token, Error> {
        self.inner.cache.get(|| self.fetch()).await
    }

    /// Reports that the API rejected `token` (HTTP 401, Salesforce
    /// `INVALID_SESSION_ID`): the next [`OAuthSession::access_token`]
    /// renews it once, however many requests report the same token.
    pub fn rejected(&self, token: &Token) {
        if self.inner.cache.invalidate(token.generation) {
            *self
                .inner
                .rejected
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(digest(&token.secret));
        }
    }

    async fn fetch(&self) -> Result<(SecretString, Option<Duration>), Error> {
        let inner = &self.inner;
        let tokens = inner
            .connections
            .oauth_tokens(&inner.connection)
            .await?
            .ok_or_else(|| OAuthError::NotAuthorized {
                connection: inner.connection.clone(),
            })?;
        let now = Utc::now();
        let rejected = inner
            .rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let margin = chrono::Duration::from_std(REFRESH_MARGIN).unwrap_or_default();
        if rejected != Some(digest(&tokens.access_token)) && !tokens.expires_within(now, margin) {
            let lifetime = tokens
                .expires_at
                .map(|at| (at - now).to_std().unwrap_or_default());
            return Ok((tokens.access_token, lifetime));
        }
        let grant = match &inner.renewal {
            Renewal::RefreshToken => match &tokens.refresh_token {
                Some(refresh) => Ok(Grant::RefreshToken(refresh.clone())),
                None => Err(OAuthError::InvalidGrant {
                    message: "the access token expired and the provider issued no refresh token"
                        .into(),
                }),
            },
            Renewal::Jwt(grant) => grant
                .assertion(now)
                .map(|assertion| Grant::JwtBearer { assertion }),
        };
        let response = match grant {
            Ok(grant) => request_token(&inner.http, &inner.client, &grant).await,
            Err(e) => Err(e),
        };
        let response = match response {
            Ok(response) => response,
            Err(e) => {
                if e.needs_reconnect() {
                    tracing::warn!(connection = %inner.connection, error = %e, "OAuth grant refused; the connection needs reconnecting");
                    // A disabled connection stays disabled; the error is
                    // returned either way.
                    let _ = inner
                        .connections
                        .record_error(&inner.connection, &e.to_string())
                        .await;
                }
                return Err(e.into());
            }
        };
        let renewed = tokens_from(response, tokens.refresh_token, tokens.instance_url, now);
        // The vault first: a rotated refresh token is never lost.
        inner
            .connections
            .replace_tokens(&inner.connection, renewed.clone())
            .await?;
        let lifetime = renewed
            .expires_at
            .map(|at| (at - now).to_std().unwrap_or_default());
        Ok((renewed.access_token, lifetime))
    }
}
