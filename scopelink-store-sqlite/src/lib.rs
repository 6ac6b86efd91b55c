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
//! # Example
//!
//! A file database (a temporary one here) and its encrypted vault: what
//! was saved is there after reopening the file, and the vault refuses a
//! wrong key. Hosts hand both to the connection service and the sync
//! engine (`Connections::new(Arc::new(store), Arc::new(vault))`).
//!
//! ```
//! use chrono::Utc;
//! use scopelink_core::secret::{load_credentials, ApiKeyPair, CredentialRef, Credentials, Vault};
//! use scopelink_core::store::ConnectionStore;
//! use scopelink_core::{Connection, ConnectionId, FeatureCategory, Provider, VaultError};
//! use scopelink_store_sqlite::{SqliteStore, VaultKey};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("scopelink.db");
//! let key = || VaultKey::from_bytes([7; 32]);
//!
//! let store = SqliteStore::open(&path).await?;
//! let vault = store.open_vault(key()).await?;
//! let reference = CredentialRef("conn-1/credentials".into());
//! let keys = Credentials::ApiKeyPair(ApiKeyPair::new("acme", "pubKEY", "s3cr3t"));
//! vault.put(&reference.0, keys.seal()).await?;
//! let conn = Connection::new(
//!     ConnectionId::generate(),
//!     Provider::ConnectWiseManage,
//!     "Acme ConnectWise",
//!     [FeatureCategory::Crm, FeatureCategory::Psa].into(),
//!     reference.clone(),
//!     Utc::now(),
//! )?;
//! assert_eq!(store.save_connection(&conn).await?, 1);
//! drop((vault, store));
//!
//! let store = SqliteStore::open(&path).await?;
//! let back = store.connection(&conn.id).await?.expect("saved");
//! assert_eq!((back.name.as_str(), back.version), ("Acme ConnectWise", 1));
//! let vault = store.open_vault(key()).await?;
//! let Credentials::ApiKeyPair(pair) = load_credentials(&vault, &back.credential_ref).await? else {
//!     panic!("another credential type came back");
//! };
//! assert_eq!(pair.public_key, "pubKEY");
//! assert!(matches!(
//!     store.open_vault(VaultKey::from_bytes([8; 32])).await,
//!     Err(VaultError::WrongKey)
//! ));
//! # Ok(()) }
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
