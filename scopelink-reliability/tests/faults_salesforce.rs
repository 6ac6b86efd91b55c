//! The Salesforce connector under faults: 5xx answers and connection
//! resets are retried and the sync completes with every record once; a
//! sync killed mid-way resumes from its checkpoint (a `nextRecordsUrl`)
//! without loss or duplicates; an exhausted daily allocation stops the run
//! at once (one 403, no retry), keeps the connection Connected, and the
//! next run after the allocation frees up completes.

mod salesforce_support;

use salesforce_support::*;
use scopelink_core::{ConnectionStatus, ConnectorError, DataType, SyncError};
use scopelink_reliability::fault_proxy::{Fault, FaultProxy};
use scopelink_testkit::host::wait_for_committed_pages;
use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};
use std::sync::Arc;
use std::time::Duration;

fn config() -> SalesforceSimConfig {
    SalesforceSimConfig {
        accounts: 600,
        contacts_per_account: 1,
        opportunities: 400,
        ..SalesforceSimConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_5xx_and_resets_are_retried_and_every_record_lands_once() {
    let config = config();
    let sim = SalesforceSim::start(config.clone()).await;
    let sf = SfHost::connect(&sim, &config, &[("batch_size", "200")]).await;
    let proxy = FaultProxy::start_for(&sim.instance_url()).await.unwrap();
    let connector = sf.connector(Some(&proxy.url())).await;
    // Request 1 is the version list; 2 is the first Account page; 4 and 7
    // are later query pages.
    proxy.fault_request(2, Fault::ResetMidBody(100));
    proxy.fault_request(4, Fault::CloseMidBody(10));
    sim.fail_every(5, 503);
    let rec = Recorder::default();
    let report = sf.host.run_crm(&connector, &rec).await.unwrap();
    sim.clear_faults();
    rec.assert_created_once(&totals(&sim));
    assert!(proxy.faults_injected() >= 2);
    assert!(
        sim.requests().iter().any(|r| r.status == 503),
        "503s were answered and retried"
    );
    for (t, n) in totals(&sim) {
        assert_eq!(report.counts(t).unwrap().created, n, "{t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_a_killed_sync_resumes_from_its_next_records_url() {
    // Five Account pages of 200, each answered after 100 ms: the run is
    // killed after its first page, long before its last.
    let config = SalesforceSimConfig {
        accounts: 1000,
        ..config()
    };
    let sim = SalesforceSim::start(config.clone()).await;
    let sf = SfHost::connect(&sim, &config, &[("batch_size", "200")]).await;
    let connector = Arc::new(sf.connector(None).await);
    sim.set_latency(Some(Duration::from_millis(100)));
    let host = Arc::new(sf.host);
    let rec = Arc::new(Recorder::default());
    let task = {
        let (host, connector, rec) = (host.clone(), connector.clone(), rec.clone());
        tokio::spawn(async move { host.run_crm(connector.as_ref(), &rec).await })
    };
    wait_for_committed_pages(&host, DataType::Companies, 1).await;
    task.abort();
    let _ = task.await;
    sim.set_latency(None);
    let state = host
        .store
        .sync_state(&host.conn, DataType::Companies)
        .await
        .unwrap();
    let checkpoint = state.checkpoint.expect("a checkpoint");
    let token = checkpoint.page_token.clone().unwrap_or_default();
    assert!(
        token.contains("/query/"),
        "the checkpoint is the next page's URL: {token}"
    );
    host.engine
        .force_reset(&host.access, &host.conn, DataType::Companies)
        .await
        .unwrap();
    sim.clear_requests();
    host.run_crm(connector.as_ref(), &rec).await.unwrap();
    let first_read = sim
        .requests()
        .into_iter()
        .find(|r| r.path.contains("/query"))
        .unwrap();
    assert!(
        first_read.path.contains("/query/"),
        "resumed at the checkpointed page, not from the start: {}",
        first_read.path
    );
    for (t, n) in totals(&sim) {
        let stored = host.store.count_records(&host.conn, t).await.unwrap();
        assert_eq!(stored, n, "{t}: nothing lost, nothing twice");
    }
}

#[tokio::test]
async fn salesforce_an_exhausted_allocation_stops_the_run_and_the_next_run_completes() {
    let config = config();
    let sim = SalesforceSim::start(config.clone()).await;
    let sf = SfHost::connect(&sim, &config, &[("batch_size", "200")]).await;
    let connector = sf.connector(None).await;
    // Two calls are left: two of the three Account pages (the version list
    // needs no session and is not counted).
    sim.set_api_usage(sim.daily_api_limit() - 2);
    let rec = Recorder::default();
    let err = sf.host.run_crm(&connector, &rec).await.unwrap_err();
    let SyncError::Connector { data_type, source } = &err else {
        panic!("{err}");
    };
    assert_eq!(*data_type, DataType::Companies);
    assert!(
        matches!(source, ConnectorError::QuotaExhausted { .. }),
        "{source}"
    );
    let refusals = sim.requests().iter().filter(|r| r.status == 403).count();
    assert_eq!(refusals, 1, "no hot retry on REQUEST_LIMIT_EXCEEDED");
    let usage = connector.api_usage().expect("usage read from the answers");
    assert!(usage.used >= usage.max - 1, "{usage:?}");
    let connection = sf
        .host
        .connections
        .get(&sf.host.access, &sf.host.conn)
        .await
        .unwrap();
    assert_eq!(connection.status, ConnectionStatus::Connected);

    // A day later the rolling allocation has freed up.
    sim.set_api_usage(0);
    sf.host.run_crm(&connector, &rec).await.unwrap();
    for (t, n) in totals(&sim) {
        let stored = sf.host.store.count_records(&sf.host.conn, t).await.unwrap();
        assert_eq!(stored, n, "{t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_a_resume_whose_query_cursor_expired_reads_the_query_again() {
    use futures::StreamExt;
    use scopelink_core::connector::{CrmSource, StreamRequest};
    let config = SalesforceSimConfig {
        accounts: 1000,
        ..config()
    };
    let sim = SalesforceSim::start(config.clone()).await;
    let sf = SfHost::connect(&sim, &config, &[("batch_size", "200")]).await;
    let connector = Arc::new(sf.connector(None).await);
    sim.set_latency(Some(Duration::from_millis(100)));
    let host = Arc::new(sf.host);
    let rec = Arc::new(Recorder::default());
    let task = {
        let (host, connector, rec) = (host.clone(), connector.clone(), rec.clone());
        tokio::spawn(async move { host.run_crm(connector.as_ref(), &rec).await })
    };
    wait_for_committed_pages(&host, DataType::Companies, 1).await;
    task.abort();
    let _ = task.await;
    sim.set_latency(None);
    // Salesforce keeps 10 cursors per user: ten new queries close the
    // checkpointed one.
    for _ in 0..10 {
        let mut stream = connector.stream(StreamRequest {
            data_type: DataType::Companies,
            filter: Default::default(),
            since: None,
            resume_from: None,
        });
        stream.next().await.unwrap().unwrap();
    }
    host.engine
        .force_reset(&host.access, &host.conn, DataType::Companies)
        .await
        .unwrap();
    sim.clear_requests();
    host.run_crm(connector.as_ref(), &rec).await.unwrap();
    // (A read-ahead request of the ten streams may still land first.)
    let reads: Vec<(String, u16)> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/query"))
        .map(|r| (r.path, r.status))
        .collect();
    let refused = reads
        .iter()
        .position(|(path, status)| *status == 400 && path.contains("/query/"))
        .unwrap_or_else(|| panic!("the checkpointed cursor was gone: {reads:?}"));
    assert!(
        reads[refused + 1].0.ends_with("/query"),
        "read again from the start: {reads:?}"
    );
    for (t, n) in totals(&sim) {
        let stored = host.store.count_records(&host.conn, t).await.unwrap();
        assert_eq!(stored, n, "{t}: nothing lost, nothing twice");
    }
}
