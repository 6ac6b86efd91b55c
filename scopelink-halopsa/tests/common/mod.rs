//! Shared test helpers: a connector pointed at a simulator, and a connection
//! in a memory store.
#![allow(dead_code)]

use scopelink_core::http::{AddressPolicy, HttpConfig, RateLimit, RetryPolicy};
use scopelink_core::secret::{ClientCredentials, Credentials, InMemoryVault};
use scopelink_core::{
    Access, Connection, Connections, FeatureCategory, MemoryStore, NewConnection, Provider,
};
use scopelink_halopsa::{HaloConnector, HaloSettings};
use scopelink_testkit::halopsa::HaloSim;
use std::sync::Arc;
use std::time::Duration;

/// Loopback allowed, fast retries, no practical rate limit.
pub fn http() -> HttpConfig {
    HttpConfig {
        timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(50),
        },
        rate_limit: Some(RateLimit {
            requests: 100_000,
            per: Duration::from_secs(1),
        }),
        addresses: AddressPolicy::allow_local(),
        ..HttpConfig::default()
    }
}

pub fn settings(host: &str) -> HaloSettings {
    HaloSettings {
        host: host.to_string(),
        tenant: Some("acmemsp".into()),
        project_ticket_type_id: Some("3".into()),
        task_ticket_type_id: Some("26".into()),
    }
}

pub fn credentials() -> ClientCredentials {
    ClientCredentials::new("sim-client", "sim-secret")
}

pub fn connector(sim: &HaloSim) -> HaloConnector {
    HaloConnector::new(settings(&sim.uri()), credentials(), http()).expect("connector")
}

pub fn connector_with(settings: HaloSettings, credentials: ClientCredentials) -> HaloConnector {
    HaloConnector::new(settings, credentials, http()).expect("connector")
}

/// A connection service over a memory store, and the store.
pub struct Host {
    pub store: Arc<MemoryStore>,
    pub connections: Connections,
    pub access: Access,
}

impl Host {
    pub fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
        Self {
            store,
            connections,
            access: Access::full(),
        }
    }

    /// A HaloPSA connection (CRM + PSA), not tested yet.
    pub async fn create(&self, host: &str) -> Connection {
        self.connections
            .create(
                &self.access,
                NewConnection {
                    provider: Provider::HaloPsa,
                    name: "Halo (sim)".into(),
                    categories: [FeatureCategory::Crm, FeatureCategory::Psa].into(),
                    credentials: Credentials::ClientCredentials(credentials()),
                    settings: settings(host).to_map(),
                },
            )
            .await
            .expect("create connection")
    }

    /// A HaloPSA connection, tested with `connector` (Connected).
    pub async fn connected(&self, host: &str, connector: &HaloConnector) -> Connection {
        let c = self.create(host).await;
        let c = self
            .connections
            .test(&self.access, &c.id, connector)
            .await
            .expect("test connection");
        assert_eq!(c.status.label(), "Connected", "{:?}", c.status);
        c
    }
}
