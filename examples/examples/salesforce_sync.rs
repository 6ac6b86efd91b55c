//! Syncing Salesforce into scopelink, offline: the testkit's Salesforce
//! simulator (a login host and an instance host) runs on loopback and the
//! real connector talks to it.
//!
//! Run with `cargo run -p scopelink-examples --example salesforce_sync`.
//!
//! Steps: create a connection in a registry with the Salesforce provider
//! linked; sign in with the OAuth web-server flow (PKCE), the authorize
//! URL followed as a browser would; connect it through the registry and
//! test it (the daily API usage from `/limits`); read the filter options
//! from describe and preview a filter with `SELECT COUNT()`; run a full
//! sync with progress; change, add and delete records in Salesforce and
//! run an incremental sync (deletions applied as deletes); let the session
//! expire (one refresh); write scoping results back to an opportunity and
//! make a contact its primary contact; print created / updated / skipped /
//! deleted counts and the API usage.
//!
//! Everything goes through the registry's live connection: its capability
//! handles (CRM, write-back) for what every provider shares, and the
//! `SalesforceConnector` it hands back (`LiveConnection::extension`, the
//! same connector and OAuth session) for Salesforce's own extras: `/limits`,
//! the API version, the deleted-records feed and the API usage.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use scopelink_core::connector::OpportunityUpdate;
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig};
use scopelink_core::oauth::{Callback, OAuthFlow};
use scopelink_core::secret::{ClientCredentials, Credentials, InMemoryVault};
use scopelink_core::store::PendingAuthorizationStore;
use scopelink_core::sync::{SyncCounts, SyncProgress, SyncReport};
use scopelink_core::{
    Access, Connections, DataType, FeatureCategory, MemoryStore, NewConnection, Provider, Registry,
    SyncRequest,
};
use scopelink_crm::salesforce::{SalesforceConnector, SalesforceProvider, SalesforceSettings};
use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Instant;
use url::Url;

const CRM: [DataType; 3] = [
    DataType::Companies,
    DataType::Contacts,
    DataType::Opportunities,
];

fn print_counts(label: &str, report: &SyncReport) {
    println!("{label}:");
    for (data_type, c) in &report.per_type {
        print_line(*data_type, c);
    }
}

fn print_line(data_type: DataType, c: &SyncCounts) {
    println!(
        "  {:<14} created {:>4}  updated {:>3}  unchanged {:>4}  skipped {:>2}  deleted {:>2}",
        data_type.as_str(),
        c.created,
        c.updated,
        c.unchanged,
        c.skipped,
        c.deleted
    );
}

fn progress(p: &SyncProgress) {
    if !p.finished {
        eprintln!(
            "  .. {} page {}: {} records so far",
            p.data_type,
            p.pages,
            p.counts.total()
        );
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = SalesforceSimConfig {
        accounts: 600,
        contacts_per_account: 2,
        opportunities: 900,
        ..SalesforceSimConfig::default()
    };
    let sim = SalesforceSim::start(config.clone()).await;
    let store = Arc::new(MemoryStore::new());
    let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
    let access = Access::full();
    // The simulator is on loopback: the host opts in (never in production).
    let http = HttpClient::new(HttpConfig::default().with_addresses(AddressPolicy::allow_local()))?;
    // The host's connected app, and the registry with Salesforce linked.
    let provider = SalesforceProvider::new(
        &config.client_id,
        Some(SecretString::from(config.client_secret.clone())),
        &config.redirect_uri,
    );
    let registry = Registry::new(connections.clone())
        .with_http(http.config().clone())
        .with_provider(provider.clone());

    // 1. The connection form: the login host (production, sandbox or My
    //    Domain; here the simulator's) and a page size.
    let mut form = SalesforceSettings::new(sim.login_url());
    form.batch_size = Some("500".into());
    let connection = registry
        .create(
            &access,
            NewConnection::new(
                Provider::Salesforce,
                "Acme Salesforce",
                Credentials::ClientCredentials(ClientCredentials::new(
                    &config.client_id,
                    &config.client_secret,
                )),
            )
            .categories([FeatureCategory::Crm])
            .settings(form.to_map()),
        )
        .await?;
    println!(
        "created connection `{}` ({})",
        connection.name, connection.status
    );

    // 2. Connect: authorization code + PKCE through the core.
    let client = provider.oauth_client(&form, http.config().addresses)?;
    let flow = OAuthFlow::new(
        connections.clone(),
        store.clone() as Arc<dyn PendingAuthorizationStore>,
        http.clone(),
        client,
    );
    let start = flow.start(&access, &connection.id).await?;
    println!(
        "1. the user opens {}{}",
        start.url.origin().ascii_serialization(),
        start.url.path()
    );
    let back = sim
        .follow(start.url.as_str())
        .ok_or("the login host refused to redirect")?;
    let connected = flow
        .complete(&access, &Callback::from_url(&Url::parse(&back)?))
        .await?;
    let settings = SalesforceSettings::from_map(&connected.settings)?;
    println!(
        "2. connected ({}); API calls go to the instance {}",
        connected.status,
        settings.instance_url.as_deref().unwrap_or("?")
    );
    // The live connection: its capability handles, and Salesforce's own
    // connector (the same one, with its OAuth session) for its extras.
    let live = registry.connect(&access, &connection.id).await?;
    let crm = live.crm().ok_or("the connection enables CRM")?;
    let writeback = live.writeback().ok_or("the connection enables CRM")?;
    let salesforce = live
        .extension::<SalesforceConnector>()
        .ok_or("the Salesforce provider attaches its connector")?;

    // 3. Test connection: GET /limits.
    live.connector().test_connection().await?;
    let usage = salesforce.limits().await?;
    println!(
        "3. test connection OK: API v{}, {usage}",
        salesforce.api_version().await?
    );

    // 4. Filters from describe, and a preview.
    let options = crm.filter_options().await?;
    println!(
        "4. filters: {} account types, {} industries",
        options.company_types.len(),
        options.markets.len()
    );
    let customer = options
        .company_types
        .iter()
        .find(|o| o.id.starts_with("Customer"))
        .cloned()
        .unwrap_or_else(|| FilterOption::new("Prospect", "Prospect"));
    let preview = crm
        .preview(&SyncFilter {
            company_types: [customer.clone()].into(),
            ..SyncFilter::default()
        })
        .await?;
    println!(
        "   preview `{}`: {} of {} accounts",
        customer.name,
        preview.companies,
        crm.preview(&SyncFilter::default()).await?.companies
    );

    // 5. Full sync.
    let engine = registry.sync_engine();
    let request = SyncRequest::all().data_types(CRM.to_vec());
    let began = Instant::now();
    let full = engine
        .run(&access, &connection.id, crm, &request, Some(&progress))
        .await?;
    print_counts(
        &format!("5. full sync ({} ms)", began.elapsed().as_millis()),
        &full,
    );

    // 6. Changes in Salesforce, then an incremental sync.
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    let accounts = sim.accounts();
    for a in accounts.iter().take(3) {
        sim.touch_account(a["Id"].as_str().unwrap_or_default());
    }
    let gone = accounts[10]["Id"].as_str().unwrap_or_default().to_string();
    sim.delete_account(&gone);
    let incremental = engine
        .run(&access, &connection.id, crm, &request, Some(&progress))
        .await?;
    print_counts(
        "6. incremental sync (3 accounts changed, 1 deleted)",
        &incremental,
    );
    // Salesforce reports deletions by whole minutes, up to now; the answer
    // says where the next window starts (`covered_until`).
    let until = chrono::Utc::now() + chrono::Duration::minutes(2);
    let (deleted, _next_window) = salesforce
        .apply_deletions(engine, &connection.id, since, until)
        .await?;
    println!(
        "   deletions applied: {} records deleted (the account with its contacts and opportunities), {} skipped",
        deleted.deleted, deleted.skipped
    );

    // 7. The session expires (Salesforce sends no lifetime): one refresh.
    let refreshes = sim.oauth().counts().refreshes;
    sim.expire_sessions();
    live.connector().test_connection().await?;
    println!(
        "7. session expired: {} refresh, the call went through",
        sim.oauth().counts().refreshes - refreshes
    );

    // 8. Write-back.
    let opportunity = sim
        .opportunities()
        .into_iter()
        .find(|o| o["IsClosed"] == serde_json::json!(false))
        .ok_or("no open opportunity")?;
    let opp_id = opportunity["Id"].as_str().unwrap_or_default().to_string();
    let account = opportunity["AccountId"].as_str().unwrap_or_default();
    let contact = sim
        .contacts()
        .into_iter()
        .find(|c| c["AccountId"].as_str() == Some(account))
        .and_then(|c| c["Id"].as_str().map(str::to_string));
    writeback
        .update_opportunity(
            &opp_id,
            &OpportunityUpdate {
                value: Some(Decimal::new(52_000, 0)),
                probability: Some(Decimal::from(75)),
                stage: Some("Negotiation/Review".into()),
                close_date: NaiveDate::from_ymd_opt(2026, 10, 15),
                contact_id: contact,
            },
        )
        .await?;
    let row = sim.record(&opp_id).unwrap_or_default();
    println!(
        "8. write-back: {} is now {} at {}% for {}, closing {}, primary contact {}",
        opp_id,
        row["StageName"],
        row["Probability"],
        row["Amount"],
        row["CloseDate"],
        row["ContactId"]
    );
    sim.add_validation_rule(
        "Opportunity",
        "CloseDate",
        "Close Date cannot be moved this late in the quarter",
    );
    let refused = writeback
        .update_opportunity(
            &opp_id,
            &OpportunityUpdate {
                close_date: NaiveDate::from_ymd_opt(2026, 12, 31),
                ..OpportunityUpdate::default()
            },
        )
        .await;
    if let Err(e) = refused {
        println!("   a validation rule refused the next one: {e}");
    }

    // 9. Summary.
    let totals = |report: &SyncReport| {
        report
            .per_type
            .iter()
            .fold(SyncCounts::default(), |mut t, (_, c)| {
                t.created += c.created;
                t.updated += c.updated;
                t.unchanged += c.unchanged;
                t.skipped += c.skipped;
                t
            })
    };
    let (f, i) = (totals(&full), totals(&incremental));
    println!(
        "summary: created {}, updated {}, skipped {}, deleted {}",
        f.created + i.created,
        f.updated + i.updated,
        f.skipped + i.skipped + deleted.skipped,
        deleted.deleted
    );
    match salesforce.api_usage() {
        Some(usage) => println!(
            "API usage: {usage} ({} requests to the instance in this run)",
            sim.request_count()
        ),
        None => println!("API usage: not reported"),
    }
    Ok(())
}
