//! A stateful ConnectWise Manage (PSA) simulator on wiremock.
//!
//! [`ConnectWiseSim::start`] binds a wiremock server on loopback and mounts
//! one [`wiremock::Respond`] implementation that routes on method and path
//! over shared state, so writes are visible to later reads. Responses have
//! the shapes of `fixtures/connectwise/*.json` (same field names, nested
//! references with `_info`), with every `*_href` pointing at the simulator.
//!
//! # What it serves
//!
//! - `GET /login/companyinfo/{companyId}` (no auth): the fields of the
//!   Developer Guide's example (`CompanyName`, `Codebase`, `VersionCode`,
//!   `VersionNumber`, `CompanyID`, `IsCloud`; no host), `Codebase` being
//!   [`ConnectWiseSimConfig::codebase`]. An unknown company gets `200` with the body
//!   `null`.
//! - With [`ConnectWiseSimConfig::with_cloud_site`], the simulator is that cloud site
//!   (`na.myconnectwise.net`) and refuses API calls whose `Host` is not its
//!   `api-` host, as ConnectWise does:
//!   `{"code":"Security","message":"SSL is required.","errors":null}`.
//! - `GET /{codebase}/system/callbackkey/index.rails?companyName=..&id=..`
//!   (no auth; the key URL of callbacks, with ConnectWise's double slash):
//!   `{"signing_key": "..."}`.
//! - Under `/{codebase}apis/3.0` (any first path segment is accepted, so
//!   `v4_6_release` works too), with Basic auth and `clientId` checked on
//!   every call:
//!   - collections with `page`/`pageSize` paging, `Link` headers,
//!     `conditions`, `childConditions`, `orderBy` and `fields`, plus
//!     `/count` and `/{id}`: `company/companies`, `company/contacts`,
//!     `sales/opportunities`, `company/configurations`,
//!     `procurement/catalog`, and the lookups `company/companies/types`,
//!     `company/companies/statuses`, `system/locations`,
//!     `company/marketDescriptions`, `sales/opportunities/statuses`,
//!     `sales/probabilities`, `sales/stages`, `project/statuses`,
//!     `service/priorities`, `service/boards`, and the stored
//!     `project/projects`, `project/tickets`, `system/callbacks`;
//!   - `GET system/info`;
//!   - `PATCH sales/opportunities/{id}` (JSON Patch `replace`/`add`/`remove`
//!     on top-level fields; references replaced whole);
//!   - `GET sales/opportunities/{id}/forecast` (a list holding the one
//!     `Forecast`, as the schema types it), `POST` of a whole `Forecast`
//!     there (new `forecastItems` created; the `Forecast` answered),
//!     `PATCH sales/opportunities/{id}/forecast/{itemId}`;
//!   - `POST system/callbacks`, `PATCH`/`DELETE system/callbacks/{id}`;
//!   - `POST project/projects`, `GET`/`POST project/projects/{id}/phases`,
//!     `POST project/tickets`, `POST project/tickets/{id}/tasks`.
//!
//! Forward-only paging (`pagination-type: forward-only` + `pageId`) is
//! supported too. Errors have ConnectWise's `{code, message, errors}` shape.
//! `conditions`, `childConditions` and `orderBy` reach any field path the
//! records render (`zip`, `site/id`, `primarySalesRep/id`, ...), as
//! ConnectWise's do; what ConnectWise refuses is a `400` (a field no record
//! has, an array field outside `childConditions`, `in` inside it, a
//! malformed expression), so connector bugs surface instead of silently
//! matching everything.
//!
//! # Generated data
//!
//! Deterministic: the `i`-th company (0-based) has id `250 + i`, status
//! [`COMPANY_STATUSES`]`[[0,0,0,1,2][i % 5]]` (Active ×3, Inactive, Credit
//! Hold), territory [`TERRITORIES`]`[i % 3]`, market [`MARKETS`]`[i % 4]`
//! and types from a cycle of 7 sets over [`COMPANY_TYPES`] (`i % 7`:
//! Client; Client + Managed Services; Prospect; Client; Vendor; Client +
//! Managed Services; Prospect). `_info.lastUpdated` is spread
//! pseudo-randomly over 2023-2024 (not in id order). Contacts follow their
//! companies (ids from 1811), then the orphans, whose company id does not
//! exist. Records are kept as compact structs and a page's JSON is rendered
//! when it is asked for. [`ConnectWiseSim::companies`] and
//! [`ConnectWiseSim::contacts`] expose the data for assertions.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() {
//! use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
//! let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(300, 3).with_orphan_contacts(5)).await;
//! println!("{} {}", sim.server_url(), sim.company_id());
//! sim.fail_next(1, 429); // the next request gets 429 with Retry-After: 0
//! sim.touch_company(250, "Renamed Ltd");
//! let (headers, body) = sim.callback_request("updated", "company", 250);
//! # let _ = (headers, body);
//! # }
//! ```

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::Digest as _;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use wiremock::{MockServer, Request, ResponseTemplate};

mod collections;
mod conditions;
mod config;
mod evaluate;
mod forecast;
mod helpers;
mod projects;
mod records;
mod render;
mod reply;
mod routes;
mod server;
mod state;
mod writes;

pub use self::config::*;
pub use self::records::*;
pub use self::routes::*;
pub use self::server::*;
use self::{collections::*, conditions::*, evaluate::*, helpers::*, reply::*, state::*};
use crate::sim::{lock, mount, SimLayer, Simulate};
pub use crate::sim::{FaultStats, Latency, LoadStats};
