//! Fault injection against the Autotask simulator: 429 threshold refusals,
//! bursts of 5xx, a connection reset and a body closed mid-way, truncated
//! JSON, and a sync dropped halfway then resumed. Every test ends with the
//! store holding exactly the simulator's data (ids, names, companies,
//! modification times), and prints its figures.

mod fault_support;

use fault_support::{crm_request, http, Host, Recorder};
use scopelink_autotask::{AutotaskConnector, AutotaskSettings};
use scopelink_core::connector::CrmSource;
use scopelink_core::error::ConnectorError;
use scopelink_core::http::{HttpConfig, ThrottlePolicy};
use scopelink_core::secret::{ApiUserSecret, Credentials};
use scopelink_core::sync::{RunStatus, SyncProgress};
use scopelink_core::wire::parse_timestamp;
use scopelink_core::{DataType, MemoryStore, Provider, StoreError, SyncError};
use scopelink_reliability::compare::{assert_store_matches, Expected};
use scopelink_reliability::fault_proxy::{Fault, FaultProxy};
use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn credentials(sim: &AutotaskSim) -> ApiUserSecret {
    let c = sim.config();
    ApiUserSecret::new(&c.username, &c.secret, &c.integration_code)
}

/// Fast retries and 429 waits of a few milliseconds.
fn fast() -> HttpConfig {
    http(Duration::from_secs(5)).with_throttle(ThrottlePolicy {
        first_wait: Duration::from_millis(2),
        max_wait: Duration::from_millis(50),
        ..scopelink_autotask::DEFAULT_THROTTLE
    })
}

/// A connector whose zone is `origin` (the simulator, or a proxy).
fn connector(sim: &AutotaskSim, origin: &str) -> AutotaskConnector {
    AutotaskConnector::with_zone_url(
        &format!("{}/ATServicesRest/", origin.trim_end_matches('/')),
        AutotaskSettings::default(),
        credentials(sim),
        fast(),
    )
    .expect("connector")
}

async fn host(sim: &AutotaskSim) -> Host {
    Host::with(
        Arc::new(MemoryStore::new()),
        Provider::Autotask,
        Credentials::ApiUserSecret(credentials(sim)),
        AutotaskSettings {
            zone_url: Some(sim.zone_url()),
            ..AutotaskSettings::default()
        }
        .to_map(),
    )
    .await
}

fn text(v: &Value, key: &str) -> Option<String> {
    v[key].as_str().map(str::to_string)
}

fn id(v: &Value, key: &str) -> Option<String> {
    v[key].as_i64().map(|i| i.to_string())
}

fn at(v: &Value, key: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    v[key].as_str().and_then(parse_timestamp)
}

/// What the simulator holds of the CRM types, as the store must hold it.
fn autotask_crm(sim: &AutotaskSim) -> Vec<(DataType, Vec<Expected>)> {
    let companies = sim
        .companies()
        .iter()
        .map(|c| {
            let mut e = Expected::new(DataType::Companies, id(c, "id").unwrap())
                .name(text(c, "companyName").unwrap());
            if let Some(t) = at(c, "lastTrackedModifiedDateTime") {
                e = e.updated_at(t);
            }
            e
        })
        .collect();
    let contacts = sim
        .contacts()
        .iter()
        .map(|c| {
            let mut e = Expected::new(DataType::Contacts, id(c, "id").unwrap())
                .company(id(c, "companyID").unwrap());
            if let Some(t) = at(c, "lastModifiedDate") {
                e = e.updated_at(t);
            }
            e
        })
        .collect();
    let opportunities = sim
        .opportunities()
        .iter()
        .map(|o| {
            Expected::new(DataType::Opportunities, id(o, "id").unwrap())
                .name(text(o, "title").unwrap())
                .company(id(o, "companyID").unwrap())
        })
        .collect();
    vec![
        (DataType::Companies, companies),
        (DataType::Contacts, contacts),
        (DataType::Opportunities, opportunities),
    ]
}

fn totals(sim: &AutotaskSim) -> [(DataType, u64); 3] {
    [
        (DataType::Companies, sim.companies().len() as u64),
        (DataType::Contacts, sim.contacts().len() as u64),
        (DataType::Opportunities, sim.opportunities().len() as u64),
    ]
}

/// 1,200 companies (3 pages of 500), 1,200 contacts, 300 opportunities.
fn big() -> AutotaskSimConfig {
    AutotaskSimConfig {
        companies: 1_200,
        contacts_per_company: 1,
        opportunities: 300,
        ..AutotaskSimConfig::default()
    }
}

/// 400 companies, 400 contacts, 100 opportunities: one page each, for the
/// proxy tests (Autotask's next-page URL names the zone's own host, which
/// the connector does not leave, so paging does not go through a proxy).
fn small() -> AutotaskSimConfig {
    AutotaskSimConfig {
        companies: 400,
        contacts_per_company: 1,
        opportunities: 100,
        ..AutotaskSimConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_refusals_every_fifth_request_complete_exactly() {
    let sim = AutotaskSim::start(big()).await;
    let at = connector(&sim, &sim.zone_lookup_url());
    let host = host(&sim).await;
    sim.fail_every(5, 429);
    let rec = Recorder::default();
    host.run_crm(&at, &rec)
        .await
        .expect("the sync rides out the 429s");
    sim.clear_faults();
    rec.assert_created_once(&totals(&sim));
    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &autotask_crm(&sim)).await;
    let stats = sim.fault_stats();
    assert!(stats.rate_limited >= 2, "{stats:?}");
    println!(
        "autotask 429 every 5th: records={checked} pages={} requests={} faults={} retries={} resumes=0",
        rec.total_pages(),
        sim.request_count(),
        stats.rate_limited,
        stats.rate_limited
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_5xx_complete_exactly() {
    let sim = AutotaskSim::start(big()).await;
    let at = connector(&sim, &sim.zone_lookup_url());
    let host = host(&sim).await;
    sim.fail_every(4, 503);
    let rec = Recorder::default();
    host.run_crm(&at, &rec)
        .await
        .expect("the queries are read-only and retried");
    sim.clear_faults();
    rec.assert_created_once(&totals(&sim));
    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &autotask_crm(&sim)).await;
    println!(
        "autotask 503 every 4th: records={checked} pages={} requests={} faults={} resumes=0",
        rec.total_pages(),
        sim.request_count(),
        sim.fault_stats().errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_cut_off_mid_body_are_fetched_again() {
    let sim = AutotaskSim::start(small()).await;
    let proxy = FaultProxy::start_for(&sim.zone_lookup_url())
        .await
        .expect("proxy");
    let at = connector(&sim, &proxy.url());
    let host = host(&sim).await;
    // Request 2 is the companies query (after the picklists), 4 the
    // contacts query.
    proxy.fault_request(2, Fault::ResetMidBody(5_000));
    proxy.fault_request(5, Fault::CloseMidBody(2_000));
    let rec = Recorder::default();
    host.run_crm(&at, &rec)
        .await
        .expect("cut-off reads are resent");
    rec.assert_created_once(&totals(&sim));
    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &autotask_crm(&sim)).await;
    assert_eq!(proxy.faults_injected(), 2);
    println!(
        "autotask reset/close mid-body: records={checked} pages={} requests={} faults=2 retries=2 resumes=0",
        rec.total_pages(),
        proxy.request_count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_json_fails_typed_and_resumes_exactly() {
    let sim = AutotaskSim::start(small()).await;
    let proxy = FaultProxy::start_for(&sim.zone_lookup_url())
        .await
        .expect("proxy");
    let at = connector(&sim, &proxy.url());
    let host = host(&sim).await;
    proxy.fault_request(2, Fault::TruncateBody(10_000));
    let rec = Recorder::default();
    let err = host
        .run_crm(&at, &rec)
        .await
        .expect_err("truncated JSON stops the run");
    let SyncError::Connector {
        data_type: DataType::Companies,
        source: ConnectorError::Decode { message, .. },
    } = &err
    else {
        panic!("expected a decode error of companies, got {err:?}");
    };
    assert!(message.contains("EOF"), "{message}");
    host.run_crm(&at, &rec)
        .await
        .expect("the next run completes");
    rec.assert_created_once(&totals(&sim));
    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &autotask_crm(&sim)).await;
    println!(
        "autotask truncated JSON: records={checked} requests={} faults=1 resumes=1 error=\"{err}\"",
        proxy.request_count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_dropped_halfway_resumes_from_its_next_page_url() {
    let sim = AutotaskSim::start(big()).await;
    let at = connector(&sim, &sim.zone_lookup_url());
    let host = host(&sim).await;
    // Answers take 50 ms, so page 3 is still on its way when page 2 is
    // reported.
    sim.set_latency(Duration::from_millis(50), Duration::ZERO);
    // Reports 1-2 are companies pages 1-2: the future is dropped at its
    // next await after that, mid-companies.
    const ABORT_AFTER: u64 = 2;
    let abort = tokio::sync::Notify::new();
    let reports = AtomicU64::new(0);
    let rec = Recorder::default();
    let progress = |p: &SyncProgress| {
        rec.note(p);
        if reports.fetch_add(1, Ordering::SeqCst) + 1 == ABORT_AFTER {
            abort.notify_one();
        }
    };
    {
        let request = crm_request();
        let run = host
            .engine
            .run(&host.access, &host.conn, &at, &request, Some(&progress));
        tokio::select! {
            biased;
            () = abort.notified() => {}
            result = run => panic!("the run ended before the abort: {result:?}"),
        }
    }
    let state = host
        .store
        .sync_state(&host.conn, DataType::Companies)
        .await
        .unwrap();
    assert!(matches!(state.status, RunStatus::Running { .. }));
    let token = state
        .checkpoint
        .as_ref()
        .and_then(|c| c.page_token.clone())
        .expect("a checkpoint with the next page");
    assert!(token.starts_with(&sim.zone_url()), "{token}");

    sim.set_latency(Duration::ZERO, Duration::ZERO);
    let refused = host.run_crm(&at, &rec).await.expect_err("still running");
    assert!(matches!(
        refused,
        SyncError::Store(StoreError::AlreadyRunning { .. })
    ));
    host.engine
        .force_reset(&host.access, &host.conn, DataType::Companies)
        .await
        .unwrap();
    host.run_crm(&at, &rec)
        .await
        .expect("the resumed run completes");
    rec.assert_created_once(&totals(&sim));
    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &autotask_crm(&sim)).await;
    println!(
        "autotask abort+resume: records={checked} pages={} requests={} faults=1 resumes=1",
        rec.total_pages(),
        sim.request_count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_pointing_elsewhere_is_refused() {
    let sim = AutotaskSim::start(small()).await;
    let at = connector(&sim, &sim.zone_lookup_url());
    let mut stream = at.stream(scopelink_core::connector::StreamRequest {
        data_type: DataType::Companies,
        filter: Default::default(),
        since: None,
        resume_from: Some("https://evil.example/ATServicesRest/v1.0/Companies/query?x=1".into()),
    });
    let first = futures::StreamExt::next(&mut stream).await.unwrap();
    assert!(
        matches!(first, Err(ConnectorError::Decode { .. })),
        "{first:?}"
    );
    assert!(sim
        .requests()
        .iter()
        .all(|r| !r.path.ends_with("/Companies/query")));
}
