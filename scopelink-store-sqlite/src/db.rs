//! The database handle: one SQLite connection behind a mutex, used only from
//! tokio's blocking pool (and, for a file, a checkpoint thread with its own
//! connection), plus opening and migrations.

use crate::checkpoint::{Checkpointer, WRITER_AUTOCHECKPOINT_PAGES};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long a statement waits for another process's write lock before it
/// fails with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The page size of new database files: 16 KiB (SQLite's default is 4 KiB)
/// writes a page of records in a quarter of the log frames and keeps the
/// record index shallower; rows are about half a KiB.
pub(crate) const PAGE_SIZE: u32 = 16 * 1024;

/// How many prepared statements are kept (the store and vault use about 25).
const STATEMENT_CACHE: usize = 48;

/// The schema, one entry per version: entry `n` takes the database from
/// version `n` to `n + 1` (`PRAGMA user_version`). Append only; never edit a
/// released entry.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: every table.
    r#"
    CREATE TABLE connections (
        id          TEXT PRIMARY KEY NOT NULL,
        created_at  TEXT NOT NULL,
        body        TEXT NOT NULL
    ) STRICT;
    CREATE INDEX connections_by_age ON connections (created_at, id);

    CREATE TABLE records (
        connection_id  TEXT NOT NULL,
        data_type      TEXT NOT NULL,
        external_id    TEXT NOT NULL,
        body           TEXT NOT NULL,
        updated_at     TEXT
    ) STRICT;
    CREATE UNIQUE INDEX records_by_key ON records (connection_id, data_type, external_id);

    CREATE TABLE sync_state (
        connection_id  TEXT NOT NULL,
        data_type      TEXT NOT NULL,
        state          TEXT NOT NULL,
        PRIMARY KEY (connection_id, data_type)
    ) STRICT;

    CREATE TABLE links (
        connection_id       TEXT NOT NULL,
        scoping_project_id  TEXT NOT NULL,
        item_key            TEXT NOT NULL,
        psa_id              TEXT NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX links_by_item ON links (connection_id, scoping_project_id, item_key);

    CREATE TABLE activity (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        at             TEXT NOT NULL,
        connection_id  TEXT NOT NULL,
        kind           TEXT NOT NULL
    ) STRICT;
    CREATE INDEX activity_by_connection ON activity (connection_id, id);

    CREATE TABLE vault (
        key         TEXT PRIMARY KEY NOT NULL,
        nonce       BLOB NOT NULL,
        ciphertext  BLOB NOT NULL
    ) STRICT;
    "#,
    // 2: connection versions (compare-and-set) and the vault's key check.
    r#"
    ALTER TABLE connections ADD COLUMN version INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE vault_meta (
        name        TEXT PRIMARY KEY NOT NULL,
        nonce       BLOB NOT NULL,
        ciphertext  BLOB NOT NULL
    ) STRICT;
    "#,
    // 3: OAuth authorizations started and not yet completed.
    r#"
    CREATE TABLE pending_authorizations (
        state          TEXT PRIMARY KEY NOT NULL,
        connection_id  TEXT NOT NULL,
        expires_at     TEXT NOT NULL,
        body           TEXT NOT NULL
    ) STRICT;
    CREATE INDEX pending_by_expiry ON pending_authorizations (expires_at);
    "#,
];

/// The schema version this crate creates and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// A failure of the database layer, turned into the caller's error type.
/// Its message says what failed and never carries a stored value; a
/// SQLite failure is kept as its typed cause (rusqlite's errors name the
/// SQLite result code, a column or the statement's problem, never a bound
/// value).
#[derive(Debug, Clone)]
pub(crate) struct DbError(pub(crate) String, pub(crate) Option<Arc<rusqlite::Error>>);

impl DbError {
    /// A failure that is not SQLite's own (a row that cannot be decoded, ...).
    pub(crate) fn new(message: String) -> Self {
        Self(message, None)
    }

    /// The message with its cause, as one text, for errors that keep text
    /// only (the vault's).
    pub(crate) fn text(&self) -> String {
        match &self.1 {
            Some(cause) => format!("{}: {cause}", self.0),
            None => self.0.clone(),
        }
    }

    /// As the store's error: SQLite's failure as the typed source of
    /// [`StoreError::Database`](scopelink_core::StoreError::Database),
    /// anything else as [`StoreError::Backend`](scopelink_core::StoreError::Backend).
    pub(crate) fn into_store_error(self) -> scopelink_core::StoreError {
        match self.1 {
            Some(cause) => scopelink_core::StoreError::Database {
                operation: self.0,
                source: Box::new(cause),
            },
            None => scopelink_core::StoreError::Backend(self.0),
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// Maps a rusqlite error to a [`DbError`] naming the operation, the
/// rusqlite error kept as its cause.
pub(crate) fn sql(what: &str) -> impl FnOnce(rusqlite::Error) -> DbError + '_ {
    move |e| DbError(format!("sqlite: {what}"), Some(Arc::new(e)))
}

/// Why a database could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// The file is not a scopelink database; it was not changed.
    NotADatabase { path: String, reason: String },
    /// The file failed its integrity check.
    Corrupt { path: String, detail: String },
    /// Anything else.
    Db(DbError),
}

impl From<DbError> for OpenError {
    fn from(e: DbError) -> Self {
        OpenError::Db(e)
    }
}

impl From<OpenError> for scopelink_core::StoreError {
    fn from(e: OpenError) -> Self {
        use scopelink_core::StoreError;
        match e {
            OpenError::NotADatabase { path, reason } => StoreError::NotADatabase { path, reason },
            OpenError::Corrupt { path, detail } => StoreError::Corrupt { path, detail },
            OpenError::Db(e) => e.into_store_error(),
        }
    }
}

impl From<OpenError> for scopelink_core::VaultError {
    fn from(e: OpenError) -> Self {
        // The store's message says what is wrong with the file.
        scopelink_core::VaultError::Backend(scopelink_core::StoreError::from(e).to_string())
    }
}

/// Turns a failure while probing `path` into what it means: not a
/// database, a damaged one, or another failure (`what` names the step).
fn classify(path: &Path, what: &str, e: rusqlite::Error) -> OpenError {
    let path_text = path.display().to_string();
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => OpenError::NotADatabase {
            path: path_text,
            reason: "it is not an SQLite database file (another format, or encrypted)".into(),
        },
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => OpenError::Corrupt {
            path: path_text,
            detail: format!("{what}: {e}"),
        },
        _ => OpenError::Db(DbError::new(format!("sqlite: {what} of {path_text}: {e}"))),
    }
}

/// How long an empty file is watched before it is refused: another process
/// opening a new store creates the file empty and writes its header within
/// milliseconds.
const EMPTY_FILE_GRACE: Duration = Duration::from_secs(1);

/// Whether the empty file at `path` gets content within
/// [`EMPTY_FILE_GRACE`] (another process is creating the store).
fn filled_soon(path: &Path) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < EMPTY_FILE_GRACE {
        std::thread::sleep(Duration::from_millis(20));
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            return true;
        }
    }
    false
}

/// Checks an existing file before anything is written to it: refuses an
/// empty (0-byte) file, a file that is not an SQLite database, another
/// application's database, and one that fails SQLite's quick integrity
/// check. A missing file passes (it is created).
fn check_existing_file(path: &Path) -> Result<(), OpenError> {
    let path_text = || path.display().to_string();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(OpenError::Db(DbError::new(format!(
                "sqlite: reading the metadata of {}: {e}",
                path.display()
            ))))
        }
        Ok(m) if m.is_file() && m.len() == 0 && !filled_soon(path) => {
            return Err(OpenError::NotADatabase {
                path: path_text(),
                reason:
                    "the file is empty (0 bytes), as a truncated copy or a failed write leaves it"
                        .into(),
            })
        }
        Ok(_) => {}
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| classify(path, "opening the file", e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sql("setting the busy timeout"))?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(|e| classify(path, "reading the schema", e))?;
    let version = user_version(&conn)?;
    if version == 0 && tables > 0 {
        return Err(OpenError::NotADatabase {
            path: path_text(),
            reason: format!(
                "it is an SQLite database with {tables} schema objects but no scopelink schema \
                 version (another application's database)"
            ),
        });
    }
    // The first problem only: enough to refuse, and quick to report.
    let verdict: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(|e| classify(path, "checking its integrity", e))?;
    if verdict != "ok" {
        return Err(OpenError::Corrupt {
            path: path_text(),
            detail: format!(
                "SQLite's integrity check found: {}",
                verdict.replace('\n', "; ")
            ),
        });
    }
    Ok(())
}

/// A shared handle to one SQLite connection. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
    path: Option<Arc<PathBuf>>,
    /// File databases: a read-only connection for [`Db::read`], so lookups
    /// run while the main connection writes (WAL readers never wait for
    /// the writer).
    reader: Option<Arc<Mutex<Connection>>>,
    /// File databases: the thread that checkpoints the log. Declared last:
    /// dropped after the connections, its final checkpoint is the last.
    checkpointer: Option<Arc<Checkpointer>>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}", p.display()),
            None => f.write_str(":memory:"),
        }
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path`, or a private
    /// in-memory one when `path` is `None`, and migrates it. An existing
    /// file is checked first (see [`check_existing_file`]). Blocking.
    pub(crate) fn open_blocking(path: Option<PathBuf>) -> Result<Db, OpenError> {
        if let Some(p) = &path {
            check_existing_file(p)?;
        }
        let mut conn = match &path {
            Some(p) => Connection::open_with_flags(
                p,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| DbError::new(format!("sqlite: opening {}: {e}", p.display())))?,
            None => Connection::open_in_memory().map_err(sql("opening an in-memory database"))?,
        };
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(sql("setting the busy timeout"))?;
        // Room for every statement the store and vault prepare.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        if path.is_some() {
            // Takes effect only when the file is created (before WAL mode).
            conn.pragma_update(None, "page_size", PAGE_SIZE)
                .map_err(sql("setting the page size"))?;
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(sql("switching to WAL mode"))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(DbError::new(format!(
                    "sqlite: the database refused WAL mode (journal mode is {mode})"
                ))
                .into());
            }
            // Commits do not wait for the disk; checkpoints do, on their
            // own thread (see `checkpoint`).
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(sql("setting synchronous = NORMAL"))?;
            conn.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)
                .map_err(sql("setting the writer's checkpoint backstop"))?;
        }
        migrate(&mut conn)?;
        let (checkpointer, reader) = match &path {
            Some(p) => (
                Some(Arc::new(Checkpointer::start(p)?)),
                Some(Arc::new(Mutex::new(open_reader(p)?))),
            ),
            None => (None, None),
        };
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            path: path.map(Arc::new),
            checkpointer,
            reader,
        })
    }

    /// Opens off the async executor.
    pub(crate) async fn open(path: Option<PathBuf>) -> Result<Db, OpenError> {
        tokio::task::spawn_blocking(move || Db::open_blocking(path))
            .await
            .map_err(|e| {
                OpenError::Db(DbError::new(format!(
                    "sqlite: the task opening the database failed: {e}"
                )))
            })?
    }

    /// The file, for file databases.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref().map(PathBuf::as_path)
    }

    /// Runs `f` with the connection on tokio's blocking pool.
    pub(crate) async fn call<T, E, F>(&self, what: &'static str, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let checkpointer = self.checkpointer.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while the lock was held cannot leave a transaction
            // half-applied (dropping a rusqlite transaction rolls it back),
            // so a poisoned lock is safe to take over.
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            let changes_before = guard.total_changes();
            let result = f(&mut guard);
            // Only a call that wrote has anything to checkpoint.
            let wrote = guard.total_changes() != changes_before;
            drop(guard);
            if let (true, Some(checkpointer)) = (wrote, checkpointer) {
                checkpointer.poke();
            }
            result
        })
        .await
        .map_err(|e| E::from(DbError::new(format!("sqlite: the task {what} failed: {e}"))))?
    }

    /// Runs a read-only `f` on tokio's blocking pool: on the reader
    /// connection for a file database (alongside a write in progress; it
    /// sees what was committed when it starts), else as [`Db::call`].
    pub(crate) async fn read<T, E, F>(&self, what: &'static str, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let Some(reader) = self.reader.clone() else {
            return self.call(what, move |conn| f(conn)).await;
        };
        tokio::task::spawn_blocking(move || {
            let guard = reader.lock().unwrap_or_else(PoisonError::into_inner);
            f(&guard)
        })
        .await
        .map_err(|e| E::from(DbError::new(format!("sqlite: the task {what} failed: {e}"))))?
    }
}

/// A read-only connection to the file database at `path`.
fn open_reader(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| DbError::new(format!("sqlite: opening {} to read: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sql("setting the reader's busy timeout"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Starts a write transaction that takes the write lock at once, so a
/// read-then-write inside it is atomic even against other processes.
pub(crate) fn write_tx<'c>(
    conn: &'c mut Connection,
    what: &str,
) -> Result<rusqlite::Transaction<'c>, DbError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| DbError::new(format!("sqlite: starting a transaction to {what}: {e}")))
}

fn user_version(conn: &Connection) -> Result<u32, DbError> {
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql("reading the schema version"))?;
    u32::try_from(v).map_err(|_| DbError::new(format!("sqlite: invalid schema version {v}")))
}

/// Applies every pending migration in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let tx = write_tx(conn, "migrate the schema")?;
    // Read inside the write transaction: two processes opening a new file at
    // once migrate it once.
    let from = user_version(&tx)?;
    if from > SCHEMA_VERSION {
        return Err(DbError::new(format!(
            "sqlite: the database has schema version {from}, newer than the {SCHEMA_VERSION} this \
             version of scopelink-store-sqlite understands; upgrade scopelink-store-sqlite"
        )));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        tx.execute_batch(migration)
            .map_err(|e| DbError::new(format!("sqlite: applying migration {}: {e}", i + 1)))?;
    }
    if from < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sql("recording the schema version"))?;
    }
    tx.commit().map_err(sql("committing the migrations"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_database_to_the_current_version() {
        let db = Db::open_blocking(None).expect("open");
        let conn = db.conn.lock().unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for t in [
            "activity",
            "connections",
            "links",
            "records",
            "sync_state",
            "vault",
        ] {
            assert!(
                tables.iter().any(|n| n == t),
                "table {t} missing: {tables:?}"
            );
        }
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let db = Db::open_blocking(None).expect("open");
        let mut conn = db.conn.lock().unwrap();
        migrate(&mut conn).expect("second migrate");
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).expect_err("newer schema must be refused");
        assert!(err.text().contains("newer"), "unexpected message: {err}");
    }
}
