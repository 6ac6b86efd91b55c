//! [`SqliteStore`]: every store trait of scopelink-core over one SQLite
//! database.

use crate::codec::{from_json, parse_ts, to_json, ts};
use crate::db::{sql, write_tx, Db, DbError};
use crate::vault::{SqliteVault, VaultKey};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use scopelink_core::activity::{ActivityEntry, ActivityKind, ActivityLog};
use scopelink_core::mapping::{ItemRef, ProjectLinks};
use scopelink_core::store::{
    check_writable, next_version, ConnectionStore, LinkStore, PendingAuthorizationStore,
    RecordStore, SyncStateStore, UnreadableRow, UpsertOutcome,
};
use scopelink_core::sync::{Checkpoint, RunEnd, RunLease, SyncState};
use scopelink_core::{Connection as ScopeConnection, ConnectionId, DataType, Record, StoreError};
use std::fmt::Display;
use std::path::Path;

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        e.into_store_error()
    }
}

/// A store in one SQLite database file (or in memory), implementing every
/// store trait of scopelink-core, so it is a [`scopelink_core::Store`].
///
/// Cheap to clone: clones share one connection. Every SQLite call runs on
/// tokio's blocking pool, so the store must be used inside a tokio runtime.
/// A sync page and its checkpoint are committed in one transaction
/// ([`SyncStateStore::commit_page`]), so a process killed mid-sync loses and
/// duplicates nothing. Several processes may open the same file: run marks
/// are taken with write-locking transactions, so only one of them runs a
/// data type at a time.
///
/// Values are stored as JSON. A row that no longer parses is reported as
/// [`StoreError::Backend`] naming the row (never a panic); upserting a
/// record over a damaged row replaces it and reports
/// [`UpsertOutcome::Updated`], so the next sync repairs it. A listing of
/// connections leaves unreadable rows out and reports them through
/// [`ConnectionStore::unreadable_connections`]; an unreadable sync state is
/// [`StoreError::DamagedSyncState`], repaired by
/// [`SyncStateStore::force_reset`].
///
/// Opening an existing file checks it before writing anything: an empty
/// (0-byte) file, a file that is not SQLite and another application's
/// SQLite database are [`StoreError::NotADatabase`]; a file that fails
/// SQLite's `quick_check` is [`StoreError::Corrupt`]. The check reads the
/// whole file once, so opening a large store takes a moment.
///
/// Connections are saved with compare-and-set on their version (a column
/// of their own), and run marks are leases checked inside each page's
/// transaction, as the core's [`scopelink_core::store`] rules require.
///
/// The store's operations are the scopelink-core traits
/// ([`ConnectionStore`], [`RecordStore`], [`SyncStateStore`], [`LinkStore`],
/// [`ActivityLog`]); bring them into scope to call them on a
/// `SqliteStore` directly.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it if needed, switches it
    /// to WAL mode and applies any pending migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = Db::open(Some(path.as_ref().to_path_buf())).await?;
        Ok(Self { db })
    }

    /// A new, private in-memory database (tests, examples). It lives as long
    /// as this store and its clones.
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let db = Db::open(None).await?;
        Ok(Self { db })
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.db.path()
    }

    /// A vault in the same database (table `vault`), encrypting with `key`.
    /// The key is checked at the vault's first use (its first operation
    /// fails with [`scopelink_core::VaultError::WrongKey`] when it is not
    /// the key the vault was created with); [`SqliteStore::open_vault`]
    /// checks it now.
    pub fn vault(&self, key: VaultKey) -> SqliteVault {
        SqliteVault::from_db(self.db.clone(), key)
    }

    /// A vault in the same database, its key checked now:
    /// [`scopelink_core::VaultError::WrongKey`] when the vault was created
    /// with another key.
    pub async fn open_vault(
        &self,
        key: VaultKey,
    ) -> Result<SqliteVault, scopelink_core::VaultError> {
        SqliteVault::from_db(self.db.clone(), key).checked().await
    }

    /// The schema version of the open database (`PRAGMA user_version`).
    pub async fn schema_version(&self) -> Result<u32, StoreError> {
        self.db
            .call("reading the schema version", |conn| {
                let v: i64 = conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .map_err(sql("reading the schema version"))?;
                u32::try_from(v)
                    .map_err(|_| StoreError::Backend(format!("invalid schema version {v}")))
            })
            .await
    }

    /// Every record of a connection and type, sorted by provider id.
    pub async fn records(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
    ) -> Result<Vec<Record>, StoreError> {
        let connection = connection.clone();
        self.db
            .call("listing records", move |conn| {
                let what = "listing records";
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT external_id, body FROM records \
                         WHERE connection_id = ?1 AND data_type = ?2 ORDER BY external_id",
                    )
                    .map_err(sql(what))?;
                let rows = stmt
                    .query_map(params![connection.0, data_type.as_str()], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(sql(what))?;
                let mut out = Vec::new();
                for row in rows {
                    let (id, body) = row.map_err(sql(what))?;
                    out.push(from_json(&body, record_name(&connection, data_type, &id))?);
                }
                Ok(out)
            })
            .await
    }
}

/// Names a stored record in errors. Written out only when an error needs
/// it: it is built for every record written or read.
fn record_name<'a>(
    connection: &'a ConnectionId,
    data_type: DataType,
    id: &'a str,
) -> impl Display + 'a {
    RecordName {
        connection,
        data_type,
        id,
    }
}

struct RecordName<'a> {
    connection: &'a ConnectionId,
    data_type: DataType,
    id: &'a str,
}

impl Display for RecordName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            connection,
            data_type,
            id,
        } = self;
        write!(
            f,
            "the stored {data_type} record `{id}` of connection {connection}"
        )
    }
}

/// Upserts one record inside `tx`, with the memory store's semantics:
/// Created when new, Unchanged when equal, else Updated. A record is
/// stored as its JSON text, which is deterministic for a record (no maps,
/// no floats), so equal records have equal text: a new record costs one
/// statement, a known one a second that writes only when the text differs.
/// A stored body that no longer parses differs, and is overwritten.
fn upsert(
    tx: &Transaction<'_>,
    connection: &ConnectionId,
    record: &Record,
) -> Result<UpsertOutcome, DbError> {
    let data_type = record.data_type();
    let id = record.external_id();
    let what = "upserting a record";
    let body = to_json(record, record_name(connection, data_type, id))?;
    let updated_at = record.updated_at().map(ts);
    // Both statements take the same five parameters; each returns the
    // number of rows it wrote.
    let run = |statement: &str| -> Result<usize, DbError> {
        tx.prepare_cached(statement)
            .map_err(sql(what))?
            .execute(params![
                connection.0,
                data_type.as_str(),
                id,
                body,
                updated_at
            ])
            .map_err(sql(what))
    };
    let inserted = run(
        "INSERT INTO records (connection_id, data_type, external_id, body, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (connection_id, data_type, external_id) DO NOTHING",
    )?;
    if inserted == 1 {
        return Ok(UpsertOutcome::Created);
    }
    let updated = run("UPDATE records SET body = ?4, updated_at = ?5 \
         WHERE connection_id = ?1 AND data_type = ?2 AND external_id = ?3 \
         AND body IS NOT ?4")?;
    Ok(if updated == 1 {
        UpsertOutcome::Updated
    } else {
        UpsertOutcome::Unchanged
    })
}

/// Reads a sync state (the default when none is stored); a row that does
/// not parse is [`StoreError::DamagedSyncState`].
fn read_state(
    conn: &Connection,
    connection: &ConnectionId,
    data_type: DataType,
) -> Result<SyncState, StoreError> {
    let what = "reading a sync state";
    let text: Option<String> = conn
        .prepare_cached("SELECT state FROM sync_state WHERE connection_id = ?1 AND data_type = ?2")
        .map_err(sql(what))?
        .query_row(params![connection.0, data_type.as_str()], |r| r.get(0))
        .optional()
        .map_err(sql(what))?;
    match text {
        None => Ok(SyncState::default()),
        Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::DamagedSyncState {
            connection: connection.clone(),
            data_type,
            reason: format!("not readable: {e}"),
        }),
    }
}

fn write_state(
    conn: &Connection,
    connection: &ConnectionId,
    data_type: DataType,
    state: &SyncState,
) -> Result<(), DbError> {
    let text = to_json(
        state,
        format_args!("the {data_type} sync state of connection {connection}"),
    )?;
    conn.prepare_cached(
        "INSERT INTO sync_state (connection_id, data_type, state) VALUES (?1, ?2, ?3) \
         ON CONFLICT (connection_id, data_type) DO UPDATE SET state = excluded.state",
    )
    .map_err(sql("writing a sync state"))?
    .execute(params![connection.0, data_type.as_str(), text])
    .map_err(sql("writing a sync state"))?;
    Ok(())
}

/// Reads, changes and writes one sync state in one write transaction.
fn update_state<T>(
    conn: &mut Connection,
    what: &str,
    connection: &ConnectionId,
    data_type: DataType,
    change: impl FnOnce(&Connection, &mut SyncState) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let tx = write_tx(conn, what)?;
    let mut state = read_state(&tx, connection, data_type)?;
    let out = change(&tx, &mut state)?;
    write_state(&tx, connection, data_type, &state)?;
    tx.commit().map_err(sql(what))?;
    Ok(out)
}

/// A connection from its stored body and version column (the column is
/// authoritative: it is what compare-and-set compares).
fn decode_connection(id: &str, body: &str, version: i64) -> Result<ScopeConnection, DbError> {
    let mut c: ScopeConnection = from_json(body, format_args!("the stored connection {id}"))?;
    c.version = u64::try_from(version).unwrap_or(0);
    Ok(c)
}

/// Reads one connection.
fn read_connection(
    conn: &Connection,
    id: &ConnectionId,
) -> Result<Option<ScopeConnection>, DbError> {
    let what = "reading a connection";
    let row: Option<(String, i64)> = conn
        .prepare_cached("SELECT body, version FROM connections WHERE id = ?1")
        .map_err(sql(what))?
        .query_row(params![id.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(sql(what))?;
    row.map(|(body, version)| decode_connection(&id.0, &body, version))
        .transpose()
}

/// Every connection row, decoded or with why it cannot be, oldest first.
fn read_connections(
    conn: &Connection,
) -> Result<Vec<Result<ScopeConnection, UnreadableRow>>, DbError> {
    let what = "listing connections";
    let mut stmt = conn
        .prepare_cached("SELECT id, body, version FROM connections ORDER BY created_at, id")
        .map_err(sql(what))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .map_err(sql(what))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, body, version) = row.map_err(sql(what))?;
        out.push(
            decode_connection(&id, &body, version).map_err(|e| UnreadableRow {
                id: id.clone(),
                reason: e.0,
            }),
        );
    }
    Ok(out)
}

/// [`check_writable`] on the connection as stored, inside `tx`.
fn check_connection_writable(conn: &Connection, id: &ConnectionId) -> Result<(), StoreError> {
    check_writable(id, read_connection(conn, id)?.as_ref())
}

#[async_trait]
impl ConnectionStore for SqliteStore {
    async fn save_connection(&self, connection: &ScopeConnection) -> Result<u64, StoreError> {
        let mut connection = connection.clone();
        self.db
            .call("saving a connection", move |conn| {
                let what = "saving a connection";
                let tx = write_tx(conn, "save a connection")?;
                let stored: i64 = tx
                    .prepare_cached("SELECT version FROM connections WHERE id = ?1")
                    .map_err(sql(what))?
                    .query_row(params![connection.id.0], |r| r.get(0))
                    .optional()
                    .map_err(sql(what))?
                    .unwrap_or(0);
                let version = next_version(&connection, u64::try_from(stored).unwrap_or(0))?;
                connection.version = version;
                let body = to_json(&connection, format_args!("connection {}", connection.id))?;
                tx.prepare_cached(
                    "INSERT INTO connections (id, created_at, body, version) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, \
                     body = excluded.body, version = excluded.version",
                )
                .map_err(sql(what))?
                .execute(params![
                    connection.id.0,
                    ts(connection.created_at),
                    body,
                    i64::try_from(version).unwrap_or(i64::MAX)
                ])
                .map_err(sql(what))?;
                tx.commit().map_err(sql(what))?;
                Ok(version)
            })
            .await
    }

    async fn connection(&self, id: &ConnectionId) -> Result<Option<ScopeConnection>, StoreError> {
        let id = id.clone();
        self.db
            .call("reading a connection", move |conn| {
                Ok(read_connection(conn, &id)?)
            })
            .await
    }

    async fn connections(&self) -> Result<Vec<ScopeConnection>, StoreError> {
        let rows = self
            .db
            .call("listing connections", |conn| {
                Ok::<_, StoreError>(read_connections(conn)?)
            })
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            match row {
                Ok(c) => out.push(c),
                Err(bad) => {
                    tracing::warn!(connection = %bad.id, reason = %bad.reason, "skipped an unreadable connection row");
                }
            }
        }
        Ok(out)
    }

    async fn unreadable_connections(&self) -> Result<Vec<UnreadableRow>, StoreError> {
        let rows = self
            .db
            .call("listing connections", |conn| {
                Ok::<_, StoreError>(read_connections(conn)?)
            })
            .await?;
        Ok(rows.into_iter().filter_map(Result::err).collect())
    }

    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), StoreError> {
        let id = id.clone();
        self.db
            .call("deleting a connection", move |conn| {
                conn.prepare_cached("DELETE FROM connections WHERE id = ?1")
                    .map_err(sql("deleting a connection"))?
                    .execute(params![id.0])
                    .map_err(sql("deleting a connection"))?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl RecordStore for SqliteStore {
    async fn record(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let connection = connection.clone();
        let external_id = external_id.to_string();
        self.db
            .call("reading a record", move |conn| {
                let what = "reading a record";
                let body: Option<String> = conn
                    .prepare_cached(
                        "SELECT body FROM records \
                         WHERE connection_id = ?1 AND data_type = ?2 AND external_id = ?3",
                    )
                    .map_err(sql(what))?
                    .query_row(
                        params![connection.0, data_type.as_str(), external_id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql(what))?;
                match body {
                    None => Ok(None),
                    Some(body) => Ok(Some(from_json(
                        &body,
                        record_name(&connection, data_type, &external_id),
                    )?)),
                }
            })
            .await
    }

    async fn contains_records(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_ids: &[String],
    ) -> Result<Vec<bool>, StoreError> {
        let connection = connection.clone();
        let external_ids = external_ids.to_vec();
        self.db
            .read("looking up records", move |conn| {
                let what = "looking up records";
                // One statement for the whole batch: the ids go in as a JSON
                // array and the positions of those found come back.
                let ids = to_json(&external_ids, "the ids to look up")?;
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT ids.key FROM json_each(?3) AS ids WHERE EXISTS \
                         (SELECT 1 FROM records WHERE connection_id = ?1 \
                          AND data_type = ?2 AND external_id = ids.value)",
                    )
                    .map_err(sql(what))?;
                let mut found = vec![false; external_ids.len()];
                let positions = stmt
                    .query_map(params![connection.0, data_type.as_str(), ids], |r| {
                        r.get::<_, i64>(0)
                    })
                    .map_err(sql(what))?;
                for position in positions {
                    let position = position.map_err(sql(what))?;
                    if let Some(slot) = usize::try_from(position)
                        .ok()
                        .and_then(|i| found.get_mut(i))
                    {
                        *slot = true;
                    }
                }
                Ok(found)
            })
            .await
    }

    async fn contains_record(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_id: &str,
    ) -> Result<bool, StoreError> {
        let found = self
            .contains_records(connection, data_type, &[external_id.to_string()])
            .await?;
        Ok(found.first().copied().unwrap_or(false))
    }

    async fn count_records(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
    ) -> Result<u64, StoreError> {
        let connection = connection.clone();
        self.db
            .call("counting records", move |conn| {
                let what = "counting records";
                let n: i64 = conn
                    .prepare_cached(
                        "SELECT COUNT(*) FROM records WHERE connection_id = ?1 AND data_type = ?2",
                    )
                    .map_err(sql(what))?
                    .query_row(params![connection.0, data_type.as_str()], |r| r.get(0))
                    .map_err(sql(what))?;
                Ok(n.max(0) as u64)
            })
            .await
    }

    async fn upsert_record(
        &self,
        connection: &ConnectionId,
        record: Record,
    ) -> Result<UpsertOutcome, StoreError> {
        let connection = connection.clone();
        self.db
            .call("upserting a record", move |conn| {
                let tx = write_tx(conn, "upsert a record")?;
                let outcome = upsert(&tx, &connection, &record)?;
                tx.commit().map_err(sql("committing a record"))?;
                Ok(outcome)
            })
            .await
    }

    async fn delete_record(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        external_id: &str,
    ) -> Result<bool, StoreError> {
        let connection = connection.clone();
        let external_id = external_id.to_string();
        self.db
            .call("deleting a record", move |conn| {
                let n = conn
                    .prepare_cached(
                        "DELETE FROM records \
                         WHERE connection_id = ?1 AND data_type = ?2 AND external_id = ?3",
                    )
                    .map_err(sql("deleting a record"))?
                    .execute(params![connection.0, data_type.as_str(), external_id])
                    .map_err(sql("deleting a record"))?;
                Ok(n > 0)
            })
            .await
    }

    async fn purge_records(&self, connection: &ConnectionId) -> Result<(), StoreError> {
        let connection = connection.clone();
        self.db
            .call("purging records", move |conn| {
                conn.prepare_cached("DELETE FROM records WHERE connection_id = ?1")
                    .map_err(sql("purging records"))?
                    .execute(params![connection.0])
                    .map_err(sql("purging records"))?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl SyncStateStore for SqliteStore {
    async fn sync_state(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
    ) -> Result<SyncState, StoreError> {
        let connection = connection.clone();
        self.db
            .call("reading a sync state", move |conn| {
                read_state(conn, &connection, data_type)
            })
            .await
    }

    async fn begin_run(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        lease: &RunLease,
    ) -> Result<SyncState, StoreError> {
        let connection = connection.clone();
        let lease = lease.clone();
        self.db
            .call("beginning a run", move |conn| {
                update_state(conn, "begin a run", &connection, data_type, |tx, state| {
                    check_connection_writable(tx, &connection)?;
                    state.begin(&connection, data_type, &lease)
                })
            })
            .await
    }

    async fn commit_page(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        records: Vec<Record>,
        checkpoint: &Checkpoint,
        lease: &RunLease,
    ) -> Result<Vec<UpsertOutcome>, StoreError> {
        let connection = connection.clone();
        let checkpoint = checkpoint.clone();
        let lease = lease.clone();
        self.db
            .call("committing a page", move |conn| {
                let what = "commit a page";
                // One transaction: the checks, the page and its checkpoint
                // become durable together or not at all.
                let tx = write_tx(conn, what)?;
                check_connection_writable(&tx, &connection)?;
                let mut state = read_state(&tx, &connection, data_type)?;
                let outcomes =
                    state.commit_page(&connection, data_type, &lease, &checkpoint, || {
                        records
                            .iter()
                            .map(|r| upsert(&tx, &connection, r))
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(StoreError::from)
                    })?;
                write_state(&tx, &connection, data_type, &state)?;
                tx.commit().map_err(sql("committing a page"))?;
                Ok(outcomes)
            })
            .await
    }

    async fn finish_run(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        lease: &RunLease,
        end: RunEnd,
    ) -> Result<(), StoreError> {
        let connection = connection.clone();
        let lease = lease.clone();
        self.db
            .call("finishing a run", move |conn| {
                update_state(conn, "finish a run", &connection, data_type, |_, state| {
                    state.finish(&connection, data_type, &lease, end)
                })
            })
            .await
    }

    async fn force_reset(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
    ) -> Result<SyncState, StoreError> {
        let connection = connection.clone();
        self.db
            .call("force-resetting a run", move |conn| {
                let what = "force-reset a run";
                let tx = write_tx(conn, what)?;
                let mut state = match read_state(&tx, &connection, data_type) {
                    Ok(state) => state,
                    // The repair path: a state that cannot be read is
                    // replaced by an empty one.
                    Err(StoreError::DamagedSyncState { reason, .. }) => {
                        tracing::warn!(%connection, %data_type, %reason, "force reset replaced a damaged sync state");
                        SyncState::default()
                    }
                    Err(e) => return Err(e),
                };
                state.force_reset();
                write_state(&tx, &connection, data_type, &state)?;
                tx.commit().map_err(sql(what))?;
                Ok(state)
            })
            .await
    }

    async fn clear_sync_state(&self, connection: &ConnectionId) -> Result<(), StoreError> {
        let connection = connection.clone();
        self.db
            .call("clearing sync states", move |conn| {
                conn.prepare_cached("DELETE FROM sync_state WHERE connection_id = ?1")
                    .map_err(sql("clearing sync states"))?
                    .execute(params![connection.0])
                    .map_err(sql("clearing sync states"))?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl LinkStore for SqliteStore {
    async fn links(
        &self,
        connection: &ConnectionId,
        scoping_project_id: &str,
    ) -> Result<ProjectLinks, StoreError> {
        let connection = connection.clone();
        let project = scoping_project_id.to_string();
        self.db
            .call("reading links", move |conn| {
                let what = "reading links";
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT item_key, psa_id FROM links \
                         WHERE connection_id = ?1 AND scoping_project_id = ?2",
                    )
                    .map_err(sql(what))?;
                let rows = stmt
                    .query_map(params![connection.0, project], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(sql(what))?;
                let mut links = ProjectLinks::default();
                for row in rows {
                    let (key, psa_id) = row.map_err(sql(what))?;
                    let item: ItemRef = from_json(
                        &key,
                        format_args!(
                            "a stored link key of project `{project}` of connection {connection}"
                        ),
                    )?;
                    links.items.insert(item, psa_id);
                }
                Ok(links)
            })
            .await
    }

    async fn put_link(
        &self,
        connection: &ConnectionId,
        scoping_project_id: &str,
        item: &ItemRef,
        psa_id: &str,
    ) -> Result<(), StoreError> {
        let connection = connection.clone();
        let project = scoping_project_id.to_string();
        let key = to_json(item, format_args!("link key {item}"))?;
        let psa_id = psa_id.to_string();
        self.db
            .call("storing a link", move |conn| {
                conn.prepare_cached(
                    "INSERT INTO links (connection_id, scoping_project_id, item_key, psa_id) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (connection_id, scoping_project_id, item_key) \
                     DO UPDATE SET psa_id = excluded.psa_id",
                )
                .map_err(sql("storing a link"))?
                .execute(params![connection.0, project, key, psa_id])
                .map_err(sql("storing a link"))?;
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl ActivityLog for SqliteStore {
    async fn append(&self, entry: ActivityEntry) -> Result<(), StoreError> {
        let kind = to_json(&entry.kind, "an activity entry")?;
        let at = ts(entry.at);
        let connection = entry.connection_id.0;
        self.db
            .call("appending an activity entry", move |conn| {
                conn.prepare_cached(
                    "INSERT INTO activity (at, connection_id, kind) VALUES (?1, ?2, ?3)",
                )
                .map_err(sql("appending an activity entry"))?
                .execute(params![at, connection, kind])
                .map_err(sql("appending an activity entry"))?;
                Ok(())
            })
            .await
    }

    async fn entries(
        &self,
        connection: Option<&ConnectionId>,
        limit: usize,
    ) -> Result<Vec<ActivityEntry>, StoreError> {
        let connection = connection.cloned();
        // SQLite's LIMIT is signed; anything beyond i64 means "all".
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call("reading the activity log", move |conn| {
                let what = "reading the activity log";
                let row = |r: &rusqlite::Row<'_>| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                };
                // Two statements rather than `?1 IS NULL OR ...`, so the
                // per-connection query uses its index.
                let rows: Vec<_> = match &connection {
                    Some(c) => conn
                        .prepare_cached(
                            "SELECT id, at, connection_id, kind FROM activity \
                             WHERE connection_id = ?1 ORDER BY id DESC LIMIT ?2",
                        )
                        .map_err(sql(what))?
                        .query_map(params![c.0, limit], row)
                        .map_err(sql(what))?
                        .collect::<Result<_, _>>(),
                    None => conn
                        .prepare_cached(
                            "SELECT id, at, connection_id, kind FROM activity \
                             ORDER BY id DESC LIMIT ?1",
                        )
                        .map_err(sql(what))?
                        .query_map(params![limit], row)
                        .map_err(sql(what))?
                        .collect::<Result<_, _>>(),
                }
                .map_err(sql(what))?;
                let mut out = Vec::new();
                for (id, at, connection_id, kind) in rows {
                    let name = format!("activity entry {id}");
                    let kind: ActivityKind = from_json(&kind, &name)?;
                    out.push(ActivityEntry {
                        at: parse_ts(&at, &name)?,
                        connection_id: ConnectionId(connection_id),
                        kind,
                    });
                }
                Ok(out)
            })
            .await
    }
}

/// Pending OAuth authorizations: one row per state, read and deleted in
/// one statement (`DELETE .. RETURNING`), so a state is used at most once
/// even when two processes receive the same callback. The row holds the
/// PKCE verifier for at most the authorization's lifetime (10 minutes by
/// default); tokens never come here, they go to the vault.
#[async_trait]
impl PendingAuthorizationStore for SqliteStore {
    async fn put_pending(
        &self,
        pending: &scopelink_core::oauth::PendingAuthorization,
    ) -> Result<(), StoreError> {
        let what = "saving a pending authorization";
        let body = to_json(pending, what)?;
        let state = pending.state.clone();
        let connection = pending.connection.0.clone();
        let expires = ts(pending.expires_at);
        self.db
            .call(what, move |conn| {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO pending_authorizations (state, connection_id, expires_at, body) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(sql(what))?
                .execute(params![state, connection, expires, body])
                .map_err(sql(what))?;
                Ok(())
            })
            .await
    }

    async fn take_pending(
        &self,
        state: &str,
    ) -> Result<Option<scopelink_core::oauth::PendingAuthorization>, StoreError> {
        let what = "taking a pending authorization";
        let state = state.to_string();
        let body: Option<String> = self
            .db
            .call(what, move |conn| {
                Ok::<_, StoreError>(
                    conn.prepare_cached(
                        "DELETE FROM pending_authorizations WHERE state = ?1 RETURNING body",
                    )
                    .map_err(sql(what))?
                    .query_row(params![state], |r| r.get(0))
                    .optional()
                    .map_err(sql(what))?,
                )
            })
            .await?;
        // serde's message may quote the row's text (the verifier): say only
        // which row failed.
        body.map(|b| {
            serde_json::from_str(&b)
                .map_err(|_| StoreError::Backend("a pending authorization is not readable".into()))
        })
        .transpose()
    }

    async fn purge_expired_pending(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, StoreError> {
        let what = "purging expired pending authorizations";
        let now = ts(now);
        self.db
            .call(what, move |conn| {
                Ok::<_, StoreError>(
                    conn.prepare_cached("DELETE FROM pending_authorizations WHERE expires_at < ?1")
                        .map_err(sql(what))?
                        .execute(params![now])
                        .map_err(sql(what))?,
                )
            })
            .await
    }
}
