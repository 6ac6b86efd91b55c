//! OAuth 2.0, once for every provider that authorizes with it (Salesforce,
//! HubSpot, Dynamics 365 / Entra ID, DocuSign, and HaloPSA's client
//! credentials).
//!
//! - [`OAuthClient`]: one provider application (authorize and token
//!   endpoints, client id and secret, redirect URI, scopes, extra
//!   authorize parameters such as a tenant or a login host).
//! - [`OAuthFlow`]: authorization code with PKCE (S256) and state. It starts
//!   an authorization for a connection (the pending authorization is kept
//!   in the host's [`PendingAuthorizationStore`](crate::store::PendingAuthorizationStore), so the callback may land
//!   on another process) and completes it: the code is exchanged, the
//!   tokens go to the vault, provider extras to the connection's settings,
//!   and the connection becomes Connected.
//! - [`OAuthSession`]: a valid access token per request, refreshed shortly
//!   before expiry (or once after a 401 when the provider gives no expiry),
//!   single-flight per connection; a rotated refresh token is written to
//!   the vault before the new access token is used; `invalid_grant` moves
//!   the connection to Connection Error.
//! - [`JwtGrant`]: the RFC 7523 JWT bearer grant (RS256).
//! - [`TokenCache`]: the one token cache (also used for client credentials).
//!
//! Every token request goes through the core [`crate::http::HttpClient`]
//! and is never resent after it may have reached the provider, so an
//! authorization code is never replayed.
//!
//! Crate choices: the `oauth2` crate was not used: it sends requests
//! through its own HTTP client abstraction (so token requests would bypass
//! the core client's SSRF rules, body limits and tracing redaction unless
//! adapted), and the provider extras this SDK needs (Salesforce
//! `instance_url`, no `expires_in`, error codes such as `consent_required`)
//! go through its generic extra-field types anyway; the protocol parts it
//! would save (PKCE, form bodies) are a few lines here. RS256 signing uses
//! `jsonwebtoken` (ring backend, already in the tree through rustls); the
//! state and PKCE verifier come from the OS CSPRNG (`getrandom`).

mod cache;
mod client;
mod connect;
mod error;
mod flow;
mod jwt;
mod pkce;
mod session;
mod token;

pub use cache::{refresh_after, Token, TokenCache, REFRESH_MARGIN};
pub use client::{ClientAuth, OAuthClient};
pub use error::OAuthError;
pub use flow::{
    AuthorizationExtras, AuthorizationStart, Callback, OAuthFlow, PendingAuthorization,
};
pub use jwt::{JwtClaims, JwtGrant};
pub use pkce::{challenge_s256, new_state, new_verifier};
pub use session::{OAuthSession, Renewal};
pub use token::{request_token, Grant, TokenResponse};
