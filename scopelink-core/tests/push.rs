//! The push driver against a PSA that records every creation: the tree each
//! task mode creates, resuming after a failure without duplicates,
//! resubmitting with a new service, and the refusals.

mod common;

use common::*;
use rust_decimal::Decimal;
use scopelink_core::access::Access;
use scopelink_core::activity::ActivityKind;
use scopelink_core::mapping::{sample_project, ItemRef, PushOptions, TaskMode};
use scopelink_core::model::{ProjectStatus, ScopingProject, Service};
use scopelink_core::push::{push_project, PushProgress, PushReport};
use scopelink_core::store::ConnectionStore;
use scopelink_core::store::LinkStore;
use scopelink_core::{
    Connection, ConnectionEvent, ConnectionStatus, ConnectorError, Error, FeatureCategory,
    HttpError, MappingError, Provider,
};
use std::collections::BTreeSet;
use std::sync::Mutex;

const PSA: &[FeatureCategory] = &[FeatureCategory::Crm, FeatureCategory::Psa];

fn options(mode: TaskMode, subs: bool, governance: bool) -> PushOptions {
    PushOptions {
        task_mode: mode,
        include_sub_services: subs,
        include_governance: governance,
        ..PushOptions::for_company("250")
    }
}

/// Every mode, with sub-services and governance where they apply.
fn all_options() -> Vec<(&'static str, PushOptions)> {
    vec![
        ("per_service", options(TaskMode::PerService, false, false)),
        (
            "per_service_subs_governance",
            options(TaskMode::PerService, true, true),
        ),
        ("per_phase", options(TaskMode::PerPhase, false, true)),
        (
            "services_and_sub_services",
            options(TaskMode::ServicesAndSubServices, false, true),
        ),
    ]
}

async fn setup() -> (Env, Connection) {
    let env = Env::new();
    let conn = env.connected(Provider::ConnectWiseManage, PSA).await;
    (env, conn)
}

async fn push(
    env: &Env,
    conn: &Connection,
    psa: &FakePsa,
    project: &ScopingProject,
    options: &PushOptions,
) -> Result<PushReport, Error> {
    push_project(
        &Access::full(),
        env.store.as_ref(),
        &conn.id,
        psa,
        project,
        options,
        None,
    )
    .await
}

/// What a call creates, independent of the ids assigned.
fn identity(call: &PsaCall) -> (&'static str, String) {
    (call.op, call.name.clone())
}

/// Checks that every call goes into objects that exist: the project, its
/// milestones and (for project tasks) a task created before.
fn assert_tree(calls: &[PsaCall]) {
    let projects: Vec<&str> = calls
        .iter()
        .filter(|c| c.op == "create_project")
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(projects.len(), 1, "{calls:#?}");
    let mut seen = BTreeSet::new();
    for c in calls {
        match c.op {
            "create_project" => {}
            "create_milestone" => {
                assert_eq!(c.project_id.as_deref(), Some(projects[0]), "{c:?}");
            }
            "create_task" => {
                assert_eq!(c.project_id.as_deref(), Some(projects[0]), "{c:?}");
                let m = c.milestone_id.as_deref().unwrap();
                assert!(seen.contains(m), "task {c:?} in an unknown milestone");
                if let Some(parent) = c.parent_id.as_deref() {
                    assert!(seen.contains(parent), "task {c:?} under an unknown task");
                }
            }
            other => panic!("unexpected call {other}"),
        }
        assert!(seen.insert(c.id.clone()), "id {} assigned twice", c.id);
    }
}

#[tokio::test]
async fn each_task_mode_creates_its_tree_and_links_it() {
    for (name, opts) in all_options() {
        let (env, conn) = setup().await;
        let psa = FakePsa::new();
        let created: Mutex<Vec<PushProgress>> = Mutex::new(Vec::new());
        let progress = |p: &PushProgress| created.lock().unwrap().push(p.clone());
        let report = push_project(
            &Access::full(),
            env.store.as_ref(),
            &conn.id,
            &psa,
            &sample_project(),
            &opts,
            Some(&progress),
        )
        .await
        .unwrap();
        let calls = psa.calls();
        assert_tree(&calls);
        assert_eq!(report.project_id, "P1", "{name}");
        assert_eq!(report.created, calls.len(), "{name}");
        assert_eq!(report.plan.creations(), calls.len(), "{name}");
        let progress = created.into_inner().unwrap();
        assert_eq!(progress.len(), calls.len(), "{name}");
        assert_eq!(progress.last().unwrap().created, calls.len());
        assert!(progress.iter().all(|p| p.total == calls.len()));

        // Every created object is linked; pushing again creates nothing.
        let links = env.store.links(&conn.id, "sp-100").await.unwrap();
        for p in &progress {
            assert_eq!(links.get(&p.item), Some(p.psa_id.as_str()), "{name}");
        }
        let again = push(&env, &conn, &psa, &sample_project(), &opts)
            .await
            .unwrap();
        assert_eq!(again.created, 0, "{name}");
        assert!(again.plan.is_empty(), "{name}");
        assert_eq!(psa.calls().len(), calls.len(), "{name}: created twice");

        insta::assert_yaml_snapshot!(format!("tree_{name}"), calls);
    }
}

#[tokio::test]
async fn per_phase_links_every_folded_service_to_the_phase_task() {
    let (env, conn) = setup().await;
    let psa = FakePsa::new();
    push(
        &env,
        &conn,
        &psa,
        &sample_project(),
        &options(TaskMode::PerPhase, false, false),
    )
    .await
    .unwrap();
    let links = env.store.links(&conn.id, "sp-100").await.unwrap();
    let phase2 = links.get(&ItemRef::PhaseTask("ph-2".into())).unwrap();
    assert_eq!(links.get(&ItemRef::Service("sv-2".into())), Some(phase2));
    assert_eq!(links.get(&ItemRef::Service("sv-3".into())), Some(phase2));
    assert_eq!(
        links.get(&ItemRef::Service("sv-1".into())),
        links.get(&ItemRef::PhaseTask("ph-1".into()))
    );
}

#[tokio::test]
async fn a_failed_push_resumes_without_creating_anything_twice() {
    for (name, opts) in all_options() {
        let total = {
            let (env, conn) = setup().await;
            let psa = FakePsa::new();
            push(&env, &conn, &psa, &sample_project(), &opts)
                .await
                .unwrap();
            psa.calls()
        };
        // Fail at every point of the push in turn.
        for n in 1..=total.len() {
            let (env, conn) = setup().await;
            let psa = FakePsa::new();
            psa.fail_on(n);
            let err = push(&env, &conn, &psa, &sample_project(), &opts)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Connector(ConnectorError::Http(HttpError::Status { status: 500, .. }))
                ),
                "{name}/{n}: {err:?}"
            );
            let first = psa.calls();
            assert_eq!(first.len(), n - 1, "{name}/{n}");
            // What was created before the failure is linked.
            let links = env.store.links(&conn.id, "sp-100").await.unwrap();
            let linked: BTreeSet<&str> = links.items.values().map(String::as_str).collect();
            for c in &first {
                assert!(
                    linked.contains(c.id.as_str()),
                    "{name}/{n}: {c:?} not linked"
                );
            }
            assert!(matches!(
                env.kinds(&conn.id).await.last(),
                Some(ActivityKind::ProjectPushFailed { .. })
            ));

            let report = push(&env, &conn, &psa, &sample_project(), &opts)
                .await
                .unwrap();
            let all = psa.calls();
            assert_eq!(report.created, total.len() - (n - 1), "{name}/{n}");
            assert_tree(&all);
            let mut made: Vec<_> = all.iter().map(identity).collect();
            let mut expected: Vec<_> = total.iter().map(identity).collect();
            made.sort();
            expected.sort();
            assert_eq!(made, expected, "{name}/{n}: not each item exactly once");
            // The tree has the same shape as an uninterrupted push's.
            assert_eq!(all, total, "{name}/{n}");
            assert!(matches!(
                env.kinds(&conn.id).await.last(),
                Some(ActivityKind::ProjectPushed { created, .. }) if *created == report.created
            ));
        }
    }
}

#[tokio::test]
async fn a_failure_between_a_service_and_its_sub_services_resumes_under_it() {
    let (env, conn) = setup().await;
    let psa = FakePsa::new();
    let opts = options(TaskMode::PerService, true, true);
    // P1, M1, T1 assessment, T2 licences, T3 governance, M2, T4 mailbox,
    // T5 pilot, then the cut-over fails.
    psa.fail_on(9);
    push(&env, &conn, &psa, &sample_project(), &opts)
        .await
        .unwrap_err();
    let first = psa.take_calls();
    assert_eq!(first.last().unwrap().name, "Pilot group");
    let report = push(&env, &conn, &psa, &sample_project(), &opts)
        .await
        .unwrap();
    assert_eq!(report.project_id, "P1");
    assert_eq!(report.created, 3);
    insta::assert_yaml_snapshot!("resume_after_sub_service_failure", psa.calls());
}

fn teams_rollout() -> Service {
    Service {
        id: "sv-4".into(),
        name: "Teams roll-out".into(),
        phase_id: "ph-2".into(),
        description: Some("Pilot then company-wide".into()),
        hours: Decimal::new(10, 0),
        sub_services: vec![],
    }
}

#[tokio::test]
async fn resubmit_adds_only_the_new_service_under_its_milestone() {
    let (env, conn) = setup().await;
    let psa = FakePsa::new();
    let opts = options(TaskMode::PerService, false, true);
    let mut project = sample_project();
    push(&env, &conn, &psa, &project, &opts).await.unwrap();
    let first = psa.take_calls();
    let migration = first
        .iter()
        .find(|c| c.op == "create_milestone" && c.name == "Migration")
        .unwrap()
        .id
        .clone();

    project.services.push(teams_rollout());
    let report = push(&env, &conn, &psa, &project, &opts).await.unwrap();
    assert_eq!(report.created, 1);
    assert_eq!(report.project_id, "P1");
    let calls = psa.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].op, "create_task");
    assert_eq!(calls[0].name, "Teams roll-out");
    assert_eq!(calls[0].project_id.as_deref(), Some("P1"));
    assert_eq!(calls[0].milestone_id.as_deref(), Some(migration.as_str()));
    assert_eq!(calls[0].parent_id, None);
    let links = env.store.links(&conn.id, "sp-100").await.unwrap();
    assert_eq!(
        links.get(&ItemRef::Service("sv-4".into())),
        Some(calls[0].id.as_str())
    );
    insta::assert_yaml_snapshot!("resubmit_new_service", calls);
}

#[tokio::test]
async fn per_phase_resubmit_leaves_the_existing_phase_task_alone() {
    let (env, conn) = setup().await;
    let psa = FakePsa::new();
    let opts = options(TaskMode::PerPhase, false, false);
    let mut project = sample_project();
    push(&env, &conn, &psa, &project, &opts).await.unwrap();
    psa.take_calls();
    project.services.push(teams_rollout());
    let report = push(&env, &conn, &psa, &project, &opts).await.unwrap();
    assert_eq!(report.created, 1);
    let calls = psa.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "Migration");
    assert_eq!(calls[0].milestone_id.as_deref(), Some("M2"));
    let links = env.store.links(&conn.id, "sp-100").await.unwrap();
    assert_eq!(
        links.get(&ItemRef::PhaseTask("ph-2+sv-4".into())),
        Some(calls[0].id.as_str())
    );
    assert_eq!(
        links.get(&ItemRef::Service("sv-4".into())),
        Some(calls[0].id.as_str())
    );
    assert_ne!(
        links.get(&ItemRef::PhaseTask("ph-2".into())),
        Some(calls[0].id.as_str())
    );
}

#[tokio::test]
async fn refuses_unless_connected_and_approved() {
    let (env, conn) = setup().await;
    let psa = FakePsa::new();
    let opts = options(TaskMode::PerService, false, false);

    // Not approved.
    let mut pending = sample_project();
    pending.status = ProjectStatus::PendingApproval;
    let err = push(&env, &conn, &psa, &pending, &opts).await.unwrap_err();
    assert!(
        matches!(err, Error::Mapping(MappingError::NotApproved { ref project }) if project == "Acme Microsoft 365 Migration"),
        "{err:?}"
    );

    // Connection Error.
    env.connections
        .mark_error(&Access::full(), &conn.id, "401")
        .await
        .unwrap();
    let err = push(&env, &conn, &psa, &sample_project(), &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NotConnected { ref connection, ref status, .. } if connection == &conn.id && status == "Connection Error"),
        "{err:?}"
    );

    // Disabled.
    env.connections
        .disable(&Access::full(), &conn.id)
        .await
        .unwrap();
    let err = push(&env, &conn, &psa, &sample_project(), &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NotConnected { ref status, .. } if status == "Disabled"),
        "{err:?}"
    );

    // Untested (just created).
    let untested = env
        .connections
        .create(
            &Access::full(),
            new_connection(Provider::ConnectWiseManage, PSA),
        )
        .await
        .unwrap();
    let err = push(&env, &untested, &psa, &sample_project(), &opts)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NotConnected { ref status, .. } if status == "Untested"),
        "{err:?}"
    );

    // Connected, but without PSA enabled.
    let crm_only = env
        .connected(Provider::ConnectWiseManage, &[FeatureCategory::Crm])
        .await;
    let err = push(&env, &crm_only, &psa, &sample_project(), &opts)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotConnected { .. }), "{err:?}");

    assert!(psa.calls().is_empty());
    for id in [&conn.id, &untested.id, &crm_only.id] {
        assert!(env
            .store
            .links(id, "sp-100")
            .await
            .unwrap()
            .items
            .is_empty());
    }
}

#[tokio::test]
async fn rejected_credentials_mid_push_put_the_connection_in_error_and_reconnect_resumes() {
    let (env, conn) = setup().await;
    let mut events = env.connections.subscribe();
    let psa = FakePsa::new();
    let opts = options(TaskMode::PerService, false, false);
    // The project and its first milestone are created, then the keys stop
    // working.
    psa.reject_credentials_from(3);
    let err = env
        .connections
        .push_project(
            &Access::full(),
            &conn.id,
            &psa,
            &sample_project(),
            &opts,
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Connector(ConnectorError::Authentication { .. })),
        "{err:?}"
    );
    let now = env.store.connection(&conn.id).await.unwrap().unwrap();
    let ConnectionStatus::ConnectionError { reason, .. } = &now.status else {
        panic!("expected Connection Error, got {:?}", now.status);
    };
    assert!(reason.contains("keys were revoked"), "{reason}");
    match events.try_recv() {
        Ok(ConnectionEvent::EnteredError {
            connection_id,
            reason: announced,
            ..
        }) => {
            assert_eq!(connection_id, conn.id);
            assert_eq!(&announced, reason);
        }
        other => panic!("expected an EnteredError event, got {other:?}"),
    }
    assert_eq!(psa.calls().len(), 2, "the project and one milestone");

    // While in error, a push is refused before any request.
    let refused = env
        .connections
        .push_project(
            &Access::full(),
            &conn.id,
            &psa,
            &sample_project(),
            &opts,
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::NotConnected { .. }), "{refused:?}");

    // The free function leaves the status alone (hosts that manage it
    // themselves): checked on a second connection.
    let other = env.connected(Provider::ConnectWiseManage, PSA).await;
    let err = push_project(
        &Access::full(),
        env.store.as_ref(),
        &other.id,
        &psa,
        &sample_project(),
        &opts,
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(
        err,
        Error::Connector(ConnectorError::Authentication { .. })
    ));
    let other_now = env.store.connection(&other.id).await.unwrap().unwrap();
    assert_eq!(other_now.status, ConnectionStatus::Connected);
}
