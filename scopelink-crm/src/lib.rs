//! scopelink-crm (placeholder)
#![forbid(unsafe_code)]
