//! Quickstart: scopelink end to end, offline, in seconds.
//!
//! Run with `cargo run -p scopelink-examples --example quickstart`.
//!
//! It starts a ConnectWise Manage simulator and a HaloPSA simulator on
//! loopback, keeps everything in a SQLite file (records, sync state, links,
//! activity, and the credentials encrypted in the SQLite vault), creates a
//! connection to each provider, tests them, syncs both into the file with a
//! live progress bar (created / updated / skipped), runs an unchanged
//! re-sync, pushes a sample scoping project to HaloPSA, and prints a summary
//! table. Pass a path to keep the database: `-- ./scopelink.db`.
//!
//! The connectors come from a registry with the ConnectWise and HaloPSA
//! providers linked: it creates each connection (settings checked before
//! anything is stored) and turns it into its live connection, whose
//! capability handles (CRM, PSA) sync, preview and push. Only the request
//! counts come from the concrete connectors, which the live connections
//! hand back (`LiveConnection::extension`).
//!
//! On a terminal, progress is drawn as live bars on stderr; when stderr is
//! not a terminal (piped, CI logs) the bars would be hidden, so plain
//! progress lines are printed instead.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseProvider, ConnectWiseSettings};
use scopelink_core::connector::LookupItem;
use scopelink_core::filter::SyncFilter;
use scopelink_core::http::{AddressPolicy, HttpConfig};
use scopelink_core::mapping::{sample_project, PushOptions, TaskMode};
use scopelink_core::push::PushProgress;
use scopelink_core::secret::{ApiKeyPair, ClientCredentials, Credentials};
use scopelink_core::store::RecordStore;
use scopelink_core::sync::{SyncProgress, SyncReport};
use scopelink_core::{
    Access, ConnectionId, Connections, DataType, FeatureCategory, NewConnection, Provider,
    Registry, SyncRequest,
};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaProvider, HaloPsaSettings};
use scopelink_store_sqlite::{SqliteStore, VaultKey};
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Simulators run on plain http on loopback, which the default policy refuses.
fn local_http() -> HttpConfig {
    HttpConfig::default().with_addresses(AddressPolicy::allow_local())
}

/// A plain progress line is printed every this many pages when stderr is
/// not a terminal.
const PAGES_PER_LINE: u64 = 10;

/// One progress bar per data type, updated after every page; or, when
/// stderr is not a terminal, plain lines on stdout.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<DataType, ProgressBar>>,
    label: &'static str,
    live: bool,
}

impl Bars {
    fn new(multi: &MultiProgress, label: &'static str, live: bool) -> Self {
        Self {
            multi: multi.clone(),
            bars: Mutex::new(HashMap::new()),
            label,
            live,
        }
    }

    fn update(&self, p: &SyncProgress) {
        if !self.live {
            if p.finished || p.pages % PAGES_PER_LINE == 0 {
                let c = &p.counts;
                println!(
                    "  {:<11} {:<15} page {:>3}  created {:>5}  updated {:>4}  unchanged {:>5}  skipped {:>3}{}",
                    self.label,
                    p.data_type.as_str(),
                    p.pages,
                    c.created,
                    c.updated,
                    c.unchanged,
                    c.skipped,
                    if p.finished { "  done" } else { "" }
                );
            }
            return;
        }
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = bars.entry(p.data_type).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner:.green} {prefix:<28} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(format!("{} {}", self.label, p.data_type));
            bar.enable_steady_tick(Duration::from_millis(80));
            bar
        });
        let c = &p.counts;
        bar.set_message(format!(
            "page {:>3}  created {:>5}  updated {:>4}  unchanged {:>5}  skipped {:>3}",
            p.pages, c.created, c.updated, c.unchanged, c.skipped
        ));
        if p.finished {
            bar.finish();
        }
    }
}

fn pick(items: &[LookupItem], name: &str) -> Option<String> {
    items
        .iter()
        .find(|i| i.name == name)
        .or_else(|| items.first())
        .map(|i| i.id.clone())
}

struct Row {
    connection: String,
    step: String,
    data_type: String,
    created: u64,
    updated: u64,
    unchanged: u64,
    skipped: u64,
}

fn rows(connection: &str, step: &str, report: &SyncReport) -> Vec<Row> {
    report
        .per_type
        .iter()
        .map(|(t, c)| Row {
            connection: connection.to_string(),
            step: step.to_string(),
            data_type: t.to_string(),
            created: c.created,
            updated: c.updated,
            unchanged: c.unchanged,
            skipped: c.skipped,
        })
        .collect()
}

async fn stored(store: &SqliteStore, id: &ConnectionId) -> Result<String, scopelink_core::Error> {
    let mut parts = Vec::new();
    for t in DataType::SYNC_ORDER {
        let n = store.count_records(id, t).await?;
        if n > 0 {
            parts.push(format!("{n} {t}"));
        }
    }
    Ok(parts.join(", "))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let db_path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("scopelink-quickstart-{}.db", std::process::id()))
        });
    let keep_db = std::env::args().nth(1).is_some();

    // Providers: two simulators on loopback.
    let cw_sim = ConnectWiseSim::start(
        ConnectWiseSimConfig::new(2_000, 3)
            .with_orphan_contacts(25)
            .with_opportunities_per_company(1)
            .with_catalog_items(40),
    )
    .await;
    let halo_sim = HaloPsaSim::start(HaloPsaSimConfig::default().with_generated_clients(150)).await;
    println!("ConnectWise simulator on {}", cw_sim.server_url());
    println!("HaloPSA simulator on     {}", halo_sim.uri());

    // The host's side: one SQLite file holds the store and the encrypted
    // vault; the registry links both providers.
    let store = Arc::new(SqliteStore::open(&db_path).await?);
    let vault = Arc::new(store.vault(VaultKey::generate()));
    let connections = Connections::new(store.clone(), vault);
    let registry = Registry::new(connections)
        .with_http(local_http())
        .with_provider(ConnectWiseProvider)
        .with_provider(HaloPsaProvider);
    let engine = registry.sync_engine();
    let admin = Access::full();
    println!("store: {}\n", db_path.display());

    // ConnectWise Manage: CRM, PSA and Products.
    let cw_settings = ConnectWiseSettings::new(
        cw_sim.server_url().to_string(),
        cw_sim.client_id().to_string(),
    )
    .board_id("31");
    let cw_conn = registry
        .create(
            &admin,
            NewConnection::new(
                Provider::ConnectWiseManage,
                "ConnectWise (simulator)",
                Credentials::ApiKeyPair(ApiKeyPair::new(
                    cw_sim.company_id(),
                    cw_sim.public_key(),
                    cw_sim.private_key(),
                )),
            )
            .categories([
                FeatureCategory::Crm,
                FeatureCategory::Psa,
                FeatureCategory::Products,
            ])
            .settings(cw_settings.to_map()),
        )
        .await?;
    // Connecting discovers the API base and stores it on the connection;
    // the test uses the live connector, so its requests are counted below.
    let cw_live = registry.connect(&admin, &cw_conn.id).await?;
    let cw_conn = registry
        .connections()
        .test(&admin, &cw_conn.id, cw_live.connector())
        .await?;
    println!("{}: {}", cw_conn.name, cw_conn.status);
    let cw_crm = cw_live.crm().ok_or("the connection enables CRM")?;
    let cw_connector = cw_live
        .extension::<ConnectWiseConnector>()
        .ok_or("the ConnectWise provider attaches its connector")?;

    // HaloPSA: CRM and PSA.
    let halo_settings = HaloPsaSettings::new(halo_sim.uri())
        .project_ticket_type_id("3")
        .task_ticket_type_id("26");
    let halo_conn = registry
        .create(
            &admin,
            NewConnection::new(
                Provider::HaloPsa,
                "HaloPSA (simulator)",
                Credentials::ClientCredentials(ClientCredentials::new("sim-client", "sim-secret")),
            )
            .categories([FeatureCategory::Crm, FeatureCategory::Psa])
            .settings(halo_settings.to_map()),
        )
        .await?;
    let halo_live = registry.connect(&admin, &halo_conn.id).await?;
    let halo_conn = registry
        .connections()
        .test(&admin, &halo_conn.id, halo_live.connector())
        .await?;
    println!("{}: {}", halo_conn.name, halo_conn.status);
    let halo_crm = halo_live.crm().ok_or("the connection enables CRM")?;
    let halo_psa = halo_live.psa().ok_or("the connection enables PSA")?;
    let halo_connector = halo_live
        .extension::<HaloPsaConnector>()
        .ok_or("the HaloPSA provider attaches its connector")?;

    let preview = cw_crm.preview(&SyncFilter::default()).await?;
    println!(
        "\nsyncing ({} ConnectWise companies match the empty filter):",
        preview.companies
    );
    let live = std::io::stderr().is_terminal();
    if !live {
        println!(
            "(stderr is not a terminal: progress is printed as lines, every {PAGES_PER_LINE} pages and when a data type is done)"
        );
    }
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let full = SyncRequest::all().full();
    let mut table = Vec::new();

    let cw_bars = Bars::new(&multi, "ConnectWise", live);
    let report = engine
        .run(
            &admin,
            &cw_conn.id,
            cw_crm,
            &full,
            Some(&|p| cw_bars.update(p)),
        )
        .await?;
    table.extend(rows(&cw_conn.name, "full sync", &report));
    let halo_bars = Bars::new(&multi, "HaloPSA", live);
    let report = engine
        .run(
            &admin,
            &halo_conn.id,
            halo_crm,
            &full,
            Some(&|p| halo_bars.update(p)),
        )
        .await?;
    table.extend(rows(&halo_conn.name, "full sync", &report));

    // Nothing changed at the provider: an incremental run comes back unchanged.
    let before = cw_sim.request_count();
    let report = engine
        .run(&admin, &cw_conn.id, cw_crm, &SyncRequest::default(), None)
        .await?;
    let resync_requests = cw_sim.request_count() - before;
    table.extend(rows(&cw_conn.name, "re-sync", &report));

    // Push a scoping project to HaloPSA.
    let lookups = halo_psa.push_lookups().await?;
    let mut options = PushOptions::for_company(
        pick(&lookups.companies, "Brightwater Dental").ok_or("HaloPSA has no clients")?,
    );
    options.task_mode = TaskMode::PerService;
    options.include_sub_services = true;
    options.include_governance = true;
    options.status_id = pick(&lookups.statuses, "New");
    options.priority_id = pick(&lookups.priorities, "Normal");
    options.estimated_start = chrono::NaiveDate::from_ymd_opt(2026, 1, 5);
    options.estimated_end = chrono::NaiveDate::from_ymd_opt(2026, 3, 27);
    let project = sample_project();
    let push_bar = multi.add(ProgressBar::new(0));
    push_bar.set_style(
        ProgressStyle::with_template("  push to HaloPSA {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if !live {
        println!("pushing \"{}\" to HaloPSA:", project.name);
    }
    let on_push = |p: &PushProgress| {
        if !live {
            println!(
                "  push to HaloPSA {:>2}/{:<2} created {:<16} -> #{}",
                p.created,
                p.total,
                p.item.to_string(),
                p.psa_id
            );
            return;
        }
        push_bar.set_length(p.total as u64);
        push_bar.set_position(p.created as u64);
        push_bar.set_message(p.item.to_string());
    };
    let pushed = registry
        .connections()
        .push_project(
            &admin,
            &halo_conn.id,
            halo_psa,
            &project,
            &options,
            Some(&on_push),
        )
        .await?;
    push_bar.finish_with_message("done");

    // Summary.
    println!("\nsummary");
    println!(
        "{:<26} {:<10} {:<15} {:>8} {:>8} {:>10} {:>8}",
        "connection", "step", "data type", "created", "updated", "unchanged", "skipped"
    );
    println!("{}", "-".repeat(91));
    for r in &table {
        println!(
            "{:<26} {:<10} {:<15} {:>8} {:>8} {:>10} {:>8}",
            r.connection, r.step, r.data_type, r.created, r.updated, r.unchanged, r.skipped
        );
    }
    println!("{}", "-".repeat(91));
    println!(
        "re-sync with nothing changed: {resync_requests} requests for {} data types",
        report.per_type.len()
    );
    println!(
        "  (the re-sync is incremental: it asks only for records modified since the last run's\n   \
         cursor, the cursor time included so that none is missed; \"unchanged\" counts the records\n   \
         that came back at that boundary and equal the stored copy, so nothing was written)"
    );
    println!(
        "pushed \"{}\" to HaloPSA project #{}: {} objects created",
        project.name, pushed.project_id, pushed.created
    );
    if !pushed.plan.unassigned_governance.is_empty() {
        println!(
            "  by design, governance items assigned to no phase are not pushed (a task needs a\n  \
             milestone to sit in); assign them to a phase in the scoping project to push them:"
        );
        for name in &pushed.plan.unassigned_governance {
            println!("    not pushed: {name}");
        }
    }
    println!("in the SQLite store:");
    println!("  {}: {}", cw_conn.name, stored(&store, &cw_conn.id).await?);
    println!(
        "  {}: {}",
        halo_conn.name,
        stored(&store, &halo_conn.id).await?
    );
    let skips = registry
        .connections()
        .activity(&admin, Some(&cw_conn.id), 1_000)
        .await?
        .into_iter()
        .filter(|e| {
            matches!(
                e.kind,
                scopelink_core::activity::ActivityKind::RecordSkipped { .. }
            )
        })
        .count();
    println!("  activity log: {skips} ConnectWise records skipped with a reason (contacts of unknown companies)");
    println!(
        "requests: ConnectWise {}, HaloPSA {}; finished in {:.2?}",
        cw_connector.http().requests_sent(),
        halo_connector.http().requests_sent(),
        started.elapsed()
    );
    if !keep_db {
        drop((cw_live, halo_live, cw_connector, halo_connector));
        drop(registry);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
        }
    }
    Ok(())
}
