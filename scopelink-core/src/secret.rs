//! Credentials and the vault that holds them.
//!
//! Every secret is a [`SecretString`]: its `Debug` output is redacted and it
//! is zeroized on drop. A connection stores only a [`CredentialRef`], the key
//! under which its credentials sit in the host's [`Vault`].
//!
//! # Example
//!
//! Credentials go into the vault sealed, come back out typed, and never show
//! in `Debug`:
//!
//! ```
//! use scopelink_core::secret::{load_credentials, ApiKeyPair, CredentialRef, Credentials, InMemoryVault, Vault};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), scopelink_core::VaultError> {
//! let keys = Credentials::ApiKeyPair(ApiKeyPair::new("acme", "pubKEY", "s3cr3t-private"));
//! assert!(!format!("{keys:?}").contains("s3cr3t-private"));
//!
//! let vault = InMemoryVault::new();
//! let reference = CredentialRef("conn-1/credentials".into());
//! vault.put(&reference.0, keys.seal()).await?;
//! let Credentials::ApiKeyPair(back) = load_credentials(&vault, &reference).await? else {
//!     panic!("another credential type came back");
//! };
//! assert_eq!(back.public_key, "pubKEY");
//!
//! vault.delete(&reference.0).await?;
//! assert!(load_credentials(&vault, &reference).await.is_err());
//! # Ok(()) }
//! ```

use crate::error::VaultError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// Trims whitespace and line breaks pasted around a key.
fn clean(value: &str) -> String {
    value.trim().to_string()
}

/// A public/private API key pair and the company (tenant) id it logs in
/// to, sent as HTTP Basic auth `company+public:private` (ConnectWise
/// Manage API member keys).
#[derive(Debug, Clone)]
pub struct ApiKeyPair {
    /// The company id used at login (not secret).
    pub company_id: String,
    /// The API member's public key (not secret on its own).
    pub public_key: String,
    /// The API member's private key.
    pub private_key: SecretString,
}

impl ApiKeyPair {
    /// Builds keys, trimming whitespace pasted around each value.
    pub fn new(company_id: &str, public_key: &str, private_key: &str) -> Self {
        Self {
            company_id: clean(company_id),
            public_key: clean(public_key),
            private_key: SecretString::from(clean(private_key)),
        }
    }
}

/// An API user's name and secret, with the integration code that tracks
/// the integration (Autotask API user credentials).
#[derive(Debug, Clone)]
pub struct ApiUserSecret {
    /// The API user's user name.
    pub username: String,
    /// The API user's secret.
    pub secret: SecretString,
    /// The integration code (tracking identifier).
    pub integration_code: SecretString,
}

impl ApiUserSecret {
    /// Builds keys, trimming whitespace pasted around each value.
    pub fn new(username: &str, secret: &str, integration_code: &str) -> Self {
        Self {
            username: clean(username),
            secret: SecretString::from(clean(secret)),
            integration_code: SecretString::from(clean(integration_code)),
        }
    }
}

/// The former, provider-named name of [`ApiKeyPair`].
#[deprecated(note = "renamed to `ApiKeyPair` (credential types are named by auth style)")]
pub type ConnectWiseKeys = ApiKeyPair;

/// The former, provider-named name of [`ApiUserSecret`].
#[deprecated(note = "renamed to `ApiUserSecret` (credential types are named by auth style)")]
pub type AutotaskKeys = ApiUserSecret;

/// OAuth2 client credentials (HaloPSA and others).
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret.
    pub client_secret: SecretString,
}

impl ClientCredentials {
    /// Builds credentials, trimming whitespace pasted around each value.
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        Self {
            client_id: clean(client_id),
            client_secret: SecretString::from(clean(client_secret)),
        }
    }
}

/// OAuth2 tokens obtained through an authorization flow.
#[derive(Debug, Clone)]
pub struct OAuthTokens {
    /// The bearer token.
    pub access_token: SecretString,
    /// The refresh token, when the provider issued one.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires, if known.
    pub expires_at: Option<DateTime<Utc>>,
    /// The instance the tokens belong to (Salesforce `instance_url`, ...).
    pub instance_url: Option<String>,
}

impl OAuthTokens {
    /// Whether the access token expires within `margin` of `now`.
    pub fn expires_within(&self, now: DateTime<Utc>, margin: chrono::Duration) -> bool {
        self.expires_at.is_some_and(|at| at - margin <= now)
    }
}

/// A single opaque API token (Merge account token, ...).
#[derive(Debug, Clone)]
pub struct ApiToken {
    /// The token.
    pub token: SecretString,
}

/// Credentials of any supported auth style.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// A public/private key pair (ConnectWise member keys).
    ApiKeyPair(ApiKeyPair),
    /// An API user and its secret (Autotask).
    ApiUserSecret(ApiUserSecret),
    /// OAuth2 client credentials.
    ClientCredentials(ClientCredentials),
    /// OAuth2 tokens.
    OAuth(OAuthTokens),
    /// A single token.
    ApiToken(ApiToken),
}

/// The form credentials take inside the vault: one JSON document, itself
/// held as a secret.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Sealed {
    // The tags are the stored format: they keep the names they were first
    // written with, so vault entries sealed by earlier versions still open.
    #[serde(rename = "connect_wise")]
    ApiKeyPair {
        company_id: String,
        public_key: String,
        private_key: String,
    },
    #[serde(rename = "autotask")]
    ApiUserSecret {
        username: String,
        secret: String,
        integration_code: String,
    },
    ClientCredentials {
        client_id: String,
        client_secret: String,
    },
    OAuth {
        access_token: String,
        refresh_token: Option<String>,
        expires_at: Option<DateTime<Utc>>,
        instance_url: Option<String>,
    },
    ApiToken {
        token: String,
    },
}

fn expose(s: &SecretString) -> String {
    s.expose_secret().to_string()
}

impl Credentials {
    /// Serializes the credentials into one secret value for the vault.
    pub fn seal(&self) -> SecretString {
        let sealed = match self {
            Credentials::ApiKeyPair(k) => Sealed::ApiKeyPair {
                company_id: k.company_id.clone(),
                public_key: k.public_key.clone(),
                private_key: expose(&k.private_key),
            },
            Credentials::ApiUserSecret(k) => Sealed::ApiUserSecret {
                username: k.username.clone(),
                secret: expose(&k.secret),
                integration_code: expose(&k.integration_code),
            },
            Credentials::ClientCredentials(c) => Sealed::ClientCredentials {
                client_id: c.client_id.clone(),
                client_secret: expose(&c.client_secret),
            },
            Credentials::OAuth(t) => Sealed::OAuth {
                access_token: expose(&t.access_token),
                refresh_token: t.refresh_token.as_ref().map(expose),
                expires_at: t.expires_at,
                instance_url: t.instance_url.clone(),
            },
            Credentials::ApiToken(t) => Sealed::ApiToken {
                token: expose(&t.token),
            },
        };
        // Serializing a plain enum of strings cannot fail.
        SecretString::from(serde_json::to_string(&sealed).unwrap_or_default())
    }

    /// Reads credentials back from a sealed vault value.
    pub fn unseal(key: &str, value: &SecretString) -> Result<Self, VaultError> {
        let sealed: Sealed =
            serde_json::from_str(value.expose_secret()).map_err(|e| VaultError::Corrupt {
                key: key.to_string(),
                // serde's message names the field and position, never the value.
                reason: format!("not a sealed credential ({})", e.classify_name()),
            })?;
        Ok(match sealed {
            Sealed::ApiKeyPair {
                company_id,
                public_key,
                private_key,
            } => Credentials::ApiKeyPair(ApiKeyPair {
                company_id,
                public_key,
                private_key: private_key.into(),
            }),
            Sealed::ApiUserSecret {
                username,
                secret,
                integration_code,
            } => Credentials::ApiUserSecret(ApiUserSecret {
                username,
                secret: secret.into(),
                integration_code: integration_code.into(),
            }),
            Sealed::ClientCredentials {
                client_id,
                client_secret,
            } => Credentials::ClientCredentials(ClientCredentials {
                client_id,
                client_secret: client_secret.into(),
            }),
            Sealed::OAuth {
                access_token,
                refresh_token,
                expires_at,
                instance_url,
            } => Credentials::OAuth(OAuthTokens {
                access_token: access_token.into(),
                refresh_token: refresh_token.map(Into::into),
                expires_at,
                instance_url,
            }),
            Sealed::ApiToken { token } => Credentials::ApiToken(ApiToken {
                token: token.into(),
            }),
        })
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// The key under which a connection's credentials sit in the vault.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CredentialRef(pub String);

impl fmt::Display for CredentialRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the host keeps secrets. scopelink never stores a secret anywhere
/// else.
#[async_trait]
pub trait Vault: Send + Sync {
    /// Stores (or replaces) a secret under `key`.
    async fn put(&self, key: &str, value: SecretString) -> Result<(), VaultError>;
    /// Reads the secret under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<SecretString>, VaultError>;
    /// Removes the secret under `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), VaultError>;
}

/// Reads and unseals the credentials under `reference`.
pub async fn load_credentials(
    vault: &dyn Vault,
    reference: &CredentialRef,
) -> Result<Credentials, VaultError> {
    let value = vault
        .get(&reference.0)
        .await?
        .ok_or_else(|| VaultError::NotFound(reference.0.clone()))?;
    Credentials::unseal(&reference.0, &value)
}

/// A vault in process memory, for tests and examples.
#[derive(Default)]
pub struct InMemoryVault {
    entries: Mutex<HashMap<String, SecretString>>,
}

impl fmt::Debug for InMemoryVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryVault")
            .field("keys", &self.keys())
            .finish()
    }
}

impl InMemoryVault {
    /// An empty vault.
    pub fn new() -> Self {
        Self::default()
    }

    /// The keys currently held, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .entries
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }
}

#[async_trait]
impl Vault for InMemoryVault {
    async fn put(&self, key: &str, value: SecretString) -> Result<(), VaultError> {
        self.entries
            .lock()
            .map_err(|_| VaultError::Backend("vault lock poisoned".into()))?
            .insert(key.to_string(), value);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<SecretString>, VaultError> {
        Ok(self
            .entries
            .lock()
            .map_err(|_| VaultError::Backend("vault lock poisoned".into()))?
            .get(key)
            .cloned())
    }

    async fn delete(&self, key: &str) -> Result<(), VaultError> {
        self.entries
            .lock()
            .map_err(|_| VaultError::Backend("vault lock poisoned".into()))?
            .remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRETS: [&str; 5] = [
        "cw-private-XYZ",
        "at-secret-123",
        "at-code-456",
        "halo-secret-789",
        "oauth-access-abc",
    ];

    fn all_credentials() -> Vec<Credentials> {
        vec![
            Credentials::ApiKeyPair(ApiKeyPair::new("acme", "pub", SECRETS[0])),
            Credentials::ApiUserSecret(ApiUserSecret::new("api@x", SECRETS[1], SECRETS[2])),
            Credentials::ClientCredentials(ClientCredentials::new("client", SECRETS[3])),
            Credentials::OAuth(OAuthTokens {
                access_token: SECRETS[4].to_string().into(),
                refresh_token: Some("oauth-refresh-def".to_string().into()),
                expires_at: None,
                instance_url: Some("https://x.my.salesforce.com".into()),
            }),
            Credentials::ApiToken(ApiToken {
                token: "merge-token-ghi".to_string().into(),
            }),
        ]
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        for creds in all_credentials() {
            let printed = format!("{creds:?} {creds:#?} {:?}", creds.seal());
            for secret in SECRETS
                .iter()
                .chain(&["oauth-refresh-def", "merge-token-ghi"])
            {
                assert!(!printed.contains(secret), "{secret} leaked in {printed}");
            }
        }
    }

    #[test]
    fn seal_and_unseal_round_trip() {
        for creds in all_credentials() {
            let sealed = creds.seal();
            let back = Credentials::unseal("k", &sealed).expect("unseal");
            assert_eq!(
                sealed.expose_secret(),
                back.seal().expose_secret(),
                "round trip changed {creds:?}"
            );
        }
    }

    #[test]
    fn entries_sealed_before_the_rename_still_open() {
        let cw = SecretString::from(
            r#"{"kind":"connect_wise","company_id":"acme","public_key":"pub","private_key":"priv"}"#,
        );
        match Credentials::unseal("old/cw", &cw).expect("old ConnectWise entry") {
            Credentials::ApiKeyPair(k) => {
                assert_eq!(k.company_id, "acme");
                assert_eq!(k.private_key.expose_secret(), "priv");
            }
            other => panic!("expected an API key pair, got {other:?}"),
        }
        let at = SecretString::from(
            r#"{"kind":"autotask","username":"api@x","secret":"s","integration_code":"c"}"#,
        );
        assert!(matches!(
            Credentials::unseal("old/at", &at).expect("old Autotask entry"),
            Credentials::ApiUserSecret(_)
        ));
        // And what is sealed today is written in that same format.
        let sealed = Credentials::ApiKeyPair(ApiKeyPair::new("acme", "pub", "priv")).seal();
        assert!(sealed.expose_secret().contains(r#""kind":"connect_wise""#));
    }

    #[test]
    fn pasted_whitespace_is_trimmed() {
        let keys = ApiKeyPair::new(" acme\n", "\tpub ", "  priv\r\n");
        assert_eq!(keys.company_id, "acme");
        assert_eq!(keys.public_key, "pub");
        assert_eq!(keys.private_key.expose_secret(), "priv");
    }

    #[test]
    fn corrupt_vault_value_is_a_typed_error_without_the_value() {
        let err = Credentials::unseal("conn/1", &SecretString::from("hunter2-not-json"))
            .expect_err("must fail");
        let text = format!("{err} {err:?}");
        assert!(matches!(err, VaultError::Corrupt { .. }));
        assert!(!text.contains("hunter2"));
    }

    #[tokio::test]
    async fn in_memory_vault_put_get_delete() {
        let vault = InMemoryVault::new();
        let r = CredentialRef("c1/v1".into());
        vault.put(&r.0, all_credentials()[0].seal()).await.unwrap();
        assert!(matches!(
            load_credentials(&vault, &r).await.unwrap(),
            Credentials::ApiKeyPair(_)
        ));
        vault.delete(&r.0).await.unwrap();
        assert!(matches!(
            load_credentials(&vault, &r).await,
            Err(VaultError::NotFound(_))
        ));
        assert!(vault.keys().is_empty());
    }
}
