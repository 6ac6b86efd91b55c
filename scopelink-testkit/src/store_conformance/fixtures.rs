//! Fixtures the checks share: fixed instants, connections, records and leases.

use chrono::{DateTime, Duration, TimeZone, Utc};
use scopelink_core::model::{Company, Contact};
use scopelink_core::secret::CredentialRef;
use scopelink_core::sync::{RunLease, RunStatus};
use scopelink_core::{Connection, ConnectionId, FeatureCategory, Provider, Record, Store};

/// A fixed instant plus `minutes` and some nanoseconds, so stores that
/// round timestamps fail the round-trip checks.
pub fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
        + Duration::minutes(minutes)
        + Duration::nanoseconds(123_456_789)
}

/// A HaloPSA connection created at `at(created_minute)`.
pub fn connection(id: &str, created_minute: i64) -> Connection {
    let mut c = Connection::new(
        ConnectionId(id.into()),
        Provider::HaloPsa,
        &format!("Halo {id}"),
        [FeatureCategory::Crm, FeatureCategory::Psa]
            .into_iter()
            .collect(),
        CredentialRef(format!("scopelink/{id}/v1")),
        at(created_minute),
    )
    .expect("a valid connection");
    c.settings
        .insert("server".into(), "https://halo.example.com".into());
    c
}

/// A company record.
pub fn company(id: &str, name: &str, minute: i64) -> Record {
    Record::Company(Company {
        external_id: id.into(),
        name: name.into(),
        types: vec!["Customer".into()],
        updated_at: Some(at(minute)),
        ..Company::default()
    })
}

/// A contact record of company `company_id`.
pub fn contact(id: &str, company_id: &str, minute: i64) -> Record {
    Record::Contact(Contact {
        external_id: id.into(),
        company_external_id: Some(company_id.into()),
        first_name: Some(format!("First {id}")),
        last_name: Some("Doe".into()),
        updated_at: Some(at(minute)),
        ..Contact::default()
    })
}

pub(super) fn cid(id: &str) -> ConnectionId {
    ConnectionId(id.into())
}

/// How long the suite's leases last.
pub const LEASE_MINUTES: i64 = 10;

/// The lease of the run begun at `at(minute)` (owner `run-{minute}`),
/// lasting [`LEASE_MINUTES`].
pub fn lease(minute: i64) -> RunLease {
    RunLease {
        owner: format!("run-{minute}"),
        now: at(minute),
        expires_at: at(minute + LEASE_MINUTES),
    }
}

/// The running mark of the run begun at `at(started)` (see [`lease`]),
/// last renewed at `at(renewed)`.
pub(super) fn running(started: i64, renewed: i64) -> RunStatus {
    RunStatus::Running {
        started_at: at(started),
        owner: format!("run-{started}"),
        expires_at: at(renewed + LEASE_MINUTES),
    }
}

/// Saves a new connection under each id (runs write only into stored,
/// enabled connections).
pub async fn save_connections(store: &dyn Store, ids: &[&str]) {
    for (i, id) in ids.iter().enumerate() {
        store
            .save_connection(&connection(id, i as i64))
            .await
            .expect("save_connection");
    }
}
