//! HaloPSA records → scopelink's canonical records.

use crate::wire;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use scopelink_core::filter::SyncFilter;
use scopelink_core::model::{Company, Contact, Opportunity};
use scopelink_core::wire::{decode_value, non_blank as text, parse_timestamp, Rejected};
use serde_json::Value;
use std::str::FromStr;

/// The status names offered for clients (HaloPSA clients are active or
/// inactive; there is no richer status).
pub(crate) const ACTIVE: &str = "Active";
/// See [`ACTIVE`].
pub(crate) const INACTIVE: &str = "Inactive";

fn positive(id: Option<i64>) -> Option<String> {
    id.filter(|i| *i > 0).map(|i| i.to_string())
}

/// Parses a HaloPSA date-time. HaloPSA writes them without a zone
/// (`2025-01-20T16:05:11`, sometimes with fractions); they are read as UTC
/// ([`parse_timestamp`]), and a bare date as its midnight. HaloPSA's "no
/// date" sentinel (year 1900 or earlier) reads as `None`.
pub(crate) fn datetime(s: Option<&str>) -> Option<DateTime<Utc>> {
    let s = s?.trim();
    let parsed = parse_timestamp(s).or_else(|| {
        NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|n| n.and_utc())
    })?;
    use chrono::Datelike;
    (parsed.year() > 1900).then_some(parsed)
}

/// Formats a time the way HaloPSA's date filters expect it.
pub(crate) fn halo_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Formats a date as a HaloPSA date-time at midnight.
pub(crate) fn halo_date(d: NaiveDate) -> String {
    format!("{}T00:00:00", d.format("%Y-%m-%d"))
}

fn decimal(f: f64) -> Option<Decimal> {
    f.is_finite()
        .then(|| Decimal::from_str(&f.to_string()).ok())
        .flatten()
        .map(|d| d.normalize())
}

/// A client read from HaloPSA, with what the filter needs.
pub(crate) struct ClientRecord {
    pub company: Company,
    pub toplevel_id: Option<String>,
}

impl ClientRecord {
    /// Whether the client passes `filter` (company types are HaloPSA top
    /// levels, matched by id or name; statuses are Active / Inactive).
    pub fn matches(&self, filter: &SyncFilter) -> bool {
        let mut types: Vec<&str> = self.company.types.iter().map(String::as_str).collect();
        if let Some(id) = &self.toplevel_id {
            types.push(id);
        }
        filter.matches(&types, self.company.status.as_deref(), None, None)
    }
}

/// A client (`Area_List`) → a company. Clients carry no modification time,
/// so `updated_at` is `None` (every sync reads them all).
pub(crate) fn company(item: Value) -> Result<ClientRecord, Rejected> {
    let c: wire::Client = decode_value(item, "client")?;
    let id = positive(c.id).ok_or_else(|| Rejected::new(None, "the client has no id"))?;
    let name =
        text(c.name).ok_or_else(|| Rejected::new(Some(id.clone()), "the client has no name"))?;
    Ok(ClientRecord {
        company: Company {
            external_id: id,
            name,
            identifier: None,
            types: text(c.toplevel_name).into_iter().collect(),
            status: Some(
                if c.inactive.unwrap_or(false) {
                    INACTIVE
                } else {
                    ACTIVE
                }
                .to_string(),
            ),
            territory: None,
            market: None,
            website: text(c.website),
            phone: text(c.main_phonenumber),
            address: None,
            updated_at: None,
        },
        toplevel_id: positive(c.toplevel_id),
    })
}

/// A user (end-user contact) → a contact of its client.
pub(crate) fn contact(item: Value) -> Result<Contact, Rejected> {
    let u: wire::User = decode_value(item, "user")?;
    let id = positive(u.id).ok_or_else(|| Rejected::new(None, "the user has no id"))?;
    let (mut first, mut last) = (text(u.firstname), text(u.surname));
    if first.is_none() && last.is_none() {
        if let Some(name) = text(u.name) {
            match name.rsplit_once(' ') {
                Some((f, l)) => {
                    first = Some(f.trim().to_string());
                    last = Some(l.trim().to_string());
                }
                None => last = Some(name),
            }
        }
    }
    Ok(Contact {
        external_id: id,
        company_external_id: positive(u.client_id),
        first_name: first,
        last_name: last,
        title: text(u.title),
        email: text(u.emailaddress),
        phone: text(u.phonenumber).or(text(u.mobilenumber)),
        updated_at: None,
    })
}

/// An opportunity (`Faults`) → an opportunity. The probability is read as a
/// fraction when it is at most 1 (`0.4` → 40 %), as a percentage otherwise.
pub(crate) fn opportunity(item: Value) -> Result<Opportunity, Rejected> {
    let o: wire::Opportunity = decode_value(item, "opportunity")?;
    let id = positive(o.id).ok_or_else(|| Rejected::new(None, "the opportunity has no id"))?;
    let probability = o.oppconversionprobability.and_then(|p| {
        let d = decimal(p)?;
        let pct = if d <= Decimal::ONE {
            // Checked: a hostile value near Decimal::MIN (-7e28) would
            // overflow, and `*` panics on overflow. Any negative ends as 0.
            d.checked_mul(Decimal::from(100)).unwrap_or(Decimal::ZERO)
        } else {
            d
        };
        Some(pct.min(Decimal::from(100)).max(Decimal::ZERO).normalize())
    });
    Ok(Opportunity {
        name: text(o.summary).unwrap_or_else(|| format!("Opportunity {id}")),
        external_id: id,
        company_external_id: positive(o.client_id),
        contact_external_id: positive(o.user_id),
        stage: text(o.status_name),
        status: None,
        probability,
        value: o.oppvalue.and_then(decimal),
        close_date: datetime(o.targetdate.as_deref()).map(|d| d.date_naive()),
        updated_at: datetime(o.last_update.as_deref()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopelink_core::filter::FilterOption;

    fn fixture(name: &str) -> Value {
        let text = match name {
            "clients_page1" => include_str!("../../fixtures/halopsa/clients_page1.json"),
            "users" => include_str!("../../fixtures/halopsa/users.json"),
            "opportunities" => include_str!("../../fixtures/halopsa/opportunities.json"),
            _ => unreachable!(),
        };
        serde_json::from_str(text).unwrap()
    }

    fn items(name: &str, key: &str) -> Vec<Value> {
        fixture(name)[key].as_array().unwrap().clone()
    }

    #[test]
    fn clients_become_companies() {
        let all: Vec<ClientRecord> = items("clients_page1", "clients")
            .into_iter()
            .map(|c| company(c).unwrap())
            .collect();
        let dunmore = &all[2].company;
        assert_eq!(dunmore.external_id, "18");
        assert_eq!(dunmore.status.as_deref(), Some(INACTIVE));
        assert_eq!(dunmore.website, None);
        assert_eq!(dunmore.types, vec!["Customers".to_string()]);
        assert_eq!(all[1].company.website, None, "empty website is None");
        assert_eq!(all[0].toplevel_id.as_deref(), Some("1"));
        // The company phone is the client's `main_phonenumber`.
        assert_eq!(all[0].company.phone.as_deref(), Some("+44 1632 960300"));
        assert_eq!(all[1].company.phone, None, "empty phone is None");
        assert_eq!(dunmore.phone.as_deref(), Some("+44 20 7946 0812"));
        let user_field_only =
            company(serde_json::json!({"id": 7, "name": "X", "phonenumber": "1"})).unwrap();
        assert_eq!(
            user_field_only.company.phone, None,
            "clients have no `phonenumber`"
        );

        let mut filter = SyncFilter::default();
        filter.statuses.insert(FilterOption::new("active", ACTIVE));
        assert!(all[0].matches(&filter));
        assert!(!all[2].matches(&filter));
        let mut by_type = SyncFilter::default();
        by_type
            .company_types
            .insert(FilterOption::new("1", "Customers"));
        assert!(all[0].matches(&by_type));
        let mut by_id = SyncFilter::default();
        by_id
            .company_types
            .insert(FilterOption::new("2", "Prospects"));
        assert!(!all[0].matches(&by_id));
    }

    #[test]
    fn bad_clients_are_rejected_with_reasons() {
        let err = company(serde_json::json!({"id": 5, "name": "  "}))
            .err()
            .unwrap();
        assert_eq!(err.id.as_deref(), Some("5"));
        assert!(err.reason.contains("no name"));
        assert!(company(serde_json::json!({"name": "x"})).is_err());
        assert!(company(serde_json::json!("not an object")).is_err());
    }

    #[test]
    fn users_become_contacts() {
        let users: Vec<Contact> = items("users", "users")
            .into_iter()
            .map(|u| contact(u).unwrap())
            .collect();
        assert_eq!(users[0].company_external_id.as_deref(), Some("12"));
        assert_eq!(users[0].first_name.as_deref(), Some("Priya"));
        assert_eq!(users[1].phone.as_deref(), Some("+44 7700 900202"));
        assert_eq!(users[1].title, None);
        assert_eq!(users[2].company_external_id.as_deref(), Some("99"));
        let named =
            contact(serde_json::json!({"id": 9, "name": "Ada King Lovelace", "client_id": 0}))
                .unwrap();
        assert_eq!(named.first_name.as_deref(), Some("Ada King"));
        assert_eq!(named.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(named.company_external_id, None);
    }

    #[test]
    fn opportunities_convert() {
        let opps: Vec<Opportunity> = items("opportunities", "tickets")
            .into_iter()
            .map(|o| opportunity(o).unwrap())
            .collect();
        let o = &opps[0];
        assert_eq!(o.external_id, "5012");
        assert_eq!(o.company_external_id.as_deref(), Some("24"));
        assert_eq!(o.contact_external_id, None, "user_id 0 is no contact");
        assert_eq!(o.value, Some(Decimal::new(18500, 0)));
        assert_eq!(o.probability, Some(Decimal::new(40, 0)));
        assert_eq!(o.stage.as_deref(), Some("Qualified"));
        assert_eq!(o.close_date, NaiveDate::from_ymd_opt(2025, 2, 28));
        assert_eq!(
            o.updated_at.map(halo_datetime).as_deref(),
            Some("2025-01-20T16:05:11")
        );
        assert_eq!(opps[1].probability, Some(Decimal::new(70, 0)));
        let pct =
            opportunity(serde_json::json!({"id": 1, "oppconversionprobability": 65})).unwrap();
        assert_eq!(pct.probability, Some(Decimal::new(65, 0)));
        assert_eq!(pct.name, "Opportunity 1");
    }

    #[test]
    fn hostile_probabilities_do_not_panic() {
        for p in [-7e28, -1e28, f64::MIN, -1e300, 1e300, 7.9e28, -0.0] {
            let o =
                opportunity(serde_json::json!({"id": 1, "oppconversionprobability": p})).unwrap();
            let pct = o.probability.unwrap_or_default();
            assert!(
                pct >= Decimal::ZERO && pct <= Decimal::from(100),
                "{p}: {pct}"
            );
        }
        let o =
            opportunity(serde_json::json!({"id": 1, "oppconversionprobability": "-7e28"})).unwrap();
        assert_eq!(o.probability, Some(Decimal::ZERO));
    }

    #[test]
    fn dates_are_lenient() {
        assert!(datetime(Some("1900-01-01T00:00:00")).is_none());
        assert!(datetime(Some("")).is_none());
        assert!(datetime(Some("garbage")).is_none());
        assert_eq!(
            datetime(Some("2025-01-20T16:05:11.237"))
                .map(halo_datetime)
                .as_deref(),
            Some("2025-01-20T16:05:11")
        );
        assert_eq!(
            datetime(Some("2025-01-20T16:05:11+02:00"))
                .map(halo_datetime)
                .as_deref(),
            Some("2025-01-20T14:05:11")
        );
        assert_eq!(
            datetime(Some("2025-01-20")).map(halo_datetime).as_deref(),
            Some("2025-01-20T00:00:00")
        );
        assert_eq!(
            halo_date(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()),
            "2026-01-05T00:00:00"
        );
    }
}
