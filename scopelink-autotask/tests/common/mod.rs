//! The test set-up shared by the simulator tests: a simulator, a connector
//! for it and a host with a tested Autotask connection.

#![allow(dead_code)]

use scopelink_autotask::{AutotaskConnector, AutotaskSettings};
use scopelink_core::http::{AddressPolicy, HttpConfig};
use scopelink_core::secret::{ApiUserSecret, Credentials};
use scopelink_core::{ConnectionId, FeatureCategory, NewConnection, Provider};
use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use scopelink_testkit::host::MemoryEnv;

/// HTTP settings that reach the loopback simulator.
pub fn local() -> HttpConfig {
    HttpConfig::default().with_addresses(AddressPolicy::allow_local())
}

/// The simulator's API user.
pub fn credentials(sim: &AutotaskSim) -> ApiUserSecret {
    let c = sim.config();
    ApiUserSecret::new(&c.username, &c.secret, &c.integration_code)
}

/// A connector for the simulator's zone.
pub fn connector(sim: &AutotaskSim, http: HttpConfig) -> AutotaskConnector {
    AutotaskConnector::with_zone_url(
        &sim.zone_url(),
        AutotaskSettings::default(),
        credentials(sim),
        http,
    )
    .unwrap()
}

/// A simulator, its connector, and a memory host with a tested
/// (Connected) Autotask connection with CRM, PSA and Products.
pub struct Setup {
    pub sim: AutotaskSim,
    pub at: AutotaskConnector,
    pub env: MemoryEnv,
    pub conn: ConnectionId,
}

pub async fn setup(config: AutotaskSimConfig) -> Setup {
    let sim = AutotaskSim::start(config).await;
    let at = connector(&sim, local());
    let env = MemoryEnv::new();
    let conn = env
        .connections
        .create(
            &env.access,
            NewConnection::new(
                Provider::Autotask,
                "Autotask",
                Credentials::ApiUserSecret(credentials(&sim)),
            )
            .categories([
                FeatureCategory::Crm,
                FeatureCategory::Psa,
                FeatureCategory::Products,
            ])
            .settings(at.settings().to_map()),
        )
        .await
        .unwrap();
    let tested = env
        .connections
        .test(&env.access, &conn.id, &at)
        .await
        .unwrap();
    assert_eq!(tested.status.label(), "Connected");
    Setup {
        sim,
        at,
        env,
        conn: conn.id,
    }
}
