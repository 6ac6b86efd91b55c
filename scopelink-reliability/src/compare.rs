//! Compares what a store holds with what a simulator serves.
//!
//! A fault test ends by asserting that the store holds exactly the
//! simulator's data: every record present once, with the simulator's values
//! for a few key fields (name, company, last-modified time), and nothing
//! else. [`Expected`] is that key data for one record; the `cw_*` and
//! `halo_*` functions build it from the simulators' views; [`compare_store`]
//! checks any [`RecordStore`] through its trait (one lookup per expected id,
//! plus the count, so a record the simulator does not have shows as a count
//! mismatch), and [`compare_records`] checks a listed set of records (what
//! `MemoryStore::records` and `SqliteStore::records` return) and names the
//! unexpected and duplicated ids too.
//!
//! ```
//! use scopelink_core::model::{Company, DataType, Record};
//! use scopelink_reliability::compare::{compare_records, Expected};
//!
//! let expected = vec![Expected::new(DataType::Companies, "250").name("Acme")];
//! let stored = vec![Record::Company(Company {
//!     external_id: "250".into(),
//!     name: "Acme".into(),
//!     ..Company::default()
//! })];
//! compare_records(DataType::Companies, &stored, &expected).assert_exact();
//! ```

use chrono::{DateTime, Utc};
use scopelink_core::error::StoreError;
use scopelink_core::model::{DataType, Record};
use scopelink_core::store::RecordStore;
use scopelink_core::ConnectionId;
use scopelink_testkit::connectwise::ConnectWiseSim;
use scopelink_testkit::halopsa::HaloPsaSim;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The key data of one record the store must hold. `None` fields are not
/// checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The data type.
    pub data_type: DataType,
    /// The provider's id.
    pub external_id: String,
    /// The name (companies, opportunities).
    pub name: Option<String>,
    /// The company's provider id (contacts, opportunities).
    pub company: Option<String>,
    /// The provider's last-modified time.
    pub updated_at: Option<DateTime<Utc>>,
}

impl Expected {
    /// A record of `data_type` with id `external_id`, no field checked yet.
    pub fn new(data_type: DataType, external_id: impl Into<String>) -> Self {
        Self {
            data_type,
            external_id: external_id.into(),
            name: None,
            company: None,
            updated_at: None,
        }
    }

    /// Also checks the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Also checks the company id.
    pub fn company(mut self, company: impl Into<String>) -> Self {
        self.company = Some(company.into());
        self
    }

    /// Also checks the last-modified time.
    pub fn updated_at(mut self, at: DateTime<Utc>) -> Self {
        self.updated_at = Some(at);
        self
    }

    /// What differs between `record` and this expectation (empty when it
    /// matches).
    pub fn differences(&self, record: &Record) -> Vec<String> {
        let mut out = Vec::new();
        if record.data_type() != self.data_type {
            out.push(format!(
                "data type {} instead of {}",
                record.data_type(),
                self.data_type
            ));
        }
        if record.external_id() != self.external_id {
            out.push(format!(
                "id {} instead of {}",
                record.external_id(),
                self.external_id
            ));
        }
        if let Some(name) = &self.name {
            let got = record_name(record);
            if got.as_deref() != Some(name.as_str()) {
                out.push(format!("name {got:?} instead of {name:?}"));
            }
        }
        if let Some(company) = &self.company {
            let got = record.company_external_id();
            if got != Some(company.as_str()) {
                out.push(format!("company {got:?} instead of {company:?}"));
            }
        }
        if let Some(at) = self.updated_at {
            let got = record.updated_at();
            if got != Some(at) {
                out.push(format!("updated_at {got:?} instead of {at}"));
            }
        }
        out
    }
}

/// The name of a record, for the types that have one.
fn record_name(record: &Record) -> Option<String> {
    match record {
        Record::Company(c) => Some(c.name.clone()),
        Record::Opportunity(o) => Some(o.name.clone()),
        Record::Configuration(c) => Some(c.name.clone()),
        Record::Contact(c) => {
            let parts: Vec<&str> = [c.first_name.as_deref(), c.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }
        _ => None,
    }
}

/// How a store's records of one type compare with the expected ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The data type compared.
    pub data_type: DataType,
    /// Records expected.
    pub expected: usize,
    /// Records the store holds.
    pub stored: u64,
    /// Expected ids the store lacks.
    pub missing: Vec<String>,
    /// Ids whose stored values differ, with what differs.
    pub mismatched: Vec<(String, Vec<String>)>,
    /// Stored ids that were not expected (only known when the records were
    /// listed).
    pub unexpected: Vec<String>,
    /// Ids listed more than once.
    pub duplicated: Vec<String>,
}

impl Comparison {
    /// Whether the store holds exactly the expected records.
    pub fn is_exact(&self) -> bool {
        self.missing.is_empty()
            && self.mismatched.is_empty()
            && self.unexpected.is_empty()
            && self.duplicated.is_empty()
            && self.stored == self.expected as u64
    }

    /// Panics with a description of every difference unless the store
    /// holds exactly the expected records.
    #[track_caller]
    pub fn assert_exact(&self) {
        assert!(self.is_exact(), "{self}");
    }
}

fn first<T: fmt::Debug>(items: &[T]) -> String {
    let shown: Vec<String> = items.iter().take(5).map(|i| format!("{i:?}")).collect();
    let more = items.len().saturating_sub(5);
    if more > 0 {
        format!("[{} and {more} more]", shown.join(", "))
    } else {
        format!("[{}]", shown.join(", "))
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} stored, {} expected",
            self.data_type, self.stored, self.expected
        )?;
        if self.is_exact() {
            return write!(f, ", exact");
        }
        if !self.missing.is_empty() {
            write!(
                f,
                "; {} missing {}",
                self.missing.len(),
                first(&self.missing)
            )?;
        }
        if !self.mismatched.is_empty() {
            write!(
                f,
                "; {} differ {}",
                self.mismatched.len(),
                first(&self.mismatched)
            )?;
        }
        if !self.unexpected.is_empty() {
            write!(
                f,
                "; {} unexpected {}",
                self.unexpected.len(),
                first(&self.unexpected)
            )?;
        }
        if !self.duplicated.is_empty() {
            write!(
                f,
                "; {} duplicated {}",
                self.duplicated.len(),
                first(&self.duplicated)
            )?;
        }
        Ok(())
    }
}

fn check_expected_unique(expected: &[Expected]) {
    let ids: BTreeSet<&str> = expected.iter().map(|e| e.external_id.as_str()).collect();
    assert_eq!(
        ids.len(),
        expected.len(),
        "the expected records repeat an id (a bug in the test)"
    );
}

/// Compares listed records of `data_type` with `expected`: names missing,
/// differing, unexpected and duplicated ids.
pub fn compare_records(
    data_type: DataType,
    records: &[Record],
    expected: &[Expected],
) -> Comparison {
    check_expected_unique(expected);
    let mut by_id: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.data_type() == data_type) {
        by_id.entry(r.external_id()).or_default().push(r);
    }
    let stored = records
        .iter()
        .filter(|r| r.data_type() == data_type)
        .count() as u64;
    let mut missing = Vec::new();
    let mut mismatched = Vec::new();
    let expected_ids: BTreeSet<&str> = expected.iter().map(|e| e.external_id.as_str()).collect();
    for e in expected {
        match by_id.get(e.external_id.as_str()) {
            None => missing.push(e.external_id.clone()),
            Some(found) => {
                let diff = e.differences(found[0]);
                if !diff.is_empty() {
                    mismatched.push((e.external_id.clone(), diff));
                }
            }
        }
    }
    let unexpected = by_id
        .keys()
        .filter(|id| !expected_ids.contains(*id))
        .map(|id| id.to_string())
        .collect();
    let duplicated = by_id
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(id, _)| id.to_string())
        .collect();
    Comparison {
        data_type,
        expected: expected.len(),
        stored,
        missing,
        mismatched,
        unexpected,
        duplicated,
    }
}

/// Compares a store's records of `connection` and `data_type` with
/// `expected` through the [`RecordStore`] trait: each expected id is looked
/// up, and the store's count must equal the expected count (so, with every
/// expected id present, nothing else is stored).
pub async fn compare_store(
    store: &dyn RecordStore,
    connection: &ConnectionId,
    data_type: DataType,
    expected: &[Expected],
) -> Result<Comparison, StoreError> {
    check_expected_unique(expected);
    let stored = store.count_records(connection, data_type).await?;
    let mut missing = Vec::new();
    let mut mismatched = Vec::new();
    for e in expected {
        match store.record(connection, data_type, &e.external_id).await? {
            None => missing.push(e.external_id.clone()),
            Some(record) => {
                let diff = e.differences(&record);
                if !diff.is_empty() {
                    mismatched.push((e.external_id.clone(), diff));
                }
            }
        }
    }
    Ok(Comparison {
        data_type,
        expected: expected.len(),
        stored,
        missing,
        mismatched,
        unexpected: Vec::new(),
        duplicated: Vec::new(),
    })
}

/// Panics, naming every difference, unless every comparison is exact.
#[track_caller]
pub fn assert_all_exact(comparisons: &[Comparison]) {
    let failed: Vec<String> = comparisons
        .iter()
        .filter(|c| !c.is_exact())
        .map(ToString::to_string)
        .collect();
    assert!(
        failed.is_empty(),
        "the store does not match the simulator:\n{}",
        failed.join("\n")
    );
}

/// Compares every `(data type, expected)` set through [`compare_store`] and
/// asserts that all are exact. Returns the total number of records checked.
pub async fn assert_store_matches(
    store: &dyn RecordStore,
    connection: &ConnectionId,
    sets: &[(DataType, Vec<Expected>)],
) -> usize {
    let mut comparisons = Vec::new();
    for (data_type, expected) in sets {
        comparisons.push(
            compare_store(store, connection, *data_type, expected)
                .await
                .expect("the store answers"),
        );
    }
    assert_all_exact(&comparisons);
    sets.iter().map(|(_, e)| e.len()).sum()
}

// ---------------------------------------------------------------------------
// What the simulators hold
// ---------------------------------------------------------------------------

/// The ConnectWise simulator's companies: id, name and `lastUpdated`.
pub fn cw_companies(sim: &ConnectWiseSim) -> Vec<Expected> {
    sim.companies()
        .into_iter()
        .map(|c| {
            Expected::new(DataType::Companies, c.id.to_string())
                .name(c.name)
                .updated_at(c.last_updated)
        })
        .collect()
}

/// The ConnectWise simulator's contacts a sync stores (those whose company
/// exists): id, company and `lastUpdated`.
pub fn cw_contacts(sim: &ConnectWiseSim) -> Vec<Expected> {
    sim.contacts()
        .into_iter()
        .filter(|c| c.company_exists)
        .map(|c| {
            let e = Expected::new(DataType::Contacts, c.id.to_string()).updated_at(c.last_updated);
            match c.company_id {
                Some(company) => e.company(company.to_string()),
                None => e,
            }
        })
        .collect()
}

/// The ConnectWise simulator's opportunities: id, name, company and
/// `lastUpdated`.
pub fn cw_opportunities(sim: &ConnectWiseSim) -> Vec<Expected> {
    sim.opportunities()
        .into_iter()
        .map(|o| {
            Expected::new(DataType::Opportunities, o.id.to_string())
                .name(o.name)
                .company(o.company_id.to_string())
                .updated_at(o.last_updated)
        })
        .collect()
}

/// The ConnectWise CRM sets a sync of companies, contacts and opportunities
/// stores.
pub fn cw_crm(sim: &ConnectWiseSim) -> Vec<(DataType, Vec<Expected>)> {
    vec![
        (DataType::Companies, cw_companies(sim)),
        (DataType::Contacts, cw_contacts(sim)),
        (DataType::Opportunities, cw_opportunities(sim)),
    ]
}

fn value_id(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64().filter(|i| *i > 0).map(|i| i.to_string()),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|i| *i > 0)
            .map(|i| i.to_string()),
        _ => None,
    }
}

fn value_text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The HaloPSA simulator's clients (every one is synced, inactive ones
/// included): id and name.
pub fn halo_companies(sim: &HaloPsaSim) -> Vec<Expected> {
    sim.clients()
        .iter()
        .filter_map(|c| {
            let id = value_id(c, "id")?;
            let e = Expected::new(DataType::Companies, id);
            Some(match value_text(c, "name") {
                Some(name) => e.name(name),
                None => e,
            })
        })
        .collect()
}

/// The HaloPSA simulator's users a sync stores (those of a known client):
/// id and company.
pub fn halo_contacts(sim: &HaloPsaSim) -> Vec<Expected> {
    let clients: BTreeSet<String> = sim
        .clients()
        .iter()
        .filter_map(|c| value_id(c, "id"))
        .collect();
    sim.users()
        .iter()
        .filter_map(|u| {
            let id = value_id(u, "id")?;
            let company = value_id(u, "client_id").filter(|c| clients.contains(c))?;
            Some(Expected::new(DataType::Contacts, id).company(company))
        })
        .collect()
}

/// The HaloPSA simulator's opportunities of a known client: id, name
/// (`summary`) and company.
pub fn halo_opportunities(sim: &HaloPsaSim) -> Vec<Expected> {
    let clients: BTreeSet<String> = sim
        .clients()
        .iter()
        .filter_map(|c| value_id(c, "id"))
        .collect();
    sim.opportunities()
        .iter()
        .filter_map(|o| {
            let id = value_id(o, "id")?;
            let company = value_id(o, "client_id").filter(|c| clients.contains(c))?;
            let e = Expected::new(DataType::Opportunities, id).company(company);
            Some(match value_text(o, "summary") {
                Some(name) => e.name(name),
                None => e,
            })
        })
        .collect()
}

/// The HaloPSA CRM sets a full sync stores.
pub fn halo_crm(sim: &HaloPsaSim) -> Vec<(DataType, Vec<Expected>)> {
    vec![
        (DataType::Companies, halo_companies(sim)),
        (DataType::Contacts, halo_contacts(sim)),
        (DataType::Opportunities, halo_opportunities(sim)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopelink_core::model::{Company, Contact};

    fn company(id: &str, name: &str) -> Record {
        Record::Company(Company {
            external_id: id.into(),
            name: name.into(),
            ..Company::default()
        })
    }

    #[test]
    fn names_every_kind_of_difference() {
        let expected = vec![
            Expected::new(DataType::Companies, "1").name("A"),
            Expected::new(DataType::Companies, "2").name("B"),
            Expected::new(DataType::Companies, "3").name("C"),
        ];
        let stored = vec![
            company("1", "A"),
            company("2", "Bee"),
            company("4", "D"),
            company("4", "D"),
            Record::Contact(Contact {
                external_id: "9".into(),
                ..Contact::default()
            }),
        ];
        let c = compare_records(DataType::Companies, &stored, &expected);
        assert!(!c.is_exact());
        assert_eq!(c.stored, 4);
        assert_eq!(c.missing, ["3"]);
        assert_eq!(c.mismatched.len(), 1);
        assert_eq!(c.mismatched[0].0, "2");
        assert_eq!(c.unexpected, ["4"]);
        assert_eq!(c.duplicated, ["4"]);
        let text = c.to_string();
        assert!(text.contains("1 missing"), "{text}");

        let exact = compare_records(DataType::Companies, &stored[..1], &expected[..1]);
        exact.assert_exact();
        assert!(exact.to_string().ends_with("exact"));
    }

    #[test]
    fn equal_counts_do_not_hide_a_swap() {
        let expected = vec![Expected::new(DataType::Companies, "1").name("A")];
        let c = compare_records(DataType::Companies, &[company("2", "A")], &expected);
        assert!(!c.is_exact());
        assert_eq!((c.missing.len(), c.unexpected.len()), (1, 1));
    }
}
