//! Fault injection against the HaloPSA simulator: the access token expires
//! mid-sync (twice); the connector refreshes it once each time and the sync
//! completes with the store holding exactly the simulator's data.

mod fault_support;

use fault_support::*;
use scopelink_core::sync::SyncProgress;
use scopelink_core::{DataType, MemoryStore};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings};
use scopelink_reliability::compare::{assert_store_matches, halo_crm};
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn connector(sim: &HaloPsaSim) -> HaloPsaConnector {
    let settings = HaloPsaSettings::new(sim.uri())
        .tenant("acmemsp")
        .project_ticket_type_id("3")
        .task_ticket_type_id("26");
    HaloPsaConnector::new(
        settings,
        scopelink_core::secret::ClientCredentials::new("sim-client", "sim-secret"),
        http(Duration::from_secs(5)),
    )
    .expect("connector")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiring_mid_sync_is_refreshed_once_each_time() {
    // 2500 generated clients and the 5 of the fixtures: 26 pages of 100.
    let sim = HaloPsaSim::start(HaloPsaSimConfig::default().with_generated_clients(2_500)).await;
    let halo = connector(&sim);
    let host = Host::halopsa(Arc::new(MemoryStore::new()), &sim.uri()).await;

    // Every token issued so far is revoked after the 5th and the 17th page.
    let expire_after = [5u64, 17];
    let reports = AtomicU64::new(0);
    let rec = Recorder::default();
    let progress = |p: &SyncProgress| {
        rec.note(p);
        let n = reports.fetch_add(1, Ordering::SeqCst) + 1;
        if expire_after.contains(&n) {
            sim.expire_tokens();
        }
    };
    let report = host
        .engine
        .run(
            &host.access,
            &host.conn,
            &halo,
            &crm_request(),
            Some(&progress),
        )
        .await
        .expect("the sync survives the expiries");

    let expected = halo_crm(&sim);
    let companies = report.counts(DataType::Companies).unwrap();
    assert_eq!(
        (companies.created, companies.updated, companies.unchanged),
        (expected[0].1.len() as u64, 0, 0)
    );
    assert_eq!(rec.pages(DataType::Companies), 26);
    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &expected).await;

    // One token at the start, one refresh per expiry; each expiry cost one
    // refused request, retried once with the new token.
    let unauthorized = sim.unauthorized_count() as u64;
    let api_requests = sim.api_requests().len() as u64;
    let pages = rec.total_pages();
    assert_eq!(sim.token_requests(), 1 + expire_after.len());
    assert_eq!(unauthorized, expire_after.len() as u64);
    assert_eq!(api_requests, pages + unauthorized);
    let skipped: u64 = report.per_type.iter().map(|(_, c)| c.skipped).sum();
    println!(
        "halo token expiry: records={checked} (+{skipped} skipped: user of an unknown client) pages={pages} requests={api_requests} (+{} token) faults={} expiries retries={unauthorized} resumes=0",
        sim.token_requests(),
        expire_after.len()
    );
}
