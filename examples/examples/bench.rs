//! Sync benchmark: ConnectWise simulator → connector → `SyncEngine` → store.
//!
//! Run with
//! `cargo run --release -p scopelink-examples --example bench -- [options]`
//!
//! Options (defaults in brackets):
//! - `--companies N` [100000], `--contacts-per-company N` [3],
//!   `--opportunities N` [50000] (in all, spread over the companies);
//! - `--stores memory,sqlite` [both]: which stores to sync into.
//!
//! The simulator runs in a child process (this same binary, started with
//! `--serve-simulator`), so every memory figure is this process's own: the
//! connector, the engine, the store, page buffers. For each store the
//! benchmark runs a full sync of companies, contacts and opportunities, then
//! an unchanged re-sync, and finally fetches the same pages with a bare loop
//! (plain `HttpClient` GETs decoded into the connector's wire types, no
//! conversion, no store) to compare the two times.

use scopelink_connectwise::fuzz::wire;
use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings, MAX_PAGE_SIZE};
use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig, Method, Request};
use scopelink_core::model::DataType;
use scopelink_core::secret::{ApiKeyPair, Credentials, InMemoryVault};
use scopelink_core::store::Store;
use scopelink_core::sync::SyncProgress;
use scopelink_core::{
    Access, Connections, FeatureCategory, MemoryStore, NewConnection, Provider, SyncEngine,
    SyncRequest,
};
use scopelink_store_sqlite::SqliteStore;
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
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
// Memory and formatting
// ---------------------------------------------------------------------------

/// `VmHWM` (peak) and `VmRSS` (current) of this process in MiB (Linux).
fn memory() -> (Option<f64>, Option<f64>) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Resets the peak-RSS mark to the current RSS (Linux `clear_refs` 5), so
/// each phase's peak is its own. Returns whether it could.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |m| format!("{m:.0} MiB"))
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(n: u64, d: Duration) -> u64 {
    (n as f64 / d.as_secs_f64().max(1e-9)) as u64
}

// ---------------------------------------------------------------------------
// The simulator in a child process
// ---------------------------------------------------------------------------

/// Child mode: serves the simulator and answers `requests` (how many it
/// has received) on stdin until stdin closes.
async fn serve_simulator(size: Size) -> Result<(), BoxError> {
    let sim = ConnectWiseSim::start(
        ConnectWiseSimConfig::new(size.companies, size.contacts_per_company)
            .with_opportunities_total(size.opportunities)
            .with_configurations_per_company(0)
            .with_catalog_items(0),
    )
    .await;
    println!(
        "{}",
        serde_json::json!({
            "server_url": sim.server_url(),
            "api_base": sim.api_base(),
            "client_id": sim.client_id(),
            "company_id": sim.company_id(),
            "public_key": sim.public_key(),
            "private_key": sim.private_key(),
            "authorization": sim.authorization(),
        })
    );
    std::io::stdout().flush()?;
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        match line?.trim() {
            "requests" => println!("{}", sim.request_count()),
            other => println!("error: unknown command `{other}`"),
        }
        std::io::stdout().flush()?;
    }
    Ok(())
}

/// The parent's handle on the simulator process.
struct SimProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    info: serde_json::Value,
}

impl SimProcess {
    fn start(size: Size) -> Result<Self, BoxError> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "--serve-simulator",
                "--companies",
                &size.companies.to_string(),
                "--contacts-per-company",
                &size.contacts_per_company.to_string(),
                "--opportunities",
                &size.opportunities.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or("no stdin on the simulator process")?;
        let mut stdout = BufReader::new(
            child
                .stdout
                .take()
                .ok_or("no stdout on the simulator process")?,
        );
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let info = serde_json::from_str(&line)
            .map_err(|e| format!("the simulator process did not start ({e}): {line}"))?;
        Ok(Self {
            child,
            stdin,
            stdout,
            info,
        })
    }

    fn get(&self, key: &str) -> String {
        self.info[key].as_str().unwrap_or_default().to_string()
    }

    /// Requests the simulator has received so far.
    fn requests(&mut self) -> Result<u64, BoxError> {
        writeln!(self.stdin, "requests")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        Ok(line.trim().parse()?)
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
        .with_page_size(MAX_PAGE_SIZE);
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
    memory: bool,
    sqlite: bool,
}

fn parse_args() -> Result<Args, String> {
    let usage = "usage: bench [--companies N] [--contacts-per-company N] [--opportunities N] \
                 [--stores memory,sqlite]";
    let mut args = Args {
        serve: false,
        size: Size {
            companies: 100_000,
            contacts_per_company: 3,
            opportunities: 50_000,
        },
        memory: true,
        sqlite: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--serve-simulator" {
            args.serve = true;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| format!("`{flag}` needs a value; {usage}"))?;
        let number = || -> Result<usize, String> {
            value
                .replace('_', "")
                .parse()
                .map_err(|_| format!("`{flag} {value}` is not a number; {usage}"))
        };
        match flag.as_str() {
            "--companies" => args.size.companies = number()?,
            "--contacts-per-company" => args.size.contacts_per_company = number()?,
            "--opportunities" => args.size.opportunities = number()?,
            "--stores" => {
                let stores: Vec<&str> = value.split(',').map(str::trim).collect();
                if stores.iter().any(|s| *s != "memory" && *s != "sqlite") {
                    return Err(format!("unknown store in `{value}`; {usage}"));
                }
                args.memory = stores.contains(&"memory");
                args.sqlite = stores.contains(&"sqlite");
            }
            _ => return Err(format!("unknown option `{flag}`; {usage}")),
        }
    }
    Ok(args)
}

fn print_sync(f: &SyncFigures, size: Size, bare: &BareFigures) {
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
}

fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
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
    let build = if cfg!(debug_assertions) {
        "debug build: figures are not representative, use --release"
    } else {
        "release build"
    };
    eprintln!(
        "scopelink sync benchmark: {} companies, {} contacts, {} opportunities ({build})",
        thousands(size.count(DataType::Companies)),
        thousands(size.count(DataType::Contacts)),
        thousands(size.count(DataType::Opportunities)),
    );
    let t = Instant::now();
    let mut sim = SimProcess::start(size)?;
    eprintln!("simulator process ready in {:.2?}", t.elapsed());
    let (_, rss_start) = memory();
    let peak_resettable = reset_peak();

    // Bare loop first, then SQLite, then the memory store: freed heap is
    // not always returned to the system, so the phase that keeps every
    // record in memory goes last and the others start from a small RSS.
    let bare = bare_loop(&mut sim, size).await?;
    let mut runs = Vec::new();
    let db_dir = std::env::temp_dir().join(format!("scopelink-bench-{}", std::process::id()));
    if args.sqlite {
        std::fs::create_dir_all(&db_dir)?;
        let store = SqliteStore::open(db_dir.join("bench.sqlite3")).await?;
        let result = sync_into("SqliteStore (file)", Arc::new(store), &mut sim).await;
        let size_on_disk = std::fs::read_dir(&db_dir)?
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum::<u64>();
        let _ = std::fs::remove_dir_all(&db_dir);
        let mut figures = result?;
        figures.store = format!(
            "SqliteStore (a file; {:.0} MiB on disk)",
            size_on_disk as f64 / 1_048_576.0
        );
        runs.push(figures);
    }
    if args.memory {
        runs.push(sync_into("MemoryStore", Arc::new(MemoryStore::new()), &mut sim).await?);
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
    println!(
        "process          RSS {} before any sync; the simulator runs in a child process{}",
        mib(rss_start),
        if peak_resettable {
            ""
        } else {
            " (peak RSS could not be reset between phases: peaks are cumulative)"
        }
    );
    println!(
        "-- bare loop: HttpClient GET + serde_json into the wire types, no store\n\
         time             {:.2?} (first) and {:.2?} (last); the faster: {} records/s, {} records, {} requests, peak RSS {}",
        bare_times.0,
        bare_times.1,
        thousands(rate(bare.records, bare.time)),
        thousands(bare.records),
        bare.requests,
        mib(bare.peak)
    );
    for run in &runs {
        print_sync(run, size, &bare);
    }
    println!("==========================================================================");
    Ok(())
}
