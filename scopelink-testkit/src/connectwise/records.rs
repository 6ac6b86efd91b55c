//! Records: the compact structs the simulator keeps.

use super::*;

#[derive(Debug, Clone)]
pub(super) struct Company {
    pub(super) id: u64,
    pub(super) seq: u64,
    pub(super) name: Box<str>,
    pub(super) identifier: Box<str>,
    pub(super) status: u8,
    pub(super) territory: u8,
    pub(super) market: u8,
    pub(super) types: u8,
    pub(super) last_updated: i64,
    pub(super) date_entered: i64,
    pub(super) updated_by: &'static str,
    pub(super) default_contact: Option<u64>,
}

#[derive(Debug, Clone)]
pub(super) struct Contact {
    pub(super) id: u64,
    pub(super) seq: u64,
    pub(super) company: Option<u64>,
    pub(super) first: Box<str>,
    pub(super) last: &'static str,
    pub(super) title: &'static str,
    pub(super) types: u8,
    pub(super) inactive: bool,
    pub(super) last_updated: i64,
    pub(super) updated_by: &'static str,
}

#[derive(Debug, Clone)]
pub(super) struct Opportunity {
    pub(super) id: u64,
    pub(super) company: u64,
    pub(super) contact: Option<u64>,
    pub(super) name: Box<str>,
    pub(super) kind: u8,
    pub(super) stage: u64,
    pub(super) status: u64,
    pub(super) probability: u64,
    pub(super) expected_close: i64,
    pub(super) closed_date: Option<i64>,
    pub(super) notes: Box<str>,
    pub(super) source: Box<str>,
    pub(super) customer_po: Box<str>,
    pub(super) rep: u8,
    pub(super) last_updated: i64,
    pub(super) date_entered: i64,
    pub(super) updated_by: &'static str,
}

#[derive(Debug, Clone)]
pub(super) struct Configuration {
    pub(super) id: u64,
    pub(super) seq: u64,
    pub(super) company: u64,
    pub(super) contact: Option<u64>,
    pub(super) kind: u8,
    pub(super) active: bool,
    pub(super) last_updated: i64,
}

#[derive(Debug, Clone)]
pub(super) struct CatalogItem {
    pub(super) id: u64,
    pub(super) seq: u64,
    pub(super) inactive: bool,
    pub(super) last_updated: i64,
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

pub(super) fn utc(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The generated and mutable records.
pub(super) struct Data {
    pub(super) api: String,
    pub(super) companies: Vec<Company>,
    pub(super) contacts: Vec<Contact>,
    pub(super) opportunities: Vec<Opportunity>,
    pub(super) configurations: Vec<Configuration>,
    pub(super) catalog: Vec<CatalogItem>,
}

pub(super) fn find<T>(v: &[T], id: u64, key: impl Fn(&T) -> u64) -> Option<usize> {
    v.binary_search_by_key(&id, key).ok()
}

impl Data {
    pub(super) fn generate(cfg: &ConnectWiseSimConfig, api: String) -> Self {
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

    pub(super) fn company(&self, id: u64) -> Option<&Company> {
        find(&self.companies, id, |c| c.id).map(|i| &self.companies[i])
    }

    pub(super) fn contact(&self, id: u64) -> Option<&Contact> {
        find(&self.contacts, id, |c| c.id).map(|i| &self.contacts[i])
    }

    pub(super) fn opportunity(&self, id: u64) -> Option<&Opportunity> {
        find(&self.opportunities, id, |c| c.id).map(|i| &self.opportunities[i])
    }

    /// (identifier, name) of a company id, or a made-up pair for ids that do
    /// not exist (orphan references).
    pub(super) fn company_label(&self, id: u64) -> (Cow<'_, str>, Cow<'_, str>) {
        match self.company(id) {
            Some(c) => (Cow::Borrowed(&*c.identifier), Cow::Borrowed(&*c.name)),
            None => (
                Cow::Owned(format!("FormerClient{id}")),
                Cow::Owned(format!("Former Client {id}")),
            ),
        }
    }

    pub(super) fn contact_name(&self, id: u64) -> Cow<'_, str> {
        match self.contact(id) {
            Some(c) => Cow::Owned(format!("{} {}", c.first, c.last)),
            None => Cow::Owned(format!("Contact {id}")),
        }
    }

    pub(super) fn company_ref(&self, out: &mut String, k: &str, id: u64) {
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

    pub(super) fn contact_ref(&self, out: &mut String, k: &str, id: u64) {
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

    pub(super) fn site_ref(&self, out: &mut String, company: u64) {
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

pub(super) fn member_ref(out: &mut String, api: &str, k: &str, m: u8) {
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

pub(super) fn stage_name(id: u64) -> &'static str {
    STAGES.iter().find(|s| s.0 == id).map_or("Unknown", |s| s.1)
}

pub(super) fn opp_status(id: u64) -> (u64, &'static str, bool, bool, bool) {
    OPPORTUNITY_STATUSES
        .iter()
        .copied()
        .find(|s| s.0 == id)
        .unwrap_or(OPPORTUNITY_STATUSES[0])
}

pub(super) fn probability_percent(id: u64) -> u32 {
    PROBABILITIES.iter().find(|p| p.0 == id).map_or(0, |p| p.1)
}
