//! Token requests (RFC 6749 §4.1.3, §6, §4.4; RFC 7523) and their answers.

use super::client::SECRET_FIELDS;
use super::{ClientAuth, OAuthClient, OAuthError};
use crate::error::HttpError;
use crate::http::Method;
use crate::http::{HttpClient, Request};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::collections::BTreeMap;

/// What is exchanged for a token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Grant {
    /// An authorization code and the PKCE verifier it was issued for.
    AuthorizationCode {
        /// The code from the callback.
        code: SecretString,
        /// The PKCE code verifier.
        verifier: SecretString,
    },
    /// A refresh token.
    RefreshToken(SecretString),
    /// Client credentials, with an optional scope.
    ClientCredentials {
        /// The scope to ask for.
        scope: Option<String>,
    },
    /// A signed JWT assertion (RFC 7523).
    JwtBearer {
        /// The assertion.
        assertion: SecretString,
    },
}

impl Grant {
    fn grant_type(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode { .. } => "authorization_code",
            Grant::RefreshToken(_) => "refresh_token",
            Grant::ClientCredentials { .. } => "client_credentials",
            Grant::JwtBearer { .. } => "urn:ietf:params:oauth:grant-type:jwt-bearer",
        }
    }
}

/// A token endpoint's answer.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: SecretString,
    /// A (new) refresh token, when the provider sent one.
    pub refresh_token: Option<SecretString>,
    /// Seconds until the access token expires, when the provider says
    /// (Salesforce does not).
    pub expires_in: Option<u64>,
    /// The non-secret fields named in [`OAuthClient::recorded_fields`]
    /// that the answer carried, as text.
    pub fields: BTreeMap<String, String>,
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl TokenResponse {
    /// Reads a token answer; `recorded` names the fields to keep.
    pub fn parse(body: &[u8], recorded: &[String]) -> Result<Self, OAuthError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| OAuthError::BadTokenResponse {
                reason: format!("not JSON (line {}, column {})", e.line(), e.column()),
            })?;
        let map = value
            .as_object()
            .ok_or_else(|| OAuthError::BadTokenResponse {
                reason: "not a JSON object".into(),
            })?;
        let access_token = map
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| OAuthError::BadTokenResponse {
                reason: "no access_token".into(),
            })?;
        let refresh_token = map
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| SecretString::from(s.to_string()));
        // Some providers send expires_in as a string ("3600").
        let expires_in = map.get("expires_in").and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        let fields = recorded
            .iter()
            .filter(|name| !SECRET_FIELDS.contains(&name.as_str()))
            .filter_map(|name| Some((name.clone(), text_of(map.get(name.as_str())?)?)))
            .collect();
        Ok(Self {
            access_token: SecretString::from(access_token.to_string()),
            refresh_token,
            expires_in,
            fields,
        })
    }
}

/// The OAuth `error` code at the start of a provider message
/// (`invalid_grant: expired access/refresh token`), as the core's error
/// reader renders RFC 6749 error bodies.
fn oauth_code(message: &str) -> Option<&str> {
    let code = message.split(':').next()?.trim();
    (!code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')).then_some(code)
}

/// Maps a failed token request to an [`OAuthError`].
fn refusal(error: HttpError, client: &OAuthClient, grant: &Grant) -> OAuthError {
    let HttpError::Status {
        status, message, ..
    } = &error
    else {
        return OAuthError::Http(error);
    };
    match oauth_code(message) {
        Some("invalid_grant") => OAuthError::InvalidGrant {
            message: message.clone(),
        },
        Some("consent_required") => OAuthError::ConsentRequired {
            consent_url: client.consent_url(),
        },
        // A refresh token refused with 400 and no RFC 6749 code (HubSpot's
        // newer bodies put their own `message` first): only a new
        // authorization helps.
        None if *status == 400 && matches!(grant, Grant::RefreshToken(_)) => {
            OAuthError::InvalidGrant {
                message: message.clone(),
            }
        }
        code => OAuthError::TokenRefused {
            status: *status,
            code: code.map(str::to_string),
            message: message.clone(),
        },
    }
}

/// Sends one token request through `http` and reads the answer.
///
/// The request is never resent once it may have reached the provider
/// (`retry_safe(false)`): an authorization code must not be replayed, and
/// a refresh token that rotates must not be spent twice.
pub async fn request_token(
    http: &HttpClient,
    client: &OAuthClient,
    grant: &Grant,
) -> Result<TokenResponse, OAuthError> {
    let mut form: Vec<(&str, String)> = vec![("grant_type", grant.grant_type().to_string())];
    match grant {
        Grant::AuthorizationCode { code, verifier } => {
            form.push(("code", code.expose_secret().to_string()));
            form.push(("redirect_uri", client.redirect_uri.clone()));
            form.push(("code_verifier", verifier.expose_secret().to_string()));
        }
        Grant::RefreshToken(token) => {
            form.push(("refresh_token", token.expose_secret().to_string()));
        }
        Grant::ClientCredentials { scope } => {
            if let Some(scope) = scope.as_ref().filter(|s| !s.is_empty()) {
                form.push(("scope", scope.clone()));
            }
        }
        Grant::JwtBearer { assertion } => {
            form.push(("assertion", assertion.expose_secret().to_string()));
        }
    }
    let mut request = Request::new(Method::POST, client.token_url.clone())
        .header("Accept", "application/json")
        .retry_safe(false);
    match (client.client_auth, &client.client_secret) {
        (ClientAuth::BasicHeader, Some(secret)) => {
            let pair = format!("{}:{}", client.client_id, secret.expose_secret());
            let value = SecretString::from(format!("Basic {}", STANDARD.encode(pair)));
            request = request.secret_header("Authorization", &value);
        }
        (ClientAuth::BasicHeader, None) => {}
        (ClientAuth::RequestBody, secret) => {
            if !matches!(grant, Grant::JwtBearer { .. }) {
                form.push(("client_id", client.client_id.clone()));
                if let Some(secret) = secret {
                    form.push(("client_secret", secret.expose_secret().to_string()));
                }
            }
        }
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let request = request.form(&pairs);
    let response = http
        .send(request)
        .await
        .map_err(|e| refusal(e, client, grant))?;
    TokenResponse::parse(&response.body, &client.recorded_fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_token_response_keeps_only_named_non_secret_fields() {
        let body = br#"{"access_token":"AT-1","refresh_token":"RT-1","instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/00D/005","signature":"sig","issued_at":"1700000000000","token_type":"Bearer"}"#;
        let recorded = vec![
            "instance_url".to_string(),
            "id".to_string(),
            "signature".to_string(),
        ];
        let t = TokenResponse::parse(body, &recorded).unwrap();
        assert_eq!(t.access_token.expose_secret(), "AT-1");
        assert_eq!(t.refresh_token.unwrap().expose_secret(), "RT-1");
        assert_eq!(t.expires_in, None, "Salesforce sends no expires_in");
        assert_eq!(
            t.fields.keys().collect::<Vec<_>>(),
            vec!["id", "instance_url"]
        );
    }

    #[test]
    fn oauth_token_response_without_access_token_is_refused_without_echo() {
        let err = TokenResponse::parse(br#"{"refresh_token":"RT-SECRET"}"#, &[]).unwrap_err();
        assert!(matches!(err, OAuthError::BadTokenResponse { .. }));
        assert!(!format!("{err} {err:?}").contains("RT-SECRET"));
        let t = TokenResponse::parse(br#"{"access_token":"a","expires_in":"3600"}"#, &[]).unwrap();
        assert_eq!(t.expires_in, Some(3600));
    }

    #[test]
    fn oauth_error_codes_are_read_from_provider_messages() {
        assert_eq!(oauth_code("invalid_grant: expired"), Some("invalid_grant"));
        assert_eq!(oauth_code("consent_required"), Some("consent_required"));
        assert_eq!(oauth_code("Session expired or invalid"), None);
    }
}
