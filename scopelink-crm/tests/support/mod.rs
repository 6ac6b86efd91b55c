//! Connecting a Salesforce connection to the testkit's simulator, as a host
//! does: the OAuth flow followed as the browser would, then the connector
//! built from the connection's settings and the core session.

#![allow(dead_code)]

use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig, RetryPolicy};
use scopelink_core::oauth::{Callback, OAuthFlow, OAuthSession, Renewal};
use scopelink_core::secret::{ClientCredentials, Credentials};
use scopelink_core::store::PendingAuthorizationStore;
use scopelink_core::{ConnectionId, FeatureCategory, NewConnection, Provider};
use scopelink_crm::salesforce::{SalesforceConnector, SalesforceSettings};
use scopelink_testkit::host::MemoryEnv;
use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// A connected Salesforce connection.
pub struct Connected {
    pub sim: SalesforceSim,
    pub env: MemoryEnv,
    pub id: ConnectionId,
    pub connector: SalesforceConnector,
    pub http: HttpClient,
}

pub fn http() -> HttpClient {
    HttpClient::new(
        HttpConfig::default()
            .with_addresses(AddressPolicy::allow_local())
            .with_retry(RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(50),
            }),
    )
    .unwrap()
}

/// Starts a simulator with `config` and connects to it with `extra`
/// settings beside the login host.
pub async fn connect_with(config: SalesforceSimConfig, extra: &[(&str, &str)]) -> Connected {
    let sim = SalesforceSim::start(config.clone()).await;
    let env = MemoryEnv::new();
    let http = http();
    let mut settings = SalesforceSettings::new(sim.login_url()).to_map();
    for (k, v) in extra {
        settings.insert(k.to_string(), v.to_string());
    }
    let id = env
        .connections
        .create(
            &env.access,
            NewConnection::new(
                Provider::Salesforce,
                "Acme Salesforce",
                Credentials::ClientCredentials(ClientCredentials::new(
                    &config.client_id,
                    &config.client_secret,
                )),
            )
            .categories([FeatureCategory::Crm])
            .settings(settings.clone()),
        )
        .await
        .unwrap()
        .id;
    let client = SalesforceSettings::from_map(&settings)
        .unwrap()
        .oauth_client(
            http.config().addresses,
            &config.client_id,
            Some(SecretString::from(config.client_secret.clone())),
            &config.redirect_uri,
        )
        .unwrap();
    let flow = OAuthFlow::new(
        env.connections.clone(),
        env.store.clone() as Arc<dyn PendingAuthorizationStore>,
        http.clone(),
        client.clone(),
    );
    let start = flow.start(&env.access, &id).await.unwrap();
    let back = sim
        .follow(start.url.as_str())
        .expect("the login host redirects");
    let connection = flow
        .complete(
            &env.access,
            &Callback::from_url(&Url::parse(&back).unwrap()),
        )
        .await
        .unwrap();
    let session = OAuthSession::new(
        env.connections.clone(),
        http.clone(),
        client,
        id.clone(),
        Renewal::RefreshToken,
    );
    let connector =
        SalesforceConnector::from_connection(&connection, session, http.clone()).unwrap();
    Connected {
        sim,
        env,
        id,
        connector,
        http,
    }
}

pub async fn connect() -> Connected {
    connect_with(SalesforceSimConfig::default(), &[]).await
}

/// The SOQL of every query the instance received, in order.
pub fn soql_sent(sim: &SalesforceSim) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/query") || r.path.ends_with("/queryAll"))
        .filter_map(|r| r.query.into_iter().find(|(k, _)| k == "q").map(|(_, v)| v))
        .collect()
}

pub fn settings_of(c: &scopelink_core::Connection) -> BTreeMap<String, String> {
    c.settings.clone()
}
