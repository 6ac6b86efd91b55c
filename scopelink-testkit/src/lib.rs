//! Stateful provider simulators on wiremock, and data generators, for
//! scopelink's tests, examples and benchmarks. Not published.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod connectwise;
pub mod halopsa;
pub mod oauth;
pub mod rate_window;
pub mod store_conformance;
