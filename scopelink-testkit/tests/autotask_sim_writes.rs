//! The Autotask simulator's writes, webhooks and limits, against
//! Autotask's rules (`fixtures/autotask/README.md`). Plain reqwest.

use reqwest::{Method, StatusCode};
use scopelink_testkit::autotask::{hook_signature, AutotaskSim, AutotaskSimConfig};
use serde_json::{json, Value};
use std::time::Duration;

struct Api {
    sim: AutotaskSim,
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn start(config: AutotaskSimConfig) -> Self {
        let sim = AutotaskSim::start(config).await;
        let base = format!("{}v1.0/", sim.zone_url());
        Self {
            sim,
            http: reqwest::Client::new(),
            base,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let c = self.sim.config();
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("ApiIntegrationCode", c.integration_code)
            .header("UserName", c.username)
            .header("Secret", c.secret)
            .header("Content-Type", "application/json");
        if let Some(b) = body {
            rb = rb.body(b.to_string());
        }
        let resp = rb.send().await.expect("the simulator answers");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn error_text(body: &Value) -> String {
    body["errors"][0].as_str().unwrap_or("").to_string()
}

const COMPANY: i64 = 29_684_107;

#[tokio::test]
async fn a_project_with_phases_and_tasks_is_written_through_parent_urls() {
    let api = Api::start(AutotaskSimConfig::default()).await;
    let (status, created) = api
        .call(
            Method::POST,
            "Projects",
            Some(json!({
                "projectName": "Harbor & Pine - backup rollout",
                "companyID": COMPANY,
                "projectType": 4,
                "status": 1,
                "startDateTime": "2026-04-01T00:00:00Z",
                "endDateTime": "2026-05-01T00:00:00Z",
            })),
        )
        .await;
    assert_eq!(status, 200);
    let project = created["itemId"].as_i64().expect("itemId");

    let (status, phase) = api
        .call(
            Method::POST,
            &format!("Projects/{project}/Phases"),
            Some(json!({"title": "Discovery", "startDate": "2026-04-01T00:00:00"})),
        )
        .await;
    assert_eq!(status, 200);
    let phase = phase["itemId"].as_i64().unwrap();

    let task = json!({"title": "Install agents", "status": 1, "taskType": 1, "phaseID": phase, "estimatedHours": 6.5});
    let (status, _) = api.call(Method::POST, "Tasks", Some(task.clone())).await;
    assert_eq!(status, 404, "children are not written at their own root");

    let mut no_type = task.clone();
    no_type.as_object_mut().unwrap().remove("taskType");
    let (status, body) = api
        .call(
            Method::POST,
            &format!("Projects/{project}/Tasks"),
            Some(no_type),
        )
        .await;
    assert_eq!(status, 500);
    let sample: Value = serde_json::from_str(include_str!(
        "../../fixtures/autotask/error_500_validation.json"
    ))
    .unwrap();
    assert_eq!(body["errors"], sample["errors"]);

    let (status, body) = api
        .call(Method::POST, "Projects/999/Tasks", Some(task.clone()))
        .await;
    assert_eq!(status, 500, "unknown parent: {body}");

    let (status, created) = api
        .call(
            Method::POST,
            &format!("Projects/{project}/Tasks"),
            Some(task.clone()),
        )
        .await;
    assert_eq!(status, 200);
    let task_id = created["itemId"].as_i64().unwrap();

    let tasks = api.sim.tasks();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["projectID"], project, "parent id from the URL");
    assert_eq!(tasks[0]["phaseID"], phase);
    assert_eq!(tasks[0]["estimatedHours"], 6.5);
    assert!(tasks[0]["createDateTime"].is_string());
    assert_eq!(api.sim.phases()[0]["projectID"], project);
    assert_eq!(api.sim.projects()[0]["companyID"], COMPANY);

    // PATCH: the id in the body, only the fields sent change.
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("Projects/{project}/Tasks"),
            Some(json!({"title": "Install agents (all sites)"})),
        )
        .await;
    assert_eq!(status, 500, "PATCH without an id: {body}");
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("Projects/{project}/Tasks"),
            Some(json!({"id": task_id, "title": "Install agents (all sites)"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"itemId": task_id}));
    let t = &api.sim.tasks()[0];
    assert_eq!(t["title"], "Install agents (all sites)");
    assert_eq!(t["estimatedHours"], 6.5);

    // PUT replaces: writable fields left out become null.
    let (status, _) = api
        .call(
            Method::PUT,
            &format!("Projects/{project}/Tasks"),
            Some(json!({"id": task_id, "title": "Replaced", "status": 1, "taskType": 2})),
        )
        .await;
    assert_eq!(status, 200);
    let t = &api.sim.tasks()[0];
    assert_eq!(t["title"], "Replaced");
    assert_eq!(t["estimatedHours"], Value::Null);
    assert_eq!(t["projectID"], project);

    let (status, body) = api
        .call(
            Method::POST,
            &format!("Projects/{project}/Tasks"),
            Some(json!({"title": "Assign", "status": 1, "taskType": 1, "assignedResourceID": 29682885})),
        )
        .await;
    assert_eq!(status, 500);
    assert!(error_text(&body).contains("assignedResourceRoleID"));

    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("Projects/{project}/Tasks/{task_id}"),
            None,
        )
        .await;
    assert_eq!(status, 405, "tasks cannot be deleted");
}

#[tokio::test]
async fn company_writes_check_required_fields_and_picklists() {
    let api = Api::start(AutotaskSimConfig::default()).await;
    let good = json!({"companyName": "New Co", "companyType": 3, "ownerResourceID": 29682885, "phone": "555-0100", "isActive": "True"});
    let (status, created) = api
        .call(Method::POST, "Companies", Some(good.clone()))
        .await;
    assert_eq!(status, 200);
    let id = created["itemId"].as_i64().unwrap();
    let (status, item) = api
        .call(Method::GET, &format!("Companies/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(item["item"]["companyName"], "New Co");
    assert_eq!(
        item["item"]["isActive"], true,
        "\"True\" is read as a boolean"
    );
    assert!(item["item"]["lastTrackedModifiedDateTime"].is_string());

    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("companyName");
    let (status, body) = api.call(Method::POST, "Companies", Some(missing)).await;
    assert_eq!(status, 500);
    assert!(error_text(&body).contains("companyName"));

    let mut bad_type = good.clone();
    bad_type["companyType"] = json!(99);
    let (status, body) = api.call(Method::POST, "Companies", Some(bad_type)).await;
    assert_eq!(status, 500);
    assert_eq!(
        error_text(&body),
        "Value does not reference an existing entity for companyType . "
    );

    let (status, _) = api
        .call(Method::DELETE, &format!("Companies/{id}"), None)
        .await;
    assert_eq!(status, 405, "companies cannot be deleted through the API");
    let (status, _) = api.call(Method::GET, "Companies/12345", None).await;
    assert_eq!(status, 404);

    // Contacts: through the company; isActive is an integer.
    let (status, created) = api
        .call(
            Method::POST,
            &format!("Companies/{COMPANY}/Contacts"),
            Some(json!({"firstName": "Tess", "lastName": "Ter", "isActive": 1})),
        )
        .await;
    assert_eq!(status, 200);
    let contact = created["itemId"].as_i64().unwrap();
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("Companies/{COMPANY}/Contacts/{contact}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = api
        .call(
            Method::DELETE,
            &format!("Companies/{COMPANY}/Contacts/{contact}"),
            None,
        )
        .await;
    assert_eq!(status, 500, "deleting a missing record: {body}");
}

#[tokio::test]
async fn touched_and_deleted_companies_show_in_incremental_queries() {
    let api = Api::start(AutotaskSimConfig::default()).await;
    let since = "2026-06-01T00:00:00Z";
    let body =
        json!({"filter": [{"op": "gt", "field": "lastTrackedModifiedDateTime", "value": since}]});
    let (_, page) = api
        .call(Method::POST, "Companies/query", Some(body.clone()))
        .await;
    assert_eq!(page["items"], json!([]));
    assert!(api.sim.touch_company(29_684_112));
    assert!(!api.sim.touch_company(1));
    let (_, page) = api.call(Method::POST, "Companies/query", Some(body)).await;
    assert_eq!(page["items"][0]["id"], 29_684_112);
    assert!(api.sim.delete_company(29_684_112));
    let (status, _) = api.call(Method::GET, "Companies/29684112", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn webhooks_register_fields_and_sign_callouts_like_autotask() {
    // The notes' sample callout: its raw body signed with its secret.
    let sample: Value =
        serde_json::from_str(include_str!("../../fixtures/autotask/webhook_callout.json")).unwrap();
    assert_eq!(
        hook_signature(
            sample["secretKey"].as_str().unwrap(),
            sample["rawBody"].as_str().unwrap().as_bytes()
        ),
        sample["headers"]["X-Hook-Signature"]
    );

    let api = Api::start(AutotaskSimConfig::default()).await;
    let create: Value = serde_json::from_str(include_str!(
        "../../fixtures/autotask/company_webhook_create.json"
    ))
    .unwrap();
    let mut create = create.as_object().unwrap().clone();
    create.remove("_http");
    let (status, created) = api
        .call(
            Method::POST,
            "CompanyWebhooks",
            Some(Value::Object(create.clone())),
        )
        .await;
    assert_eq!(status, 200);
    let hook = created["itemId"].as_i64().unwrap();
    assert_eq!(api.sim.webhooks()[0].record["isReady"], false);

    let (status, body) = api
        .call(
            Method::POST,
            &format!("CompanyWebhooks/{hook}/Fields"),
            Some(json!({"fieldID": 9999, "isSubscribedField": true, "webhookID": hook})),
        )
        .await;
    assert_eq!(status, 500, "unknown field id: {body}");
    for field in [7, 24] {
        let (status, _) = api
            .call(
                Method::POST,
                &format!("CompanyWebhooks/{hook}/Fields"),
                Some(json!({"fieldID": field, "isSubscribedField": true, "isDisplayAlwaysField": true, "webhookID": hook})),
            )
            .await;
        assert_eq!(status, 200);
    }
    let hooks = api.sim.webhooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].entity_type, "Company");
    assert_eq!(hooks[0].record["isReady"], true);
    assert_eq!(hooks[0].record["secretKey"], "q7V2mRx9LpT4");
    assert!(hooks[0].record["webhookGUID"].is_string());
    assert_eq!(hooks[0].fields.len(), 2);

    let (headers, raw) = api.sim.signed_callout(hook, "Update", COMPANY);
    let text = String::from_utf8(raw.clone()).unwrap();
    assert!(
        text.contains(r#""companyName":"Harbor \u0026 Pine Outfitters""#),
        "Autotask escapes & as \\u0026: {text}"
    );
    assert!(text.starts_with(r#"{"Action":"Update","Guid":"#));
    let signature = headers
        .iter()
        .find(|(k, _)| k == "X-Hook-Signature")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert_eq!(signature, hook_signature("q7V2mRx9LpT4", &raw));
    assert!(signature.starts_with("sha1="));
    let parsed: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(parsed["EntityType"], "Company");
    assert_eq!(parsed["Id"], COMPANY);
    assert_eq!(parsed["Guid"], hooks[0].record["webhookGUID"]);
    assert_eq!(
        parsed["Fields"],
        json!({"companyName": "Harbor & Pine Outfitters", "companyType": 1})
    );

    let (_, page) = api
        .call(
            Method::POST,
            "CompanyWebhookFields/query",
            Some(json!({"filter": [{"op": "eq", "field": "webhookID", "value": hook}]})),
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (status, _) = api
        .call(Method::DELETE, &format!("CompanyWebhooks/{hook}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(api.sim.webhooks().is_empty());
}

#[tokio::test]
async fn the_hourly_threshold_refuses_with_429_and_is_reported() {
    let api = Api::start(AutotaskSimConfig {
        thresholds: 4,
        ..AutotaskSimConfig::default()
    })
    .await;
    let (status, info) = api.call(Method::GET, "ThresholdInformation", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        info,
        json!({"externalRequestThreshold": 4, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 1})
    );
    for _ in 0..3 {
        let (status, _) = api.call(Method::GET, "Companies/29684107", None).await;
        assert_eq!(status, 200);
    }
    let (status, body) = api.call(Method::GET, "Companies/29684107", None).await;
    assert_eq!(status, 429);
    assert!(!error_text(&body).is_empty());
    assert_eq!(api.sim.threshold_usage().current_timeframe_request_count, 4);
    assert_eq!(api.sim.limit_stats().refused_threshold, 1);
    // Zone discovery is not counted.
    let zone = reqwest::get(format!(
        "{}/ATServicesRest/v1.0/zoneInformation?user=sync-api%40example-msp.com",
        api.sim.zone_lookup_url()
    ))
    .await
    .unwrap();
    assert_eq!(zone.status(), 200);
}

#[tokio::test]
async fn more_than_three_requests_in_flight_on_one_endpoint_get_429() {
    let api = Api::start(AutotaskSimConfig {
        latency: Duration::from_secs(2),
        ..AutotaskSimConfig::default()
    })
    .await;
    let calls = (0..6).map(|_| api.call(Method::GET, "Companies/29684107", None));
    let results = futures::future::join_all(calls).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let refused: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 429)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(ok + refused.len(), 6);
    assert!(ok >= 3);
    assert!(!refused.is_empty(), "six at once on one endpoint");
    assert!(error_text(refused[0]).contains("thread threshold of 3 threads"));
    let stats = api.sim.limit_stats();
    assert_eq!(stats.max_in_flight, 3);
    assert_eq!(stats.refused_threads as usize, refused.len());
    assert_eq!(stats.refused_for_limit(), stats.refused_threads);
    assert_eq!(
        api.sim.threshold_usage().current_timeframe_request_count as usize,
        ok,
        "refused calls are not counted in the hour"
    );
}

#[tokio::test]
async fn injected_failures_come_first_then_normal_answers() {
    let api = Api::start(AutotaskSimConfig::default()).await;
    api.sim.fail_next(1, 503);
    let (status, body) = api.call(Method::GET, "Companies/29684107", None).await;
    assert_eq!(status, 503);
    assert!(body["errors"].is_array());
    let (status, _) = api.call(Method::GET, "Companies/29684107", None).await;
    assert_eq!(status, 200);
    assert_eq!(api.sim.fault_stats().errors, 1);
    assert_eq!(api.sim.request_count(), 2);
}

#[tokio::test]
async fn contact_webhooks_and_child_lists_work_like_company_ones() {
    let api = Api::start(AutotaskSimConfig::default()).await;
    let contact = api.sim.contacts()[0].clone();
    let contact_id = contact["id"].as_i64().unwrap();
    let company_id = contact["companyID"].as_i64().unwrap();

    // Contacts' isActive is an integer: a boolean filter value is refused.
    let (status, _) = api
        .call(
            Method::POST,
            "Contacts/query",
            Some(json!({"filter": [{"op": "eq", "field": "isActive", "value": true}]})),
        )
        .await;
    assert_eq!(status, 500);
    let (status, page) = api
        .call(
            Method::POST,
            "Contacts/query",
            Some(json!({"filter": [{"op": "eq", "field": "isActive", "value": 1}, {"op": "eq", "field": "companyID", "value": company_id}]})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, children) = api
        .call(
            Method::GET,
            &format!("Companies/{company_id}/Contacts"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let active: Vec<&Value> = children["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["isActive"] == 1)
        .collect();
    assert_eq!(page["items"].as_array().unwrap().len(), active.len());

    let (status, created) = api
        .call(
            Method::POST,
            "ContactWebhooks",
            Some(json!({
                "name": "contacts", "isActive": true,
                "webhookUrl": "https://hooks.example.test/autotask/contacts",
                "deactivationUrl": "https://hooks.example.test/autotask/off",
                "secretKey": "s3cr3t+key", "isSubscribedToUpdateEvents": true
            })),
        )
        .await;
    assert_eq!(status, 200);
    let hook = created["itemId"].as_i64().unwrap();
    let (_, fields) = api
        .call(
            Method::GET,
            &format!("ContactWebhooks/{hook}/Fields/entityInformation/fields"),
            None,
        )
        .await;
    let field_ids: Vec<(String, String)> = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "fieldID")
        .unwrap()["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["value"].as_str().unwrap().to_string(),
                p["label"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let email = field_ids
        .iter()
        .find(|(_, l)| l == "emailAddress")
        .unwrap()
        .0
        .clone();
    let (status, _) = api
        .call(
            Method::POST,
            &format!("ContactWebhooks/{hook}/Fields"),
            Some(json!({"fieldID": email.parse::<i64>().unwrap(), "isSubscribedField": true})),
        )
        .await;
    assert_eq!(status, 200);

    assert!(api.sim.touch("Contacts", contact_id));
    let (headers, raw) = api.sim.signed_callout(hook, "Update", contact_id);
    let parsed: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(parsed["EntityType"], "Contact");
    assert_eq!(
        parsed["Fields"],
        json!({"emailAddress": contact["emailAddress"]})
    );
    let sig = &headers
        .iter()
        .find(|(k, _)| k == "X-Hook-Signature")
        .unwrap()
        .1;
    assert_eq!(sig, &hook_signature("s3cr3t+key", &raw));
    assert_ne!(sig, &hook_signature("another key", &raw));
}

#[tokio::test]
async fn limits_change_at_run_time() {
    let api = Api::start(AutotaskSimConfig::default()).await;
    api.sim.set_limits(2, 3);
    for _ in 0..2 {
        assert_eq!(
            api.call(Method::GET, "ThresholdInformation", None).await.0,
            200
        );
    }
    let (status, _) = api.call(Method::GET, "ThresholdInformation", None).await;
    assert_eq!(status, 429);
    assert_eq!(api.sim.threshold_usage().external_request_threshold, 2);
}

#[tokio::test]
async fn changes_queue_the_callouts_of_subscribed_webhooks() {
    let api = Api::start(AutotaskSimConfig::default()).await;
    let (_, created) = api
        .call(
            Method::POST,
            "CompanyWebhooks",
            Some(json!({
                "name": "companies", "isActive": true,
                "webhookUrl": "https://hooks.example.test/autotask/companies",
                "deactivationUrl": "https://hooks.example.test/autotask/off",
                "secretKey": "k3y", "isSubscribedToCreateEvents": true,
                "isSubscribedToUpdateEvents": true, "isSubscribedToDeleteEvents": true
            })),
        )
        .await;
    let hook = created["itemId"].as_i64().unwrap();
    // Not ready yet (no subscribed field): changes send nothing.
    assert!(api
        .sim
        .edit("Companies", COMPANY, json!({"companyName": "Renamed"})));
    assert!(api.sim.take_callouts().is_empty());
    for (field, subscribed) in [(7, true), (24, false)] {
        let (status, _) = api
            .call(
                Method::POST,
                &format!("CompanyWebhooks/{hook}/Fields"),
                Some(json!({"fieldID": field, "isSubscribedField": subscribed, "isDisplayAlwaysField": true})),
            )
            .await;
        assert_eq!(status, 200);
    }

    // A change to a field nobody subscribed to sends nothing.
    assert!(api
        .sim
        .edit("Companies", COMPANY, json!({"phone": "555-9999"})));
    assert!(api.sim.take_callouts().is_empty());

    assert!(api.sim.edit(
        "Companies",
        COMPANY,
        json!({"CompanyName": "Harbor & Pine"})
    ));
    let (status, _) = api
        .call(
            Method::PATCH,
            "Companies",
            Some(json!({"id": COMPANY, "companyName": "Harbor and Pine"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, new) = api
        .call(
            Method::POST,
            "Companies",
            Some(json!({"companyName": "Fresh Co", "companyType": 1, "ownerResourceID": 29682885, "phone": "555-0101"})),
        )
        .await;
    let new_id = new["itemId"].as_i64().unwrap();
    assert!(api.sim.delete_company(new_id));

    let callouts = api.sim.take_callouts();
    let seen: Vec<(String, i64, Value)> = callouts
        .iter()
        .map(|c| {
            assert_eq!(c.webhook_id, hook);
            assert_eq!(c.url, "https://hooks.example.test/autotask/companies");
            let sig = &c
                .headers
                .iter()
                .find(|(k, _)| k == "X-Hook-Signature")
                .unwrap()
                .1;
            assert_eq!(sig, &hook_signature("k3y", &c.body));
            let v: Value = serde_json::from_slice(&c.body).unwrap();
            (
                v["Action"].as_str().unwrap().to_string(),
                v["Id"].as_i64().unwrap(),
                v["Fields"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "Update".into(),
                COMPANY,
                json!({"companyName": "Harbor & Pine", "companyType": 1})
            ),
            (
                "Update".into(),
                COMPANY,
                json!({"companyName": "Harbor and Pine", "companyType": 1})
            ),
            (
                "Create".into(),
                new_id,
                json!({"companyName": "Fresh Co", "companyType": 1})
            ),
            (
                "Delete".into(),
                new_id,
                json!({"companyName": "Fresh Co", "companyType": 1})
            ),
        ]
    );
    let sequence: Vec<i64> = callouts
        .iter()
        .map(|c| {
            serde_json::from_slice::<Value>(&c.body).unwrap()["SequenceNumber"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(sequence.windows(2).all(|w| w[0] < w[1]), "{sequence:?}");
    assert!(api.sim.take_callouts().is_empty(), "taken once");
}
