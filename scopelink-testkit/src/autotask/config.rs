//! The simulator's configuration.

use std::time::Duration;

/// How the simulator starts: the API user, the seed data and the limits.
/// Its `Debug` leaves the secret out.
#[derive(Clone)]
pub struct AutotaskSimConfig {
    /// The API user's username (`UserName` header; the `user` of zone
    /// discovery).
    pub username: String,
    /// The API user's secret (`Secret` header).
    pub secret: String,
    /// The API tracking identifier (`ApiIntegrationCode` header).
    pub integration_code: String,
    /// The zone's name in `zoneInformation`.
    pub zone_name: String,
    /// The database id (`ci`) in `zoneInformation`.
    pub ci: i64,
    /// Companies seeded (the first two are the fixtures' companies).
    pub companies: usize,
    /// Contacts seeded per company.
    pub contacts_per_company: usize,
    /// Opportunities seeded (the first is the fixture's opportunity 4817).
    pub opportunities: usize,
    /// Configuration items seeded.
    pub configuration_items: usize,
    /// Products seeded.
    pub products: usize,
    /// Fixed delay of every answer.
    pub latency: Duration,
    /// Random extra delay of every answer, uniform in `0..=jitter`.
    pub jitter: Duration,
    /// Extra delay of every answer once half of the hourly threshold is used
    /// (Autotask slows integrations down as usage climbs).
    pub usage_latency: Duration,
    /// Requests allowed per rolling hour for the database
    /// (`externalRequestThreshold`; Autotask: 10,000).
    pub thresholds: u64,
    /// Requests allowed in flight at once per integration code and entity
    /// endpoint (Autotask: 3 for integrations created since 2023.1).
    pub max_threads: usize,
    /// Seed of the latency jitter.
    pub seed: u64,
}

impl Default for AutotaskSimConfig {
    /// A small realistic database: 12 companies (the fixtures' two first),
    /// 2 contacts each, 6 opportunities, 8 configuration items, 5 products;
    /// user `sync-api@example-msp.com`, secret `sim-secret-7Qx2`, a 27
    /// character integration code; no latency; Autotask's limits (10,000
    /// requests an hour, 3 threads).
    fn default() -> Self {
        Self {
            username: "sync-api@example-msp.com".into(),
            secret: "sim-secret-7Qx2".into(),
            integration_code: "SIMTRACKINGIDENTIFIER000001".into(),
            zone_name: "America East".into(),
            ci: 48_213,
            companies: 12,
            contacts_per_company: 2,
            opportunities: 6,
            configuration_items: 8,
            products: 5,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            usage_latency: Duration::ZERO,
            thresholds: 10_000,
            max_threads: 3,
            seed: 0x5eed_a070_7a5c,
        }
    }
}

impl std::fmt::Debug for AutotaskSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutotaskSimConfig")
            .field("username", &self.username)
            .field("secret", &"[redacted]")
            .field("integration_code", &"[redacted]")
            .field("zone_name", &self.zone_name)
            .field("ci", &self.ci)
            .field("companies", &self.companies)
            .field("contacts_per_company", &self.contacts_per_company)
            .field("opportunities", &self.opportunities)
            .field("configuration_items", &self.configuration_items)
            .field("products", &self.products)
            .field("latency", &self.latency)
            .field("jitter", &self.jitter)
            .field("usage_latency", &self.usage_latency)
            .field("thresholds", &self.thresholds)
            .field("max_threads", &self.max_threads)
            .field("seed", &self.seed)
            .finish()
    }
}
