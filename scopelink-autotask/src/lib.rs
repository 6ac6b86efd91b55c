//! # scopelink-autotask
//!
//! The scopelink connector for Autotask PSA over its REST API v1.0: CRM
//! records in (companies, contacts, opportunities, configuration items,
//! products), projects and opportunity updates out, webhooks verified and
//! applied.
//!
//! - Zone: each database lives in one zone; its REST root is found with
//!   `GET https://webservices.autotask.net/ATServicesRest/v1.0/zoneInformation?user={API user}`
//!   (no credentials sent) and kept on the connection's settings
//!   ([`ZONE_URL_SETTING`]); every address, typed or discovered, passes the
//!   core's address policy.
//! - Authentication: the headers `UserName`, `Secret` and
//!   `ApiIntegrationCode` (the API tracking identifier) on every call, from
//!   the core's [`ApiUserSecret`](scopelink_core::secret::ApiUserSecret).
//! - Reads: `POST {Entity}/query` with a JSON filter, `MaxRecords` 500 and
//!   `IncludeFields`, following `pageDetails.nextPageUrl`; counts through
//!   `{Entity}/query/count`; filter choices from the picklists of
//!   `{Entity}/entityInformation/fields`.
//! - Limits: at most [`MAX_THREADS`] requests in flight (Autotask's thread
//!   limit), [`DEFAULT_RATE_LIMIT`] per hour, 429s and threshold refusals
//!   waited out ([`DEFAULT_THROTTLE`]); the database's use of its hourly
//!   threshold is readable with
//!   [`AutotaskConnector::threshold_information`].
//!
//! Against the testkit's Autotask simulator (in production the settings are
//! `AutotaskSettings::default()`, which looks the zone up at
//! `webservices.autotask.net`, and `HttpConfig::default()`, which refuses
//! loopback addresses):
//!
//! ```
//! use scopelink_autotask::{AutotaskConnector, AutotaskSettings};
//! use scopelink_core::connector::{Connector, CrmSource};
//! use scopelink_core::filter::SyncFilter;
//! use scopelink_core::http::{AddressPolicy, HttpConfig};
//! use scopelink_core::secret::ApiUserSecret;
//! use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), scopelink_core::ConnectorError> {
//! let config = AutotaskSimConfig::default();
//! let sim = AutotaskSim::start(config.clone()).await;
//!
//! let settings = AutotaskSettings {
//!     zone_lookup_url: Some(sim.zone_lookup_url()),
//!     ..AutotaskSettings::default()
//! };
//! let credentials =
//!     ApiUserSecret::new(&config.username, &config.secret, &config.integration_code);
//! let http = HttpConfig::default().with_addresses(AddressPolicy::allow_local());
//! let connector = AutotaskConnector::connect(settings, credentials, http).await?;
//! connector.test_connection().await?;
//! // Keep the zone for next time (the registry's `AutotaskProvider` does).
//! assert!(connector.zone_url().as_str().contains("/ATServicesRest/"));
//!
//! let preview = connector.preview(&SyncFilter::default()).await?;
//! assert_eq!(preview.companies as usize, sim.companies().len());
//! # Ok(()) }
//! ```
//!
//! Every HTTP call goes through the core's [`HttpClient`]: its address
//! policy, retries, rate limit and error mapping apply, and no credential is
//! ever logged or shown in `Debug`.
//!
//! ## Crate shape
//!
//! | File | Holds |
//! |---|---|
//! | `lib.rs` | these docs, `mod` lines and re-exports; nothing else |
//! | `settings.rs` | [`AutotaskSettings`], the connection's settings as a serde type |
//! | `client.rs` | [`AutotaskConnector`]: zone discovery, auth headers, HTTP calls through the core client, error hints, `ThresholdInformation`, and the `Connector` impl (`test_connection`) |
//! | `wire.rs` | serde types of Autotask's JSON, tolerant of unknown and null fields |
//! | `convert.rs` | wire → core model records |
//! | `crm.rs` | the `CrmSource` impl: filter options, preview, record streams, fetch |
//! | `push.rs` | the `PsaProjects` impl: push-form lookups, projects, phases, tasks (the mapping is documented there) |
//! | `writeback.rs` | the `OpportunityWriteBack` impl: one `PATCH Opportunities` per update |
//! | `webhook.rs` | webhook registration, signature verification and parsing, and the `WebhookReceiver` impl |
//! | `provider.rs` | [`AutotaskProvider`], the `ProviderFactory` a host links into a `Registry` (no-network validation, connect with the stored zone, zone persisted) |
//!
//! Extra private modules: `picklists.rs` (picklist values and labels),
//! `query.rs` (the JSON filter grammar). The fuzz targets and property
//! tests reach the decoders through one `#[doc(hidden)] pub mod fuzz`,
//! which is not part of the supported API.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod convert;
mod crm;
mod picklists;
mod provider;
mod push;
mod query;
mod settings;
mod webhook;
mod wire;
mod writeback;

pub use client::{
    AutotaskConnector, ThresholdInformation, API_VERSION, DEFAULT_RATE_LIMIT, DEFAULT_THROTTLE,
    DEFAULT_ZONE_LOOKUP_URL, MAX_RECORDS, MAX_THREADS, THREAD_LIMIT_MARKERS,
};
pub use provider::AutotaskProvider;
pub use push::{DEFAULT_PROJECT_DAYS, MAX_PROJECT_NAME_CHARS, MAX_TITLE_CHARS};
#[doc(no_inline)]
pub use scopelink_core::http::HttpClient;
pub use settings::{AutotaskSettings, ZONE_URL_SETTING};
pub use webhook::{
    verify_signature, AutotaskWebhookReceiver, RegisteredWebhook, WebhookEntity,
    WebhookRegistration, MAX_SECRET_KEY_CHARS, SIGNATURE_HEADER,
};

/// What the fuzz targets and property tests feed hostile or raw bytes to,
/// and what the benchmark's bare loop asks for. Not part of the supported
/// API.
#[doc(hidden)]
pub mod fuzz {
    pub use crate::webhook::events_from_payload;

    /// Converts a query reply's page of `data_type` records without
    /// picklist labels.
    pub fn convert_page(
        data_type: scopelink_core::model::DataType,
        body: &[u8],
    ) -> Result<
        Vec<Result<scopelink_core::model::Record, scopelink_core::wire::Rejected>>,
        serde_json::Error,
    > {
        crate::convert::convert_page(data_type, body, &crate::picklists::Picklists::default())
    }

    /// The Autotask entity a sync reads `data_type` from and the fields its
    /// queries ask for (`IncludeFields`), exactly as the connector sends
    /// them; `None` for a type it does not sync. The benchmark's bare loop
    /// (`examples/examples/bench_autotask.rs`) reads the same fields
    /// through this, so the two cannot drift.
    pub fn entity(
        data_type: scopelink_core::model::DataType,
    ) -> Option<(&'static str, &'static [&'static str])> {
        crate::convert::entity(data_type)
    }

    /// The serde types of Autotask's JSON.
    pub mod wire {
        pub use crate::wire::*;
    }
}
