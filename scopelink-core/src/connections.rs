//! The connection service: every lifecycle operation, with its permission
//! check, vault housekeeping, activity entry and status event.

use crate::access::{Access, Permission};
use crate::activity::{read_activity, ActivityEntry, ActivityKind};
use crate::connection::{Connection, ConnectionId, ConnectionStatus};
use crate::connector::{Connector, PsaProjects};
use crate::error::{Error, StoreError, TransitionError};
use crate::mapping::PushOptions;
use crate::model::ScopingProject;
use crate::provider::{FeatureCategory, Provider};
use crate::push::{PushProgress, PushReport};
use crate::secret::{load_credentials, CredentialRef, Credentials, Vault};
use crate::store::{Store, UnreadableRow};
use chrono::Utc;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tokio::sync::broadcast;

/// A status change a host may act on (the seeds send an e-mail when a
/// connection enters Connection Error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// The connection entered Connection Error.
    EnteredError {
        /// The connection.
        connection_id: ConnectionId,
        /// Its name.
        name: String,
        /// Its provider.
        provider: Provider,
        /// Why, as shown to users.
        reason: String,
    },
    /// Any other status change.
    StatusChanged {
        /// The connection.
        connection_id: ConnectionId,
        /// Old status label.
        from: String,
        /// New status label.
        to: String,
    },
}

/// What a user enters to create a connection. Build it with
/// [`NewConnection::new`] and the builder methods (the struct is
/// `#[non_exhaustive]`, so adding a field is not a breaking change).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewConnection {
    /// The provider.
    pub provider: Provider,
    /// Name.
    pub name: String,
    /// Categories to enable.
    pub categories: BTreeSet<FeatureCategory>,
    /// Credentials (go to the vault, never to the store).
    pub credentials: Credentials,
    /// Non-secret settings (server URL, ...).
    pub settings: BTreeMap<String, String>,
}

impl NewConnection {
    /// A form for a connection to `provider` named `name`, with its
    /// credentials, no category enabled yet and no settings.
    ///
    /// ```
    /// use scopelink_core::secret::{ApiKeyPair, Credentials};
    /// use scopelink_core::{FeatureCategory, NewConnection, Provider};
    ///
    /// let keys = Credentials::ApiKeyPair(ApiKeyPair::new("acme", "public", "private"));
    /// let new = NewConnection::new(Provider::ConnectWiseManage, "Acme", keys)
    ///     .category(FeatureCategory::Crm)
    ///     .setting("server_url", "na.myconnectwise.net");
    /// assert!(new.categories.contains(&FeatureCategory::Crm));
    /// assert_eq!(new.settings["server_url"], "na.myconnectwise.net");
    /// ```
    pub fn new(provider: Provider, name: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            provider,
            name: name.into(),
            categories: BTreeSet::new(),
            credentials,
            settings: BTreeMap::new(),
        }
    }

    /// With `category` enabled too.
    pub fn category(mut self, category: FeatureCategory) -> Self {
        self.categories.insert(category);
        self
    }

    /// With each of `categories` enabled too.
    pub fn categories(mut self, categories: impl IntoIterator<Item = FeatureCategory>) -> Self {
        self.categories.extend(categories);
        self
    }

    /// With setting `key` set to `value`.
    pub fn setting(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(key.into(), value.into());
        self
    }

    /// With each of `settings` set (a provider settings type's `to_map()`,
    /// for instance).
    pub fn settings(mut self, settings: impl IntoIterator<Item = (String, String)>) -> Self {
        self.settings.extend(settings);
        self
    }
}

/// The connection service. Cheap to clone.
#[derive(Clone)]
pub struct Connections {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) vault: Arc<dyn Vault>,
    events: broadcast::Sender<ConnectionEvent>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").finish_non_exhaustive()
    }
}

/// How many times an update is tried when other updates keep winning the
/// compare-and-set race.
const MAX_UPDATE_ATTEMPTS: u32 = 64;

pub(crate) fn vault_key(id: &ConnectionId) -> CredentialRef {
    // A fresh key per credential set: reconnect writes the new set before it
    // deletes the old one, so a failure in between loses nothing.
    CredentialRef(format!("scopelink/{id}/{:016x}", fastrand::u64(..)))
}

impl Connections {
    /// A service over the host's store and vault.
    pub fn new(store: Arc<dyn Store>, vault: Arc<dyn Vault>) -> Self {
        let (events, _) = broadcast::channel(256);
        Self {
            store,
            vault,
            events,
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Subscribes to status events.
    pub fn subscribe(&self) -> broadcast::Receiver<ConnectionEvent> {
        self.events.subscribe()
    }

    pub(crate) async fn load(&self, id: &ConnectionId) -> Result<Connection, Error> {
        self.store
            .connection(id)
            .await?
            .ok_or_else(|| StoreError::ConnectionNotFound(id.clone()).into())
    }

    pub(crate) async fn log(&self, id: &ConnectionId, kind: ActivityKind) -> Result<(), Error> {
        Ok(self.store.append(ActivityEntry::now(id, kind)).await?)
    }

    /// Applies `change` to the stored connection and saves it with
    /// compare-and-set: when another update saved in between, `change` is
    /// applied again to the newer copy (so a test racing a disable sees the
    /// disable and is refused, never overwrites it). Returns the copy as
    /// read, as saved, and what `change` returned.
    pub(crate) async fn update<T>(
        &self,
        id: &ConnectionId,
        mut change: impl FnMut(&mut Connection) -> Result<T, Error>,
    ) -> Result<(Connection, Connection, T), Error> {
        let mut attempt = 1;
        loop {
            let before = self.load(id).await?;
            let mut after = before.clone();
            let out = change(&mut after)?;
            match self.store.save_connection(&after).await {
                Ok(version) => {
                    after.version = version;
                    return Ok((before, after, out));
                }
                Err(StoreError::VersionConflict { .. }) if attempt < MAX_UPDATE_ATTEMPTS => {
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// [`Connections::update`] for a status transition, then records the
    /// change (activity + event) if the status changed. `change` returns
    /// whether the connection entered Connection Error.
    async fn transition(
        &self,
        id: &ConnectionId,
        change: impl FnMut(&mut Connection) -> Result<bool, Error>,
    ) -> Result<Connection, Error> {
        let (before, after, entered) = self.update(id, change).await?;
        self.status_changed(&before.status, &after, entered).await?;
        Ok(after)
    }

    /// Records a status change (activity + event) if the status of the
    /// saved `after` differs from `before`.
    pub(crate) async fn status_changed(
        &self,
        before: &ConnectionStatus,
        after: &Connection,
        entered_error: bool,
    ) -> Result<(), Error> {
        if before == &after.status {
            return Ok(());
        }
        let reason = match &after.status {
            ConnectionStatus::ConnectionError { reason, .. } => Some(reason.clone()),
            _ => None,
        };
        self.log(
            &after.id,
            ActivityKind::StatusChanged {
                from: before.label().into(),
                to: after.status.label().into(),
                reason: reason.clone(),
            },
        )
        .await?;
        let event = match reason {
            Some(reason) if entered_error => {
                tracing::warn!(connection = %after.id, provider = %after.provider, %reason, "connection entered Connection Error");
                ConnectionEvent::EnteredError {
                    connection_id: after.id.clone(),
                    name: after.name.clone(),
                    provider: after.provider.clone(),
                    reason,
                }
            }
            _ => ConnectionEvent::StatusChanged {
                connection_id: after.id.clone(),
                from: before.label().into(),
                to: after.status.label().into(),
            },
        };
        // No subscriber is fine.
        let _ = self.events.send(event);
        Ok(())
    }

    /// Creates an untested connection; its credentials go to the vault.
    pub async fn create(&self, access: &Access, new: NewConnection) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        access.require_entitled(&new.categories)?;
        let id = ConnectionId::generate();
        let reference = vault_key(&id);
        let mut connection = Connection::new(
            id,
            new.provider,
            &new.name,
            new.categories,
            reference.clone(),
            Utc::now(),
        )?;
        connection
            .set_settings(new.settings)
            .map_err(TransitionError::from)?;
        self.vault.put(&reference.0, new.credentials.seal()).await?;
        match self.store.save_connection(&connection).await {
            Ok(version) => connection.version = version,
            Err(e) => {
                let _ = self.vault.delete(&reference.0).await;
                return Err(e.into());
            }
        }
        self.log(&connection.id, ActivityKind::Created).await?;
        Ok(connection)
    }

    /// Every connection (needs View).
    pub async fn list(&self, access: &Access) -> Result<Vec<Connection>, Error> {
        access.require(Permission::View)?;
        Ok(self.store.connections().await?)
    }

    /// The stored connections the store cannot read (needs View): they are
    /// left out of [`Connections::list`] and reported here, by id.
    pub async fn unreadable(&self, access: &Access) -> Result<Vec<UnreadableRow>, Error> {
        access.require(Permission::View)?;
        Ok(self.store.unreadable_connections().await?)
    }

    /// One connection (needs View).
    pub async fn get(&self, access: &Access, id: &ConnectionId) -> Result<Connection, Error> {
        access.require(Permission::View)?;
        self.load(id).await
    }

    /// The connection's credentials, to build a connector from (needs
    /// Manage: they are secrets). Nothing here is logged. A host that links
    /// its providers in a [`crate::registry::Registry`] does not need this:
    /// [`crate::registry::Registry::connect`] reads them itself.
    pub async fn credentials(
        &self,
        access: &Access,
        id: &ConnectionId,
    ) -> Result<Credentials, Error> {
        access.require(Permission::Manage)?;
        self.stored_credentials(id).await
    }

    /// The connection's credentials, with no permission check (the
    /// service's own use: scrubbing reasons, OAuth renewals, the registry).
    pub(crate) async fn stored_credentials(&self, id: &ConnectionId) -> Result<Credentials, Error> {
        let c = self.load(id).await?;
        Ok(load_credentials(self.vault.as_ref(), &c.credential_ref).await?)
    }

    /// Renames and/or changes the enabled categories (needs Manage and the
    /// entitlement to each category).
    pub async fn edit(
        &self,
        access: &Access,
        id: &ConnectionId,
        name: Option<&str>,
        categories: Option<BTreeSet<FeatureCategory>>,
    ) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        if let Some(categories) = &categories {
            access.require_entitled(categories)?;
        }
        let (_, c, ()) = self
            .update(id, |c| {
                if let Some(name) = name {
                    c.rename(name)?;
                }
                if let Some(categories) = &categories {
                    c.set_categories(categories.clone())?;
                }
                Ok(())
            })
            .await?;
        self.log(id, ActivityKind::Edited).await?;
        Ok(c)
    }

    /// Stores a non-secret setting (needs Manage). The setting is checked as
    /// [`Connection::set_setting`] does. A [`crate::registry::Registry`]
    /// stores what its providers discover (a detected API base, ...) itself.
    pub async fn set_setting(
        &self,
        access: &Access,
        id: &ConnectionId,
        key: &str,
        value: &str,
    ) -> Result<(), Error> {
        access.require(Permission::Manage)?;
        self.store_setting(id, key, value).await
    }

    /// [`Connections::set_setting`] with no permission check.
    pub(crate) async fn store_setting(
        &self,
        id: &ConnectionId,
        key: &str,
        value: &str,
    ) -> Result<(), Error> {
        self.update(id, |c| {
            c.set_setting(key, value).map_err(TransitionError::from)?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Tests the connection with `connector` (built from its credentials):
    /// Connected, or Connection Error with the connector's reason.
    pub async fn test(
        &self,
        access: &Access,
        id: &ConnectionId,
        connector: &dyn Connector,
    ) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        // Refuse before calling the provider: a paused connection's
        // credentials are not used.
        self.load(id).await?.check_testable()?;
        let result = match connector.test_connection().await {
            Ok(()) => Ok(()),
            Err(e) => Err(self.scrubbed_reason(id, &e.to_string()).await),
        };
        // Applied to the connection as stored after the test: when it was
        // disabled meanwhile, the result is refused and the disable stays.
        self.transition(id, |c| {
            let entered =
                result.is_err() && !matches!(c.status, ConnectionStatus::ConnectionError { .. });
            c.record_test(result.clone(), Utc::now())?;
            Ok(entered)
        })
        .await
    }

    /// Disables the connection: nothing syncs until it is enabled.
    pub async fn disable(&self, access: &Access, id: &ConnectionId) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        self.transition(id, |c| {
            c.disable()?;
            Ok(false)
        })
        .await
    }

    /// Enables a disabled connection and tests it.
    pub async fn enable(
        &self,
        access: &Access,
        id: &ConnectionId,
        connector: &dyn Connector,
    ) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        self.transition(id, |c| {
            c.enable()?;
            Ok(false)
        })
        .await?;
        self.test(access, id, connector).await
    }

    /// Replaces the credentials: the new ones are stored and read back, the
    /// connection pointed at them, then the old vault entry deleted, and the
    /// connection tested with `connector` (built from the new credentials).
    /// The old entry is deleted only once the new one is written and
    /// readable and the connection saved; a failure before that removes the
    /// new entry and leaves the connection as it was.
    ///
    /// A connector that reads its credentials from the vault (an OAuth
    /// session) must be built after the new ones are stored: use
    /// [`Connections::replace_credentials`], then [`Connections::test`], as
    /// [`Registry::reconnect`](crate::registry::Registry::reconnect) does.
    pub async fn reconnect(
        &self,
        access: &Access,
        id: &ConnectionId,
        credentials: Credentials,
        connector: &dyn Connector,
    ) -> Result<Connection, Error> {
        self.replace_credentials(access, id, credentials).await?;
        self.test(access, id, connector).await
    }

    /// The first half of [`Connections::reconnect`]: stores the new
    /// credentials, points the connection at them (it becomes Untested)
    /// and deletes the old vault entry, with the same guarantees, without
    /// testing. Refused for a disabled connection.
    pub async fn replace_credentials(
        &self,
        access: &Access,
        id: &ConnectionId,
        credentials: Credentials,
    ) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        // Refuse (a disabled connection) before touching the vault.
        self.load(id)
            .await?
            .reconnect(CredentialRef(String::new()))?;
        let reference = vault_key(id);
        self.vault.put(&reference.0, credentials.seal()).await?;
        let saved = match load_credentials(self.vault.as_ref(), &reference).await {
            Ok(_) => {
                self.update(id, |c| Ok(c.reconnect(reference.clone())?))
                    .await
            }
            Err(e) => Err(e.into()),
        };
        let (before, c, old) = match saved {
            Ok(saved) => saved,
            Err(e) => {
                let _ = self.vault.delete(&reference.0).await;
                return Err(e);
            }
        };
        self.vault.delete(&old.0).await?;
        self.log(id, ActivityKind::Reconnected).await?;
        self.status_changed(&before.status, &c, false).await?;
        Ok(c)
    }

    /// Deletes the connection, its sync state and its vault entry. Synced
    /// records stay unless `purge_records`. The connection row goes first,
    /// so a sync running meanwhile stops at its next page and leaves
    /// nothing behind.
    pub async fn delete(
        &self,
        access: &Access,
        id: &ConnectionId,
        purge_records: bool,
    ) -> Result<(), Error> {
        access.require(Permission::Manage)?;
        // A connection whose stored row cannot be read (see
        // [`Connections::unreadable`]) can still be deleted; its vault entry
        // cannot be found then, and is left.
        let credential_ref = match self.load(id).await {
            Ok(c) => Some(c.credential_ref),
            Err(e) => {
                let unreadable = self.store.unreadable_connections().await?;
                if !unreadable.iter().any(|row| row.id == id.0) {
                    return Err(e);
                }
                tracing::warn!(connection = %id, "deleting an unreadable connection; its vault entry is left");
                None
            }
        };
        // The connection goes first: from then on a running sync's commits
        // are refused, so nothing lands after the records are purged.
        self.store.delete_connection(id).await?;
        self.store.clear_sync_state(id).await?;
        if purge_records {
            self.store.purge_records(id).await?;
        }
        if let Some(reference) = credential_ref {
            self.vault.delete(&reference.0).await?;
        }
        self.log(id, ActivityKind::Deleted).await?;
        Ok(())
    }

    /// Moves the connection to Connection Error (needs Manage), for a host
    /// whose own use of the connection found the credentials rejected; the
    /// sync engine and the push do this themselves. Emits
    /// [`ConnectionEvent::EnteredError`] when it enters that status.
    ///
    /// Every secret of the connection's stored credentials (and each form a
    /// client sends them in) is removed from `reason` first, whatever
    /// produced it, since the reason is stored, logged and shown.
    pub async fn mark_error(
        &self,
        access: &Access,
        id: &ConnectionId,
        reason: &str,
    ) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        self.record_error(id, reason).await
    }

    /// [`Connections::mark_error`] with no permission check (the sync
    /// engine, the push, OAuth renewals).
    pub(crate) async fn record_error(
        &self,
        id: &ConnectionId,
        reason: &str,
    ) -> Result<Connection, Error> {
        let reason = self.scrubbed_reason(id, reason).await;
        self.transition(id, |c| Ok(c.mark_error(reason.clone(), Utc::now())?))
            .await
    }

    /// `reason` with every credential of connection `id` replaced (see
    /// [`crate::scrub::Scrubber::for_credentials`]). The HTTP layer already
    /// scrubs what one request carried; this covers reasons assembled
    /// elsewhere. When the credentials cannot be read, `reason` is kept as
    /// it is (it was scrubbed where it came from).
    async fn scrubbed_reason(&self, id: &ConnectionId, reason: &str) -> String {
        match self.stored_credentials(id).await {
            Ok(credentials) => crate::scrub::Scrubber::for_credentials(&credentials).scrub(reason),
            Err(_) => reason.to_string(),
        }
    }

    /// Pushes `project` to the PSA of `connection`, as
    /// [`crate::push::push_project`] does (same refusals, links and
    /// resume), and like a sync, moves the connection to Connection Error
    /// with the reason when the PSA rejects its credentials, so
    /// [`ConnectionEvent`] subscribers hear of it. Needs Manage.
    pub async fn push_project(
        &self,
        access: &Access,
        connection: &ConnectionId,
        psa: &dyn PsaProjects,
        project: &ScopingProject,
        options: &PushOptions,
        progress: Option<&(dyn Fn(&PushProgress) + Send + Sync)>,
    ) -> Result<PushReport, Error> {
        access.require(Permission::Manage)?;
        let result = crate::push::push_project(
            access,
            self.store.as_ref(),
            connection,
            psa,
            project,
            options,
            progress,
        )
        .await;
        if let Err(Error::Connector(e)) = &result {
            if e.is_auth_failure() {
                if let Err(marking) = self.record_error(connection, &e.to_string()).await {
                    tracing::warn!(error = %marking, "could not mark the connection as failed");
                }
            }
        }
        result
    }

    /// Records a completed sync (needs Manage), for a host that syncs by
    /// other means than the [`crate::SyncEngine`], which does this itself.
    pub async fn mark_synced(
        &self,
        access: &Access,
        id: &ConnectionId,
    ) -> Result<Connection, Error> {
        access.require(Permission::Manage)?;
        self.record_synced(id).await
    }

    /// [`Connections::mark_synced`] with no permission check.
    pub(crate) async fn record_synced(&self, id: &ConnectionId) -> Result<Connection, Error> {
        self.transition(id, |c| {
            c.mark_synced(Utc::now())?;
            Ok(false)
        })
        .await
    }

    /// The activity log (site admins only), newest first.
    pub async fn activity(
        &self,
        access: &Access,
        id: Option<&ConnectionId>,
        limit: usize,
    ) -> Result<Vec<ActivityEntry>, Error> {
        read_activity(access, self.store.as_ref(), id, limit).await
    }
}
