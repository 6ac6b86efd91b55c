//! A host with one Salesforce connection, connected to the testkit's
//! simulator through the OAuth flow (the browser played by the simulator),
//! and the connector built on it, optionally through a fault proxy in
//! front of the instance.
#![allow(dead_code)]

use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig, RateLimit, RetryPolicy};
use scopelink_core::oauth::{Callback, OAuthClient, OAuthFlow, OAuthSession, Renewal};
use scopelink_core::secret::{ClientCredentials, Credentials};
use scopelink_core::store::PendingAuthorizationStore;
use scopelink_core::{MemoryStore, Provider, Store};
use scopelink_crm::salesforce::{SalesforceConnector, SalesforceSettings};
#[allow(unused_imports)]
pub use scopelink_testkit::host::{Host, Recorder};
use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Loopback allowed, fast retries.
pub fn http() -> HttpClient {
    HttpClient::new(
        HttpConfig::default()
            .with_timeout(Duration::from_secs(10))
            .with_retry(RetryPolicy {
                max_attempts: 4,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_secs(1),
            })
            .with_rate_limit(RateLimit {
                requests: 1_000_000,
                per: Duration::from_secs(1),
            })
            .with_addresses(AddressPolicy::allow_local()),
    )
    .unwrap()
}

/// A connected Salesforce connection on a memory store.
pub struct SfHost {
    pub host: Host,
    pub store: Arc<MemoryStore>,
    pub client: OAuthClient,
    pub http: HttpClient,
    /// The callback URL the login host redirected to (holds the code).
    pub callback: String,
}

impl SfHost {
    /// Creates the connection with `extra` settings and connects it.
    pub async fn connect(
        sim: &SalesforceSim,
        config: &SalesforceSimConfig,
        extra: &[(&str, &str)],
    ) -> Self {
        let store = Arc::new(MemoryStore::new());
        let mut settings = SalesforceSettings::new(sim.login_url()).to_map();
        for (k, v) in extra {
            settings.insert(k.to_string(), v.to_string());
        }
        let host = Host::with(
            store.clone() as Arc<dyn Store>,
            Provider::Salesforce,
            Credentials::ClientCredentials(ClientCredentials::new(
                &config.client_id,
                &config.client_secret,
            )),
            settings.clone(),
        )
        .await;
        let http = http();
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
            host.connections.clone(),
            store.clone() as Arc<dyn PendingAuthorizationStore>,
            http.clone(),
            client.clone(),
        );
        let start = flow.start(&host.access, &host.conn).await.unwrap();
        let callback = sim.follow(start.url.as_str()).expect("redirected");
        flow.complete(
            &host.access,
            &Callback::from_url(&Url::parse(&callback).unwrap()),
        )
        .await
        .unwrap();
        Self {
            host,
            store,
            client,
            http,
            callback,
        }
    }

    /// The connector; its instance replaced by `instance` (a fault proxy)
    /// when given.
    pub async fn connector(&self, instance: Option<&str>) -> SalesforceConnector {
        let connection = self
            .host
            .connections
            .get(&self.host.access, &self.host.conn)
            .await
            .unwrap();
        let mut settings = SalesforceSettings::from_map(&connection.settings).unwrap();
        if let Some(instance) = instance {
            settings.instance_url = Some(instance.to_string());
        }
        let session = OAuthSession::new(
            self.host.connections.clone(),
            self.http.clone(),
            self.client.clone(),
            self.host.conn.clone(),
            Renewal::RefreshToken,
        );
        SalesforceConnector::new(settings, session, self.http.clone()).unwrap()
    }
}

/// The record counts of the simulator's org.
pub fn totals(sim: &SalesforceSim) -> [(scopelink_core::DataType, u64); 3] {
    [
        (
            scopelink_core::DataType::Companies,
            sim.accounts().len() as u64,
        ),
        (
            scopelink_core::DataType::Contacts,
            sim.contacts().len() as u64,
        ),
        (
            scopelink_core::DataType::Opportunities,
            sim.opportunities().len() as u64,
        ),
    ]
}
