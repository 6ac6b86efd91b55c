//! # scopelink-store-sqlite
//!
//! A real, embedded store for scopelink: [`SqliteStore`] implements every
//! store trait of scopelink-core (connections, records, sync state, links
//! and the activity log), so it plugs into the connection service and the
//! sync engine as an `Arc<dyn scopelink_core::Store>`. [`SqliteVault`] is a
//! [`scopelink_core::secret::Vault`] that keeps credentials encrypted at
//! rest (XChaCha20-Poly1305) under a key the host supplies, in the same
//! database file or another.
//!
//! SQLite is compiled in (rusqlite's `bundled` feature); no system library
//! is needed. Every SQLite call runs on tokio's blocking pool, never on the
//! async executor. A file database runs in WAL mode with `synchronous =
//! NORMAL`, its log checkpointed by a thread of its own: a commit survives
//! the process being killed, and a power cut may lose the last commits but
//! never half of one (a sync page and its checkpoint commit together, so
//! the next run fetches a lost page again). Its schema is migrated at open
//! (`PRAGMA user_version`, see [`SCHEMA_VERSION`]), after the file is
//! checked: empty, foreign and damaged files are refused, unchanged. The
//! vault keeps a key check value and refuses a wrong key at open.
//!
//! ```no_run
//! use std::sync::Arc;
//! use scopelink_core::{Connections, Store};
//! use scopelink_store_sqlite::{SqliteStore, VaultKey};
//!
//! # async fn demo(key_bytes: [u8; 32]) -> Result<(), Box<dyn std::error::Error>> {
//! let store = SqliteStore::open("scopelink.db").await?;
//! let vault = store.vault(VaultKey::from_bytes(key_bytes));
//! let connections = Connections::new(Arc::new(store), Arc::new(vault));
//! # let _ = connections;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod checkpoint;
mod codec;
mod db;
mod store;
mod vault;

pub use db::SCHEMA_VERSION;
pub use store::SqliteStore;
pub use vault::{SqliteVault, VaultKey, VAULT_KEY_LEN};
