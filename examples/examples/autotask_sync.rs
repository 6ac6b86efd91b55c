//! Autotask PSA in scopelink, offline: an Autotask simulator runs on
//! loopback and the real connector talks to it.
//!
//! Run with `cargo run -p scopelink-examples --example autotask_sync`.
//!
//! Steps: create a connection in a registry with the Autotask provider
//! linked, connect it (the API user's zone discovered and stored) and test
//! it (and a wrong secret's), discover the filter options and preview a
//! filter, run a full and an incremental sync, apply a signed webhook callout (and refuse a forged
//! one), write scoping results back to an opportunity, push a scoping
//! project (phases, tasks, sub-services, `Project_Management`), and show
//! the database's use of its hourly request threshold.
//!
//! Everything goes through the registry's live connection: its capability
//! handles (CRM, PSA, write-back) for what every provider shares, and the
//! `AutotaskConnector` it hands back (`LiveConnection::extension`) for
//! Autotask's own extras: webhook registration and the threshold.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use scopelink_autotask::{
    AutotaskConnector, AutotaskProvider, AutotaskSettings, WebhookEntity, WebhookRegistration,
    ZONE_URL_SETTING,
};
use scopelink_core::connector::{OpportunityUpdate, WebhookReceiver};
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::http::{AddressPolicy, HttpConfig};
use scopelink_core::mapping::{sample_project, PushOptions, TaskMode};
use scopelink_core::model::{DataType, Record};
use scopelink_core::secret::{ApiUserSecret, Credentials, InMemoryVault};
use scopelink_core::store::RecordStore;
use scopelink_core::sync::{SyncCounts, SyncReport};
use scopelink_core::webhook::WebhookRequest;
use scopelink_core::{
    Access, Connections, FeatureCategory, MemoryStore, NewConnection, Provider, Registry,
    SyncRequest,
};
use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use secrecy::SecretString;
use std::sync::Arc;

fn counts(c: &SyncCounts) -> String {
    format!(
        "{} created, {} updated, {} unchanged, {} skipped",
        c.created, c.updated, c.unchanged, c.skipped
    )
}

fn report_lines(report: &SyncReport) -> Vec<String> {
    report
        .per_type
        .iter()
        .map(|(t, c)| format!("{t}: {}", counts(c)))
        .collect()
}

fn pick(options: &[FilterOption], name: &str) -> Option<FilterOption> {
    options
        .iter()
        .find(|o| o.name.eq_ignore_ascii_case(name))
        .cloned()
}

fn names(options: &[FilterOption]) -> String {
    options
        .iter()
        .map(|o| o.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = AutotaskSim::start(AutotaskSimConfig {
        companies: 120,
        contacts_per_company: 3,
        opportunities: 40,
        configuration_items: 60,
        products: 25,
        ..AutotaskSimConfig::default()
    })
    .await;
    let config = sim.config();
    println!(
        "Autotask simulator on {} ({} companies, {} contacts, {} opportunities)",
        sim.zone_lookup_url(),
        sim.companies().len(),
        sim.contacts().len(),
        sim.opportunities().len()
    );
    // The simulator runs on plain http on loopback.
    let http = || HttpConfig::default().with_addresses(AddressPolicy::allow_local());

    // The host's side: a store, a vault, the connection service, and the
    // registry with the Autotask provider linked.
    let store = Arc::new(MemoryStore::new());
    let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
    let registry = Registry::new(connections)
        .with_http(http())
        .with_provider(AutotaskProvider);
    let admin = Access::full();
    let credentials =
        ApiUserSecret::new(&config.username, &config.secret, &config.integration_code);
    let settings = AutotaskSettings {
        zone_lookup_url: Some(sim.zone_lookup_url()),
        ..AutotaskSettings::default()
    };

    // 1. The connection (only the zone lookup address typed), then its live
    //    connector: the first connect discovers the zone and stores it.
    let created = registry
        .create(
            &admin,
            NewConnection::new(
                Provider::Autotask,
                "Acme MSP Autotask",
                Credentials::ApiUserSecret(credentials),
            )
            .categories([
                FeatureCategory::Crm,
                FeatureCategory::Psa,
                FeatureCategory::Products,
            ])
            .settings(settings.to_map()),
        )
        .await?;
    let live = registry.connect(&admin, &created.id).await?;
    // The capability handles, and Autotask's own connector for its extras.
    let crm = live.crm().ok_or("the connection enables CRM")?;
    let psa = live.psa().ok_or("the connection enables PSA")?;
    let writeback = live.writeback().ok_or("the connection enables CRM")?;
    let at = live
        .extension::<AutotaskConnector>()
        .ok_or("the Autotask provider attaches its connector")?;
    println!(
        "1. zone discovered for {}: {}",
        config.username,
        at.zone_url()
    );
    let conn = live.connection().clone();
    println!(
        "   connection \"{}\" created with {ZONE_URL_SETTING} = {}",
        conn.name,
        conn.settings
            .get(ZONE_URL_SETTING)
            .map_or("?", String::as_str)
    );

    // 2. Test.
    let conn = registry
        .connections()
        .test(&admin, &conn.id, live.connector())
        .await?;
    println!("2. tested: {}", conn.status);
    if conn.status.label() != "Connected" {
        return Err(format!("the connection test failed: {}", conn.status).into());
    }
    // A second connection with a wrong secret (its zone already known):
    // the registry's test records why it failed.
    let wrong = registry
        .create(
            &admin,
            NewConnection::new(
                Provider::Autotask,
                "Acme MSP Autotask (wrong secret)",
                Credentials::ApiUserSecret(ApiUserSecret::new(
                    &config.username,
                    "not-the-secret",
                    &config.integration_code,
                )),
            )
            .category(FeatureCategory::Crm)
            .settings(conn.settings.clone()),
        )
        .await?;
    let wrong = registry.test(&admin, &wrong.id).await?;
    match wrong.error_reason() {
        None => println!("   a wrong secret was accepted (unexpected)"),
        Some(reason) => println!("   with a wrong secret: {reason}"),
    }

    // 3. Filters from picklists, and a preview count.
    let options = crm.filter_options().await?;
    println!("3. filter options (from Companies/entityInformation/fields):");
    println!("     company types: {}", names(&options.company_types));
    println!("     statuses:      {}", names(&options.statuses));
    println!("     territories:   {}", names(&options.territories));
    println!("     markets:       {}", names(&options.markets));
    let mut filter = SyncFilter::default();
    filter
        .company_types
        .extend(pick(&options.company_types, "Customer"));
    filter.statuses.extend(pick(&options.statuses, "Active"));
    let everything = crm.preview(&SyncFilter::default()).await?;
    let preview = crm.preview(&filter).await?;
    println!(
        "4. preview (query/count): {} of {} companies are active customers",
        preview.companies, everything.companies
    );

    // 5. Full sync of the active customers.
    let engine = registry.sync_engine();
    let request = SyncRequest::all().filter(filter.clone()).full();
    let report = engine.run(&admin, &conn.id, crm, &request, None).await?;
    println!("5. full sync (contacts and opportunities of other companies are skipped):");
    for line in report_lines(&report) {
        println!("     {line}");
    }

    // 6. Incremental sync after edits in Autotask.
    let customers: Vec<i64> = sim
        .companies()
        .iter()
        .filter(|c| c["companyType"] == 1 && c["isActive"] == true)
        .filter_map(|c| c["id"].as_i64())
        .collect();
    let edited: Vec<i64> = customers.iter().copied().take(3).collect();
    for id in &edited {
        sim.touch_company(*id);
    }
    let report = engine
        .run(
            &admin,
            &conn.id,
            crm,
            &SyncRequest::all().filter(filter.clone()),
            None,
        )
        .await?;
    println!("6. companies {edited:?} edited in Autotask; incremental sync:");
    for line in report_lines(&report) {
        println!("     {line}");
    }

    // 7. A webhook: registered, a signed callout applied, a forged one refused.
    let secret = "whk-3f9a27c1d8e4";
    let hook = at
        .register_webhook(
            WebhookEntity::Company,
            &WebhookRegistration {
                name: "scopelink companies".into(),
                url: "https://hooks.scopelink.example/autotask/companies".into(),
                deactivation_url: "https://hooks.scopelink.example/autotask/deactivated".into(),
                secret_key: SecretString::from(secret),
                fields: Vec::new(),
            },
        )
        .await?;
    println!(
        "7. company webhook {} registered, watching {} fields",
        hook.id,
        hook.field_ids.len()
    );
    let target = customers.get(5).copied().unwrap_or(edited[0]);
    sim.touch_company(target);
    let (headers, body) = sim.signed_callout(hook.id, "Update", target);
    let receiver = at.webhook_receiver(SecretString::from(secret));
    let callout = WebhookRequest {
        headers,
        body,
        url: None,
    };
    let events = receiver.receive(&callout).await?;
    let applied = engine.apply_webhook(&conn.id, crm, events).await?;
    let stored = match store
        .record(&conn.id, DataType::Companies, &target.to_string())
        .await?
    {
        Some(Record::Company(c)) => c.name,
        _ => "(missing)".into(),
    };
    println!(
        "   signed callout for company {target} verified and applied ({}); stored: {stored}",
        counts(&applied)
    );
    let mut forged = callout.clone();
    forged.body = String::from_utf8_lossy(&callout.body)
        .replacen("\"Update\"", "\"Delete\"", 1)
        .into_bytes();
    match receiver.receive(&forged).await {
        Ok(_) => println!("   an altered callout was accepted (unexpected)"),
        Err(e) => println!("   an altered copy is refused: {e}"),
    }
    let mut unsigned = callout.clone();
    unsigned.headers.clear();
    match receiver.receive(&unsigned).await {
        Ok(_) => println!("   an unsigned callout was accepted (unexpected)"),
        Err(e) => println!("   an unsigned copy is refused: {e}"),
    }

    // 8. Write-back to an opportunity.
    let opp = sim
        .opportunities()
        .first()
        .and_then(|o| o["id"].as_i64())
        .ok_or("the simulator has no opportunity")?;
    writeback
        .update_opportunity(
            &opp.to_string(),
            &OpportunityUpdate {
                value: Some(Decimal::new(18_500, 0)),
                probability: Some(Decimal::new(75, 0)),
                stage: Some("Negotiation".into()),
                close_date: NaiveDate::from_ymd_opt(2026, 6, 30),
                contact_id: None,
            },
        )
        .await?;
    let after = sim
        .opportunities()
        .into_iter()
        .find(|o| o["id"] == opp)
        .unwrap_or_default();
    println!(
        "8. opportunity {opp} written back (PATCH): amount {}, probability {}, stage {}, projected close {}",
        after["amount"], after["probability"], after["stage"], after["projectedCloseDate"]
    );

    // 9. Project push.
    let company = edited[0].to_string();
    let mut push = PushOptions::for_company(&company);
    push.task_mode = TaskMode::PerService;
    push.include_sub_services = true;
    push.include_governance = true;
    push.estimated_start = NaiveDate::from_ymd_opt(2026, 4, 1);
    let project = sample_project();
    let pushed = scopelink_core::push::push_project(
        &Access::full(),
        store.as_ref(),
        &conn.id,
        psa,
        &project,
        &push,
        None,
    )
    .await?;
    println!(
        "9. project \"{}\" pushed to company {company}: project {}, {} objects created",
        project.name, pushed.project_id, pushed.created
    );
    for phase in sim.phases() {
        println!(
            "     phase {}: {}",
            phase["id"],
            phase["title"].as_str().unwrap_or("?")
        );
        for task in sim.tasks().iter().filter(|t| t["phaseID"] == phase["id"]) {
            println!("       task {}", task["title"].as_str().unwrap_or("?"));
        }
    }
    let again = scopelink_core::push::push_project(
        &Access::full(),
        store.as_ref(),
        &conn.id,
        psa,
        &project,
        &push,
        None,
    )
    .await?;
    println!(
        "   pushed again: {} objects created (only new services are added)",
        again.created
    );

    // 10. The hourly threshold.
    let usage = at.threshold_information().await?;
    println!(
        "10. threshold: {} of {} requests used this {}-minute window ({}%), {} sent by this connector",
        usage.used,
        usage.threshold,
        usage.timeframe_minutes,
        usage.percent_used(),
        at.http().requests_sent()
    );
    Ok(())
}
