//! The push driver's placement step ([`PsaProjects::place_tasks`]): after
//! every push, resumed push and resubmit it hands the PSA every task linked
//! so far with the milestone it was created for, and a placement failure
//! fails the push and is retried by the next one.

mod common;

use common::*;
use rust_decimal::Decimal;
use scopelink_core::access::Access;
use scopelink_core::connector::{PsaProjects, PushLookups, TaskPlacement, TaskTarget};
use scopelink_core::mapping::{
    sample_project, PlannedMilestone, PlannedTask, PsaPlan, PushOptions, TaskMode,
};
use scopelink_core::model::Service;
use scopelink_core::push::push_project;
use scopelink_core::{async_trait, ConnectorError, Error, FeatureCategory, Provider};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// (task id, milestone id) pairs.
type Placed = BTreeSet<(String, String)>;

/// A [`FakePsa`] that also records each `place_tasks` call and can fail the
/// next one.
struct PlacingPsa {
    inner: FakePsa,
    placed: Mutex<Vec<(String, Placed)>>,
    fail_next_placement: Mutex<bool>,
}

impl PlacingPsa {
    fn new() -> Self {
        Self {
            inner: FakePsa::new(),
            placed: Mutex::new(Vec::new()),
            fail_next_placement: Mutex::new(false),
        }
    }

    /// (task id, milestone id) of every task created so far.
    fn created_tasks(&self) -> Placed {
        self.inner
            .calls()
            .into_iter()
            .filter(|c| c.op == "create_task")
            .map(|c| (c.id, c.milestone_id.unwrap_or_default()))
            .collect()
    }

    fn last_placement(&self) -> (String, Placed) {
        self.placed.lock().unwrap().last().cloned().expect("placed")
    }
}

#[async_trait]
impl PsaProjects for PlacingPsa {
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
        self.inner.create_task(plan, target, task).await
    }

    async fn place_tasks(
        &self,
        project_id: &str,
        tasks: &[TaskPlacement],
    ) -> Result<(), ConnectorError> {
        if std::mem::take(&mut *self.fail_next_placement.lock().unwrap()) {
            return Err(ConnectorError::Rejected {
                message: "task T1 is not in milestone M1".into(),
            });
        }
        let set: Placed = tasks
            .iter()
            .map(|t| (t.task_id.clone(), t.milestone_id.clone()))
            .collect();
        assert_eq!(set.len(), tasks.len(), "each task once: {tasks:?}");
        self.placed
            .lock()
            .unwrap()
            .push((project_id.to_string(), set));
        Ok(())
    }
}

fn options(mode: TaskMode) -> PushOptions {
    PushOptions {
        task_mode: mode,
        include_sub_services: true,
        include_governance: true,
        ..PushOptions::for_company("250")
    }
}

#[tokio::test]
async fn every_created_task_is_placed_in_the_milestone_it_was_created_for() {
    for mode in [
        TaskMode::PerService,
        TaskMode::PerPhase,
        TaskMode::ServicesAndSubServices,
    ] {
        let env = Env::new();
        let conn = env
            .connected(
                Provider::HaloPsa,
                &[FeatureCategory::Crm, FeatureCategory::Psa],
            )
            .await;
        let psa = PlacingPsa::new();
        let report = push_project(
            &Access::full(),
            env.store.as_ref(),
            &conn.id,
            &psa,
            &sample_project(),
            &options(mode),
            None,
        )
        .await
        .expect("push");
        let (project, placed) = psa.last_placement();
        assert_eq!(project, report.project_id);
        assert!(!placed.is_empty());
        assert_eq!(placed, psa.created_tasks(), "{mode:?}");
    }
}

#[tokio::test]
async fn a_resumed_push_places_the_tasks_of_the_failed_attempt_too() {
    let env = Env::new();
    let conn = env
        .connected(
            Provider::HaloPsa,
            &[FeatureCategory::Crm, FeatureCategory::Psa],
        )
        .await;
    let psa = PlacingPsa::new();
    let o = options(TaskMode::PerService);
    // Project, milestone, two tasks, then the fifth creation fails.
    psa.inner.fail_on(5);
    let err = push_project(
        &Access::full(),
        env.store.as_ref(),
        &conn.id,
        &psa,
        &sample_project(),
        &o,
        None,
    )
    .await
    .expect_err("fails halfway");
    assert!(matches!(err, Error::Connector(_)), "{err:?}");
    assert!(psa.placed.lock().unwrap().is_empty(), "nothing placed yet");

    push_project(
        &Access::full(),
        env.store.as_ref(),
        &conn.id,
        &psa,
        &sample_project(),
        &o,
        None,
    )
    .await
    .expect("resumed push");
    let (_, placed) = psa.last_placement();
    assert_eq!(placed, psa.created_tasks());
    assert_eq!(placed.len(), 8);
}

#[tokio::test]
async fn a_failed_placement_fails_the_push_and_the_next_push_places_everything() {
    let env = Env::new();
    let conn = env
        .connected(
            Provider::HaloPsa,
            &[FeatureCategory::Crm, FeatureCategory::Psa],
        )
        .await;
    let psa = PlacingPsa::new();
    let o = options(TaskMode::PerService);
    *psa.fail_next_placement.lock().unwrap() = true;
    let err = push_project(
        &Access::full(),
        env.store.as_ref(),
        &conn.id,
        &psa,
        &sample_project(),
        &o,
        None,
    )
    .await
    .expect_err("placement fails");
    assert!(
        matches!(err, Error::Connector(ConnectorError::Rejected { .. })),
        "{err:?}"
    );
    let created = psa.created_tasks();

    let again = push_project(
        &Access::full(),
        env.store.as_ref(),
        &conn.id,
        &psa,
        &sample_project(),
        &o,
        None,
    )
    .await
    .expect("pushing again");
    assert_eq!(again.created, 0, "nothing created twice");
    assert_eq!(psa.created_tasks(), created);
    assert_eq!(psa.last_placement().1, created);
}

#[tokio::test]
async fn a_resubmit_places_old_and_new_tasks() {
    let env = Env::new();
    let conn = env
        .connected(
            Provider::HaloPsa,
            &[FeatureCategory::Crm, FeatureCategory::Psa],
        )
        .await;
    let psa = PlacingPsa::new();
    let o = options(TaskMode::PerService);
    let mut project = sample_project();
    push_project(
        &Access::full(),
        env.store.as_ref(),
        &conn.id,
        &psa,
        &project,
        &o,
        None,
    )
    .await
    .expect("first push");
    project.services.push(Service {
        id: "sv-9".into(),
        name: "Teams roll-out".into(),
        phase_id: "ph-2".into(),
        description: None,
        hours: Decimal::new(10, 0),
        sub_services: vec![],
    });
    let resubmit = push_project(
        &Access::full(),
        env.store.as_ref(),
        &conn.id,
        &psa,
        &project,
        &o,
        None,
    )
    .await
    .expect("resubmit");
    assert_eq!(resubmit.created, 1);
    let (_, placed) = psa.last_placement();
    assert_eq!(placed, psa.created_tasks());
    assert_eq!(placed.len(), 9);
}
