//! # scopelink-halopsa
//!
//! The HaloPSA connector: CRM (clients → companies, users → contacts,
//! opportunities) and PSA (projects with milestones and tasks).
//!
//! - Auth: OAuth2 client credentials against `{host}/auth/token` (scope
//!   `all`; `?tenant=` only when configured or reported by
//!   `/api/authinfo`). The token is cached until 60 s
//!   before it expires, renewed once for any number of concurrent callers,
//!   and renewed once more when the API answers 401.
//! - Every call goes through the core [`HttpClient`](scopelink_core::http::HttpClient)
//!   with [`DEFAULT_RATE_LIMIT`] unless the host sets its own.
//! - Projects: a project ticket (`POST /api/Projects`), milestones in its
//!   `milestones` array, tasks as child tickets (`POST /api/Tickets`,
//!   `parent_id` = project). One object per call, so the core push driver
//!   can resume and resubmit without duplicates. A ticket's `milestone_id`
//!   is read-only in HaloPSA, so once the tasks exist they are added to
//!   their milestones' `tickets_list` in one post of the project's whole
//!   milestone list, and the project is read back to check it.
//! - Filters: HaloPSA has no company types, territories or markets in the
//!   ConnectWise sense. Company types are HaloPSA *top levels* (the groups
//!   clients sit in, e.g. Customers / Prospects); statuses are Active and
//!   Inactive; territories and markets are empty and cannot be filtered on.
//!
//! # Example
//!
//! Against the HaloPSA simulator of `scopelink-testkit` (a real instance
//! is `HaloPsaSettings::new("yourcompany.halopsa.com")` with the default
//! [`HttpConfig`](scopelink_core::http::HttpConfig), which refuses
//! loopback addresses):
//!
//! ```
//! use scopelink_core::connector::{Connector, CrmSource};
//! use scopelink_core::filter::SyncFilter;
//! use scopelink_core::http::{AddressPolicy, HttpConfig};
//! use scopelink_core::secret::ClientCredentials;
//! use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings};
//! use scopelink_testkit::halopsa::HaloPsaSim;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), scopelink_core::ConnectorError> {
//! let sim = HaloPsaSim::start_default().await;
//!
//! let mut settings = HaloPsaSettings::new(sim.uri());
//! settings.project_ticket_type_id = Some("3".into());
//! let halo = HaloPsaConnector::new(
//!     settings,
//!     ClientCredentials::new("sim-client", "sim-secret"),
//!     HttpConfig::default().with_addresses(AddressPolicy::allow_local()),
//! )?;
//! halo.test_connection().await?;
//!
//! let options = halo.filter_options().await?;
//! assert!(options.company_types.iter().any(|t| t.name == "Customers"));
//! let preview = halo.preview(&SyncFilter::default()).await?;
//! assert_eq!(preview.companies as usize, sim.clients().len());
//!
//! // A wrong secret is refused by the token endpoint.
//! let wrong = HaloPsaConnector::new(
//!     HaloPsaSettings::new(sim.uri()),
//!     ClientCredentials::new("sim-client", "not-the-secret"),
//!     HttpConfig::default().with_addresses(AddressPolicy::allow_local()),
//! )?;
//! assert!(wrong.test_connection().await.is_err());
//! # Ok(()) }
//! ```
//!
//! ## Crate shape
//!
//! Every provider crate has the same files, so a reader who knows one knows
//! all; the next provider copies this list:
//!
//! | File | Holds |
//! |---|---|
//! | `lib.rs` | these docs, `mod` lines and re-exports; nothing else |
//! | `settings.rs` | [`HaloPsaSettings`], the connection's settings as a serde type |
//! | `client.rs` | [`HaloPsaConnector`]: the bearer token on every call, HTTP calls through the core client (`send`, `get_json`, `get_all`, …), error hints, and the `Connector` impl (`test_connection`) |
//! | `provider.rs` | [`HaloPsaProvider`], the crate's one [`ProviderFactory`](scopelink_core::ProviderFactory): checks settings and credentials with no network call, and builds the live connector for a [`Registry`](scopelink_core::Registry) (builds the connector without a request) |
//! | `wire.rs` | serde types of HaloPSA's JSON, tolerant of unknown and null fields |
//! | `convert.rs` | wire → core model records |
//! | `crm.rs` | the `CrmSource` impl: filter options, preview, record streams, fetch |
//! | `push.rs` | the `PsaProjects` impl: push-form lookups, projects, milestones, tasks |
//!
//! Names: one scheme across provider crates: `<Provider>Connector` (the
//! connector), `<Provider>Settings` (its settings), `<Provider>Provider`
//! (its registry factory, here [`HaloPsaProvider`]) and, in the testkit,
//! `<Provider>Sim` / `<Provider>SimConfig`.
//!
//! Extra private modules, each named for what it holds: `decode.rs` (whole
//! replies decoded: list pages and token replies), `membership.rs`
//! (milestone membership and the milestone list posted back), `token.rs`
//! (token endpoint discovery, token requests and their errors, on the
//! core's token cache). All modules are private; the fuzz targets and
//! property tests reach the decoders through one `#[doc(hidden)] pub mod
//! fuzz`, which is not part of the supported API.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod convert;
mod crm;
mod decode;
mod membership;
mod provider;
mod push;
mod settings;
mod token;
mod wire;

pub use client::{HaloPsaConnector, CONCURRENCY_LIMIT, DEFAULT_RATE_LIMIT, DEFAULT_THROTTLE};
pub use provider::HaloPsaProvider;
pub use settings::HaloPsaSettings;

/// The connector's former name.
#[deprecated(note = "renamed to `HaloPsaConnector` (one `<Provider>Connector` naming scheme)")]
pub type HaloConnector = HaloPsaConnector;

/// The settings' former name.
#[deprecated(note = "renamed to `HaloPsaSettings` (one `<Provider>Settings` naming scheme)")]
pub type HaloSettings = HaloPsaSettings;

/// What the fuzz targets (`fuzz/fuzz_targets/halo_*.rs`) and the property
/// tests (`scopelink-reliability/tests/proptest_decoders.rs`) feed hostile
/// bytes to. Not part of the supported API.
#[doc(hidden)]
pub mod fuzz {
    pub use crate::decode::{records, token_reply};
}
