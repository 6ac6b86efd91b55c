//! The JWT bearer grant (RFC 7523): an RS256-signed assertion from a
//! host-supplied private key.

use super::OAuthError;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The claims of an assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtClaims {
    /// Issuer: the client id (integration key).
    pub iss: String,
    /// Subject: the user the token is for (DocuSign user GUID, Salesforce
    /// user name).
    pub sub: String,
    /// Audience: the authorization server (DocuSign: the host only, such
    /// as `account-d.docusign.com`; Salesforce: `https://login.salesforce.com`).
    pub aud: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Scopes, space-separated, when the provider wants them in the
    /// assertion (DocuSign).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// What a JWT grant needs: who asks, for whom, and the key to sign with.
#[derive(Clone)]
pub struct JwtGrant {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `aud`.
    pub audience: String,
    /// `scope`, if any.
    pub scope: Option<String>,
    /// How long an assertion is valid (at most one hour is used).
    pub lifetime: Duration,
    private_key_pem: SecretString,
}

impl std::fmt::Debug for JwtGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtGrant")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The longest assertion lifetime used (DocuSign's limit).
const MAX_LIFETIME: Duration = Duration::from_secs(3600);

impl JwtGrant {
    /// A grant signing with `private_key_pem` (an RSA key, PKCS#1 or
    /// PKCS#8 PEM). The key is checked now, so a bad key is refused before
    /// any request.
    pub fn new(
        issuer: &str,
        subject: &str,
        audience: &str,
        private_key_pem: SecretString,
    ) -> Result<Self, OAuthError> {
        EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes()).map_err(|e| {
            OAuthError::Key {
                reason: key_reason(&e),
            }
        })?;
        Ok(Self {
            issuer: issuer.trim().to_string(),
            subject: subject.trim().to_string(),
            audience: audience.trim().to_string(),
            scope: None,
            lifetime: MAX_LIFETIME,
            private_key_pem,
        })
    }

    /// The same grant asking for `scope` (space-separated).
    pub fn with_scope(mut self, scope: &str) -> Self {
        self.scope = Some(scope.to_string());
        self
    }

    /// The claims of an assertion made at `now`.
    pub fn claims(&self, now: DateTime<Utc>) -> JwtClaims {
        let lifetime = self.lifetime.min(MAX_LIFETIME).as_secs() as i64;
        JwtClaims {
            iss: self.issuer.clone(),
            sub: self.subject.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            exp: now.timestamp() + lifetime,
            scope: self.scope.clone(),
        }
    }

    /// A signed assertion made at `now`.
    pub fn assertion(&self, now: DateTime<Utc>) -> Result<SecretString, OAuthError> {
        let key = EncodingKey::from_rsa_pem(self.private_key_pem.expose_secret().as_bytes())
            .map_err(|e| OAuthError::Key {
                reason: key_reason(&e),
            })?;
        let token = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &self.claims(now), &key)
            .map_err(|e| OAuthError::Key {
            reason: key_reason(&e),
        })?;
        Ok(SecretString::from(token))
    }
}

/// The kind of key error, never the key.
fn key_reason(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidKeyFormat => "not an RSA key".into(),
        ErrorKind::InvalidRsaKey(_) => "the RSA key is malformed".into(),
        _ => "it cannot sign with RS256".into(),
    }
}
