//! Authorization code with PKCE (S256) and state: start and complete.

use super::{
    challenge_s256, new_state, new_verifier, request_token, Grant, JwtGrant, OAuthClient,
    OAuthError, TokenResponse,
};
use crate::access::{Access, Permission};
use crate::connection::{Connection, ConnectionId};
use crate::connections::Connections;
use crate::error::Error;
use crate::http::HttpClient;
use crate::secret::OAuthTokens;
use crate::store::PendingAuthorizationStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// How long a started authorization may take to come back.
pub const PENDING_LIFETIME: Duration = Duration::from_secs(600);

/// An authorization started and not yet completed, as kept in the host's
/// store. Its `Debug` output leaves out the verifier.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// The `state` sent to the provider (the store's key).
    pub state: String,
    /// The PKCE code verifier.
    #[serde(with = "secret_text")]
    pub verifier: SecretString,
    /// The connection being authorized.
    pub connection: ConnectionId,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

mod secret_text {
    use secrecy::{ExposeSecret, SecretString};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &SecretString, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.expose_secret())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        Ok(SecretString::from(String::deserialize(d)?))
    }
}

impl PartialEq for PendingAuthorization {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
            && self.verifier.expose_secret() == other.verifier.expose_secret()
            && self.connection == other.connection
            && self.created_at == other.created_at
            && self.expires_at == other.expires_at
    }
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("connection", &self.connection)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A started authorization: where to send the user's browser.
#[derive(Debug, Clone)]
pub struct AuthorizationStart {
    /// The provider's authorize URL, to open in the popup.
    pub url: Url,
    /// The state it carries (also inside `url`).
    pub state: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// What the provider's redirect brought back.
#[derive(Clone, Default)]
pub struct Callback {
    /// `state`.
    pub state: String,
    /// `code`, on success.
    pub code: Option<SecretString>,
    /// `error` (`access_denied`, ...), on refusal.
    pub error: Option<String>,
    /// `error_description`, if any.
    pub error_description: Option<String>,
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("has_code", &self.code.is_some())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Callback {
    /// Reads the callback from the redirect URL's query.
    pub fn from_url(url: &Url) -> Self {
        let mut out = Callback::default();
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "state" => out.state = v.into_owned(),
                "code" if !v.is_empty() => out.code = Some(SecretString::from(v.into_owned())),
                "error" if !v.is_empty() => out.error = Some(v.into_owned()),
                "error_description" => out.error_description = Some(v.into_owned()),
                _ => {}
            }
        }
        out
    }
}

/// Provider extras read after the exchange, with the new access token
/// (DocuSign's account id and base URI from `/oauth/userinfo`, HubSpot's
/// hub id). Implemented by provider crates.
#[async_trait]
pub trait AuthorizationExtras: Send + Sync {
    /// Settings to record on the connection. `fields` holds the token
    /// response's recorded fields.
    async fn extras(
        &self,
        http: &HttpClient,
        access_token: &SecretString,
        fields: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, Error>;
}

/// Starts and completes OAuth authorizations for one provider application.
#[derive(Clone)]
pub struct OAuthFlow {
    connections: Connections,
    pending: Arc<dyn PendingAuthorizationStore>,
    http: HttpClient,
    client: OAuthClient,
    extras: Option<Arc<dyn AuthorizationExtras>>,
    lifetime: Duration,
}

impl fmt::Debug for OAuthFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthFlow")
            .field("client_id", &self.client.client_id)
            .finish_non_exhaustive()
    }
}

/// Token-response fields recorded under these setting names.
fn settings_of(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    fields
        .iter()
        .map(|(k, v)| (format!("oauth.{k}"), v.clone()))
        .collect()
}

pub(crate) fn tokens_from(
    response: TokenResponse,
    previous_refresh: Option<SecretString>,
    previous_instance: Option<String>,
    now: DateTime<Utc>,
) -> OAuthTokens {
    let instance_url = response
        .fields
        .get("instance_url")
        .cloned()
        .or(previous_instance);
    OAuthTokens {
        access_token: response.access_token,
        refresh_token: response.refresh_token.or(previous_refresh),
        expires_at: response
            .expires_in
            .map(|s| now + chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))),
        instance_url,
    }
}

impl OAuthFlow {
    /// A flow for `client`, keeping pending authorizations in `pending`.
    pub fn new(
        connections: Connections,
        pending: Arc<dyn PendingAuthorizationStore>,
        http: HttpClient,
        client: OAuthClient,
    ) -> Self {
        Self {
            connections,
            pending,
            http,
            client,
            extras: None,
            lifetime: PENDING_LIFETIME,
        }
    }

    /// Reads provider extras with `extras` after each exchange.
    pub fn with_extras(mut self, extras: Arc<dyn AuthorizationExtras>) -> Self {
        self.extras = Some(extras);
        self
    }

    /// Accepts callbacks for `lifetime` after the start (default 10 min).
    pub fn with_pending_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The application.
    pub fn client(&self) -> &OAuthClient {
        &self.client
    }

    /// Starts authorizing connection `id` (needs Manage): stores a pending
    /// authorization and returns the authorize URL. Running it again on a
    /// connected connection is how it is reconnected.
    pub async fn start(
        &self,
        access: &Access,
        id: &ConnectionId,
    ) -> Result<AuthorizationStart, Error> {
        access.require(Permission::Manage)?;
        self.connections.load(id).await?.check_testable()?;
        let now = Utc::now();
        let expires_at = now
            + chrono::Duration::from_std(self.lifetime).unwrap_or(chrono::Duration::minutes(10));
        let pending = PendingAuthorization {
            state: new_state()?,
            verifier: new_verifier()?,
            connection: id.clone(),
            created_at: now,
            expires_at,
        };
        let _ = self.pending.purge_expired_pending(now).await;
        self.pending.put_pending(&pending).await?;
        let url = self.client.authorize_url(
            &pending.state,
            &challenge_s256(pending.verifier.expose_secret()),
        );
        Ok(AuthorizationStart {
            url,
            state: pending.state,
            expires_at,
        })
    }

    /// Completes an authorization from the provider's redirect (needs
    /// Manage): the state is used up whatever happens; the code is
    /// exchanged once; on success the tokens go to the vault, extras to
    /// the settings, and the connection becomes Connected. Any failure
    /// leaves the connection and vault as they were.
    pub async fn complete(
        &self,
        access: &Access,
        callback: &Callback,
    ) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        let pending = self
            .pending
            .take_pending(&callback.state)
            .await?
            .ok_or(OAuthError::UnknownState)?;
        let now = Utc::now();
        if pending.expires_at < now {
            return Err(OAuthError::StateExpired {
                connection: pending.connection,
            }
            .into());
        }
        if let Some(error) = &callback.error {
            return Err(OAuthError::Denied {
                connection: pending.connection,
                error: error.clone(),
                description: callback.error_description.clone(),
            }
            .into());
        }
        let code = callback.code.clone().ok_or(OAuthError::MissingCode)?;
        self.connections
            .load(&pending.connection)
            .await?
            .check_testable()?;
        let response = request_token(
            &self.http,
            &self.client,
            &Grant::AuthorizationCode {
                code,
                verifier: pending.verifier.clone(),
            },
        )
        .await?;
        self.finish(&pending.connection, response, now).await
    }

    /// Connects `id` with the JWT bearer grant (needs Manage): no browser;
    /// `consent_required` comes back as [`OAuthError::ConsentRequired`].
    pub async fn connect_with_jwt(
        &self,
        access: &Access,
        id: &ConnectionId,
        grant: &JwtGrant,
    ) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        self.connections.load(id).await?.check_testable()?;
        let now = Utc::now();
        let assertion = grant.assertion(now)?;
        let response =
            request_token(&self.http, &self.client, &Grant::JwtBearer { assertion }).await?;
        self.finish(id, response, now).await
    }

    async fn finish(
        &self,
        id: &ConnectionId,
        response: TokenResponse,
        now: DateTime<Utc>,
    ) -> Result<Connection, Error> {
        let mut settings = settings_of(&response.fields);
        if let Some(extras) = &self.extras {
            settings.extend(
                extras
                    .extras(&self.http, &response.access_token, &response.fields)
                    .await?,
            );
        }
        let tokens = tokens_from(response, None, None, now);
        self.connections
            .store_authorized(id, tokens, settings)
            .await
    }
}
