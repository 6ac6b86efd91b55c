//! A conformance suite for implementations of scopelink-core's store traits
//! ([`Store`]): every store must behave like [`scopelink_core::MemoryStore`].
//!
//! Each `check_*` function exercises one trait on a fresh, empty store and
//! panics with a message naming what differed. [`run_all`] runs every check,
//! each on a new store from a factory:
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use scopelink_core::{MemoryStore, Store};
//! scopelink_testkit::store_conformance::run_all(|| async {
//!     Arc::new(MemoryStore::new()) as Arc<dyn Store>
//! })
//! .await;
//! # }
//! ```
//!
//! [`check_pending_authorizations`] is not in [`run_all`] or [`CHECKS`]: it
//! takes a `PendingAuthorizationStore`, a separate trait that [`Store`] does
//! not include (hosts without OAuth need not implement it), so a
//! `dyn Store` factory cannot feed it. Run it beside [`run_all`] on each
//! store that implements that trait.

use scopelink_core::Store;
use std::future::Future;
use std::sync::Arc;

mod connections;
mod fixtures;
mod links_activity;
mod pending;
mod records;
mod runs;

pub use connections::{
    check_connection_versions, check_connections, check_run_leases,
    check_writes_need_enabled_connection,
};
pub use fixtures::{at, company, connection, contact, lease, save_connections, LEASE_MINUTES};
pub use links_activity::{check_activity, check_links};
pub use pending::check_pending_authorizations;
pub use records::{check_record_keys, check_record_lookup, check_records};
pub use runs::{check_clear_sync_state, check_commit_page, check_finish_run, check_run_guard};

/// The names of every check, in the order [`run_all`] runs them.
pub const CHECKS: [&str; 13] = [
    "connections",
    "connection_versions",
    "run_leases",
    "writes_need_enabled_connection",
    "records",
    "record_keys",
    "record_lookup",
    "run_guard",
    "commit_page",
    "finish_run",
    "clear_sync_state",
    "links",
    "activity",
];

/// Runs every check, each on a fresh store from `fresh`.
pub async fn run_all<F, Fut>(mut fresh: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    check_connections(fresh().await.as_ref()).await;
    check_connection_versions(fresh().await.as_ref()).await;
    check_run_leases(fresh().await.as_ref()).await;
    check_writes_need_enabled_connection(fresh().await.as_ref()).await;
    check_records(fresh().await.as_ref()).await;
    check_record_keys(fresh().await.as_ref()).await;
    check_record_lookup(fresh().await.as_ref()).await;
    check_run_guard(fresh().await.as_ref()).await;
    check_commit_page(fresh().await.as_ref()).await;
    check_finish_run(fresh().await.as_ref()).await;
    check_clear_sync_state(fresh().await.as_ref()).await;
    check_links(fresh().await.as_ref()).await;
    check_activity(fresh().await.as_ref()).await;
}
