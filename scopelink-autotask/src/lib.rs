//! scopelink-autotask (placeholder)
#![forbid(unsafe_code)]
