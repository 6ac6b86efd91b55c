//! OAuth 2.0 in the core, end to end against the testkit's authorization
//! server simulator: authorization code with PKCE and state, token
//! freshness (single-flight refresh, rotation, 401 without expiry),
//! revocation → Connection Error → reconnect, and the JWT bearer grant.

use scopelink_core::access::{Access, Entitlements, Permission};
use scopelink_core::connections::ConnectionEvent;
use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig};
use scopelink_core::oauth::{
    challenge_s256, AuthorizationExtras, Callback, ClientAuth, JwtClaims, JwtGrant, OAuthClient,
    OAuthError, OAuthFlow, OAuthSession, Renewal,
};
use scopelink_core::secret::{
    load_credentials, ClientCredentials, Credentials, InMemoryVault, OAuthTokens, Vault,
};
use scopelink_core::store::{ConnectionStore, PendingAuthorizationStore};
use scopelink_core::{
    async_trait, Connection, ConnectionId, ConnectionStatus, Connections, Error, FeatureCategory,
    MemoryStore, NewConnection, Provider, Store,
};
use scopelink_testkit::oauth::{
    OAuthSim, OAuthSimConfig, TEST_RSA_PRIVATE_PEM, TEST_RSA_PUBLIC_PEM,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

struct Env {
    sim: OAuthSim,
    store: Arc<MemoryStore>,
    vault: Arc<InMemoryVault>,
    connections: Connections,
    http: HttpClient,
    client: OAuthClient,
    flow: OAuthFlow,
    id: ConnectionId,
}

fn http() -> HttpClient {
    HttpClient::new(
        HttpConfig::default()
            .with_addresses(AddressPolicy::allow_local())
            .with_timeout(Duration::from_secs(10)),
    )
    .expect("client")
}

fn client_for(sim: &OAuthSim, config: &OAuthSimConfig) -> OAuthClient {
    let mut client = OAuthClient::new(
        Url::parse(&sim.authorize_url()).unwrap(),
        Url::parse(&sim.token_url()).unwrap(),
        &config.client_id,
        &config.redirect_uri,
    );
    client.client_secret = Some(SecretString::from(config.client_secret.clone()));
    client.scopes = vec!["api".into(), "refresh_token".into()];
    client.recorded_fields = vec!["instance_url".into(), "id".into()];
    client
}

async fn env(config: OAuthSimConfig) -> Env {
    let sim = OAuthSim::start(config.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let vault = Arc::new(InMemoryVault::new());
    let connections = Connections::new(store.clone() as Arc<dyn Store>, vault.clone());
    let http = http();
    let client = client_for(&sim, &config);
    let flow = OAuthFlow::new(
        connections.clone(),
        store.clone() as Arc<dyn PendingAuthorizationStore>,
        http.clone(),
        client.clone(),
    );
    let created = connections
        .create(
            &Access::full(),
            NewConnection::new(
                Provider::Salesforce,
                "Acme Salesforce",
                Credentials::ClientCredentials(ClientCredentials::new(
                    &config.client_id,
                    &config.client_secret,
                )),
            )
            .categories(BTreeSet::from([FeatureCategory::Crm])),
        )
        .await
        .expect("create");
    Env {
        sim,
        store,
        vault,
        connections,
        http,
        client,
        flow,
        id: created.id,
    }
}

fn salesforce_style() -> OAuthSimConfig {
    let mut extra = Map::new();
    extra.insert(
        "instance_url".into(),
        json!("https://acme.my.salesforce.com"),
    );
    extra.insert(
        "id".into(),
        json!("https://login.salesforce.com/id/00Dxx/005xx"),
    );
    extra.insert("signature".into(), json!("c2lnbmF0dXJl"));
    OAuthSimConfig {
        access_lifetime: None,
        extra_token_fields: extra,
        ..OAuthSimConfig::default()
    }
}

/// Opens the authorize URL as the browser does (no redirect following) and
/// returns the callback URL from `Location`.
async fn browser(url: &Url) -> Url {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url.as_str())
        .send()
        .await
        .expect("authorize");
    assert_eq!(response.status().as_u16(), 302, "authorize must redirect");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    Url::parse(&location).unwrap()
}

async fn connect(env: &Env) -> Connection {
    let start = env
        .flow
        .start(&Access::full(), &env.id)
        .await
        .expect("start");
    let back = browser(&start.url).await;
    env.flow
        .complete(&Access::full(), &Callback::from_url(&back))
        .await
        .expect("complete")
}

async fn tokens(env: &Env) -> OAuthTokens {
    let c = env.connections.get(&Access::full(), &env.id).await.unwrap();
    match load_credentials(env.vault.as_ref(), &c.credential_ref)
        .await
        .unwrap()
    {
        Credentials::OAuth(t) => t,
        _ => panic!("the vault must hold OAuth tokens"),
    }
}

/// Makes the vault's access token expired (as if an hour had passed).
async fn expire_in_vault(env: &Env) {
    let c = env.connections.get(&Access::full(), &env.id).await.unwrap();
    let mut t = tokens(env).await;
    t.expires_at = Some(chrono::Utc::now() - chrono::Duration::minutes(5));
    env.vault
        .put(&c.credential_ref.0, Credentials::OAuth(t).seal())
        .await
        .unwrap();
}

fn session(env: &Env) -> OAuthSession {
    OAuthSession::new(
        env.connections.clone(),
        env.http.clone(),
        env.client.clone(),
        env.id.clone(),
        Renewal::RefreshToken,
    )
}

async fn status(env: &Env) -> ConnectionStatus {
    env.connections
        .get(&Access::full(), &env.id)
        .await
        .unwrap()
        .status
}

#[test]
fn oauth_authorize_url_per_provider_style() {
    let style = |authorize: &str, scopes: &[&str], extras: &[(&str, &str)]| {
        let mut c = OAuthClient::new(
            Url::parse(authorize).unwrap(),
            Url::parse("https://token.invalid/token").unwrap(),
            "client-123",
            "https://app.example.com/oauth/callback",
        );
        c.scopes = scopes.iter().map(|s| s.to_string()).collect();
        c.authorize_params = extras
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c.authorize_url(
            "STATE",
            &challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        )
        .to_string()
    };
    let urls = BTreeMap::from([
        (
            "salesforce_login",
            style(
                "https://login.salesforce.com/services/oauth2/authorize",
                &["api", "refresh_token"],
                &[],
            ),
        ),
        (
            "salesforce_sandbox",
            style(
                "https://test.salesforce.com/services/oauth2/authorize",
                &["api", "refresh_token"],
                &[],
            ),
        ),
        (
            "salesforce_my_domain",
            style(
                "https://acme.my.salesforce.com/services/oauth2/authorize",
                &["api", "refresh_token"],
                &[("prompt", "login consent")],
            ),
        ),
        (
            "hubspot",
            style(
                "https://app.hubspot.com/oauth/authorize",
                &[
                    "crm.objects.deals.read",
                    "crm.objects.companies.read",
                    "oauth",
                ],
                &[],
            ),
        ),
        (
            "dynamics_entra_tenant",
            style(
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
                &[
                    "https://contoso.crm.dynamics.com/user_impersonation",
                    "offline_access",
                ],
                &[("response_mode", "query")],
            ),
        ),
        (
            "docusign_demo",
            style(
                "https://account-d.docusign.com/oauth/auth",
                &["signature", "extended"],
                &[],
            ),
        ),
        (
            "docusign_production",
            style(
                "https://account.docusign.com/oauth/auth",
                &["signature", "extended"],
                &[],
            ),
        ),
    ]);
    for url in urls.values() {
        let parsed = Url::parse(url).unwrap();
        let q: BTreeMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(
            q["code_challenge"],
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(q["state"], "STATE");
    }
    insta::assert_yaml_snapshot!(urls);
}

#[tokio::test]
async fn oauth_pkce_end_to_end_connects_with_tokens_in_the_vault_only() {
    let env = env(salesforce_style()).await;
    let start = env.flow.start(&Access::full(), &env.id).await.unwrap();
    let q: BTreeMap<_, _> = start.url.query_pairs().into_owned().collect();
    assert_eq!(q["state"], start.state);
    let back = browser(&start.url).await;
    let connected = env
        .flow
        .complete(&Access::full(), &Callback::from_url(&back))
        .await
        .expect("complete");
    assert_eq!(connected.status, ConnectionStatus::Connected);
    assert_eq!(
        connected
            .settings
            .get("oauth.instance_url")
            .map(String::as_str),
        Some("https://acme.my.salesforce.com")
    );
    assert!(!connected.settings.contains_key("oauth.signature"));
    // The server checked the verifier against the challenge it was sent.
    let form = env.sim.last_token_form().unwrap();
    assert_eq!(challenge_s256(&form["code_verifier"]), q["code_challenge"]);
    assert_eq!(
        form["redirect_uri"],
        "https://app.example.com/oauth/callback"
    );
    assert_eq!(env.sim.counts().code_exchanges, 1);
    let t = tokens(&env).await;
    assert!(t.access_token.expose_secret().starts_with("at-"));
    assert!(t.refresh_token.is_some());
    assert_eq!(t.expires_at, None, "Salesforce gives no expiry");
    assert_eq!(
        t.instance_url.as_deref(),
        Some("https://acme.my.salesforce.com")
    );
    // Tokens are in the vault, never in the store; the app credentials are gone.
    let stored = serde_json::to_string(&env.store.connection(&env.id).await.unwrap()).unwrap();
    assert!(!stored.contains(t.access_token.expose_secret()));
    assert_eq!(env.vault.keys().len(), 1);
}

#[tokio::test]
async fn oauth_server_refuses_a_wrong_pkce_verifier() {
    let env = env(OAuthSimConfig::default()).await;
    // Two authorizations; the first one's code is sent back with the second's state.
    let first = env.flow.start(&Access::full(), &env.id).await.unwrap();
    let second = env.flow.start(&Access::full(), &env.id).await.unwrap();
    let mut back = Callback::from_url(&browser(&first.url).await);
    back.state = second.state.clone();
    let err = env.flow.complete(&Access::full(), &back).await.unwrap_err();
    assert!(
        matches!(err, Error::OAuth(OAuthError::InvalidGrant { .. })),
        "{err}"
    );
    assert_eq!(
        status(&env).await,
        ConnectionStatus::Untested,
        "nothing changed"
    );
    assert!(matches!(
        env.connections
            .credentials(&Access::full(), &env.id)
            .await
            .unwrap(),
        Credentials::ClientCredentials(_)
    ));
}

#[tokio::test]
async fn oauth_state_replay_is_refused_and_the_code_is_exchanged_once() {
    let env = env(OAuthSimConfig::default()).await;
    let start = env.flow.start(&Access::full(), &env.id).await.unwrap();
    let back = Callback::from_url(&browser(&start.url).await);
    env.flow.complete(&Access::full(), &back).await.unwrap();
    let vault_before = env.vault.keys();
    let err = env.flow.complete(&Access::full(), &back).await.unwrap_err();
    assert!(
        matches!(err, Error::OAuth(OAuthError::UnknownState)),
        "{err}"
    );
    assert_eq!(env.sim.counts().code_exchanges, 1, "no replayed code");
    assert_eq!(env.vault.keys(), vault_before);
}

#[tokio::test]
async fn oauth_unknown_and_expired_states_are_refused() {
    let env = env(OAuthSimConfig::default()).await;
    let unknown = Callback {
        state: "never-issued".into(),
        code: Some("code-x".to_string().into()),
        ..Callback::default()
    };
    let err = env
        .flow
        .complete(&Access::full(), &unknown)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OAuth(OAuthError::UnknownState)));

    let short = env.flow.clone().with_pending_lifetime(Duration::ZERO);
    let start = short.start(&Access::full(), &env.id).await.unwrap();
    let back = Callback::from_url(&browser(&start.url).await);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let err = short.complete(&Access::full(), &back).await.unwrap_err();
    assert!(
        matches!(err, Error::OAuth(OAuthError::StateExpired { .. })),
        "{err}"
    );
    assert_eq!(
        env.sim.counts().code_exchanges,
        0,
        "an expired state exchanges nothing"
    );
    assert_eq!(status(&env).await, ConnectionStatus::Untested);
}

#[tokio::test]
async fn oauth_access_denied_redirect_is_typed_and_changes_nothing() {
    let env = env(OAuthSimConfig::default()).await;
    env.sim.deny_next();
    let start = env.flow.start(&Access::full(), &env.id).await.unwrap();
    let back = browser(&start.url).await;
    let keys = env.vault.keys();
    let err = env
        .flow
        .complete(&Access::full(), &Callback::from_url(&back))
        .await
        .unwrap_err();
    match err {
        Error::OAuth(OAuthError::Denied { error, .. }) => assert_eq!(error, "access_denied"),
        other => panic!("expected Denied, got {other}"),
    }
    assert_eq!(status(&env).await, ConnectionStatus::Untested);
    assert_eq!(env.vault.keys(), keys);
    assert_eq!(env.sim.counts().token_requests, 0);
}

#[tokio::test]
async fn oauth_failed_exchange_is_typed_and_changes_nothing() {
    let mut env = env(OAuthSimConfig::default()).await;
    env.client.client_secret = Some("wrong-secret".to_string().into());
    let flow = OAuthFlow::new(
        env.connections.clone(),
        env.store.clone() as Arc<dyn PendingAuthorizationStore>,
        env.http.clone(),
        env.client.clone(),
    );
    let start = flow.start(&Access::full(), &env.id).await.unwrap();
    let back = browser(&start.url).await;
    let err = flow
        .complete(&Access::full(), &Callback::from_url(&back))
        .await
        .unwrap_err();
    match &err {
        Error::OAuth(OAuthError::TokenRefused { status, code, .. }) => {
            assert_eq!(*status, 401);
            assert_eq!(code.as_deref(), Some("invalid_client"));
        }
        other => panic!("expected TokenRefused, got {other}"),
    }
    assert!(!err.to_string().contains("wrong-secret"));
    assert_eq!(status(&env).await, ConnectionStatus::Untested);
    assert_eq!(env.vault.keys().len(), 1);
}

#[tokio::test]
async fn oauth_needs_manage_permission() {
    let env = env(OAuthSimConfig::default()).await;
    let viewer = Access::with(Permission::View, Entitlements::of([FeatureCategory::Crm]));
    let err = env.flow.start(&viewer, &env.id).await.unwrap_err();
    assert!(matches!(err, Error::Access(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_single_flight_refresh_under_100_concurrent_calls() {
    let env = env(OAuthSimConfig::default()).await;
    connect(&env).await;
    expire_in_vault(&env).await;
    let session = session(&env);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let session = session.clone();
        tasks.push(tokio::spawn(async move { session.access_token().await }));
    }
    let mut seen = BTreeSet::new();
    for t in tasks {
        let token = t.await.unwrap().expect("token");
        seen.insert(token.secret.expose_secret().to_string());
    }
    assert_eq!(env.sim.counts().refreshes, 1, "exactly one refresh request");
    assert_eq!(seen.len(), 1, "every caller got the one new token");
    let t = tokens(&env).await;
    assert_eq!(
        seen.first().unwrap(),
        t.access_token.expose_secret(),
        "vault updated"
    );
    assert!(t.expires_at.unwrap() > chrono::Utc::now() + chrono::Duration::minutes(50));
}

#[tokio::test]
async fn oauth_fresh_token_is_reused_without_a_request() {
    let env = env(OAuthSimConfig::default()).await;
    connect(&env).await;
    let session = session(&env);
    let a = session.access_token().await.unwrap();
    let b = session.access_token().await.unwrap();
    assert_eq!(a.secret.expose_secret(), b.secret.expose_secret());
    assert_eq!(env.sim.counts().refreshes, 0);
}

#[tokio::test]
async fn oauth_rotated_refresh_token_is_persisted_before_use() {
    let env = env(OAuthSimConfig {
        rotate_refresh_tokens: true,
        ..OAuthSimConfig::default()
    })
    .await;
    connect(&env).await;
    let old = tokens(&env).await.refresh_token.unwrap();
    expire_in_vault(&env).await;
    let token = session(&env).access_token().await.unwrap();
    let now = tokens(&env).await;
    let new = now.refresh_token.unwrap();
    assert_ne!(new.expose_secret(), old.expose_secret());
    assert_eq!(
        env.sim.live_refresh_tokens(),
        vec![new.expose_secret().to_string()]
    );
    assert_eq!(
        now.access_token.expose_secret(),
        token.secret.expose_secret()
    );
    // A second session (another process) reads the rotated token and can refresh again.
    expire_in_vault(&env).await;
    session(&env)
        .access_token()
        .await
        .expect("refresh with the rotated token");
    assert_eq!(env.sim.counts().refreshes, 2);
}

#[tokio::test]
async fn oauth_401_without_expiry_refreshes_once() {
    let env = env(salesforce_style()).await;
    connect(&env).await;
    let session = session(&env);
    let first = session.access_token().await.unwrap();
    env.sim.expire_access_tokens();
    let info = env.http.clone();
    let get = |token: SecretString| {
        let info = info.clone();
        let url = Url::parse(&env.sim.userinfo_url()).unwrap();
        async move {
            info.send(
                scopelink_core::http::Request::new(http::Method::GET, url).secret_header(
                    "Authorization",
                    &format!("Bearer {}", token.expose_secret()).into(),
                ),
            )
            .await
        }
    };
    let err = get(first.secret.clone()).await.unwrap_err();
    assert!(
        err.to_string().contains("Session expired or invalid"),
        "{err}"
    );
    // Many requests see the same 401.
    for _ in 0..100 {
        session.rejected(&first);
    }
    let second = session.access_token().await.unwrap();
    assert_ne!(second.secret.expose_secret(), first.secret.expose_secret());
    assert_eq!(env.sim.counts().refreshes, 1);
    get(second.secret.clone())
        .await
        .expect("the new token works");
    assert_eq!(
        tokens(&env).await.instance_url.as_deref(),
        Some("https://acme.my.salesforce.com"),
        "the instance survives a refresh"
    );
}

#[tokio::test]
async fn oauth_revoked_grant_moves_to_connection_error_and_reconnect_recovers() {
    let env = env(OAuthSimConfig::default()).await;
    connect(&env).await;
    let old_keys = env.vault.keys();
    let mut events = env.connections.subscribe();
    env.sim.revoke_all();
    expire_in_vault(&env).await;
    let err = session(&env).access_token().await.unwrap_err();
    assert!(
        matches!(err, Error::OAuth(OAuthError::InvalidGrant { .. })),
        "{err}"
    );
    match status(&env).await {
        ConnectionStatus::ConnectionError { reason, .. } => {
            assert!(reason.contains("reconnect"), "{reason}");
        }
        other => panic!("expected Connection Error, got {other}"),
    }
    assert!(matches!(
        events.try_recv().unwrap(),
        ConnectionEvent::EnteredError { .. }
    ));
    // Reconnect: the authorization runs again; the old vault entry goes.
    let c = connect(&env).await;
    assert_eq!(c.status, ConnectionStatus::Connected);
    let new_keys = env.vault.keys();
    assert_eq!(new_keys.len(), 1);
    assert_ne!(new_keys, old_keys);
    session(&env).access_token().await.expect("works again");
}

struct UserInfo {
    url: Url,
}

#[async_trait]
impl AuthorizationExtras for UserInfo {
    async fn extras(
        &self,
        http: &HttpClient,
        access_token: &SecretString,
        _fields: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, Error> {
        let bearer = SecretString::from(format!("Bearer {}", access_token.expose_secret()));
        let response = http
            .send(
                scopelink_core::http::Request::new(http::Method::GET, self.url.clone())
                    .secret_header("Authorization", &bearer),
            )
            .await?;
        let info: serde_json::Value = response.json()?;
        let account = &info["accounts"][0];
        Ok(BTreeMap::from([
            (
                "docusign.account_id".into(),
                account["account_id"].as_str().unwrap_or_default().into(),
            ),
            (
                "docusign.base_uri".into(),
                account["base_uri"].as_str().unwrap_or_default().into(),
            ),
        ]))
    }
}

#[tokio::test]
async fn oauth_provider_extras_are_recorded_with_basic_client_auth() {
    let mut env = env(OAuthSimConfig::default()).await;
    env.client.client_auth = ClientAuth::BasicHeader;
    let flow = OAuthFlow::new(
        env.connections.clone(),
        env.store.clone() as Arc<dyn PendingAuthorizationStore>,
        env.http.clone(),
        env.client.clone(),
    )
    .with_extras(Arc::new(UserInfo {
        url: Url::parse(&env.sim.userinfo_url()).unwrap(),
    }));
    let start = flow.start(&Access::full(), &env.id).await.unwrap();
    let back = browser(&start.url).await;
    let c = flow
        .complete(&Access::full(), &Callback::from_url(&back))
        .await
        .unwrap();
    let form = env.sim.last_token_form().unwrap();
    assert!(
        !form.contains_key("client_secret"),
        "the secret went in the Basic header"
    );
    assert_eq!(c.settings["docusign.base_uri"], "https://demo.docusign.net");
    assert_eq!(
        c.settings["docusign.account_id"],
        "7d9b1c2e-0000-4000-8000-0000000000aa"
    );
}

fn jwt_grant(sim_config: &OAuthSimConfig) -> JwtGrant {
    JwtGrant::new(
        &sim_config.client_id,
        "5f1e5d2a-0000-4000-8000-000000000001",
        &sim_config.jwt_audience,
        SecretString::from(TEST_RSA_PRIVATE_PEM.to_string()),
    )
    .unwrap()
    .with_scope("signature impersonation")
}

#[test]
fn oauth_jwt_claims_and_rs256_signature_verify_with_the_public_key() {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let config = OAuthSimConfig::default();
    let grant = jwt_grant(&config);
    let now = chrono::Utc::now();
    let assertion = grant.assertion(now).unwrap();
    let header = decode_header(assertion.expose_secret()).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["account-d.docusign.com"]);
    let key = DecodingKey::from_rsa_pem(TEST_RSA_PUBLIC_PEM.as_bytes()).unwrap();
    let claims = decode::<JwtClaims>(assertion.expose_secret(), &key, &validation)
        .expect("signature verifies")
        .claims;
    assert_eq!(claims.iss, "sim-client-id");
    assert_eq!(claims.sub, "5f1e5d2a-0000-4000-8000-000000000001");
    assert_eq!(claims.aud, "account-d.docusign.com");
    assert_eq!(claims.iat, now.timestamp());
    assert_eq!(claims.exp - claims.iat, 3600);
    assert_eq!(claims.scope.as_deref(), Some("signature impersonation"));
    // A tampered assertion does not verify.
    let mut parts: Vec<String> = assertion
        .expose_secret()
        .split('.')
        .map(String::from)
        .collect();
    parts[1] = parts[1].chars().rev().collect();
    assert!(decode::<JwtClaims>(&parts.join("."), &key, &validation).is_err());
}

#[test]
fn oauth_jwt_bad_key_is_a_typed_error_without_the_key() {
    let err = JwtGrant::new(
        "iss",
        "sub",
        "aud",
        "not-a-key-SECRET-TEXT".to_string().into(),
    )
    .unwrap_err();
    assert!(matches!(err, OAuthError::Key { .. }));
    assert!(!format!("{err} {err:?}").contains("SECRET-TEXT"));
}

#[tokio::test]
async fn oauth_jwt_consent_required_then_connected() {
    let config = OAuthSimConfig::default();
    let mut env = env(config.clone()).await;
    env.client.scopes = vec!["signature".into(), "impersonation".into()];
    let flow = OAuthFlow::new(
        env.connections.clone(),
        env.store.clone() as Arc<dyn PendingAuthorizationStore>,
        env.http.clone(),
        env.client.clone(),
    );
    let grant = jwt_grant(&config);
    let err = flow
        .connect_with_jwt(&Access::full(), &env.id, &grant)
        .await
        .unwrap_err();
    match &err {
        Error::OAuth(OAuthError::ConsentRequired { consent_url }) => {
            let url = Url::parse(consent_url).unwrap();
            let q: BTreeMap<_, _> = url.query_pairs().into_owned().collect();
            assert_eq!(q["client_id"], "sim-client-id");
            assert_eq!(q["scope"], "signature impersonation");
            assert_eq!(q["response_type"], "code");
        }
        other => panic!("expected ConsentRequired, got {other}"),
    }
    assert_eq!(status(&env).await, ConnectionStatus::Untested);
    env.sim
        .grant_consent("5f1e5d2a-0000-4000-8000-000000000001");
    let c = flow
        .connect_with_jwt(&Access::full(), &env.id, &grant)
        .await
        .expect("connected");
    assert_eq!(c.status, ConnectionStatus::Connected);
    assert!(
        tokens(&env).await.refresh_token.is_none(),
        "JWT grants get no refresh token"
    );
    // Renewal re-signs an assertion.
    expire_in_vault(&env).await;
    let s = OAuthSession::new(
        env.connections.clone(),
        env.http.clone(),
        env.client.clone(),
        env.id.clone(),
        Renewal::Jwt(grant),
    );
    s.access_token().await.expect("renewed by a new assertion");
    assert_eq!(env.sim.counts().jwt_grants, 3);
}
