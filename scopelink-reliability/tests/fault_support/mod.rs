//! Shared setup of the fault and resume tests: a ConnectWise connector
//! pointed at the simulator (or a proxy in front of it), fast retries, and
//! the provider-specific ways to open the testkit's [`Host`].
#![allow(dead_code)]

use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings};
use scopelink_core::connector::CrmSource;
use scopelink_core::http::{AddressPolicy, HttpConfig, RateLimit, RetryPolicy};
use scopelink_core::secret::{ApiKeyPair, ClientCredentials, Credentials};
use scopelink_core::sync::RunStatus;
use scopelink_core::{DataType, Provider, Store, StoreError, SyncError};
use scopelink_testkit::connectwise::ConnectWiseSim;
#[allow(unused_imports)]
pub use scopelink_testkit::host::{
    assert_checkpoint_matches_store, crm_request, wait_for_committed_pages, Host, Recorder, CRM,
};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Loopback allowed; retries fast (1 ms backoff, 4 attempts); `timeout`
/// per attempt, and an overall deadline past four whole attempts (so every
/// attempt may time out); no client-side rate limit to speak of.
pub fn http(timeout: Duration) -> HttpConfig {
    HttpConfig::default()
        .with_timeout(timeout)
        .with_deadline(timeout.saturating_mul(5))
        .with_retry(RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_secs(2),
        })
        .with_rate_limit(RateLimit {
            requests: 1_000_000,
            per: Duration::from_secs(1),
        })
        .with_addresses(AddressPolicy::allow_local())
}

/// The simulator's keys.
pub fn cw_keys(sim: &ConnectWiseSim) -> ApiKeyPair {
    ApiKeyPair::new(sim.company_id(), sim.public_key(), sim.private_key())
}

/// Settings for the simulator.
pub fn cw_settings(sim: &ConnectWiseSim) -> ConnectWiseSettings {
    ConnectWiseSettings::new(sim.server_url().to_string(), sim.client_id().to_string())
}

/// A connector on `origin` (the simulator's `server_url`, or a proxy's URL)
/// with the simulator's API path, keys and client id; pages of
/// `page_size`.
pub fn cw_connector(
    sim: &ConnectWiseSim,
    origin: &str,
    page_size: u32,
    http: HttpConfig,
) -> ConnectWiseConnector {
    let api_base = Url::parse(&format!(
        "{}/{}apis/3.0",
        origin.trim_end_matches('/'),
        sim.codebase()
    ))
    .expect("API base");
    ConnectWiseConnector::with_api_base(api_base, cw_settings(sim), cw_keys(sim), http)
        .expect("connector")
        .with_page_size(page_size)
}

/// The provider-specific ways to open a [`Host`].
#[allow(async_fn_in_trait)]
pub trait HostExt: Sized {
    /// A host over `store` with a ConnectWise CRM connection to `sim`.
    async fn connectwise(store: Arc<dyn Store>, sim: &ConnectWiseSim) -> Self;
    /// A host over `store` with a HaloPSA CRM connection.
    async fn halopsa(store: Arc<dyn Store>, host: &str) -> Self;
}

impl HostExt for Host {
    async fn connectwise(store: Arc<dyn Store>, sim: &ConnectWiseSim) -> Self {
        Self::with(
            store,
            Provider::ConnectWiseManage,
            Credentials::ApiKeyPair(cw_keys(sim)),
            cw_settings(sim).to_map(),
        )
        .await
    }

    async fn halopsa(store: Arc<dyn Store>, host: &str) -> Self {
        let settings = scopelink_halopsa::HaloPsaSettings::new(host.to_string())
            .tenant("acmemsp")
            .project_ticket_type_id("3")
            .task_ticket_type_id("26");
        Self::with(
            store,
            Provider::HaloPsa,
            Credentials::ClientCredentials(ClientCredentials::new("sim-client", "sim-secret")),
            settings.to_map(),
        )
        .await
    }
}

/// A new run is refused while the type is marked running; force-reset
/// clears the mark (the checkpoint stays) and the next non-full run resumes
/// and completes.
pub async fn reset_and_resume(
    host: &Host,
    source: &dyn CrmSource,
    data_type: DataType,
    rec: &Recorder,
) {
    let refused = host
        .run_crm(source, rec)
        .await
        .expect_err("a run is refused while the type is marked running");
    assert!(
        matches!(
            &refused,
            SyncError::Store(StoreError::AlreadyRunning { data_type: t, .. }) if *t == data_type
        ),
        "{refused:?}"
    );
    host.engine
        .force_reset(&host.access, &host.conn, data_type)
        .await
        .expect("force reset");
    let state = host.store.sync_state(&host.conn, data_type).await.unwrap();
    assert!(!matches!(state.status, RunStatus::Running { .. }));
    assert!(
        state.checkpoint.is_some(),
        "force-reset keeps the checkpoint"
    );
    host.run_crm(source, rec)
        .await
        .expect("the resumed run completes");
}
