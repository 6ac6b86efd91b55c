//! # scopelink-core
//!
//! The vocabulary and shared machinery of scopelink: providers, connections
//! and their lifecycle, access checks, credentials and the vault, the
//! activity log, canonical records, the scoping-project → PSA mapping and
//! push driver, sync filters, the sync engine, the store traits with an
//! in-memory store, the HTTP runtime every connector uses, webhook
//! signature helpers and the error types.
//!
//! The core knows no provider; each provider crate implements the traits in
//! [`connector`] and exports a [`ProviderFactory`] the host links into a
//! [`Registry`].
//!
//! # Embed in your service
//!
//! Add the core, the providers you want and tokio to `Cargo.toml`:
//!
//! ```toml
//! [dependencies]
//! scopelink-core = "0.1"
//! scopelink-connectwise = "0.1"
//! scopelink-store-sqlite = "0.1"   # or your own `Store` and `Vault`
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! Build a [`Registry`] once at start-up from your store and vault (here
//! the in-memory ones) and the providers you link; then one call each
//! creates a connection (its settings checked before anything is stored),
//! tests it, and syncs it into the store. This program runs against the
//! testkit's ConnectWise simulator; in production the settings and keys
//! come from your connection form, and `HttpConfig::default()` refuses
//! loopback and private addresses.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sim = scopelink_testkit::connectwise::ConnectWiseSim::start(Default::default()).await;
//! # let (server_url, client_id) = (sim.server_url(), sim.client_id());
//! # let (company_id, public_key, private_key) = (sim.company_id(), sim.public_key(), sim.private_key());
//! use scopelink_connectwise::{ConnectWiseProvider, ConnectWiseSettings};
//! use scopelink_core::http::{AddressPolicy, HttpConfig};
//! use scopelink_core::secret::{ApiKeyPair, Credentials, InMemoryVault};
//! use scopelink_core::{
//!     Access, Connections, DataType, FeatureCategory, MemoryStore, NewConnection, Provider,
//!     Registry, SyncRequest,
//! };
//! use std::sync::Arc;
//!
//! // Once: your store and vault, your HTTP policy, the providers you link.
//! let store = Arc::new(MemoryStore::new());
//! let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
//! let mut http = HttpConfig::default();
//! http.addresses = AddressPolicy::allow_local(); // the simulator is on loopback
//! let registry = Registry::new(connections)
//!     .with_http(http)
//!     .with_provider(ConnectWiseProvider);
//!
//! // Per request: the caller's rights, as your application knows them.
//! let access = Access::full();
//! let keys = ApiKeyPair::new(company_id, public_key, private_key);
//! let new = NewConnection::new(Provider::ConnectWiseManage, "Acme", Credentials::ApiKeyPair(keys))
//!     .category(FeatureCategory::Crm)
//!     .settings(ConnectWiseSettings::new(server_url, client_id).to_map());
//! let connection = registry.create(&access, new).await?;
//! let connection = registry.test(&access, &connection.id).await?;
//! assert!(connection.is_connected());
//!
//! let request = SyncRequest::all().data_types([DataType::Companies, DataType::Contacts]);
//! let report = registry.sync(&access, &connection.id, &request, None).await?;
//! for (data_type, counts) in &report.per_type {
//!     println!("{data_type}: {} created, {} skipped", counts.created, counts.skipped);
//! }
//! # assert_eq!(report.counts(DataType::Companies).unwrap().created, sim.company_count() as u64);
//! # Ok(())
//! # }
//! ```
//!
//! Where to go next: [`Registry::connect`] hands out the live connector of
//! a connection with a handle per capability ([`LiveConnection::crm`],
//! [`LiveConnection::psa`], ...) and, for a provider's own extras, its
//! concrete connector ([`LiveConnection::extension`]);
//! [`Registry::push_project`] pushes a scoping project to a PSA;
//! [`Connections`] lists, edits, disables and deletes connections and reads
//! the activity log; [`store`] has the traits to implement for your own
//! database.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod activity;
pub mod base_url;
pub mod concurrency;
pub mod connection;
pub mod connections;
pub mod connector;
pub mod error;
pub mod error_hints;
pub mod filter;
pub mod http;
pub mod in_flight;
pub mod mapping;
pub mod model;
pub mod oauth;
pub mod pages;
pub mod provider;
pub mod push;
pub mod registry;
pub mod scrub;
pub mod secret;
pub mod settings;
pub mod store;
pub mod sync;
pub mod webhook;
pub mod wire;

/// Re-exported so hosts and connectors implement the async traits with the same macro.
pub use async_trait::async_trait;

pub use access::{Access, Entitlements, Permission};
pub use connection::{Connection, ConnectionId, ConnectionStatus};
pub use connections::{ConnectionEvent, Connections, NewConnection};
pub use error::{
    AccessError, ConnectorError, Error, HttpError, InputError, MappingError, RegistryError,
    StoreError, SyncError, TransitionError, VaultError, WebhookError,
};

pub use model::{DataType, Record};
pub use provider::{FeatureCategory, Provider};
pub use registry::{LiveConnection, ProviderFactory, Registry};
pub use store::{MemoryStore, Store};
pub use sync::{SyncEngine, SyncRequest};

/// The [`Connections`] service under its former module name.
#[deprecated(note = "renamed to `scopelink_core::connections` (or use the crate-root re-exports)")]
pub mod lifecycle {
    pub use crate::connections::*;
}
pub use wire::Rejected;
