//! scopelink-halopsa (placeholder)
#![forbid(unsafe_code)]
