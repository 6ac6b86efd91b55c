//! Syncs with several page requests in flight (issue 14), against the
//! simulators with latency per request (100 ms plus up to 50: slow enough
//! for the window to grow, see `AdaptiveWindow::GROW_AT`):
//!
//! - pages are committed in page order, one checkpoint each, and the store
//!   ends up holding exactly the provider's records (ConnectWise and
//!   HaloPSA), with more than one request in flight and never more than
//!   the connector's limit (counted by the simulator);
//! - a sync dropped with pages in flight resumes from its checkpoint: no
//!   committed page is fetched again, nothing is lost or duplicated;
//! - a provider refusing requests past its cap (429) makes the window
//!   shrink, and the sync still completes exactly;
//! - one request at a time when concurrency is set to 1.

mod fault_support;

use fault_support::*;
use futures::StreamExt;
use scopelink_connectwise::ConnectWiseConnector;
use scopelink_core::async_trait;
use scopelink_core::concurrency::Concurrency;
use scopelink_core::connector::{CrmSource, PageStream, StreamRequest};
use scopelink_core::filter::{FilterOptions, Preview, SyncFilter};
use scopelink_core::http::{HttpConfig, ThrottlePolicy};
use scopelink_core::model::Record;
use scopelink_core::sync::{RunStatus, SyncProgress};
use scopelink_core::{ConnectorError, DataType, MemoryStore};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings};
use scopelink_reliability::compare::{assert_store_matches, cw_crm, halo_crm};
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig, Latency};
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PAGE: u32 = 100;

/// 800 companies, 1600 contacts, 800 opportunities: 32 pages of 100.
fn sim_config() -> ConnectWiseSimConfig {
    ConnectWiseSimConfig::new(800, 2)
        .with_opportunities_per_company(1)
        .with_latency(Latency::with_jitter(
            Duration::from_millis(100),
            Duration::from_millis(50),
        ))
}

fn totals(sim: &ConnectWiseSim) -> [(DataType, u64); 3] {
    [
        (DataType::Companies, sim.company_count() as u64),
        (DataType::Contacts, sim.contact_count() as u64),
        (DataType::Opportunities, sim.opportunity_count() as u64),
    ]
}

/// A [`CrmSource`] that notes the checkpoint token of every page its
/// inner source hands over, per data type, in the order handed over.
struct Watched<'a> {
    inner: &'a dyn CrmSource,
    tokens: Arc<Mutex<BTreeMap<DataType, Vec<Option<String>>>>>,
}

#[async_trait]
impl CrmSource for Watched<'_> {
    fn data_types(&self) -> BTreeSet<DataType> {
        self.inner.data_types()
    }

    async fn filter_options(&self) -> Result<FilterOptions, ConnectorError> {
        self.inner.filter_options().await
    }

    async fn preview(&self, filter: &SyncFilter) -> Result<Preview, ConnectorError> {
        self.inner.preview(filter).await
    }

    fn stream(&self, request: StreamRequest) -> PageStream<'_> {
        let data_type = request.data_type;
        let tokens = self.tokens.clone();
        self.inner
            .stream(request)
            .inspect(move |page| {
                if let Ok(page) = page {
                    tokens
                        .lock()
                        .unwrap()
                        .entry(data_type)
                        .or_default()
                        .push(page.next.clone());
                }
            })
            .boxed()
    }

    async fn fetch(
        &self,
        data_type: DataType,
        external_id: &str,
    ) -> Result<Option<Record>, ConnectorError> {
        self.inner.fetch(data_type, external_id).await
    }
}

/// The `page` query parameter of a ConnectWise checkpoint token (a page
/// number or a link to the next page).
fn token_page(token: &str) -> u32 {
    token.parse().unwrap_or_else(|_| {
        let url = url::Url::parse(token).expect("a page number or a link");
        url.query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
            .expect("a page parameter")
    })
}

/// The page numbers of the `path` list requests in `requests`.
fn pages_asked(requests: &[(String, String)], path: &str) -> Vec<u32> {
    requests
        .iter()
        .filter(|(_, target)| target.contains(&format!("/{path}?")))
        .filter_map(|(_, target)| {
            let url = url::Url::parse(&format!("http://x{target}")).ok()?;
            let page = url.query_pairs().find(|(k, _)| k == "page")?.1.parse();
            page.ok()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectwise_commits_pages_in_order_with_several_in_flight() {
    let sim = ConnectWiseSim::start(sim_config()).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(10)))
        .with_concurrency(Concurrency::UpTo(4));
    let host = Host::connectwise(Arc::new(MemoryStore::new()), &sim).await;
    let watched = Watched {
        inner: &cw,
        tokens: Arc::default(),
    };
    let rec = Recorder::default();
    host.run_crm(&watched, &rec)
        .await
        .expect("the sync completes");

    rec.assert_created_once(&totals(&sim));
    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &cw_crm(&sim)).await;
    // Each type's checkpoints name pages 2, 3, ... in order, then none.
    let tokens = watched.tokens.lock().unwrap().clone();
    for (data_type, pages) in [
        (DataType::Companies, 8),
        (DataType::Contacts, 16),
        (DataType::Opportunities, 8),
    ] {
        let got = &tokens[&data_type];
        let numbers: Vec<Option<u32>> = got.iter().map(|t| t.as_deref().map(token_page)).collect();
        let expected: Vec<Option<u32>> = (2..=pages).map(Some).chain([None]).collect();
        assert_eq!(numbers, expected, "{data_type}");
        assert_eq!(rec.pages(data_type), u64::from(pages));
    }
    // Every page was asked for once; more than one at a time, never more
    // than four.
    let requests = sim.requests();
    let mut companies = pages_asked(&requests, "company/companies");
    companies.sort_unstable();
    assert_eq!(companies, (1..=8).collect::<Vec<_>>());
    let load = sim.load_stats();
    assert!(
        (2..=4).contains(&load.max_in_flight),
        "max in flight {}",
        load.max_in_flight
    );
    assert_eq!(load.refused_in_flight, 0);
    println!(
        "connectwise concurrent: records={checked} pages={} max_in_flight={} window={:?}",
        rec.total_pages(),
        load.max_in_flight,
        cw.concurrency().stats()
    );
}

fn halo_connector(sim: &HaloPsaSim, http: HttpConfig) -> HaloPsaConnector {
    let settings = HaloPsaSettings::new(sim.uri())
        .tenant("acmemsp")
        .project_ticket_type_id("3")
        .task_ticket_type_id("26");
    HaloPsaConnector::new(
        settings,
        scopelink_core::secret::ClientCredentials::new("sim-client", "sim-secret"),
        http,
    )
    .expect("connector")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halopsa_commits_pages_in_order_within_its_limit() {
    // 1,200 generated clients and the 5 of the fixtures: 13 pages of 100.
    let sim = HaloPsaSim::start(
        HaloPsaSimConfig::default()
            .with_generated_clients(1_200)
            .with_latency(Latency::with_jitter(
                Duration::from_millis(100),
                Duration::from_millis(50),
            )),
    )
    .await;
    let halo = halo_connector(&sim, http(Duration::from_secs(10)));
    let host = Host::halopsa(Arc::new(MemoryStore::new()), &sim.uri()).await;
    let watched = Watched {
        inner: &halo,
        tokens: Arc::default(),
    };
    let rec = Recorder::default();
    host.run_crm(&watched, &rec)
        .await
        .expect("the sync completes");

    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &halo_crm(&sim)).await;
    let tokens = watched.tokens.lock().unwrap().clone();
    let companies: Vec<Option<String>> = tokens[&DataType::Companies].clone();
    let expected: Vec<Option<String>> = (2..=13)
        .map(|n| Some(n.to_string()))
        .chain([None])
        .collect();
    assert_eq!(companies, expected);
    let load = sim.load_stats();
    let limit = scopelink_halopsa::CONCURRENCY_LIMIT.max;
    assert!(
        (2..=u64::from(limit)).contains(&load.max_in_flight),
        "max in flight {}",
        load.max_in_flight
    );
    println!(
        "halopsa concurrent: records={checked} pages={} max_in_flight={}",
        rec.total_pages(),
        load.max_in_flight
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_dropped_with_pages_in_flight_resumes_without_fetching_a_committed_page() {
    let sim = ConnectWiseSim::start(sim_config()).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(10)))
        .with_concurrency(Concurrency::UpTo(4));
    let host = Host::connectwise(Arc::new(MemoryStore::new()), &sim).await;

    // Reports 1-8 are companies pages, 9 its completion, 10-13 contacts
    // pages 1-4. From there on, the future is dropped (at its next await)
    // at the first contacts report while the simulator has already been
    // asked for a page past the one reported: pages are in flight at the
    // drop, whatever the machine's load does to the window.
    const ABORT_AFTER: u64 = 13;
    let abort = tokio::sync::Notify::new();
    let reports = AtomicU64::new(0);
    let beyond_at_abort: Mutex<Vec<u32>> = Mutex::new(Vec::new());
    let rec = Recorder::default();
    let progress = |p: &SyncProgress| {
        rec.note(p);
        let n = reports.fetch_add(1, Ordering::SeqCst) + 1;
        if n < ABORT_AFTER || p.data_type != DataType::Contacts || p.finished {
            return;
        }
        let mut beyond = beyond_at_abort.lock().unwrap();
        if !beyond.is_empty() {
            return;
        }
        let asked = pages_asked(&sim.requests(), "company/contacts");
        beyond.extend(asked.into_iter().filter(|&page| u64::from(page) > p.pages));
        if !beyond.is_empty() {
            abort.notify_one();
        }
    };
    {
        let request = crm_request();
        let run = host
            .engine
            .run(&host.access, &host.conn, &cw, &request, Some(&progress));
        tokio::select! {
            biased;
            () = abort.notified() => {}
            result = run => panic!("the run ended before the abort: {result:?}"),
        }
    }
    let before = pages_asked(&sim.requests(), "company/contacts");
    let beyond = beyond_at_abort.lock().unwrap().clone();
    let committed = assert_checkpoint_matches_store(
        &host,
        DataType::Contacts,
        |s| matches!(s, RunStatus::Running { .. }),
        PAGE,
    )
    .await;
    assert!(committed >= 4, "{committed}");
    assert!(
        !beyond.is_empty(),
        "pages were asked past the last one reported when the run was dropped: asked {before:?}, committed {committed}"
    );

    // The host restarts: force-reset, then resume.
    host.engine
        .force_reset(&host.access, &host.conn, DataType::Contacts)
        .await
        .expect("force reset");
    sim.clear_requests();
    host.run_crm(&cw, &rec)
        .await
        .expect("the resumed run completes");

    // The resumed run asks for every page after the checkpoint and none
    // at or before it. A request of the dropped run that was already on
    // its way may reach the simulator after the log was read, or after it
    // was cleared (on a loaded machine the server logs a request only when
    // it reads it): only a page the dropped run could hold past the
    // checkpoint may show up twice: up to 4 requests in flight plus the
    // two pages the pipeline holds ahead of the commit (the fetched page
    // waiting for the engine and the engine's read-ahead), 6 in all.
    const HELD_PAST_CHECKPOINT: u32 = 4 + 2;
    let resumed = pages_asked(&sim.requests(), "company/contacts");
    let mut sorted = resumed.clone();
    sorted.sort_unstable();
    let mut distinct = sorted.clone();
    distinct.dedup();
    let expected: Vec<u32> = (committed as u32 + 1..=16).collect();
    assert_eq!(distinct, expected, "asked after the drop: {resumed:?}");
    for twice in sorted.windows(2).filter(|w| w[0] == w[1]) {
        assert!(
            twice[0] > committed as u32 && twice[0] <= committed as u32 + HELD_PAST_CHECKPOINT,
            "page {} asked twice but not among the pages the dropped run could hold (committed {committed}, asked before {before:?})",
            twice[0]
        );
    }
    rec.assert_created_once(&totals(&sim));
    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &cw_crm(&sim)).await;
    println!(
        "dropped with pages in flight: records={checked} committed={committed} asked before the drop={before:?} resumed={resumed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_cap_halves_the_window_and_the_sync_completes_exactly() {
    // 400 companies, 400 contacts, 400 opportunities: 12 pages of 100.
    let config = ConnectWiseSimConfig::new(400, 1)
        .with_opportunities_per_company(1)
        .with_latency(Latency::with_jitter(
            Duration::from_millis(100),
            Duration::from_millis(50),
        ))
        .with_max_in_flight(2);
    let sim = ConnectWiseSim::start(config).await;
    // ConnectWise's 429 asks for a wait in seconds; the client waits it out.
    sim.set_retry_after(1);
    let mut config = http(Duration::from_secs(10));
    config.throttle = Some(ThrottlePolicy {
        retry: true,
        first_wait: Duration::from_millis(20),
        max_wait: Duration::from_secs(2),
        max_total_wait: Duration::from_secs(20),
        max_retries: 50,
        quota_markers: &[],
    });
    let cw: ConnectWiseConnector =
        cw_connector(&sim, sim.server_url(), PAGE, config).with_concurrency(Concurrency::Auto);
    let host = Host::connectwise(Arc::new(MemoryStore::new()), &sim).await;
    let rec = Recorder::default();
    host.run_crm(&cw, &rec).await.expect("the sync completes");

    rec.assert_created_once(&totals(&sim));
    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &cw_crm(&sim)).await;
    let load = sim.load_stats();
    let window = cw.concurrency().stats();
    assert!(load.refused_in_flight >= 1, "{load:?}");
    assert!(window.throttle_decreases >= 1, "{window:?}");
    assert_eq!(
        cw.http().throttle_replies(),
        load.refused_in_flight,
        "every refusal was seen as a 429"
    );
    // Shrinking on each refusal keeps them rarer than the pages.
    let pages = rec.total_pages();
    assert!(
        load.refused_in_flight < pages,
        "{} refusals for {pages} pages",
        load.refused_in_flight
    );
    assert!(load.max_in_flight <= 2);
    println!(
        "provider cap 2: records={checked} pages={pages} refused={} window={window:?}",
        load.refused_in_flight
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_one_keeps_one_request_in_flight() {
    let sim = ConnectWiseSim::start(sim_config()).await;
    let cw = cw_connector(&sim, sim.server_url(), PAGE, http(Duration::from_secs(10)))
        .with_concurrency(Concurrency::SEQUENTIAL);
    let host = Host::connectwise(Arc::new(MemoryStore::new()), &sim).await;
    let rec = Recorder::default();
    host.run_crm(&cw, &rec).await.expect("the sync completes");
    rec.assert_created_once(&totals(&sim));
    assert_store_matches(host.store.as_ref(), &host.conn, &cw_crm(&sim)).await;
    assert_eq!(sim.load_stats().max_in_flight, 1);
}
