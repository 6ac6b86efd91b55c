//! scopelink-store-sqlite (placeholder)
#![forbid(unsafe_code)]
