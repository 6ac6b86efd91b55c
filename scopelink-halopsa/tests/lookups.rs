//! The push form's lookups against the HaloPSA simulator.

mod common;

use common::connector;
use scopelink_core::connector::{Connector, LookupItem, PsaProjects};
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig};

fn item(id: &str, name: &str) -> LookupItem {
    LookupItem {
        id: id.into(),
        name: name.into(),
    }
}

#[tokio::test]
async fn statuses_priorities_types_and_agents() {
    let sim = HaloPsaSim::start_default().await;
    let lookups = connector(&sim).push_lookups().await.expect("lookups");
    assert_eq!(
        lookups.statuses,
        vec![
            item("1", "New"),
            item("2", "In Progress"),
            item("4", "On Hold"),
            item("9", "Closed")
        ]
    );
    // Four rows, three priorities: `Normal` is listed once per SLA; the id
    // is `priorityid` (what tickets refer to), not the row's GUID.
    assert_eq!(
        lookups.priorities,
        vec![
            item("1", "Critical"),
            item("2", "High"),
            item("3", "Normal")
        ]
    );
    assert_eq!(
        lookups.extra["ticket_types"],
        vec![
            item("1", "Incident"),
            item("3", "Project"),
            item("26", "Project Task")
        ]
    );
    // Disabled agents are left out.
    assert_eq!(
        lookups.extra["agents"],
        vec![item("7", "Scopelink API"), item("8", "Morgan Reyes")]
    );
    // Active clients only (Dunmore Legal is inactive).
    let names: Vec<_> = lookups.companies.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Brightwater Dental",
            "Copperfield Logistics",
            "Elmstead Veterinary Group",
            "Foxhollow Architects"
        ]
    );

    let status = sim
        .api_requests()
        .into_iter()
        .find(|r| r.path == "/api/Status")
        .expect("status request");
    assert_eq!(status.query_value("type"), Some("ticket"));
}

#[tokio::test]
async fn clients_are_read_across_pages() {
    // 5 fixture clients + 150 generated: 154 active, two pages of 100.
    let sim = HaloPsaSim::start(HaloPsaSimConfig::default().with_generated_clients(150)).await;
    let lookups = connector(&sim).push_lookups().await.expect("lookups");
    assert_eq!(lookups.companies.len(), 154);
    let mut ids: Vec<_> = lookups.companies.iter().map(|c| c.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 154, "no client twice");

    let pages: Vec<_> = sim
        .api_requests()
        .into_iter()
        .filter(|r| r.path == "/api/Client")
        .map(|r| {
            (
                r.query_value("pageinate").map(str::to_string),
                r.query_value("page_size").map(str::to_string),
                r.query_value("page_no").map(str::to_string),
            )
        })
        .collect();
    let want = |n: &str| {
        (
            Some("true".to_string()),
            Some("100".to_string()),
            Some(n.to_string()),
        )
    };
    assert_eq!(pages, vec![want("1"), want("2")]);
}

#[tokio::test]
async fn a_forbidden_agent_list_is_left_out_not_fatal() {
    let sim = HaloPsaSim::start_default().await;
    sim.forbid("agent");
    let lookups = connector(&sim).push_lookups().await.expect("lookups");
    assert!(!lookups.extra.contains_key("agents"));
    assert_eq!(lookups.extra["ticket_types"].len(), 3);
}

#[tokio::test]
async fn rate_limited_lookups_are_retried_by_the_runtime() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    halo.test_connection().await.unwrap();
    sim.fail_next(1, 429);
    let lookups = halo.push_lookups().await.expect("retried after 429");
    assert_eq!(lookups.priorities.len(), 3);
    assert_eq!(
        sim.api_requests()
            .iter()
            .filter(|r| r.status == 429)
            .count(),
        1
    );
}
