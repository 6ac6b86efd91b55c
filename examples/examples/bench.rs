//! Sync benchmark: ConnectWise simulator → connector → `SyncEngine` → store.
//!
//! Run with
//! `cargo run --release -p scopelink-examples --example bench -- [options]`
//!
//! Options (defaults in brackets):
//! - `--companies N` [100000], `--contacts-per-company N` [3],
//!   `--opportunities N` [50000] (in all, spread over the companies);
//! - `--stores memory,sqlite` [both]: which stores to sync into;
//! - `--latency MS` [0] and `--jitter MS` [0]: the simulator answers each
//!   request after `MS` milliseconds plus up to the jitter;
//! - `--concurrency N|auto` [auto]: page requests the connector keeps in
//!   flight (auto: the connector's limit, [`CONCURRENCY_LIMIT`]); the
//!   simulator refuses requests past that limit with a 429 and counts them,
//!   with the most it saw in flight.
//!
//! The simulator runs in a child process (this same binary, started with
//! `--serve-simulator`), so every memory figure is this process's own: the
//! connector, the engine, the store, page buffers. For each store the
//! benchmark runs a full sync of companies, contacts and opportunities, then
//! an unchanged re-sync, and finally fetches the same pages with a bare loop
//! (plain `HttpClient` GETs decoded into the connector's wire types, no
//! conversion, no store, one page after another) to compare the two times.
//! With latency, the sync's time is also set against pages × latency ÷
//! concurrency, the least a run with that many requests in flight can take.

use scopelink_connectwise::fuzz::wire;
use scopelink_connectwise::{
    ConnectWiseConnector, ConnectWiseSettings, CONCURRENCY_LIMIT, MAX_PAGE_SIZE,
};
use scopelink_core::concurrency::Concurrency;
use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig, Method, Request};
use scopelink_core::model::DataType;
use scopelink_core::secret::{ApiKeyPair, Credentials, InMemoryVault};
use scopelink_core::store::Store;
use scopelink_core::sync::SyncProgress;
use scopelink_core::{
    Access, Connections, FeatureCategory, MemoryStore, NewConnection, Provider, SyncEngine,
    SyncRequest,
};
use scopelink_examples::args::{ArgError, Flags, Stores, SERVE_SIMULATOR};
use scopelink_examples::measure::{
    build_kind, memory, mib, process_line, rate, reset_peak, thousands,
};
use scopelink_examples::sim_process::{serve, SimProcess, SimProcessError};
use scopelink_examples::sqlite_file::SqliteFile;
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig, Latency};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error>;

const TYPES: [DataType; 3] = [
    DataType::Companies,
    DataType::Contacts,
    DataType::Opportunities,
];

/// What the benchmark syncs.
#[derive(Debug, Clone, Copy)]
struct Size {
    companies: usize,
    contacts_per_company: usize,
    opportunities: usize,
}

impl Size {
    fn count(&self, t: DataType) -> u64 {
        match t {
            DataType::Companies => self.companies as u64,
            DataType::Contacts => (self.companies * self.contacts_per_company) as u64,
            _ => self.opportunities as u64,
        }
    }
    /// Pages a full read of `t` needs (an empty list still takes one).
    fn pages(&self, t: DataType) -> u64 {
        self.count(t).div_ceil(u64::from(MAX_PAGE_SIZE)).max(1)
    }
    fn records(&self) -> u64 {
        TYPES.iter().map(|t| self.count(*t)).sum()
    }
    fn all_pages(&self) -> u64 {
        TYPES.iter().map(|t| self.pages(*t)).sum()
    }
}

// ---------------------------------------------------------------------------
// The simulator in a child process
// ---------------------------------------------------------------------------

/// The provider's side of the run: latency per request and the cap on
/// requests in flight.
#[derive(Debug, Clone, Copy)]
struct Load {
    latency_ms: u64,
    jitter_ms: u64,
    max_in_flight: usize,
}

/// Child mode: serves the simulator and answers `requests` (how many it
/// has received) and `load` (most in flight, refused) on stdin until stdin
/// closes.
async fn serve_simulator(size: Size, load: Load) -> Result<(), BoxError> {
    let sim = ConnectWiseSim::start(
        ConnectWiseSimConfig::new(size.companies, size.contacts_per_company)
            .with_opportunities_total(size.opportunities)
            .with_configurations_per_company(0)
            .with_catalog_items(0)
            .with_latency(Latency::with_jitter(
                Duration::from_millis(load.latency_ms),
                Duration::from_millis(load.jitter_ms),
            ))
            .with_max_in_flight(load.max_in_flight),
    )
    .await;
    let info = serde_json::json!({
        "server_url": sim.server_url(),
        "api_base": sim.api_base(),
        "client_id": sim.client_id(),
        "company_id": sim.company_id(),
        "public_key": sim.public_key(),
        "private_key": sim.private_key(),
        "authorization": sim.authorization(),
    });
    serve(&info, |command| match command {
        "requests" => Some(sim.request_count().to_string()),
        "load" => {
            let l = sim.load_stats();
            Some(format!("{} {}", l.max_in_flight, l.refused_in_flight))
        }
        _ => None,
    })?;
    Ok(())
}

/// Starts the simulator process for `size` and `load`.
fn start_simulator(size: Size, load: Load) -> Result<SimProcess, SimProcessError> {
    SimProcess::start([
        "--companies".to_string(),
        size.companies.to_string(),
        "--contacts-per-company".to_string(),
        size.contacts_per_company.to_string(),
        "--opportunities".to_string(),
        size.opportunities.to_string(),
        "--latency".to_string(),
        load.latency_ms.to_string(),
        "--jitter".to_string(),
        load.jitter_ms.to_string(),
        "--sim-max-in-flight".to_string(),
        load.max_in_flight.to_string(),
    ])
}

/// The most requests the simulator saw in flight, and the requests it
/// refused for its cap, so far.
fn load_stats(sim: &mut SimProcess) -> Result<(u64, u64), SimProcessError> {
    let answer = sim.ask("load")?;
    let mut parts = answer.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(max)), Some(Ok(refused))) => Ok((max, refused)),
        _ => Err(SimProcessError::BadAnswer {
            command: "load".into(),
            answer,
        }),
    }
}

// ---------------------------------------------------------------------------
// The runs
// ---------------------------------------------------------------------------

struct SyncFigures {
    store: String,
    time: Duration,
    records: u64,
    stored: u64,
    per_type: Vec<(DataType, String)>,
    requests: u64,
    rss_before: Option<f64>,
    peak: Option<f64>,
    rss_after: Option<f64>,
    resync_requests: Vec<(DataType, u64)>,
    resync_time: Duration,
    /// Requests the simulator refused for its cap during the sync (429).
    refused: u64,
    /// The most requests in flight the simulator saw (over the process).
    max_in_flight: u64,
    /// The connector's window: its limit and the largest size it reached.
    window: String,
}

fn http_config() -> HttpConfig {
    HttpConfig::default()
        .with_addresses(AddressPolicy::allow_local())
        .with_timeout(Duration::from_secs(120))
}

fn settings(sim: &SimProcess) -> ConnectWiseSettings {
    ConnectWiseSettings::new(sim.get("server_url"), sim.get("client_id"))
}

fn keys(sim: &SimProcess) -> ApiKeyPair {
    ApiKeyPair::new(
        &sim.get("company_id"),
        &sim.get("public_key"),
        &sim.get("private_key"),
    )
}

async fn sync_into(
    label: &'static str,
    store: Arc<dyn Store>,
    sim: &mut SimProcess,
    concurrency: Concurrency,
) -> Result<SyncFigures, BoxError> {
    let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
    let admin = Access::full();
    let conn = connections
        .create(
            &admin,
            NewConnection::new(
                Provider::ConnectWiseManage,
                format!("ConnectWise (benchmark, {label})"),
                Credentials::ApiKeyPair(keys(sim)),
            )
            .categories([FeatureCategory::Crm])
            .settings(settings(sim).to_map()),
        )
        .await?;
    let cw = ConnectWiseConnector::connect(settings(sim), keys(sim), http_config())
        .await?
        .with_page_size(MAX_PAGE_SIZE)
        .with_concurrency(concurrency);
    let engine = SyncEngine::new(connections.clone());
    let live = std::io::stderr().is_terminal();
    let progress = |p: &SyncProgress| {
        if live || p.finished {
            eprint!(
                "{}  [{label}] {:<14} pages {:>4}  records {:>8}",
                if live { "\r" } else { "" },
                p.data_type.as_str(),
                p.pages,
                p.counts.total()
            );
        }
        if p.finished {
            eprintln!();
        }
    };

    let requests_before = sim.requests()?;
    let (_, refused_before) = load_stats(sim)?;
    reset_peak();
    let (_, rss_before) = memory();
    let t = Instant::now();
    let report = engine
        .run(
            &admin,
            &conn.id,
            &cw,
            &SyncRequest::all().data_types(TYPES.to_vec()).full(),
            Some(&progress),
        )
        .await?;
    let time = t.elapsed();
    let (peak, rss_after) = memory();
    let requests = sim.requests()? - requests_before;
    let (max_in_flight, refused_after) = load_stats(sim)?;
    let window = cw.concurrency();
    let window = format!(
        "limit {} (started at {}), reached {}, halved {} times on 429s and {} on rising latency",
        window.limit().max,
        window.limit().start,
        window.stats().peak,
        window.stats().throttle_decreases,
        window.stats().latency_decreases
    );
    let mut stored = 0;
    for t in TYPES {
        stored += store.count_records(&conn.id, t).await?;
    }
    let per_type = report
        .per_type
        .iter()
        .map(|(t, c)| {
            (
                *t,
                format!(
                    "{} created, {} updated, {} unchanged, {} skipped",
                    thousands(c.created),
                    thousands(c.updated),
                    thousands(c.unchanged),
                    thousands(c.skipped)
                ),
            )
        })
        .collect();
    let records = report.per_type.iter().map(|(_, c)| c.total()).sum();

    // Unchanged re-sync: incremental, one type at a time to count requests.
    let t = Instant::now();
    let mut resync_requests = Vec::new();
    for data_type in TYPES {
        let before = sim.requests()?;
        engine
            .run(
                &admin,
                &conn.id,
                &cw,
                &SyncRequest::all().data_types(vec![data_type]),
                None,
            )
            .await?;
        resync_requests.push((data_type, sim.requests()? - before));
    }
    let resync_time = t.elapsed();
    Ok(SyncFigures {
        store: label.to_string(),
        time,
        records,
        stored,
        per_type,
        requests,
        rss_before,
        peak,
        rss_after,
        resync_requests,
        resync_time,
        refused: refused_after - refused_before,
        max_in_flight,
        window,
    })
}

/// Fetches every page of `path` as the connector does (id order, 1000 a
/// page) and decodes each into `Vec<T>`; returns the records read.
async fn bare_fetch<T: DeserializeOwned>(
    http: &HttpClient,
    sim: &SimProcess,
    path: &str,
    pages: u64,
) -> Result<u64, BoxError> {
    let authorization = SecretString::from(sim.get("authorization"));
    let api_base = sim.get("api_base");
    let client_id = sim.get("client_id");
    let mut records = 0;
    for page in 1..=pages {
        let url = url::Url::parse(&format!(
            "{api_base}/{path}?orderBy=id+asc&pageSize={MAX_PAGE_SIZE}&page={page}"
        ))?;
        let request = Request::new(Method::GET, url)
            .secret_header("Authorization", &authorization)
            .header("clientId", &client_id)
            .header(
                "Accept",
                "application/vnd.connectwise.com+json; version=2025.1",
            );
        let response = http.send(request).await?;
        let items: Vec<T> = serde_json::from_slice(&response.body)?;
        records += items.len() as u64;
    }
    Ok(records)
}

struct BareFigures {
    time: Duration,
    records: u64,
    requests: u64,
    peak: Option<f64>,
}

async fn bare_loop(sim: &mut SimProcess, size: Size) -> Result<BareFigures, BoxError> {
    let http = HttpClient::new(http_config())?;
    let requests_before = sim.requests()?;
    reset_peak();
    let t = Instant::now();
    let records = bare_fetch::<wire::Company>(
        &http,
        sim,
        "company/companies",
        size.pages(DataType::Companies),
    )
    .await?
        + bare_fetch::<wire::Contact>(
            &http,
            sim,
            "company/contacts",
            size.pages(DataType::Contacts),
        )
        .await?
        + bare_fetch::<wire::Opportunity>(
            &http,
            sim,
            "sales/opportunities",
            size.pages(DataType::Opportunities),
        )
        .await?;
    let time = t.elapsed();
    let (peak, _) = memory();
    Ok(BareFigures {
        time,
        records,
        requests: sim.requests()? - requests_before,
        peak,
    })
}

// ---------------------------------------------------------------------------
// Arguments and report
// ---------------------------------------------------------------------------

struct Args {
    serve: bool,
    size: Size,
    stores: Stores,
    load: Load,
    concurrency: Concurrency,
}

const USAGE: &str = "usage: bench [--companies N] [--contacts-per-company N] [--opportunities N] \
                     [--stores memory,sqlite] [--latency MS] [--jitter MS] [--concurrency N|auto]";

fn parse_args(mut flags: Flags) -> Result<Args, ArgError> {
    let mut args = Args {
        serve: false,
        size: Size {
            companies: 100_000,
            contacts_per_company: 3,
            opportunities: 50_000,
        },
        stores: Stores::default(),
        load: Load {
            latency_ms: 0,
            jitter_ms: 0,
            max_in_flight: CONCURRENCY_LIMIT.max as usize,
        },
        concurrency: Concurrency::Auto,
    };
    while let Some(flag) = flags.next_flag() {
        match flag.as_str() {
            SERVE_SIMULATOR => args.serve = true,
            "--companies" => args.size.companies = flags.number(&flag)?,
            "--contacts-per-company" => args.size.contacts_per_company = flags.number(&flag)?,
            "--opportunities" => args.size.opportunities = flags.number(&flag)?,
            "--latency" => args.load.latency_ms = flags.number(&flag)?,
            "--jitter" => args.load.jitter_ms = flags.number(&flag)?,
            "--sim-max-in-flight" => {
                args.load.max_in_flight = flags.number::<usize>(&flag)?.max(1);
            }
            "--concurrency" => args.concurrency = flags.parsed(&flag)?,
            "--stores" => args.stores = flags.stores(&flag)?,
            _ => return Err(flags.unknown(&flag)),
        }
    }
    Ok(args)
}

fn print_sync(f: &SyncFigures, size: Size, bare: &BareFigures, load: Load) {
    let delta = match (f.rss_after, f.rss_before) {
        (Some(a), Some(b)) => format!("{:+.0} MiB", a - b),
        _ => "n/a".into(),
    };
    println!("-- sync into {} ", f.store);
    println!(
        "time             {:.2?}  ({} records/s)",
        f.time,
        thousands(rate(f.records, f.time))
    );
    for (t, counts) in &f.per_type {
        println!("  {:<14} {counts}", t.as_str());
    }
    println!(
        "stored           {} records (of {} served)",
        thousands(f.stored),
        thousands(size.records())
    );
    println!(
        "requests         {} received by the simulator; {} pages needed",
        f.requests,
        size.all_pages()
    );
    println!(
        "memory           RSS {} before, peak {} during, {} after (held by the store at the end: {delta})",
        mib(f.rss_before),
        mib(f.peak),
        mib(f.rss_after)
    );
    let resync: Vec<String> = f
        .resync_requests
        .iter()
        .map(|(t, n)| format!("{} {n}", t.as_str()))
        .collect();
    println!(
        "unchanged resync {:.2?}; requests per data type: {}",
        f.resync_time,
        resync.join(", ")
    );
    let ratio = bare.time.as_secs_f64() / f.time.as_secs_f64().max(1e-9);
    println!("ratio            bare loop / sync = {ratio:.2}");
    println!(
        "concurrency      {}; the simulator saw at most {} in flight (its cap {})",
        f.window, f.max_in_flight, load.max_in_flight
    );
    println!(
        "failed requests  {} (refused with 429 by the simulator for its cap)",
        f.refused
    );
    if load.latency_ms > 0 {
        let limit = CONCURRENCY_LIMIT.max.min(load.max_in_flight as u32).max(1);
        let floor = Duration::from_millis(load.latency_ms)
            .mul_f64(size.all_pages() as f64 / f64::from(limit));
        println!(
            "latency          {} ms per request (+ up to {} ms): speed-up over the sequential bare loop {ratio:.2}; \
             pages x latency / concurrency = {} x {} ms / {limit} = {floor:.2?} (sync / that = {:.2})",
            load.latency_ms,
            load.jitter_ms,
            size.all_pages(),
            load.latency_ms,
            f.time.as_secs_f64() / floor.as_secs_f64().max(1e-9)
        );
    }
}

fn main() -> Result<(), BoxError> {
    let args = parse_args(Flags::from_env(USAGE)).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.serve {
        return runtime.block_on(serve_simulator(args.size, args.load));
    }
    runtime.block_on(bench(args))
}

async fn bench(args: Args) -> Result<(), BoxError> {
    let size = args.size;
    let build = build_kind();
    eprintln!(
        "scopelink sync benchmark: {} companies, {} contacts, {} opportunities ({build})",
        thousands(size.count(DataType::Companies)),
        thousands(size.count(DataType::Contacts)),
        thousands(size.count(DataType::Opportunities)),
    );
    let t = Instant::now();
    let mut sim = start_simulator(size, args.load)?;
    eprintln!("simulator process ready in {:.2?}", t.elapsed());
    let (_, rss_start) = memory();
    let peak_resettable = reset_peak();

    // Bare loop first, then SQLite, then the memory store: freed heap is
    // not always returned to the system, so the phase that keeps every
    // record in memory goes last and the others start from a small RSS.
    let bare = bare_loop(&mut sim, size).await?;
    let mut runs = Vec::new();
    if args.stores.sqlite {
        let (file, store) =
            SqliteFile::create(&format!("scopelink-bench-{}", std::process::id())).await?;
        let mut figures = sync_into(
            "SqliteStore (file)",
            Arc::new(store),
            &mut sim,
            args.concurrency,
        )
        .await?;
        figures.store = file.label()?;
        runs.push(figures);
    }
    if args.stores.memory {
        runs.push(
            sync_into(
                "MemoryStore",
                Arc::new(MemoryStore::new()),
                &mut sim,
                args.concurrency,
            )
            .await?,
        );
    }
    // Once more at the end, so neither side gains from running first or
    // last; the ratios use the faster of the two bare loops.
    let again = bare_loop(&mut sim, size).await?;
    let bare_times = (bare.time, again.time);
    let bare = BareFigures {
        time: bare.time.min(again.time),
        ..bare
    };

    println!();
    println!("scopelink sync benchmark ({build})");
    println!("==========================================================================");
    println!(
        "data             {} companies + {} contacts + {} opportunities = {} records, {} pages of {}",
        thousands(size.count(DataType::Companies)),
        thousands(size.count(DataType::Contacts)),
        thousands(size.count(DataType::Opportunities)),
        thousands(size.records()),
        size.all_pages(),
        MAX_PAGE_SIZE
    );
    println!("{}", process_line(rss_start, peak_resettable));
    println!(
        "-- bare loop: HttpClient GET + serde_json into the wire types, no store, one page at a time\n\
         time             {:.2?} (first) and {:.2?} (last); the faster: {} records/s, {} records, {} requests, peak RSS {}",
        bare_times.0,
        bare_times.1,
        thousands(rate(bare.records, bare.time)),
        thousands(bare.records),
        bare.requests,
        mib(bare.peak)
    );
    for run in &runs {
        print_sync(run, size, &bare, args.load);
    }
    println!("==========================================================================");
    Ok(())
}
