//! A connection to a provider, its status and the transitions between
//! statuses. Illegal transitions are typed errors, never silent no-ops.
//!
//! # Example
//!
//! ```
//! use chrono::Utc;
//! use scopelink_core::secret::CredentialRef;
//! use scopelink_core::{Connection, ConnectionId, ConnectionStatus, FeatureCategory, Provider};
//!
//! let now = Utc::now();
//! let mut conn = Connection::new(
//!     ConnectionId::generate(),
//!     Provider::HaloPsa,
//!     "Acme HaloPSA",
//!     [FeatureCategory::Crm, FeatureCategory::Psa].into(),
//!     CredentialRef("vault-key-1".into()),
//!     now,
//! )?;
//! assert_eq!(conn.status, ConnectionStatus::Untested);
//!
//! conn.record_test(Ok(()), now)?;
//! assert_eq!(conn.status, ConnectionStatus::Connected);
//!
//! // Entering Connection Error reports `true` once: the moment to tell someone.
//! assert!(conn.mark_error("401 Unauthorized".into(), now)?);
//! assert!(!conn.mark_error("401 Unauthorized".into(), now)?);
//!
//! conn.disable()?;
//! // A disabled connection is neither tested nor synced: a typed error, not a no-op.
//! assert!(conn.record_test(Ok(()), now).is_err());
//! assert!(conn.mark_synced(now).is_err());
//! conn.enable()?;
//! assert_eq!(conn.status, ConnectionStatus::Untested);
//!
//! // A provider without the category is refused at creation.
//! assert!(Connection::new(
//!     ConnectionId::generate(),
//!     Provider::HaloPsa,
//!     "Halo products",
//!     [FeatureCategory::Products].into(),
//!     CredentialRef("vault-key-2".into()),
//!     now,
//! )
//! .is_err());
//! # Ok::<(), scopelink_core::TransitionError>(())
//! ```

use crate::error::{InputError, TransitionError};
use crate::provider::{FeatureCategory, Provider};
use crate::secret::CredentialRef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A connection's identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnectionId(pub String);

impl ConnectionId {
    /// A new random identifier (`conn_` and 24 hex digits).
    pub fn generate() -> Self {
        Self(format!("conn_{:024x}", fastrand::u128(..) >> 32))
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ConnectionId {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

/// A connection's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ConnectionStatus {
    /// Created or re-enabled or given new credentials, not tested yet.
    Untested,
    /// The last test or sync worked.
    Connected,
    /// The last test or sync failed; `reason` says why.
    ConnectionError {
        /// What went wrong and what to fix, as shown to users.
        reason: String,
        /// When the connection entered this status.
        since: DateTime<Utc>,
    },
    /// Paused by a user: nothing syncs.
    Disabled,
}

impl ConnectionStatus {
    /// The name users see.
    pub fn label(&self) -> &'static str {
        match self {
            ConnectionStatus::Untested => "Untested",
            ConnectionStatus::Connected => "Connected",
            ConnectionStatus::ConnectionError { .. } => "Connection Error",
            ConnectionStatus::Disabled => "Disabled",
        }
    }
}

impl ConnectionStatus {
    /// Whether this is [`ConnectionStatus::Connected`].
    pub fn is_connected(&self) -> bool {
        matches!(self, ConnectionStatus::Connected)
    }

    /// Whether this is [`ConnectionStatus::Disabled`].
    pub fn is_disabled(&self) -> bool {
        matches!(self, ConnectionStatus::Disabled)
    }

    /// Whether this is [`ConnectionStatus::Untested`].
    pub fn is_untested(&self) -> bool {
        matches!(self, ConnectionStatus::Untested)
    }

    /// Whether this is [`ConnectionStatus::ConnectionError`].
    pub fn is_error(&self) -> bool {
        matches!(self, ConnectionStatus::ConnectionError { .. })
    }

    /// The reason of a [`ConnectionStatus::ConnectionError`], as shown to
    /// users; `None` for every other status.
    pub fn error_reason(&self) -> Option<&str> {
        match self {
            ConnectionStatus::ConnectionError { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// When a [`ConnectionStatus::ConnectionError`] began; `None` for every
    /// other status.
    pub fn error_since(&self) -> Option<DateTime<Utc>> {
        match self {
            ConnectionStatus::ConnectionError { since, .. } => Some(*since),
            _ => None,
        }
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A connection to one provider account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Identifier.
    pub id: ConnectionId,
    /// The provider.
    pub provider: Provider,
    /// Name chosen by the user.
    pub name: String,
    /// Enabled feature categories.
    pub categories: BTreeSet<FeatureCategory>,
    /// Status.
    pub status: ConnectionStatus,
    /// When the last sync completed.
    pub last_sync: Option<DateTime<Utc>>,
    /// Where the credentials are in the vault.
    pub credential_ref: CredentialRef,
    /// Non-secret settings (server URL, detected API base, ...).
    pub settings: BTreeMap<String, String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The stored version this copy was read at (0: never stored). Stores
    /// save with compare-and-set on it, so an update based on a stale copy
    /// fails instead of overwriting a newer one (a disable, say).
    #[serde(default)]
    pub version: u64,
}

/// The longest connection name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The most settings a connection may have.
pub const MAX_SETTINGS: usize = 64;
/// The longest setting name, in bytes.
pub const MAX_SETTING_KEY_BYTES: usize = 64;
/// The longest setting value, in bytes.
pub const MAX_SETTING_VALUE_BYTES: usize = 2048;

/// Bidirectional-text controls (embeddings, overrides, isolates and marks),
/// which can make text display as something it is not.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that take no room: zero-width spaces and joiners, the word
/// joiner and invisible operators, the byte-order mark, soft hyphen.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Checks a (trimmed) connection name.
fn check_name(name: &str) -> Result<(), TransitionError> {
    if name.is_empty() {
        return Err(TransitionError::EmptyName);
    }
    // Count without walking a huge name twice: stop past the limit.
    let len = name.chars().take(MAX_NAME_CHARS + 1).count();
    if len > MAX_NAME_CHARS {
        return Err(InputError::NameTooLong {
            len: name.chars().count(),
            max: MAX_NAME_CHARS,
        }
        .into());
    }
    for (position, c) in name.chars().enumerate() {
        if c.is_control() {
            let code = c as u32;
            return Err(InputError::NameControlCharacter { position, code }.into());
        }
        if is_bidi_control(c) {
            let code = c as u32;
            return Err(InputError::NameBidiControl { position, code }.into());
        }
    }
    if name.chars().all(is_invisible) {
        return Err(InputError::NameInvisible.into());
    }
    Ok(())
}

/// A string cut to `max` characters, for error messages.
fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Checks one setting.
fn check_setting(key: &str, value: &str) -> Result<(), InputError> {
    let key_ok = !key.is_empty()
        && key.len() <= MAX_SETTING_KEY_BYTES
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !key_ok {
        return Err(InputError::InvalidSettingKey {
            key: cut(key, MAX_SETTING_KEY_BYTES).escape_default().to_string(),
            max: MAX_SETTING_KEY_BYTES,
        });
    }
    if value.len() > MAX_SETTING_VALUE_BYTES {
        return Err(InputError::SettingTooLong {
            key: key.to_string(),
            len: value.len(),
            max: MAX_SETTING_VALUE_BYTES,
        });
    }
    if let Some((position, c)) = value
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || is_bidi_control(*c))
    {
        return Err(InputError::SettingControlCharacter {
            key: key.to_string(),
            position,
            code: c as u32,
        });
    }
    let bad_port = |port: &str| InputError::InvalidPort {
        key: key.to_string(),
        port: cut(port, 16),
    };
    if key.eq_ignore_ascii_case("port") || key.to_ascii_lowercase().ends_with("_port") {
        if !matches!(value.trim().parse::<u16>(), Ok(1..)) {
            return Err(bad_port(value.trim()));
        }
    } else if let Some(port) = url_port(value) {
        if !matches!(port.parse::<u16>(), Ok(1..)) {
            return Err(bad_port(port));
        }
    }
    Ok(())
}

/// The explicit port of a value shaped like `scheme://host:port/...`, if it
/// has one.
fn url_port(value: &str) -> Option<&str> {
    let (_, rest) = value.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // An IPv6 literal: the port follows its closing bracket.
    let after_host = match host_port.rfind(']') {
        Some(i) => &host_port[i + 1..],
        None => host_port,
    };
    after_host.rsplit_once(':').map(|(_, port)| port)
}

fn illegal(action: &'static str, from: &ConnectionStatus) -> TransitionError {
    TransitionError::Illegal {
        action,
        from: from.label().to_string(),
    }
}

impl Connection {
    /// A new, untested connection. Checks the name and that the provider
    /// offers every category.
    pub fn new(
        id: ConnectionId,
        provider: Provider,
        name: &str,
        categories: BTreeSet<FeatureCategory>,
        credential_ref: CredentialRef,
        now: DateTime<Utc>,
    ) -> Result<Self, TransitionError> {
        let mut c = Self {
            id,
            provider,
            name: String::new(),
            categories: BTreeSet::new(),
            status: ConnectionStatus::Untested,
            last_sync: None,
            credential_ref,
            settings: BTreeMap::new(),
            created_at: now,
            version: 0,
        };
        c.rename(name)?;
        c.set_categories(categories)?;
        Ok(c)
    }

    /// Whether syncing and pushing are allowed (not disabled).
    pub fn is_enabled(&self) -> bool {
        !self.is_disabled()
    }

    /// Whether the last test or sync worked (status Connected).
    pub fn is_connected(&self) -> bool {
        self.status.is_connected()
    }

    /// Whether a user paused the connection (status Disabled).
    pub fn is_disabled(&self) -> bool {
        self.status.is_disabled()
    }

    /// Whether the connection has not been tested since it was created,
    /// re-enabled or given new credentials (status Untested).
    pub fn is_untested(&self) -> bool {
        self.status.is_untested()
    }

    /// Whether the last test or sync failed (status Connection Error).
    pub fn is_error(&self) -> bool {
        self.status.is_error()
    }

    /// Why the last test or sync failed, as shown to users, when the
    /// connection is in Connection Error.
    pub fn error_reason(&self) -> Option<&str> {
        self.status.error_reason()
    }

    /// Since when the connection is in Connection Error, if it is.
    pub fn error_since(&self) -> Option<DateTime<Utc>> {
        self.status.error_since()
    }

    /// Renames the connection. The name (trimmed) must have a visible
    /// character, at most [`MAX_NAME_CHARS`] characters, and no control or
    /// bidirectional-text characters.
    pub fn rename(&mut self, name: &str) -> Result<(), TransitionError> {
        let name = name.trim();
        check_name(name)?;
        self.name = name.to_string();
        Ok(())
    }

    /// Replaces every setting. Refused as a whole when any is invalid (see
    /// [`Connection::set_setting`]) or there are more than
    /// [`MAX_SETTINGS`].
    pub fn set_settings(&mut self, settings: BTreeMap<String, String>) -> Result<(), InputError> {
        if settings.len() > MAX_SETTINGS {
            return Err(InputError::TooManySettings {
                count: settings.len(),
                max: MAX_SETTINGS,
            });
        }
        for (key, value) in &settings {
            check_setting(key, value)?;
        }
        self.settings = settings;
        Ok(())
    }

    /// Stores one setting: its name 1 to [`MAX_SETTING_KEY_BYTES`] ASCII
    /// letters, digits, `_`, `-` or `.`; its value at most
    /// [`MAX_SETTING_VALUE_BYTES`] bytes with no control or
    /// bidirectional-text characters; a port (a `port` setting, or a URL's
    /// explicit port) from 1 to 65535; at most [`MAX_SETTINGS`] in all.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), InputError> {
        check_setting(key, value)?;
        if !self.settings.contains_key(key) && self.settings.len() >= MAX_SETTINGS {
            return Err(InputError::TooManySettings {
                count: self.settings.len() + 1,
                max: MAX_SETTINGS,
            });
        }
        self.settings.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// Replaces the enabled categories; each must be one the provider offers.
    pub fn set_categories(
        &mut self,
        categories: BTreeSet<FeatureCategory>,
    ) -> Result<(), TransitionError> {
        if let Some(c) = categories.iter().find(|c| !self.provider.supports(**c)) {
            return Err(TransitionError::UnsupportedCategory {
                provider: self.provider.display_name(),
                category: *c,
            });
        }
        self.categories = categories;
        Ok(())
    }

    /// Records the result of a connection test: Connected, or Connection
    /// Error with the reason. Not allowed while disabled.
    pub fn record_test(
        &mut self,
        result: Result<(), String>,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.check_testable()?;
        match result {
            Ok(()) => {
                self.status = ConnectionStatus::Connected;
                Ok(())
            }
            Err(reason) => self.mark_error(reason, now).map(|_| ()),
        }
    }

    /// Succeeds when the connection may be tested (it is not disabled).
    pub(crate) fn check_testable(&self) -> Result<(), TransitionError> {
        if self.is_disabled() {
            return Err(illegal("test", &self.status));
        }
        Ok(())
    }

    /// Pauses the connection.
    pub fn disable(&mut self) -> Result<(), TransitionError> {
        if self.is_disabled() {
            return Err(illegal("disable", &self.status));
        }
        self.status = ConnectionStatus::Disabled;
        Ok(())
    }

    /// Re-enables a disabled connection; it is untested until the next test.
    pub fn enable(&mut self) -> Result<(), TransitionError> {
        if !self.is_disabled() {
            return Err(illegal("enable", &self.status));
        }
        self.status = ConnectionStatus::Untested;
        Ok(())
    }

    /// Points the connection at new credentials and returns the old
    /// reference, whose vault entry the caller must delete. Not allowed while
    /// disabled (enable first).
    pub fn reconnect(&mut self, new_ref: CredentialRef) -> Result<CredentialRef, TransitionError> {
        if self.is_disabled() {
            return Err(illegal("reconnect", &self.status));
        }
        self.status = ConnectionStatus::Untested;
        Ok(std::mem::replace(&mut self.credential_ref, new_ref))
    }

    /// Moves to Connection Error. Returns `true` when the connection entered
    /// that status now (rather than was in it already, in which case only the
    /// reason is updated).
    pub fn mark_error(
        &mut self,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<bool, TransitionError> {
        match &self.status {
            ConnectionStatus::Disabled => Err(illegal("mark as failed", &self.status)),
            ConnectionStatus::ConnectionError { since, .. } => {
                self.status = ConnectionStatus::ConnectionError {
                    reason,
                    since: *since,
                };
                Ok(false)
            }
            _ => {
                self.status = ConnectionStatus::ConnectionError { reason, since: now };
                Ok(true)
            }
        }
    }

    /// Records a completed sync: the connection works, so it is Connected.
    pub fn mark_synced(&mut self, now: DateTime<Utc>) -> Result<(), TransitionError> {
        if self.is_disabled() {
            return Err(illegal("sync", &self.status));
        }
        self.status = ConnectionStatus::Connected;
        self.last_sync = Some(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        Connection::new(
            ConnectionId("c1".into()),
            Provider::HaloPsa,
            " Halo ",
            [FeatureCategory::Psa].into_iter().collect(),
            CredentialRef("c1/v1".into()),
            Utc::now(),
        )
        .unwrap()
    }

    #[test]
    fn new_connection_is_untested_and_trimmed() {
        let c = conn();
        assert_eq!(c.status, ConnectionStatus::Untested);
        assert_eq!(c.name, "Halo");
    }

    #[test]
    fn new_refuses_empty_name_and_foreign_categories() {
        let now = Utc::now();
        let r = CredentialRef("x".into());
        assert_eq!(
            Connection::new(
                ConnectionId("a".into()),
                Provider::HaloPsa,
                "  ",
                BTreeSet::new(),
                r.clone(),
                now
            )
            .unwrap_err(),
            TransitionError::EmptyName
        );
        let err = Connection::new(
            ConnectionId("a".into()),
            Provider::HaloPsa,
            "x",
            [FeatureCategory::Products].into_iter().collect(),
            r,
            now,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            TransitionError::UnsupportedCategory {
                category: FeatureCategory::Products,
                ..
            }
        ));
    }

    #[test]
    fn test_result_moves_to_connected_or_error() {
        let mut c = conn();
        c.record_test(Ok(()), Utc::now()).unwrap();
        assert_eq!(c.status, ConnectionStatus::Connected);
        c.record_test(Err("bad keys".into()), Utc::now()).unwrap();
        assert!(
            matches!(&c.status, ConnectionStatus::ConnectionError { reason, .. } if reason == "bad keys")
        );
        c.record_test(Ok(()), Utc::now()).unwrap();
        assert_eq!(c.status, ConnectionStatus::Connected);
    }

    #[test]
    fn disable_enable_cycle() {
        let mut c = conn();
        c.disable().unwrap();
        assert!(!c.is_enabled());
        assert!(matches!(
            c.disable(),
            Err(TransitionError::Illegal {
                action: "disable",
                ..
            })
        ));
        assert!(c.record_test(Ok(()), Utc::now()).is_err());
        assert!(matches!(
            c.record_test(Err("bad keys".into()), Utc::now()),
            Err(TransitionError::Illegal { action: "test", .. })
        ));
        assert!(c.mark_synced(Utc::now()).is_err());
        assert!(c.mark_error("x".into(), Utc::now()).is_err());
        assert!(c.reconnect(CredentialRef("v2".into())).is_err());
        c.enable().unwrap();
        assert_eq!(c.status, ConnectionStatus::Untested);
        let err = c.enable().unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot enable a connection that is Untested"
        );
    }

    #[test]
    fn reconnect_returns_old_reference() {
        let mut c = conn();
        c.mark_error("expired".into(), Utc::now()).unwrap();
        let old = c.reconnect(CredentialRef("c1/v2".into())).unwrap();
        assert_eq!(old, CredentialRef("c1/v1".into()));
        assert_eq!(c.credential_ref, CredentialRef("c1/v2".into()));
        assert_eq!(c.status, ConnectionStatus::Untested);
    }

    #[test]
    fn mark_error_reports_entry_only_once_and_keeps_since() {
        let mut c = conn();
        let t0 = Utc::now();
        assert!(c.mark_error("first".into(), t0).unwrap());
        let later = t0 + chrono::Duration::minutes(5);
        assert!(!c.mark_error("second".into(), later).unwrap());
        assert_eq!(
            c.status,
            ConnectionStatus::ConnectionError {
                reason: "second".into(),
                since: t0
            }
        );
    }

    #[test]
    fn url_ports_are_found_after_the_host() {
        assert_eq!(url_port("https://h.example.com:0/x"), Some("0"));
        assert_eq!(url_port("https://user:pw@h.example.com:8443"), Some("8443"));
        assert_eq!(url_port("https://[2001:db8::1]/api"), None);
        assert_eq!(url_port("https://[2001:db8::1]:0"), Some("0"));
        assert_eq!(url_port("https://h.example.com/a:0"), None);
        assert_eq!(url_port("not a url:0"), None);
    }

    #[test]
    fn names_at_the_limit_pass_and_one_more_is_refused() {
        let mut c = conn();
        c.rename(&"é".repeat(MAX_NAME_CHARS)).unwrap();
        assert_eq!(
            c.rename(&"é".repeat(MAX_NAME_CHARS + 1)).unwrap_err(),
            TransitionError::Input(InputError::NameTooLong {
                len: MAX_NAME_CHARS + 1,
                max: MAX_NAME_CHARS
            })
        );
        assert_eq!(
            c.name,
            "é".repeat(MAX_NAME_CHARS),
            "a refused rename keeps the name"
        );
    }

    #[test]
    fn settings_limits_apply_to_one_setting_and_to_all() {
        let mut c = conn();
        for i in 0..MAX_SETTINGS {
            c.set_setting(&format!("k{i}"), "v").unwrap();
        }
        assert_eq!(
            c.set_setting("one_more", "v").unwrap_err(),
            InputError::TooManySettings {
                count: MAX_SETTINGS + 1,
                max: MAX_SETTINGS
            }
        );
        c.set_setting("k0", "replaced")
            .expect("replacing is not adding");
        let mut c = conn();
        assert!(c.set_setting("port", "443").is_ok());
        assert!(c.set_setting("port", "0").is_err());
        assert!(c.set_setting("", "v").is_err());
    }

    #[test]
    fn status_predicates_name_each_status() {
        let mut c = conn();
        assert!(c.is_untested() && !c.is_connected() && !c.is_error() && !c.is_disabled());
        assert_eq!(c.error_reason(), None);
        c.record_test(Ok(()), Utc::now()).unwrap();
        assert!(c.is_connected() && !c.is_untested());
        let t0 = Utc::now();
        c.mark_error("bad keys".into(), t0).unwrap();
        assert!(c.is_error() && !c.is_connected() && c.is_enabled());
        assert_eq!(c.error_reason(), Some("bad keys"));
        assert_eq!(c.error_since(), Some(t0));
        c.disable().unwrap();
        assert!(c.is_disabled() && !c.is_enabled() && !c.is_error());
        assert_eq!(c.error_reason(), None);
        assert_eq!(c.error_since(), None);
    }

    #[test]
    fn mark_synced_sets_last_sync_and_recovers() {
        let mut c = conn();
        c.mark_error("flaky".into(), Utc::now()).unwrap();
        let now = Utc::now();
        c.mark_synced(now).unwrap();
        assert_eq!(c.status, ConnectionStatus::Connected);
        assert_eq!(c.last_sync, Some(now));
    }
}
