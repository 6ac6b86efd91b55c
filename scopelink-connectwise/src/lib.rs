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
//! | `wire.rs` | serde types of ConnectWise's JSON, tolerant of unknown and null fields |
//! | `convert.rs` | wire → core model records |
//! | `crm.rs` | the `CrmSource` impl: filter options, preview, record streams, fetch |
//! | `push.rs` | the `PsaProjects` impl: push-form lookups, projects, phases, tickets |
//! | `writeback.rs` | the `OpportunityWriteBack` impl: one JSON Patch per opportunity |
//! | `webhook.rs` | callback registration, verification and parsing, and the `WebhookReceiver` impl |
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
