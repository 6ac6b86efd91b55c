//! Connecting an OAuth provider, offline: the testkit's OAuth authorization
//! server runs on loopback; the example starts an authorization (PKCE +
//! state), follows the authorize URL as the browser would, completes the
//! callback, then asks for a token from 100 concurrent requests once the
//! access token has expired (one refresh, the rotated refresh token written
//! to the vault first), and finally shows what a revoked grant does to the
//! connection.
//!
//! Run with `cargo run -p scopelink-examples --example oauth_connect`.

use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig};
use scopelink_core::oauth::{Callback, OAuthClient, OAuthFlow, OAuthSession, Renewal};
use scopelink_core::secret::{ClientCredentials, Credentials, InMemoryVault, Vault};
use scopelink_core::store::PendingAuthorizationStore;
use scopelink_core::{Access, Connections, FeatureCategory, MemoryStore, NewConnection, Provider};
use scopelink_testkit::oauth::{OAuthSim, OAuthSimConfig};
use secrecy::SecretString;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;
use url::Url;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = OAuthSimConfig {
        rotate_refresh_tokens: true,
        ..OAuthSimConfig::default()
    };
    let sim = OAuthSim::start(config.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let vault = Arc::new(InMemoryVault::new());
    let connections = Connections::new(store.clone(), vault.clone());
    let http = HttpClient::new(HttpConfig::default().with_addresses(AddressPolicy::allow_local()))?;
    let mut client = OAuthClient::new(
        Url::parse(&sim.authorize_url())?,
        Url::parse(&sim.token_url())?,
        &config.client_id,
        &config.redirect_uri,
    );
    client.client_secret = Some(SecretString::from(config.client_secret.clone()));
    client.scopes = vec!["crm.objects.deals.read".into(), "oauth".into()];
    let flow = OAuthFlow::new(
        connections.clone(),
        store.clone() as Arc<dyn PendingAuthorizationStore>,
        http.clone(),
        client.clone(),
    );
    let access = Access::full();
    let connection = connections
        .create(
            &access,
            NewConnection::new(
                Provider::HubSpot,
                "Acme HubSpot",
                Credentials::ClientCredentials(ClientCredentials::new(
                    &config.client_id,
                    &config.client_secret,
                )),
            )
            .categories(BTreeSet::from([FeatureCategory::Crm])),
        )
        .await?;
    println!("created {} ({})", connection.name, connection.status);

    let start = flow.start(&access, &connection.id).await?;
    println!("1. open in the popup: {}", start.url.path());
    let back = sim
        .follow(start.url.as_str())
        .ok_or("the server refused to redirect")?;
    let connected = flow
        .complete(&access, &Callback::from_url(&Url::parse(&back)?))
        .await?;
    println!("2. callback completed: {}", connected.status);

    // An hour later: the access token in the vault has expired.
    if let Credentials::OAuth(mut tokens) = connections.credentials(&access, &connection.id).await?
    {
        tokens.expires_at = Some(chrono::Utc::now() - chrono::Duration::minutes(1));
        let reference = connections
            .get(&access, &connection.id)
            .await?
            .credential_ref;
        vault
            .put(&reference.0, Credentials::OAuth(tokens).seal())
            .await?;
    }
    let session = OAuthSession::new(
        connections.clone(),
        http,
        client,
        connection.id.clone(),
        Renewal::RefreshToken,
    );
    let started = Instant::now();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let s = session.clone();
            tokio::spawn(async move { s.access_token().await })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    println!(
        "3. 100 concurrent requests after expiry: {} refresh request(s) in {:?}",
        sim.counts().refreshes,
        started.elapsed()
    );

    sim.revoke_all();
    let token = session.access_token().await?;
    session.rejected(&token);
    match session.access_token().await {
        Ok(_) => println!("4. unexpected: the revoked grant still worked"),
        Err(e) => println!("4. revoked: {e}"),
    }
    let after = connections.get(&access, &connection.id).await?;
    println!("   connection is now: {}", after.status);
    println!("token requests in all: {:?}", sim.counts());
    Ok(())
}
