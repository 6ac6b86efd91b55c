//! Shared test helpers: a connector pointed at a simulator, and a connection
//! in a memory store.
#![allow(dead_code)]

use scopelink_core::http::{AddressPolicy, HttpConfig, RateLimit, RetryPolicy, ThrottlePolicy};
use scopelink_core::secret::{ClientCredentials, Credentials};
use scopelink_core::{Connection, FeatureCategory, NewConnection, Provider};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings};
use scopelink_testkit::halopsa::HaloPsaSim;
use std::time::Duration;

/// Loopback allowed, fast retries, no practical rate limit.
pub fn http() -> HttpConfig {
    HttpConfig::default()
        .with_timeout(Duration::from_secs(10))
        .with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(50),
        })
        .with_rate_limit(RateLimit {
            requests: 100_000,
            per: Duration::from_secs(1),
        })
        .with_addresses(AddressPolicy::allow_local())
        .with_throttle(FAST_THROTTLE)
}

/// 429s waited out in milliseconds: HaloPSA's default first wait is 5 s
/// (`scopelink_halopsa::DEFAULT_THROTTLE`), which the reliability suite's
/// `halopsa_rate_limit` covers; these tests only need the retry.
pub const FAST_THROTTLE: ThrottlePolicy = ThrottlePolicy {
    retry: true,
    first_wait: Duration::from_millis(5),
    max_wait: Duration::from_millis(50),
    max_total_wait: Duration::from_secs(5),
    max_retries: 10,
    quota_markers: &[],
};

pub fn settings(host: &str) -> HaloPsaSettings {
    HaloPsaSettings::new(host.to_string())
        .tenant("acmemsp")
        .project_ticket_type_id("3")
        .task_ticket_type_id("26")
}

pub fn credentials() -> ClientCredentials {
    ClientCredentials::new("sim-client", "sim-secret")
}

pub fn connector(sim: &HaloPsaSim) -> HaloPsaConnector {
    HaloPsaConnector::new(settings(&sim.uri()), credentials(), http()).expect("connector")
}

pub fn connector_with(
    settings: HaloPsaSettings,
    credentials: ClientCredentials,
) -> HaloPsaConnector {
    HaloPsaConnector::new(settings, credentials, http()).expect("connector")
}

/// A connection service over a memory store, and the store.
pub use scopelink_testkit::host::MemoryEnv as Host;

/// The HaloPSA connections of a test [`Host`].
#[allow(async_fn_in_trait)]
pub trait HostExt {
    /// A HaloPSA connection (CRM + PSA), not tested yet.
    async fn create(&self, host: &str) -> Connection;
    /// A HaloPSA connection, tested with `connector` (Connected).
    async fn connected(&self, host: &str, connector: &HaloPsaConnector) -> Connection;
}

impl HostExt for Host {
    async fn create(&self, host: &str) -> Connection {
        self.connections
            .create(
                &self.access,
                NewConnection::new(
                    Provider::HaloPsa,
                    "Halo (sim)",
                    Credentials::ClientCredentials(credentials()),
                )
                .categories([FeatureCategory::Crm, FeatureCategory::Psa])
                .settings(settings(host).to_map()),
            )
            .await
            .expect("create connection")
    }

    async fn connected(&self, host: &str, connector: &HaloPsaConnector) -> Connection {
        let c = self.create(host).await;
        let c = self
            .connections
            .test(&self.access, &c.id, connector)
            .await
            .expect("test connection");
        assert!(c.is_connected(), "{:?}", c.status);
        c
    }
}
