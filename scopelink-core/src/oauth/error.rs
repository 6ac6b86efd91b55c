//! What can go wrong in an OAuth flow or token request.

use crate::connection::ConnectionId;
use crate::error::HttpError;

/// An OAuth failure. Each says what failed and what the user or host
/// should do; none carries a token, code, verifier or assertion.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The callback's state matches no pending authorization: it was never
    /// issued, or it was already used.
    #[error("this authorization is unknown or was already completed; start connecting again")]
    UnknownState,
    /// The pending authorization expired before the callback came back.
    #[error("the authorization of connection {connection} expired before it was completed; start connecting again")]
    StateExpired {
        /// The connection.
        connection: ConnectionId,
    },
    /// The provider redirected back with an error (the user declined,
    /// `access_denied`, or the request was refused).
    #[error("the provider did not authorize connection {connection}: {error}{}; start connecting again", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Denied {
        /// The connection.
        connection: ConnectionId,
        /// The OAuth `error` code (`access_denied`, ...).
        error: String,
        /// The provider's `error_description`, if any.
        description: Option<String>,
    },
    /// The callback carried neither a code nor an error.
    #[error("the authorization callback carried no code; start connecting again")]
    MissingCode,
    /// The token endpoint refused the request for a reason other than
    /// `invalid_grant`.
    #[error("the token endpoint refused the request (HTTP {status}{}): {message}", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default())]
    TokenRefused {
        /// HTTP status.
        status: u16,
        /// The OAuth `error` code, when the body had one.
        code: Option<String>,
        /// The provider's message.
        message: String,
    },
    /// The grant (authorization code or refresh token) is no longer
    /// accepted: revoked, expired, or the user's password changed.
    #[error(
        "the provider no longer accepts this connection's authorization ({message}); reconnect it"
    )]
    InvalidGrant {
        /// The provider's message.
        message: String,
    },
    /// The user has not consented to the JWT grant yet.
    #[error("the user must grant consent first: open {consent_url} and then retry")]
    ConsentRequired {
        /// The URL the user must open to consent.
        consent_url: String,
    },
    /// The connection holds no OAuth tokens (it was never authorized).
    #[error("connection {connection} is not authorized; connect it through the provider's sign-in first")]
    NotAuthorized {
        /// The connection.
        connection: ConnectionId,
    },
    /// The token endpoint answered 2xx with a body that is not a token.
    #[error("the token endpoint's answer is not a token response: {reason}")]
    BadTokenResponse {
        /// What was wrong (never the body).
        reason: String,
    },
    /// The private key for a JWT assertion cannot be used.
    #[error("the JWT signing key cannot be used: {reason}; supply an RSA private key in PEM form")]
    Key {
        /// Why.
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("no secure random numbers available: {0}")]
    Random(String),
    /// The token request failed in transport.
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl OAuthError {
    /// Whether only reconnecting (running the authorization again) can fix
    /// this.
    pub fn needs_reconnect(&self) -> bool {
        matches!(
            self,
            OAuthError::InvalidGrant { .. }
                | OAuthError::NotAuthorized { .. }
                | OAuthError::ConsentRequired { .. }
        )
    }
}
