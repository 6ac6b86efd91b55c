//! The vault key is checked on open (issue 10.8), and a reconnect never
//! deletes the old credentials before the new ones are written and
//! readable.

mod fault_support;

use fault_support::*;
use scopelink_core::async_trait;
use scopelink_core::secret::{ApiKeyPair, Credentials, InMemoryVault, Vault};
use scopelink_core::{Connections, Error, MemoryStore, Store, VaultError};
use scopelink_store_sqlite::{SqliteStore, SqliteVault, VaultKey};
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use secrecy::SecretString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const RIGHT: [u8; 32] = [42; 32];
const WRONG: [u8; 32] = [7; 32];

fn key(bytes: [u8; 32]) -> VaultKey {
    VaultKey::from_bytes(bytes)
}

fn new_keys(sim: &ConnectWiseSim) -> Credentials {
    Credentials::ApiKeyPair(ApiKeyPair::new(
        sim.company_id(),
        sim.public_key(),
        sim.private_key(),
    ))
}

#[tokio::test]
async fn a_wrong_key_is_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let vault = store.open_vault(key(RIGHT)).await.expect("a new vault");
        vault
            .put("scopelink/c1/a", SecretString::from("s3cret"))
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let err = store
        .open_vault(key(WRONG))
        .await
        .expect_err("the wrong key is refused");
    assert!(matches!(err, VaultError::WrongKey), "{err:?}");
    assert!(
        err.to_string().contains("does not match"),
        "the message says what is wrong: {err}"
    );
    assert!(matches!(
        SqliteVault::open(&path, key(WRONG)).await,
        Err(VaultError::WrongKey)
    ));
    // A vault handed out before its check refuses its first operation,
    // and writes nothing.
    let lazy = store.vault(key(WRONG));
    assert!(matches!(
        lazy.put("scopelink/c1/b", SecretString::from("x")).await,
        Err(VaultError::WrongKey)
    ));
    let right = store.open_vault(key(RIGHT)).await.expect("the right key");
    assert_eq!(right.keys().await.unwrap(), ["scopelink/c1/a"]);
}

#[tokio::test]
async fn a_vault_written_before_the_key_check_is_checked_against_its_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    {
        let vault = SqliteVault::open(&path, key(RIGHT)).await.unwrap();
        vault
            .put("scopelink/c1/a", SecretString::from("s3cret"))
            .await
            .unwrap();
    }
    // A file from before the check value existed: none is stored.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM vault_meta", [])
        .unwrap();
    assert!(matches!(
        SqliteVault::open(&path, key(WRONG)).await,
        Err(VaultError::WrongKey)
    ));
    SqliteVault::open(&path, key(RIGHT))
        .await
        .expect("the key that opens its entries is accepted");
    let checks: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM vault_meta", [], |r| r.get(0))
        .unwrap();
    assert_eq!(checks, 1, "the check value is stored once accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_under_the_wrong_key_keeps_the_good_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(1, 0)).await;
    let cw = cw_connector(&sim, sim.server_url(), 10, http(Duration::from_secs(5)));
    let store = SqliteStore::open(&path).await.unwrap();
    let vault = Arc::new(store.open_vault(key(RIGHT)).await.unwrap());
    let shared: Arc<dyn Store> = Arc::new(store.clone());
    let host = Host::connectwise(shared.clone(), &sim).await;
    // Host::connectwise keeps credentials in memory; put them in the
    // SQLite vault through a service on it.
    let right = Connections::new(shared.clone(), vault.clone());
    let created = right
        .reconnect(&host.access, &host.conn, new_keys(&sim), &cw)
        .await
        .expect("credentials into the SQLite vault");
    let entries = vault.keys().await.unwrap();
    assert_eq!(entries, std::slice::from_ref(&created.credential_ref.0));

    // A host restarted with the wrong key reconnects.
    let wrong = Connections::new(shared.clone(), Arc::new(store.vault(key(WRONG))));
    let err = wrong
        .reconnect(&host.access, &host.conn, new_keys(&sim), &cw)
        .await
        .expect_err("the wrong key is refused");
    assert!(matches!(err, Error::Vault(VaultError::WrongKey)), "{err:?}");
    assert_eq!(
        vault.keys().await.unwrap(),
        entries,
        "the good entry is kept and nothing unreadable is written"
    );
    let after = right.get(&host.access, &host.conn).await.unwrap();
    assert_eq!(after.credential_ref, created.credential_ref);
    assert_eq!(
        after.version, created.version,
        "the connection is unchanged"
    );
    assert!(
        right
            .credentials(&scopelink_core::Access::full(), &host.conn)
            .await
            .is_ok(),
        "the right key still reads the connection's credentials"
    );
}

/// A vault whose reads fail while `broken` (a backend that accepts writes
/// it cannot read back).
#[derive(Default)]
struct UnreadableWrites {
    inner: InMemoryVault,
    broken: AtomicBool,
}

#[async_trait]
impl Vault for UnreadableWrites {
    async fn put(&self, key: &str, value: SecretString) -> Result<(), VaultError> {
        self.inner.put(key, value).await
    }

    async fn get(&self, key: &str) -> Result<Option<SecretString>, VaultError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(VaultError::Backend("read failed".into()));
        }
        self.inner.get(key).await
    }

    async fn delete(&self, key: &str) -> Result<(), VaultError> {
        self.inner.delete(key).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_whose_new_entry_cannot_be_read_back_keeps_the_old_one() {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(1, 0)).await;
    let cw = cw_connector(&sim, sim.server_url(), 10, http(Duration::from_secs(5)));
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let vault = Arc::new(UnreadableWrites::default());
    let connections = Connections::new(store.clone(), vault.clone());
    let host = Host::connectwise(store.clone(), &sim).await;
    let before = connections
        .reconnect(&host.access, &host.conn, new_keys(&sim), &cw)
        .await
        .expect("first credentials");
    assert_eq!(
        vault.inner.keys(),
        std::slice::from_ref(&before.credential_ref.0)
    );

    vault.broken.store(true, Ordering::SeqCst);
    let err = connections
        .reconnect(&host.access, &host.conn, new_keys(&sim), &cw)
        .await
        .expect_err("a new entry that cannot be read back is refused");
    assert!(
        matches!(err, Error::Vault(VaultError::Backend(_))),
        "{err:?}"
    );
    vault.broken.store(false, Ordering::SeqCst);
    assert_eq!(
        vault.inner.keys(),
        std::slice::from_ref(&before.credential_ref.0),
        "the old entry stays and the unreadable new one is removed"
    );
    let after = connections.get(&host.access, &host.conn).await.unwrap();
    assert_eq!(after.credential_ref, before.credential_ref);
    assert!(connections
        .credentials(&scopelink_core::Access::full(), &host.conn)
        .await
        .is_ok());
}
