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
//!   [`SimConfig::codebase`]. An unknown company gets `200` with the body
//!   `null`.
//! - With [`SimConfig::with_cloud_site`], the simulator is that cloud site
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
//! use scopelink_testkit::connectwise::{ConnectWiseSim, SimConfig};
//! let sim = ConnectWiseSim::start(SimConfig::new(300, 3).with_orphan_contacts(5)).await;
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
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

// ---------------------------------------------------------------------------
// Configuration and reference tables
// ---------------------------------------------------------------------------

/// What the simulator generates and which credentials it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Companies (ids from 250).
    pub companies: usize,
    /// Contacts per company (ids from 1811, company by company).
    pub contacts_per_company: usize,
    /// Opportunities per company (ids from 5012).
    pub opportunities_per_company: usize,
    /// A total number of opportunities spread evenly over the companies
    /// (for fewer opportunities than companies); overrides
    /// `opportunities_per_company` when set.
    pub opportunities_total: Option<usize>,
    /// Extra contacts whose company id does not exist (after the others).
    pub orphan_contacts: usize,
    /// Configurations per company (ids from 7301).
    pub configurations_per_company: usize,
    /// Product catalog items (ids from 880).
    pub catalog_items: usize,
    /// The ConnectWise login company id.
    pub company_id: String,
    /// The API member's public key.
    pub public_key: String,
    /// The API member's private key.
    pub private_key: String,
    /// The integration's `clientId`.
    pub client_id: String,
    /// The codebase `/login/companyinfo` reports, with its trailing slash.
    pub codebase: String,
    /// The ConnectWise cloud site the simulator stands for
    /// (`na.myconnectwise.net`), if any: API calls must then carry the
    /// `Host` of its `api-` host (`api-na.myconnectwise.net`).
    pub cloud_site: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            companies: 12,
            contacts_per_company: 2,
            opportunities_per_company: 1,
            opportunities_total: None,
            orphan_contacts: 0,
            configurations_per_company: 1,
            catalog_items: 5,
            company_id: "scopelinkdemo".into(),
            public_key: "SimPub4f2a9c1e7d".into(),
            private_key: "SimPriv8b3e5d0a6c".into(),
            client_id: "3f1c2b7e-5d4a-4c8b-9e21-7a6f0c5d3b19".into(),
            codebase: "v2025_1/".into(),
            cloud_site: None,
        }
    }
}

impl SimConfig {
    /// `companies` companies with `contacts_per_company` contacts each; the
    /// other settings as in [`SimConfig::default`].
    pub fn new(companies: usize, contacts_per_company: usize) -> Self {
        Self {
            companies,
            contacts_per_company,
            ..Self::default()
        }
    }

    /// With `n` orphan contacts (their company id does not exist).
    pub fn with_orphan_contacts(mut self, n: usize) -> Self {
        self.orphan_contacts = n;
        self
    }

    /// With `n` opportunities per company.
    pub fn with_opportunities_per_company(mut self, n: usize) -> Self {
        self.opportunities_per_company = n;
        self
    }

    /// With `n` opportunities in all, spread evenly over the companies
    /// (none when there are no companies).
    pub fn with_opportunities_total(mut self, n: usize) -> Self {
        self.opportunities_total = Some(n);
        self
    }

    /// With `n` configurations per company.
    pub fn with_configurations_per_company(mut self, n: usize) -> Self {
        self.configurations_per_company = n;
        self
    }

    /// With `n` catalog items.
    pub fn with_catalog_items(mut self, n: usize) -> Self {
        self.catalog_items = n;
        self
    }

    /// Standing for the cloud site `site` (`na.myconnectwise.net`, or its
    /// `api-` form): API calls are only answered when their `Host` header
    /// names the `api-` host (`api-na.myconnectwise.net`, any port).
    pub fn with_cloud_site(mut self, site: &str) -> Self {
        self.cloud_site = Some(site.trim().to_ascii_lowercase());
        self
    }

    /// The `api-` host of [`SimConfig::cloud_site`].
    fn cloud_api_host(&self) -> Option<String> {
        let site = self.cloud_site.as_deref()?;
        let bare = site.strip_prefix("api-").unwrap_or(site);
        Some(format!("api-{bare}"))
    }
}

/// Company statuses served by `/company/companies/statuses`: (id, name).
pub const COMPANY_STATUSES: [(u64, &str); 3] = [(1, "Active"), (2, "Inactive"), (3, "Credit Hold")];
/// Company types served by `/company/companies/types`: (id, name).
pub const COMPANY_TYPES: [(u64, &str); 4] = [
    (1, "Client"),
    (2, "Prospect"),
    (5, "Managed Services"),
    (9, "Vendor"),
];
/// Territories served by `/system/locations`: (id, name).
pub const TERRITORIES: [(u64, &str); 3] = [
    (11, "East Region"),
    (12, "West Region"),
    (13, "Central Region"),
];
/// Markets served by `/company/marketDescriptions`: (id, name).
pub const MARKETS: [(u64, &str); 4] = [
    (3, "Healthcare"),
    (4, "Legal"),
    (7, "Transportation"),
    (8, "Manufacturing"),
];
/// Opportunity stages served by `/sales/stages`: (id, name, probability id).
pub const STAGES: [(u64, &str, u64); 5] = [
    (1, "Lead", 2),
    (2, "Qualified", 4),
    (3, "Proposal", 5),
    (4, "Negotiation", 7),
    (5, "Closed", 9),
];
/// Probabilities served by `/sales/probabilities`: (id, percent).
pub const PROBABILITIES: [(u64, u32); 9] = [
    (1, 0),
    (2, 10),
    (3, 20),
    (4, 30),
    (5, 50),
    (6, 60),
    (7, 75),
    (8, 90),
    (9, 100),
];
/// Opportunity statuses served by `/sales/opportunities/statuses`:
/// (id, name, won, lost, closed).
pub const OPPORTUNITY_STATUSES: [(u64, &str, bool, bool, bool); 3] = [
    (1, "Open", false, false, false),
    (2, "Won", true, false, true),
    (3, "Lost", false, true, true),
];
/// Project boards (`/service/boards` with `projectFlag=true`): (id, name).
pub const PROJECT_BOARDS: [(u64, &str); 2] = [
    (31, "Projects - Onboarding"),
    (32, "Projects - Infrastructure"),
];

const STATUS_CYCLE: [u8; 5] = [0, 0, 0, 1, 2];
const TYPE_SETS: [&[u8]; 7] = [&[0], &[0, 2], &[1], &[0], &[3], &[0, 2], &[1]];
const CONTACT_TYPES: [(u64, &str); 3] = [
    (2, "Decision Maker"),
    (3, "Technical Contact"),
    (4, "Billing"),
];
const CONTACT_TYPE_SETS: [&[u8]; 3] = [&[0], &[1], &[]];
const OPP_TYPES: [(u64, &str); 3] = [(1, "New Business"), (2, "Managed Services"), (3, "Project")];
const OPP_KINDS: [&str; 4] = [
    "Managed Services Onboarding",
    "Firewall Refresh",
    "Microsoft 365 Migration",
    "Backup & DR",
];
const MEMBERS: [(u64, &str, &str); 2] = [
    (155, "jmorales", "Jada Morales"),
    (160, "dchen", "Dana Chen"),
];
const ADJ: [&str; 20] = [
    "Northwind",
    "Blue",
    "Quartz",
    "Harbor",
    "Summit",
    "Cedar",
    "Granite",
    "Silver",
    "Maple",
    "Pioneer",
    "Redwood",
    "Lakeside",
    "Ironwood",
    "Golden",
    "Prairie",
    "Coastal",
    "Evergreen",
    "Falcon",
    "Riverside",
    "Aspen",
];
const NOUN: [&str; 20] = [
    "Dental",
    "Logistics",
    "Law",
    "Clinic",
    "Builders",
    "Capital",
    "Foods",
    "Analytics",
    "Motors",
    "Pharmacy",
    "Studios",
    "Realty",
    "Freight",
    "Partners",
    "Labs",
    "Veterinary",
    "Energy",
    "Textiles",
    "Insurance",
    "Academy",
];
const SUFFIX: [&str; 10] = [
    "Group",
    "Inc.",
    "LLC",
    "Ltd",
    "Co.",
    "Associates",
    "Holdings",
    "Services",
    "Corp.",
    "LLP",
];
const FIRST: [&str; 16] = [
    "Priya", "Marcus", "Elena", "Jada", "Dana", "Tomas", "Aisha", "Kenji", "Sofia", "Liam", "Noor",
    "Mateo", "Grace", "Ravi", "Hannah", "Oscar",
];
const LAST: [&str; 16] = [
    "Raman",
    "O'Neill",
    "Kowalczyk",
    "Morales",
    "Chen",
    "Novak",
    "Okafor",
    "Tanaka",
    "Rossi",
    "Byrne",
    "Haddad",
    "Silva",
    "Lindqvist",
    "Patel",
    "Schmidt",
    "Dubois",
];
const TITLES: [&str; 6] = [
    "Practice Manager",
    "IT Director",
    "Office Administrator",
    "CFO",
    "Operations Lead",
    "Owner",
];
/// (street, city, state, zip, area code)
const ADDRESSES: [(&str, &str, &str, &str, &str); 8] = [
    ("Harbor Point Rd", "Boston", "MA", "02110", "617"),
    ("Pier Ave", "Seattle", "WA", "98101", "206"),
    ("Lexington Ave", "New York", "NY", "10016", "212"),
    ("Market St", "San Francisco", "CA", "94105", "415"),
    ("Peachtree St", "Atlanta", "GA", "30303", "404"),
    ("Congress Ave", "Austin", "TX", "78701", "512"),
    ("Michigan Ave", "Chicago", "IL", "60611", "312"),
    ("Colfax Ave", "Denver", "CO", "80202", "303"),
];
/// (type id, type name, model, manufacturer id, manufacturer name)
const CONFIG_TYPES: [(u64, &str, &str, u64, &str); 3] = [
    (52, "Firewall", "FortiGate 60F", 14, "Fortinet"),
    (25, "Managed Server", "ProLiant DL360 Gen10", 21, "HPE"),
    (31, "Workstation", "OptiPlex 7010", 9, "Dell"),
];
/// (identifier, description, subcategory, type, productClass, price, cost,
/// recurring, category)
type CatalogTemplate = (
    &'static str,
    &'static str,
    (u64, &'static str),
    (u64, &'static str),
    &'static str,
    f64,
    f64,
    bool,
    (u64, &'static str),
);
const CATALOG: [CatalogTemplate; 5] = [
    (
        "MSP-SEAT-STD",
        "Managed desktop seat - Standard (monthly)",
        (12, "Seats"),
        (4, "Recurring"),
        "Agreement",
        95.0,
        38.5,
        true,
        (3, "Managed Services"),
    ),
    (
        "FW-60F-BNDL",
        "Firewall 60F + 1yr UTM bundle",
        (2, "Network Security"),
        (1, "Hardware"),
        "NonInventory",
        1349.0,
        980.0,
        false,
        (1, "Hardware"),
    ),
    (
        "PS-HOURLY",
        "Professional services - per hour",
        (20, "Labor"),
        (6, "Service"),
        "Service",
        175.0,
        0.0,
        false,
        (4, "Services"),
    ),
    (
        "M365-BP",
        "Microsoft 365 Business Premium (monthly)",
        (14, "Licensing"),
        (4, "Recurring"),
        "NonInventory",
        26.4,
        22.0,
        true,
        (5, "Software"),
    ),
    (
        "BKP-TB",
        "Cloud backup - per TB (monthly)",
        (16, "Backup"),
        (4, "Recurring"),
        "Agreement",
        120.0,
        45.0,
        true,
        (3, "Managed Services"),
    ),
];

const COMPANY_BASE_ID: u64 = 250;
const CONTACT_BASE_ID: u64 = 1811;
const OPPORTUNITY_BASE_ID: u64 = 5012;
const CONFIGURATION_BASE_ID: u64 = 7301;
const CATALOG_BASE_ID: u64 = 880;
/// 2023-01-01T00:00:00Z.
const BASE_TS: i64 = 1_672_531_200;
/// Two years.
const SPAN: i64 = 2 * 365 * 86_400;
const MAX_PAGE_SIZE: u64 = 1000;
const DEFAULT_PAGE_SIZE: u64 = 25;
const API_MEMBER: &str = "APIScopelink";

// ---------------------------------------------------------------------------
// Small helpers: hashing, time, JSON text
// ---------------------------------------------------------------------------

fn mix(mut x: u64) -> u64 {
    // splitmix64
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn spread(salt: u64, i: u64, span: i64) -> i64 {
    (mix(salt.wrapping_mul(0x1000_0000_01b3) ^ i) % span.max(1) as u64) as i64
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Appends `secs` as `YYYY-MM-DDTHH:MM:SSZ` (ConnectWise's format).
fn push_ts(out: &mut String, secs: i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    );
}

fn ts(secs: i64) -> String {
    let mut s = String::with_capacity(20);
    push_ts(&mut s, secs);
    s
}

fn now_secs() -> i64 {
    Utc::now().timestamp()
}

/// Parses a ConnectWise date-time (RFC 3339, or without zone, or a date) to
/// milliseconds since the epoch.
fn parse_ts_millis(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b != 0x7f)
    {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

fn push_num(out: &mut String, n: u64) {
    let _ = write!(out, "{n}");
}

fn push_f64(out: &mut String, f: f64) {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        let _ = write!(out, "{f:.1}");
    } else if f.is_finite() {
        let _ = write!(out, "{f}");
    } else {
        out.push_str("0.0");
    }
}

fn push_bool(out: &mut String, b: bool) {
    out.push_str(if b { "true" } else { "false" });
}

/// `,"key":` (the leading comma included).
fn key(out: &mut String, k: &str) {
    out.push_str(",\"");
    out.push_str(k);
    out.push_str("\":");
}

/// `,"key":"<timestamp>"`.
fn key_ts(out: &mut String, k: &str, secs: i64) {
    key(out, k);
    out.push('"');
    push_ts(out, secs);
    out.push('"');
}

/// `,"key":"<text>"`.
fn key_str(out: &mut String, k: &str, v: &str) {
    key(out, k);
    push_json_str(out, v);
}

/// A reference object:
/// `{"id":..,["identifier":..,]"name":..,"_info":{"<href_key>":"<api><path><id>"}}`.
#[allow(clippy::too_many_arguments)]
fn push_ref(
    out: &mut String,
    api: &str,
    id: u64,
    identifier: Option<&str>,
    name: &str,
    href_key: &str,
    path: &str,
) {
    out.push_str("{\"id\":");
    push_num(out, id);
    if let Some(ident) = identifier {
        key_str(out, "identifier", ident);
    }
    key_str(out, "name", name);
    out.push_str(",\"_info\":{\"");
    out.push_str(href_key);
    out.push_str("\":\"");
    out.push_str(api);
    out.push_str(path);
    push_num(out, id);
    out.push_str("\"}}");
}

/// `,"key":{reference}`.
#[allow(clippy::too_many_arguments)]
fn key_ref(
    out: &mut String,
    k: &str,
    api: &str,
    id: u64,
    identifier: Option<&str>,
    name: &str,
    href_key: &str,
    path: &str,
) {
    key(out, k);
    push_ref(out, api, id, identifier, name, href_key, path);
}

/// `,"key":"<api><path>"` for `_info` hrefs.
fn key_href(out: &mut String, k: &str, api: &str, path: std::fmt::Arguments<'_>) {
    key(out, k);
    out.push('"');
    out.push_str(api);
    let _ = out.write_fmt(path);
    out.push('"');
}

fn guid(prefix: u32, n: u64) -> String {
    format!("{prefix:08x}-0000-4000-8000-{:012}", n % 1_000_000_000_000)
}

// ---------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Company {
    id: u64,
    seq: u64,
    name: Box<str>,
    identifier: Box<str>,
    status: u8,
    territory: u8,
    market: u8,
    types: u8,
    last_updated: i64,
    date_entered: i64,
    updated_by: &'static str,
    default_contact: Option<u64>,
}

#[derive(Debug, Clone)]
struct Contact {
    id: u64,
    seq: u64,
    company: Option<u64>,
    first: Box<str>,
    last: &'static str,
    title: &'static str,
    types: u8,
    inactive: bool,
    last_updated: i64,
    updated_by: &'static str,
}

#[derive(Debug, Clone)]
struct Opportunity {
    id: u64,
    company: u64,
    contact: Option<u64>,
    name: Box<str>,
    kind: u8,
    stage: u64,
    status: u64,
    probability: u64,
    expected_close: i64,
    closed_date: Option<i64>,
    notes: Box<str>,
    source: Box<str>,
    customer_po: Box<str>,
    rep: u8,
    last_updated: i64,
    date_entered: i64,
    updated_by: &'static str,
}

#[derive(Debug, Clone)]
struct Configuration {
    id: u64,
    seq: u64,
    company: u64,
    contact: Option<u64>,
    kind: u8,
    active: bool,
    last_updated: i64,
}

#[derive(Debug, Clone)]
struct CatalogItem {
    id: u64,
    seq: u64,
    inactive: bool,
    last_updated: i64,
}

/// A company as the simulator holds it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyView {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Identifier.
    pub identifier: String,
    /// Status id (see [`COMPANY_STATUSES`]).
    pub status_id: u64,
    /// Territory id (see [`TERRITORIES`]).
    pub territory_id: u64,
    /// Market id (see [`MARKETS`]).
    pub market_id: u64,
    /// Type ids (see [`COMPANY_TYPES`]).
    pub type_ids: Vec<u64>,
    /// `_info.lastUpdated`.
    pub last_updated: DateTime<Utc>,
}

/// A contact as the simulator holds it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactView {
    /// Id.
    pub id: u64,
    /// The company id it references, if any.
    pub company_id: Option<u64>,
    /// Whether that company exists (false for orphans).
    pub company_exists: bool,
    /// `_info.lastUpdated`.
    pub last_updated: DateTime<Utc>,
}

/// An opportunity as the simulator holds it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpportunityView {
    /// Id.
    pub id: u64,
    /// Company id.
    pub company_id: u64,
    /// Contact id.
    pub contact_id: Option<u64>,
    /// Name.
    pub name: String,
    /// Stage id (see [`STAGES`]).
    pub stage_id: u64,
    /// Status id (see [`OPPORTUNITY_STATUSES`]).
    pub status_id: u64,
    /// Probability id (see [`PROBABILITIES`]).
    pub probability_id: u64,
    /// Expected close date.
    pub expected_close: DateTime<Utc>,
    /// `_info.lastUpdated`.
    pub last_updated: DateTime<Utc>,
}

fn utc(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The generated and mutable records.
struct Data {
    api: String,
    companies: Vec<Company>,
    contacts: Vec<Contact>,
    opportunities: Vec<Opportunity>,
    configurations: Vec<Configuration>,
    catalog: Vec<CatalogItem>,
}

fn find<T>(v: &[T], id: u64, key: impl Fn(&T) -> u64) -> Option<usize> {
    v.binary_search_by_key(&id, key).ok()
}

impl Data {
    fn generate(cfg: &SimConfig, api: String) -> Self {
        let n = cfg.companies as u64;
        let cpc = cfg.contacts_per_company as u64;
        let mut companies = Vec::with_capacity(cfg.companies);
        for i in 0..n {
            let id = COMPANY_BASE_ID + i;
            let adj = ADJ[(i % 20) as usize];
            let noun = NOUN[((i / 20) % 20) as usize];
            let suffix = SUFFIX[((i / 400) % 10) as usize];
            let round = i / 4000;
            let name = if round == 0 {
                format!("{adj} {noun} {suffix}")
            } else {
                format!("{adj} {noun} {suffix} {}", round + 1)
            };
            let last_updated = BASE_TS + spread(1, i, SPAN);
            companies.push(Company {
                id,
                seq: i,
                name: name.into(),
                identifier: format!("{adj}{noun}{id}").into(),
                status: STATUS_CYCLE[(i % 5) as usize],
                territory: (i % 3) as u8,
                market: (i % 4) as u8,
                types: (i % 7) as u8,
                last_updated,
                date_entered: last_updated - spread(2, i, SPAN),
                updated_by: MEMBERS[(i % 2) as usize].1,
                default_contact: (cpc > 0).then(|| CONTACT_BASE_ID + i * cpc),
            });
        }
        let orphan_company_base = COMPANY_BASE_ID + n + 1000;
        let total_contacts = n * cpc + cfg.orphan_contacts as u64;
        let mut contacts = Vec::with_capacity(total_contacts as usize);
        for k in 0..total_contacts {
            let company = if k < n * cpc {
                COMPANY_BASE_ID + k / cpc.max(1)
            } else {
                orphan_company_base + (k - n * cpc)
            };
            contacts.push(Contact {
                id: CONTACT_BASE_ID + k,
                seq: k,
                company: Some(company),
                first: FIRST[(k % 16) as usize].into(),
                last: LAST[((k / 16 + k * 7) % 16) as usize],
                title: TITLES[(k % 6) as usize],
                types: (k % 3) as u8,
                inactive: k % 10 == 9,
                last_updated: BASE_TS + spread(3, k, SPAN),
                updated_by: MEMBERS[(k % 2) as usize].1,
            });
        }
        let opc = cfg.opportunities_per_company as u64;
        let total_opportunities = match cfg.opportunities_total {
            Some(_) if n == 0 => 0,
            Some(t) => t as u64,
            None => n * opc,
        };
        let mut opportunities = Vec::with_capacity(total_opportunities as usize);
        for k in 0..total_opportunities {
            let ci = match cfg.opportunities_total {
                Some(_) => k * n / total_opportunities,
                None => k / opc.max(1),
            };
            let company = &companies[ci as usize];
            let stage = STAGES[(k % 5) as usize];
            let status = if stage.0 == 5 {
                if k % 2 == 0 {
                    2
                } else {
                    3
                }
            } else {
                1
            };
            let probability = match status {
                2 => 9,
                3 => 1,
                _ => stage.2,
            };
            let expected_close =
                (BASE_TS + 400 * 86_400 + spread(4, k, 300 * 86_400)).div_euclid(86_400) * 86_400;
            let last_updated = BASE_TS + spread(5, k, SPAN);
            opportunities.push(Opportunity {
                id: OPPORTUNITY_BASE_ID + k,
                company: company.id,
                contact: company.default_contact,
                name: format!("{} - {}", company.name, OPP_KINDS[(k % 4) as usize]).into(),
                kind: (k % 3) as u8,
                stage: stage.0,
                status,
                probability,
                expected_close,
                closed_date: (status != 1).then_some(expected_close),
                notes: "".into(),
                source: if k % 3 == 0 { "Referral" } else { "Website" }.into(),
                customer_po: "".into(),
                rep: (k % 2) as u8,
                last_updated,
                date_entered: last_updated - spread(6, k, 180 * 86_400),
                updated_by: MEMBERS[(k % 2) as usize].1,
            });
        }
        let cfpc = cfg.configurations_per_company as u64;
        let mut configurations = Vec::with_capacity((n * cfpc) as usize);
        for k in 0..n * cfpc {
            let company = &companies[(k / cfpc.max(1)) as usize];
            configurations.push(Configuration {
                id: CONFIGURATION_BASE_ID + k,
                seq: k,
                company: company.id,
                contact: company.default_contact,
                kind: (k % 3) as u8,
                active: k % 5 != 4,
                last_updated: BASE_TS + spread(7, k, SPAN),
            });
        }
        let catalog = (0..cfg.catalog_items as u64)
            .map(|k| CatalogItem {
                id: CATALOG_BASE_ID + k,
                seq: k,
                inactive: k % 7 == 2,
                last_updated: BASE_TS + spread(8, k, SPAN),
            })
            .collect();
        Data {
            api,
            companies,
            contacts,
            opportunities,
            configurations,
            catalog,
        }
    }

    fn company(&self, id: u64) -> Option<&Company> {
        find(&self.companies, id, |c| c.id).map(|i| &self.companies[i])
    }

    fn contact(&self, id: u64) -> Option<&Contact> {
        find(&self.contacts, id, |c| c.id).map(|i| &self.contacts[i])
    }

    fn opportunity(&self, id: u64) -> Option<&Opportunity> {
        find(&self.opportunities, id, |c| c.id).map(|i| &self.opportunities[i])
    }

    /// (identifier, name) of a company id, or a made-up pair for ids that do
    /// not exist (orphan references).
    fn company_label(&self, id: u64) -> (Cow<'_, str>, Cow<'_, str>) {
        match self.company(id) {
            Some(c) => (Cow::Borrowed(&*c.identifier), Cow::Borrowed(&*c.name)),
            None => (
                Cow::Owned(format!("FormerClient{id}")),
                Cow::Owned(format!("Former Client {id}")),
            ),
        }
    }

    fn contact_name(&self, id: u64) -> Cow<'_, str> {
        match self.contact(id) {
            Some(c) => Cow::Owned(format!("{} {}", c.first, c.last)),
            None => Cow::Owned(format!("Contact {id}")),
        }
    }

    fn company_ref(&self, out: &mut String, k: &str, id: u64) {
        let (ident, name) = self.company_label(id);
        key_ref(
            out,
            k,
            &self.api,
            id,
            Some(&ident),
            &name,
            "company_href",
            "/company/companies/",
        );
    }

    fn contact_ref(&self, out: &mut String, k: &str, id: u64) {
        let name = self.contact_name(id);
        key_ref(
            out,
            k,
            &self.api,
            id,
            None,
            &name,
            "contact_href",
            "/company/contacts/",
        );
    }

    fn site_ref(&self, out: &mut String, company: u64) {
        key(out, "site");
        out.push_str("{\"id\":");
        push_num(out, 1000 + company);
        out.push_str(",\"name\":\"Main\"");
        out.push_str(",\"_info\":{\"site_href\":\"");
        out.push_str(&self.api);
        let _ = write!(
            out,
            "/company/companies/{company}/sites/{}\"}}}}",
            1000 + company
        );
    }
}

fn member_ref(out: &mut String, api: &str, k: &str, m: u8) {
    let (id, ident, name) = MEMBERS[m as usize % MEMBERS.len()];
    key_ref(
        out,
        k,
        api,
        id,
        Some(ident),
        name,
        "member_href",
        "/system/members/",
    );
}

fn stage_name(id: u64) -> &'static str {
    STAGES.iter().find(|s| s.0 == id).map_or("Unknown", |s| s.1)
}

fn opp_status(id: u64) -> (u64, &'static str, bool, bool, bool) {
    OPPORTUNITY_STATUSES
        .iter()
        .copied()
        .find(|s| s.0 == id)
        .unwrap_or(OPPORTUNITY_STATUSES[0])
}

fn probability_percent(id: u64) -> u32 {
    PROBABILITIES.iter().find(|p| p.0 == id).map_or(0, |p| p.1)
}

// ---------------------------------------------------------------------------
// Rendering (fixture shapes)
// ---------------------------------------------------------------------------

impl Company {
    fn render(&self, d: &Data, out: &mut String) {
        let api = d.api.as_str();
        let id = self.id;
        let (street, city, state, zip, area) = ADDRESSES[(self.seq % 8) as usize];
        out.push_str("{\"id\":");
        push_num(out, id);
        key_str(out, "identifier", &self.identifier);
        key_str(out, "name", &self.name);
        let (sid, sname) = COMPANY_STATUSES[self.status as usize];
        key_ref(
            out,
            "status",
            api,
            sid,
            None,
            sname,
            "status_href",
            "/company/companies/statuses/",
        );
        key(out, "addressLine1");
        let _ = write!(out, "\"{} {street}\"", 10 + self.seq % 890);
        key_str(out, "addressLine2", "");
        key_str(out, "city", city);
        key_str(out, "state", state);
        key_str(out, "zip", zip);
        key_ref(
            out,
            "country",
            api,
            1,
            None,
            "United States",
            "country_href",
            "/company/countries/",
        );
        key(out, "phoneNumber");
        let _ = write!(out, "\"{area}555{:04}\"", self.seq % 10_000);
        key_str(out, "faxNumber", "");
        key(out, "website");
        let _ = write!(
            out,
            "\"www.{}.example\"",
            self.identifier.to_ascii_lowercase()
        );
        let (tid, tname) = TERRITORIES[self.territory as usize];
        key_ref(
            out,
            "territory",
            api,
            tid,
            None,
            tname,
            "location_href",
            "/system/locations/",
        );
        let (mid, mname) = MARKETS[self.market as usize];
        key_ref(
            out,
            "market",
            api,
            mid,
            None,
            mname,
            "Market_href",
            "/company/marketDescriptions/",
        );
        key(out, "accountNumber");
        let _ = write!(out, "\"{id}\"");
        if let Some(c) = self.default_contact {
            d.contact_ref(out, "defaultContact", c);
        }
        key_ts(out, "dateAcquired", self.date_entered);
        out.push_str(",\"annualRevenue\":0.0,\"numberOfEmployees\":0,\"leadFlag\":false,\"unsubscribeFlag\":false,\"taxIdentifier\":\"\",\"deletedFlag\":false");
        key(out, "mobileGuid");
        let _ = write!(out, "\"5b0f2c1e-0000-4000-8000-{id:012}\"");
        key(out, "isVendorFlag");
        push_bool(out, TYPE_SETS[self.types as usize].contains(&3));
        key(out, "types");
        out.push('[');
        for (n, t) in TYPE_SETS[self.types as usize].iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let (tid, tname) = COMPANY_TYPES[*t as usize];
            push_ref(
                out,
                api,
                tid,
                None,
                tname,
                "type_href",
                "/company/companies/types/",
            );
        }
        out.push(']');
        d.site_ref(out, id);
        out.push_str(",\"_info\":{\"lastUpdated\":\"");
        push_ts(out, self.last_updated);
        out.push('"');
        key_str(out, "updatedBy", self.updated_by);
        key_ts(out, "dateEntered", self.date_entered);
        key_str(out, "enteredBy", "import1");
        for (k, path) in [
            ("contacts_href", "/company/contacts?conditions=company/id="),
            (
                "agreements_href",
                "/finance/agreements?conditions=company/id=",
            ),
            ("tickets_href", "/service/tickets?conditions=company/id="),
            (
                "opportunities_href",
                "/sales/opportunities?conditions=company/id=",
            ),
            (
                "activities_href",
                "/sales/activities?conditions=company/id=",
            ),
            ("projects_href", "/project/projects?conditions=company/id="),
            (
                "configurations_href",
                "/company/configurations?conditions=company/id=",
            ),
            ("orders_href", "/sales/orders?conditions=company/id="),
            (
                "documents_href",
                "/system/documents?recordType=Company&recordId=",
            ),
        ] {
            key_href(out, k, api, format_args!("{path}{id}"));
        }
        for (k, tail) in [
            ("sites_href", "sites"),
            ("teams_href", "teams"),
            ("reports_href", "managementSummaryReports"),
            ("notes_href", "notes"),
        ] {
            key_href(out, k, api, format_args!("/company/companies/{id}/{tail}"));
        }
        out.push_str("},\"customFields\":[]}");
    }
}

impl Contact {
    fn render(&self, d: &Data, out: &mut String) {
        let api = d.api.as_str();
        let id = self.id;
        out.push_str("{\"id\":");
        push_num(out, id);
        key_str(out, "firstName", &self.first);
        key_str(out, "lastName", self.last);
        let area = ADDRESSES[(self.seq % 8) as usize].4;
        let phone = format!("{area}555{:04}", (self.seq * 7 + 1) % 10_000);
        let domain = match self.company.and_then(|c| d.company(c)) {
            Some(c) => c.identifier.to_ascii_lowercase(),
            None => format!("former{}", self.company.unwrap_or(0)),
        };
        if let Some(c) = self.company {
            d.company_ref(out, "company", c);
            d.site_ref(out, c);
        }
        key(out, "inactiveFlag");
        push_bool(out, self.inactive);
        key_str(out, "title", self.title);
        out.push_str(",\"marriedFlag\":false,\"childrenFlag\":false,\"disablePortalLoginFlag\":true,\"unsubscribeFlag\":false");
        key(out, "mobileGuid");
        let _ = write!(out, "\"9a1d6e44-0000-4000-8000-{id:012}\"");
        key_str(out, "defaultPhoneType", "Direct");
        key_str(out, "defaultPhoneNbr", &phone);
        out.push_str(",\"defaultBillingFlag\":false,\"defaultFlag\":");
        push_bool(out, self.seq % 3 == 0);
        out.push_str(",\"communicationItems\":[{\"id\":");
        push_num(out, id * 10 + 1);
        out.push_str(",\"type\":");
        push_ref(
            out,
            api,
            2,
            None,
            "Direct",
            "type_href",
            "/company/communicationTypes/",
        );
        key_str(out, "value", &phone);
        out.push_str(",\"defaultFlag\":true,\"communicationType\":\"Phone\"},{\"id\":");
        push_num(out, id * 10 + 2);
        out.push_str(",\"type\":");
        push_ref(
            out,
            api,
            1,
            None,
            "Email",
            "type_href",
            "/company/communicationTypes/",
        );
        key(out, "value");
        let mut email = String::with_capacity(48);
        for c in self.first.chars().chain(['.']).chain(self.last.chars()) {
            if c.is_ascii_alphanumeric() || c == '.' {
                email.push(c.to_ascii_lowercase());
            }
        }
        let _ = write!(email, "{}@{domain}.example", self.seq % 1000);
        push_json_str(out, &email);
        out.push_str(",\"defaultFlag\":true,\"communicationType\":\"Email\"}]");
        key(out, "types");
        out.push('[');
        for (n, t) in CONTACT_TYPE_SETS[self.types as usize].iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let (tid, tname) = CONTACT_TYPES[*t as usize];
            push_ref(
                out,
                api,
                tid,
                None,
                tname,
                "type_href",
                "/company/contacts/types/",
            );
        }
        out.push_str("],\"customFields\":[],\"ignoreDuplicates\":false");
        out.push_str(",\"_info\":{\"lastUpdated\":\"");
        push_ts(out, self.last_updated);
        out.push('"');
        key_str(out, "updatedBy", self.updated_by);
        for tail in ["communications", "notes", "tracks", "portalSecurity"] {
            key_href(
                out,
                &format!("{tail}_href"),
                api,
                format_args!("/company/contacts/{id}/{tail}"),
            );
        }
        key_href(
            out,
            "activities_href",
            api,
            format_args!("/sales/activities?conditions=contact/id={id}"),
        );
        key_href(
            out,
            "documents_href",
            api,
            format_args!("/system/documents?recordType=Contact&recordId={id}"),
        );
        for (k, path) in [
            (
                "configurations_href",
                "/company/configurations?conditions=contact/id=",
            ),
            ("tickets_href", "/service/tickets?conditions=contact/id="),
            (
                "opportunities_href",
                "/sales/opportunities?conditions=contact/id=",
            ),
            ("projects_href", "/project/projects?conditions=contact/id="),
        ] {
            key_href(out, k, api, format_args!("{path}{id}"));
        }
        key(out, "image_href");
        out.push('"');
        out.push_str(api);
        let _ = write!(out, "/company/contacts/{id}/image?lastModified=");
        push_ts(out, self.last_updated);
        out.push_str("\"}}");
    }
}

impl Opportunity {
    fn render(&self, d: &Data, out: &mut String) {
        let api = d.api.as_str();
        out.push_str("{\"id\":");
        push_num(out, self.id);
        key_str(out, "name", &self.name);
        key_ts(out, "expectedCloseDate", self.expected_close);
        let (tid, tname) = OPP_TYPES[self.kind as usize % OPP_TYPES.len()];
        key_ref(
            out,
            "type",
            api,
            tid,
            None,
            tname,
            "type_href",
            "/sales/opportunities/types/",
        );
        key_ref(
            out,
            "stage",
            api,
            self.stage,
            None,
            stage_name(self.stage),
            "stage_href",
            "/sales/stages/",
        );
        let status = opp_status(self.status);
        key_ref(
            out,
            "status",
            api,
            status.0,
            None,
            status.1,
            "status_href",
            "/sales/opportunities/statuses/",
        );
        key_ref(
            out,
            "priority",
            api,
            2,
            None,
            "Medium",
            "priority_href",
            "/sales/opportunities/priorities/",
        );
        key_str(out, "notes", &self.notes);
        key_ref(
            out,
            "probability",
            api,
            self.probability,
            None,
            &probability_percent(self.probability).to_string(),
            "probability_href",
            "/sales/probabilities/",
        );
        key_str(out, "source", &self.source);
        key_ref(
            out,
            "rating",
            api,
            1,
            None,
            "Hot",
            "rating_href",
            "/sales/opportunities/ratings/",
        );
        member_ref(out, api, "primarySalesRep", self.rep);
        out.push_str(",\"locationId\":11,\"businessUnitId\":10");
        d.company_ref(out, "company", self.company);
        if let Some(c) = self.contact {
            d.contact_ref(out, "contact", c);
        }
        d.site_ref(out, self.company);
        key_str(out, "customerPO", &self.customer_po);
        key_ts(out, "pipelineChangeDate", self.last_updated);
        key_ts(out, "dateBecameLead", self.date_entered);
        out.push_str(",\"totalSalesTax\":0.0,\"currency\":{\"id\":7,\"symbol\":\"$\",\"currencyCode\":\"USD\",\"name\":\"US Dollar\",\"_info\":{\"currency_href\":\"");
        out.push_str(api);
        out.push_str("/finance/currencies/7\"}},\"companyLocationId\":11");
        out.push_str(",\"_info\":{\"lastUpdated\":\"");
        push_ts(out, self.last_updated);
        out.push('"');
        key_str(out, "updatedBy", self.updated_by);
        key_ts(out, "dateEntered", self.date_entered);
        key_str(out, "enteredBy", MEMBERS[self.rep as usize % 2].1);
        out.push_str("},\"customFields\":[]");
        if let Some(closed) = self.closed_date {
            key_ts(out, "closedDate", closed);
            member_ref(out, api, "closedBy", self.rep);
        }
        out.push('}');
    }
}

impl Configuration {
    fn short(&self, d: &Data) -> String {
        let (ident, _) = d.company_label(self.company);
        ident
            .chars()
            .filter(|c| c.is_ascii_uppercase())
            .take(3)
            .collect()
    }

    fn name(&self, d: &Data) -> String {
        let kind = match self.kind % 3 {
            0 => "FW",
            1 => "SRV",
            _ => "WS",
        };
        format!("{}-{kind}{:02}", self.short(d), self.seq % 100)
    }

    fn render(&self, d: &Data, out: &mut String) {
        let api = d.api.as_str();
        let (tid, tname, model, mid, mname) = CONFIG_TYPES[self.kind as usize % CONFIG_TYPES.len()];
        let short = self.short(d);
        out.push_str("{\"id\":");
        push_num(out, self.id);
        key_str(out, "name", &self.name(d));
        key_ref(
            out,
            "type",
            api,
            tid,
            None,
            tname,
            "type_href",
            "/company/configurations/types/",
        );
        let (sid, sname) = if self.active {
            (2, "Active")
        } else {
            (3, "Inactive")
        };
        key_ref(
            out,
            "status",
            api,
            sid,
            None,
            sname,
            "status_href",
            "/company/configurations/statuses/",
        );
        d.company_ref(out, "company", self.company);
        if let Some(c) = self.contact {
            d.contact_ref(out, "contact", c);
        }
        d.site_ref(out, self.company);
        out.push_str(",\"locationId\":11,\"businessUnitId\":10,\"deviceIdentifier\":\"\"");
        key(out, "serialNumber");
        let _ = write!(out, "\"SN{:010X}\"", mix(self.id) & 0xff_ffff_ffff);
        key_str(out, "modelNumber", model);
        key(out, "tagNumber");
        let _ = write!(out, "\"{short}-{:04}\"", self.seq % 10_000);
        key_ts(out, "purchaseDate", BASE_TS - 200 * 86_400);
        key_ts(out, "installationDate", BASE_TS - 193 * 86_400);
        key_ts(out, "warrantyExpirationDate", BASE_TS + 900 * 86_400);
        out.push_str(",\"vendorNotes\":\"\",\"notes\":\"\",\"macAddress\":\"\",\"lastLoginName\":\"\",\"billFlag\":true");
        key(out, "ipAddress");
        let _ = write!(
            out,
            "\"10.{}.{}.1\"",
            (self.seq / 250) % 250,
            self.seq % 250
        );
        out.push_str(",\"defaultGateway\":\"\",\"osType\":\"\",\"osInfo\":\"\",\"cpuSpeed\":\"\",\"ram\":\"\",\"localHardDrives\":\"\"");
        key_ref(
            out,
            "manufacturer",
            api,
            mid,
            None,
            mname,
            "manufacturer_href",
            "/procurement/manufacturers/",
        );
        key(out, "activeFlag");
        push_bool(out, self.active);
        key(out, "mobileGuid");
        let _ = write!(out, "\"c3e0a9b2-0000-4000-8000-{:012}\"", self.id);
        out.push_str(",\"_info\":{\"lastUpdated\":\"");
        push_ts(out, self.last_updated);
        out.push('"');
        key_str(out, "updatedBy", "jmorales");
        key_ts(out, "dateEntered", BASE_TS - 193 * 86_400);
        key_str(out, "enteredBy", "jmorales");
        out.push_str("},\"companyLocationId\":11,\"showRemoteFlag\":false,\"showAutomateFlag\":false,\"needsRenewalFlag\":false,\"customFields\":[]}");
    }
}

impl CatalogItem {
    fn template(&self) -> &'static CatalogTemplate {
        &CATALOG[(self.seq % CATALOG.len() as u64) as usize]
    }

    fn identifier(&self) -> Cow<'static, str> {
        let t = self.template();
        let round = self.seq / CATALOG.len() as u64;
        if round == 0 {
            Cow::Borrowed(t.0)
        } else {
            Cow::Owned(format!("{}-{}", t.0, round + 1))
        }
    }

    fn render(&self, d: &Data, out: &mut String) {
        let api = d.api.as_str();
        let (_, desc, sub, typ, class, price, cost, recurring, cat) = *self.template();
        out.push_str("{\"id\":");
        push_num(out, self.id);
        key_str(out, "identifier", &self.identifier());
        key_str(out, "description", desc);
        key(out, "inactiveFlag");
        push_bool(out, self.inactive);
        key_ref(
            out,
            "subcategory",
            api,
            sub.0,
            None,
            sub.1,
            "subcategory_href",
            "/procurement/subcategories/",
        );
        key_ref(
            out,
            "type",
            api,
            typ.0,
            None,
            typ.1,
            "type_href",
            "/procurement/types/",
        );
        key_str(out, "productClass", class);
        out.push_str(
            ",\"serializedFlag\":false,\"serializedCostFlag\":false,\"phaseProductFlag\":false",
        );
        key_ref(
            out,
            "unitOfMeasure",
            api,
            1,
            None,
            "Each",
            "uom_href",
            "/procurement/unitOfMeasures/",
        );
        key(out, "price");
        push_f64(out, price);
        key(out, "cost");
        push_f64(out, cost);
        key_str(out, "priceAttribute", "FixedFee");
        out.push_str(",\"taxableFlag\":true,\"dropShipFlag\":false,\"specialOrderFlag\":false");
        key_str(out, "customerDescription", desc);
        out.push_str(",\"manufacturerPartNumber\":\"\",\"vendorSku\":\"\",\"notes\":\"\"");
        key(out, "recurringFlag");
        push_bool(out, recurring);
        key(out, "recurringRevenue");
        push_f64(out, if recurring { price } else { 0.0 });
        key(out, "recurringCost");
        push_f64(out, if recurring { cost } else { 0.0 });
        out.push_str(",\"recurringOneTimeFlag\":false");
        key_ts(out, "dateEntered", BASE_TS + 9 * 86_400);
        out.push_str(",\"calculatedPriceFlag\":false,\"calculatedCostFlag\":false");
        key_ref(
            out,
            "category",
            api,
            cat.0,
            None,
            cat.1,
            "category_href",
            "/procurement/categories/",
        );
        key(out, "calculatedPrice");
        push_f64(out, price);
        key(out, "calculatedCost");
        push_f64(out, cost);
        out.push_str(",\"_info\":{\"lastUpdated\":\"");
        push_ts(out, self.last_updated);
        out.push_str("\",\"updatedBy\":\"admin1\"},\"customFields\":[]}");
    }
}

// ---------------------------------------------------------------------------
// `conditions` / `childConditions`: a small tolerant parser and evaluator
// ---------------------------------------------------------------------------

/// A field type, for checking condition values against typed records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Num,
    Str,
    Time,
    Bool,
}

/// A literal in a condition.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Int(i64),
    Num(f64),
    Str(String),
    /// Milliseconds since the epoch.
    Time(i64),
    Bool(bool),
    Null,
    List(Vec<Lit>),
}

impl Lit {
    fn describe(&self) -> &'static str {
        match self {
            Lit::Int(_) => "an integer",
            Lit::Num(_) => "a number",
            Lit::Str(_) => "a string",
            Lit::Time(_) => "a [datetime]",
            Lit::Bool(_) => "a boolean",
            Lit::Null => "null",
            Lit::List(_) => "a list",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Like,
    In,
}

/// A field as written (lower-cased) and, for typed records, its canonical
/// name.
#[derive(Debug, Clone, PartialEq)]
struct Field {
    path: String,
    canon: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        field: Field,
        op: Op,
        negated: bool,
        value: Lit,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Int(i64),
    Num(f64),
    Time(i64),
    Sym(&'static str),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | ',' => {
                toks.push(Tok::Sym(match c {
                    '(' => "(",
                    ')' => ")",
                    _ => ",",
                }));
                i += 1;
            }
            '=' => {
                toks.push(Tok::Sym("="));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                toks.push(Tok::Sym("!="));
                i += 2;
            }
            '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let sym = match (c, next) {
                    ('<', Some('=')) => "<=",
                    ('<', Some('>')) => "!=",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    _ => ">",
                };
                i += if sym.len() == 2 { 2 } else { 1 };
                toks.push(Tok::Sym(sym));
            }
            '"' | '\'' => {
                let quote = c;
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated string starting with {quote}")),
                        Some('\\') if matches!(chars.get(i + 1), Some(&q) if q == quote || q == '\\') =>
                        {
                            v.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                toks.push(Tok::Str(v));
            }
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|&ch| ch == ']')
                    .ok_or("unterminated [datetime]")?;
                let text: String = chars[i + 1..i + end].iter().collect();
                let t = parse_ts_millis(&text)
                    .ok_or_else(|| format!("[{text}] is not a valid datetime"))?;
                toks.push(Tok::Time(t));
                i += end + 1;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                if let Ok(n) = text.parse::<i64>() {
                    toks.push(Tok::Int(n));
                } else if let Ok(f) = text.parse::<f64>() {
                    toks.push(Tok::Num(f));
                } else {
                    return Err(format!("{text} is not a number"));
                }
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.'))
                {
                    i += 1;
                }
                toks.push(Tok::Word(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

fn is_word(t: Option<&Tok>, w: &str) -> bool {
    matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Cond, String> {
        self.depth += 1;
        if self.depth > 64 {
            return Err("conditions nest too deeply".into());
        }
        let mut parts = vec![self.and()?];
        while is_word(self.peek(), "or") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut parts = vec![self.unary()?];
        while is_word(self.peek(), "and") {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Cond, String> {
        if is_word(self.peek(), "not") {
            self.pos += 1;
            self.depth += 1;
            if self.depth > 64 {
                return Err("conditions nest too deeply".into());
            }
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Tok::Sym("(")) {
            self.pos += 1;
            let inner = self.or()?;
            if self.next() != Some(Tok::Sym(")")) {
                return Err("missing ')'".into());
            }
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Cond, String> {
        let field = match self.next() {
            Some(Tok::Word(w))
                if !["and", "or", "not", "in", "like", "contains"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                w
            }
            Some(t) => return Err(format!("expected a field name, found {t:?}")),
            None => return Err("expected a field name, found the end".into()),
        };
        let mut negated = false;
        if is_word(self.peek(), "not") {
            negated = true;
            self.pos += 1;
        }
        let op = match self.next() {
            Some(Tok::Sym("=")) => Op::Eq,
            Some(Tok::Sym("!=")) => Op::Ne,
            Some(Tok::Sym("<")) => Op::Lt,
            Some(Tok::Sym("<=")) => Op::Le,
            Some(Tok::Sym(">")) => Op::Gt,
            Some(Tok::Sym(">=")) => Op::Ge,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("contains") => Op::Contains,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("like") => Op::Like,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") => Op::In,
            Some(t) => return Err(format!("expected an operator after {field}, found {t:?}")),
            None => return Err(format!("expected an operator after {field}")),
        };
        if negated && !matches!(op, Op::Contains | Op::Like | Op::In) {
            return Err(format!("'not' cannot precede this operator after {field}"));
        }
        let value = if op == Op::In {
            if self.next() != Some(Tok::Sym("(")) {
                return Err(format!("'in' needs a list in parentheses after {field}"));
            }
            let mut items = Vec::new();
            loop {
                items.push(self.literal()?);
                match self.next() {
                    Some(Tok::Sym(",")) => continue,
                    Some(Tok::Sym(")")) => break,
                    _ => return Err(format!("malformed list after {field} in")),
                }
            }
            Lit::List(items)
        } else {
            self.literal()?
        };
        Ok(Cond::Cmp {
            field: Field {
                path: field.to_ascii_lowercase(),
                canon: "",
            },
            op,
            negated,
            value,
        })
    }

    fn literal(&mut self) -> Result<Lit, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Int(n)) => Ok(Lit::Int(n)),
            Some(Tok::Num(f)) => Ok(Lit::Num(f)),
            Some(Tok::Time(t)) => Ok(Lit::Time(t)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Ok(Lit::Bool(true)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Ok(Lit::Bool(false)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Ok(Lit::Null),
            Some(Tok::Word(w)) => Err(format!(
                "unquoted value {w} (strings need double quotes, datetimes square brackets)"
            )),
            Some(t) => Err(format!("expected a value, found {t:?}")),
            None => Err("expected a value, found the end".into()),
        }
    }
}

fn parse_conditions(s: &str) -> Result<Option<Cond>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let toks = lex(s)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let c = p.or()?;
    if p.pos < p.toks.len() {
        return Err(format!("unexpected {:?}", p.toks[p.pos]));
    }
    Ok(Some(c))
}

/// A typed record's condition fields: (name as written, canonical name,
/// kind).
type Schema = &'static [(&'static str, &'static str, Kind)];

const COMPANY_FIELDS: Schema = &[
    ("id", "id", Kind::Int),
    ("identifier", "identifier", Kind::Str),
    ("name", "name", Kind::Str),
    ("status/id", "status/id", Kind::Int),
    ("status/name", "status/name", Kind::Str),
    ("territory/id", "territory/id", Kind::Int),
    ("territory/name", "territory/name", Kind::Str),
    ("market/id", "market/id", Kind::Int),
    ("market/name", "market/name", Kind::Str),
    ("city", "city", Kind::Str),
    ("state", "state", Kind::Str),
    ("website", "website", Kind::Str),
    ("deletedflag", "deletedflag", Kind::Bool),
    ("isvendorflag", "isvendorflag", Kind::Bool),
    ("leadflag", "leadflag", Kind::Bool),
    ("lastupdated", "lastupdated", Kind::Time),
    ("_info/lastupdated", "lastupdated", Kind::Time),
    ("dateentered", "dateentered", Kind::Time),
    ("_info/dateentered", "dateentered", Kind::Time),
];
const COMPANY_CHILD_FIELDS: Schema = &[
    ("types/id", "types/id", Kind::Int),
    ("types/name", "types/name", Kind::Str),
];
const CONTACT_FIELDS: Schema = &[
    ("id", "id", Kind::Int),
    ("firstname", "firstname", Kind::Str),
    ("lastname", "lastname", Kind::Str),
    ("title", "title", Kind::Str),
    ("company/id", "company/id", Kind::Int),
    ("company/name", "company/name", Kind::Str),
    ("company/identifier", "company/identifier", Kind::Str),
    ("inactiveflag", "inactiveflag", Kind::Bool),
    ("lastupdated", "lastupdated", Kind::Time),
    ("_info/lastupdated", "lastupdated", Kind::Time),
];
const CONTACT_CHILD_FIELDS: Schema = &[
    ("types/id", "types/id", Kind::Int),
    ("types/name", "types/name", Kind::Str),
    (
        "communicationitems/value",
        "communicationitems/value",
        Kind::Str,
    ),
    (
        "communicationitems/communicationtype",
        "communicationitems/communicationtype",
        Kind::Str,
    ),
];
const OPPORTUNITY_FIELDS: Schema = &[
    ("id", "id", Kind::Int),
    ("name", "name", Kind::Str),
    ("company/id", "company/id", Kind::Int),
    ("company/name", "company/name", Kind::Str),
    ("contact/id", "contact/id", Kind::Int),
    ("stage/id", "stage/id", Kind::Int),
    ("stage/name", "stage/name", Kind::Str),
    ("status/id", "status/id", Kind::Int),
    ("status/name", "status/name", Kind::Str),
    ("probability/id", "probability/id", Kind::Int),
    ("expectedclosedate", "expectedclosedate", Kind::Time),
    ("closeddate", "closeddate", Kind::Time),
    ("lastupdated", "lastupdated", Kind::Time),
    ("_info/lastupdated", "lastupdated", Kind::Time),
];
const CONFIGURATION_FIELDS: Schema = &[
    ("id", "id", Kind::Int),
    ("name", "name", Kind::Str),
    ("company/id", "company/id", Kind::Int),
    ("contact/id", "contact/id", Kind::Int),
    ("type/id", "type/id", Kind::Int),
    ("type/name", "type/name", Kind::Str),
    ("status/id", "status/id", Kind::Int),
    ("status/name", "status/name", Kind::Str),
    ("activeflag", "activeflag", Kind::Bool),
    ("lastupdated", "lastupdated", Kind::Time),
    ("_info/lastupdated", "lastupdated", Kind::Time),
];
const CATALOG_FIELDS: Schema = &[
    ("id", "id", Kind::Int),
    ("identifier", "identifier", Kind::Str),
    ("description", "description", Kind::Str),
    ("inactiveflag", "inactiveflag", Kind::Bool),
    ("productclass", "productclass", Kind::Str),
    ("category/id", "category/id", Kind::Int),
    ("category/name", "category/name", Kind::Str),
    ("subcategory/id", "subcategory/id", Kind::Int),
    ("type/id", "type/id", Kind::Int),
    ("price", "price", Kind::Num),
    ("lastupdated", "lastupdated", Kind::Time),
    ("_info/lastupdated", "lastupdated", Kind::Time),
];

/// Where a field path leads in a record's JSON: whether it crosses an
/// array (so only `childConditions` can filter on it) and what is there.
#[derive(Debug, Clone, Copy)]
struct ShapeHit<'a> {
    in_array: bool,
    leaf: &'a Value,
}

/// Looks `path` (`a/b/c`, any case) up in a records' merged `shape` (see
/// [`merge_shape`]). A path running into a `null` (a reference no sampled
/// record had set) or an empty array is taken to exist. `lastUpdated` and
/// the other `_info` keys are found at the top level too, as ConnectWise
/// filters them.
fn shape_lookup<'a>(shape: &'a Value, path: &str) -> Option<ShapeHit<'a>> {
    fn walk<'a>(v: &'a Value, parts: &[&str], in_array: bool) -> Option<ShapeHit<'a>> {
        match v {
            Value::Array(items) => match items.first() {
                Some(first) => walk(first, parts, true),
                None => Some(ShapeHit {
                    in_array: true,
                    leaf: v,
                }),
            },
            _ if parts.is_empty() => Some(ShapeHit { in_array, leaf: v }),
            Value::Null => Some(ShapeHit { in_array, leaf: v }),
            Value::Object(m) => m
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(parts[0]))
                .and_then(|(_, x)| walk(x, &parts[1..], in_array)),
            _ => None,
        }
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return None;
    }
    walk(shape, &parts, false).or_else(|| {
        (parts.len() == 1)
            .then(|| walk(shape, &["_info", parts[0]], false))
            .flatten()
    })
}

/// Merges record `v` into `shape`: every key any record has, with the first
/// non-null value seen; arrays merged into their first element.
fn merge_shape(shape: &mut Value, v: &Value) {
    match (shape, v) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, bv) in b {
                match a.get_mut(k) {
                    Some(av) => merge_shape(av, bv),
                    None => {
                        a.insert(k.clone(), bv.clone());
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for x in b {
                match a.first_mut() {
                    Some(first) => merge_shape(first, x),
                    None => a.push(x.clone()),
                }
            }
        }
        (a @ Value::Null, b) => *a = b.clone(),
        _ => {}
    }
}

/// How many records are rendered to learn a typed collection's fields.
const SHAPE_SAMPLE: usize = 32;

/// The merged JSON shape of the first records of `rows`.
fn rows_shape<R: Row>(rows: &[R], d: &Data) -> Value {
    let mut shape = Value::Null;
    let mut text = String::new();
    for r in rows.iter().take(SHAPE_SAMPLE) {
        text.clear();
        r.render(d, &mut text);
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            merge_shape(&mut shape, &v);
        }
    }
    shape
}

/// A field of a typed record that is not in its schema, read from the
/// rendered record (slow; only for fields hosts filter on rarely).
fn rendered_field<R: Row + ?Sized>(r: &R, d: &Data, path: &str) -> Fv<'static> {
    let mut text = String::new();
    r.render(d, &mut text);
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    value_field(&v, path).owned()
}

/// Resolves the fields of `cond` against `schema` (when the rows are
/// typed) and checks the values' types. `child` says whether these are
/// `childConditions`. A field outside the schema is looked up in the
/// records' `shape` (any field of the record can be filtered on, as in
/// ConnectWise, whose guide says conditions search "based on the fields
/// returned in a GET"); one no record has is refused.
fn resolve(
    cond: &mut Cond,
    schema: Option<(Schema, Schema)>,
    child: bool,
    shape: &dyn Fn() -> Value,
) -> Result<(), String> {
    match cond {
        Cond::And(v) | Cond::Or(v) => v
            .iter_mut()
            .try_for_each(|c| resolve(c, schema, child, shape)),
        Cond::Not(c) => resolve(c, schema, child, shape),
        Cond::Cmp {
            field, op, value, ..
        } => {
            // The Developer Guide lists `in` for `conditions` only; the
            // operators of `childConditions` are `= != < <= > >= contains
            // like not`.
            if child && *op == Op::In {
                return Err(format!(
                    "{}: the 'in' operator is not supported in childConditions (use = with or)",
                    field.path
                ));
            }
            if matches!(value, Lit::List(_)) != (*op == Op::In) {
                return Err(format!(
                    "{}: 'in' takes a list, other operators a single value",
                    field.path
                ));
            }
            let Some((fields, child_fields)) = schema else {
                return Ok(());
            };
            let (own, other, what) = if child {
                (child_fields, fields, "childConditions")
            } else {
                (fields, child_fields, "conditions")
            };
            let wrong_parameter = || {
                if child {
                    format!("{} is not an array field; use conditions", field.path)
                } else {
                    format!("{} is an array field; use childConditions", field.path)
                }
            };
            let Some(&(_, canon, kind)) = own.iter().find(|f| f.0 == field.path) else {
                if other.iter().any(|f| f.0 == field.path) {
                    return Err(wrong_parameter());
                }
                let shape = shape();
                let Some(hit) = shape_lookup(&shape, &field.path) else {
                    return Err(format!("unknown field '{}' in {what}", field.path));
                };
                if hit.in_array != child {
                    return Err(wrong_parameter());
                }
                if matches!(op, Op::Contains | Op::Like)
                    && !matches!(hit.leaf, Value::String(_) | Value::Null)
                {
                    return Err(format!("{} is not a string field", field.path));
                }
                // Read from the rendered record (see `rendered_field`).
                field.canon = "";
                return Ok(());
            };
            field.canon = canon;
            if matches!(op, Op::Contains | Op::Like) && kind != Kind::Str {
                return Err(format!("{} is not a string field", field.path));
            }
            let items: Vec<&Lit> = match value {
                Lit::List(items) => items.iter().collect(),
                v => vec![v],
            };
            for v in items {
                let ok = matches!(
                    (kind, v),
                    (_, Lit::Null)
                        | (Kind::Int, Lit::Int(_))
                        | (Kind::Num, Lit::Int(_) | Lit::Num(_))
                        | (Kind::Str, Lit::Str(_))
                        | (Kind::Time, Lit::Time(_))
                        | (Kind::Bool, Lit::Bool(_))
                );
                if !ok {
                    return Err(format!(
                        "{} cannot be compared with {} (strings need double quotes, datetimes square brackets)",
                        field.path,
                        v.describe()
                    ));
                }
            }
            Ok(())
        }
    }
}

/// A field's value in a record.
#[derive(Debug, Clone)]
enum Fv<'a> {
    Null,
    Int(i64),
    Num(f64),
    Str(Cow<'a, str>),
    /// Milliseconds.
    Time(i64),
    Bool(bool),
    Many(Vec<Fv<'a>>),
}

impl Fv<'_> {
    fn owned(self) -> Fv<'static> {
        match self {
            Fv::Null => Fv::Null,
            Fv::Int(i) => Fv::Int(i),
            Fv::Num(n) => Fv::Num(n),
            Fv::Str(s) => Fv::Str(Cow::Owned(s.into_owned())),
            Fv::Time(t) => Fv::Time(t),
            Fv::Bool(b) => Fv::Bool(b),
            Fv::Many(v) => Fv::Many(v.into_iter().map(Fv::owned).collect()),
        }
    }
}

fn fv_str(s: &str) -> Fv<'_> {
    Fv::Str(Cow::Borrowed(s))
}

fn fv_time(secs: i64) -> Fv<'static> {
    Fv::Time(secs.saturating_mul(1000))
}

fn order(a: &Fv<'_>, b: &Lit) -> Option<Ordering> {
    match (a, b) {
        (Fv::Int(x), Lit::Int(y)) => Some(x.cmp(y)),
        (Fv::Int(x), Lit::Num(y)) => (*x as f64).partial_cmp(y),
        (Fv::Num(x), Lit::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Fv::Num(x), Lit::Num(y)) => x.partial_cmp(y),
        (Fv::Str(x), Lit::Str(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
        (Fv::Str(x), Lit::Time(y)) => parse_ts_millis(x).map(|t| t.cmp(y)),
        (Fv::Str(x), Lit::Int(y)) => x.parse::<i64>().ok().map(|v| v.cmp(y)),
        (Fv::Time(x), Lit::Time(y)) => Some(x.cmp(y)),
        (Fv::Bool(x), Lit::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    // Iterative wildcard match with backtracking to the last star.
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '*' || p[pi] == '%') {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && (p[pi] == '*' || p[pi] == '%') {
        pi += 1;
    }
    pi == p.len()
}

fn compare(v: &Fv<'_>, op: Op, lit: &Lit) -> bool {
    if let Fv::Many(items) = v {
        return items.iter().any(|x| compare(x, op, lit));
    }
    match op {
        Op::In => match lit {
            Lit::List(items) => items.iter().any(|i| compare(v, Op::Eq, i)),
            _ => false,
        },
        Op::Eq | Op::Ne => {
            let eq = match (v, lit) {
                (Fv::Null, Lit::Null) => true,
                (_, Lit::Null) | (Fv::Null, _) => false,
                _ => order(v, lit) == Some(Ordering::Equal),
            };
            eq == (op == Op::Eq)
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge => match order(v, lit) {
            Some(o) => match op {
                Op::Lt => o == Ordering::Less,
                Op::Le => o != Ordering::Greater,
                Op::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            },
            None => false,
        },
        Op::Contains => match (v, lit) {
            (Fv::Str(s), Lit::Str(p)) => s.to_lowercase().contains(&p.to_lowercase()),
            _ => false,
        },
        Op::Like => match (v, lit) {
            (Fv::Str(s), Lit::Str(p)) => like(s, p),
            _ => false,
        },
    }
}

fn eval<R: Row + ?Sized>(c: &Cond, r: &R, d: &Data) -> bool {
    match c {
        Cond::And(v) => v.iter().all(|c| eval(c, r, d)),
        Cond::Or(v) => v.iter().any(|c| eval(c, r, d)),
        Cond::Not(c) => !eval(c, r, d),
        Cond::Cmp {
            field,
            op,
            negated,
            value,
        } => {
            let v = r.field(field, d);
            // `not in` / `not like` / `not contains`: no element matches.
            compare(&v, *op, value) != *negated
        }
    }
}

/// What the list machinery needs from a record.
trait Row {
    fn row_id(&self) -> u64;
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a>;
    fn render(&self, d: &Data, out: &mut String);
}

fn opt_int(v: Option<u64>) -> Fv<'static> {
    v.map_or(Fv::Null, |x| Fv::Int(x as i64))
}

impl Row for Company {
    fn row_id(&self) -> u64 {
        self.id
    }
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a> {
        let (sid, sname) = COMPANY_STATUSES[self.status as usize];
        let (tid, tname) = TERRITORIES[self.territory as usize];
        let (mid, mname) = MARKETS[self.market as usize];
        let types = TYPE_SETS[self.types as usize];
        let addr = ADDRESSES[(self.seq % 8) as usize];
        match f.canon {
            "id" => Fv::Int(self.id as i64),
            "identifier" => fv_str(&self.identifier),
            "name" => fv_str(&self.name),
            "status/id" => Fv::Int(sid as i64),
            "status/name" => fv_str(sname),
            "territory/id" => Fv::Int(tid as i64),
            "territory/name" => fv_str(tname),
            "market/id" => Fv::Int(mid as i64),
            "market/name" => fv_str(mname),
            "city" => fv_str(addr.1),
            "state" => fv_str(addr.2),
            "website" => Fv::Str(Cow::Owned(format!(
                "www.{}.example",
                self.identifier.to_ascii_lowercase()
            ))),
            "deletedflag" | "leadflag" => Fv::Bool(false),
            "isvendorflag" => Fv::Bool(types.contains(&3)),
            "lastupdated" => fv_time(self.last_updated),
            "dateentered" => fv_time(self.date_entered),
            "types/id" => Fv::Many(
                types
                    .iter()
                    .map(|t| Fv::Int(COMPANY_TYPES[*t as usize].0 as i64))
                    .collect(),
            ),
            "types/name" => Fv::Many(
                types
                    .iter()
                    .map(|t| fv_str(COMPANY_TYPES[*t as usize].1))
                    .collect(),
            ),
            _ => rendered_field(self, d, &f.path),
        }
    }
    fn render(&self, d: &Data, out: &mut String) {
        Company::render(self, d, out)
    }
}

impl Row for Contact {
    fn row_id(&self) -> u64 {
        self.id
    }
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a> {
        let types = CONTACT_TYPE_SETS[self.types as usize];
        match f.canon {
            "id" => Fv::Int(self.id as i64),
            "firstname" => fv_str(&self.first),
            "lastname" => fv_str(self.last),
            "title" => fv_str(self.title),
            "company/id" => opt_int(self.company),
            "company/name" => self
                .company
                .map_or(Fv::Null, |c| Fv::Str(d.company_label(c).1)),
            "company/identifier" => self
                .company
                .map_or(Fv::Null, |c| Fv::Str(d.company_label(c).0)),
            "inactiveflag" => Fv::Bool(self.inactive),
            "lastupdated" => fv_time(self.last_updated),
            "types/id" => Fv::Many(
                types
                    .iter()
                    .map(|t| Fv::Int(CONTACT_TYPES[*t as usize].0 as i64))
                    .collect(),
            ),
            "types/name" => Fv::Many(
                types
                    .iter()
                    .map(|t| fv_str(CONTACT_TYPES[*t as usize].1))
                    .collect(),
            ),
            "communicationitems/value" | "communicationitems/communicationtype" => {
                // Rendered values, looked up from the JSON (rarely used).
                let mut s = String::new();
                self.render(d, &mut s);
                let v: Value = serde_json::from_str(&s).unwrap_or(Value::Null);
                value_field(&v, &f.path).owned()
            }
            _ => rendered_field(self, d, &f.path),
        }
    }
    fn render(&self, d: &Data, out: &mut String) {
        Contact::render(self, d, out)
    }
}

impl Row for Opportunity {
    fn row_id(&self) -> u64 {
        self.id
    }
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a> {
        match f.canon {
            "id" => Fv::Int(self.id as i64),
            "name" => fv_str(&self.name),
            "company/id" => Fv::Int(self.company as i64),
            "company/name" => Fv::Str(d.company_label(self.company).1),
            "contact/id" => opt_int(self.contact),
            "stage/id" => Fv::Int(self.stage as i64),
            "stage/name" => fv_str(stage_name(self.stage)),
            "status/id" => Fv::Int(self.status as i64),
            "status/name" => fv_str(opp_status(self.status).1),
            "probability/id" => Fv::Int(self.probability as i64),
            "expectedclosedate" => fv_time(self.expected_close),
            "closeddate" => self.closed_date.map_or(Fv::Null, fv_time),
            "lastupdated" => fv_time(self.last_updated),
            _ => rendered_field(self, d, &f.path),
        }
    }
    fn render(&self, d: &Data, out: &mut String) {
        Opportunity::render(self, d, out)
    }
}

impl Row for Configuration {
    fn row_id(&self) -> u64 {
        self.id
    }
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a> {
        let t = CONFIG_TYPES[self.kind as usize % CONFIG_TYPES.len()];
        match f.canon {
            "id" => Fv::Int(self.id as i64),
            "name" => Fv::Str(Cow::Owned(self.name(d))),
            "company/id" => Fv::Int(self.company as i64),
            "contact/id" => opt_int(self.contact),
            "type/id" => Fv::Int(t.0 as i64),
            "type/name" => fv_str(t.1),
            "status/id" => Fv::Int(if self.active { 2 } else { 3 }),
            "status/name" => fv_str(if self.active { "Active" } else { "Inactive" }),
            "activeflag" => Fv::Bool(self.active),
            "lastupdated" => fv_time(self.last_updated),
            _ => rendered_field(self, d, &f.path),
        }
    }
    fn render(&self, d: &Data, out: &mut String) {
        Configuration::render(self, d, out)
    }
}

impl Row for CatalogItem {
    fn row_id(&self) -> u64 {
        self.id
    }
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a> {
        let t = self.template();
        match f.canon {
            "id" => Fv::Int(self.id as i64),
            "identifier" => Fv::Str(self.identifier()),
            "description" => fv_str(t.1),
            "inactiveflag" => Fv::Bool(self.inactive),
            "productclass" => fv_str(t.4),
            "category/id" => Fv::Int(t.8 .0 as i64),
            "category/name" => fv_str(t.8 .1),
            "subcategory/id" => Fv::Int(t.2 .0 as i64),
            "type/id" => Fv::Int(t.3 .0 as i64),
            "price" => Fv::Num(t.5),
            "lastupdated" => fv_time(self.last_updated),
            _ => rendered_field(self, d, &f.path),
        }
    }
    fn render(&self, d: &Data, out: &mut String) {
        CatalogItem::render(self, d, out)
    }
}

/// Looks a lower-cased `a/b/c` path up in JSON, case-insensitively, fanning
/// out over arrays. `lastUpdated` falls back to `_info/lastUpdated`.
fn value_field<'a>(v: &'a Value, path: &str) -> Fv<'a> {
    fn walk<'a>(v: &'a Value, parts: &[&str]) -> Fv<'a> {
        match v {
            Value::Array(items) => Fv::Many(items.iter().map(|i| walk(i, parts)).collect()),
            _ if parts.is_empty() => match v {
                Value::Null => Fv::Null,
                Value::Bool(b) => Fv::Bool(*b),
                Value::Number(n) => n
                    .as_i64()
                    .map(Fv::Int)
                    .unwrap_or_else(|| Fv::Num(n.as_f64().unwrap_or(0.0))),
                Value::String(s) => fv_str(s),
                _ => Fv::Null,
            },
            Value::Object(m) => m
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(parts[0]))
                .map_or(Fv::Null, |(_, x)| walk(x, &parts[1..])),
            _ => Fv::Null,
        }
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match walk(v, &parts) {
        Fv::Null if parts.len() == 1 => walk(v, &["_info", parts[0]]),
        other => other,
    }
}

impl Row for Value {
    fn row_id(&self) -> u64 {
        self.get("id").and_then(Value::as_u64).unwrap_or(0)
    }
    fn field<'a>(&'a self, f: &Field, _d: &'a Data) -> Fv<'a> {
        value_field(self, &f.path)
    }
    fn render(&self, _d: &Data, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

// ---------------------------------------------------------------------------
// Replies and errors
// ---------------------------------------------------------------------------

struct Reply {
    status: u16,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: u16, v: &Value) -> Self {
        Self {
            status,
            body: v.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }

    fn raw(status: u16, body: String) -> Self {
        Self {
            status,
            body: body.into_bytes(),
            headers: Vec::new(),
        }
    }

    fn header(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.headers.push((k, v.into()));
        self
    }
}

fn error(status: u16, code: &str, message: impl Into<String>) -> Reply {
    Reply::json(status, &json!({"code": code, "message": message.into()}))
}

fn not_endpoint() -> Reply {
    error(404, "ConnectWiseApi", "The endpoint does not exist.")
}

fn not_found(label: &str, id: impl std::fmt::Display) -> Reply {
    error(404, "NotFound", format!("{label} {id} not found"))
}

fn method_not_allowed(method: &str) -> Reply {
    error(
        405,
        "ConnectWiseApi",
        format!("The requested resource does not support http method '{method}'."),
    )
}

/// One item of a validation error: (code, field, message).
type Problem = (&'static str, String, String);

fn invalid(resource: &str, problems: Vec<Problem>) -> Reply {
    let errors: Vec<Value> = problems
        .into_iter()
        .map(|(code, field, message)| {
            json!({"code": code, "message": message, "resource": resource, "field": field})
        })
        .collect();
    Reply::json(
        400,
        &json!({
            "code": "InvalidObject",
            "message": format!("{resource} object is invalid"),
            "errors": errors,
        }),
    )
}

fn bad_request(message: impl Into<String>) -> Reply {
    error(400, "InvalidObject", message)
}

// ---------------------------------------------------------------------------
// Collections and queries
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Coll {
    Companies,
    Contacts,
    Opportunities,
    Configurations,
    Catalog,
    CompanyTypes,
    CompanyStatuses,
    Locations,
    Markets,
    OppStatuses,
    OppTypes,
    Probabilities,
    Stages,
    ProjectStatuses,
    Priorities,
    Boards,
    Projects,
    Tickets,
    Callbacks,
}

const ROUTES: &[(&str, Coll, &str)] = &[
    ("company/companies", Coll::Companies, "Company"),
    ("company/companies/types", Coll::CompanyTypes, "CompanyType"),
    (
        "company/companies/statuses",
        Coll::CompanyStatuses,
        "CompanyStatus",
    ),
    ("company/contacts", Coll::Contacts, "Contact"),
    (
        "company/configurations",
        Coll::Configurations,
        "Configuration",
    ),
    (
        "company/marketdescriptions",
        Coll::Markets,
        "MarketDescription",
    ),
    ("system/locations", Coll::Locations, "Location"),
    ("system/callbacks", Coll::Callbacks, "CallbackEntry"),
    ("sales/opportunities", Coll::Opportunities, "Opportunity"),
    (
        "sales/opportunities/statuses",
        Coll::OppStatuses,
        "OpportunityStatus",
    ),
    (
        "sales/opportunities/types",
        Coll::OppTypes,
        "OpportunityType",
    ),
    ("sales/probabilities", Coll::Probabilities, "Probability"),
    ("sales/stages", Coll::Stages, "Stage"),
    ("procurement/catalog", Coll::Catalog, "CatalogItem"),
    ("project/projects", Coll::Projects, "Project"),
    ("project/tickets", Coll::Tickets, "Ticket"),
    ("project/statuses", Coll::ProjectStatuses, "ProjectStatus"),
    ("service/priorities", Coll::Priorities, "Priority"),
    ("service/boards", Coll::Boards, "Board"),
];

/// The longest route that prefixes `segs`: (collection, label, segments
/// used).
fn match_route(segs: &[String]) -> Option<(Coll, &'static str, usize)> {
    let mut best: Option<(Coll, &'static str, usize)> = None;
    for (path, coll, label) in ROUTES {
        let parts: Vec<&str> = path.split('/').collect();
        if segs.len() >= parts.len()
            && parts.iter().zip(segs).all(|(a, b)| *a == b.as_str())
            && best.is_none_or(|b| b.2 < parts.len())
        {
            best = Some((*coll, label, parts.len()));
        }
    }
    best
}

#[derive(Debug, Clone, Default)]
struct ListQuery {
    page: u64,
    page_size: u64,
    conditions: String,
    child: String,
    order_by: String,
    fields: String,
    page_id: Option<u64>,
    forward_only: bool,
    /// Every parameter but page, pageSize and pageId, in order, as sent.
    others: Vec<(String, String)>,
}

fn parse_query(req: &Request) -> Result<ListQuery, Reply> {
    let mut q = ListQuery {
        page: 1,
        page_size: DEFAULT_PAGE_SIZE,
        ..ListQuery::default()
    };
    for (k, v) in req.url.query_pairs() {
        let lk = k.to_ascii_lowercase();
        match lk.as_str() {
            "page" => {
                q.page = v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| {
                        bad_request(format!("page must be a positive integer, got '{v}'"))
                    })?;
            }
            "pagesize" => {
                let n = v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| {
                        bad_request(format!("pageSize must be a positive integer, got '{v}'"))
                    })?;
                q.page_size = n.min(MAX_PAGE_SIZE);
            }
            "pageid" => {
                q.page_id = Some(v.trim().parse::<u64>().map_err(|_| {
                    bad_request(format!("pageId must be a non-negative integer, got '{v}'"))
                })?);
            }
            other => {
                match other {
                    "conditions" => q.conditions = v.to_string(),
                    "childconditions" => q.child = v.to_string(),
                    "orderby" => q.order_by = v.to_string(),
                    "fields" => q.fields = v.to_string(),
                    "customfieldconditions" if !v.trim().is_empty() => {
                        return Err(bad_request(
                            "customFieldConditions is not supported by the simulator",
                        ))
                    }
                    _ => {}
                }
                q.others.push((k.into_owned(), v.into_owned()));
            }
        }
    }
    q.forward_only = req
        .headers
        .get("pagination-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("forward-only"));
    if q.forward_only && !q.order_by.trim().is_empty() {
        return Err(bad_request(
            "orderBy cannot be used with forward-only pagination",
        ));
    }
    Ok(q)
}

/// Filtered and ordered row positions.
enum Sel {
    All(usize),
    Idx(Arc<Vec<u32>>),
}

impl Sel {
    fn len(&self) -> usize {
        match self {
            Sel::All(n) => *n,
            Sel::Idx(v) => v.len(),
        }
    }
    fn get(&self, pos: usize) -> usize {
        match self {
            Sel::All(_) => pos,
            Sel::Idx(v) => v[pos] as usize,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct CacheKey {
    coll: Coll,
    conditions: String,
    child: String,
    order: String,
    generation: u64,
}

#[derive(Default)]
struct Cache {
    entries: Vec<(CacheKey, Arc<Vec<u32>>)>,
}

impl Cache {
    fn get(&mut self, key: &CacheKey) -> Option<Arc<Vec<u32>>> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        let e = self.entries.remove(pos);
        let v = e.1.clone();
        self.entries.insert(0, e);
        Some(v)
    }
    fn put(&mut self, key: CacheKey, v: Arc<Vec<u32>>) {
        self.entries.insert(0, (key, v));
        self.entries.truncate(8);
    }
}

fn fv_cmp(a: &Fv<'_>, b: &Fv<'_>) -> Ordering {
    fn rank(v: &Fv<'_>) -> u8 {
        match v {
            Fv::Null => 0,
            Fv::Bool(_) => 1,
            Fv::Int(_) | Fv::Num(_) => 2,
            Fv::Time(_) => 3,
            Fv::Str(_) => 4,
            Fv::Many(_) => 5,
        }
    }
    match (a, b) {
        (Fv::Int(x), Fv::Int(y)) => x.cmp(y),
        (Fv::Int(x), Fv::Num(y)) => (*x as f64).total_cmp(y),
        (Fv::Num(x), Fv::Int(y)) => x.total_cmp(&(*y as f64)),
        (Fv::Num(x), Fv::Num(y)) => x.total_cmp(y),
        (Fv::Time(x), Fv::Time(y)) => x.cmp(y),
        (Fv::Bool(x), Fv::Bool(y)) => x.cmp(y),
        (Fv::Str(x), Fv::Str(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Fv::Many(x), Fv::Many(y)) => match (x.first(), y.first()) {
            (Some(x), Some(y)) => fv_cmp(x, y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        },
        _ => rank(a).cmp(&rank(b)),
    }
}

type Schemas = Option<(Schema, Schema)>;

fn parse_order(
    order_by: &str,
    schema: Schemas,
    shape: &dyn Fn() -> Value,
) -> Result<Vec<(Field, bool)>, String> {
    let mut keys = Vec::new();
    for part in order_by.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = part.split_whitespace();
        let name = words.next().unwrap_or_default().to_ascii_lowercase();
        let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(format!(
                    "orderBy direction must be asc or desc, got '{other}'"
                ))
            }
        };
        if words.next().is_some() {
            return Err(format!("malformed orderBy '{part}'"));
        }
        let canon = match schema {
            Some((fields, _)) => match fields.iter().find(|f| f.0 == name) {
                Some(f) => f.1,
                None => match shape_lookup(&shape(), &name) {
                    Some(hit) if !hit.in_array => "",
                    _ => return Err(format!("unknown orderBy field '{name}'")),
                },
            },
            None => "",
        };
        keys.push((Field { path: name, canon }, desc));
    }
    Ok(keys)
}

/// Applies conditions, childConditions and orderBy to `rows`.
fn select<R: Row>(
    rows: &[R],
    d: &Data,
    schema: Schemas,
    q: &ListQuery,
    cache: Option<(&mut Cache, Coll, u64)>,
) -> Result<Sel, Reply> {
    let plain = q.conditions.trim().is_empty()
        && q.child.trim().is_empty()
        && (q.order_by.trim().is_empty()
            || q.order_by.trim().eq_ignore_ascii_case("id")
            || q.order_by
                .split_whitespace()
                .map(str::to_ascii_lowercase)
                .eq(["id", "asc"]));
    if plain {
        return Ok(Sel::All(rows.len()));
    }
    let key = cache.as_ref().map(|(_, coll, generation)| CacheKey {
        coll: *coll,
        conditions: q.conditions.clone(),
        child: q.child.clone(),
        order: q.order_by.clone(),
        generation: *generation,
    });
    let mut cache = cache.map(|(c, _, _)| c);
    if let (Some(c), Some(k)) = (cache.as_deref_mut(), key.as_ref()) {
        if let Some(hit) = c.get(k) {
            return Ok(Sel::Idx(hit));
        }
    }
    // The records' fields, learned only when a query names one outside the
    // schema.
    let learned = std::cell::OnceCell::new();
    let shape = || learned.get_or_init(|| rows_shape(rows, d)).clone();
    let compile = |text: &str, child: bool| -> Result<Option<Cond>, Reply> {
        let what = if child {
            "childConditions"
        } else {
            "conditions"
        };
        let mut c = parse_conditions(text)
            .map_err(|e| bad_request(format!("Invalid {what} '{text}': {e}")))?;
        if let Some(c) = c.as_mut() {
            resolve(c, schema, child, &shape)
                .map_err(|e| bad_request(format!("Invalid {what} '{text}': {e}")))?;
        }
        Ok(c)
    };
    let cond = compile(&q.conditions, false)?;
    let child = compile(&q.child, true)?;
    let order = parse_order(&q.order_by, schema, &shape).map_err(bad_request)?;
    let mut idx: Vec<u32> = (0..rows.len() as u32)
        .filter(|&i| {
            let r = &rows[i as usize];
            cond.as_ref().is_none_or(|c| eval(c, r, d))
                && child.as_ref().is_none_or(|c| eval(c, r, d))
        })
        .collect();
    if !order.is_empty() {
        idx.sort_by(|&a, &b| {
            let (ra, rb) = (&rows[a as usize], &rows[b as usize]);
            for (f, desc) in &order {
                let o = fv_cmp(&ra.field(f, d), &rb.field(f, d));
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            ra.row_id().cmp(&rb.row_id())
        });
    }
    let idx = Arc::new(idx);
    if let (Some(c), Some(k)) = (cache, key) {
        c.put(k, idx.clone());
    }
    Ok(Sel::Idx(idx))
}

/// Keeps only the `fields` paths (`a/b`) of each object.
fn project_fields(v: &Value, fields: &[Vec<String>]) -> Value {
    fn copy(src: &Value, path: &[String], dst: &mut Map<String, Value>) {
        let Value::Object(m) = src else { return };
        let Some((k, v)) = m.iter().find(|(k, _)| k.eq_ignore_ascii_case(&path[0])) else {
            return;
        };
        if path.len() == 1 {
            dst.insert(k.clone(), v.clone());
        } else if let Value::Object(_) = v {
            let entry = dst
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                copy(v, &path[1..], inner);
            }
        }
    }
    let mut out = Map::new();
    for f in fields {
        copy(v, f, &mut out);
    }
    Value::Object(out)
}

fn link_url(link_base: &str, q: &ListQuery, extra: &[(&str, String)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &q.others {
        ser.append_pair(k, v);
    }
    for (k, v) in extra {
        ser.append_pair(k, v);
    }
    format!("<{link_base}?{}>", ser.finish())
}

/// A page (or a count) of `rows`.
fn list_rows<R: Row>(
    rows: &[R],
    d: &Data,
    schema: Schemas,
    q: &ListQuery,
    cache: Option<(&mut Cache, Coll, u64)>,
    link_base: &str,
    count_only: bool,
) -> Reply {
    let sel = match select(rows, d, schema, q, cache) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if count_only {
        return Reply::json(200, &json!({"count": sel.len()}));
    }
    let total = sel.len();
    let ps = q.page_size as usize;
    let (range, link) = if q.forward_only {
        let after = q.page_id.unwrap_or(0);
        // Positions are in id order (orderBy is refused in this mode).
        let start = match &sel {
            Sel::All(n) => rows[..*n].partition_point(|r| r.row_id() <= after),
            Sel::Idx(v) => v.partition_point(|&i| rows[i as usize].row_id() <= after),
        };
        let end = start.saturating_add(ps).min(total);
        let link = (end > start).then(|| {
            let last = rows[sel.get(end - 1)].row_id();
            format!(
                "{}; rel=\"next\"",
                link_url(
                    link_base,
                    q,
                    &[
                        ("pageSize", q.page_size.to_string()),
                        ("pageId", last.to_string())
                    ]
                )
            )
        });
        (start..end, link)
    } else {
        let last_page = total.div_ceil(ps).max(1) as u64;
        let start = ((q.page - 1) as usize).saturating_mul(ps).min(total);
        let end = start.saturating_add(ps).min(total);
        let page_link = |n: u64, rel: &str| {
            format!(
                "{}; rel=\"{rel}\"",
                link_url(
                    link_base,
                    q,
                    &[
                        ("pageSize", q.page_size.to_string()),
                        ("page", n.to_string())
                    ]
                )
            )
        };
        let mut links = Vec::new();
        if q.page > 1 {
            links.push(page_link(1, "first"));
            links.push(page_link((q.page - 1).min(last_page), "prev"));
        }
        if q.page < last_page {
            links.push(page_link(q.page + 1, "next"));
        }
        links.push(page_link(last_page, "last"));
        (start..end, Some(links.join(", ")))
    };
    let mut out = String::with_capacity(range.len() * 3_600 + 2);
    out.push('[');
    for (n, pos) in range.enumerate() {
        if n > 0 {
            out.push(',');
        }
        rows[sel.get(pos)].render(d, &mut out);
    }
    out.push(']');
    if !q.fields.trim().is_empty() {
        let fields: Vec<Vec<String>> = q
            .fields
            .split(',')
            .map(|f| f.trim().split('/').map(str::to_string).collect::<Vec<_>>())
            .filter(|f: &Vec<String>| f.iter().all(|p| !p.is_empty()))
            .collect();
        let page: Value = serde_json::from_str(&out).unwrap_or(Value::Array(Vec::new()));
        let projected: Vec<Value> = page
            .as_array()
            .map(|a| a.iter().map(|v| project_fields(v, &fields)).collect())
            .unwrap_or_default();
        out = Value::Array(projected).to_string();
    }
    let mut reply = Reply::raw(200, out);
    if let Some(link) = link {
        reply = reply.header("Link", link);
    }
    reply
}

fn single_row<R: Row>(rows: &[R], d: &Data, id: u64, label: &str) -> Reply {
    match rows.binary_search_by_key(&id, |r| r.row_id()) {
        Ok(i) => {
            let mut out = String::with_capacity(4096);
            rows[i].render(d, &mut out);
            Reply::raw(200, out)
        }
        Err(_) => not_found(label, id),
    }
}

fn value_row(rows: &[Value], id: u64, label: &str) -> Reply {
    match rows.iter().find(|r| r.row_id() == id) {
        Some(v) => Reply::json(200, v),
        None => not_found(label, id),
    }
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

#[derive(Debug, Default, Clone, Copy)]
struct Faults {
    next: u32,
    next_status: u16,
    every: u64,
    every_status: u16,
    counter: u64,
}

impl Faults {
    fn take(&mut self) -> Option<u16> {
        self.counter += 1;
        if self.next > 0 {
            self.next -= 1;
            return Some(self.next_status);
        }
        (self.every > 0 && self.counter % self.every == 0).then_some(self.every_status)
    }
}

/// What fault injection did so far (kept across [`ConnectWiseSim::clear_faults`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FaultStats {
    /// Injected error answers (from `fail_next` and `fail_every`).
    pub errors: u64,
    /// Injected 429 answers among them.
    pub rate_limited: u64,
    /// Answers delayed by [`ConnectWiseSim::slow_next`].
    pub slowed: u64,
}

struct State {
    cfg: SimConfig,
    base: String,
    site: String,
    data: Data,
    lookups: Vec<(Coll, Vec<Value>)>,
    projects: Vec<Value>,
    phases: Vec<Value>,
    tickets: Vec<Value>,
    tasks: Vec<Value>,
    callbacks: Vec<Value>,
    forecast_items: Vec<Value>,
    next_id: u64,
    faults: Faults,
    retry_after: u64,
    latency: Option<Duration>,
    slow_next: u32,
    slow_latency: Duration,
    stats: FaultStats,
    restricted: bool,
    restricted_paths: Vec<String>,
    log: Vec<(String, String)>,
    cache: Cache,
    generation: u64,
    signing_key: String,
    key_id: String,
    messages: u64,
    busy: Duration,
}

fn info(lu: &str) -> Value {
    json!({"lastUpdated": lu, "updatedBy": "admin1"})
}

fn build_lookups(api: &str) -> Vec<(Coll, Vec<Value>)> {
    let r = |id: u64, name: &str, href_key: &str, path: &str| json!({"id": id, "name": name, "_info": {href_key: format!("{api}{path}{id}")}});
    let company_types = COMPANY_TYPES
        .iter()
        .map(|&(id, name)| {
            let mut v = json!({
                "id": id, "name": name, "defaultFlag": id == 1, "vendorFlag": id == 9,
                "serviceAlertFlag": id == 5, "_info": info("2023-01-05T10:00:00Z"),
            });
            if id == 5 {
                v["serviceAlertMessage"] = json!("Managed client - follow the MSA runbook.");
            }
            v
        })
        .collect();
    let company_statuses = COMPANY_STATUSES
        .iter()
        .map(|&(id, name)| {
            json!({
                "id": id, "name": name, "defaultFlag": id == 1, "inactiveFlag": id == 2,
                "notifyFlag": id == 3, "disallowSavingFlag": false,
                "notificationMessage": if id == 3 { "Company is on credit hold - check with accounting." } else { "" },
                "customNoteFlag": id == 3, "cancelOpenTracksFlag": id == 2,
                "_info": info("2023-01-05T10:00:00Z"),
            })
        })
        .collect();
    let locations = TERRITORIES
        .iter()
        .map(|&(id, name)| {
            json!({
                "id": id, "ownerLevelId": 1,
                "structureLevel": r(2, "Location", "structureLevel_href", "/system/corporateStructureLevels/"),
                "name": name,
                "manager": {"id": 155, "identifier": "jmorales", "name": "Jada Morales",
                    "_info": {"member_href": format!("{api}/system/members/155")}},
                "locationFlag": true, "clientFlag": false, "workRoleIds": [], "departmentIds": [10],
                "_info": info("2023-02-01T09:00:00Z"),
            })
        })
        .collect();
    let markets = MARKETS
        .iter()
        .map(|&(id, name)| json!({"id": id, "name": name, "_info": info("2023-01-05T10:00:00Z")}))
        .collect();
    let opp_statuses = OPPORTUNITY_STATUSES
        .iter()
        .map(|&(id, name, won, lost, closed)| {
            json!({
                "id": id, "name": name, "wonFlag": won, "lostFlag": lost, "closedFlag": closed,
                "inactiveFlag": false, "defaultFlag": id == 1, "_info": info("2023-01-05T10:00:00Z"),
            })
        })
        .collect();
    let opp_types = OPP_TYPES
        .iter()
        .map(|&(id, name)| {
            json!({"id": id, "description": name, "inactiveFlag": false, "_info": info("2023-01-05T10:00:00Z")})
        })
        .collect();
    let probabilities = PROBABILITIES
        .iter()
        .map(|&(id, p)| json!({"id": id, "probability": p, "_info": info("2023-01-05T10:00:00Z")}))
        .collect();
    let stages = STAGES
        .iter()
        .enumerate()
        .map(|(n, &(id, name, prob))| {
            let color = ["Gray", "Blue", "Yellow", "Orange", "Green"][n % 5];
            json!({
                "id": id, "name": name,
                "probability": r(prob, &probability_percent(prob).to_string(), "probability_href", "/sales/probabilities/"),
                "color": color,
                "sequenceNumber": n + 1, "_info": info("2023-01-05T10:00:00Z"),
            })
        })
        .collect();
    let project_statuses = [(1, "Open", true, false, false, 1, "Green"), (2, "On Hold", false, true, false, 2, "Yellow"), (5, "Closed", false, true, true, 4, "Gray")]
        .iter()
        .map(|&(id, name, default, no_time, closed, ind, ind_name)| {
            json!({
                "id": id, "name": name, "defaultFlag": default, "inactiveFlag": false,
                "noTimeFlag": no_time, "closedFlag": closed,
                "statusIndicator": r(ind, ind_name, "statusIndicator_href", "/project/statusIndicators/"),
                "_info": info("2023-01-05T10:00:00Z"),
            })
        })
        .collect();
    let priorities = [
        (4, "Priority 1 - Critical", "Red", 1),
        (5, "Priority 2 - High", "Orange", 3),
        (7, "Priority 4 - Low", "Blue", 8),
        (8, "Priority 3 - Normal", "Green", 6),
    ]
    .iter()
    .map(|&(id, name, color, sort)| {
        json!({
            "id": id, "name": name, "color": color, "sortOrder": sort, "defaultFlag": id == 8,
            "imageLink": format!("{api}/service/priorities/{id}/image"),
            "_info": info("2023-01-05T10:00:00Z"),
        })
    })
    .collect();
    let dept = json!({"id": 10, "identifier": "PS", "name": "Professional Services",
        "_info": {"department_href": format!("{api}/system/departments/10")}});
    let mut boards: Vec<Value> = vec![json!({
        "id": 1, "name": "Help Desk",
        "location": r(11, "East Region", "location_href", "/system/locations/"),
        "department": {"id": 11, "identifier": "SD", "name": "Service Desk",
            "_info": {"department_href": format!("{api}/system/departments/11")}},
        "inactiveFlag": false, "projectFlag": false, "showDependenciesFlag": false,
        "showEstimatesFlag": false, "billTime": "Billable", "billExpense": "Billable",
        "billProduct": "Billable", "_info": info("2024-02-11T09:00:00Z"),
    })];
    for (n, &(id, name)) in PROJECT_BOARDS.iter().enumerate() {
        let (lid, lname) = TERRITORIES[n % 2];
        boards.push(json!({
            "id": id, "name": name,
            "location": r(lid, lname, "location_href", "/system/locations/"),
            "department": dept.clone(),
            "inactiveFlag": false, "projectFlag": true, "showDependenciesFlag": n == 0,
            "showEstimatesFlag": true, "billTime": "Billable", "billExpense": "Billable",
            "billProduct": "Billable",
            "percentageCalculation": if n == 0 { "ActualHours" } else { "ClosedPhases" },
            "_info": info("2024-02-11T09:00:00Z"),
        }));
    }
    vec![
        (Coll::CompanyTypes, company_types),
        (Coll::CompanyStatuses, company_statuses),
        (Coll::Locations, locations),
        (Coll::Markets, markets),
        (Coll::OppStatuses, opp_statuses),
        (Coll::OppTypes, opp_types),
        (Coll::Probabilities, probabilities),
        (Coll::Stages, stages),
        (Coll::ProjectStatuses, project_statuses),
        (Coll::Priorities, priorities),
        (Coll::Boards, boards),
    ]
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

fn field_ci<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    m.get(k)
        .or_else(|| {
            m.iter()
                .find(|(x, _)| x.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

fn body_object(req: &Request, resource: &str) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid(
            resource,
            vec![(
                "InvalidObject",
                resource.to_string(),
                format!("The {resource} body must be a JSON object."),
            )],
        )),
        Err(e) => Err(bad_request(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// The id of reference `k` (`{"id": n}`); a present but malformed value is
/// a problem.
fn ref_id(m: &Map<String, Value>, k: &str) -> Result<Option<u64>, Problem> {
    match field_ci(m, k) {
        None => Ok(None),
        Some(v) => v
            .get("id")
            .and_then(|id| {
                id.as_u64()
                    .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
            })
            .map(Some)
            .ok_or_else(|| {
                (
                    "InvalidField",
                    k.to_string(),
                    format!("{k} must be a reference object with a numeric id."),
                )
            }),
    }
}

fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    field_ci(m, k).and_then(Value::as_str)
}

fn f64_of(m: &Map<String, Value>, k: &str) -> Option<f64> {
    field_ci(m, k).and_then(Value::as_f64)
}

fn bool_of(m: &Map<String, Value>, k: &str) -> Option<bool> {
    field_ci(m, k).and_then(Value::as_bool)
}

fn date_of(m: &Map<String, Value>, k: &str) -> Result<Option<i64>, Problem> {
    match field_ci(m, k) {
        None => Ok(None),
        Some(Value::String(s)) => parse_ts_millis(s)
            .map(|ms| Some(ms.div_euclid(1000)))
            .ok_or_else(|| {
                (
                    "InvalidField",
                    k.to_string(),
                    format!("{k} is not a valid date-time."),
                )
            }),
        Some(_) => Err((
            "InvalidField",
            k.to_string(),
            format!("{k} must be a date-time string."),
        )),
    }
}

fn required(problems: &mut Vec<Problem>, k: &str) {
    problems.push((
        "MissingRequiredField",
        k.to_string(),
        format!("The {k} field is required."),
    ));
}

const BILLING_METHODS: [&str; 4] = ["ActualRates", "FixedFee", "NotToExceed", "OverrideRate"];
const BILL_OPTIONS: [&str; 4] = ["Billable", "DoNotBill", "NoCharge", "NoDefault"];
const CALLBACK_TYPES: [&str; 16] = [
    "activity",
    "agreement",
    "company",
    "configuration",
    "contact",
    "expense",
    "invoice",
    "member",
    "opportunity",
    "productcatalog",
    "project",
    "purchaseorder",
    "schedule",
    "site",
    "ticket",
    "time",
];
const FORECAST_TYPES: [&str; 5] = ["Product", "Service", "Agreement", "Other1", "Other2"];

impl State {
    fn bump(&mut self) {
        self.generation += 1;
    }

    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn ref_value(
        &self,
        id: u64,
        identifier: Option<&str>,
        name: &str,
        href_key: &str,
        path: &str,
    ) -> Value {
        let mut s = String::new();
        push_ref(&mut s, &self.data.api, id, identifier, name, href_key, path);
        serde_json::from_str(&s).unwrap_or(Value::Null)
    }

    fn company_ref_value(&self, id: u64) -> Value {
        let (ident, name) = self.data.company_label(id);
        self.ref_value(
            id,
            Some(&ident),
            &name,
            "company_href",
            "/company/companies/",
        )
    }

    fn contact_ref_value(&self, id: u64) -> Value {
        let name = self.data.contact_name(id);
        self.ref_value(id, None, &name, "contact_href", "/company/contacts/")
    }

    fn lookup(&self, coll: Coll) -> &[Value] {
        match coll {
            Coll::Projects => &self.projects,
            Coll::Tickets => &self.tickets,
            Coll::Callbacks => &self.callbacks,
            c => self
                .lookups
                .iter()
                .find(|(k, _)| *k == c)
                .map_or(&[][..], |(_, v)| v.as_slice()),
        }
    }

    fn handle(&mut self, req: &Request) -> Reply {
        let method = req.method.as_str().to_string();
        let path = req.url.path().to_string();
        let pq = match req.url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        self.log.push((method.clone(), pq));
        if let Some(status) = self.faults.take() {
            self.stats.errors += 1;
            if status == 429 {
                self.stats.rate_limited += 1;
            }
            return self.fault(status);
        }
        let lower = path.to_ascii_lowercase();
        if let Some(company) = lower.strip_prefix("/login/companyinfo/") {
            if method != "GET" {
                return method_not_allowed(&method);
            }
            return self.company_info(company.trim_end_matches('/'));
        }
        let mut first = lower.trim_start_matches('/').splitn(2, '/');
        let (_codebase, after) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
        if after.trim_start_matches('/') == "system/callbackkey/index.rails" {
            return self.signing_key_reply(req, &method);
        }
        let Some(rest) = after.strip_prefix("apis/3.0") else {
            return not_endpoint();
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return not_endpoint();
        }
        if let Err(r) = self.check_host(req) {
            return r;
        }
        if let Err(r) = self.check_auth(req) {
            return r;
        }
        let segs: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let joined = format!("/{}", segs.join("/"));
        if (self.restricted && joined != "/system/info")
            || self
                .restricted_paths
                .iter()
                .any(|p| joined.starts_with(p.as_str()))
        {
            return error(
                403,
                "NotAuthorized",
                "You do not have sufficient security role permissions to perform this action.",
            );
        }
        self.route(req, &method, &segs)
    }

    fn fault(&self, status: u16) -> Reply {
        if status == 429 {
            return Reply::json(
                429,
                &json!({
                    "error": "ConnectWiseAPI",
                    "message": format!("Too many requests. Please try again in {} seconds.", self.retry_after),
                }),
            )
            .header("Retry-After", self.retry_after.to_string());
        }
        let code = match status {
            500 => "ServerError",
            502 => "BadGateway",
            503 => "ServiceUnavailable",
            504 => "GatewayTimeout",
            _ => "InjectedFault",
        };
        let reply = error(status, code, "Injected fault (simulator).");
        if status == 503 {
            reply.header("Retry-After", self.retry_after.to_string())
        } else {
            reply
        }
    }

    fn company_info(&self, company: &str) -> Reply {
        if !company.eq_ignore_ascii_case(&self.cfg.company_id) {
            return Reply::raw(200, "null".into());
        }
        Reply::json(
            200,
            &json!({
                "CompanyName": "Scopelink Demo MSP (simulator)",
                "Codebase": self.cfg.codebase,
                "VersionCode": "v2025.1",
                "VersionNumber": "v4.6.118402",
                "CompanyID": self.cfg.company_id,
                "IsCloud": "True",
            }),
        )
    }

    /// On a cloud site, API calls must name the `api-` host (Developer
    /// Guide, "Authentication": "Are you connecting to the Cloud or
    /// Staging? If so you must include API- in front of the ConnectWise PSA
    /// site ... Otherwise you will run into this error").
    fn check_host(&self, req: &Request) -> Result<(), Reply> {
        let Some(expected) = self.cfg.cloud_api_host() else {
            return Ok(());
        };
        let host = header(req, "host").unwrap_or("").trim();
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        if name.trim_end_matches('.').eq_ignore_ascii_case(&expected) {
            return Ok(());
        }
        Err(Reply::json(
            401,
            &json!({"code": "Security", "message": "SSL is required.", "errors": null}),
        ))
    }

    fn key_url(&self) -> String {
        format!(
            "{}/{}/system/callbackkey/index.rails?companyName={}&id={}",
            self.base, self.cfg.codebase, self.cfg.company_id, self.key_id
        )
    }

    fn signing_key_reply(&self, req: &Request, method: &str) -> Reply {
        if method != "GET" {
            return method_not_allowed(method);
        }
        let mut id = None;
        let mut company = None;
        for (k, v) in req.url.query_pairs() {
            match k.to_ascii_lowercase().as_str() {
                "id" => id = Some(v.into_owned()),
                "companyname" => company = Some(v.into_owned()),
                _ => {}
            }
        }
        let id_ok = id.is_some_and(|i| i.eq_ignore_ascii_case(&self.key_id));
        let company_ok = company.is_some_and(|c| c.eq_ignore_ascii_case(&self.cfg.company_id));
        if !(id_ok && company_ok) {
            return error(404, "NotFound", "Callback key not found");
        }
        Reply::json(200, &json!({"signing_key": self.signing_key}))
    }

    fn check_auth(&self, req: &Request) -> Result<(), Reply> {
        let unauthorized = || {
            error(
                401,
                "Unauthorized",
                format!(
                    "Authentication failed: invalid public/private key pair for company {}.",
                    self.cfg.company_id
                ),
            )
        };
        let auth = header(req, "authorization").ok_or_else(unauthorized)?;
        let (scheme, encoded) = auth.trim().split_once(' ').ok_or_else(unauthorized)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(unauthorized());
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(unauthorized)?;
        let (user, private) = decoded.split_once(':').ok_or_else(unauthorized)?;
        let (company, public) = user.split_once('+').ok_or_else(unauthorized)?;
        if !company.eq_ignore_ascii_case(&self.cfg.company_id)
            || public != self.cfg.public_key
            || private != self.cfg.private_key
        {
            return Err(unauthorized());
        }
        let client = header(req, "clientid").map(str::trim).unwrap_or("");
        if !client.eq_ignore_ascii_case(&self.cfg.client_id) {
            return Err(error(
                401,
                "Unauthorized",
                "A valid clientId header is required (see developer.connectwise.com/ClientID).",
            ));
        }
        Ok(())
    }

    fn route(&mut self, req: &Request, method: &str, segs: &[String]) -> Reply {
        if segs.len() == 2 && segs[0] == "system" && segs[1] == "info" {
            return if method == "GET" {
                self.system_info()
            } else {
                method_not_allowed(method)
            };
        }
        let Some((coll, label, used)) = match_route(segs) else {
            return not_endpoint();
        };
        let rest: Vec<&str> = segs[used..].iter().map(String::as_str).collect();
        let id = |s: &str| s.parse::<u64>().ok();
        match (method, coll, rest.as_slice()) {
            ("GET", _, []) => self.list(req, coll, false),
            ("GET", _, ["count"]) => self.list(req, coll, true),
            ("GET", Coll::Projects, [p, "phases"]) => self.list_phases(req, id(p), false),
            ("GET", Coll::Projects, [p, "phases", "count"]) => self.list_phases(req, id(p), true),
            ("GET", Coll::Projects, [p, "phases", ph]) => match (id(p), id(ph)) {
                (Some(p), Some(ph)) => match self
                    .phases
                    .iter()
                    .find(|v| v["id"] == json!(ph) && v["projectId"] == json!(p))
                {
                    Some(v) => Reply::json(200, v),
                    None => not_found("Phase", ph),
                },
                _ => not_endpoint(),
            },
            ("POST", Coll::Projects, [p, "phases"]) => match id(p) {
                Some(p) => self.create_phase(req, p),
                None => not_endpoint(),
            },
            ("GET", Coll::Tickets, [t, "tasks"]) => match id(t) {
                Some(t) => {
                    let tasks: Vec<Value> = self
                        .tasks
                        .iter()
                        .filter(|v| v["ticketId"] == json!(t))
                        .cloned()
                        .collect();
                    Reply::json(200, &Value::Array(tasks))
                }
                None => not_endpoint(),
            },
            ("POST", Coll::Tickets, [t, "tasks"]) => match id(t) {
                Some(t) => self.create_task(req, t),
                None => not_endpoint(),
            },
            ("GET", Coll::Opportunities, [o, "forecast"]) => match id(o) {
                Some(o) => self.forecast_list(o),
                None => not_endpoint(),
            },
            ("POST", Coll::Opportunities, [o, "forecast"]) => match id(o) {
                Some(o) => self.post_forecast(req, o),
                None => not_endpoint(),
            },
            ("PATCH", Coll::Opportunities, [o, "forecast", f]) => match (id(o), id(f)) {
                (Some(o), Some(f)) => self.patch_forecast_item(req, o, f),
                _ => not_endpoint(),
            },
            ("GET", _, [one]) => match id(one) {
                Some(n) => self.single(coll, n, label),
                None => not_endpoint(),
            },
            ("PATCH", Coll::Opportunities, [o]) => match id(o) {
                Some(o) => self.patch_opportunity(req, o),
                None => not_endpoint(),
            },
            ("POST", Coll::Callbacks, []) => self.create_callback(req),
            ("PATCH", Coll::Callbacks, [c]) => match id(c) {
                Some(c) => self.patch_callback(req, c),
                None => not_endpoint(),
            },
            ("DELETE", Coll::Callbacks, [c]) => match id(c) {
                Some(c) => {
                    let before = self.callbacks.len();
                    self.callbacks.retain(|v| v.row_id() != c);
                    if self.callbacks.len() == before {
                        not_found(label, c)
                    } else {
                        self.bump();
                        Reply::raw(204, String::new())
                    }
                }
                None => not_endpoint(),
            },
            ("POST", Coll::Projects, []) => self.create_project(req),
            ("POST", Coll::Tickets, []) => self.create_ticket(req),
            (_, _, r) if r.len() <= 1 => method_not_allowed(method),
            _ => not_endpoint(),
        }
    }

    fn system_info(&self) -> Reply {
        Reply::json(
            200,
            &json!({
                "version": "v2025.1.118402",
                "isCloud": true,
                "serverTimeZone": "Eastern Standard Time",
                "licenseBits": [
                    {"name": "CustomMenu", "activeFlag": true},
                    {"name": "Procurement", "activeFlag": true},
                    {"name": "ProjectManagement", "activeFlag": true}
                ],
                "cloudRegion": "NA",
                "maxWorkFlowRecordsAllowed": 2000
            }),
        )
    }

    fn list(&mut self, req: &Request, coll: Coll, count: bool) -> Reply {
        let q = match parse_query(req) {
            Ok(q) => q,
            Err(r) => return r,
        };
        let link_base = format!("{}{}", self.base, req.url.path());
        let generation = self.generation;
        let d = &self.data;
        let cache = Some((&mut self.cache, coll, generation));
        match coll {
            Coll::Companies => list_rows(
                &d.companies,
                d,
                Some((COMPANY_FIELDS, COMPANY_CHILD_FIELDS)),
                &q,
                cache,
                &link_base,
                count,
            ),
            Coll::Contacts => list_rows(
                &d.contacts,
                d,
                Some((CONTACT_FIELDS, CONTACT_CHILD_FIELDS)),
                &q,
                cache,
                &link_base,
                count,
            ),
            Coll::Opportunities => list_rows(
                &d.opportunities,
                d,
                Some((OPPORTUNITY_FIELDS, &[])),
                &q,
                cache,
                &link_base,
                count,
            ),
            Coll::Configurations => list_rows(
                &d.configurations,
                d,
                Some((CONFIGURATION_FIELDS, &[])),
                &q,
                cache,
                &link_base,
                count,
            ),
            Coll::Catalog => list_rows(
                &d.catalog,
                d,
                Some((CATALOG_FIELDS, &[])),
                &q,
                cache,
                &link_base,
                count,
            ),
            other => {
                let rows: Vec<Value> = match other {
                    Coll::Tickets => self.tickets.iter().map(public_ticket).collect(),
                    _ => self.lookup(other).to_vec(),
                };
                list_rows(&rows, &self.data, None, &q, None, &link_base, count)
            }
        }
    }

    fn list_phases(&mut self, req: &Request, project: Option<u64>, count: bool) -> Reply {
        let Some(project) = project else {
            return not_endpoint();
        };
        if !self.projects.iter().any(|p| p.row_id() == project) {
            return not_found("Project", project);
        }
        let q = match parse_query(req) {
            Ok(q) => q,
            Err(r) => return r,
        };
        let rows: Vec<Value> = self
            .phases
            .iter()
            .filter(|v| v["projectId"] == json!(project))
            .cloned()
            .collect();
        let link_base = format!("{}{}", self.base, req.url.path());
        list_rows(&rows, &self.data, None, &q, None, &link_base, count)
    }

    fn single(&self, coll: Coll, id: u64, label: &str) -> Reply {
        let d = &self.data;
        match coll {
            Coll::Companies => single_row(&d.companies, d, id, label),
            Coll::Contacts => single_row(&d.contacts, d, id, label),
            Coll::Opportunities => single_row(&d.opportunities, d, id, label),
            Coll::Configurations => single_row(&d.configurations, d, id, label),
            Coll::Catalog => single_row(&d.catalog, d, id, label),
            Coll::Tickets => match self.tickets.iter().find(|t| t.row_id() == id) {
                Some(t) => Reply::json(200, &public_ticket(t)),
                None => not_found(label, id),
            },
            other => value_row(self.lookup(other), id, label),
        }
    }

    fn render_entity(&self, kind: &str, id: u64) -> Option<String> {
        let d = &self.data;
        let mut out = String::new();
        match kind.to_ascii_lowercase().as_str() {
            "company" => d.company(id)?.render(d, &mut out),
            "contact" => d.contact(id)?.render(d, &mut out),
            "opportunity" => d.opportunity(id)?.render(d, &mut out),
            "configuration" => {
                let i = find(&d.configurations, id, |c| c.id)?;
                d.configurations[i].render(d, &mut out)
            }
            "productcatalog" => {
                let i = find(&d.catalog, id, |c| c.id)?;
                d.catalog[i].render(d, &mut out)
            }
            "project" => out = self.projects.iter().find(|p| p.row_id() == id)?.to_string(),
            "ticket" => {
                out = public_ticket(self.tickets.iter().find(|p| p.row_id() == id)?).to_string()
            }
            _ => return None,
        }
        Some(out)
    }

    fn sign(&self, body: &[u8]) -> String {
        sign_callback(&self.signing_key, body)
    }

    fn patch_callback(&mut self, req: &Request, id: u64) -> Reply {
        let ops = match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Array(a)) => a,
            Ok(_) => return bad_request("A PATCH body must be a JSON array of {op, path, value}."),
            Err(e) => return bad_request(format!("The request body is not valid JSON: {e}")),
        };
        let Some(pos) = self.callbacks.iter().position(|c| c.row_id() == id) else {
            return not_found("CallbackEntry", id);
        };
        let mut entry = self.callbacks[pos].clone();
        for op in &ops {
            let path = op.get("path").and_then(Value::as_str).unwrap_or("");
            let path = path.strip_prefix('/').unwrap_or(path);
            let writable = [
                "description",
                "url",
                "objectId",
                "type",
                "level",
                "inactiveFlag",
                "isSelfSuppressedFlag",
                "payloadVersion",
            ];
            if !writable.contains(&path) {
                return invalid(
                    "callbackEntry",
                    vec![(
                        "InvalidField",
                        path.to_string(),
                        format!("'{path}' cannot be patched."),
                    )],
                );
            }
            match op.get("op").and_then(Value::as_str).unwrap_or("") {
                "replace" | "add" => entry[path] = op.get("value").cloned().unwrap_or(Value::Null),
                other => return bad_request(format!("Unsupported patch op '{other}'.")),
            }
        }
        entry["_info"] = json!({"lastUpdated": ts(now_secs()), "updatedBy": API_MEMBER});
        self.callbacks[pos] = entry.clone();
        self.bump();
        Reply::json(200, &entry)
    }
}

/// The `x-content-signature` of a callback `body` under `signing_key`, as
/// ConnectWise computes it: `base64(HMAC-SHA256(key = SHA256(signing_key),
/// body))`.
pub fn sign_callback(signing_key: &str, body: &[u8]) -> String {
    let key = sha2::Sha256::digest(signing_key.as_bytes());
    let mac =
        scopelink_core::webhook::hmac(scopelink_core::webhook::HmacAlgorithm::Sha256, &key, body);
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// A ticket as the API returns it (`initialDescription` is POST-only).
fn public_ticket(t: &Value) -> Value {
    let mut t = t.clone();
    if let Value::Object(m) = &mut t {
        m.remove("initialDescription");
    }
    t
}

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

/// A reference given as `{"id": n}` or `{"name": ".."}` / `{"identifier": ".."}`.
fn ref_key(v: &Value) -> Option<(Option<u64>, Option<String>)> {
    let m = v.as_object()?;
    let id = field_ci(m, "id").and_then(|id| {
        id.as_u64()
            .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
    });
    let name = field_ci(m, "name")
        .or_else(|| field_ci(m, "identifier"))
        .and_then(Value::as_str)
        .map(str::to_string);
    (id.is_some() || name.is_some()).then_some((id, name))
}

impl State {
    fn apply_opportunity_op(
        &self,
        opp: &mut Opportunity,
        path: &str,
        v: &Value,
    ) -> Result<(), Problem> {
        let field = path.to_string();
        let text = |v: &Value| -> Result<Box<str>, Problem> {
            match v {
                Value::Null => Ok("".into()),
                Value::String(s) => Ok(s.as_str().into()),
                _ => Err((
                    "InvalidField",
                    field.clone(),
                    format!("{field} must be a string."),
                )),
            }
        };
        let reference = |v: &Value| {
            ref_key(v).ok_or_else(|| {
                (
                    "InvalidField",
                    field.clone(),
                    format!("{field} must be replaced whole with a reference object such as {{\"id\": 4}}."),
                )
            })
        };
        if path.contains('/') {
            return Err((
                "InvalidField",
                field.clone(),
                format!("'{path}': reference objects must be replaced whole (path \"stage\" with value {{\"id\": 4}}); a nested path is not applied by ConnectWise."),
            ));
        }
        match path {
            "name" => {
                let n = text(v)?;
                if n.trim().is_empty() || n.chars().count() > 100 {
                    return Err(("InvalidField", field, "name must be 1 to 100 characters.".into()));
                }
                opp.name = n;
            }
            "notes" => opp.notes = text(v)?,
            "source" => opp.source = text(v)?,
            "customerPO" => opp.customer_po = text(v)?,
            "expectedCloseDate" | "closedDate" => {
                let secs = match v {
                    Value::String(s) => parse_ts_millis(s).map(|ms| ms.div_euclid(1000)),
                    _ => None,
                };
                match (path, secs, v.is_null()) {
                    ("closedDate", None, true) => opp.closed_date = None,
                    ("closedDate", Some(s), _) => opp.closed_date = Some(s),
                    ("expectedCloseDate", Some(s), _) => opp.expected_close = s,
                    _ => {
                        return Err((
                            "InvalidField",
                            field.clone(),
                            format!("{field} must be a date-time such as \"2025-05-31T00:00:00Z\"."),
                        ))
                    }
                }
            }
            "stage" => {
                let (id, name) = reference(v)?;
                let stage = STAGES.iter().find(|s| {
                    id.is_some_and(|i| i == s.0)
                        || name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(s.1))
                });
                match stage {
                    Some(s) => opp.stage = s.0,
                    None => {
                        return Err((
                            "InvalidField",
                            field,
                            format!("Stage id {} is invalid.", id.map_or("?".into(), |i| i.to_string())),
                        ))
                    }
                }
            }
            "probability" => {
                let (id, name) = reference(v)?;
                let p = PROBABILITIES.iter().find(|p| {
                    id.is_some_and(|i| i == p.0)
                        || name.as_deref().is_some_and(|n| n.trim() == p.1.to_string())
                });
                match p {
                    Some(p) => opp.probability = p.0,
                    None => {
                        return Err((
                            "InvalidField",
                            field,
                            format!("Probability id {} is invalid.", id.map_or("?".into(), |i| i.to_string())),
                        ))
                    }
                }
            }
            "status" => {
                let (id, name) = reference(v)?;
                let s = OPPORTUNITY_STATUSES.iter().find(|s| {
                    id.is_some_and(|i| i == s.0)
                        || name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(s.1))
                });
                match s {
                    Some(s) => {
                        opp.status = s.0;
                        if s.4 {
                            opp.closed_date.get_or_insert_with(now_secs);
                        } else {
                            opp.closed_date = None;
                        }
                    }
                    None => {
                        return Err((
                            "InvalidField",
                            field,
                            format!("Status id {} is invalid.", id.map_or("?".into(), |i| i.to_string())),
                        ))
                    }
                }
            }
            "contact" => {
                if v.is_null() {
                    opp.contact = None;
                } else {
                    let (id, _) = reference(v)?;
                    match id.filter(|i| self.data.contact(*i).is_some()) {
                        Some(i) => opp.contact = Some(i),
                        None => {
                            return Err((
                                "InvalidField",
                                field,
                                format!("Contact id {} is invalid.", id.map_or("?".into(), |i| i.to_string())),
                            ))
                        }
                    }
                }
            }
            "company" => {
                let (id, _) = reference(v)?;
                match id.filter(|i| self.data.company(*i).is_some()) {
                    Some(i) => opp.company = i,
                    None => {
                        return Err((
                            "InvalidField",
                            field,
                            format!("Company id {} is invalid.", id.map_or("?".into(), |i| i.to_string())),
                        ))
                    }
                }
            }
            other => {
                return Err((
                    "InvalidField",
                    field.clone(),
                    format!("'{other}' is not a writable opportunity field in the simulator (paths are case-sensitive)."),
                ))
            }
        }
        Ok(())
    }

    fn patch_opportunity(&mut self, req: &Request, id: u64) -> Reply {
        let ops = match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Array(a)) => a,
            Ok(_) => return bad_request("A PATCH body must be a JSON array of {op, path, value}."),
            Err(e) => return bad_request(format!("The request body is not valid JSON: {e}")),
        };
        let Some(i) = find(&self.data.opportunities, id, |o| o.id) else {
            return not_found("Opportunity", id);
        };
        let mut opp = self.data.opportunities[i].clone();
        let mut problems = Vec::new();
        for op in &ops {
            let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
            let Some(path) = op.get("path").and_then(Value::as_str) else {
                problems.push((
                    "InvalidField",
                    "path".into(),
                    "Each operation needs a path.".into(),
                ));
                continue;
            };
            let path = path.strip_prefix('/').unwrap_or(path);
            let value = op.get("value").unwrap_or(&Value::Null);
            let result = match kind.to_ascii_lowercase().as_str() {
                "replace" | "add" => self.apply_opportunity_op(&mut opp, path, value),
                "remove" => self.apply_opportunity_op(&mut opp, path, &Value::Null),
                other => Err((
                    "InvalidField",
                    "op".into(),
                    format!("Unsupported patch op '{other}' (use add, replace or remove)."),
                )),
            };
            if let Err(p) = result {
                problems.push(p);
            }
        }
        if !problems.is_empty() {
            return invalid("opportunity", problems);
        }
        opp.last_updated = now_secs().max(opp.last_updated);
        opp.updated_by = API_MEMBER;
        self.data.opportunities[i] = opp;
        self.bump();
        single_row(&self.data.opportunities, &self.data, id, "Opportunity")
    }

    fn create_callback(&mut self, req: &Request) -> Reply {
        let m = match body_object(req, "callbackEntry") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let mut problems = Vec::new();
        let url = str_of(&m, "url");
        match url {
            None => required(&mut problems, "url"),
            Some(u) => {
                let ok = url::Url::parse(u)
                    .is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
                if !ok {
                    problems.push(("InvalidField", "url".into(), "Invalid URL".into()));
                }
            }
        }
        let object_id = field_ci(&m, "objectId").and_then(Value::as_i64);
        if object_id.is_none() {
            required(&mut problems, "objectId");
        }
        let kind = str_of(&m, "type").map(str::to_ascii_lowercase);
        match kind.as_deref() {
            None => required(&mut problems, "type"),
            Some(t) if !CALLBACK_TYPES.contains(&t) => problems.push((
                "InvalidField",
                "type".into(),
                format!("Unrecognized type '{t}'"),
            )),
            _ => {}
        }
        let level = str_of(&m, "level").map(str::to_ascii_lowercase);
        match level.as_deref() {
            None => required(&mut problems, "level"),
            Some(l) => {
                let ok = l == "owner"
                    || match kind.as_deref() {
                        Some("company") => {
                            ["status", "type", "territory", "company", "integratortag"].contains(&l)
                        }
                        Some("contact") => ["type", "contact", "company"].contains(&l),
                        Some("ticket") => {
                            ["board", "status", "ticket", "company", "project", "phase"]
                                .contains(&l)
                        }
                        Some("activity") => ["status", "type", "company", "activity"].contains(&l),
                        Some("opportunity") => {
                            ["status", "type", "opportunity", "company"].contains(&l)
                        }
                        Some("project") => ["board", "status", "project", "company"].contains(&l),
                        _ => false,
                    };
                if !ok {
                    problems.push((
                        "InvalidObject",
                        "level".into(),
                        "Unrecognized level for type, see documentation for supported levels for each type".into(),
                    ));
                }
            }
        }
        let description = str_of(&m, "description").unwrap_or("");
        if description.chars().count() > 100 {
            problems.push((
                "InvalidField",
                "description".into(),
                "description may not exceed 100 characters.".into(),
            ));
        }
        if !problems.is_empty() {
            return invalid("callbackEntry", problems);
        }
        let (url, kind, level) = (
            url.unwrap_or_default().to_string(),
            kind.unwrap_or_default(),
            level.unwrap_or_default(),
        );
        let object_id = if level == "owner" {
            1
        } else {
            object_id.unwrap_or(0)
        };
        let duplicate = self.callbacks.iter().any(|c| {
            c["url"] == json!(url)
                && c["type"] == json!(kind)
                && c["level"] == json!(level)
                && c["objectId"] == json!(object_id)
        });
        if duplicate {
            return invalid(
                "callbackEntry",
                vec![(
                    "ObjectExists",
                    "objectId".into(),
                    "A matching callback entry already exists".into(),
                )],
            );
        }
        let id = 26_600 + self.new_id();
        let entry = json!({
            "id": id,
            "description": description,
            "url": url,
            "objectId": object_id,
            "type": kind,
            "level": level,
            "memberId": 243,
            "payloadVersion": str_of(&m, "payloadVersion").unwrap_or("3.0.0"),
            "inactiveFlag": bool_of(&m, "inactiveFlag").unwrap_or(false),
            "isSoapCallbackFlag": false,
            "isSelfSuppressedFlag": bool_of(&m, "isSelfSuppressedFlag").unwrap_or(false),
            "connectWiseID": guid(0x1b7e_2d4c, id),
            "_info": {"lastUpdated": ts(now_secs()), "updatedBy": API_MEMBER},
        });
        self.callbacks.push(entry.clone());
        self.bump();
        Reply::json(201, &entry)
    }

    fn board_ref(&self, id: u64) -> Value {
        let name = self
            .lookup(Coll::Boards)
            .iter()
            .find(|b| b.row_id() == id)
            .and_then(|b| b["name"].as_str())
            .unwrap_or("Board")
            .to_string();
        self.ref_value(id, None, &name, "board_href", "/service/boards/")
    }

    fn create_project(&mut self, req: &Request) -> Reply {
        let m = match body_object(req, "project") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let mut problems = Vec::new();
        let name = str_of(&m, "name").map(str::to_string);
        match &name {
            None => required(&mut problems, "name"),
            Some(n) if n.trim().is_empty() || n.chars().count() > 100 => problems.push((
                "InvalidField",
                "name".into(),
                "name must be 1 to 100 characters.".into(),
            )),
            _ => {}
        }
        let refs = |k: &str, need: bool, problems: &mut Vec<Problem>| match ref_id(&m, k) {
            Ok(None) if need => {
                required(problems, k);
                None
            }
            Ok(v) => v,
            Err(p) => {
                problems.push(p);
                None
            }
        };
        let board = refs("board", true, &mut problems);
        let company = refs("company", true, &mut problems);
        let status = refs("status", false, &mut problems);
        let contact = refs("contact", false, &mut problems);
        let opportunity = refs("opportunity", false, &mut problems);
        let manager = refs("manager", false, &mut problems);
        if let Some(b) = board {
            if !PROJECT_BOARDS.iter().any(|p| p.0 == b) {
                problems.push((
                    "InvalidField",
                    "board".into(),
                    format!("Board id {b} is not a project board."),
                ));
            }
        }
        if let Some(c) = company {
            if self.data.company(c).is_none() {
                problems.push((
                    "InvalidField",
                    "company".into(),
                    format!("Company id {c} is invalid."),
                ));
            }
        }
        if let Some(s) = status {
            if !self
                .lookup(Coll::ProjectStatuses)
                .iter()
                .any(|v| v.row_id() == s)
            {
                problems.push((
                    "InvalidField",
                    "status".into(),
                    format!("Status id {s} is invalid."),
                ));
            }
        }
        if let Some(c) = contact {
            if self.data.contact(c).is_none() {
                problems.push((
                    "InvalidField",
                    "contact".into(),
                    format!("Contact id {c} is invalid."),
                ));
            }
        }
        if let Some(o) = opportunity {
            if self.data.opportunity(o).is_none() {
                problems.push((
                    "InvalidField",
                    "opportunity".into(),
                    format!("Opportunity id {o} is invalid."),
                ));
            }
        }
        let mut dates = [None, None];
        for (n, k) in ["estimatedStart", "estimatedEnd"].into_iter().enumerate() {
            match date_of(&m, k) {
                Ok(None) => required(&mut problems, k),
                Ok(d) => dates[n] = d,
                Err(p) => problems.push(p),
            }
        }
        if let [Some(s), Some(e)] = dates {
            if e < s {
                problems.push((
                    "InvalidField",
                    "estimatedEnd".into(),
                    "estimatedEnd must not be before estimatedStart.".into(),
                ));
            }
        }
        let billing = str_of(&m, "billingMethod");
        match billing {
            None => required(&mut problems, "billingMethod"),
            Some(b) if !BILLING_METHODS.contains(&b) => problems.push((
                "InvalidField",
                "billingMethod".into(),
                format!(
                    "billingMethod must be one of {}.",
                    BILLING_METHODS.join(", ")
                ),
            )),
            _ => {}
        }
        for k in ["billTime", "billExpenses", "billProducts"] {
            if let Some(v) = str_of(&m, k) {
                if !BILL_OPTIONS.contains(&v) {
                    problems.push((
                        "InvalidField",
                        k.into(),
                        format!("{k} must be one of {}.", BILL_OPTIONS.join(", ")),
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return invalid("project", problems);
        }
        let (Some(board), Some(company), [Some(start), Some(end)]) = (board, company, dates) else {
            return bad_request("project object is invalid");
        };
        let id = 400 + self.new_id();
        let status = status.unwrap_or(1);
        let status_v = self
            .lookup(Coll::ProjectStatuses)
            .iter()
            .find(|v| v.row_id() == status)
            .cloned()
            .unwrap_or(Value::Null);
        let now = ts(now_secs());
        let mut p = json!({
            "id": id,
            "actualHours": 0.0,
            "billExpenses": str_of(&m, "billExpenses").unwrap_or("Billable"),
            "billingAmount": f64_of(&m, "billingAmount").unwrap_or(0.0),
            "billingAttention": "",
            "billingMethod": billing,
            "billingRateType": "WorkRole",
            "billProducts": str_of(&m, "billProducts").unwrap_or("Billable"),
            "billProjectAfterClosedFlag": false,
            "billTime": str_of(&m, "billTime").unwrap_or("Billable"),
            "billToCompany": self.company_ref_value(company),
            "billUnapprovedTimeAndExpense": false,
            "board": self.board_ref(board),
            "budgetAnalysis": "ActualHours",
            "budgetFlag": false,
            "budgetHours": f64_of(&m, "budgetHours").unwrap_or(0.0),
            "company": self.company_ref_value(company),
            "customerPO": str_of(&m, "customerPO").unwrap_or(""),
            "description": str_of(&m, "description").unwrap_or(""),
        });
        let rest = json!({
            "currency": {"id": 7, "symbol": "$", "currencyCode": "USD", "name": "US Dollar",
                "_info": {"currency_href": format!("{}/finance/currencies/7", self.data.api)}},
            "downpayment": 0.0,
            "estimatedEnd": ts(end),
            "percentComplete": 0.0,
            "estimatedExpenseRevenue": 0.0,
            "estimatedHours": f64_of(&m, "estimatedHours").unwrap_or(0.0),
            "estimatedProductRevenue": 0.0,
            "estimatedStart": ts(start),
            "estimatedTimeRevenue": f64_of(&m, "billingAmount").unwrap_or(0.0),
            "includeDependenciesFlag": false,
            "includeEstimatesFlag": false,
            "location": self.ref_value(11, None, "East Region", "location_href", "/system/locations/"),
            "department": {"id": 10, "identifier": "PS", "name": "Professional Services",
                "_info": {"department_href": format!("{}/system/departments/10", self.data.api)}},
            "name": name,
            "restrictDownPaymentFlag": false,
            "scheduledHours": 0.0,
            "status": self.ref_value(status, None, status_v["name"].as_str().unwrap_or("Open"), "status_href", "/project/statuses/"),
            "closedFlag": status_v["closedFlag"].as_bool().unwrap_or(false),
            "doNotDisplayInPortalFlag": false,
            "_info": {"lastUpdated": now, "updatedBy": API_MEMBER, "dateEntered": now, "enteredBy": API_MEMBER},
            "customFields": [],
        });
        if let (Value::Object(a), Value::Object(b)) = (&mut p, rest) {
            a.extend(b);
        }
        if let Some(c) = contact {
            p["contact"] = self.contact_ref_value(c);
        }
        if let Some(mgr) = manager {
            let (mid, ident, mname) = MEMBERS
                .iter()
                .copied()
                .find(|x| x.0 == mgr)
                .unwrap_or((mgr, "member", "Member"));
            p["manager"] =
                self.ref_value(mid, Some(ident), mname, "member_href", "/system/members/");
        }
        if let Some(o) = opportunity {
            let oname = self
                .data
                .opportunity(o)
                .map(|x| x.name.to_string())
                .unwrap_or_default();
            p["opportunity"] =
                self.ref_value(o, None, &oname, "opportunity_href", "/sales/opportunities/");
        }
        if let Some(t) = field_ci(&m, "type") {
            p["type"] = t.clone();
        }
        self.projects.push(p.clone());
        self.bump();
        Reply::json(201, &p)
    }

    fn create_phase(&mut self, req: &Request, project: u64) -> Reply {
        let Some(proj) = self
            .projects
            .iter()
            .find(|p| p.row_id() == project)
            .cloned()
        else {
            return not_found("Project", project);
        };
        let m = match body_object(req, "phase") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let mut problems = Vec::new();
        let description = str_of(&m, "description").map(str::to_string);
        match &description {
            None => required(&mut problems, "description"),
            Some(d) if d.trim().is_empty() || d.chars().count() > 100 => problems.push((
                "InvalidField",
                "description".into(),
                "description must be 1 to 100 characters.".into(),
            )),
            _ => {}
        }
        let parent = match ref_id(&m, "parentPhase") {
            Ok(p) => p,
            Err(p) => {
                problems.push(p);
                None
            }
        };
        let parent_v = parent.and_then(|pid| {
            self.phases
                .iter()
                .find(|v| v.row_id() == pid && v["projectId"] == json!(project))
                .cloned()
        });
        if let (Some(pid), None) = (parent, &parent_v) {
            problems.push((
                "InvalidField",
                "parentPhase".into(),
                format!("Phase id {pid} is not a phase of project {project}."),
            ));
        }
        if bool_of(&m, "billSeparatelyFlag") == Some(true) && str_of(&m, "billingMethod").is_none()
        {
            required(&mut problems, "billingMethod");
        }
        let mut sched = [None, None];
        for (n, k) in ["scheduledStart", "scheduledEnd"].into_iter().enumerate() {
            match date_of(&m, k) {
                Ok(d) => sched[n] = d,
                Err(p) => problems.push(p),
            }
        }
        if !problems.is_empty() {
            return invalid("phase", problems);
        }
        let siblings = self
            .phases
            .iter()
            .filter(|v| {
                v["projectId"] == json!(project)
                    && v.get("parentPhase")
                        .and_then(|p| p.get("id"))
                        .and_then(Value::as_u64)
                        == parent
            })
            .count();
        let wbs = match &parent_v {
            Some(pv) => format!("{}.{}", pv["wbsCode"].as_str().unwrap_or("1"), siblings + 1),
            None => (siblings + 1).to_string(),
        };
        let id = 1600 + self.new_id();
        let now = ts(now_secs());
        let mut ph = json!({
            "id": id,
            "projectId": project,
            "description": description,
            "board": proj["board"].clone(),
            "status": self.ref_value(1, None, "Open", "status_href", "/project/phaseStatuses/"),
            "wbsCode": wbs,
            "billTime": "Billable",
            "billExpenses": "Billable",
            "billProducts": "Billable",
            "markAsMilestoneFlag": bool_of(&m, "markAsMilestoneFlag").unwrap_or(false),
            "notes": str_of(&m, "notes").unwrap_or(""),
            "billSeparatelyFlag": bool_of(&m, "billSeparatelyFlag").unwrap_or(false),
            "scheduledHours": 0.0,
            "actualHours": 0.0,
            "budgetHours": f64_of(&m, "budgetHours").unwrap_or(0.0),
            "locationId": 11,
            "businessUnitId": 10,
            "billPhaseClosedFlag": false,
            "billProjectClosedFlag": false,
            "_info": {"lastUpdated": now, "updatedBy": API_MEMBER},
            "customFields": [],
        });
        if let Some(pv) = parent_v {
            ph["parentPhase"] = self.ref_value(
                pv.row_id(),
                None,
                pv["description"].as_str().unwrap_or(""),
                "phase_href",
                &format!("/project/projects/{project}/phases/"),
            );
        }
        if let Some(b) = str_of(&m, "billingMethod") {
            ph["billingMethod"] = json!(b);
        }
        if let Some(s) = sched[0] {
            ph["scheduledStart"] = json!(ts(s));
        }
        if let Some(e) = sched[1] {
            ph["scheduledEnd"] = json!(ts(e));
        }
        if let Some(w) = str_of(&m, "wbsCode") {
            ph["wbsCode"] = json!(w);
        }
        self.phases.push(ph.clone());
        self.bump();
        Reply::json(201, &ph)
    }

    fn create_ticket(&mut self, req: &Request) -> Reply {
        let m = match body_object(req, "ticket") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let mut problems = Vec::new();
        let summary = str_of(&m, "summary").map(str::to_string);
        match &summary {
            None => required(&mut problems, "summary"),
            Some(s) if s.trim().is_empty() || s.chars().count() > 100 => problems.push((
                "InvalidField",
                "summary".into(),
                "summary must be 1 to 100 characters.".into(),
            )),
            _ => {}
        }
        let get = |k: &str, problems: &mut Vec<Problem>| match ref_id(&m, k) {
            Ok(v) => v,
            Err(p) => {
                problems.push(p);
                None
            }
        };
        let phase = get("phase", &mut problems);
        let project = get("project", &mut problems);
        let priority = get("priority", &mut problems);
        let contact = get("contact", &mut problems);
        let status = get("status", &mut problems);
        let phase_v = phase.and_then(|p| self.phases.iter().find(|v| v.row_id() == p).cloned());
        match (phase, &phase_v) {
            (None, _) => required(&mut problems, "phase"),
            (Some(p), None) => problems.push((
                "InvalidField",
                "phase".into(),
                format!("Phase id {p} is invalid."),
            )),
            _ => {}
        }
        let phase_project = phase_v.as_ref().and_then(|v| v["projectId"].as_u64());
        if let (Some(p), Some(pp)) = (project, phase_project) {
            if p != pp {
                problems.push((
                    "InvalidField",
                    "phase".into(),
                    format!(
                        "Phase {} belongs to project {pp}, not {p}.",
                        phase.unwrap_or(0)
                    ),
                ));
            }
        }
        if let Some(p) = priority {
            if !self
                .lookup(Coll::Priorities)
                .iter()
                .any(|v| v.row_id() == p)
            {
                problems.push((
                    "InvalidField",
                    "priority".into(),
                    format!("Priority id {p} is invalid."),
                ));
            }
        }
        if let Some(c) = contact {
            if self.data.contact(c).is_none() {
                problems.push((
                    "InvalidField",
                    "contact".into(),
                    format!("Contact id {c} is invalid."),
                ));
            }
        }
        if !problems.is_empty() {
            return invalid("ticket", problems);
        }
        let (Some(phase_v), Some(project_id)) = (phase_v, phase_project) else {
            return bad_request("ticket object is invalid");
        };
        let proj = self
            .projects
            .iter()
            .find(|p| p.row_id() == project_id)
            .cloned()
            .unwrap_or(Value::Null);
        let siblings = self
            .tickets
            .iter()
            .filter(|t| t["phase"]["id"] == phase_v["id"])
            .count();
        let id = 90_800 + self.new_id();
        let priority = priority.unwrap_or(8);
        let pr = self
            .lookup(Coll::Priorities)
            .iter()
            .find(|v| v.row_id() == priority)
            .cloned()
            .unwrap_or(Value::Null);
        let mut priority_ref = self.ref_value(
            priority,
            None,
            pr["name"].as_str().unwrap_or(""),
            "priority_href",
            "/service/priorities/",
        );
        priority_ref["sort"] = pr["sortOrder"].clone();
        let board = proj["board"].row_id();
        let now = ts(now_secs());
        let mut t = json!({
            "id": id,
            "summary": summary,
            "isIssueFlag": false,
            "board": proj["board"].clone(),
            "status": self.ref_value(status.unwrap_or(410), None, if status.is_some() { "Status" } else { "New" }, "status_href", &format!("/service/boards/{board}/statuses/")),
            "project": self.ref_value(project_id, None, proj["name"].as_str().unwrap_or(""), "project_href", "/project/projects/"),
            "phase": self.ref_value(phase_v.row_id(), None, phase_v["description"].as_str().unwrap_or(""), "phase_href", &format!("/project/projects/{project_id}/phases/")),
            "wbsCode": format!("{}.{}", phase_v["wbsCode"].as_str().unwrap_or("1"), siblings + 1),
            "company": proj["company"].clone(),
            "site": {"id": 1000 + proj["company"].row_id(), "name": "Main"},
            "priority": priority_ref,
            "budgetHours": f64_of(&m, "budgetHours").unwrap_or(0.0),
            "actualHours": 0.0,
            "closedFlag": false,
            "approved": true,
            "billTime": str_of(&m, "billTime").unwrap_or("Billable"),
            "billExpenses": str_of(&m, "billExpenses").unwrap_or("Billable"),
            "billProducts": str_of(&m, "billProducts").unwrap_or("Billable"),
            "location": proj["location"].clone(),
            "department": proj["department"].clone(),
            "mobileGuid": guid(0xe2f8_b6a0, id),
            "_info": {"lastUpdated": now, "updatedBy": API_MEMBER, "dateEntered": now, "enteredBy": API_MEMBER},
            "customFields": [],
        });
        if let Some(c) = contact.or_else(|| proj["contact"].get("id").and_then(Value::as_u64)) {
            t["contact"] = self.contact_ref_value(c);
        }
        for k in [
            "initialDescription",
            "requiredDate",
            "workRole",
            "workType",
            "owner",
            "predecessorType",
            "predecessorId",
        ] {
            if let Some(v) = field_ci(&m, k) {
                t[k] = v.clone();
            }
        }
        self.tickets.push(t.clone());
        self.bump();
        Reply::json(201, &public_ticket(&t))
    }

    fn create_task(&mut self, req: &Request, ticket: u64) -> Reply {
        if !self.tickets.iter().any(|t| t.row_id() == ticket) {
            return not_found("Ticket", ticket);
        }
        let m = match body_object(req, "task") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let Some(notes) = str_of(&m, "notes") else {
            let mut problems = Vec::new();
            required(&mut problems, "notes");
            return invalid("task", problems);
        };
        let id = 70_000 + self.new_id();
        let n = self
            .tasks
            .iter()
            .filter(|t| t["ticketId"] == json!(ticket))
            .count();
        let task = json!({
            "id": id,
            "ticketId": ticket,
            "notes": notes,
            "closedFlag": bool_of(&m, "closedFlag").unwrap_or(false),
            "priority": field_ci(&m, "priority").and_then(Value::as_u64).unwrap_or(n as u64 + 1),
            "code": field_ci(&m, "code").cloned().unwrap_or(Value::Null),
            "resolution": str_of(&m, "resolution").unwrap_or(""),
            "_info": {"lastUpdated": ts(now_secs()), "updatedBy": API_MEMBER},
        });
        self.tasks.push(task.clone());
        self.bump();
        Reply::json(201, &task)
    }

    /// `GET sales/opportunities/{id}/forecast`: the schema's response is
    /// `Forecast[]` (OAPI-Go `GetSalesOpportunitiesByParentIdForecast`,
    /// pyCW `SalesOpportunitiesIdForecastEndpoint.get`), so the one
    /// forecast of the opportunity comes in a list.
    fn forecast_list(&self, opp: u64) -> Reply {
        match self.forecast(opp) {
            Ok(f) => Reply::json(200, &Value::Array(vec![f])),
            Err(r) => r,
        }
    }

    /// The opportunity's `Forecast`: its items and the totals.
    fn forecast(&self, opp: u64) -> Result<Value, Reply> {
        let Some(o) = self.data.opportunity(opp) else {
            return Err(not_found("Opportunity", opp));
        };
        let items: Vec<Value> = self
            .forecast_items
            .iter()
            .filter(|f| f["opportunity"]["id"] == json!(opp))
            .cloned()
            .collect();
        let total = |pred: &dyn Fn(&Value) -> bool| {
            let (mut rev, mut cost) = (0.0, 0.0);
            for i in items.iter().filter(|i| pred(i)) {
                rev += i["revenue"].as_f64().unwrap_or(0.0);
                cost += i["cost"].as_f64().unwrap_or(0.0);
            }
            let margin = rev - cost;
            let pct = if rev != 0.0 {
                margin / rev * 100.0
            } else {
                0.0
            };
            json!({"revenue": rev, "cost": cost, "margin": margin, "percentage": pct})
        };
        let included = |i: &Value| i["includeFlag"].as_bool().unwrap_or(true);
        let of_type = |t: &'static str| move |i: &Value| i["forecastType"] == json!(t);
        let status = opp_status(o.status);
        let all = total(&included);
        let none = total(&|_: &Value| false);
        Ok(json!({
                "id": opp,
                "forecastItems": items,
                "productRevenue": total(&of_type("Product")),
                "serviceRevenue": total(&of_type("Service")),
                "agreementRevenue": total(&of_type("Agreement")),
                "timeRevenue": none.clone(),
                "expenseRevenue": none.clone(),
                "forecastRevenueTotals": all.clone(),
                "inclusiveRevenueTotals": all.clone(),
                "recurringTotal": 0.0,
                "wonRevenue": if status.2 { all.clone() } else { none.clone() },
                "lostRevenue": if status.3 { all.clone() } else { none.clone() },
                "openRevenue": if status.4 { none.clone() } else { all.clone() },
                "otherRevenue1": total(&of_type("Other1")),
                "otherRevenue2": total(&of_type("Other2")),
                "salesTaxRevenue": 0.0,
                "forecastTotalWithTaxes": all["revenue"].clone(),
                "expectedProbability": probability_percent(o.probability),
                "currency": {"id": 7, "symbol": "$", "currencyCode": "USD", "name": "US Dollar"},
                "_info": {"lastUpdated": ts(o.last_updated), "updatedBy": o.updated_by},
        }))
    }

    /// `POST sales/opportunities/{id}/forecast`: the body and the answer
    /// are a whole `Forecast` (OAPI-Go `PostSalesOpportunitiesByParentIdForecast`,
    /// pyCW `SalesOpportunitiesIdForecastEndpoint.post`, PSmod
    /// `New-CWMOpportunityForecast`). Items of `forecastItems` without an
    /// id are created; items with the id of an existing item are left as
    /// they are (nothing is duplicated). A body without a `forecastItems`
    /// list (a bare forecast item) is refused. Every item is checked
    /// before any is created.
    fn post_forecast(&mut self, req: &Request, opp: u64) -> Reply {
        if find(&self.data.opportunities, opp, |o| o.id).is_none() {
            return not_found("Opportunity", opp);
        }
        let m = match body_object(req, "forecast") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let Some(Value::Array(items)) = field_ci(&m, "forecastItems") else {
            return invalid(
                "forecast",
                vec![(
                    "MissingRequiredField",
                    "forecastItems".into(),
                    "The forecastItems field is required: this endpoint takes a Forecast (its list of forecastItems), not a single forecast item.".into(),
                )],
            );
        };
        let mut new_items = Vec::new();
        let mut problems = Vec::new();
        for (n, item) in items.iter().enumerate() {
            let Value::Object(item) = item else {
                problems.push((
                    "InvalidField",
                    format!("forecastItems[{n}]"),
                    "A forecast item must be an object.".into(),
                ));
                continue;
            };
            let id = field_ci(item, "id").and_then(Value::as_u64).unwrap_or(0);
            if id != 0 {
                if self
                    .forecast_items
                    .iter()
                    .any(|f| f.row_id() == id && f["opportunity"]["id"] == json!(opp))
                {
                    continue;
                }
                problems.push((
                    "InvalidField",
                    format!("forecastItems[{n}].id"),
                    format!("Forecast item {id} does not exist on opportunity {opp}."),
                ));
                continue;
            }
            match self.check_forecast_item(item, opp) {
                Ok(status) => new_items.push((item.clone(), status)),
                Err(p) => problems.extend(
                    p.into_iter()
                        .map(|(c, f, msg)| (c, format!("forecastItems[{n}].{f}"), msg)),
                ),
            }
        }
        if !problems.is_empty() {
            return invalid("forecast", problems);
        }
        for (item, status) in new_items {
            self.create_forecast_item(&item, opp, status);
        }
        match self.forecast(opp) {
            Ok(f) => Reply::json(201, &f),
            Err(r) => r,
        }
    }

    /// Checks one new forecast item; its status id when it is valid.
    /// `opportunity`, `status` and `forecastType` are required
    /// (OAPI-Go `ForecastItem.md`, PSmod `New-CWMOpportunityForecastItem`).
    fn check_forecast_item(&self, m: &Map<String, Value>, opp: u64) -> Result<u64, Vec<Problem>> {
        let mut problems = Vec::new();
        match str_of(m, "forecastType") {
            None => required(&mut problems, "forecastType"),
            Some(t) if !FORECAST_TYPES.contains(&t) => problems.push((
                "InvalidField",
                "forecastType".into(),
                format!("forecastType must be one of {}.", FORECAST_TYPES.join(", ")),
            )),
            _ => {}
        }
        for k in ["revenue", "cost"] {
            if field_ci(m, k).is_some_and(|v| !v.is_number()) {
                problems.push(("InvalidField", k.into(), format!("{k} must be a number.")));
            }
        }
        let status = match ref_id(m, "status") {
            Ok(Some(s)) if OPPORTUNITY_STATUSES.iter().any(|st| st.0 == s) => s,
            Ok(Some(s)) => {
                problems.push((
                    "InvalidField",
                    "status".into(),
                    format!("Opportunity status {s} was not found."),
                ));
                0
            }
            Ok(None) => {
                required(&mut problems, "status");
                0
            }
            Err(p) => {
                problems.push(p);
                0
            }
        };
        match ref_id(m, "opportunity") {
            Ok(Some(o)) if o == opp => {}
            Ok(Some(o)) => problems.push((
                "InvalidField",
                "opportunity".into(),
                format!("The opportunity {o} is not the opportunity {opp} of this forecast."),
            )),
            Ok(None) => required(&mut problems, "opportunity"),
            Err(p) => problems.push(p),
        }
        if problems.is_empty() {
            Ok(status)
        } else {
            Err(problems)
        }
    }

    /// Adds a checked forecast item to opportunity `opp`.
    fn create_forecast_item(&mut self, m: &Map<String, Value>, opp: u64, status: u64) {
        let Some(i) = find(&self.data.opportunities, opp, |o| o.id) else {
            return;
        };
        let id = 3000 + self.new_id();
        let o = &self.data.opportunities[i];
        let (rev, cost) = (
            f64_of(m, "revenue").unwrap_or(0.0),
            f64_of(m, "cost").unwrap_or(0.0),
        );
        let st = opp_status(status);
        let mut item = json!({
            "id": id,
            "forecastDescription": str_of(m, "forecastDescription").unwrap_or(""),
            "opportunity": self.ref_value(opp, None, &o.name, "opportunity_href", "/sales/opportunities/"),
            "quantity": f64_of(m, "quantity").unwrap_or(1.0),
            "status": self.ref_value(st.0, None, st.1, "status_href", "/sales/opportunities/statuses/"),
            "forecastType": str_of(m, "forecastType"),
            "revenue": rev,
            "cost": cost,
            "margin": rev - cost,
            "percentage": if rev != 0.0 { (rev - cost) / rev * 100.0 } else { 0.0 },
            "includeFlag": bool_of(m, "includeFlag").unwrap_or(true),
            "linkFlag": false,
            "recurringFlag": bool_of(m, "recurringFlag").unwrap_or(false),
            "taxableFlag": false,
            "sequenceNumber": self.forecast_items.iter().filter(|f| f["opportunity"]["id"] == json!(opp)).count() + 1,
            "_info": {"lastUpdated": ts(now_secs()), "updatedBy": API_MEMBER},
        });
        for k in ["recurringRevenue", "recurringCost", "cycles", "billCycle"] {
            if let Some(v) = field_ci(m, k) {
                item[k] = v.clone();
            }
        }
        self.forecast_items.push(item);
        let o = &mut self.data.opportunities[i];
        o.last_updated = now_secs().max(o.last_updated);
        self.bump();
    }

    fn patch_forecast_item(&mut self, req: &Request, opp: u64, item: u64) -> Reply {
        let ops = match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Array(a)) => a,
            Ok(_) => return bad_request("A PATCH body must be a JSON array of {op, path, value}."),
            Err(e) => return bad_request(format!("The request body is not valid JSON: {e}")),
        };
        let Some(pos) = self
            .forecast_items
            .iter()
            .position(|f| f.row_id() == item && f["opportunity"]["id"] == json!(opp))
        else {
            return not_found("ForecastItem", item);
        };
        let mut it = self.forecast_items[pos].clone();
        for op in &ops {
            let path = op.get("path").and_then(Value::as_str).unwrap_or("");
            let path = path.strip_prefix('/').unwrap_or(path);
            if path.is_empty() || path.contains('/') || path == "id" || path == "opportunity" {
                return invalid(
                    "forecastItem",
                    vec![(
                        "InvalidField",
                        path.to_string(),
                        format!("'{path}' cannot be patched."),
                    )],
                );
            }
            match op.get("op").and_then(Value::as_str).unwrap_or("") {
                "replace" | "add" => it[path] = op.get("value").cloned().unwrap_or(Value::Null),
                "remove" => {
                    if let Value::Object(m) = &mut it {
                        m.remove(path);
                    }
                }
                other => return bad_request(format!("Unsupported patch op '{other}'.")),
            }
        }
        let (rev, cost) = (
            it["revenue"].as_f64().unwrap_or(0.0),
            it["cost"].as_f64().unwrap_or(0.0),
        );
        it["margin"] = json!(rev - cost);
        it["percentage"] = json!(if rev != 0.0 {
            (rev - cost) / rev * 100.0
        } else {
            0.0
        });
        it["_info"] = json!({"lastUpdated": ts(now_secs()), "updatedBy": API_MEMBER});
        self.forecast_items[pos] = it.clone();
        if let Some(i) = find(&self.data.opportunities, opp, |o| o.id) {
            let o = &mut self.data.opportunities[i];
            o.last_updated = now_secs().max(o.last_updated);
        }
        self.bump();
        Reply::json(200, &it)
    }
}

// ---------------------------------------------------------------------------
// The wiremock responder and the public handle
// ---------------------------------------------------------------------------

struct Responder {
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let started = std::time::Instant::now();
        let mut st = lock(&self.state);
        let latency = if st.slow_next > 0 {
            st.slow_next -= 1;
            st.stats.slowed += 1;
            Some(st.slow_latency)
        } else {
            st.latency
        };
        let reply = std::panic::catch_unwind(AssertUnwindSafe(|| st.handle(request)))
            .unwrap_or_else(|_| {
                error(
                    500,
                    "SimulatorBug",
                    "The simulator failed on this request (a bug in the simulator).",
                )
            });
        st.busy += started.elapsed();
        drop(st);
        let mut t = ResponseTemplate::new(reply.status)
            .insert_header("api-current-version", "2025.1")
            .insert_header("Cache-Control", "no-cache");
        for (k, v) in reply.headers {
            t = t.insert_header(k, v.as_str());
        }
        if !reply.body.is_empty() {
            t = t.set_body_raw(reply.body, "application/json; charset=utf-8");
        }
        if let Some(d) = latency {
            t = t.set_delay(d);
        }
        t
    }
}

/// The callback payload ConnectWise POSTs (PascalCase keys, `Entity` as a
/// JSON string).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CallbackPayload<'a> {
    message_id: String,
    from_url: &'a str,
    company_id: &'a str,
    member_id: &'a str,
    action: &'a str,
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "ID")]
    id: u64,
    product_instance_id: Option<String>,
    partner_id: Option<String>,
    entity: Option<String>,
    metadata: CallbackMetadata,
    callback_object_rec_id: u64,
}

#[derive(Serialize)]
struct CallbackMetadata {
    key_url: String,
}

/// A running ConnectWise Manage simulator. Dropping it stops the server.
pub struct ConnectWiseSim {
    server: MockServer,
    state: Arc<Mutex<State>>,
    config: SimConfig,
    base: String,
    api_base: String,
}

impl std::fmt::Debug for ConnectWiseSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectWiseSim")
            .field("server_url", &self.base)
            .field("companies", &self.config.companies)
            .finish_non_exhaustive()
    }
}

impl ConnectWiseSim {
    /// Generates the data and starts the server on `127.0.0.1`.
    pub async fn start(config: SimConfig) -> ConnectWiseSim {
        let mut config = config;
        let cb = config.codebase.trim_matches('/');
        config.codebase = if cb.is_empty() {
            "v2025_1/".into()
        } else {
            format!("{cb}/")
        };
        let server = MockServer::builder()
            .disable_request_recording()
            .start()
            .await;
        let base = server.uri();
        let site = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let api_base = format!("{base}/{}apis/3.0", config.codebase);
        let data = Data::generate(&config, api_base.clone());
        let lookups = build_lookups(&api_base);
        let seed = mix(config.companies as u64 ^ 0x5eed);
        let state = State {
            cfg: config.clone(),
            base: base.clone(),
            site,
            data,
            lookups,
            projects: Vec::new(),
            phases: Vec::new(),
            tickets: Vec::new(),
            tasks: Vec::new(),
            callbacks: Vec::new(),
            forecast_items: Vec::new(),
            next_id: 0,
            faults: Faults::default(),
            retry_after: 0,
            latency: None,
            slow_next: 0,
            slow_latency: Duration::ZERO,
            stats: FaultStats::default(),
            restricted: false,
            restricted_paths: Vec::new(),
            log: Vec::new(),
            cache: Cache::default(),
            generation: 0,
            signing_key: format!("sl-sim-signing-key-{:010x}", seed & 0xff_ffff_ffff),
            key_id: format!(
                "6e1b0f7a-2c9d-4a83-b5e4-{:012x}",
                mix(seed) & 0xffff_ffff_ffff
            ),
            messages: 0,
            busy: Duration::ZERO,
        };
        let state = Arc::new(Mutex::new(state));
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder {
                state: state.clone(),
            })
            .mount(&server)
            .await;
        ConnectWiseSim {
            server,
            state,
            config,
            base,
            api_base,
        }
    }

    fn st(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// `http://127.0.0.1:PORT`: what a user types as the server.
    pub fn server_url(&self) -> &str {
        &self.base
    }

    /// `127.0.0.1:PORT`: the host callbacks name as their `FromUrl`.
    pub fn site_url(&self) -> String {
        self.server.address().to_string()
    }

    /// `http://127.0.0.1:PORT/{codebase}apis/3.0`.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// The codebase, with its trailing slash (`v2025_1/`).
    pub fn codebase(&self) -> &str {
        &self.config.codebase
    }

    /// The login company id.
    pub fn company_id(&self) -> &str {
        &self.config.company_id
    }

    /// The API member's public key.
    pub fn public_key(&self) -> &str {
        &self.config.public_key
    }

    /// The API member's private key.
    pub fn private_key(&self) -> &str {
        &self.config.private_key
    }

    /// The `clientId` the simulator expects.
    pub fn client_id(&self) -> &str {
        &self.config.client_id
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The `Authorization` header value for the simulator's credentials
    /// (`Basic base64(company+public:private)`), for raw HTTP tests.
    pub fn authorization(&self) -> String {
        let raw = format!(
            "{}+{}:{}",
            self.config.company_id, self.config.public_key, self.config.private_key
        );
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    // -- fault injection and observation ----------------------------------

    /// The next `n` requests (of any kind) fail with `status`. A 429 (and a
    /// 503) carries `Retry-After` (0 seconds unless
    /// [`ConnectWiseSim::set_retry_after`] says otherwise).
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut st = self.st();
        st.faults.next = n;
        st.faults.next_status = status;
    }

    /// Every `k`-th request from now on fails with `status` (`k = 0` stops
    /// it).
    pub fn fail_every(&self, k: u64, status: u16) {
        let mut st = self.st();
        st.faults.every = k;
        st.faults.every_status = status;
        st.faults.counter = 0;
    }

    /// Stops all injected failures.
    pub fn clear_faults(&self) {
        self.st().faults = Faults::default();
    }

    /// The `Retry-After` seconds sent with injected 429 and 503 answers.
    pub fn set_retry_after(&self, seconds: u64) {
        self.st().retry_after = seconds;
    }

    /// Delays every answer by `latency` (`None`: no delay).
    pub fn set_latency(&self, latency: Option<Duration>) {
        self.st().latency = latency;
    }

    /// Delays the next `n` answers (of any kind) by `latency`, then goes
    /// back to [`ConnectWiseSim::set_latency`]'s setting: a server that is
    /// slow for a moment.
    pub fn slow_next(&self, n: u32, latency: Duration) {
        let mut st = self.st();
        st.slow_next = n;
        st.slow_latency = latency;
    }

    /// What fault injection did so far.
    pub fn fault_stats(&self) -> FaultStats {
        self.st().stats
    }

    /// Restricted mode: every API call except `/system/info` gets `403`, as
    /// for an API member whose security role lacks permissions.
    pub fn set_restricted(&self, restricted: bool) {
        self.st().restricted = restricted;
    }

    /// API paths starting with `prefix` (e.g. `/sales/opportunities`) get
    /// `403`.
    pub fn restrict_path(&self, prefix: &str) {
        let p = format!("/{}", prefix.trim_matches('/').to_ascii_lowercase());
        self.st().restricted_paths.push(p);
    }

    /// Every request received so far: (method, path and query as sent).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.st().log.clone()
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.st().log.len()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.st().log.clear();
    }

    /// Time spent answering requests so far (routing, filtering and
    /// rendering; injected latency excluded), to tell the simulator's share
    /// of a benchmark from the client's.
    pub fn server_time(&self) -> Duration {
        self.st().busy
    }

    // -- data ---------------------------------------------------------------

    /// How many companies there are.
    pub fn company_count(&self) -> usize {
        self.st().data.companies.len()
    }

    /// How many contacts there are (orphans included).
    pub fn contact_count(&self) -> usize {
        self.st().data.contacts.len()
    }

    /// How many opportunities there are.
    pub fn opportunity_count(&self) -> usize {
        self.st().data.opportunities.len()
    }

    /// Every company, in id order.
    pub fn companies(&self) -> Vec<CompanyView> {
        self.st()
            .data
            .companies
            .iter()
            .map(|c| CompanyView {
                id: c.id,
                name: c.name.to_string(),
                identifier: c.identifier.to_string(),
                status_id: COMPANY_STATUSES[c.status as usize].0,
                territory_id: TERRITORIES[c.territory as usize].0,
                market_id: MARKETS[c.market as usize].0,
                type_ids: TYPE_SETS[c.types as usize]
                    .iter()
                    .map(|t| COMPANY_TYPES[*t as usize].0)
                    .collect(),
                last_updated: utc(c.last_updated),
            })
            .collect()
    }

    /// Every contact, in id order.
    pub fn contacts(&self) -> Vec<ContactView> {
        let st = self.st();
        st.data
            .contacts
            .iter()
            .map(|c| ContactView {
                id: c.id,
                company_id: c.company,
                company_exists: c.company.is_some_and(|id| st.data.company(id).is_some()),
                last_updated: utc(c.last_updated),
            })
            .collect()
    }

    /// Every opportunity, in id order.
    pub fn opportunities(&self) -> Vec<OpportunityView> {
        self.st()
            .data
            .opportunities
            .iter()
            .map(|o| OpportunityView {
                id: o.id,
                company_id: o.company,
                contact_id: o.contact,
                name: o.name.to_string(),
                stage_id: o.stage,
                status_id: o.status,
                probability_id: o.probability,
                expected_close: utc(o.expected_close),
                last_updated: utc(o.last_updated),
            })
            .collect()
    }

    fn rendered(&self, kind: &str, id: u64) -> Option<Value> {
        let s = self.st().render_entity(kind, id)?;
        serde_json::from_str(&s).ok()
    }

    /// A company as `GET /company/companies/{id}` returns it.
    pub fn company(&self, id: u64) -> Option<Value> {
        self.rendered("company", id)
    }

    /// A contact as `GET /company/contacts/{id}` returns it.
    pub fn contact(&self, id: u64) -> Option<Value> {
        self.rendered("contact", id)
    }

    /// An opportunity as `GET /sales/opportunities/{id}` returns it.
    pub fn opportunity(&self, id: u64) -> Option<Value> {
        self.rendered("opportunity", id)
    }

    /// Renames a company and sets its `lastUpdated` to now (as if a user
    /// edited it). Returns whether it exists.
    pub fn touch_company(&self, id: u64, new_name: &str) -> bool {
        let mut st = self.st();
        let Some(i) = find(&st.data.companies, id, |c| c.id) else {
            return false;
        };
        let c = &mut st.data.companies[i];
        c.name = new_name.into();
        c.last_updated = now_secs().max(c.last_updated);
        c.updated_by = MEMBERS[0].1;
        st.bump();
        true
    }

    /// Changes a company's status (see [`COMPANY_STATUSES`]) and sets its
    /// `lastUpdated` to now. Returns whether both exist.
    pub fn set_company_status(&self, id: u64, status_id: u64) -> bool {
        let Some(s) = COMPANY_STATUSES.iter().position(|s| s.0 == status_id) else {
            return false;
        };
        let mut st = self.st();
        let Some(i) = find(&st.data.companies, id, |c| c.id) else {
            return false;
        };
        let c = &mut st.data.companies[i];
        c.status = s as u8;
        c.last_updated = now_secs().max(c.last_updated);
        c.updated_by = MEMBERS[0].1;
        st.bump();
        true
    }

    /// Changes a contact's first name and sets its `lastUpdated` to now.
    /// Returns whether it exists.
    pub fn touch_contact(&self, id: u64, first_name: &str) -> bool {
        let mut st = self.st();
        let Some(i) = find(&st.data.contacts, id, |c| c.id) else {
            return false;
        };
        let c = &mut st.data.contacts[i];
        c.first = first_name.into();
        c.last_updated = now_secs().max(c.last_updated);
        c.updated_by = MEMBERS[0].1;
        st.bump();
        true
    }

    /// Deletes a company (its contacts keep pointing at it). Returns
    /// whether it existed.
    pub fn delete_company(&self, id: u64) -> bool {
        let mut st = self.st();
        let Some(i) = find(&st.data.companies, id, |c| c.id) else {
            return false;
        };
        st.data.companies.remove(i);
        st.bump();
        true
    }

    /// Projects created through `POST /project/projects`, in order.
    pub fn projects(&self) -> Vec<Value> {
        self.st().projects.clone()
    }

    /// Phases created through `POST /project/projects/{id}/phases`.
    pub fn phases(&self) -> Vec<Value> {
        self.st().phases.clone()
    }

    /// Tickets created through `POST /project/tickets` (with
    /// `initialDescription`, which the API itself never returns).
    pub fn tickets(&self) -> Vec<Value> {
        self.st().tickets.clone()
    }

    /// Ticket tasks created through `POST /project/tickets/{id}/tasks`.
    pub fn ticket_tasks(&self) -> Vec<Value> {
        self.st().tasks.clone()
    }

    /// Callback entries registered through `POST /system/callbacks`.
    pub fn callbacks(&self) -> Vec<Value> {
        self.st().callbacks.clone()
    }

    /// Forecast items of an opportunity.
    pub fn forecast_items(&self, opportunity_id: u64) -> Vec<Value> {
        self.st()
            .forecast_items
            .iter()
            .filter(|f| f["opportunity"]["id"] == json!(opportunity_id))
            .cloned()
            .collect()
    }

    // -- callbacks ------------------------------------------------------------

    /// The signing key served at [`ConnectWiseSim::key_url`].
    pub fn signing_key(&self) -> String {
        self.st().signing_key.clone()
    }

    /// The `Metadata.key_url` of callbacks (with ConnectWise's double slash
    /// after the codebase).
    pub fn key_url(&self) -> String {
        self.st().key_url()
    }

    /// `base64(HMAC-SHA256(key = SHA256(signing_key), body))`: the
    /// `x-content-signature` ConnectWise sends with `body`.
    pub fn sign(&self, body: &[u8]) -> String {
        self.st().sign(body)
    }

    /// A signed callback as ConnectWise would POST it: (headers, raw body).
    /// `action` is `added`, `updated` or `deleted`; `kind` the lower-case
    /// callback type (`company`, `contact`, `opportunity`, `configuration`,
    /// `productcatalog`, `project`, `ticket`). `Entity` holds the record's
    /// current JSON as a string, or `null` on `deleted` (and when the record
    /// does not exist).
    pub fn callback_request(
        &self,
        action: &str,
        kind: &str,
        id: u64,
    ) -> (Vec<(String, String)>, Vec<u8>) {
        let mut st = self.st();
        st.messages += 1;
        let entity = if action.eq_ignore_ascii_case("deleted") {
            None
        } else {
            st.render_entity(kind, id)
        };
        let kind_lower = kind.to_ascii_lowercase();
        let callback_id = st
            .callbacks
            .iter()
            .find(|c| c["type"] == json!(kind_lower))
            .map_or(26_601, Value::row_id);
        let payload = CallbackPayload {
            message_id: format!(
                "0c5a7e3b-8d21-4f6e-9b1a-{:012x}",
                mix(st.messages) & 0xffff_ffff_ffff
            ),
            from_url: &st.site,
            company_id: &st.cfg.company_id,
            member_id: MEMBERS[0].1,
            action,
            kind: kind_lower,
            id,
            product_instance_id: None,
            partner_id: None,
            entity,
            metadata: CallbackMetadata {
                key_url: st.key_url(),
            },
            callback_object_rec_id: callback_id,
        };
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let signature = st.sign(&body);
        (
            vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("x-content-signature".to_string(), signature),
            ],
            body,
        )
    }
}
