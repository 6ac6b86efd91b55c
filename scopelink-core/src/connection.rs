//! A connection to a provider, its status and the transitions between
//! statuses. Illegal transitions are typed errors, never silent no-ops.

use crate::error::TransitionError;
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
        };
        c.rename(name)?;
        c.set_categories(categories)?;
        Ok(c)
    }

    /// Whether syncing and pushing are allowed (not disabled).
    pub fn is_enabled(&self) -> bool {
        self.status != ConnectionStatus::Disabled
    }

    /// Renames the connection.
    pub fn rename(&mut self, name: &str) -> Result<(), TransitionError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(TransitionError::EmptyName);
        }
        self.name = name.to_string();
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
        if self.status == ConnectionStatus::Disabled {
            return Err(illegal("test", &self.status));
        }
        Ok(())
    }

    /// Pauses the connection.
    pub fn disable(&mut self) -> Result<(), TransitionError> {
        if self.status == ConnectionStatus::Disabled {
            return Err(illegal("disable", &self.status));
        }
        self.status = ConnectionStatus::Disabled;
        Ok(())
    }

    /// Re-enables a disabled connection; it is untested until the next test.
    pub fn enable(&mut self) -> Result<(), TransitionError> {
        if self.status != ConnectionStatus::Disabled {
            return Err(illegal("enable", &self.status));
        }
        self.status = ConnectionStatus::Untested;
        Ok(())
    }

    /// Points the connection at new credentials and returns the old
    /// reference, whose vault entry the caller must delete. Not allowed while
    /// disabled (enable first).
    pub fn reconnect(&mut self, new_ref: CredentialRef) -> Result<CredentialRef, TransitionError> {
        if self.status == ConnectionStatus::Disabled {
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
        if self.status == ConnectionStatus::Disabled {
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
    fn mark_synced_sets_last_sync_and_recovers() {
        let mut c = conn();
        c.mark_error("flaky".into(), Utc::now()).unwrap();
        let now = Utc::now();
        c.mark_synced(now).unwrap();
        assert_eq!(c.status, ConnectionStatus::Connected);
        assert_eq!(c.last_sync, Some(now));
    }
}
