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
//! [`connector`].
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
pub mod mapping;
pub mod model;
pub mod oauth;
pub mod pages;
pub mod provider;
pub mod push;
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
    AccessError, ConnectorError, Error, HttpError, InputError, MappingError, StoreError, SyncError,
    TransitionError, VaultError, WebhookError,
};

pub use model::{DataType, Record};
pub use provider::{FeatureCategory, Provider};
pub use store::{MemoryStore, Store};
pub use sync::{SyncEngine, SyncRequest};

/// The [`Connections`] service under its former module name.
#[deprecated(note = "renamed to `scopelink_core::connections` (or use the crate-root re-exports)")]
pub mod lifecycle {
    pub use crate::connections::*;
}
pub use wire::Rejected;
