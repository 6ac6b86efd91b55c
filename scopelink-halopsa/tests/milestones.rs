//! Milestone membership after a push: HaloPSA ignores a ticket's
//! `milestone_id`, so tasks are added to their milestones through the
//! project's `milestones[].tickets_list`, checked by reading the project
//! back, and completed by pushing again after any failure.

mod common;

use chrono::NaiveDate;
use common::{connector, Host, HostExt};
use scopelink_core::access::Access;
use scopelink_core::mapping::{sample_project, PushOptions, TaskMode};
use scopelink_core::push::push_project;
use scopelink_core::{ConnectorError, Error};
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig, SimProject};
use serde_json::Value;

fn options() -> PushOptions {
    PushOptions {
        task_mode: TaskMode::PerService,
        include_sub_services: true,
        include_governance: true,
        estimated_start: NaiveDate::from_ymd_opt(2026, 1, 5),
        estimated_end: NaiveDate::from_ymd_opt(2026, 3, 27),
        company_id: "12".into(),
        status_id: Some("1".into()),
        priority_id: Some("3".into()),
    }
}

/// Milestone name → task summaries, as HaloPSA's membership holds them.
fn membership(project: &SimProject) -> Vec<(String, Vec<String>)> {
    project
        .milestones
        .iter()
        .map(|m| {
            (
                m.name.clone(),
                m.tasks.iter().map(|t| t.summary.clone()).collect(),
            )
        })
        .collect()
}

fn expected() -> Vec<(String, Vec<String>)> {
    [
        (
            "Discovery",
            &[
                "Tenant assessment",
                "Licence inventory",
                "Project_Management",
            ][..],
        ),
        (
            "Migration",
            &[
                "Mailbox migration",
                "Pilot group",
                "Cut-over",
                "SharePoint migration",
                "Project_Management",
            ][..],
        ),
    ]
    .iter()
    .map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect()))
    .collect()
}

fn only_project(sim: &HaloPsaSim) -> SimProject {
    let mut tree = sim.project_tree();
    assert_eq!(tree.len(), 1, "one project");
    tree.remove(0)
}

#[tokio::test]
async fn every_task_is_a_member_of_its_milestone_not_just_labelled_with_it() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    sim.clear_requests();
    let report = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(),
        None,
    )
    .await
    .expect("push");

    let project = only_project(&sim);
    assert_eq!(membership(&project), expected());
    assert!(project.unassigned.is_empty(), "{:?}", project.unassigned);
    // HaloPSA reports the membership on each task too.
    for m in &project.milestones {
        for t in &m.tasks {
            let ticket = sim.ticket(t.id).expect("task");
            assert_eq!(ticket["milestone_id"], m.id, "{}", t.summary);
        }
    }
    // Tasks are created without the read-only milestone_id; membership is
    // written once, with the whole milestone list, for the project pushed.
    let requests = sim.api_requests();
    let task_posts: Vec<&Value> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/Tickets")
        .filter_map(|r| r.body.as_ref())
        .collect();
    assert_eq!(task_posts.len(), 8);
    assert!(task_posts
        .iter()
        .all(|b| b[0].get("milestone_id").is_none()));
    let writes: Vec<&Value> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/Projects")
        .filter_map(|r| r.body.as_ref())
        .filter(|b| {
            b[0]["milestones"].as_array().is_some_and(|ms| {
                ms.iter().any(|m| {
                    m["tickets_list"]
                        .as_array()
                        .is_some_and(|list| !list.is_empty())
                })
            })
        })
        .collect();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0][0]["id"].to_string(), report.project_id);
    assert_eq!(writes[0][0]["milestones"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_push_fails_clearly_when_halo_leaves_membership_unchanged_and_a_new_push_fixes_it() {
    let sim = HaloPsaSim::start(HaloPsaSimConfig {
        membership_writes: false,
        ..HaloPsaSimConfig::default()
    })
    .await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    let err = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(),
        None,
    )
    .await
    .expect_err("tasks outside their milestones are not a success");
    let Error::Connector(ConnectorError::Rejected { message }) = &err else {
        panic!("expected a rejection, got {err:?}");
    };
    assert!(
        message.contains("its milestones do not hold task #"),
        "{message}"
    );
    assert!(message.contains("push again"), "{message}");
    let tickets = sim.ticket_count();
    assert_eq!(tickets, 9, "project + 8 tasks");
    assert_eq!(only_project(&sim).unassigned.len(), 8);

    sim.set_membership_writes(true);
    let report = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(),
        None,
    )
    .await
    .expect("pushing again places the tasks");
    assert_eq!(report.created, 0);
    assert_eq!(sim.ticket_count(), tickets, "nothing created twice");
    let project = only_project(&sim);
    assert_eq!(membership(&project), expected());
    assert!(project.unassigned.is_empty());
}

#[tokio::test]
async fn a_membership_write_that_fails_is_completed_by_the_next_push_without_duplicates() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    // Two milestone additions update the project, the third update is the
    // membership write.
    sim.fail_on_ticket_update(3);
    let err = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(),
        None,
    )
    .await
    .expect_err("the membership write fails");
    assert!(matches!(err, Error::Connector(_)), "{err:?}");
    assert_eq!(sim.ticket_count(), 9);
    assert_eq!(only_project(&sim).unassigned.len(), 8);

    push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(),
        None,
    )
    .await
    .expect("second push");
    assert_eq!(sim.ticket_count(), 9, "nothing created twice");
    let project = only_project(&sim);
    assert_eq!(membership(&project), expected());
    assert!(project.unassigned.is_empty());
}

#[tokio::test]
async fn a_resumed_push_places_the_tasks_of_the_failed_one_too() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    sim.fail_on_ticket_create(4);
    push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(),
        None,
    )
    .await
    .expect_err("the fourth task fails");
    // The three tasks created before the failure are in no milestone yet.
    assert_eq!(only_project(&sim).unassigned.len(), 3);

    let report = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(),
        None,
    )
    .await
    .expect("resumed push");
    assert_eq!(report.created, 5);
    assert_eq!(sim.ticket_count(), 9);
    let project = only_project(&sim);
    assert_eq!(membership(&project), expected());
    assert!(project.unassigned.is_empty());
}

#[tokio::test]
async fn a_milestone_deleted_in_halo_is_a_clear_error_and_the_list_is_not_rewritten() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    sim.fail_on_ticket_create(4);
    let failed = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(),
        None,
    )
    .await;
    assert!(failed.is_err());
    let project = only_project(&sim);
    let discovery = project.milestones[0].id;
    assert!(sim.delete_milestone(project.id, discovery));
    sim.clear_requests();

    let err = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(),
        None,
    )
    .await
    .expect_err("the tasks' milestone is gone");
    let Error::Connector(ConnectorError::NotFound { what }) = &err else {
        panic!("expected NotFound, got {err:?}");
    };
    assert!(
        what.contains(&format!(
            "milestone #{discovery} of HaloPSA project #{}",
            project.id
        )),
        "{what}"
    );
    // The remaining milestone kept its place: no milestone list was posted.
    let list_writes = sim
        .api_requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/Projects")
        .count();
    assert_eq!(list_writes, 0);
    assert_eq!(only_project(&sim).milestones.len(), 1);
}
