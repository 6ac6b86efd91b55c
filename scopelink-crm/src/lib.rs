//! # scopelink-crm
//!
//! scopelink's CRM connectors, one module per CRM:
//!
//! - [`salesforce`]: Salesforce over its REST API: OAuth 2.0 (authorization
//!   code + PKCE through the core), SOQL sync of Accounts, Contacts and
//!   Opportunities, opportunity write-back, the API allocation, and
//!   Outbound Message receipt.
//!
//! Each CRM module has the provider-crate shape the workspace uses (see
//! `scopelink-connectwise`'s "Crate shape"): `settings`, `client`, `wire`,
//! `convert`, `crm`, `writeback` and the provider's extras, all private,
//! re-exported from the module. What CRMs share would live at this crate's
//! top level; nothing is shared yet.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod salesforce;
