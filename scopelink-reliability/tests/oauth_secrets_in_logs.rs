//! No OAuth secret in logs, errors or `Debug` output: the client secret,
//! every authorization code, PKCE verifier, access and refresh token, JWT
//! assertion and the JWT signing key, through a full flow against the
//! testkit's OAuth server simulator (authorize, exchange, refresh with
//! rotation, 401, revocation, failed exchange, consent_required, JWT
//! grant), with every event and span captured at TRACE level.

use scopelink_core::access::Access;
use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig};
use scopelink_core::oauth::{
    Callback, JwtGrant, OAuthClient, OAuthFlow, OAuthSession, PendingAuthorization, Renewal,
    TokenResponse,
};
use scopelink_core::secret::{load_credentials, ClientCredentials, Credentials, InMemoryVault};
use scopelink_core::store::PendingAuthorizationStore;
use scopelink_core::{
    Connection, ConnectionId, Connections, FeatureCategory, MemoryStore, NewConnection, Provider,
};
use scopelink_reliability::log_capture::LogCapture;
use scopelink_reliability::secrets::Secrets;
use scopelink_testkit::oauth::{OAuthSim, OAuthSimConfig, TEST_RSA_PRIVATE_PEM};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

const CLIENT_SECRET: &str = "oauth-client-secret-DO-NOT-LOG-77";
const SUBJECT: &str = "5f1e5d2a-0000-4000-8000-000000000001";

fn capture() -> &'static LogCapture {
    LogCapture::global().expect("no other global subscriber in this test binary")
}

struct Host {
    sim: OAuthSim,
    vault: Arc<InMemoryVault>,
    store: Arc<MemoryStore>,
    connections: Connections,
    http: HttpClient,
    client: OAuthClient,
    id: ConnectionId,
}

async fn host(config: OAuthSimConfig) -> Host {
    let sim = OAuthSim::start(config.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let vault = Arc::new(InMemoryVault::new());
    let connections = Connections::new(store.clone(), vault.clone());
    let http = HttpClient::new(
        HttpConfig::default()
            .with_addresses(AddressPolicy::allow_local())
            .with_timeout(Duration::from_secs(10)),
    )
    .unwrap();
    let mut client = OAuthClient::new(
        Url::parse(&sim.authorize_url()).unwrap(),
        Url::parse(&sim.token_url()).unwrap(),
        &config.client_id,
        &config.redirect_uri,
    );
    client.client_secret = Some(SecretString::from(config.client_secret.clone()));
    client.scopes = vec!["signature".into(), "impersonation".into()];
    let id = connections
        .create(
            &Access::full(),
            NewConnection::new(
                Provider::DocuSign,
                "Acme DocuSign",
                Credentials::ClientCredentials(ClientCredentials::new(
                    &config.client_id,
                    &config.client_secret,
                )),
            )
            .categories(BTreeSet::from([FeatureCategory::ESignature])),
        )
        .await
        .unwrap()
        .id;
    Host {
        sim,
        vault,
        store,
        connections,
        http,
        client,
        id,
    }
}

impl Host {
    fn flow(&self, client: &OAuthClient) -> OAuthFlow {
        OAuthFlow::new(
            self.connections.clone(),
            self.store.clone() as Arc<dyn PendingAuthorizationStore>,
            self.http.clone(),
            client.clone(),
        )
    }

    async fn vault_tokens(&self, secrets: &mut Secrets, label: &str) -> Connection {
        let c = self
            .connections
            .get(&Access::full(), &self.id)
            .await
            .unwrap();
        if let Credentials::OAuth(t) = load_credentials(self.vault.as_ref(), &c.credential_ref)
            .await
            .unwrap()
        {
            secrets.add(
                format!("{label} access token"),
                t.access_token.expose_secret(),
            );
            if let Some(r) = &t.refresh_token {
                secrets.add(format!("{label} refresh token"), r.expose_secret());
            }
            secrets.check_debug("OAuth tokens", &t);
        }
        c
    }

    async fn expire(&self) {
        let c = self
            .connections
            .get(&Access::full(), &self.id)
            .await
            .unwrap();
        if let Credentials::OAuth(mut t) = load_credentials(self.vault.as_ref(), &c.credential_ref)
            .await
            .unwrap()
        {
            t.expires_at = Some(chrono::Utc::now() - chrono::Duration::minutes(1));
            use scopelink_core::secret::Vault;
            self.vault
                .put(&c.credential_ref.0, Credentials::OAuth(t).seal())
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_no_token_code_verifier_assertion_or_key_in_logs_errors_or_debug() {
    capture();
    let mut secrets = Secrets::new();
    secrets.add("client secret", CLIENT_SECRET);
    // The key's base64 body lines (the PEM armour is not secret).
    for line in TEST_RSA_PRIVATE_PEM
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .take(3)
    {
        secrets.add("JWT signing key", line);
    }
    let config = OAuthSimConfig {
        client_secret: CLIENT_SECRET.into(),
        rotate_refresh_tokens: true,
        ..OAuthSimConfig::default()
    };
    let host = host(config.clone()).await;
    let flow = host.flow(&host.client);

    // Authorization code with PKCE.
    let start = flow.start(&Access::full(), &host.id).await.unwrap();
    let back = Url::parse(&host.sim.follow(start.url.as_str()).unwrap()).unwrap();
    let callback = Callback::from_url(&back);
    secrets.add(
        "authorization code",
        callback.code.as_ref().unwrap().expose_secret(),
    );
    secrets.check_debug("callback", &callback);
    let connected = flow.complete(&Access::full(), &callback).await.unwrap();
    secrets.add(
        "PKCE verifier",
        &host.sim.last_token_form().unwrap()["code_verifier"],
    );
    secrets.check_debug("connection", &connected);
    secrets.check_debug("flow", &flow);
    host.vault_tokens(&mut secrets, "first").await;
    // A replayed callback: typed error, nothing secret.
    let err = flow.complete(&Access::full(), &callback).await.unwrap_err();
    secrets.check_error("replayed state", &err);

    // A pending authorization's Debug never shows its verifier.
    let pending_start = flow.start(&Access::full(), &host.id).await.unwrap();
    let pending: PendingAuthorization = host
        .store
        .take_pending(&pending_start.state)
        .await
        .unwrap()
        .unwrap();
    secrets.add("pending verifier", pending.verifier.expose_secret());
    secrets.check_debug("pending authorization", &pending);

    // Refresh (rotated) and a 401 renewal.
    let session = OAuthSession::new(
        host.connections.clone(),
        host.http.clone(),
        host.client.clone(),
        host.id.clone(),
        Renewal::RefreshToken,
    );
    host.expire().await;
    let token = session.access_token().await.unwrap();
    secrets.check_debug("token", &token);
    secrets.check_debug("session", &session);
    host.vault_tokens(&mut secrets, "refreshed").await;
    session.rejected(&token);
    session.access_token().await.unwrap();
    host.vault_tokens(&mut secrets, "after 401").await;

    // A failed exchange (wrong client secret) and a revoked grant.
    let mut wrong = host.client.clone();
    wrong.client_secret = Some("wrong-client-secret-ALSO-SECRET".to_string().into());
    secrets.add("wrong client secret", "wrong-client-secret-ALSO-SECRET");
    let wrong_flow = host.flow(&wrong);
    let s = wrong_flow.start(&Access::full(), &host.id).await.unwrap();
    let cb = Callback::from_url(&Url::parse(&host.sim.follow(s.url.as_str()).unwrap()).unwrap());
    secrets.add("second code", cb.code.as_ref().unwrap().expose_secret());
    let err = wrong_flow.complete(&Access::full(), &cb).await.unwrap_err();
    secrets.check_error("failed exchange", &err);
    host.sim.revoke_all();
    // The API rejects the cached token; renewing it meets the revocation.
    let cached = session.access_token().await.unwrap();
    session.rejected(&cached);
    let err = session.access_token().await.unwrap_err();
    secrets.check_error("revoked grant", &err);
    let errored = host
        .connections
        .get(&Access::full(), &host.id)
        .await
        .unwrap();
    secrets.check_debug("connection in error", &errored);

    // JWT grant: consent_required, then connected; the assertion never shows.
    let grant = JwtGrant::new(
        &config.client_id,
        SUBJECT,
        &config.jwt_audience,
        SecretString::from(TEST_RSA_PRIVATE_PEM.to_string()),
    )
    .unwrap()
    .with_scope("signature impersonation");
    secrets.check_debug("JWT grant", &grant);
    let err = flow
        .connect_with_jwt(&Access::full(), &host.id, &grant)
        .await
        .unwrap_err();
    secrets.add(
        "JWT assertion",
        &host.sim.last_token_form().unwrap()["assertion"],
    );
    secrets.check_error("consent required", &err);
    host.sim.grant_consent(SUBJECT);
    flow.connect_with_jwt(&Access::full(), &host.id, &grant)
        .await
        .unwrap();
    secrets.add(
        "second JWT assertion",
        &host.sim.last_token_form().unwrap()["assertion"],
    );
    host.vault_tokens(&mut secrets, "JWT").await;

    // A token answer's Debug output.
    let answer = TokenResponse::parse(
        br#"{"access_token":"parsed-access-token-SECRET","refresh_token":"parsed-refresh-token-SECRET"}"#,
        &[],
    )
    .unwrap();
    secrets.add("parsed access token", "parsed-access-token-SECRET");
    secrets.add("parsed refresh token", "parsed-refresh-token-SECRET");
    secrets.check_debug("token response", &answer);

    assert!(
        secrets.len() >= 15,
        "the flow produced every kind of secret"
    );
    assert!(
        !capture().lines_containing(&["/oauth2/token"]).is_empty(),
        "the token requests were traced, so the log check saw them"
    );
    secrets.check_log(capture());
}
