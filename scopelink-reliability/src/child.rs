//! A sync in a child process that the test kills mid-run.
//!
//! The resume tests check that a process killed (SIGKILL) in the middle of a
//! sync leaves a SQLite file the next process resumes from exactly. The test
//! binary runs itself as the child: the parent starts it with
//! [`SyncChild::command`] and [`SyncChildCommand::spawn`] (`--exact <child test>
//! --nocapture`, [`CHILD_ENV`] set), the child test sees [`is_child`] and
//! runs [`sync_in_child`], which prints a [`progress_line`] per progress
//! report and a `DONE` line at the end. The parent waits for a given
//! progress line, makes the simulator hang (so the child is caught
//! mid-sync whatever it is doing) and kills it with
//! [`SyncChild::kill_at_progress`], which also checks that the child was
//! killed before it finished.
//!
//! ```no_run
//! # async fn demo(db: &std::path::Path, conn: &scopelink_core::ConnectionId) {
//! use scopelink_core::DataType;
//! use scopelink_reliability::child::SyncChild;
//! let child = SyncChild::command("my_child_test", db, conn)
//!     .env("SL_CHILD_ZONE", "http://127.0.0.1:1234")
//!     .spawn();
//! child
//!     .kill_at_progress(DataType::Contacts, 3, || { /* make the simulator hang */ })
//!     .await;
//! # }
//! ```

use scopelink_core::connector::CrmSource;
use scopelink_core::sync::SyncProgress;
use scopelink_core::{ConnectionId, DataType, Store};
use scopelink_store_sqlite::SqliteStore;
use scopelink_testkit::host::{crm_request, Host};
use std::ffi::OsStr;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// Set in the child's environment: the test binary acts as the child.
pub const CHILD_ENV: &str = "SCOPELINK_RELIABILITY_CHILD";

/// The child's SQLite file.
const DB_ENV: &str = "SL_CHILD_DB";

/// The child's connection id (created in the file by the parent).
const CONN_ENV: &str = "SL_CHILD_CONN";

/// How long the parent waits for the child's progress line: generous, for
/// a loaded 2-core machine (the child usually gets there in a second).
const WAIT_FOR_PROGRESS: Duration = Duration::from_secs(120);

/// Whether this process is a child started by [`SyncChildCommand::spawn`]. The
/// child test does nothing unless it is; the parent test does nothing if it
/// is.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// In the child: the value the parent set for `name` with
/// [`SyncChildCommand::env`].
///
/// # Panics
/// If the parent did not set it (the child cannot run without it).
pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set for the child"))
}

/// The line the child prints for a progress report, and the parent waits
/// for: `PROGRESS contacts 3 false`.
pub fn progress_line(data_type: DataType, pages: u64, finished: bool) -> String {
    format!("PROGRESS {data_type} {pages} {finished}")
}

/// In the child: on a 2-worker runtime, opens the SQLite file and the
/// connection the parent named, builds the source with `connect` and runs a
/// non-full CRM sync from it, printing a [`progress_line`] per progress
/// report and `DONE <result>` at the end.
///
/// # Panics
/// If the runtime, the file or the parent's variables are missing.
pub fn sync_in_child<S, F>(connect: F)
where
    S: CrmSource,
    F: FnOnce() -> S,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let source = connect();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(var(DB_ENV)).await.expect("open the file"));
        let host = Host::attach(store, ConnectionId(var(CONN_ENV)));
        let progress = |p: &SyncProgress| {
            println!("{}", progress_line(p.data_type, p.pages, p.finished));
        };
        let result = host
            .engine
            .run(
                &host.access,
                &host.conn,
                &source,
                &crm_request(),
                Some(&progress),
            )
            .await;
        println!("DONE {result:?}");
    });
}

/// The command that starts the test binary as a child running one test.
#[derive(Debug)]
#[must_use = "start the child with `spawn`"]
pub struct SyncChildCommand {
    command: Command,
}

impl SyncChildCommand {
    /// Sets `name` in the child's environment (read there with [`var`]).
    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    /// Starts the child, reading its stdout line by line on a thread.
    ///
    /// # Panics
    /// If the test binary cannot be started.
    pub fn spawn(mut self) -> SyncChild {
        let mut child = self.command.spawn().expect("child started");
        let stdout = child.stdout.take().expect("child stdout");
        let (lines_tx, lines) = tokio::sync::mpsc::unbounded_channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        SyncChild {
            child,
            lines,
            reader: Some(reader),
            seen: Vec::new(),
        }
    }
}

/// The parent's handle on the child: its stdout lines so far. Dropping it
/// kills the child (so a failed assertion leaves no process behind).
#[derive(Debug)]
pub struct SyncChild {
    child: Child,
    lines: UnboundedReceiver<String>,
    reader: Option<JoinHandle<()>>,
    seen: Vec<String>,
}

impl SyncChild {
    /// The command for a child that runs only the test `child_test` (by its
    /// exact name, output not captured) of this test binary, syncing into
    /// the SQLite file `db` for the connection `conn` (both made by the
    /// parent). Add what else the child reads with [`SyncChildCommand::env`].
    ///
    /// # Panics
    /// If the test binary's path is unknown.
    pub fn command(child_test: &str, db: &Path, conn: &ConnectionId) -> SyncChildCommand {
        let mut command = Command::new(std::env::current_exe().expect("test binary"));
        command
            .args(["--exact", child_test, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .env(DB_ENV, db)
            .env(CONN_ENV, &conn.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        SyncChildCommand { command }
    }

    /// Waits until the child reports `pages` committed pages of
    /// `data_type` (not finished), then calls `hang` (which makes every
    /// answer of the simulator hang, so the child is caught mid-sync
    /// whatever it is doing) and kills the child.
    ///
    /// # Panics
    /// If the child does not report that page within two minutes, exits
    /// before it is killed, or printed `DONE` (it finished before it was
    /// killed); each message lists the lines the child printed.
    pub async fn kill_at_progress(mut self, data_type: DataType, pages: u64, hang: impl FnOnce()) {
        let wanted = progress_line(data_type, pages, false);
        let seen = &mut self.seen;
        let lines = &mut self.lines;
        let waited = tokio::time::timeout(WAIT_FOR_PROGRESS, async {
            while let Some(line) = lines.recv().await {
                let hit = line == wanted;
                seen.push(line);
                if hit {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(
            waited,
            Ok(true),
            "the child never reported {data_type} page {pages}: {:?}",
            self.seen
        );
        hang();
        self.child.kill().expect("kill");
        let status = self.child.wait().expect("reaped");
        assert!(!status.success(), "{status:?}");
        if let Some(reader) = self.reader.take() {
            reader.join().expect("reader");
        }
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        assert!(
            !self.seen.iter().any(|l| l.starts_with("DONE")),
            "the child finished before it was killed: {:?}",
            self.seen
        );
    }
}

impl Drop for SyncChild {
    fn drop(&mut self) {
        // Already reaped after `kill_at_progress`: both calls then fail
        // harmlessly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_name_the_type_the_pages_and_whether_finished() {
        assert_eq!(
            progress_line(DataType::Contacts, 3, false),
            "PROGRESS contacts 3 false"
        );
        assert_eq!(
            progress_line(DataType::Companies, 8, true),
            "PROGRESS companies 8 true"
        );
    }
}
