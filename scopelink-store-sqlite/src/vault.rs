//! [`SqliteVault`]: a [`Vault`] that keeps secrets encrypted at rest in
//! table `vault`, with XChaCha20-Poly1305 under a key the host supplies.

use crate::db::{sql, write_tx, Db, DbError};
use async_trait::async_trait;
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, AeadCore, AeadInPlace, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rusqlite::{params, OptionalExtension};
use scopelink_core::secret::Vault;
use scopelink_core::VaultError;
use secrecy::zeroize::{Zeroize, Zeroizing};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use std::fmt;
use std::path::Path;

/// The length of a [`VaultKey`] in bytes.
pub const VAULT_KEY_LEN: usize = 32;

/// The length of the random nonce stored beside each value.
const NONCE_LEN: usize = 24;

/// Prefix of the associated data; the vault key name follows it, so a
/// ciphertext only decrypts under the name it was stored under.
const AAD_PREFIX: &[u8] = b"scopelink-vault/v1\0";

/// The associated data of the key check value (not a valid entry AAD).
const KEY_CHECK_AAD: &[u8] = b"scopelink-vault-key-check/v1";

/// The plain text of the key check value.
const KEY_CHECK_TEXT: &[u8] = b"scopelink vault key check";

/// Where the key check value is kept in table `vault_meta`.
const KEY_CHECK_NAME: &str = "key_check";

/// Checks that `key` is the key this database's vault was created with:
/// the key check value (an AEAD ciphertext of a fixed text) must decrypt
/// under it. A vault without one gets one, after checking that `key`
/// opens an existing entry if there is any (files written before the check
/// existed). [`VaultError::WrongKey`] when the key does not fit; nothing is
/// written then.
fn verify_key(conn: &mut rusqlite::Connection, key: &VaultKey) -> Result<(), VaultError> {
    let what = "checking the vault key";
    let tx = write_tx(conn, "check the vault key")?;
    let stored: Option<(Vec<u8>, Vec<u8>)> = tx
        .prepare_cached("SELECT nonce, ciphertext FROM vault_meta WHERE name = ?1")
        .map_err(sql(what))?
        .query_row(params![KEY_CHECK_NAME], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sql(what))?;
    let cipher = key.cipher();
    let opens = |nonce: &[u8], ciphertext: &[u8], aad: &[u8]| {
        nonce.len() == NONCE_LEN
            && cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad,
                    },
                )
                .is_ok()
    };
    if let Some((nonce, ciphertext)) = stored {
        return if opens(&nonce, &ciphertext, KEY_CHECK_AAD) {
            Ok(())
        } else {
            Err(VaultError::WrongKey)
        };
    }
    let entry: Option<(String, Vec<u8>, Vec<u8>)> = tx
        .prepare_cached("SELECT key, nonce, ciphertext FROM vault ORDER BY key LIMIT 1")
        .map_err(sql(what))?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(sql(what))?;
    if let Some((name, nonce, ciphertext)) = entry {
        if !opens(&nonce, &ciphertext, &aad(&name)) {
            return Err(VaultError::WrongKey);
        }
    }
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: KEY_CHECK_TEXT,
                aad: KEY_CHECK_AAD,
            },
        )
        .map_err(|_| VaultError::Backend("encrypting the vault key check failed".into()))?;
    tx.prepare_cached("INSERT INTO vault_meta (name, nonce, ciphertext) VALUES (?1, ?2, ?3)")
        .map_err(sql(what))?
        .execute(params![KEY_CHECK_NAME, nonce.to_vec(), ciphertext])
        .map_err(sql(what))?;
    tx.commit().map_err(sql(what))?;
    Ok(())
}

impl From<DbError> for VaultError {
    fn from(e: DbError) -> Self {
        VaultError::Backend(e.text())
    }
}

/// The 32-byte key a [`SqliteVault`] encrypts with. Held in a
/// [`SecretBox`]: zeroized on drop, redacted in `Debug`.
///
/// Where the key comes from is the host's business (an OS keychain, a KMS,
/// an environment secret); losing it makes every stored secret unreadable.
pub struct VaultKey(SecretBox<[u8; VAULT_KEY_LEN]>);

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey([REDACTED])")
    }
}

impl VaultKey {
    /// A key from its bytes. The argument is zeroized after it is copied
    /// (copies the caller made before are the caller's to wipe).
    pub fn from_bytes(mut bytes: [u8; VAULT_KEY_LEN]) -> Self {
        let key = SecretBox::init_with_mut(|k: &mut [u8; VAULT_KEY_LEN]| k.copy_from_slice(&bytes));
        bytes.zeroize();
        Self(key)
    }

    /// A key from a slice, which must be exactly [`VAULT_KEY_LEN`] bytes.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, VaultError> {
        if bytes.len() != VAULT_KEY_LEN {
            return Err(VaultError::Backend(format!(
                "a vault key must be {VAULT_KEY_LEN} bytes, got {}",
                bytes.len()
            )));
        }
        Ok(Self(SecretBox::init_with_mut(
            |k: &mut [u8; VAULT_KEY_LEN]| k.copy_from_slice(bytes),
        )))
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> Self {
        Self(SecretBox::init_with_mut(|k: &mut [u8; VAULT_KEY_LEN]| {
            OsRng.fill_bytes(k)
        }))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(self.0.expose_secret()))
    }
}

fn aad(name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_PREFIX.len() + name.len());
    aad.extend_from_slice(AAD_PREFIX);
    aad.extend_from_slice(name.as_bytes());
    aad
}

/// A [`Vault`] in a SQLite database, encrypting every value with
/// XChaCha20-Poly1305: a fresh random 24-byte nonce per value, and the
/// entry's name as associated data, so ciphertexts cannot be swapped between
/// entries. Plain text is never written. Reading with the wrong key (or a
/// tampered row) is [`VaultError::Corrupt`].
///
/// The key is checked against the key check value the database keeps (see
/// [`SqliteVault::open`]): a wrong key is refused with
/// [`VaultError::WrongKey`] before anything is read or written, so a vault
/// opened with the wrong key never writes entries the right key cannot
/// read.
///
/// Cheap to clone. Get one sharing a store's database with
/// [`crate::SqliteStore::open_vault`] (or [`crate::SqliteStore::vault`],
/// which checks the key at its first use), or open one on its own.
#[derive(Clone)]
pub struct SqliteVault {
    db: Db,
    key: std::sync::Arc<VaultKey>,
    /// Whether the key was checked against the database's key check value.
    verified: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl fmt::Debug for SqliteVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteVault")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl SqliteVault {
    pub(crate) fn from_db(db: Db, key: VaultKey) -> Self {
        Self {
            db,
            key: std::sync::Arc::new(key),
            verified: Default::default(),
        }
    }

    /// Opens (creating and migrating if needed) the database file at `path`
    /// and checks the key: [`VaultError::WrongKey`] when the vault in it was
    /// created with another key. It may be the same file as a
    /// [`crate::SqliteStore`]'s.
    pub async fn open(path: impl AsRef<Path>, key: VaultKey) -> Result<Self, VaultError> {
        let db = Db::open(Some(path.as_ref().to_path_buf())).await?;
        Self::from_db(db, key).checked().await
    }

    /// A vault in a new, private in-memory database (tests, examples).
    pub async fn open_in_memory(key: VaultKey) -> Result<Self, VaultError> {
        let db = Db::open(None).await?;
        Self::from_db(db, key).checked().await
    }

    /// This vault once its key is checked (see [`SqliteVault::open`]).
    pub(crate) async fn checked(self) -> Result<Self, VaultError> {
        self.call("checking the vault key", |_| Ok(())).await?;
        Ok(self)
    }

    /// Runs `f` on the database after the key check (done once per vault,
    /// in the same call as the first operation).
    async fn call<T, F>(&self, what: &'static str, f: F) -> Result<T, VaultError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T, VaultError> + Send + 'static,
    {
        use std::sync::atomic::Ordering;
        let key = std::sync::Arc::clone(&self.key);
        let verified = std::sync::Arc::clone(&self.verified);
        self.db
            .call(what, move |conn| {
                if !verified.load(Ordering::Acquire) {
                    verify_key(conn, &key)?;
                    verified.store(true, Ordering::Release);
                }
                f(conn)
            })
            .await
    }

    /// The names of every stored secret, sorted.
    pub async fn keys(&self) -> Result<Vec<String>, VaultError> {
        self.call("listing vault keys", |conn| {
            let what = "listing vault keys";
            let mut stmt = conn
                .prepare_cached("SELECT key FROM vault ORDER BY key")
                .map_err(sql(what))?;
            let keys = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(sql(what))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sql(what))?;
            Ok(keys)
        })
        .await
    }

    fn seal(&self, name: &str, value: &SecretString) -> Result<(Vec<u8>, Vec<u8>), VaultError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = aad(name);
        let ciphertext = self
            .key
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: value.expose_secret().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Backend(format!("encrypting the secret `{name}` failed")))?;
        Ok((nonce.to_vec(), ciphertext))
    }

    fn open_sealed(
        &self,
        name: &str,
        nonce: &[u8],
        ciphertext: Vec<u8>,
    ) -> Result<SecretString, VaultError> {
        let corrupt = |reason: &str| VaultError::Corrupt {
            key: name.to_string(),
            reason: reason.to_string(),
        };
        if nonce.len() != NONCE_LEN {
            return Err(corrupt("its stored nonce has the wrong length"));
        }
        let mut buffer = Zeroizing::new(ciphertext);
        self.key
            .cipher()
            .decrypt_in_place(XNonce::from_slice(nonce), &aad(name), &mut *buffer)
            .map_err(|_| {
                corrupt(
                    "it cannot be decrypted: the vault key is wrong, or the entry was \
                     altered or stored under another name",
                )
            })?;
        let text =
            std::str::from_utf8(&buffer).map_err(|_| corrupt("its plain text is not UTF-8"))?;
        // `From<&str>` copies into an exact-size allocation; `buffer` is
        // zeroized when it drops.
        Ok(SecretString::from(text))
    }
}

#[async_trait]
impl Vault for SqliteVault {
    async fn put(&self, key: &str, value: SecretString) -> Result<(), VaultError> {
        let (nonce, ciphertext) = self.seal(key, &value)?;
        drop(value);
        let name = key.to_string();
        self.call("storing a secret", move |conn| {
            conn.prepare_cached(
                "INSERT INTO vault (key, nonce, ciphertext) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (key) DO UPDATE SET \
                     nonce = excluded.nonce, ciphertext = excluded.ciphertext",
            )
            .map_err(sql("storing a secret"))?
            .execute(params![name, nonce, ciphertext])
            .map_err(sql("storing a secret"))?;
            Ok(())
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<SecretString>, VaultError> {
        let name = key.to_string();
        let row: Option<(Vec<u8>, Vec<u8>)> = self
            .call("reading a secret", move |conn| {
                let what = "reading a secret";
                let row = conn
                    .prepare_cached("SELECT nonce, ciphertext FROM vault WHERE key = ?1")
                    .map_err(sql(what))?
                    .query_row(params![name], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(sql(what))?;
                Ok::<_, VaultError>(row)
            })
            .await?;
        match row {
            None => Ok(None),
            Some((nonce, ciphertext)) => self.open_sealed(key, &nonce, ciphertext).map(Some),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), VaultError> {
        let name = key.to_string();
        self.call("deleting a secret", move |conn| {
            conn.prepare_cached("DELETE FROM vault WHERE key = ?1")
                .map_err(sql("deleting a secret"))?
                .execute(params![name])
                .map_err(sql("deleting a secret"))?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_debug_is_redacted() {
        let key = VaultKey::from_bytes([7u8; VAULT_KEY_LEN]);
        assert_eq!(format!("{key:?}"), "VaultKey([REDACTED])");
    }

    #[test]
    fn key_from_slice_checks_the_length() {
        assert!(VaultKey::try_from_slice(&[1u8; 31]).is_err());
        assert!(VaultKey::try_from_slice(&[1u8; 33]).is_err());
        assert!(VaultKey::try_from_slice(&[1u8; 32]).is_ok());
    }

    #[test]
    fn generated_keys_differ() {
        let a = VaultKey::generate();
        let b = VaultKey::generate();
        assert_ne!(a.0.expose_secret(), b.0.expose_secret());
    }

    #[tokio::test]
    async fn sealed_value_is_bound_to_its_name_and_nonce_is_fresh() {
        let vault = SqliteVault::open_in_memory(VaultKey::generate())
            .await
            .unwrap();
        let secret = SecretString::from("hunter2");
        let (n1, c1) = vault.seal("a", &secret).unwrap();
        let (n2, c2) = vault.seal("a", &secret).unwrap();
        assert_ne!(n1, n2, "nonces must be random per value");
        assert_ne!(c1, c2);
        assert_eq!(
            vault
                .open_sealed("a", &n1, c1.clone())
                .unwrap()
                .expose_secret(),
            "hunter2"
        );
        assert!(matches!(
            vault.open_sealed("b", &n1, c1.clone()),
            Err(VaultError::Corrupt { .. })
        ));
        assert!(matches!(
            vault.open_sealed("a", &n1[..10], c1),
            Err(VaultError::Corrupt { .. })
        ));
    }
}
