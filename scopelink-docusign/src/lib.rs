//! scopelink-docusign (placeholder)
#![forbid(unsafe_code)]
