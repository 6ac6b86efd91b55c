//! A stateful Salesforce simulator: a login host (the OAuth authorization
//! server, on [`crate::oauth::OAuthSim`]) and an instance host (the REST
//! API), both on loopback.
//!
//! Written from Salesforce's public documentation and public clients
//! (simple-salesforce, jsforce), not from any connector; the shapes and
//! their sources are listed in `fixtures/salesforce/README.md`.
//!
//! Login host ([`SalesforceSim::login_url`]):
//! - `GET /services/oauth2/authorize`: the web-server flow with PKCE
//!   (S256), exact callback URL ([`SalesforceSim::follow`] plays the
//!   browser).
//! - `POST /services/oauth2/token`: `authorization_code` (with
//!   `code_verifier`) and `refresh_token`; the answer carries
//!   `access_token`, `refresh_token` (code grant only), `instance_url`,
//!   `id`, `issued_at`, `signature`, `token_type`, `scope` and no
//!   `expires_in`.
//!
//! The instance host is also the org's My Domain
//! ([`SalesforceSim::my_domain_url`]): the two OAuth paths answer there too.
//!
//! Instance host ([`SalesforceSim::instance_url`]), under
//! `/services/data/`:
//! - `GET /services/data/` (no session needed): the versions list.
//!   Under `vNN.0/` a version the org does not list is 404 `NOT_FOUND`;
//!   a missing, unknown or expired session 401 `INVALID_SESSION_ID`.
//! - Every call past the session check is counted against the daily
//!   allocation and answered with `Sforce-Limit-Info: api-usage=N/M`;
//!   once it is spent, 403 `REQUEST_LIMIT_EXCEEDED`.
//! - `limits`, `query` / `queryAll` (`?q=` SOQL, see `soql.rs`; batches of
//!   `Sforce-Query-Options: batchSize=N`, 200..2000, default 2000, served
//!   through `nextRecordsUrl`), `sobjects` (describe global),
//!   `sobjects/{Type}/describe`, `sobjects/{Type}/deleted/` and
//!   `/updated/` (`?start=&end=`), `sobjects/{Type}/{Id}` (GET, PATCH
//!   → 204, DELETE → 204), `POST sobjects/{Type}` → 201
//!   `{id, success, errors}`.
//! - Errors are Salesforce's JSON array of `{message, errorCode,
//!   fields?}`.
//!
//! - `GET /services/oauth2/userinfo` on the login host answers
//!   Salesforce's OpenID userinfo (`sub` = the token's `id`,
//!   `organization_id`, `user_id`, ...).
//!
//! SOQL: `SELECT` fields, parent fields (`Account.Name`, `Owner.Name`), the
//! `OpportunityContactRoles` subquery (`null` when empty), `COUNT()` and
//! `COUNT(field) [alias]`; `WHERE` with `= != < > <= >= LIKE IN NOT IN`,
//! date literals (`TODAY`, `LAST_N_DAYS:n`, ...),
//! `AND`/`OR`/`NOT` and parentheses (mixing AND and OR unparenthesized is
//! refused); `ORDER BY` with `ASC`/`DESC`/`NULLS FIRST|LAST`; `LIMIT`;
//! `OFFSET` up to 2000. Unknown objects are `INVALID_TYPE`, unknown fields
//! and literals of the wrong type (a quoted datetime) `INVALID_FIELD`, bad
//! syntax `MALFORMED_QUERY`, all with Salesforce's message layout. Every
//! query is logged ([`SalesforceSim::queries`]).
//!
//! Objects: Account, Contact, Opportunity, OpportunityContactRole and User
//! (the owners), seeded from [`SalesforceSimConfig`]; `CurrencyIsoCode`
//! exists only when [`SalesforceSimConfig::multi_currency`] is set.
//! Datetimes keep whole seconds, as Salesforce's do. A StageName change
//! resets Probability, ForecastCategoryName, IsClosed and IsWon to the
//! stage's defaults unless Probability (or ForecastCategoryName) is sent
//! too; setting a contact role primary clears the others' flag and sets the
//! opportunity's read-only `ContactId`. Deleting an account deletes its
//! contacts and opportunities (moved to the recycle bin: `IsDeleted`, seen
//! by `queryAll` and `deleted/`). Outbound Message envelopes:
//! [`SalesforceSim::outbound_message`].

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use wiremock::{MockServer, Request, ResponseTemplate};

use crate::oauth::{LiveTokens, OAuthSim, OAuthSimConfig};
use crate::sim::{lock, mount, SimLayer, Simulate};
pub use crate::sim::{FaultStats, SimRequest};

mod config;
mod outbound;
mod query;
mod reply;
mod routes;
mod schema;
mod server;
mod soql;
mod state;
mod writes;

pub use config::SalesforceSimConfig;
pub use outbound::MAX_NOTIFICATIONS;
pub use server::SalesforceSim;

use reply::Reply;

/// A SOQL query the simulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimQuery {
    /// `queryAll` (deleted rows included) rather than `query`.
    pub all: bool,
    /// The SOQL text as received (URL-decoded).
    pub soql: String,
    /// The `Sforce-Query-Options` batch size asked for, if any (before
    /// clamping into 200..2000).
    pub batch_size: Option<usize>,
}
use state::State;
