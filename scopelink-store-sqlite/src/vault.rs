//! [`SqliteVault`]: a [`Vault`] that keeps secrets encrypted at rest in
//! table `vault`, with XChaCha20-Poly1305 under a key the host supplies.

use crate::db::{sql, Db, DbError};
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

impl From<DbError> for VaultError {
    fn from(e: DbError) -> Self {
        VaultError::Backend(e.0)
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
/// Cheap to clone. Get one sharing a store's database with
/// [`crate::SqliteStore::vault`], or open one on its own.
#[derive(Clone)]
pub struct SqliteVault {
    db: Db,
    key: std::sync::Arc<VaultKey>,
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
        }
    }

    /// Opens (creating and migrating if needed) the database file at `path`.
    /// It may be the same file as a [`crate::SqliteStore`]'s.
    pub async fn open(path: impl AsRef<Path>, key: VaultKey) -> Result<Self, VaultError> {
        let db = Db::open(Some(path.as_ref().to_path_buf())).await?;
        Ok(Self::from_db(db, key))
    }

    /// A vault in a new, private in-memory database (tests, examples).
    pub async fn open_in_memory(key: VaultKey) -> Result<Self, VaultError> {
        let db = Db::open(None).await?;
        Ok(Self::from_db(db, key))
    }

    /// The names of every stored secret, sorted.
    pub async fn keys(&self) -> Result<Vec<String>, VaultError> {
        self.db
            .call("listing vault keys", |conn| {
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
        self.db
            .call("storing a secret", move |conn| {
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
            .db
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
        self.db
            .call("deleting a secret", move |conn| {
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
