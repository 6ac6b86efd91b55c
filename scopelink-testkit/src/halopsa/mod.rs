//! A stateful HaloPSA simulator on wiremock.
//!
//! It answers the calls the HaloPSA connector makes, shaped like the
//! fixtures in `fixtures/halopsa/` (see that folder's README for what is
//! verified about the real API):
//!
//! - `POST /auth/token`: OAuth2 client credentials (form body; checks
//!   `grant_type`, `client_id`, `client_secret`, `scope`). `?tenant=` is
//!   optional, as on a hosted instance's own host (public clients post
//!   there without it); a tenant other than the instance's is refused, and
//!   [`HaloPsaSimConfig::tenant_required`] makes it mandatory.
//!   `{"error":"invalid_client","error_description":..}` with 401 for bad
//!   credentials or an inactive application.
//! - `GET /api/authinfo` (no token needed): `auth_url`, and `tenant_id`
//!   where the tenant is required.
//! - Every other `/api/...` call needs `Authorization: Bearer <token>` with
//!   a live token (401 with an empty body otherwise).
//! - `GET /api/Agent/me`, `/api/Agent`, `/api/Status`, `/api/Priority`,
//!   `/api/TicketType` (bare arrays), `/api/Client`, `/api/Users`,
//!   `/api/Opportunities` (paged with `pageinate=true&page_size&page_no`, a
//!   `record_count` wrapper, the filters the connector uses), single records
//!   by id.
//! - `POST /api/Projects` and `POST /api/Tickets` (array bodies): create, or
//!   update when an item has an `id`; projects' `milestones` arrays get ids;
//!   tasks link to their parent (`parent_id`). A ticket's `milestone_id` is
//!   read-only (accepted with 201 and left unchanged); a ticket joins a
//!   milestone only through the project's `milestones[].tickets_list`
//!   (`[{"id": ticket}]`), which HaloPSA reports back as the milestone's
//!   read-only `tickets` join rows. Posting `milestones` replaces the whole
//!   list: milestones left out are deleted and a field left off an included
//!   milestone is blanked (its membership too, when `tickets_list` is left
//!   off). `GET /api/Projects/{id}?includedetails=true` and
//!   `GET /api/Tickets/{id}` read them back.
//!
//! Paths are matched case-insensitively. Fault injection:
//! [`HaloPsaSim::fail_next`], [`HaloPsaSim::fail_on_ticket_create`],
//! [`HaloPsaSim::fail_on_ticket_update`], [`HaloPsaSim::expire_tokens`],
//! [`HaloPsaSim::forbid`], [`HaloPsaSim::set_membership_writes`], and
//! [`HaloPsaSim::delete_milestone`] for an agent's edit in HaloPSA. Every
//! request is logged ([`HaloPsaSim::requests`]) without its `Authorization`
//! header.
//!
//! Where the real behaviour is unknown the simulator picks the stricter
//! reading, so a connector that works here works under either: the
//! milestones' `GET` rows carry `tickets` but no `tickets_list` (the
//! schema's `MileStone` has only `tickets`), milestone dates may be empty,
//! and replies may leave the milestones out
//! ([`HaloPsaSimConfig::echo_milestones`]).

use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use wiremock::{MockServer, Request, ResponseTemplate};

use crate::sim::{lock, mount, SimLayer, Simulate};
pub use crate::sim::{Latency, LoadStats, SimRequest};

mod config;
mod routes;
mod server;
mod state;
mod tickets;
mod tree;

use self::state::*;
pub use self::{config::*, server::*, tree::*};
