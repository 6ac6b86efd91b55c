//! One provider application: where to authorize, where to get tokens, and
//! who the application is.

use secrecy::SecretString;
use url::Url;

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body (Salesforce,
    /// HubSpot, Entra ID).
    RequestBody,
    /// `Authorization: Basic base64(client_id:client_secret)` (DocuSign).
    BasicHeader,
}

/// A provider application registered for OAuth.
///
/// The provider crates build one per provider style (Salesforce's login,
/// sandbox or My Domain host; Entra's tenant; DocuSign demo or production);
/// the core knows none of them.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    /// The authorize endpoint.
    pub authorize_url: Url,
    /// The token endpoint.
    pub token_url: Url,
    /// The application's client id (integration key).
    pub client_id: String,
    /// The application's client secret, if it has one.
    pub client_secret: Option<SecretString>,
    /// Where the provider sends the browser back.
    pub redirect_uri: String,
    /// Scopes to ask for (joined with spaces).
    pub scopes: Vec<String>,
    /// Extra authorize parameters (`prompt`, `login_hint`, ...).
    pub authorize_params: Vec<(String, String)>,
    /// How the client authenticates at the token endpoint.
    pub client_auth: ClientAuth,
    /// Fields of the token response to record as connection settings
    /// (Salesforce `instance_url` and `id`, ...). Never a token.
    pub recorded_fields: Vec<String>,
}

/// Fields that are never recorded, whatever `recorded_fields` says.
pub(crate) const SECRET_FIELDS: [&str; 5] = [
    "access_token",
    "refresh_token",
    "id_token",
    "signature",
    "assertion",
];

impl OAuthClient {
    /// A client with no secret, scopes or extras; set the public fields to
    /// add them.
    pub fn new(authorize_url: Url, token_url: Url, client_id: &str, redirect_uri: &str) -> Self {
        Self {
            authorize_url,
            token_url,
            client_id: client_id.trim().to_string(),
            client_secret: None,
            redirect_uri: redirect_uri.trim().to_string(),
            scopes: Vec::new(),
            authorize_params: Vec::new(),
            client_auth: ClientAuth::RequestBody,
            recorded_fields: Vec::new(),
        }
    }

    /// The space-separated scope list.
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }

    /// The authorize URL for `state` and the S256 `code_challenge`.
    pub fn authorize_url(&self, state: &str, code_challenge: &str) -> Url {
        let mut url = self.authorize_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri);
            if !self.scopes.is_empty() {
                q.append_pair("scope", &self.scope());
            }
            q.append_pair("state", state)
                .append_pair("code_challenge", code_challenge)
                .append_pair("code_challenge_method", "S256");
            for (k, v) in &self.authorize_params {
                q.append_pair(k, v);
            }
        }
        url
    }

    /// The URL a user opens to grant consent for a JWT grant: the authorize
    /// URL with no state or challenge (DocuSign's individual consent).
    pub fn consent_url(&self) -> String {
        let mut url = self.authorize_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri);
            if !self.scopes.is_empty() {
                q.append_pair("scope", &self.scope());
            }
        }
        url.to_string()
    }
}
