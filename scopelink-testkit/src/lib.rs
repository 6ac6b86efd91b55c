//! Stateful provider simulators on wiremock, and data generators, for
//! scopelink's tests, examples and benchmarks. Not published.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod autotask;
pub mod connectwise;
pub mod fake_crm;
pub mod halopsa;
pub mod host;
pub mod oauth;
pub mod sim;
pub mod store_conformance;

pub use sim::rate_window;
