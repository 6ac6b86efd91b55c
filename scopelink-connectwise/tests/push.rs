//! Pushing a scoping project through the core's push driver: the requests'
//! bodies in order, the resubmit that adds only the new service's ticket,
//! the push form's lookups and the refusals.

mod common;

use chrono::NaiveDate;
use common::*;
use rust_decimal::Decimal;
use scopelink_connectwise::ConnectWiseConnector;
use scopelink_core::access::Access;
use scopelink_core::connector::{LookupItem, PsaProjects};
use scopelink_core::mapping::{sample_project, PushOptions, TaskMode};
use scopelink_core::model::Service;
use scopelink_core::push::push_project;
use scopelink_core::{ConnectorError, Error};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Answers POSTs with `{"id": next}` (and the request's fields).
fn counter(start: u64) -> impl Fn(&Request) -> ResponseTemplate + Send + Sync + 'static {
    let next = Arc::new(AtomicU64::new(start));
    move |r: &Request| {
        let mut body: Value = serde_json::from_slice(&r.body).unwrap_or(json!({}));
        body["id"] = json!(next.fetch_add(1, Ordering::SeqCst));
        ResponseTemplate::new(201).set_body_json(body)
    }
}

async fn mount_creations(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("{API}/project/projects")))
        .and(wiremock::matchers::header("Authorization", EXPECTED_AUTH))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json(fixture!("project_created.json"))),
        )
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/project/projects/412/phases")))
        .respond_with(counter(1604))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/project/tickets")))
        .respond_with(counter(90871))
        .mount(server)
        .await;
    mock_get(server, "/system/info", json(fixture!("system_info.json"))).await;
}

fn options() -> PushOptions {
    PushOptions {
        task_mode: TaskMode::PerService,
        include_sub_services: true,
        include_governance: true,
        estimated_start: NaiveDate::from_ymd_opt(2025, 5, 5),
        estimated_end: NaiveDate::from_ymd_opt(2025, 6, 27),
        company_id: "250".into(),
        status_id: Some("1".into()),
        priority_id: Some("8".into()),
    }
}

#[tokio::test]
async fn pushes_a_project_then_a_resubmit_adds_only_the_new_service() {
    let server = MockServer::start().await;
    mount_creations(&server).await;
    let env = Env::new();
    let conn = env.connection(&server).await;
    let cw = connector(&server);
    env.connections
        .test(&Access::full(), &conn.id, &cw)
        .await
        .unwrap();

    let mut project = sample_project();
    let report = push_project(
        &Access::full(),
        env.store.as_ref(),
        &conn.id,
        &cw,
        &project,
        &options(),
        None,
    )
    .await
    .expect("pushed");
    assert_eq!(report.project_id, "412");
    // project + 2 phases + (service, sub-service, governance) + (service, 2 sub-services, service, governance)
    assert_eq!(report.created, 11);

    let posted = bodies(&server, "POST").await;
    assert_eq!(posted.len(), 11);
    let text = serde_json::to_string(&posted).unwrap();
    assert_no_secret(&text);
    assert!(!text.contains(PUBLIC_KEY));
    // Sub-services are tickets of the same phase, named after their parent.
    assert_eq!(
        posted[3].1["summary"],
        json!("Tenant assessment - Licence inventory")
    );
    assert_eq!(posted[3].1["phase"], json!({"id": 1604}));
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("project_push_bodies", posted);
    });

    // Resubmit with one new service in the second phase.
    project.services.push(Service {
        id: "sv-4".into(),
        name: "Teams roll-out".into(),
        phase_id: "ph-2".into(),
        description: Some("Teams and calling plans".into()),
        hours: Decimal::new(10, 0),
        sub_services: vec![],
    });
    let report = push_project(
        &Access::full(),
        env.store.as_ref(),
        &conn.id,
        &cw,
        &project,
        &options(),
        None,
    )
    .await
    .expect("resubmitted");
    assert_eq!(report.created, 1);
    let posted = bodies(&server, "POST").await;
    assert_eq!(posted.len(), 12);
    let (p, body) = &posted[11];
    assert_eq!(p, &format!("{API}/project/tickets"));
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("project_resubmit_body", body);
    });
    assert_eq!(body["summary"], json!("Teams roll-out"));
    assert_eq!(body["phase"], json!({"id": 1605}));
    assert_eq!(body["project"], json!({"id": 412}));
    assert_eq!(body["budgetHours"], json!(10.0));
}

#[tokio::test]
async fn push_form_lookups() {
    let server = MockServer::start().await;
    mock_get(
        &server,
        "/company/companies",
        json(fixture!("companies_page1.json")),
    )
    .await;
    mock_get(
        &server,
        "/project/statuses",
        json(fixture!("project_statuses.json")),
    )
    .await;
    mock_get(
        &server,
        "/service/priorities",
        json!([{"id": 8, "name": "Priority 3 - Normal"}, {"id": 4, "name": "Priority 1 - Emergency"}]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/service/boards")))
        .and(query_param("conditions", "projectFlag=true"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json(fixture!("project_boards.json"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let lookups = connector(&server).push_lookups().await.expect("lookups");
    let names: Vec<&str> = lookups.companies.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Blue Fin Logistics, Inc.",
            "Northwind Dental Group",
            "Quartz & Vale LLP"
        ]
    );
    assert_eq!(lookups.statuses.len(), 3);
    assert_eq!(
        lookups.priorities[0],
        LookupItem {
            id: "8".into(),
            name: "Priority 3 - Normal".into()
        }
    );
    assert_eq!(
        lookups.extra["boards"],
        vec![
            LookupItem {
                id: "31".into(),
                name: "Projects - Onboarding".into()
            },
            LookupItem {
                id: "32".into(),
                name: "Projects - Infrastructure".into()
            },
        ]
    );
    let companies = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/company/companies"))
        .unwrap();
    assert!(companies.url.query().unwrap().contains("fields=id%2Cname"));
}

#[tokio::test]
async fn a_push_without_a_board_or_with_a_bad_company_is_refused_before_any_request() {
    let server = MockServer::start().await;
    mount_creations(&server).await;
    let env = Env::new();
    let conn = env.connection(&server).await;
    let mut settings = settings(&server);
    settings.board_id = None;
    let cw =
        ConnectWiseConnector::with_api_base(api_base(&server), settings, keys(), http_config())
            .unwrap();
    env.connections
        .test(&Access::full(), &conn.id, &cw)
        .await
        .unwrap();
    let err = push_project(
        &Access::full(),
        env.store.as_ref(),
        &conn.id,
        &cw,
        &sample_project(),
        &options(),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connector(ConnectorError::InvalidConfig {
                field: "board_id",
                ..
            })
        ),
        "{err:?}"
    );

    let mut bad = options();
    bad.company_id = "Northwind".into();
    let err = push_project(
        &Access::full(),
        env.store.as_ref(),
        &conn.id,
        &connector(&server),
        &sample_project(),
        &bad,
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connector(ConnectorError::InvalidConfig {
                field: "company_id",
                ..
            })
        ),
        "{err:?}"
    );
    assert!(bodies(&server, "POST").await.is_empty());
}
