//! A stateful Autotask PSA REST API (v1.0) simulator on wiremock.
//!
//! Written from Autotask's public documentation, Datto's Postman collection,
//! the swagger document and public clients (see `fixtures/autotask/README.md`
//! for the source of every shape), not from the connector.
//!
//! # What it serves
//!
//! - `GET /ATServicesRest/v1.0/zoneInformation?user=` (no auth):
//!   `{zoneName, url, webUrl, ci}` with `url` this server's
//!   `/ATServicesRest/`; an unknown or blank user gets 500
//!   `{"errors":["Zone information could not be determined"]}`.
//!   `GET /ATServicesRest/versioninformation`: `{"apiVersions":["1.0"]}`.
//! - Every other call needs the headers `UserName`, `Secret` and
//!   `ApiIntegrationCode` (names case-insensitive): an unknown user or a
//!   missing or wrong integration code gets 500 with an errors body, a
//!   wrong secret 401 with no body. Request bodies must be declared
//!   `application/json` (else 415).
//! - `POST {Entity}/query` and `GET {Entity}/query?search=<json>`, and
//!   `/query/count` (`{"queryCount": n}`): the filter grammar (`eq`,
//!   `noteq`, `gt`, `gte`, `lt`, `lte`, `beginsWith`, `endsWith`,
//!   `contains`, `exist`, `notExist`, `in`, `notIn`, nested `and`/`or`
//!   groups, one `udf` condition), `MaxRecords` 1..=500, `IncludeFields`,
//!   results by id, `pageDetails` with an absolute `nextPageUrl`.
//! - `GET {Entity}/{id}` (`{"item": ..}`), `entityInformation`,
//!   `entityInformation/fields` (picklists), `/userDefinedFields`.
//! - `POST` create (`{"itemId": n}`), `PATCH` / `PUT` with the id in the
//!   body; children through their parent (`Companies/{id}/Contacts`,
//!   `Projects/{id}/Phases`, `Projects/{id}/Tasks`,
//!   `CompanyWebhooks/{id}/Fields`); required fields and picklist values
//!   checked; `DELETE` where Autotask allows it.
//! - `CompanyWebhooks`, `ContactWebhooks` and their `Fields`;
//!   [`AutotaskSim::signed_callout`] builds a callout as Autotask sends it,
//!   and creates, updates and deletes (through the API, or
//!   [`AutotaskSim::edit`] / [`AutotaskSim::delete_company`] as a user's
//!   edit in Autotask) queue the callouts of the webhooks subscribed to
//!   them ([`AutotaskSim::take_callouts`]); they are not delivered.
//! - `ThresholdInformation`; the hourly request threshold of the database
//!   and the thread limit per integration code and endpoint, both refused
//!   with 429 and an errors body; latency with jitter.
//!
//! Tests read and change the data with [`AutotaskSim::companies`] (and the
//! other lists), [`AutotaskSim::touch`], [`AutotaskSim::insert_row`],
//! inject failures with [`AutotaskSim::fail_next`], change the limits with
//! [`AutotaskSim::set_limits`] and read them with
//! [`AutotaskSim::threshold_usage`] and [`AutotaskSim::limit_stats`].
//!
//! Entities served: Companies, Contacts, Opportunities, ConfigurationItems,
//! Products, Projects, Phases, Tasks, Resources and the webhook entities.
//! Where the real behaviour is unknown the simulator picks the stricter
//! reading (listed in the fixtures' README).

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use wiremock::{MockServer, Request, ResponseTemplate};

use crate::sim::rate_window::RollingWindow;
use crate::sim::{lock, mount, SimLayer, Simulate};
pub use crate::sim::{FaultStats, SimRequest};

mod config;
mod entities;
mod metadata;
mod picklists;
mod query;
mod routes;
mod seed;
mod server;
mod state;
mod values;
mod webhooks;
mod writes;

use self::entities::*;
use self::picklists::*;
use self::seed::*;
use self::state::*;
pub use self::{
    config::AutotaskSimConfig,
    server::AutotaskSim,
    state::{AutotaskLimitStats, ThresholdUsage},
    webhooks::{hook_signature, Callout, QueuedCallout, SimWebhook},
};
