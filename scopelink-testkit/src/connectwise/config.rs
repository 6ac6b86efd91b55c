//! Configuration and reference tables.

use crate::sim::Latency;

/// What the simulator generates and which credentials it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectWiseSimConfig {
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
    /// Time taken to answer each request (none by default).
    pub latency: Latency,
    /// The most requests in flight (`None`, the default: no cap). A request
    /// arriving past it gets ConnectWise's 429 ("Too many requests", with
    /// `Retry-After`), as its Developer Guide's "Rate Limiting" describes
    /// throttled calls.
    pub max_in_flight: Option<usize>,
}

impl Default for ConnectWiseSimConfig {
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
            latency: Latency::NONE,
            max_in_flight: None,
        }
    }
}

impl ConnectWiseSimConfig {
    /// `companies` companies with `contacts_per_company` contacts each; the
    /// other settings as in [`ConnectWiseSimConfig::default`].
    pub fn new(companies: usize, contacts_per_company: usize) -> Self {
        Self {
            companies,
            contacts_per_company,
            ..Self::default()
        }
    }

    /// Answering each request after `latency`.
    pub fn with_latency(mut self, latency: Latency) -> Self {
        self.latency = latency;
        self
    }

    /// Refusing requests past `max` in flight with a 429.
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.max_in_flight = Some(max);
        self
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

    /// The `api-` host of [`ConnectWiseSimConfig::cloud_site`].
    pub(super) fn cloud_api_host(&self) -> Option<String> {
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

pub(super) const STATUS_CYCLE: [u8; 5] = [0, 0, 0, 1, 2];
pub(super) const TYPE_SETS: [&[u8]; 7] = [&[0], &[0, 2], &[1], &[0], &[3], &[0, 2], &[1]];
pub(super) const CONTACT_TYPES: [(u64, &str); 3] = [
    (2, "Decision Maker"),
    (3, "Technical Contact"),
    (4, "Billing"),
];
pub(super) const CONTACT_TYPE_SETS: [&[u8]; 3] = [&[0], &[1], &[]];
pub(super) const OPP_TYPES: [(u64, &str); 3] =
    [(1, "New Business"), (2, "Managed Services"), (3, "Project")];
pub(super) const OPP_KINDS: [&str; 4] = [
    "Managed Services Onboarding",
    "Firewall Refresh",
    "Microsoft 365 Migration",
    "Backup & DR",
];
pub(super) const MEMBERS: [(u64, &str, &str); 2] = [
    (155, "jmorales", "Jada Morales"),
    (160, "dchen", "Dana Chen"),
];
pub(super) const ADJ: [&str; 20] = [
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
pub(super) const NOUN: [&str; 20] = [
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
pub(super) const SUFFIX: [&str; 10] = [
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
pub(super) const FIRST: [&str; 16] = [
    "Priya", "Marcus", "Elena", "Jada", "Dana", "Tomas", "Aisha", "Kenji", "Sofia", "Liam", "Noor",
    "Mateo", "Grace", "Ravi", "Hannah", "Oscar",
];
pub(super) const LAST: [&str; 16] = [
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
pub(super) const TITLES: [&str; 6] = [
    "Practice Manager",
    "IT Director",
    "Office Administrator",
    "CFO",
    "Operations Lead",
    "Owner",
];
/// (street, city, state, zip, area code)
pub(super) const ADDRESSES: [(&str, &str, &str, &str, &str); 8] = [
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
pub(super) const CONFIG_TYPES: [(u64, &str, &str, u64, &str); 3] = [
    (52, "Firewall", "FortiGate 60F", 14, "Fortinet"),
    (25, "Managed Server", "ProLiant DL360 Gen10", 21, "HPE"),
    (31, "Workstation", "OptiPlex 7010", 9, "Dell"),
];
/// (identifier, description, subcategory, type, productClass, price, cost,
/// recurring, category)
pub(super) type CatalogTemplate = (
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
pub(super) const CATALOG: [CatalogTemplate; 5] = [
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

pub(super) const COMPANY_BASE_ID: u64 = 250;
pub(super) const CONTACT_BASE_ID: u64 = 1811;
pub(super) const OPPORTUNITY_BASE_ID: u64 = 5012;
pub(super) const CONFIGURATION_BASE_ID: u64 = 7301;
pub(super) const CATALOG_BASE_ID: u64 = 880;
/// 2023-01-01T00:00:00Z.
pub(super) const BASE_TS: i64 = 1_672_531_200;
/// Two years.
pub(super) const SPAN: i64 = 2 * 365 * 86_400;
pub(super) const MAX_PAGE_SIZE: u64 = 1000;
pub(super) const DEFAULT_PAGE_SIZE: u64 = 25;
pub(super) const API_MEMBER: &str = "APIScopelink";
