//! The storage traits a host implements, and an in-memory implementation.
//!
//! A sync commits each page of records together with its checkpoint through
//! [`SyncStateStore::commit_page`], so a store that makes that call atomic
//! (one transaction) loses and duplicates nothing when a run dies halfway.
//!
//! Three rules every store follows, each checked in the same atomic step
//! as the write it guards (the conformance suite in scopelink-testkit
//! checks them):
//! - Connections are saved with compare-and-set on [`Connection::version`]
//!   ([`ConnectionStore::save_connection`]), so a stale copy never
//!   overwrites a newer one.
//! - A run holds its data type's running mark as a lease
//!   ([`crate::sync::RunLease`]): begun only when no live lease is held,
//!   renewed by every page it commits, and every commit and end of run is
//!   refused without writing once another run or a reset took it.
//! - Nothing is synced into a connection that is disabled or deleted
//!   ([`check_writable`]).

use crate::activity::{ActivityEntry, ActivityLog};
use crate::connection::{Connection, ConnectionId};
use crate::error::StoreError;
use crate::mapping::{ItemRef, ProjectLinks};
use crate::model::{DataType, Record};
use crate::sync::{Checkpoint, RunEnd, RunLease, SyncState};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpsertOutcome {
    /// The record was new.
    Created,
    /// The record existed and changed.
    Updated,
    /// The record existed and was identical.
    Unchanged,
}

/// A stored row that cannot be read, reported instead of failing the
/// listing it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableRow {
    /// The row's key (a connection id).
    pub id: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Succeeds when a run may write into `connection` (as stored now): it
/// exists and is not disabled. Stores call it inside the atomic step of
/// [`SyncStateStore::begin_run`] and [`SyncStateStore::commit_page`].
pub fn check_writable(
    id: &ConnectionId,
    connection: Option<&Connection>,
) -> Result<(), StoreError> {
    match connection {
        None => Err(StoreError::ConnectionNotFound(id.clone())),
        Some(c) if !c.is_enabled() => Err(StoreError::ConnectionDisabled(id.clone())),
        Some(_) => Ok(()),
    }
}

/// The compare-and-set rule of [`ConnectionStore::save_connection`]:
/// `stored` is the version stored now (0 when there is none). Returns the
/// version to store.
pub fn next_version(connection: &Connection, stored: u64) -> Result<u64, StoreError> {
    if connection.version != stored {
        return Err(StoreError::VersionConflict {
            connection: connection.id.clone(),
            expected: connection.version,
            found: stored,
        });
    }
    Ok(stored + 1)
}

/// Connections.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Saves a connection with compare-and-set: `connection.version` must
    /// be the version stored now (0 for a connection not stored yet), else
    /// [`StoreError::VersionConflict`] and nothing is written. Stores it
    /// with the next version, which it returns (see [`next_version`]).
    async fn save_connection(&self, connection: &Connection) -> Result<u64, StoreError>;
    /// One connection.
    async fn connection(&self, id: &ConnectionId) -> Result<Option<Connection>, StoreError>;
    /// Every readable connection, oldest first. Rows that cannot be read
    /// are left out (see [`ConnectionStore::unreadable_connections`]), so
    /// one damaged row hides no other connection.
    async fn connections(&self) -> Result<Vec<Connection>, StoreError>;
    /// The stored connections that cannot be read, for the host to report
    /// or repair. Stores that cannot hold damaged rows keep the default
    /// (none).
    async fn unreadable_connections(&self) -> Result<Vec<UnreadableRow>, StoreError> {
        Ok(Vec::new())
    }
    /// Removes a connection (not its records or sync state).
    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), StoreError>;
}

/// Synced records, keyed by connection, data type and provider id. (The
/// connection stands for the provider account, so two tenants of the same
/// provider never collide.)
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// One record.
    async fn record(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_id: &str,
    ) -> Result<Option<Record>, StoreError>;
    /// Whether a record exists.
    async fn contains_record(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_id: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .record(connection, data_type, external_id)
            .await?
            .is_some())
    }
    /// Which of `external_ids` exist, one answer per id in order (the sync
    /// engine asks once per page whether the page's companies are synced).
    /// The default asks [`RecordStore::contains_record`] for each; stores
    /// override it to answer in one round trip.
    async fn contains_records(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_ids: &[String],
    ) -> Result<Vec<bool>, StoreError> {
        let mut found = Vec::with_capacity(external_ids.len());
        for id in external_ids {
            found.push(self.contains_record(connection, data_type, id).await?);
        }
        Ok(found)
    }
    /// How many records of a type a connection has.
    async fn count_records(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
    ) -> Result<u64, StoreError>;
    /// Inserts or updates one record (webhooks).
    async fn upsert_record(
        &self,
        connection: &ConnectionId,
        record: Record,
    ) -> Result<UpsertOutcome, StoreError>;
    /// Deletes one record; returns whether it existed.
    async fn delete_record(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_id: &str,
    ) -> Result<bool, StoreError>;
    /// Deletes every record of a connection.
    async fn purge_records(&self, connection: &ConnectionId) -> Result<(), StoreError>;
}

/// Sync runs, checkpoints and cursors.
#[async_trait]
pub trait SyncStateStore: Send + Sync {
    /// The state of one data type's sync (idle with no cursor if never run).
    async fn sync_state(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
    ) -> Result<SyncState, StoreError>;
    /// Atomically gives the data type's running mark to `lease`
    /// ([`SyncState::begin`]): fails with [`StoreError::AlreadyRunning`]
    /// while another run's lease is live, and ([`check_writable`]) when the
    /// connection is deleted or disabled. Returns the state as it was before
    /// (with any checkpoint to resume).
    async fn begin_run(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        lease: &RunLease,
    ) -> Result<SyncState, StoreError>;
    /// Upserts a page of records, stores `checkpoint` and renews the lease
    /// in one atomic step, after checking that `lease` still holds the mark
    /// ([`SyncState::check_lease`]) and the connection may be written
    /// ([`check_writable`]); a refused commit writes nothing. Returns one
    /// outcome per record, in order.
    async fn commit_page(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        records: Vec<Record>,
        checkpoint: &Checkpoint,
        lease: &RunLease,
    ) -> Result<Vec<UpsertOutcome>, StoreError>;
    /// Ends the run holding `lease`: on completion the cursor advances and
    /// the checkpoint is cleared; on failure the checkpoint stays so the
    /// next run resumes. Refused without writing
    /// ([`StoreError::LeaseLost`]) when the run no longer holds the mark.
    async fn finish_run(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        lease: &RunLease,
        end: RunEnd,
    ) -> Result<(), StoreError>;
    /// Clears a stuck "running" mark, keeping the checkpoint. A live run
    /// loses its mark and stops at its next page without writing. A stored
    /// state that cannot be read is replaced by an empty one (the next run
    /// is a full sync).
    async fn force_reset(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
    ) -> Result<SyncState, StoreError>;
    /// Forgets every sync state of a connection.
    async fn clear_sync_state(&self, connection: &ConnectionId) -> Result<(), StoreError>;
}

/// Links between scoping items and the PSA objects created for them.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// The links of one scoping project.
    async fn links(
        &self,
        connection: &ConnectionId,
        scoping_project_id: &str,
    ) -> Result<ProjectLinks, StoreError>;
    /// Stores one link.
    async fn put_link(
        &self,
        connection: &ConnectionId,
        scoping_project_id: &str,
        item: &ItemRef,
        psa_id: &str,
    ) -> Result<(), StoreError>;
}

/// Authorizations started and not yet completed (OAuth authorization code
/// with PKCE), kept in the host's store so the browser's callback may land
/// on another process than the one that started it.
///
/// The state is the key. [`PendingAuthorizationStore::take_pending`] reads
/// and removes in one step, so a state is used at most once even when two
/// callbacks race.
#[async_trait]
pub trait PendingAuthorizationStore: Send + Sync {
    /// Stores a pending authorization (replacing one with the same state).
    async fn put_pending(
        &self,
        pending: &crate::oauth::PendingAuthorization,
    ) -> Result<(), StoreError>;
    /// Removes and returns the pending authorization of `state`, if any.
    async fn take_pending(
        &self,
        state: &str,
    ) -> Result<Option<crate::oauth::PendingAuthorization>, StoreError>;
    /// Removes every pending authorization that expired before `now`;
    /// returns how many.
    async fn purge_expired_pending(&self, now: DateTime<Utc>) -> Result<usize, StoreError>;
}

/// Everything scopelink stores, in one object.
pub trait Store: ConnectionStore + RecordStore + SyncStateStore + LinkStore + ActivityLog {}

impl<T: ConnectionStore + RecordStore + SyncStateStore + LinkStore + ActivityLog> Store for T {}

/// Applies one record to a map of records, the way every store must.
///
/// The map's values may be the records themselves or boxes of them (a
/// large map of boxed records grows without moving the records).
pub fn upsert_into<K, V>(map: &mut HashMap<K, V>, key: K, record: Record) -> UpsertOutcome
where
    K: std::hash::Hash + Eq,
    V: std::borrow::Borrow<Record> + From<Record>,
{
    use std::collections::hash_map::Entry;
    // One hash lookup per record, whatever the outcome.
    match map.entry(key) {
        Entry::Vacant(slot) => {
            slot.insert(V::from(record));
            UpsertOutcome::Created
        }
        Entry::Occupied(slot) if *slot.get().borrow() == record => UpsertOutcome::Unchanged,
        Entry::Occupied(mut slot) => {
            slot.insert(V::from(record));
            UpsertOutcome::Updated
        }
    }
}

/// Records of one connection and data type, by provider id. Boxed: when
/// the map grows it moves a pointer per record, not the record (hundreds
/// of bytes), which was most of a large sync's time in this store.
type RecordMap = HashMap<String, Box<Record>>;

#[derive(Default)]
struct Inner {
    connections: BTreeMap<ConnectionId, Connection>,
    /// Keyed by connection and type first, so a lookup by provider id
    /// borrows the id instead of building an owned key.
    records: HashMap<ConnectionId, HashMap<DataType, RecordMap>>,
    sync: HashMap<(ConnectionId, DataType), SyncState>,
    links: HashMap<(ConnectionId, String), ProjectLinks>,
    activity: Vec<ActivityEntry>,
    pending: HashMap<String, crate::oauth::PendingAuthorization>,
}

/// A store in process memory, for tests, examples and benchmarks.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }

    /// Every record of a connection and type, sorted by provider id (tests).
    pub fn records(&self, connection: &ConnectionId, data_type: DataType) -> Vec<Record> {
        let Ok(inner) = self.lock() else {
            return vec![];
        };
        let mut out: Vec<Record> = inner
            .records_of(connection, data_type)
            .map(|m| m.values().map(|r| Record::clone(r)).collect())
            .unwrap_or_default();
        out.sort_by(|a, b| a.external_id().cmp(b.external_id()));
        out
    }
}

impl Inner {
    fn records_of(&self, connection: &ConnectionId, data_type: DataType) -> Option<&RecordMap> {
        self.records.get(connection)?.get(&data_type)
    }

    fn records_of_mut(&mut self, connection: &ConnectionId, data_type: DataType) -> &mut RecordMap {
        self.records
            .entry(connection.clone())
            .or_default()
            .entry(data_type)
            .or_default()
    }
}

#[async_trait]
impl ConnectionStore for MemoryStore {
    async fn save_connection(&self, connection: &Connection) -> Result<u64, StoreError> {
        let mut inner = self.lock()?;
        let stored = inner
            .connections
            .get(&connection.id)
            .map_or(0, |c| c.version);
        let version = next_version(connection, stored)?;
        let mut saved = connection.clone();
        saved.version = version;
        inner.connections.insert(connection.id.clone(), saved);
        Ok(version)
    }

    async fn connection(&self, id: &ConnectionId) -> Result<Option<Connection>, StoreError> {
        Ok(self.lock()?.connections.get(id).cloned())
    }

    async fn connections(&self) -> Result<Vec<Connection>, StoreError> {
        let mut all: Vec<Connection> = self.lock()?.connections.values().cloned().collect();
        all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), StoreError> {
        self.lock()?.connections.remove(id);
        Ok(())
    }
}

#[async_trait]
impl RecordStore for MemoryStore {
    async fn record(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_id: &str,
    ) -> Result<Option<Record>, StoreError> {
        Ok(self
            .lock()?
            .records_of(connection, data_type)
            .and_then(|m| m.get(external_id))
            .map(|r| Record::clone(r)))
    }

    async fn contains_record(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_id: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .lock()?
            .records_of(connection, data_type)
            .is_some_and(|m| m.contains_key(external_id)))
    }

    async fn contains_records(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_ids: &[String],
    ) -> Result<Vec<bool>, StoreError> {
        let inner = self.lock()?;
        let map = inner.records_of(connection, data_type);
        Ok(external_ids
            .iter()
            .map(|id| map.is_some_and(|m| m.contains_key(id)))
            .collect())
    }

    async fn count_records(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
    ) -> Result<u64, StoreError> {
        Ok(self
            .lock()?
            .records_of(connection, data_type)
            .map_or(0, |m| m.len() as u64))
    }

    async fn upsert_record(
        &self,
        connection: &ConnectionId,
        record: Record,
    ) -> Result<UpsertOutcome, StoreError> {
        let mut inner = self.lock()?;
        let map = inner.records_of_mut(connection, record.data_type());
        Ok(upsert_into(map, record.external_id().to_string(), record))
    }

    async fn delete_record(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_id: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .lock()?
            .records
            .get_mut(connection)
            .and_then(|types| types.get_mut(&data_type))
            .is_some_and(|m| m.remove(external_id).is_some()))
    }

    async fn purge_records(&self, connection: &ConnectionId) -> Result<(), StoreError> {
        self.lock()?.records.remove(connection);
        Ok(())
    }
}

#[async_trait]
impl SyncStateStore for MemoryStore {
    async fn sync_state(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
    ) -> Result<SyncState, StoreError> {
        Ok(self
            .lock()?
            .sync
            .get(&(connection.clone(), data_type))
            .cloned()
            .unwrap_or_default())
    }

    async fn begin_run(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        lease: &RunLease,
    ) -> Result<SyncState, StoreError> {
        let mut inner = self.lock()?;
        check_writable(connection, inner.connections.get(connection))?;
        inner
            .sync
            .entry((connection.clone(), data_type))
            .or_default()
            .begin(connection, data_type, lease)
    }

    async fn commit_page(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        records: Vec<Record>,
        checkpoint: &Checkpoint,
        lease: &RunLease,
    ) -> Result<Vec<UpsertOutcome>, StoreError> {
        // One lock held for the whole page: the checks, the page and its
        // checkpoint happen together.
        let mut guard = self.lock()?;
        let inner = &mut *guard;
        check_writable(connection, inner.connections.get(connection))?;
        let key = (connection.clone(), data_type);
        // Worked on a copy, stored back only when the commit succeeds: a
        // refused commit writes nothing, not even an empty state.
        let mut state = inner.sync.get(&key).cloned().unwrap_or_default();
        let records_of = &mut inner.records;
        let outcomes = state.commit_page(connection, data_type, lease, checkpoint, || {
            let types = records_of.entry(connection.clone()).or_default();
            let mut outcomes = Vec::with_capacity(records.len());
            // A page holds records of its own type: look its map up once.
            let mut current = data_type;
            let mut map = types.entry(current).or_default();
            for r in records {
                if r.data_type() != current {
                    current = r.data_type();
                    map = types.entry(current).or_default();
                }
                outcomes.push(upsert_into(map, r.external_id().to_string(), r));
            }
            Ok(outcomes)
        })?;
        inner.sync.insert(key, state);
        Ok(outcomes)
    }

    async fn finish_run(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        lease: &RunLease,
        end: RunEnd,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        match inner.sync.get_mut(&(connection.clone(), data_type)) {
            Some(state) => state.finish(connection, data_type, lease, end),
            // No state: no run holds the mark; refused without writing.
            None => SyncState::default().finish(connection, data_type, lease, end),
        }
    }

    async fn force_reset(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
    ) -> Result<SyncState, StoreError> {
        let mut inner = self.lock()?;
        let state = inner
            .sync
            .entry((connection.clone(), data_type))
            .or_default();
        state.force_reset();
        Ok(state.clone())
    }

    async fn clear_sync_state(&self, connection: &ConnectionId) -> Result<(), StoreError> {
        self.lock()?.sync.retain(|(c, _), _| c != connection);
        Ok(())
    }
}

#[async_trait]
impl LinkStore for MemoryStore {
    async fn links(
        &self,
        connection: &ConnectionId,
        scoping_project_id: &str,
    ) -> Result<ProjectLinks, StoreError> {
        Ok(self
            .lock()?
            .links
            .get(&(connection.clone(), scoping_project_id.to_string()))
            .cloned()
            .unwrap_or_default())
    }

    async fn put_link(
        &self,
        connection: &ConnectionId,
        scoping_project_id: &str,
        item: &ItemRef,
        psa_id: &str,
    ) -> Result<(), StoreError> {
        self.lock()?
            .links
            .entry((connection.clone(), scoping_project_id.to_string()))
            .or_default()
            .items
            .insert(item.clone(), psa_id.to_string());
        Ok(())
    }
}

#[async_trait]
impl ActivityLog for MemoryStore {
    async fn append(&self, entry: ActivityEntry) -> Result<(), StoreError> {
        self.lock()?.activity.push(entry);
        Ok(())
    }

    async fn entries(
        &self,
        connection: Option<&ConnectionId>,
        limit: usize,
    ) -> Result<Vec<ActivityEntry>, StoreError> {
        Ok(self
            .lock()?
            .activity
            .iter()
            .rev()
            .filter(|e| connection.is_none_or(|c| &e.connection_id == c))
            .take(limit)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl PendingAuthorizationStore for MemoryStore {
    async fn put_pending(
        &self,
        pending: &crate::oauth::PendingAuthorization,
    ) -> Result<(), StoreError> {
        self.lock()?
            .pending
            .insert(pending.state.clone(), pending.clone());
        Ok(())
    }

    async fn take_pending(
        &self,
        state: &str,
    ) -> Result<Option<crate::oauth::PendingAuthorization>, StoreError> {
        Ok(self.lock()?.pending.remove(state))
    }

    async fn purge_expired_pending(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut inner = self.lock()?;
        let before = inner.pending.len();
        inner.pending.retain(|_, p| p.expires_at >= now);
        Ok(before - inner.pending.len())
    }
}
