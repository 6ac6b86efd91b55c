//! Quickstart: a connection's lifecycle and a scoping project mapped to a
//! PSA plan, all in memory. Run with `cargo run -p scopelink-examples --example quickstart`.

use scopelink_core::connector::Connector;
use scopelink_core::mapping::{plan, sample_project, ProjectLinks, PushOptions, TaskMode};
use scopelink_core::secret::{ClientCredentials, Credentials, InMemoryVault};
use scopelink_core::{
    Access, ConnectionEvent, Connections, ConnectorError, FeatureCategory, MemoryStore,
    NewConnection, Provider,
};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Stands in for a provider whose credentials can be made to fail.
struct Demo {
    healthy: AtomicBool,
}

#[scopelink_core::async_trait]
impl Connector for Demo {
    fn provider(&self) -> Provider {
        Provider::HaloPsa
    }
    fn capabilities(&self) -> BTreeSet<FeatureCategory> {
        [FeatureCategory::Crm, FeatureCategory::Psa].into()
    }
    async fn test_connection(&self) -> Result<(), ConnectorError> {
        if self.healthy.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(ConnectorError::Authentication {
                message: "the client secret was rejected; generate a new one".into(),
            })
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(MemoryStore::new());
    let vault = Arc::new(InMemoryVault::new());
    let connections = Connections::new(store.clone(), vault.clone());
    let mut events = connections.subscribe();
    let admin = Access::full();
    let demo = Demo {
        healthy: AtomicBool::new(true),
    };

    let conn = connections
        .create(
            &admin,
            NewConnection {
                provider: Provider::HaloPsa,
                name: "Halo (demo)".into(),
                categories: [FeatureCategory::Psa].into(),
                credentials: Credentials::ClientCredentials(ClientCredentials::new(
                    "demo-client",
                    "demo-secret",
                )),
                settings: Default::default(),
            },
        )
        .await?;
    println!("created   {} [{}]", conn.name, conn.status);
    let c = connections.test(&admin, &conn.id, &demo).await?;
    println!("tested    {}", c.status);
    demo.healthy.store(false, Ordering::SeqCst);
    let c = connections.test(&admin, &conn.id, &demo).await?;
    println!("tested    {}", c.status);
    while let Ok(event) = events.try_recv() {
        if let ConnectionEvent::EnteredError { name, reason, .. } = event {
            println!("  event -> e-mail the admin: {name}: {reason}");
        }
    }
    demo.healthy.store(true, Ordering::SeqCst);
    let c = connections.disable(&admin, &conn.id).await?;
    println!("disabled  {}", c.status);
    let c = connections.enable(&admin, &conn.id, &demo).await?;
    println!("enabled   {}", c.status);

    let mut options = PushOptions::for_company("250");
    options.task_mode = TaskMode::PerService;
    options.include_sub_services = true;
    options.include_governance = true;
    let p = plan(&sample_project(), &options, &ProjectLinks::default())?;
    println!(
        "\nPSA plan for \"{}\" ({} objects):",
        p.project_name,
        p.creations()
    );
    for m in &p.milestones {
        println!("  milestone {}", m.name);
        for t in &m.tasks {
            println!("    task {} ({} h)", t.name, t.hours);
            for s in &t.children {
                println!("      project task {} ({} h)", s.name, s.hours);
            }
        }
    }
    for g in &p.unassigned_governance {
        println!("  not pushed (no phase): {g}");
    }
    Ok(())
}
