//! Reliability and security suite for scopelink.
//!
//! The tests live in `tests/`; this library holds what they share:
//! a fault-injecting TCP proxy, a hostile HTTP server (endless and
//! oversized bodies), helpers that compare a store with a simulator's data,
//! a tracing capture for the secrets-in-logs checks, and the child process
//! the resume tests kill mid-sync.
#![forbid(unsafe_code)]

pub mod child;
pub mod compare;
pub mod fault_proxy;
pub mod gate;
pub mod hostile_server;
pub mod log_capture;
pub mod secrets;

/// The crates published to crates.io (every other workspace member has
/// `publish = false`): the manifest checks and the public-type scan cover
/// these.
pub const PUBLISHED_CRATES: [&str; 6] = [
    "scopelink-core",
    "scopelink-connectwise",
    "scopelink-halopsa",
    "scopelink-autotask",
    "scopelink-store-sqlite",
    "scopelink-crm",
];
