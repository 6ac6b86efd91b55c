//! Pushing a scoping project to the Autotask simulator through the core's
//! push driver: the mapping, resubmits and a push that fails halfway.

mod common;

use common::setup;
use scopelink_autotask::AutotaskConnector;
use scopelink_core::access::Access;
use scopelink_core::connector::{PsaProjects, PushLookups, TaskTarget};
use scopelink_core::error::ConnectorError;
use scopelink_core::mapping::{
    sample_project, PlannedMilestone, PlannedTask, PsaPlan, PushOptions, TaskMode,
    GOVERNANCE_TASK_NAME,
};
use scopelink_core::model::{Service, SubService};
use scopelink_core::push::push_project;
use scopelink_testkit::autotask::AutotaskSimConfig;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};

fn options(company: i64) -> PushOptions {
    let mut o = PushOptions::for_company(company.to_string());
    o.task_mode = TaskMode::PerService;
    o.include_sub_services = true;
    o.include_governance = true;
    o.estimated_start = chrono::NaiveDate::from_ymd_opt(2026, 4, 1);
    o
}

/// (phase title, task title) pairs as the simulator holds them, sorted.
fn tree(sim: &scopelink_testkit::autotask::AutotaskSim) -> Vec<(String, String)> {
    let phases = sim.phases();
    let title = |v: &Value| v["title"].as_str().unwrap_or_default().to_string();
    let mut out: Vec<(String, String)> = sim
        .tasks()
        .iter()
        .map(|t| {
            let phase = phases
                .iter()
                .find(|p| p["id"] == t["phaseID"])
                .map(title)
                .unwrap_or_default();
            (phase, title(t))
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_project_becomes_phases_and_tasks_and_a_resubmit_adds_only_new_services() {
    let s = setup(AutotaskSimConfig::default()).await;
    let company = s.sim.companies()[0]["id"].as_i64().unwrap();
    let mut project = sample_project();
    let report = push_project(
        &Access::full(),
        s.env.store.as_ref(),
        &s.conn,
        &s.at,
        &project,
        &options(company),
        None,
    )
    .await
    .unwrap();
    let projects = s.sim.projects();
    assert_eq!(projects.len(), 1);
    let p = &projects[0];
    assert_eq!(p["id"].to_string(), report.project_id);
    assert_eq!(p["companyID"], company);
    assert_eq!(p["projectName"], project.name.as_str());
    assert_eq!(p["status"], 1, "the picklist default, New");
    assert_eq!(p["projectType"], 4, "the picklist default, Client");
    insta::assert_yaml_snapshot!("pushed_tree", tree(&s.sim));
    let governance = tree(&s.sim)
        .into_iter()
        .filter(|(_, t)| t == GOVERNANCE_TASK_NAME)
        .count();
    assert_eq!(governance, 2);

    // Resubmit with one more service: only it is added.
    let before = s.sim.tasks().len();
    project.services.push(Service {
        id: "sv-new".into(),
        name: "Teams rollout".into(),
        phase_id: "ph-2".into(),
        description: None,
        hours: rust_decimal::Decimal::new(8, 0),
        sub_services: vec![SubService {
            id: "ss-new".into(),
            name: "Champions training".into(),
            hours: rust_decimal::Decimal::new(2, 0),
        }],
    });
    let again = push_project(
        &Access::full(),
        s.env.store.as_ref(),
        &s.conn,
        &s.at,
        &project,
        &options(company),
        None,
    )
    .await
    .unwrap();
    assert_eq!(again.project_id, report.project_id);
    assert_eq!(again.created, 2);
    assert_eq!(s.sim.tasks().len(), before + 2);
    assert_eq!(s.sim.projects().len(), 1);
    let titles: Vec<String> = tree(&s.sim).into_iter().map(|(_, t)| t).collect();
    assert!(titles.contains(&"Teams rollout / Champions training".to_string()));
}

/// The connector, failing its `fail_at`-th task creation (as a dropped
/// connection would) without sending it.
struct FailingOnce {
    inner: AutotaskConnector,
    tasks: AtomicUsize,
    fail_at: usize,
}

#[scopelink_core::async_trait]
impl PsaProjects for FailingOnce {
    async fn push_lookups(&self) -> Result<PushLookups, ConnectorError> {
        self.inner.push_lookups().await
    }
    async fn create_project(&self, plan: &PsaPlan) -> Result<String, ConnectorError> {
        self.inner.create_project(plan).await
    }
    async fn create_milestone(
        &self,
        plan: &PsaPlan,
        project_id: &str,
        milestone: &PlannedMilestone,
    ) -> Result<String, ConnectorError> {
        self.inner
            .create_milestone(plan, project_id, milestone)
            .await
    }
    async fn create_task(
        &self,
        plan: &PsaPlan,
        target: TaskTarget<'_>,
        task: &PlannedTask,
    ) -> Result<String, ConnectorError> {
        if self.tasks.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(ConnectorError::Rejected {
                message: "injected failure".into(),
            });
        }
        self.inner.create_task(plan, target, task).await
    }
}

#[tokio::test]
async fn a_push_that_fails_halfway_resumes_without_duplicates() {
    let s = setup(AutotaskSimConfig::default()).await;
    let company = s.sim.companies()[0]["id"].as_i64().unwrap();
    let project = sample_project();
    let failing = FailingOnce {
        inner: s.at.clone(),
        tasks: AtomicUsize::new(0),
        fail_at: 4,
    };
    let err = push_project(
        &Access::full(),
        s.env.store.as_ref(),
        &s.conn,
        &failing,
        &project,
        &options(company),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert_eq!(s.sim.tasks().len(), 3);

    // An Autotask-side failure on the next attempt: the refused create is
    // not retried (it may have been processed) and the push stops.
    s.sim.fail_next(1, 500);
    assert!(push_project(
        &Access::full(),
        s.env.store.as_ref(),
        &s.conn,
        &s.at,
        &project,
        &options(company),
        None,
    )
    .await
    .is_err());
    assert_eq!(s.sim.tasks().len(), 3);

    // Pushing again finishes the job: the same project, no task twice.
    let done = push_project(
        &Access::full(),
        s.env.store.as_ref(),
        &s.conn,
        &s.at,
        &project,
        &options(company),
        None,
    )
    .await
    .unwrap();
    assert_eq!(s.sim.projects().len(), 1);
    assert_eq!(done.project_id, s.sim.projects()[0]["id"].to_string());
    let tree = tree(&s.sim);
    let mut unique = tree.clone();
    unique.dedup();
    assert_eq!(tree, unique, "no task was created twice");
    insta::assert_yaml_snapshot!("pushed_tree_after_resume", tree);
}

#[tokio::test]
async fn the_push_form_lists_companies_statuses_and_types() {
    let s = setup(AutotaskSimConfig::default()).await;
    let lookups = s.at.push_lookups().await.unwrap();
    let active = s
        .sim
        .companies()
        .iter()
        .filter(|c| c["isActive"] == true)
        .count();
    assert_eq!(lookups.companies.len(), active);
    let names = |items: &[scopelink_core::connector::LookupItem]| {
        items.iter().map(|i| i.name.clone()).collect::<Vec<_>>()
    };
    assert!(names(&lookups.statuses).contains(&"New".to_string()));
    assert!(names(&lookups.extra["project_types"]).contains(&"Client".to_string()));
    assert!(names(&lookups.extra["task_types"]).contains(&"Fixed Work".to_string()));
    assert!(names(&lookups.extra["task_statuses"]).contains(&"New".to_string()));
}
