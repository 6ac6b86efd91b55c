//! Pushing scoping projects through the core push driver into the HaloPSA
//! simulator.

mod common;

use chrono::NaiveDate;
use common::{connector, Host, HostExt};
use rust_decimal::Decimal;
use scopelink_core::access::Access;
use scopelink_core::mapping::{sample_project, ItemRef, PushOptions, TaskMode};
use scopelink_core::model::{ProjectStatus, Service};
use scopelink_core::push::{push_project, PushProgress};
use scopelink_core::store::LinkStore;
use scopelink_core::{Error, MappingError};
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig, MilestonePost, SimProject};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Mutex;

fn options(mode: TaskMode, subs: bool, governance: bool) -> PushOptions {
    PushOptions {
        task_mode: mode,
        include_sub_services: subs,
        include_governance: governance,
        estimated_start: NaiveDate::from_ymd_opt(2026, 1, 5),
        estimated_end: NaiveDate::from_ymd_opt(2026, 3, 27),
        company_id: "12".into(),
        status_id: Some("1".into()),
        priority_id: Some("3".into()),
    }
}

/// The API requests the simulator saw, as (method, path, query, body).
fn requests(sim: &HaloPsaSim) -> Vec<Value> {
    sim.api_requests()
        .into_iter()
        .map(|r| {
            json!({
                "request": format!("{} {}", r.method, r.path),
                "query": r.query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
                "body": r.body,
                "status": r.status,
            })
        })
        .collect()
}

fn assert_no_secrets(sim: &HaloPsaSim, text: &str) {
    assert!(!text.contains("sim-secret"), "client secret leaked");
    assert!(!text.contains("sim-token"), "access token leaked");
    assert!(sim.api_requests().iter().all(|r| r.form.is_empty()));
}

/// The project as (milestone, task summaries), checking that no milestone
/// holds the same task twice.
fn outline(project: &SimProject) -> Vec<(String, Vec<String>)> {
    project
        .milestones
        .iter()
        .map(|m| {
            let names: Vec<String> = m.tasks.iter().map(|t| t.summary.clone()).collect();
            let unique: BTreeSet<_> = names.iter().collect();
            assert_eq!(
                unique.len(),
                names.len(),
                "duplicate tasks in {}: {names:?}",
                m.name
            );
            assert!(m.tasks.iter().all(|t| t.children.is_empty()));
            (m.name.clone(), names)
        })
        .collect()
}

fn owned(outline: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    outline
        .iter()
        .map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect()))
        .collect()
}

async fn push_snapshot(name: &str, mode: TaskMode, subs: bool, governance: bool) -> SimProject {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    sim.clear_requests();

    let progress: Mutex<Vec<(usize, usize, String)>> = Mutex::new(Vec::new());
    let report_progress = |p: &PushProgress| {
        progress
            .lock()
            .unwrap()
            .push((p.created, p.total, p.item.to_string()));
    };
    let report = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(mode, subs, governance),
        Some(&report_progress),
    )
    .await
    .expect("push");
    let progress = progress.into_inner().unwrap();
    assert_eq!(report.created, report.plan.creations());
    assert_eq!(progress.len(), report.created);
    assert!(progress
        .iter()
        .enumerate()
        .all(|(i, (n, total, _))| *n == i + 1 && *total == report.created));

    let sent = requests(&sim);
    let text = serde_json::to_string(&sent).unwrap();
    assert_no_secrets(&sim, &text);
    // Nothing was refused along the way.
    assert!(sim.requests().iter().all(|r| r.status < 300), "{text}");
    // One POST per created object (milestones: plus reads), and one that
    // adds every task to its milestone's `tickets_list`.
    let posts = sim
        .api_requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, report.created + 1);
    insta::assert_yaml_snapshot!(name, sent);

    let tree = sim.project_tree();
    assert_eq!(tree.len(), 1);
    let project = tree.into_iter().next().unwrap();
    assert_eq!(project.id.to_string(), report.project_id);
    assert_eq!(project.summary, "Acme Microsoft 365 Migration");
    assert_eq!(project.client_id, 12);
    assert!(project.unassigned.is_empty(), "{:?}", project.unassigned);
    project
}

#[tokio::test]
async fn push_per_service_with_sub_services_and_governance() {
    let project = push_snapshot(
        "per_service_subs_governance",
        TaskMode::PerService,
        true,
        true,
    )
    .await;
    assert_eq!(
        outline(&project),
        owned(&[
            (
                "Discovery",
                &[
                    "Tenant assessment",
                    "Licence inventory",
                    "Project_Management"
                ]
            ),
            (
                "Migration",
                &[
                    "Mailbox migration",
                    "Pilot group",
                    "Cut-over",
                    "SharePoint migration",
                    "Project_Management"
                ]
            ),
        ])
    );
    // Project tasks are children of the project too, and say which service
    // task they belong to.
    let migration = &project.milestones[1];
    let mailbox = &migration.tasks[0];
    assert!(migration.tasks[1]
        .details
        .contains(&format!("Part of task #{}.", mailbox.id)));
    assert_eq!(mailbox.estimate, 20.0);
    assert_eq!(mailbox.tickettype_id, 26);
}

#[tokio::test]
async fn push_per_service_default() {
    let project = push_snapshot("per_service", TaskMode::PerService, false, false).await;
    assert_eq!(
        outline(&project),
        owned(&[
            ("Discovery", &["Tenant assessment"]),
            ("Migration", &["Mailbox migration", "SharePoint migration"]),
        ])
    );
    // Sub-service hours are folded into the service task.
    assert_eq!(project.milestones[1].tasks[0].estimate, 32.0);
}

#[tokio::test]
async fn push_per_phase() {
    let project = push_snapshot("per_phase", TaskMode::PerPhase, false, false).await;
    assert_eq!(
        outline(&project),
        owned(&[("Discovery", &["Discovery"]), ("Migration", &["Migration"])])
    );
    let task = &project.milestones[1].tasks[0];
    assert_eq!(task.estimate, 44.0);
    assert!(
        task.details.contains("- Mailbox migration (32 h)"),
        "{}",
        task.details
    );
}

#[tokio::test]
async fn push_services_and_sub_services() {
    let project = push_snapshot(
        "services_and_sub_services",
        TaskMode::ServicesAndSubServices,
        false,
        true,
    )
    .await;
    assert_eq!(
        outline(&project),
        owned(&[
            (
                "Discovery",
                &[
                    "Tenant assessment",
                    "Licence inventory",
                    "Project_Management"
                ]
            ),
            (
                "Migration",
                &[
                    "Mailbox migration",
                    "Pilot group",
                    "Cut-over",
                    "SharePoint migration",
                    "Project_Management"
                ]
            ),
        ])
    );
}

#[tokio::test]
async fn resubmit_sends_only_new_services() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    let o = options(TaskMode::PerService, false, false);
    let mut project = sample_project();
    let first = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &project,
        &o,
        None,
    )
    .await
    .expect("first push");

    // Nothing new: nothing written, the membership only read to check it.
    sim.clear_requests();
    let again = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &project,
        &o,
        None,
    )
    .await
    .expect("no-op push");
    assert_eq!(again.created, 0);
    assert_eq!(again.project_id, first.project_id);
    let calls: Vec<String> = sim
        .api_requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(calls, [format!("GET /api/Projects/{}", first.project_id)]);

    project.services.push(Service {
        id: "sv-4".into(),
        name: "Teams roll-out".into(),
        phase_id: "ph-2".into(),
        description: Some("Teams and channels for each department".into()),
        hours: Decimal::new(10, 0),
        sub_services: vec![],
    });
    sim.clear_requests();
    let resubmit = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &project,
        &o,
        None,
    )
    .await
    .expect("resubmit");
    assert_eq!(resubmit.created, 1);
    assert_eq!(resubmit.project_id, first.project_id);
    let sent = requests(&sim);
    assert_no_secrets(&sim, &serde_json::to_string(&sent).unwrap());
    insta::assert_yaml_snapshot!("resubmit", sent);

    let tree = sim.project_tree();
    assert_eq!(tree.len(), 1);
    assert_eq!(
        outline(&tree[0]),
        owned(&[
            ("Discovery", &["Tenant assessment"]),
            (
                "Migration",
                &[
                    "Mailbox migration",
                    "SharePoint migration",
                    "Teams roll-out"
                ]
            ),
        ])
    );
    let links = host
        .store
        .links(&conn.id, &project.id)
        .await
        .expect("links");
    assert!(links.contains(&ItemRef::Service("sv-4".into())));
}

async fn resume_after_failure(config: HaloPsaSimConfig) {
    let sim = HaloPsaSim::start(config).await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    let o = options(TaskMode::PerService, true, true);

    sim.fail_on_ticket_create(3);
    let err = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &o,
        None,
    )
    .await
    .expect_err("the third task fails");
    assert!(matches!(err, Error::Connector(_)), "{err:?}");
    let partial = sim.project_tree();
    assert_eq!(partial.len(), 1);
    assert_eq!(partial[0].all_tasks().len(), 2);

    let report = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &o,
        None,
    )
    .await
    .expect("second push completes");
    assert_eq!(report.project_id, partial[0].id.to_string());

    let tree = sim.project_tree();
    assert_eq!(tree.len(), 1, "one project, not two");
    assert!(tree[0].unassigned.is_empty(), "{:?}", tree[0].unassigned);
    assert_eq!(
        outline(&tree[0]),
        owned(&[
            (
                "Discovery",
                &[
                    "Tenant assessment",
                    "Licence inventory",
                    "Project_Management"
                ]
            ),
            (
                "Migration",
                &[
                    "Mailbox migration",
                    "Pilot group",
                    "Cut-over",
                    "SharePoint migration",
                    "Project_Management"
                ]
            ),
        ])
    );
    // project + 8 tasks, nothing else.
    assert_eq!(sim.ticket_count(), 9);
}

#[tokio::test]
async fn failure_halfway_then_push_again_completes_without_duplicates() {
    resume_after_failure(HaloPsaSimConfig::default()).await;
}

#[tokio::test]
async fn milestones_work_whether_posting_appends_or_replaces_and_with_or_without_echo() {
    for (mode, echo) in [
        (MilestonePost::Replace, false),
        (MilestonePost::Append, true),
        (MilestonePost::Append, false),
    ] {
        resume_after_failure(HaloPsaSimConfig {
            milestone_post: mode,
            echo_milestones: echo,
            ..HaloPsaSimConfig::default()
        })
        .await;
    }
}

#[tokio::test]
async fn a_failed_post_is_not_retried_and_the_next_push_creates_it_once() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    let o = options(TaskMode::PerService, false, false);
    // The project POST gets a 503: the runtime retries 503 for reads, but a
    // POST that may have created something is not sent twice.
    sim.fail_next(1, 503);
    sim.clear_requests();
    push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &o,
        None,
    )
    .await
    .expect_err("project creation fails");
    let posts: Vec<_> = sim
        .api_requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| (r.path, r.status))
        .collect();
    assert_eq!(posts, vec![("/api/Projects".to_string(), 503)]);
    assert_eq!(sim.ticket_count(), 0);

    push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &o,
        None,
    )
    .await
    .expect("second push");
    assert_eq!(sim.project_tree().len(), 1);
    assert_eq!(sim.ticket_count(), 4);
}

#[tokio::test]
async fn unapproved_projects_are_refused_before_any_call() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    sim.clear_requests();
    let mut project = sample_project();
    project.status = ProjectStatus::PendingApproval;
    let err = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &project,
        &options(TaskMode::PerService, false, false),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Mapping(MappingError::NotApproved { .. })),
        "{err:?}"
    );
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn connections_that_are_not_connected_are_refused() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let host = Host::new();
    // Created but never tested: Untested.
    let conn = host.create(&sim.uri()).await;
    let err = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(TaskMode::PerService, false, false),
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotConnected { .. }), "{err:?}");
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn a_missing_project_ticket_type_is_a_setting_to_fix() {
    let sim = HaloPsaSim::start_default().await;
    let mut settings = common::settings(&sim.uri());
    settings.project_ticket_type_id = None;
    let halo = common::connector_with(settings, common::credentials());
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    let err = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &options(TaskMode::PerService, false, false),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connector(scopelink_core::ConnectorError::InvalidConfig {
                field: "project_ticket_type_id",
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(sim.ticket_count(), 0);
}

#[tokio::test]
async fn a_rejected_ticket_keeps_halos_message() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    let mut o = options(TaskMode::PerService, false, false);
    o.company_id = "99".into(); // no such client
    let err = push_project(
        &Access::full(),
        host.store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &o,
        None,
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("Please select a Customer before saving this Ticket."),
        "{text}"
    );
    assert!(matches!(
        err,
        Error::Connector(scopelink_core::ConnectorError::Rejected { .. })
    ));
}
