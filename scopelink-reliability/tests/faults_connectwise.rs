//! Fault injection against the ConnectWise simulator: rate limiting, bursts
//! of 503, a connection reset mid-body, a body closed early, truncated JSON
//! and a server slower than the timeout. Every test ends with the store
//! holding exactly the simulator's data (ids, names, companies,
//! modification times; counts equal), and prints its figures.

mod fault_support;

use fault_support::*;
use scopelink_core::connector::CrmSource;
use scopelink_core::error::{ConnectorError, HttpError};
use scopelink_core::filter::SyncFilter;
use scopelink_core::sync::{RunStatus, SyncProgress, SyncReport};
use scopelink_core::{DataType, MemoryStore, SyncError};
use scopelink_reliability::compare::{assert_store_matches, cw_crm};
use scopelink_reliability::fault_proxy::{Fault, FaultProxy};
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// 800 companies, 1600 contacts, 800 opportunities: 3200 records, 32 pages
/// of 100.
fn sim_config() -> ConnectWiseSimConfig {
    ConnectWiseSimConfig::new(800, 2).with_opportunities_per_company(1)
}

const PAGE: u32 = 100;

/// Records in the simulator's CRM data.
fn total(sim: &ConnectWiseSim) -> u64 {
    (sim.company_count() + sim.contact_count() + sim.opportunity_count()) as u64
}

/// Records per type in the simulator.
fn totals(sim: &ConnectWiseSim) -> [(DataType, u64); 3] {
    [
        (DataType::Companies, sim.company_count() as u64),
        (DataType::Contacts, sim.contact_count() as u64),
        (DataType::Opportunities, sim.opportunity_count() as u64),
    ]
}

/// Every type was created in full, nothing counted twice.
fn assert_created_once(report: &SyncReport, sim: &ConnectWiseSim) {
    for (data_type, n) in totals(sim) {
        let c = report.counts(data_type).expect("type synced");
        assert_eq!(
            (c.created, c.updated, c.unchanged, c.skipped),
            (n, 0, 0, 0),
            "{data_type}: {c:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_every_fifth_request_completes_exactly() {
    let sim = ConnectWiseSim::start(sim_config()).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(5)));
    let host = Host::connectwise(Arc::new(MemoryStore::new()), &sim).await;
    sim.set_retry_after(0);
    sim.fail_every(5, 429);

    let rec = Recorder::default();
    let report = host
        .run_crm(&cw, &rec)
        .await
        .expect("the sync rides out the 429s");

    let requests = sim.request_count() as u64;
    let pages = rec.total_pages();
    let stats = sim.fault_stats();
    assert_eq!(pages, 32);
    // Every 5th request was refused, and each refusal was retried once.
    assert_eq!(stats.rate_limited, requests / 5);
    assert_eq!(stats.errors, stats.rate_limited);
    assert_eq!(requests, pages + stats.rate_limited);
    assert_eq!(cw.http().requests_sent(), requests);
    assert_created_once(&report, &sim);
    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &cw_crm(&sim)).await;
    assert_eq!(checked as u64, total(&sim));

    // Retry-After is honoured: a 429 asking for one second delays the retry
    // at least that long.
    sim.fail_every(0, 429);
    sim.set_retry_after(1);
    sim.fail_next(1, 429);
    let started = Instant::now();
    cw.preview(&SyncFilter::default())
        .await
        .expect("retried after Retry-After");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "waited {waited:?}");

    println!(
        "429 every 5th: records={} pages={pages} requests={requests} faults={} retries={} resumes=0; Retry-After 1 s waited {} ms",
        total(&sim),
        stats.rate_limited,
        requests - pages,
        waited.as_millis()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_503_complete_exactly() {
    let sim = ConnectWiseSim::start(sim_config()).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(5)));
    let host = Host::connectwise(Arc::new(MemoryStore::new()), &sim).await;
    sim.set_retry_after(0);

    // After these progress reports, the next requests fail with 503: bursts
    // of 2, and one of 3 (the 4th attempt gets through).
    let bursts: [(u64, u32); 5] = [(1, 2), (6, 2), (12, 3), (19, 2), (27, 2)];
    let reports = AtomicU64::new(0);
    let rec = Recorder::default();
    let progress = |p: &SyncProgress| {
        rec.note(p);
        let n = reports.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((_, len)) = bursts.iter().find(|(at, _)| *at == n) {
            sim.fail_next(*len, 503);
        }
    };
    let report = host
        .engine
        .run(
            &host.access,
            &host.conn,
            &cw,
            &crm_request(),
            Some(&progress),
        )
        .await
        .expect("the sync rides out the bursts");

    let injected: u64 = bursts.iter().map(|(_, n)| u64::from(*n)).sum();
    let requests = sim.request_count() as u64;
    let pages = rec.total_pages();
    assert_eq!(sim.fault_stats().errors, injected);
    assert_eq!(requests, pages + injected);
    assert_created_once(&report, &sim);
    assert_store_matches(host.store.as_ref(), &host.conn, &cw_crm(&sim)).await;
    println!(
        "503 bursts: records={} pages={pages} requests={requests} faults={injected} (bursts {}) retries={} resumes=0",
        total(&sim),
        bursts.len(),
        requests - pages
    );
}

/// Runs a sync expected to fail, and returns its error.
async fn failing_run(host: &Host, cw: &dyn CrmSource, rec: &Recorder) -> SyncError {
    host.run_crm(cw, rec)
        .await
        .expect_err("the fault stops the run")
}

/// After a failed run: the type is marked failed, its checkpoint says how
/// many pages were committed, and the store holds exactly those records.
async fn assert_checkpointed(host: &Host, data_type: DataType, pages: u64) {
    let committed = assert_checkpoint_matches_store(
        host,
        data_type,
        |s| matches!(s, RunStatus::Failed { .. }),
        PAGE,
    )
    .await;
    assert_eq!(committed, pages);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_cut_off_mid_body_are_fetched_again() {
    let sim = ConnectWiseSim::start(sim_config()).await;
    let proxy = FaultProxy::start_for(sim.server_url())
        .await
        .expect("proxy");
    let cw = cw_connector(&sim, &proxy.url(), PAGE, http(Duration::from_secs(5)));
    let host = Host::connectwise(Arc::new(MemoryStore::new()), &sim).await;
    let rec = Recorder::default();

    // Request 4 (companies page 4) is reset (RST) after 5000 bytes of its
    // body; request 12 (contacts page 3, counting the retry of companies
    // page 4) is closed early (FIN before Content-Length is reached);
    // request 15 is only late, well within the timeout.
    proxy.fault_request(4, Fault::ResetMidBody(5_000));
    proxy.fault_request(12, Fault::CloseMidBody(2_000));
    proxy.fault_request(15, Fault::Delay(Duration::from_millis(50)));
    host.run_crm(&cw, &rec)
        .await
        .expect("GETs cut off mid-body are sent again and the sync completes");
    rec.assert_created_once(&totals(&sim));
    assert_store_matches(host.store.as_ref(), &host.conn, &cw_crm(&sim)).await;

    let pages = rec.total_pages();
    let requests = proxy.request_count();
    assert_eq!(pages, 32);
    // Each cut page was fetched once more, nothing else.
    assert_eq!(requests, pages + 2);
    assert_eq!(proxy.faults_injected(), 3);
    assert_eq!(sim.request_count() as u64, requests);
    let log = proxy.log();
    assert!(log[3].target.contains("page=4"), "{:?}", log[3]);
    assert!(log[4].target.contains("page=4"), "{:?}", log[4]);
    assert!(log[11].target.contains("page=3"), "{:?}", log[11]);
    assert!(log[12].target.contains("page=3"), "{:?}", log[12]);
    assert_eq!(log[14].fault, Some(Fault::Delay(Duration::from_millis(50))));
    assert_eq!(log[14].status, Some(200));
    println!(
        "reset/close mid-body: records={} pages={pages} requests={requests} faults=3 (RST, FIN, 50 ms delay) retries=2 resumes=0 connections={}",
        total(&sim),
        proxy.connection_count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_post_is_not_sent_again() {
    // A POST whose answer was cut off may have been processed: the runtime
    // must not resend it (no duplicate ticket), and says what happened.
    let sim = ConnectWiseSim::start(sim_config()).await;
    let proxy = FaultProxy::start_for(sim.server_url())
        .await
        .expect("proxy");
    let client =
        scopelink_core::http::HttpClient::new(http(Duration::from_secs(5))).expect("client");
    proxy.fault_request(1, Fault::ResetMidBody(10));
    let url = url::Url::parse(&format!("{}/service/tickets", proxy.url())).expect("url");
    let err = client
        .send(
            scopelink_core::http::Request::new(scopelink_core::http::Method::POST, url)
                .json(&serde_json::json!({"summary": "x"})),
        )
        .await
        .expect_err("the answer was cut off");
    match &err {
        HttpError::Transport {
            method,
            reason,
            source,
            ..
        } => {
            assert_eq!(method, "POST");
            assert_eq!(reason, "the response was cut off before its end");
            // The transport's cause is the typed source, shown once, and
            // without reqwest's misleading "error decoding" wording.
            assert!(source.is_some(), "{err:?}");
            let printed = scopelink_core::error::chain(&err);
            assert!(
                printed.starts_with(
                    "POST /service/tickets: the response was cut off before its end: "
                ),
                "{printed}"
            );
            assert!(!printed.contains("decoding"), "{printed}");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert_eq!(proxy.request_count(), 1, "sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_json_fails_typed_and_resumes_exactly() {
    let sim = ConnectWiseSim::start(sim_config()).await;
    let proxy = FaultProxy::start_for(sim.server_url())
        .await
        .expect("proxy");
    let cw = cw_connector(&sim, &proxy.url(), PAGE, http(Duration::from_secs(5)));
    let host = Host::connectwise(Arc::new(MemoryStore::new()), &sim).await;
    let rec = Recorder::default();

    // Opportunities page 2 (8 + 16 + 2 = request 26) answers 200 with half
    // of its JSON and a matching Content-Length.
    proxy.fault_request(26, Fault::TruncateBody(10_000));
    let err = failing_run(&host, &cw, &rec).await;
    let SyncError::Connector {
        data_type: DataType::Opportunities,
        source: ConnectorError::Decode { what, message },
    } = &err
    else {
        panic!("expected a decode error of opportunities, got {err:?}");
    };
    assert_eq!(what, "reading opportunities");
    assert!(message.contains("EOF"), "{message}");
    let entry = &proxy.log()[25];
    assert_eq!(entry.status, Some(200));
    assert!(entry.body_len.unwrap() > 10_000, "{entry:?}");
    assert_checkpointed(&host, DataType::Opportunities, 1).await;
    // The types before it completed.
    for data_type in [DataType::Companies, DataType::Contacts] {
        let state = host.store.sync_state(&host.conn, data_type).await.unwrap();
        assert_eq!(state.status, RunStatus::Idle);
        assert!(state.checkpoint.is_none());
    }

    host.run_crm(&cw, &rec)
        .await
        .expect("the resumed run completes");
    // Companies and contacts ran again incrementally (nothing changed);
    // opportunities resumed: every record was created once in all.
    rec.assert_created_once(&totals(&sim));
    assert_store_matches(host.store.as_ref(), &host.conn, &cw_crm(&sim)).await;
    let requests = proxy.request_count();
    let pages = rec.total_pages();
    // 32 pages, plus one page each for the incremental re-runs of companies
    // and contacts; the truncated page was fetched again. The connector
    // fetches pages (following the Link header) while it decodes earlier
    // ones: when the decode failed, the page after the truncated one may
    // have been waiting and the one after that in flight; both were
    // discarded and fetched again on resume.
    assert_eq!(pages, 34);
    assert!(
        (pages + 1..=pages + 3).contains(&requests),
        "{requests} requests for {pages} pages"
    );
    println!(
        "truncated JSON: records={} pages={pages} requests={requests} faults=1 retries=0 resumes=1 error=\"{err}\"",
        total(&sim),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_server_past_the_timeout_is_retried_then_resumed_exactly() {
    let sim = ConnectWiseSim::start(sim_config()).await;
    let timeout = Duration::from_millis(800);
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(timeout));
    let host = Host::connectwise(Arc::new(MemoryStore::new()), &sim).await;
    let slow = Duration::from_secs(5);

    // After report 5 one answer is slow (the retry gets through); after
    // report 20 four are (every attempt times out).
    let reports = AtomicU64::new(0);
    let rec = Recorder::default();
    let progress = |p: &SyncProgress| {
        rec.note(p);
        match reports.fetch_add(1, Ordering::SeqCst) + 1 {
            5 => sim.slow_next(1, slow),
            20 => sim.slow_next(4, slow),
            _ => {}
        }
    };
    let err = host
        .engine
        .run(
            &host.access,
            &host.conn,
            &cw,
            &crm_request(),
            Some(&progress),
        )
        .await
        .expect_err("four timeouts in a row stop the run");
    assert!(
        matches!(
            &err,
            SyncError::Connector {
                source: ConnectorError::Http(HttpError::Timeout { timeout: t, .. }),
                ..
            } if *t == timeout
        ),
        "{err:?}"
    );
    let SyncError::Connector { data_type, .. } = &err else {
        unreachable!()
    };
    let failed_type = *data_type;
    let state = host
        .store
        .sync_state(&host.conn, failed_type)
        .await
        .unwrap();
    assert!(matches!(state.status, RunStatus::Failed { .. }));
    let committed = state.checkpoint.expect("checkpoint").pages;

    host.run_crm(&cw, &rec)
        .await
        .expect("the resumed run completes");
    rec.assert_created_once(&totals(&sim));
    assert_store_matches(host.store.as_ref(), &host.conn, &cw_crm(&sim)).await;

    let stats = sim.fault_stats();
    let requests = sim.request_count() as u64;
    let pages = rec.total_pages();
    assert_eq!(stats.slowed, 5);
    // 32 pages, plus one for the incremental re-run of each type completed
    // before the failure.
    let completed_before = CRM.iter().take_while(|t| **t != failed_type).count() as u64;
    assert_eq!(pages, 32 + completed_before);
    // Every timed-out attempt is one extra request; the page that failed
    // four times was fetched once more by the resumed run.
    assert_eq!(requests, pages + 5);
    println!(
        "timeouts: records={} pages={pages} requests={requests} faults=5 (answers {} ms late, timeout {} ms) retries=4 resumes=1 failed_at={failed_type} page {} error=\"{err}\"",
        total(&sim),
        slow.as_millis(),
        timeout.as_millis(),
        committed + 1
    );
}
