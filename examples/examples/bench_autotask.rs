//! Sync benchmark for Autotask: Autotask simulator → connector →
//! `SyncEngine` → store.
//!
//! Run with
//! `cargo run --release -p scopelink-examples --example bench_autotask -- [options]`
//!
//! Options (defaults in brackets):
//! - `--companies N` [100000], `--contacts-per-company N` [3];
//! - `--stores memory,sqlite` [both]: which stores to sync into;
//! - `--runs N` [1]: how many times to repeat the whole measurement.
//!
//! The simulator runs in a child process (this same binary, started with
//! `--serve-simulator`), so every memory figure is this process's own: the
//! connector, the engine, the store, page buffers. The simulator's latency
//! is zero and its hourly request threshold is raised out of the way, so
//! the figures are the SDK's; the connector keeps its own client-side
//! budget (5,000 requests an hour per connector; a full read here takes
//! far fewer). For each store a full sync of companies and contacts runs
//! (`POST {Entity}/query`, 500 records a page, following
//! `pageDetails.nextPageUrl`), and a bare loop fetches the same pages
//! through the connector's own `HttpClient` (the same body, the same
//! headers, each page decoded into the connector's wire types, nothing
//! converted or stored) before the first and after the last sync, the
//! faster of the two being compared with the syncs.

use scopelink_autotask::fuzz::{self, wire};
use scopelink_autotask::{AutotaskConnector, AutotaskSettings, MAX_RECORDS};
use scopelink_core::http::{AddressPolicy, HttpConfig, Method, Request};
use scopelink_core::model::DataType;
use scopelink_core::secret::{ApiUserSecret, Credentials, InMemoryVault};
use scopelink_core::store::Store;
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
use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error>;

const TYPES: [DataType; 2] = [DataType::Companies, DataType::Contacts];

/// What the benchmark syncs.
#[derive(Debug, Clone, Copy)]
struct Size {
    companies: usize,
    contacts_per_company: usize,
}

impl Size {
    fn count(&self, t: DataType) -> u64 {
        match t {
            DataType::Companies => self.companies as u64,
            _ => (self.companies * self.contacts_per_company) as u64,
        }
    }
    /// Pages a full read of `t` needs (an empty list still takes one).
    fn pages(&self, t: DataType) -> u64 {
        self.count(t).div_ceil(u64::from(MAX_RECORDS)).max(1)
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

/// Child mode: serves the simulator and answers `requests` (how many it
/// has received) on stdin until stdin closes.
async fn serve_simulator(size: Size) -> Result<(), BoxError> {
    let sim = AutotaskSim::start(AutotaskSimConfig {
        companies: size.companies,
        contacts_per_company: size.contacts_per_company,
        opportunities: 0,
        configuration_items: 0,
        products: 0,
        // Out of the way: the benchmark measures the SDK, not the quota.
        thresholds: 100_000_000,
        ..AutotaskSimConfig::default()
    })
    .await;
    let config = sim.config();
    let info = serde_json::json!({
        "zone_url": sim.zone_url(),
        "username": config.username,
        "secret": config.secret,
        "integration_code": config.integration_code,
    });
    serve(&info, |command| match command {
        "requests" => Some(sim.request_count().to_string()),
        _ => None,
    })?;
    Ok(())
}

/// Starts the simulator process for `size`.
fn start_simulator(size: Size) -> Result<SimProcess, SimProcessError> {
    SimProcess::start([
        "--companies".to_string(),
        size.companies.to_string(),
        "--contacts-per-company".to_string(),
        size.contacts_per_company.to_string(),
    ])
}

/// The simulator's API user.
fn credentials(sim: &SimProcess) -> ApiUserSecret {
    ApiUserSecret::new(
        &sim.get("username"),
        &sim.get("secret"),
        &sim.get("integration_code"),
    )
}

/// A connector on the simulator's zone (no zone discovery call).
fn connector(sim: &SimProcess) -> Result<AutotaskConnector, BoxError> {
    Ok(AutotaskConnector::with_zone_url(
        &sim.get("zone_url"),
        AutotaskSettings::default(),
        credentials(sim),
        HttpConfig::default()
            .with_addresses(AddressPolicy::allow_local())
            .with_timeout(Duration::from_secs(120)),
    )?)
}

// ---------------------------------------------------------------------------
// The runs
// ---------------------------------------------------------------------------

struct SyncFigures {
    store: String,
    time: Duration,
    records: u64,
    stored: u64,
    requests: u64,
    peak: Option<f64>,
}

async fn sync_into(
    label: &'static str,
    store: Arc<dyn Store>,
    sim: &mut SimProcess,
) -> Result<SyncFigures, BoxError> {
    let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
    let admin = Access::full();
    let at = connector(sim)?;
    let conn = connections
        .create(
            &admin,
            NewConnection::new(
                Provider::Autotask,
                format!("Autotask (benchmark, {label})"),
                Credentials::ApiUserSecret(credentials(sim)),
            )
            .categories([FeatureCategory::Crm])
            .settings(at.settings().to_map()),
        )
        .await?;
    let engine = SyncEngine::new(connections.clone());
    let requests_before = sim.requests()?;
    reset_peak();
    let t = Instant::now();
    let report = engine
        .run(
            &admin,
            &conn.id,
            &at,
            &SyncRequest::all().data_types(TYPES.to_vec()).full(),
            None,
        )
        .await?;
    let time = t.elapsed();
    let (peak, _) = memory();
    let requests = sim.requests()? - requests_before;
    let mut stored = 0;
    for t in TYPES {
        stored += store.count_records(&conn.id, t).await?;
    }
    Ok(SyncFigures {
        store: label.to_string(),
        time,
        records: report.per_type.iter().map(|(_, c)| c.total()).sum(),
        stored,
        requests,
        peak,
    })
}

/// Reads every page of `data_type` as the connector does (`POST
/// {Entity}/query` asking for the connector's own `IncludeFields`, then
/// each `nextPageUrl` with the same body) and decodes each record into `T`;
/// returns the records and pages read.
async fn bare_fetch<T: DeserializeOwned>(
    at: &AutotaskConnector,
    sim: &SimProcess,
    data_type: DataType,
) -> Result<(u64, u64), BoxError> {
    let (entity, fields) =
        fuzz::entity(data_type).ok_or_else(|| format!("Autotask does not sync {data_type}"))?;
    let secret = SecretString::from(sim.get("secret"));
    let code = SecretString::from(sim.get("integration_code"));
    let username = sim.get("username");
    let body = serde_json::json!({
        "MaxRecords": MAX_RECORDS,
        "IncludeFields": fields,
        "Filter": [{ "op": "gte", "field": "id", "value": 0 }],
    });
    let mut url = at.api_base().join(&format!("{entity}/query"))?;
    let (mut records, mut pages) = (0, 0);
    loop {
        let request = Request::new(Method::POST, url)
            .header("UserName", &username)
            .secret_header("Secret", &secret)
            .secret_header("ApiIntegrationCode", &code)
            .header("Accept", "application/json")
            .json(&body);
        let response = at.http().send(request).await?;
        let page: wire::QueryPage<'_> = serde_json::from_slice(&response.body)?;
        pages += 1;
        for item in &page.items {
            let _: T = serde_json::from_str(item.get())?;
            records += 1;
        }
        match page.page_details.and_then(|d| d.next_page_url) {
            Some(next) if !page.items.is_empty() => url = url::Url::parse(&next)?,
            _ => break,
        }
    }
    Ok((records, pages))
}

struct BareFigures {
    time: Duration,
    records: u64,
    pages: u64,
    requests: u64,
    peak: Option<f64>,
}

async fn bare_loop(sim: &mut SimProcess) -> Result<BareFigures, BoxError> {
    let at = connector(sim)?;
    let requests_before = sim.requests()?;
    reset_peak();
    let t = Instant::now();
    let (companies, company_pages) =
        bare_fetch::<wire::Company>(&at, sim, DataType::Companies).await?;
    let (contacts, contact_pages) =
        bare_fetch::<wire::Contact>(&at, sim, DataType::Contacts).await?;
    let time = t.elapsed();
    let (peak, _) = memory();
    Ok(BareFigures {
        time,
        records: companies + contacts,
        pages: company_pages + contact_pages,
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
    runs: usize,
}

const USAGE: &str = "usage: bench_autotask [--companies N] [--contacts-per-company N] \
                     [--stores memory,sqlite] [--runs N]";

fn parse_args(mut flags: Flags) -> Result<Args, ArgError> {
    let mut args = Args {
        serve: false,
        size: Size {
            companies: 100_000,
            contacts_per_company: 3,
        },
        stores: Stores::default(),
        runs: 1,
    };
    while let Some(flag) = flags.next_flag() {
        match flag.as_str() {
            SERVE_SIMULATOR => args.serve = true,
            "--companies" => args.size.companies = flags.number(&flag)?,
            "--contacts-per-company" => args.size.contacts_per_company = flags.number(&flag)?,
            "--runs" => args.runs = flags.number::<usize>(&flag)?.max(1),
            "--stores" => args.stores = flags.stores(&flag)?,
            _ => return Err(flags.unknown(&flag)),
        }
    }
    Ok(args)
}

fn print_sync(f: &SyncFigures, size: Size, bare: &BareFigures) {
    let ratio = bare.time.as_secs_f64() / f.time.as_secs_f64().max(1e-9);
    println!("-- sync into {}", f.store);
    println!(
        "time             {:.2?}  ({} records/s); {} records synced, {} stored (of {} served)",
        f.time,
        thousands(rate(f.records, f.time)),
        thousands(f.records),
        thousands(f.stored),
        thousands(size.records())
    );
    println!(
        "requests         {} received by the simulator; {} pages needed (the rest: picklists)",
        f.requests,
        size.all_pages()
    );
    println!("memory           peak RSS {} during the sync", mib(f.peak));
    println!("ratio            bare loop / sync = {ratio:.2}");
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
        return runtime.block_on(serve_simulator(args.size));
    }
    runtime.block_on(bench(args))
}

async fn bench(args: Args) -> Result<(), BoxError> {
    let size = args.size;
    let build = build_kind();
    eprintln!(
        "scopelink Autotask sync benchmark: {} companies, {} contacts ({build})",
        thousands(size.count(DataType::Companies)),
        thousands(size.count(DataType::Contacts)),
    );
    let t = Instant::now();
    let mut sim = start_simulator(size)?;
    eprintln!("simulator process ready in {:.2?}", t.elapsed());
    let (_, rss_start) = memory();
    let peak_resettable = reset_peak();

    println!();
    println!("scopelink Autotask sync benchmark ({build})");
    println!("==========================================================================");
    println!(
        "data             {} companies + {} contacts = {} records, {} pages of {}",
        thousands(size.count(DataType::Companies)),
        thousands(size.count(DataType::Contacts)),
        thousands(size.records()),
        size.all_pages(),
        MAX_RECORDS
    );
    println!("{}", process_line(rss_start, peak_resettable));
    for run in 1..=args.runs {
        // Bare loop first, then SQLite, then the memory store (whose
        // contents stay in the heap), then the bare loop again.
        let first = bare_loop(&mut sim).await?;
        let mut runs = Vec::new();
        if args.stores.sqlite {
            let (file, store) = SqliteFile::create(&format!(
                "scopelink-bench-autotask-{}-{run}",
                std::process::id()
            ))
            .await?;
            let mut figures = sync_into("SqliteStore (file)", Arc::new(store), &mut sim).await?;
            figures.store = file.label()?;
            runs.push(figures);
        }
        if args.stores.memory {
            runs.push(sync_into("MemoryStore", Arc::new(MemoryStore::new()), &mut sim).await?);
        }
        let last = bare_loop(&mut sim).await?;
        let bare = if last.time < first.time { last } else { first };
        if args.runs > 1 {
            println!("== run {run} of {}", args.runs);
        }
        println!(
            "-- bare loop: the connector's HttpClient, POST query + nextPageUrl, serde_json into the wire types, no store\n\
             time             {:.2?} (the faster of two loops): {} records/s, {} records, {} pages, {} requests, peak RSS {}",
            bare.time,
            thousands(rate(bare.records, bare.time)),
            thousands(bare.records),
            bare.pages,
            bare.requests,
            mib(bare.peak)
        );
        for f in &runs {
            print_sync(f, size, &bare);
        }
    }
    println!("==========================================================================");
    Ok(())
}
