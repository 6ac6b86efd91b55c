//! # scopelink-connectwise
//!
//! The scopelink connector for ConnectWise Manage (PSA) over its REST API
//! v3.0: CRM records and the product catalog in, projects and opportunity
//! updates out, callbacks (webhooks) verified and applied.
//!
//! - Authentication: `Authorization: Basic base64("{companyId}+{publicKey}:{privateKey}")`,
//!   the integrator `clientId` header and a pinned
//!   `Accept: application/vnd.connectwise.com+json; version=2025.1` on every call.
//! - The API base is `{api host}/{Codebase}apis/3.0`: the codebase from
//!   `GET {login site}/login/companyinfo/{companyId}`
//!   ([`ConnectWiseConnector::connect`]), the API host derived from the
//!   address the user typed (`na.myconnectwise.net` or
//!   `api-na.myconnectwise.net` → `api-na.myconnectwise.net`; on-premise
//!   hosts as they are; see [`ConnectWiseSite`]); or the base is taken from
//!   the connection's settings ([`ConnectWiseConnector::with_api_base`]).
//! - Lists are read 1000 records a page, ordered by id, following the
//!   `Link: rel="next"` header (page numbers when a server sends none);
//!   filters become `conditions`/`childConditions` ([`build_conditions`]).
//!
//! Every HTTP call goes through the core's [`HttpClient`]: its address
//! policy, retries, rate limit and error mapping apply, and no credential is
//! ever logged or shown in `Debug`.
//!
//! # Example
//!
//! Against the ConnectWise simulator of `scopelink-testkit`: the settings
//! are read from a connection's settings map as a host stores them, the
//! API base is discovered, then the connection is tested and a filter
//! previewed. (A real site is `server_url = "na.myconnectwise.net"` with
//! the default [`HttpConfig`](scopelink_core::http::HttpConfig), which
//! refuses loopback addresses.)
//!
//! ```
//! use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings};
//! use scopelink_core::connector::{Connector, CrmSource};
//! use scopelink_core::filter::{FilterOption, SyncFilter};
//! use scopelink_core::http::{AddressPolicy, HttpConfig};
//! use scopelink_core::secret::ApiKeyPair;
//! use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
//! use std::collections::BTreeMap;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), scopelink_core::ConnectorError> {
//! let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(20, 2)).await;
//!
//! let stored = BTreeMap::from([
//!     ("server_url".to_string(), sim.server_url().to_string()),
//!     ("client_id".to_string(), sim.client_id().to_string()),
//! ]);
//! let keys = ApiKeyPair::new(sim.company_id(), sim.public_key(), sim.private_key());
//! let cw = ConnectWiseConnector::connect(
//!     ConnectWiseSettings::from_map(&stored)?,
//!     keys,
//!     HttpConfig::default().with_addresses(AddressPolicy::allow_local()),
//! )
//! .await?;
//! assert!(cw.api_base().path().ends_with("/apis/3.0"), "{}", cw.api_base());
//! cw.test_connection().await?;
//!
//! assert_eq!(cw.preview(&SyncFilter::default()).await?.companies, 20);
//! let mut active = SyncFilter::default();
//! active.statuses.insert(FilterOption::new("1", "Active"));
//! let matching = cw.preview(&active).await?.companies;
//! assert!(matching > 0 && matching < 20, "{matching}");
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
//! | `settings.rs` | [`ConnectWiseSettings`], the connection's settings as a serde type |
//! | `client.rs` | [`ConnectWiseConnector`]: auth headers, HTTP calls through the core client (`send`, `get_json`, `get_all`, …), error hints, and the `Connector` impl (`test_connection`) |
//! | `provider.rs` | [`ConnectWiseProvider`], the crate's one [`ProviderFactory`](scopelink_core::ProviderFactory): checks settings and credentials with no network call, and builds the live connector for a [`Registry`](scopelink_core::Registry) (discovers the API base on the first connect and has the registry store it) |
//! | `wire.rs` | serde types of ConnectWise's JSON, tolerant of unknown and null fields |
//! | `convert.rs` | wire → core model records |
//! | `crm.rs` | the `CrmSource` impl: filter options, preview, record streams, fetch |
//! | `push.rs` | the `PsaProjects` impl: push-form lookups, projects, phases, tickets |
//! | `writeback.rs` | the `OpportunityWriteBack` impl: one JSON Patch per opportunity |
//! | `webhook.rs` | callback registration, verification and parsing, and the `WebhookReceiver` impl |
//!
//! Names: one scheme across provider crates: `<Provider>Connector` (the
//! connector), `<Provider>Settings` (its settings), `<Provider>Provider`
//! (its registry factory, here [`ConnectWiseProvider`]) and, in the testkit,
//! `<Provider>Sim` / `<Provider>SimConfig`.
//!
//! Extra private modules, each named for what it holds: `site.rs` (login
//! host, API host and cloud region of a site), `callback_key.rs` (trusted
//! signing-key URLs and the key cache), `conditions.rs` (the `conditions`
//! query grammar). All modules are private; the fuzz targets, property
//! tests and the wire benchmark reach the decoders and wire types through
//! one `#[doc(hidden)] pub mod fuzz`, which is not part of the supported
//! API.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod callback_key;
mod client;
mod conditions;
mod convert;
mod crm;
mod provider;
mod push;
mod settings;
mod site;
mod webhook;
mod wire;
mod writeback;

pub use callback_key::{
    KEY_FETCHES_PER_WINDOW, KEY_FETCH_WINDOW, KEY_REFRESH_AFTER, SIGNING_KEY_TTL,
};
pub use client::{
    normalize_server_url, ConnectWiseConnector, CONCURRENCY_LIMIT, DEFAULT_API_VERSION,
    MAX_PAGE_SIZE,
};
pub use conditions::{build_child_conditions, build_conditions};
pub use provider::ConnectWiseProvider;
pub use push::{BILLING_METHODS, DEFAULT_PROJECT_DAYS, MAX_NAME_CHARS};
#[doc(no_inline)]
pub use scopelink_core::http::HttpClient;
pub use settings::{ConnectWiseSettings, API_BASE_SETTING};
pub use site::{ConnectWiseSite, CLOUD_DOMAINS, ON_PREMISE_CODEBASE};
pub use webhook::{verify_signature, PAYLOAD_VERSION, SIGNATURE_HEADER};
pub use writeback::{PatchOperation, FORECAST_DESCRIPTION};

/// What the fuzz targets (`fuzz/fuzz_targets/cw_*.rs`), the property tests
/// (`scopelink-reliability/tests/proptest_decoders.rs`) and the wire
/// benchmark feed hostile or raw bytes to. Not part of the supported API.
#[doc(hidden)]
pub mod fuzz {
    pub use crate::convert::convert_json;
    pub use crate::webhook::{events_from_payload, parse_payload};

    /// The serde types of ConnectWise's JSON.
    pub mod wire {
        pub use crate::wire::*;
    }
}
