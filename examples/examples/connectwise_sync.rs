//! Syncing ConnectWise Manage into scopelink, offline: a ConnectWise
//! simulator runs on loopback and the real connector talks to it.
//!
//! Run with `cargo run -p scopelink-examples --example connectwise_sync`.
//!
//! Steps: create a connection, test it, discover the filter options,
//! preview a filter, run a full sync (live progress on stderr), change a few
//! companies and run an incremental sync, apply a signed callback (webhook),
//! write scoping results back to an opportunity, print a summary.
//!
//! To run the read-only steps against a real server instead, set all of
//! `CW_SERVER`, `CW_COMPANY`, `CW_PUBLIC_KEY`, `CW_PRIVATE_KEY` and
//! `CW_CLIENT_ID`; the steps that change data (simulated edits, the
//! webhook, the write-back) are then skipped.
//!
//! Everything goes through a registry with the ConnectWise provider
//! linked: it creates the connection and makes it live (discovering the API
//! base and storing it on the connection); the live connection's capability
//! handles (CRM, webhooks, write-back) preview, sync, verify the callback
//! and write back, and the `ConnectWiseConnector` it hands back
//! (`LiveConnection::extension`) does ConnectWise's own extras: callback
//! registration and the request count.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use scopelink_connectwise::{
    ConnectWiseConnector, ConnectWiseProvider, ConnectWiseSettings, API_BASE_SETTING,
};
use scopelink_core::connector::OpportunityUpdate;
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::http::{AddressPolicy, HttpConfig};
use scopelink_core::model::{DataType, Record};
use scopelink_core::secret::{ApiKeyPair, Credentials, InMemoryVault};
use scopelink_core::store::RecordStore;
use scopelink_core::sync::{SyncCounts, SyncProgress, SyncReport};
use scopelink_core::webhook::WebhookRequest;
use scopelink_core::{
    Access, Connections, FeatureCategory, MemoryStore, NewConnection, Provider, Registry,
    SyncRequest,
};
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where to connect: the simulator, or a real server from the environment.
struct Target {
    server_url: String,
    company: String,
    public_key: String,
    private_key: String,
    client_id: String,
    addresses: AddressPolicy,
}

fn real_server_from_env() -> Option<Target> {
    let get = |k: &str| {
        std::env::var(k)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    Some(Target {
        server_url: get("CW_SERVER")?,
        company: get("CW_COMPANY")?,
        public_key: get("CW_PUBLIC_KEY")?,
        private_key: get("CW_PRIVATE_KEY")?,
        client_id: get("CW_CLIENT_ID")?,
        addresses: AddressPolicy::public_only(),
    })
}

fn counts(c: &SyncCounts) -> String {
    let mut parts = Vec::new();
    for (n, label) in [
        (c.created, "created"),
        (c.updated, "updated"),
        (c.unchanged, "unchanged"),
        (c.skipped, "skipped"),
        (c.deleted, "deleted"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

fn report_lines(report: &SyncReport) -> Vec<String> {
    report
        .per_type
        .iter()
        .map(|(t, c)| format!("{t}: {}", counts(c)))
        .collect()
}

/// One progress report: a `\r`-updated line on a terminal, the final
/// count of each data type otherwise.
fn progress_line(p: &SyncProgress) {
    let c = &p.counts;
    let live = std::io::stderr().is_terminal();
    if !live && !p.finished {
        return;
    }
    eprint!(
        "{}  {:<15} page {:>3}  created {:>5}  updated {:>4}  unchanged {:>4}  skipped {:>3}",
        if live { "\r" } else { "" },
        p.data_type.as_str(),
        p.pages,
        c.created,
        c.updated,
        c.unchanged,
        c.skipped
    );
    if p.finished {
        eprintln!("  done");
    }
}

/// The option named `name` (case-insensitive), or the first one.
fn pick(options: &[FilterOption], name: &str) -> Option<FilterOption> {
    options
        .iter()
        .find(|o| o.name.eq_ignore_ascii_case(name))
        .or_else(|| options.first())
        .cloned()
}

fn names(options: &[FilterOption]) -> String {
    options
        .iter()
        .map(|o| o.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `conditions` of a logged request, decoded, for display.
fn conditions_of(path_and_query: &str) -> Option<String> {
    let (_, query) = path_and_query.split_once('?')?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "conditions")
        .map(|(_, v)| v.into_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let (target, sim) = match real_server_from_env() {
        Some(target) => (target, None),
        None => {
            let sim = ConnectWiseSim::start(
                ConnectWiseSimConfig::new(300, 3)
                    .with_orphan_contacts(5)
                    .with_opportunities_per_company(1)
                    .with_configurations_per_company(1)
                    .with_catalog_items(12),
            )
            .await;
            // A little latency so the progress line is visible.
            sim.set_latency(Some(Duration::from_millis(10)));
            let target = Target {
                server_url: sim.server_url().to_string(),
                company: sim.company_id().to_string(),
                public_key: sim.public_key().to_string(),
                private_key: sim.private_key().to_string(),
                client_id: sim.client_id().to_string(),
                // The simulator runs on plain http on loopback.
                addresses: AddressPolicy::allow_local(),
            };
            (target, Some(sim))
        }
    };
    match &sim {
        Some(sim) => println!(
            "ConnectWise simulator on {} ({} companies, {} contacts of which {} orphans, {} opportunities)",
            sim.server_url(),
            sim.company_count(),
            sim.contact_count(),
            sim.config().orphan_contacts,
            sim.opportunity_count()
        ),
        None => println!(
            "ConnectWise server {} (from CW_* variables; read-only steps only)",
            target.server_url
        ),
    }
    let mut summary: Vec<(String, String)> = Vec::new();

    // The host's side: a store, a vault, the connection service, and the
    // registry with the ConnectWise provider linked.
    let store = Arc::new(MemoryStore::new());
    let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
    let registry = Registry::new(connections)
        .with_http(HttpConfig::default().with_addresses(target.addresses))
        .with_provider(ConnectWiseProvider);
    let admin = Access::full();
    // Pages of 100 records, so the progress lines show the paging.
    let settings = ConnectWiseSettings::new(target.server_url.clone(), target.client_id.clone())
        .page_size(100)
        .board_id("31");
    let conn = registry
        .create(
            &admin,
            NewConnection::new(
                Provider::ConnectWiseManage,
                "Acme MSP ConnectWise",
                Credentials::ApiKeyPair(ApiKeyPair::new(
                    &target.company,
                    &target.public_key,
                    &target.private_key,
                )),
            )
            .categories([
                FeatureCategory::Crm,
                FeatureCategory::Psa,
                FeatureCategory::Products,
            ])
            .settings(settings.to_map()),
        )
        .await?;
    println!(
        "\n1. created connection \"{}\" [{}]",
        conn.name, conn.status
    );

    // The live connection, built from what the host stored; the API base
    // is discovered through /login/companyinfo and kept in the settings.
    let live = registry.connect(&admin, &conn.id).await?;
    println!(
        "   API base discovered: {}",
        live.connection()
            .settings
            .get(API_BASE_SETTING)
            .map_or("?", String::as_str)
    );
    // The capability handles, and ConnectWise's own connector for its extras.
    let crm = live.crm().ok_or("the connection enables CRM")?;
    let webhooks = live
        .webhooks()
        .ok_or("the ConnectWise provider verifies callbacks")?;
    let writeback = live.writeback().ok_or("the connection enables CRM")?;
    let cw = live
        .extension::<ConnectWiseConnector>()
        .ok_or("the ConnectWise provider attaches its connector")?;

    // Tested with the live connector, so its request is counted below.
    let conn = registry
        .connections()
        .test(&admin, &conn.id, live.connector())
        .await?;
    println!("2. tested: {}", conn.status);
    summary.push(("test connection".into(), conn.status.to_string()));
    if !conn.is_connected() {
        return Err(format!("the connection test failed: {}", conn.status).into());
    }

    let options = crm.filter_options().await?;
    println!("3. filter options:");
    println!("     company types: {}", names(&options.company_types));
    println!("     statuses:      {}", names(&options.statuses));
    println!("     territories:   {}", names(&options.territories));
    println!("     markets:       {}", names(&options.markets));
    summary.push((
        "filter options".into(),
        format!(
            "{} types, {} statuses, {} territories, {} markets",
            options.company_types.len(),
            options.statuses.len(),
            options.territories.len(),
            options.markets.len()
        ),
    ));

    let mut filter = SyncFilter::default();
    filter
        .statuses
        .extend(pick(&options.statuses, "Active").into_iter());
    filter
        .company_types
        .extend(pick(&options.company_types, "Client").into_iter());
    let described = filter
        .statuses
        .iter()
        .chain(&filter.company_types)
        .map(|o| o.name.as_str())
        .collect::<Vec<_>>()
        .join(" + ");
    let everything = crm.preview(&SyncFilter::default()).await?;
    let preview = crm.preview(&filter).await?;
    println!(
        "4. preview: {} of {} companies match \"{described}\"",
        preview.companies, everything.companies
    );
    summary.push((
        format!("preview ({described})"),
        format!(
            "{} of {} companies",
            preview.companies, everything.companies
        ),
    ));

    let engine = registry.sync_engine();
    let incremental = SyncRequest::all();
    let request = incremental.clone().full();
    println!("5. full sync (every company; contacts of unknown companies are skipped):");
    let t = Instant::now();
    let report = engine
        .run(&admin, &conn.id, crm, &request, Some(&progress_line))
        .await?;
    println!("   full sync took {:.2?}:", t.elapsed());
    for line in report_lines(&report) {
        println!("     {line}");
    }
    summary.push(("full sync".into(), report_lines(&report).join("; ")));

    if let Some(sim) = &sim {
        sim.set_latency(None);
        let changed = [260_u64, 305, 421];
        for id in changed {
            let name = sim
                .company(id)
                .and_then(|c| c["name"].as_str().map(str::to_string))
                .unwrap_or_default();
            sim.touch_company(id, &format!("{name} (edited)"));
        }
        sim.clear_requests();
        println!(
            "6. companies {changed:?} edited in ConnectWise; incremental sync (uses the cursor):"
        );
        let report = engine
            .run(&admin, &conn.id, crm, &incremental, Some(&progress_line))
            .await?;
        for line in report_lines(&report) {
            println!("     {line}");
        }
        let updated = report.counts(DataType::Companies).map_or(0, |c| c.updated);
        println!(
            "   only the changed companies came back as updates ({updated} of {}); records at the cursor's second come back unchanged",
            sim.company_count()
        );
        if let Some((_, q)) = sim
            .requests()
            .iter()
            .find(|(_, q)| q.contains("companies?"))
        {
            if let Some(c) = conditions_of(q) {
                println!("   the companies request asked: conditions={c}");
            }
        }
        summary.push(("incremental sync".into(), report_lines(&report).join("; ")));

        // Webhooks: subscribe, then ConnectWise calls back when a company
        // changes; the connector verifies the signature with the key at
        // Metadata.key_url and the engine applies the record.
        let hook = "https://hooks.scopelink.example/cw/4f2a9c";
        let ids = cw
            .register_callbacks(
                hook,
                &[
                    DataType::Companies,
                    DataType::Contacts,
                    DataType::Opportunities,
                ],
            )
            .await?;
        println!("7. callbacks registered: {}", ids.join(", "));
        sim.touch_company(262, "Quartz Law LLC (renamed in ConnectWise)");
        let (headers, body) = sim.callback_request("updated", "company", 262);
        let callback = WebhookRequest {
            headers,
            body,
            url: Some(format!("{hook}?recordId=262")),
        };
        let events = webhooks.receive(&callback).await?;
        let applied = engine.apply_webhook(&conn.id, crm, events).await?;
        let stored = match store.record(&conn.id, DataType::Companies, "262").await? {
            Some(Record::Company(c)) => c.name,
            _ => "(missing)".into(),
        };
        println!(
            "   callback for company 262 verified and applied ({}); stored name: {stored}",
            counts(&applied)
        );
        let mut forged = callback.clone();
        forged.body = String::from_utf8_lossy(&callback.body)
            .replace("renamed in ConnectWise", "renamed by an attacker")
            .into_bytes();
        match webhooks.receive(&forged).await {
            Ok(_) => println!("   a forged callback was accepted (unexpected)"),
            Err(e) => println!("   a forged copy is refused: {e}"),
        }
        summary.push((
            "webhook".into(),
            format!("company 262: {}; forged copy refused", counts(&applied)),
        ));

        // Write-back: scoping results go to the opportunity.
        let opp = sim.opportunities()[0].clone();
        let update = OpportunityUpdate {
            value: Some(Decimal::new(18_500, 0)),
            probability: Some(Decimal::new(75, 0)),
            stage: Some("Negotiation".into()),
            close_date: NaiveDate::from_ymd_opt(2026, 6, 30),
            contact_id: None,
        };
        writeback
            .update_opportunity(&opp.id.to_string(), &update)
            .await?;
        let after = sim.opportunity(opp.id).unwrap_or_default();
        let value: f64 = sim
            .forecast_items(opp.id)
            .iter()
            .filter_map(|i| i["revenue"].as_f64())
            .sum();
        let line = format!(
            "stage {} -> {}, probability {}% -> {}%, close {} -> {}, forecast value {value}",
            scopelink_testkit::connectwise::STAGES
                .iter()
                .find(|s| s.0 == opp.stage_id)
                .map_or("?", |s| s.1),
            after["stage"]["name"].as_str().unwrap_or("?"),
            scopelink_testkit::connectwise::PROBABILITIES
                .iter()
                .find(|p| p.0 == opp.probability_id)
                .map_or(0, |p| p.1),
            after["probability"]["name"].as_str().unwrap_or("?"),
            opp.expected_close.format("%Y-%m-%d"),
            after["expectedCloseDate"]
                .as_str()
                .unwrap_or("?")
                .get(..10)
                .unwrap_or("?"),
        );
        println!("8. opportunity {} \"{}\" written back:", opp.id, opp.name);
        println!("     {line}");
        summary.push((format!("write-back (opportunity {})", opp.id), line));
    } else {
        println!("6. incremental sync (uses the cursor):");
        let report = engine
            .run(&admin, &conn.id, crm, &incremental, Some(&progress_line))
            .await?;
        for line in report_lines(&report) {
            println!("     {line}");
        }
        summary.push(("incremental sync".into(), report_lines(&report).join("; ")));
        println!("7./8. webhook and write-back skipped: they would change a real server");
    }

    let mut held = Vec::new();
    for t in DataType::SYNC_ORDER {
        held.push(format!(
            "{} {}",
            store.count_records(&conn.id, t).await?,
            t.as_str()
        ));
    }
    summary.push(("in the store".into(), held.join(", ")));
    let sent = cw.http().requests_sent();
    summary.push((
        "HTTP requests".into(),
        match &sim {
            Some(sim) => format!(
                "{sent} sent by the connector (the simulator logged {} since the incremental step)",
                sim.request_count()
            ),
            None => format!("{sent} sent by the connector"),
        },
    ));
    summary.push(("elapsed".into(), format!("{:.2?}", started.elapsed())));

    let width = summary.iter().map(|(k, _)| k.len()).max().unwrap_or(10);
    println!("\nsummary");
    println!("{}", "-".repeat(width + 60));
    for (k, v) in &summary {
        println!("{k:<width$}  {v}");
    }
    println!("{}", "-".repeat(width + 60));
    Ok(())
}
