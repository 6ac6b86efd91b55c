//! Sync throughput against the ConnectWise simulator.
//!
//! Run with
//! `cargo run --release -p scopelink-examples --example connectwise_bench -- [companies] [contacts_per_company]`
//! (defaults 100000 and 3).
//!
//! It syncs companies and contacts from the simulator through the real
//! connector and the `SyncEngine` into a `MemoryStore`, then fetches the
//! same pages with a bare loop (plain `HttpClient` GETs parsed with
//! serde_json, no conversion, no store) and compares the two times. The
//! simulator runs in this process: its data and the time it spends
//! rendering pages count in both loops, and in the process's memory.

use scopelink_connectwise::wire;
use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings, MAX_PAGE_SIZE};
use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig, Method, Request};
use scopelink_core::model::DataType;
use scopelink_core::secret::{ConnectWiseKeys, Credentials, InMemoryVault};
use scopelink_core::store::RecordStore;
use scopelink_core::sync::SyncProgress;
use scopelink_core::{
    Access, Connections, FeatureCategory, MemoryStore, NewConnection, Provider, SyncEngine,
    SyncRequest,
};
use scopelink_testkit::connectwise::{ConnectWiseSim, SimConfig};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `VmHWM` (peak) and `VmRSS` (current) of this process, in MiB (Linux).
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

fn arg(n: usize, default: usize) -> Result<usize, String> {
    match std::env::args().nth(n) {
        None => Ok(default),
        Some(a) => a.replace('_', "").parse().map_err(|_| {
            format!("usage: connectwise_bench [companies] [contacts_per_company] (got `{a}`)")
        }),
    }
}

/// Fetches every page of `path` like the connector does (id order, 1000 a
/// page) and parses each into `Vec<T>`; returns the records read.
async fn bare_fetch<T: DeserializeOwned>(
    http: &HttpClient,
    sim: &ConnectWiseSim,
    authorization: &SecretString,
    path: &str,
    pages: u64,
) -> Result<u64, Box<dyn std::error::Error>> {
    let mut records = 0;
    for page in 1..=pages {
        let url = url::Url::parse(&format!(
            "{}/{path}?orderBy=id+asc&pageSize={MAX_PAGE_SIZE}&page={page}",
            sim.api_base()
        ))?;
        let request = Request::new(Method::GET, url)
            .secret_header("Authorization", authorization)
            .header("clientId", sim.client_id())
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let companies = arg(1, 100_000)?;
    let per_company = arg(2, 3)?;
    let contacts = companies * per_company;
    let total = (companies + contacts) as u64;
    let page_size = u64::from(MAX_PAGE_SIZE);
    let pages = |n: usize| (n as u64).div_ceil(page_size);
    let pages_needed = pages(companies) + pages(contacts);
    let build = if cfg!(debug_assertions) {
        "debug build: numbers are not representative, use --release"
    } else {
        "release build"
    };
    eprintln!(
        "ConnectWise sync benchmark: {} companies x {per_company} contacts ({build})",
        thousands(companies as u64)
    );

    let (_, rss_start) = memory();
    let t = Instant::now();
    let sim = ConnectWiseSim::start(SimConfig {
        opportunities_per_company: 0,
        configurations_per_company: 0,
        catalog_items: 0,
        ..SimConfig::new(companies, per_company)
    })
    .await;
    let generated = t.elapsed();
    let (_, rss_sim) = memory();

    let store = Arc::new(MemoryStore::new());
    let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
    let admin = Access::full();
    let settings = ConnectWiseSettings {
        server_url: sim.server_url().to_string(),
        client_id: sim.client_id().to_string(),
        api_version: None,
        board_id: None,
        billing_method: None,
    };
    let keys = ConnectWiseKeys::new(sim.company_id(), sim.public_key(), sim.private_key());
    let conn = connections
        .create(
            &admin,
            NewConnection {
                provider: Provider::ConnectWiseManage,
                name: "ConnectWise (benchmark)".into(),
                categories: [FeatureCategory::Crm].into(),
                credentials: Credentials::ConnectWise(keys.clone()),
                settings: settings.to_map(),
            },
        )
        .await?;
    let http_config = HttpConfig {
        addresses: AddressPolicy::allow_local(),
        timeout: Duration::from_secs(120),
        ..HttpConfig::default()
    };
    let cw = ConnectWiseConnector::connect(settings, keys, http_config.clone())
        .await?
        .with_page_size(MAX_PAGE_SIZE);
    let engine = SyncEngine::new(connections.clone());

    // The sync.
    sim.clear_requests();
    let sent_before = cw.http().requests_sent();
    let server_before = sim.server_time();
    let (hwm_before, rss_before) = memory();
    let live = std::io::stderr().is_terminal();
    let progress = |p: &SyncProgress| {
        if live || p.finished {
            eprint!(
                "{}  synced {:<10} pages {:>4}  records {:>8}",
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
    let t = Instant::now();
    let report = engine
        .run(
            &admin,
            &conn.id,
            &cw,
            &SyncRequest {
                data_types: vec![DataType::Companies, DataType::Contacts],
                full: true,
                ..SyncRequest::default()
            },
            Some(&progress),
        )
        .await?;
    let sync_time = t.elapsed();
    let sync_server = sim.server_time() - server_before;
    let (hwm_after, rss_after) = memory();
    let sim_requests = sim.request_count() as u64;
    let connector_requests = cw.http().requests_sent() - sent_before;
    let stored_companies = store.count_records(&conn.id, DataType::Companies).await?;
    let stored_contacts = store.count_records(&conn.id, DataType::Contacts).await?;
    let seen: u64 = report.per_type.iter().map(|(_, c)| c.total()).sum();

    // The bare loop over the same pages.
    let http = HttpClient::new(http_config)?;
    let authorization = SecretString::from(sim.authorization());
    let server_before = sim.server_time();
    let t = Instant::now();
    let bare_records = bare_fetch::<wire::Company>(
        &http,
        &sim,
        &authorization,
        "company/companies",
        pages(companies),
    )
    .await?
        + bare_fetch::<wire::Contact>(
            &http,
            &sim,
            &authorization,
            "company/contacts",
            pages(contacts),
        )
        .await?;
    let bare_typed = t.elapsed();
    let bare_server = sim.server_time() - server_before;
    let t = Instant::now();
    let bare_value_records = bare_fetch::<serde_json::Value>(
        &http,
        &sim,
        &authorization,
        "company/companies",
        pages(companies),
    )
    .await?
        + bare_fetch::<serde_json::Value>(
            &http,
            &sim,
            &authorization,
            "company/contacts",
            pages(contacts),
        )
        .await?;
    let bare_value = t.elapsed();
    let (hwm_end, _) = memory();

    let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    let delta = match (hwm_after, rss_before) {
        (Some(a), Some(b)) => format!("{:+.0} MiB", a - b),
        _ => "n/a".into(),
    };
    println!();
    println!("ConnectWise sync benchmark ({build})");
    println!("==========================================================================");
    println!(
        "data             {} companies + {} contacts = {} records",
        thousands(companies as u64),
        thousands(contacts as u64),
        thousands(total)
    );
    println!(
        "simulator        generated in {:.2?}; RSS {} at start, {} with the simulator's data",
        generated,
        mib(rss_start),
        mib(rss_sim)
    );
    println!("-- sync: connector + SyncEngine + MemoryStore --------------------------");
    println!(
        "time             {:.2?} (of which the simulator answering: {:.2?})",
        sync_time, sync_server
    );
    println!(
        "throughput       {} records/s",
        thousands(rate(seen, sync_time) as u64)
    );
    for (t, c) in &report.per_type {
        println!(
            "  {:<14} {} created, {} updated, {} unchanged, {} skipped",
            t.as_str(),
            c.created,
            c.updated,
            c.unchanged,
            c.skipped
        );
    }
    println!(
        "stored           {} companies, {} contacts",
        thousands(stored_companies),
        thousands(stored_contacts)
    );
    println!(
        "requests         {sim_requests} received by the simulator ({connector_requests} sent by the connector), {pages_needed} pages needed ({} + {} at {page_size} a page)",
        pages(companies),
        pages(contacts)
    );
    println!(
        "memory           RSS before the sync {}, peak (VmHWM) after it {}: {delta} for the sync",
        mib(rss_before),
        mib(hwm_after)
    );
    println!(
        "                 (peak before the sync {}, RSS after it {})",
        mib(hwm_before),
        mib(rss_after)
    );
    println!("-- bare loop: HttpClient GET + serde_json, same pages, no store ---------");
    println!(
        "into wire types  {:.2?} ({} records/s, {} records; simulator {:.2?})",
        bare_typed,
        thousands(rate(bare_records, bare_typed) as u64),
        thousands(bare_records),
        bare_server
    );
    println!(
        "into Value       {:.2?} ({} records/s, {} records)",
        bare_value,
        thousands(rate(bare_value_records, bare_value) as u64),
        thousands(bare_value_records)
    );
    let ratio = bare_typed.as_secs_f64() / sync_time.as_secs_f64().max(1e-9);
    println!(
        "ratio            bare / sync = {ratio:.2} (target >= 0.90: {})",
        if ratio >= 0.9 { "met" } else { "NOT met" }
    );
    println!(
        "                 bare (Value) / sync = {:.2}",
        bare_value.as_secs_f64() / sync_time.as_secs_f64().max(1e-9)
    );
    println!("-- notes ----------------------------------------------------------------");
    println!("The simulator runs in this process, on its own thread: its data is part of");
    println!("every RSS figure (see \"with the simulator's data\"), and the time it spends");
    println!("rendering each page is part of both the sync and the bare loop. The memory");
    println!("delta of the sync is mostly the MemoryStore holding every synced record (it");
    println!("grows with the record count), plus page buffers in flight. Peak RSS at the");
    println!("end of the run: {}.", mib(hwm_end));
    println!("==========================================================================");
    Ok(())
}
