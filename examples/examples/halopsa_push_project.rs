//! Pushing a scoping project to HaloPSA, offline: a HaloPSA simulator runs on
//! loopback and the real connector talks to it.
//!
//! Run with `cargo run -p scopelink-examples --example halopsa_push_project`.
//!
//! The same scoping project is pushed once in each task mode (one HaloPSA
//! project each, with the tree created), then the scope grows and the
//! first project is resubmitted: only the new service is added.
//!
//! The connection is created in a registry with the HaloPSA provider
//! linked and made live there; its PSA handle reads the push form's lookups
//! and pushes, and the `HaloPsaConnector` it hands back
//! (`LiveConnection::extension`) gives HaloPSA's request count.

use rust_decimal::Decimal;
use scopelink_core::http::{AddressPolicy, HttpConfig};
use scopelink_core::mapping::{sample_project, PushOptions, TaskMode};
use scopelink_core::model::{Service, SubService};
use scopelink_core::push::PushProgress;
use scopelink_core::secret::{Credentials, InMemoryVault};
use scopelink_core::{
    Access, Connections, FeatureCategory, MemoryStore, NewConnection, Provider, Registry,
};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaProvider, HaloPsaSettings};
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig, SimTask};
use std::sync::Arc;

fn print_task(task: &SimTask, all: &[SimTask], depth: usize) {
    let kind = if depth == 0 { "task" } else { "project task" };
    println!(
        "      {}{kind} #{} {} ({} h)",
        "  ".repeat(depth),
        task.id,
        task.summary,
        task.estimate
    );
    // Project tasks are children of the project in HaloPSA; their details
    // name the service task they belong to.
    let marker = format!("Part of task #{}.", task.id);
    for child in all.iter().filter(|t| t.details.contains(&marker)) {
        print_task(child, all, depth + 1);
    }
}

/// Prints the HaloPSA project `project_id` as the simulator holds it.
fn print_tree(sim: &HaloPsaSim, project_id: &str) {
    for project in sim
        .project_tree()
        .into_iter()
        .filter(|p| p.id.to_string() == project_id)
    {
        println!(
            "  project #{} {} (client {})",
            project.id, project.summary, project.client_id
        );
        for milestone in &project.milestones {
            println!("    milestone #{} {}", milestone.id, milestone.name);
            for task in milestone
                .tasks
                .iter()
                .filter(|t| !t.details.contains("Part of task #"))
            {
                print_task(task, &milestone.tasks, 0);
            }
        }
    }
}

fn pick(items: &[scopelink_core::connector::LookupItem], name: &str) -> Option<String> {
    items.iter().find(|i| i.name == name).map(|i| i.id.clone())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = HaloPsaSim::start(HaloPsaSimConfig::default()).await;
    println!("HaloPSA simulator on {}", sim.uri());

    // The host's side: a store, a vault, the connection service, and the
    // registry with the HaloPSA provider linked.
    let store = Arc::new(MemoryStore::new());
    let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
    let registry = Registry::new(connections)
        // The simulator runs on plain http on loopback.
        .with_http(HttpConfig::default().with_addresses(AddressPolicy::allow_local()))
        .with_provider(HaloPsaProvider);
    let admin = Access::full();
    let settings = HaloPsaSettings::new(sim.uri())
        .project_ticket_type_id("3")
        .task_ticket_type_id("26");
    let conn = registry
        .create(
            &admin,
            NewConnection::new(
                Provider::HaloPsa,
                "Acme MSP HaloPSA",
                Credentials::ClientCredentials(scopelink_core::secret::ClientCredentials::new(
                    "sim-client",
                    "sim-secret",
                )),
            )
            .categories([FeatureCategory::Crm, FeatureCategory::Psa])
            .settings(settings.to_map()),
        )
        .await?;
    println!("created connection {} [{}]", conn.name, conn.status);

    // The live connection, built from what the host stored, tested with
    // its own connector (one token for the whole run).
    let live = registry.connect(&admin, &conn.id).await?;
    let conn = registry
        .connections()
        .test(&admin, &conn.id, live.connector())
        .await?;
    println!("tested: {}", conn.status);
    let psa = live.psa().ok_or("the connection enables PSA")?;
    let halo = live
        .extension::<HaloPsaConnector>()
        .ok_or("the HaloPSA provider attaches its connector")?;

    let lookups = psa.push_lookups().await?;
    let names = |items: &[scopelink_core::connector::LookupItem]| {
        items
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("lookups:");
    println!("  companies:    {}", names(&lookups.companies));
    println!("  statuses:     {}", names(&lookups.statuses));
    println!("  priorities:   {}", names(&lookups.priorities));
    if let Some(types) = lookups.extra.get("ticket_types") {
        println!("  ticket types: {}", names(types));
    }

    let mut options = PushOptions::for_company(
        pick(&lookups.companies, "Brightwater Dental").ok_or("no such company")?,
    );
    options.include_sub_services = true;
    options.include_governance = true;
    options.status_id = pick(&lookups.statuses, "New");
    options.priority_id = pick(&lookups.priorities, "Normal");
    options.estimated_start = chrono::NaiveDate::from_ymd_opt(2026, 1, 5);
    options.estimated_end = chrono::NaiveDate::from_ymd_opt(2026, 3, 27);

    let progress = |p: &PushProgress| {
        println!(
            "  [{:>2}/{:>2}] created {:<16} -> HaloPSA #{}",
            p.created,
            p.total,
            p.item.to_string(),
            p.psa_id
        );
    };
    // The same scoping project in each task mode; each push is its own
    // scoping project (its own links), so each creates a HaloPSA project.
    let modes = [
        (
            TaskMode::PerService,
            "per service: one task per service, sub-services as project tasks under it",
        ),
        (
            TaskMode::PerPhase,
            "per phase: one task per phase, its services folded into the description and hours",
        ),
        (
            TaskMode::ServicesAndSubServices,
            "services and sub-services: each a task of the milestone",
        ),
    ];
    let mut first = None;
    for (mode, what) in modes {
        let mut project = sample_project();
        project.id = format!("{}-{mode:?}", project.id);
        project.name = format!("{} ({mode:?})", project.name);
        let mut options = options.clone();
        options.task_mode = mode;
        println!("\npushing \"{}\", task mode {what}:", project.name);
        let report = registry
            .connections()
            .push_project(&admin, &conn.id, psa, &project, &options, Some(&progress))
            .await?;
        println!(
            "pushed: HaloPSA project #{}, {} objects created",
            report.project_id, report.created
        );
        if !report.plan.unassigned_governance.is_empty() {
            println!("  by design, governance items assigned to no phase are not pushed:");
            for name in &report.plan.unassigned_governance {
                println!("    {name}");
            }
        }
        println!("in HaloPSA:");
        print_tree(&sim, &report.project_id);
        if first.is_none() {
            first = Some((project, options, report.project_id));
        }
    }
    let (mut project, options, first_id) = first.ok_or("no task mode was pushed")?;

    // The scope grows: a service is added, and the project is resubmitted.
    project.services.push(Service {
        id: "sv-4".into(),
        name: "Teams roll-out".into(),
        phase_id: "ph-2".into(),
        description: Some("Teams and channels for each department".into()),
        hours: Decimal::new(10, 0),
        sub_services: vec![SubService {
            id: "ss-4".into(),
            name: "Channel design workshop".into(),
            hours: Decimal::new(3, 0),
        }],
    });
    println!(
        "\nresubmitting \"{}\" (project #{first_id}) with a new service:",
        project.name
    );
    let report = registry
        .connections()
        .push_project(&admin, &conn.id, psa, &project, &options, Some(&progress))
        .await?;
    println!(
        "resubmitted: {} objects added to HaloPSA project #{}",
        report.created, report.project_id
    );
    println!("\nin HaloPSA:");
    print_tree(&sim, &report.project_id);
    println!(
        "\n{} requests sent to HaloPSA, {} token request(s)",
        halo.http().requests_sent(),
        sim.token_requests()
    );
    Ok(())
}
