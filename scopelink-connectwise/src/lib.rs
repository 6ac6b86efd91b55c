//! scopelink-connectwise (placeholder)
#![forbid(unsafe_code)]
