//! WAL checkpoints off the write path.
//!
//! A file database runs in WAL mode with `synchronous = NORMAL`: a commit
//! appends to the write-ahead log without waiting for the disk, and only a
//! checkpoint (copying the log back into the database file) waits for
//! `fsync`. SQLite runs checkpoints on the connection that committed, so
//! every few commits a sync page would wait for the disk. Here the writer's
//! automatic checkpoints are pushed far out (a backstop) and a thread of its
//! own, on its own connection, checkpoints after commits instead, while the
//! writer goes on. A `PASSIVE` checkpoint never blocks the writer or readers.
//!
//! Durability: a committed transaction survives the process being killed
//! (it is in the log, in the operating system's hands); a power cut may
//! lose the last commits, never half of one. A sync page and its checkpoint
//! commit together, so a lost commit is fetched again by the next run.

use crate::db::{sql, DbError, PAGE_SIZE};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The writer's own automatic checkpoint, in log pages: a backstop for when
/// the checkpoint thread falls behind (64 MiB of log).
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 64 * 1024 * 1024 / PAGE_SIZE;

/// How long the checkpoint thread waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The checkpoint thread of one database file. Dropping it ends the thread
/// after a last checkpoint that empties the log, and waits for it: when a
/// store is dropped its files are settled. That checkpoint does not wait
/// for other processes' locks (it is skipped if it would).
pub(crate) struct Checkpointer {
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a second connection to `path` and starts the thread.
    pub(crate) fn start(path: &Path) -> Result<Checkpointer, DbError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| {
            DbError::new(format!(
                "sqlite: opening {} for checkpoints: {e}",
                path.display()
            ))
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(sql("setting the checkpoint connection's busy timeout"))?;
        // One pending wake-up is enough: commits made while a checkpoint
        // runs are covered by the next one.
        let (wake, woken) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("scopelink-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &woken))
            .map_err(|e| DbError::new(format!("sqlite: starting the checkpoint thread: {e}")))?;
        Ok(Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// Asks for a checkpoint soon (after a commit). Never blocks.
    pub(crate) fn poke(&self) {
        match self.wake.as_ref().map(|wake| wake.try_send(())) {
            None | Some(Ok(()) | Err(TrySendError::Full(()))) => {}
            Some(Err(TrySendError::Disconnected(()))) => {
                tracing::warn!(
                    "the SQLite checkpoint thread has stopped; the writer checkpoints on its own"
                );
            }
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop.
        self.wake.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: a passive checkpoint per wake-up, a truncating one at the end.
fn run(conn: &Connection, woken: &Receiver<()>) {
    while woken.recv().is_ok() {
        if let Err(e) = checkpoint(conn, "PASSIVE") {
            tracing::warn!(error = %e, "SQLite checkpoint failed; the next commit retries it");
        }
    }
    let _ = conn.busy_timeout(Duration::ZERO);
    if let Err(e) = checkpoint(conn, "TRUNCATE") {
        tracing::debug!(error = %e, "final SQLite checkpoint skipped");
    }
}

/// Runs `PRAGMA wal_checkpoint(mode)`; a busy database is not an error (the
/// next checkpoint catches up).
fn checkpoint(conn: &Connection, mode: &str) -> Result<(), DbError> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
        .map_err(|e| DbError::new(format!("sqlite: checkpointing ({mode}): {e}")))
}
