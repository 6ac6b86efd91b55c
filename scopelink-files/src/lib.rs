//! scopelink-files (placeholder)
#![forbid(unsafe_code)]
