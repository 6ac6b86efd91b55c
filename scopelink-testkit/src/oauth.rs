//! An OAuth 2.0 authorization server simulator on wiremock, for the
//! provider simulators and the core's OAuth tests.
//!
//! Written from the specifications, not from the core's client (see
//! `fixtures/oauth/README.md` for the sources):
//!
//! - `GET {authorize_path}` (RFC 6749 §4.1.1, RFC 7636 §4.3): checks
//!   `response_type=code`, the client id and the exact registered
//!   redirect URI (a mismatch is answered 400 without redirecting, as
//!   §4.1.2.1 requires), needs `code_challenge` with
//!   `code_challenge_method=S256`, then redirects (302) to the redirect URI
//!   with `code` and `state`; or with `error=access_denied` after
//!   [`OAuthSim::deny_next`] (the user declined).
//! - `POST {token_path}` (form body, §4.1.3, §6, §4.4, RFC 7523 §2.1):
//!   client authentication by `Authorization: Basic` or `client_id` +
//!   `client_secret` in the body (401 `invalid_client` otherwise). Codes
//!   are single use, expire after 10 minutes, are bound to the redirect URI
//!   and checked against `code_verifier` (S256); refresh tokens are
//!   rotated when configured (the old one then answers `invalid_grant`);
//!   JWT assertions must be RS256-signed by the configured public key with
//!   `iss` = client id, the configured `aud`, a live `exp`, and a subject
//!   who consented (`consent_required` otherwise, DocuSign's code). Errors
//!   are RFC 6749 §5.2 bodies, `{"error":..,"error_description":..}`.
//! - `GET {userinfo_path}`: needs a live bearer token; 401 with
//!   Salesforce's `INVALID_SESSION_ID` body otherwise.
//!
//! Counters ([`OAuthSim::counts`]) say how many of each grant were asked
//! for; [`OAuthSim::revoke_all`] revokes every token (the user removed the
//! app, changed password), [`OAuthSim::expire_access_tokens`] ends every
//! access token's life.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A test RSA private key (PKCS#8 PEM) for JWT grants. TEST ONLY: it is
/// public in this repository and must never sign anything real.
pub const TEST_RSA_PRIVATE_PEM: &str = include_str!("../../fixtures/oauth/test-rsa-private.pem");
/// The public half of [`TEST_RSA_PRIVATE_PEM`].
pub const TEST_RSA_PUBLIC_PEM: &str = include_str!("../../fixtures/oauth/test-rsa-public.pem");

/// How the simulated authorization server is set up.
#[derive(Debug, Clone)]
pub struct OAuthSimConfig {
    /// The registered client id.
    pub client_id: String,
    /// The registered client secret.
    pub client_secret: String,
    /// The registered redirect URI (matched exactly).
    pub redirect_uri: String,
    /// The authorize path.
    pub authorize_path: String,
    /// The token path.
    pub token_path: String,
    /// The userinfo path.
    pub userinfo_path: String,
    /// Access token lifetime; `None` sends no `expires_in` (Salesforce).
    pub access_lifetime: Option<Duration>,
    /// Whether refresh issues a new refresh token and retires the old one
    /// (HubSpot, Entra ID).
    pub rotate_refresh_tokens: bool,
    /// Whether authorization-code grants get a refresh token.
    pub issue_refresh_tokens: bool,
    /// Extra fields of every token answer (`instance_url`, ...).
    pub extra_token_fields: Map<String, Value>,
    /// The public key JWT assertions must be signed with (PEM).
    pub jwt_public_key_pem: Option<String>,
    /// The `aud` JWT assertions must carry.
    pub jwt_audience: String,
    /// Whether token answers carry `expires_in` when `access_lifetime` is
    /// set (`false`: the session still ends after `access_lifetime`, but
    /// the answer does not say so, as Salesforce's).
    pub send_expires_in: bool,
    /// Whether token answers carry Salesforce's `issued_at` (milliseconds
    /// since the epoch, a string) and `signature`: base64 of the
    /// HMAC-SHA256, keyed by the client secret, of the answer's `id`
    /// followed by `issued_at`.
    pub sign_issued_at: bool,
}

impl Default for OAuthSimConfig {
    fn default() -> Self {
        Self {
            client_id: "sim-client-id".into(),
            client_secret: "sim-client-secret".into(),
            redirect_uri: "https://app.example.com/oauth/callback".into(),
            authorize_path: "/oauth2/authorize".into(),
            token_path: "/oauth2/token".into(),
            userinfo_path: "/oauth/userinfo".into(),
            access_lifetime: Some(Duration::from_secs(3600)),
            rotate_refresh_tokens: false,
            issue_refresh_tokens: true,
            extra_token_fields: Map::new(),
            jwt_public_key_pem: Some(TEST_RSA_PUBLIC_PEM.to_string()),
            jwt_audience: "account-d.docusign.com".into(),
            send_expires_in: true,
            sign_issued_at: false,
        }
    }
}

/// How many requests of each kind the server answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OAuthCounts {
    /// Authorize requests that redirected back.
    pub authorizations: u64,
    /// Token requests of any grant.
    pub token_requests: u64,
    /// `authorization_code` grants.
    pub code_exchanges: u64,
    /// `refresh_token` grants.
    pub refreshes: u64,
    /// `client_credentials` grants.
    pub client_credentials: u64,
    /// JWT bearer grants.
    pub jwt_grants: u64,
}

struct Code {
    challenge: String,
    redirect_uri: String,
    scope: Option<String>,
    issued: Instant,
}

struct State {
    config: OAuthSimConfig,
    codes: HashMap<String, Code>,
    used_codes: HashSet<String>,
    access: HashMap<String, Option<Instant>>,
    /// Live refresh tokens and the scope they were granted.
    refresh: HashMap<String, Option<String>>,
    consented: HashSet<String>,
    deny_next: bool,
    counts: OAuthCounts,
    counter: u64,
    last_token_form: Option<HashMap<String, String>>,
    /// The userinfo answer, when a provider's shape replaces the default.
    userinfo: Option<Value>,
}

const CODE_LIFETIME: Duration = Duration::from_secs(600);

fn oauth_error(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("cache-control", "no-store")
        .set_body_json(json!({"error": error, "error_description": description}))
}

impl State {
    fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{}-{:016x}", self.counter, fastrand_u64())
    }

    /// The redirect's location, or the 400 page's text.
    fn authorize(&mut self, url: &url::Url) -> Result<String, String> {
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let get = |k: &str| q.get(k).map(String::as_str);
        if get("client_id") != Some(self.config.client_id.as_str()) {
            return Err("unknown client_id".into());
        }
        if get("redirect_uri") != Some(self.config.redirect_uri.as_str()) {
            return Err("redirect_uri mismatch".into());
        }
        let state = get("state").unwrap_or_default().to_string();
        let mut back = url::Url::parse(&self.config.redirect_uri).expect("registered redirect");
        let error = if get("response_type") != Some("code") {
            Some(("unsupported_response_type", "response_type must be code"))
        } else if get("code_challenge").is_none_or(str::is_empty)
            || get("code_challenge_method") != Some("S256")
        {
            Some((
                "invalid_request",
                "code_challenge with method S256 is required",
            ))
        } else if std::mem::take(&mut self.deny_next) {
            Some(("access_denied", "The user denied the request"))
        } else {
            None
        };
        match error {
            Some((error, description)) => {
                back.query_pairs_mut()
                    .append_pair("error", error)
                    .append_pair("error_description", description)
                    .append_pair("state", &state);
            }
            None => {
                let code = self.next("code");
                self.codes.insert(
                    code.clone(),
                    Code {
                        challenge: get("code_challenge").unwrap_or_default().to_string(),
                        redirect_uri: self.config.redirect_uri.clone(),
                        scope: get("scope").map(str::to_string),
                        issued: Instant::now(),
                    },
                );
                self.counts.authorizations += 1;
                back.query_pairs_mut()
                    .append_pair("code", &code)
                    .append_pair("state", &state);
            }
        }
        Ok(back.to_string())
    }

    fn client_ok(&self, req: &Request, form: &HashMap<String, String>) -> bool {
        let basic = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok());
        let expected = (
            self.config.client_id.as_str(),
            self.config.client_secret.as_str(),
        );
        match basic {
            Some(pair) => pair.split_once(':') == Some(expected),
            None => {
                form.get("client_id").map(String::as_str) == Some(expected.0)
                    && form.get("client_secret").map(String::as_str) == Some(expected.1)
            }
        }
    }

    fn issue(&mut self, refresh: Option<String>, scope: Option<String>) -> ResponseTemplate {
        let access = self.next("at");
        let expiry = self.config.access_lifetime.map(|l| Instant::now() + l);
        self.access.insert(access.clone(), expiry);
        let mut body = self.config.extra_token_fields.clone();
        body.insert("access_token".into(), json!(access));
        body.insert("token_type".into(), json!("Bearer"));
        if let Some(l) = self
            .config
            .access_lifetime
            .filter(|_| self.config.send_expires_in)
        {
            body.insert("expires_in".into(), json!(l.as_secs()));
        }
        if self.config.sign_issued_at {
            let issued_at = chrono::Utc::now().timestamp_millis().to_string();
            let id = body.get("id").and_then(Value::as_str).unwrap_or_default();
            body.insert(
                "signature".into(),
                json!(issued_at_signature(
                    &self.config.client_secret,
                    id,
                    &issued_at
                )),
            );
            body.insert("issued_at".into(), json!(issued_at));
        }
        if let Some(r) = refresh {
            body.insert("refresh_token".into(), json!(r));
        }
        if let Some(s) = scope {
            body.insert("scope".into(), json!(s));
        }
        ResponseTemplate::new(200)
            .insert_header("cache-control", "no-store")
            .set_body_json(Value::Object(body))
    }

    fn token(&mut self, req: &Request) -> ResponseTemplate {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body)
            .into_owned()
            .collect();
        self.counts.token_requests += 1;
        self.last_token_form = Some(form.clone());
        let grant = form.get("grant_type").cloned().unwrap_or_default();
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" {
            self.counts.jwt_grants += 1;
            return self.jwt(&form);
        }
        if !self.client_ok(req, &form) {
            return oauth_error(401, "invalid_client", "client authentication failed");
        }
        match grant.as_str() {
            "authorization_code" => {
                self.counts.code_exchanges += 1;
                let code = form.get("code").cloned().unwrap_or_default();
                if !self.used_codes.insert(code.clone()) {
                    return oauth_error(400, "invalid_grant", "authorization code already used");
                }
                let Some(issued) = self.codes.remove(&code) else {
                    return oauth_error(400, "invalid_grant", "unknown authorization code");
                };
                if issued.issued.elapsed() > CODE_LIFETIME {
                    return oauth_error(400, "invalid_grant", "authorization code expired");
                }
                if form.get("redirect_uri") != Some(&issued.redirect_uri) {
                    return oauth_error(400, "invalid_grant", "redirect_uri mismatch");
                }
                let verifier = form.get("code_verifier").cloned().unwrap_or_default();
                let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(Sha256::digest(verifier.as_bytes()));
                if verifier.len() < 43 || challenge != issued.challenge {
                    return oauth_error(400, "invalid_grant", "PKCE verification failed");
                }
                let refresh = self.config.issue_refresh_tokens.then(|| self.next("rt"));
                if let Some(r) = &refresh {
                    self.refresh.insert(r.clone(), issued.scope.clone());
                }
                self.issue(refresh, issued.scope)
            }
            "refresh_token" => {
                self.counts.refreshes += 1;
                let token = form.get("refresh_token").cloned().unwrap_or_default();
                let Some(scope) = self.refresh.get(&token).cloned() else {
                    return oauth_error(400, "invalid_grant", "expired access/refresh token");
                };
                let refresh = if self.config.rotate_refresh_tokens {
                    self.refresh.remove(&token);
                    let new = self.next("rt");
                    self.refresh.insert(new.clone(), scope.clone());
                    Some(new)
                } else {
                    None
                };
                // Salesforce answers a refresh with the granted scope; other
                // servers may leave it out (RFC 6749 §5.1), so only the
                // Salesforce shape sends it.
                self.issue(refresh, scope.filter(|_| self.config.sign_issued_at))
            }
            "client_credentials" => {
                self.counts.client_credentials += 1;
                self.issue(None, form.get("scope").cloned())
            }
            _ => oauth_error(400, "unsupported_grant_type", "grant_type not supported"),
        }
    }

    fn jwt(&mut self, form: &HashMap<String, String>) -> ResponseTemplate {
        use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
        let Some(pem) = &self.config.jwt_public_key_pem else {
            return oauth_error(400, "unsupported_grant_type", "JWT grant not enabled");
        };
        let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) else {
            return oauth_error(500, "server_error", "bad configured key");
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[self.config.jwt_audience.as_str()]);
        validation.set_issuer(&[self.config.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        let assertion = form.get("assertion").cloned().unwrap_or_default();
        let claims = match decode::<Map<String, Value>>(&assertion, &key, &validation) {
            Ok(data) => data.claims,
            Err(_) => return oauth_error(400, "invalid_grant", "invalid assertion"),
        };
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !self.consented.contains(sub) {
            return oauth_error(400, "consent_required", "consent_required");
        }
        let scope = claims
            .get("scope")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.issue(None, scope)
    }

    fn is_live(&self, token: &str) -> bool {
        self.access
            .get(token)
            .is_some_and(|exp| exp.is_none_or(|e| Instant::now() < e))
    }

    fn userinfo(&mut self, req: &Request) -> ResponseTemplate {
        let token = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !self.is_live(token) {
            return ResponseTemplate::new(401).set_body_json(
                json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
            );
        }
        if let Some(body) = &self.userinfo {
            return ResponseTemplate::new(200).set_body_json(body.clone());
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "sub": "5f1e5d2a-0000-4000-8000-000000000001",
            "name": "Sim User",
            "email": "sim.user@example.com",
            "accounts": [{
                "account_id": "7d9b1c2e-0000-4000-8000-0000000000aa",
                "is_default": true,
                "account_name": "Sim Account",
                "base_uri": "https://demo.docusign.net"
            }]
        }))
    }
}

/// Salesforce's token `signature`: base64(HMAC-SHA256(client secret,
/// `id` + `issued_at`)), so a client can check the answer came from the
/// server that knows its secret.
pub fn issued_at_signature(client_secret: &str, id: &str, issued_at: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()).expect("HMAC takes any key");
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn fastrand_u64() -> u64 {
    // Token uniqueness in a test server; not security.
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

struct Responder {
    state: Arc<Mutex<State>>,
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        let path = req.url.path().to_string();
        let method = req.method.as_str();
        if method == "GET" && path == state.config.authorize_path {
            match state.authorize(&req.url) {
                Ok(location) => {
                    ResponseTemplate::new(302).insert_header("location", location.as_str())
                }
                Err(text) => ResponseTemplate::new(400).set_body_string(text),
            }
        } else if method == "POST" && path == state.config.token_path {
            state.token(req)
        } else if method == "GET" && path == state.config.userinfo_path {
            state.userinfo(req)
        } else {
            ResponseTemplate::new(404)
        }
    }
}

/// A running OAuth authorization server simulator.
pub struct OAuthSim {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for OAuthSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSim")
            .field("uri", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl OAuthSim {
    /// Starts a server on loopback.
    pub async fn start(config: OAuthSimConfig) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            config,
            codes: HashMap::new(),
            used_codes: HashSet::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            consented: HashSet::new(),
            deny_next: false,
            counts: OAuthCounts::default(),
            counter: 0,
            last_token_form: None,
            userinfo: None,
        }));
        Mock::given(any())
            .respond_with(Responder {
                state: state.clone(),
            })
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The full authorize URL.
    pub fn authorize_url(&self) -> String {
        format!("{}{}", self.uri(), lock(&self.state).config.authorize_path)
    }

    /// The full token URL.
    pub fn token_url(&self) -> String {
        format!("{}{}", self.uri(), lock(&self.state).config.token_path)
    }

    /// The full userinfo URL.
    pub fn userinfo_url(&self) -> String {
        format!("{}{}", self.uri(), lock(&self.state).config.userinfo_path)
    }

    /// Follows an authorize URL as a browser would and returns the
    /// redirect's `Location` (the callback URL with `code` and `state`, or
    /// with `error`). `None` when the server refused to redirect.
    pub fn follow(&self, authorize_url: &str) -> Option<String> {
        let url = url::Url::parse(authorize_url).ok()?;
        lock(&self.state).authorize(&url).ok()
    }

    /// The next authorization is declined by the user (`access_denied`).
    pub fn deny_next(&self) {
        lock(&self.state).deny_next = true;
    }

    /// Records that `subject` consented to the JWT grant.
    pub fn grant_consent(&self, subject: &str) {
        lock(&self.state).consented.insert(subject.to_string());
    }

    /// Revokes every access and refresh token.
    pub fn revoke_all(&self) {
        let mut s = lock(&self.state);
        s.access.clear();
        s.refresh.clear();
    }

    /// Ends the life of every access token now (refresh tokens stay).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for expiry in lock(&self.state).access.values_mut() {
            *expiry = Some(now);
        }
    }

    /// The live refresh tokens (to check rotation retired the old one).
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        let mut v: Vec<String> = lock(&self.state).refresh.keys().cloned().collect();
        v.sort();
        v
    }

    /// Also answers the authorize, token and userinfo paths on `server`,
    /// with the same state: a second host of this authorization server
    /// (Salesforce's My Domain, which is also the API host). Those paths
    /// take precedence over what `server` already answers.
    pub async fn mount_on(&self, server: &MockServer) {
        let paths = {
            let s = lock(&self.state);
            [
                s.config.authorize_path.clone(),
                s.config.token_path.clone(),
                s.config.userinfo_path.clone(),
            ]
        };
        for p in paths {
            Mock::given(wiremock::matchers::path(p))
                .respond_with(Responder {
                    state: self.state.clone(),
                })
                .with_priority(1)
                .mount(server)
                .await;
        }
    }

    /// Whether `access_token` was issued here and is still live.
    pub fn is_live(&self, access_token: &str) -> bool {
        lock(&self.state).is_live(access_token)
    }

    /// A handle that tells live access tokens, for a resource server
    /// running beside this authorization server (Salesforce's instance).
    pub fn live_tokens(&self) -> LiveTokens {
        LiveTokens(self.state.clone())
    }

    /// Sets a field every later token answer carries (e.g. Salesforce's
    /// `id`, which names this server's own address).
    pub fn set_token_field(&self, name: &str, value: Value) {
        lock(&self.state)
            .config
            .extra_token_fields
            .insert(name.to_string(), value);
    }

    /// Replaces the userinfo answer (DocuSign's shape by default) with a
    /// provider's own.
    pub fn set_userinfo(&self, body: Value) {
        lock(&self.state).userinfo = Some(body);
    }

    /// The form fields of the last token request.
    pub fn last_token_form(&self) -> Option<HashMap<String, String>> {
        lock(&self.state).last_token_form.clone()
    }

    /// The counters.
    pub fn counts(&self) -> OAuthCounts {
        lock(&self.state).counts
    }
}

/// Tells the access tokens an [`OAuthSim`] issued that are still live.
#[derive(Clone)]
pub struct LiveTokens(Arc<Mutex<State>>);

impl std::fmt::Debug for LiveTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveTokens").finish_non_exhaustive()
    }
}

impl LiveTokens {
    /// Whether `access_token` was issued and is still live.
    pub fn is_live(&self, access_token: &str) -> bool {
        lock(&self.0).is_live(access_token)
    }
}
