//! The HaloPSA simulator, driven with plain HTTP.

use reqwest::{Client, StatusCode};
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig, MilestonePost};
use serde_json::{json, Value};

struct Api {
    sim: HaloPsaSim,
    http: Client,
    token: String,
}

impl Api {
    async fn start(config: HaloPsaSimConfig) -> Self {
        let sim = HaloPsaSim::start(config).await;
        let http = Client::new();
        let token = token(&http, &sim, "sim-secret").await;
        Self { sim, http, token }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.sim.uri()))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.sim.uri()))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

async fn token_response(
    http: &Client,
    sim: &HaloPsaSim,
    tenant: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let resp = http
        .post(format!("{}/auth/token?tenant={tenant}", sim.uri()))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn token(http: &Client, sim: &HaloPsaSim, secret: &str) -> String {
    let (status, body) = token_response(
        http,
        sim,
        "acmemsp",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "sim-client"),
            ("client_secret", secret),
            ("scope", "all"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    body["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn token_endpoint_checks_the_client_credentials_form() {
    let sim = HaloPsaSim::start_default().await;
    let http = Client::new();
    let good = [
        ("grant_type", "client_credentials"),
        ("client_id", "sim-client"),
        ("client_secret", "sim-secret"),
        ("scope", "all"),
    ];
    let (status, _) = token_response(&http, &sim, "acmemsp", &good).await;
    assert_eq!(status, StatusCode::OK);

    let mut bad_secret = good;
    bad_secret[2].1 = "nope";
    let (status, body) = token_response(&http, &sim, "acmemsp", &bad_secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The standard OAuth error body: the code, and the description clients
    // show.
    assert_eq!(
        body,
        json!({"error": "invalid_client", "error_description": "Client authentication failed."})
    );

    let (status, body) = token_response(&http, &sim, "othertenant", &good).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_description"], "unknown tenant");

    let mut bad_scope = good;
    bad_scope[3].1 = "everything";
    let (_, body) = token_response(&http, &sim, "acmemsp", &bad_scope).await;
    assert_eq!(body["error"], "invalid_scope");

    let mut bad_grant = good;
    bad_grant[0].1 = "password";
    let (_, body) = token_response(&http, &sim, "acmemsp", &bad_grant).await;
    assert_eq!(body["error"], "unsupported_grant_type");

    sim.set_application_active(false);
    let (status, body) = token_response(&http, &sim, "acmemsp", &good).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    assert_eq!(sim.token_requests(), 6);
    let first = &sim.requests()[0];
    assert_eq!(first.form_value("client_secret"), Some("sim-secret"));
    assert_eq!(first.query_value("tenant"), Some("acmemsp"));
}

/// A token request with no `?tenant=` at all.
async fn token_without_tenant(http: &Client, sim: &HaloPsaSim) -> (StatusCode, Value) {
    let resp = http
        .post(format!("{}/auth/token", sim.uri()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
            ("scope", "all"),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn hosted_instance_issues_tokens_without_a_tenant() {
    // Public clients that work against live hosted Halo post to
    // `{instance}/auth/token` with no tenant.
    let sim = HaloPsaSim::start_default().await;
    let http = Client::new();
    let (status, body) = token_without_tenant(&http, &sim).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn a_required_tenant_is_refused_when_missing_and_reported_by_authinfo() {
    let sim = HaloPsaSim::start(HaloPsaSimConfig {
        tenant_required: true,
        ..HaloPsaSimConfig::default()
    })
    .await;
    let http = Client::new();
    let (status, body) = token_without_tenant(&http, &sim).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    let info: Value = http
        .get(format!("{}/api/authinfo", sim.uri()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["tenant_id"], "acmemsp");
    token(&http, &sim, "sim-secret").await;
}

#[tokio::test]
async fn api_calls_need_a_live_bearer_token() {
    let api = Api::start(HaloPsaSimConfig::default()).await;
    let unauth = api
        .http
        .get(format!("{}/api/Status", api.sim.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unauth.text().await.unwrap(), "");

    let (status, body) = api.get("/api/Status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 4);

    // authinfo needs no token.
    let info: Value = api
        .http
        .get(format!("{}/api/authinfo", api.sim.uri()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The instance's own auth server needs no tenant, so none is reported.
    assert_eq!(info["tenant_id"], Value::Null);
    assert_eq!(info["auth_url"], format!("{}/auth", api.sim.uri()));

    api.sim.expire_tokens();
    let (status, _) = api.get("/api/Status").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The log never holds the token.
    let log = serde_json::to_string(&api.sim.requests()).unwrap();
    assert!(!log.contains(&api.token));
    let log = api.sim.requests();
    assert!(!log[1].bearer && log[1].status == 401);
    assert!(log[2].bearer && log[2].status == 200);
}

#[tokio::test]
async fn lists_page_and_filter_like_halo() {
    let api = Api::start(HaloPsaSimConfig::default()).await;
    // Inactive clients only on request.
    let (_, all) = api.get("/api/Client").await;
    assert_eq!(all["record_count"], 4);
    let (_, page1) = api
        .get("/api/client?pageinate=true&page_size=3&page_no=1&includeinactive=true")
        .await;
    assert_eq!(page1["record_count"], 5);
    assert_eq!(page1["page_no"], 1);
    assert_eq!(page1["clients"].as_array().unwrap().len(), 3);
    let (_, page2) = api
        .get("/API/CLIENT?pageinate=true&page_size=3&page_no=2&includeinactive=true")
        .await;
    assert_eq!(page2["clients"].as_array().unwrap().len(), 2);
    assert_eq!(page2["clients"][1]["name"], "Foxhollow Architects");
    let (_, inactive) = api
        .get("/api/Client?includeinactive=true&includeactive=false")
        .await;
    assert_eq!(inactive["record_count"], 1);
    let (_, prospects) = api.get("/api/Client?toplevel_id=2").await;
    assert_eq!(prospects["record_count"], 1);

    let (_, users) = api
        .get("/api/Users?pageinate=true&page_size=100&page_no=1")
        .await;
    assert_eq!(users["users"][0]["site_id"], 31.0);
    let (_, opps) = api
        .get("/api/Opportunities?lastupdatefromdate=2025-01-21T00:00:00")
        .await;
    assert_eq!(opps["record_count"], 1);
    assert_eq!(opps["tickets"][0]["id"], 5019);

    let (_, priorities) = api.get("/api/Priority").await;
    assert_eq!(priorities.as_array().unwrap().len(), 4);
    let (status, _) = api.get("/api/Client/12").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api.get("/api/Client/404").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, me) = api.get("/api/agent/ME").await;
    assert_eq!(me["name"], "Scopelink API");
}

#[tokio::test]
async fn projects_milestones_and_tasks() {
    let api = Api::start(HaloPsaSimConfig::default()).await;
    let request: Value = serde_json::from_str(include_str!(
        "../../fixtures/halopsa/ticket_create_request_project.json"
    ))
    .unwrap();
    let (status, project) = api.post("/api/Projects", request).await;
    assert_eq!(status, StatusCode::CREATED);
    let pid = project["id"].as_i64().unwrap();
    let ids: Vec<i64> = project["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);

    let mut task: Value = serde_json::from_str(include_str!(
        "../../fixtures/halopsa/ticket_create_request_task.json"
    ))
    .unwrap();
    task[0]["parent_id"] = pid.into();
    task[0]["milestone_id"] = ids[0].into();
    let (status, created) = api.post("/api/Tickets", task.clone()).await;
    // A ticket's milestone_id is read-only: 201, and no membership.
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["parent_id"], pid);
    assert_eq!(created["milestone_id"], 0);
    assert!(created.get("milestone_name").is_none());
    let tid = created["id"].as_i64().unwrap();
    let (status, _) = api
        .post("/api/Tickets", json!([{"id": tid, "milestone_id": ids[0]}]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(api.sim.project_tree()[0].unassigned.len(), 1);

    let (_, plain) = api.get(&format!("/api/Projects/{pid}")).await;
    assert!(plain.get("milestones").is_none());
    assert_eq!(plain["child_ticket_ids"], json!([created["id"]]));
    let (_, detailed) = api
        .get(&format!("/api/Projects/{pid}?includedetails=true"))
        .await;
    assert!(detailed["milestones"][0]["tickets"]
        .as_array()
        .unwrap()
        .is_empty());

    // Membership is written through the project's tickets_list, with the
    // whole milestone list posted back.
    let mut rows = detailed["milestones"].as_array().unwrap().clone();
    for row in &mut rows {
        row["tickets_list"] = json!([]);
    }
    rows[0]["tickets_list"] = json!([{"id": tid}]);
    let (status, _) = api
        .post("/api/Projects", json!([{"id": pid, "milestones": rows}]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, detailed) = api
        .get(&format!("/api/Projects/{pid}?includedetails=true"))
        .await;
    let row = &detailed["milestones"][0];
    assert_eq!(row["tickets"][0]["ticket_id"], tid);
    assert_eq!(row["tickets"][0]["milestone_id"], ids[0]);
    assert_eq!(
        row["tickets"][0]["ticket_name"],
        "Audit existing mailboxes and shares"
    );
    assert!(
        row.get("tickets_list").is_none(),
        "GET reports `tickets` only"
    );
    let (_, task_view) = api.get(&format!("/api/Tickets/{tid}")).await;
    assert_eq!(task_view["milestone_id"], ids[0]);
    assert_eq!(task_view["milestone_name"], "Discovery");

    // Validation errors shaped like HaloPSA's.
    let mut bad = task.clone();
    bad[0]["client_id"] = 99.into();
    let (status, body) = api.post("/api/Tickets", bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!("Please select a Customer before saving this Ticket.")
    );
    let mut bad = task.clone();
    bad[0]["tickettype_id"] = 999.into();
    let (_, body) = api.post("/api/Tickets", bad).await;
    assert_eq!(
        body,
        json!({"[0].tickettype_id": "The ticket type 999 does not exist."})
    );
    let (status, body) = api
        .post(
            "/api/Projects",
            json!([{"id": pid, "milestones": [{"id": ids[0], "name": "Discovery", "tickets_list": [{"id": 999_999}]}]}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"[0].milestones.tickets_list": "Ticket 999999 does not exist."})
    );
    let (status, _) = api.post("/api/Tickets", task[0].clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "bodies are arrays");

    let tree = api.sim.project_tree();
    assert_eq!(tree.len(), 1);
    assert_eq!(tree[0].milestones[0].tasks.len(), 1);
    assert_eq!(tree[0].all_tasks().len(), 1);
    let text = api.sim.render_tree();
    assert!(text.contains("milestone #"), "{text}");
    assert!(
        text.contains("Audit existing mailboxes and shares (6 h)"),
        "{text}"
    );
}

async fn post_milestones(mode: MilestonePost) -> Vec<String> {
    let api = Api::start(HaloPsaSimConfig {
        milestone_post: mode,
        ..HaloPsaSimConfig::default()
    })
    .await;
    let (_, project) = api
        .post(
            "/api/Projects",
            json!([{"summary": "P", "client_id": 12, "tickettype_id": 3,
                    "milestones": [{"name": "A", "sequence": 1}, {"name": "B", "sequence": 2}]}]),
        )
        .await;
    let pid = project["id"].clone();
    let a = project["milestones"][0]["id"].clone();
    let (status, updated) = api
        .post(
            "/api/Projects",
            json!([{"id": pid, "milestones": [{"id": a, "name": "A2"}, {"name": "C", "sequence": 3}]}]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(updated["id"], pid);
    updated["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn posting_milestones_replaces_the_list_and_blanks_what_is_left_off() {
    let api = Api::start(HaloPsaSimConfig::default()).await;
    let (_, project) = api
        .post(
            "/api/Projects",
            json!([{"summary": "P", "client_id": 12, "tickettype_id": 3, "milestones": [
                {"name": "A", "sequence": 1, "start_date": "2026-01-05T00:00:00", "target_date": "2026-01-30T00:00:00"},
                {"name": "B", "sequence": 2}
            ]}]),
        )
        .await;
    let pid = project["id"].as_i64().unwrap();
    let a = project["milestones"][0]["id"].clone();
    let b = project["milestones"][1]["id"].clone();
    let (_, task) = api
        .post(
            "/api/Tickets",
            json!([{"summary": "T", "client_id": 12, "tickettype_id": 26, "parent_id": pid}]),
        )
        .await;
    let tid = task["id"].clone();
    // A in full with a member, B with its name only.
    let (status, _) = api
        .post(
            "/api/Projects",
            json!([{"id": pid, "milestones": [
                {"id": a, "name": "A", "sequence": 1, "start_date": "2026-01-05T00:00:00",
                 "target_date": "2026-01-30T00:00:00", "tickets_list": [{"id": tid}]},
                {"id": b, "name": "B"}
            ]}]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, detailed) = api
        .get(&format!("/api/Projects/{pid}?includedetails=true"))
        .await;
    let rows = detailed["milestones"].as_array().unwrap();
    assert_eq!(rows[0]["start_date"], "2026-01-05T00:00:00");
    assert_eq!(rows[0]["tickets"][0]["ticket_id"], tid);
    assert_eq!(rows[1]["sequence"], Value::Null, "left off: blanked");

    // A posted without its tickets_list or dates: they are blanked too.
    let (status, _) = api
        .post(
            "/api/Projects",
            json!([{"id": pid, "milestones": [{"id": a, "name": "A", "sequence": 1}]}]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, detailed) = api
        .get(&format!("/api/Projects/{pid}?includedetails=true"))
        .await;
    let rows = detailed["milestones"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "B was left out: deleted");
    assert_eq!(rows[0]["start_date"], Value::Null);
    assert_eq!(rows[0]["tickets"], json!([]));
    assert_eq!(api.sim.project_tree()[0].unassigned.len(), 1);
}

#[tokio::test]
async fn membership_writes_can_be_ignored_like_a_tickets_milestone_id() {
    let api = Api::start(HaloPsaSimConfig {
        membership_writes: false,
        ..HaloPsaSimConfig::default()
    })
    .await;
    let (_, project) = api
        .post(
            "/api/Projects",
            json!([{"summary": "P", "client_id": 12, "tickettype_id": 3, "milestones": [{"name": "A", "sequence": 1}]}]),
        )
        .await;
    let pid = project["id"].as_i64().unwrap();
    let a = project["milestones"][0]["id"].clone();
    let (_, task) = api
        .post(
            "/api/Tickets",
            json!([{"summary": "T", "client_id": 12, "tickettype_id": 26, "parent_id": pid}]),
        )
        .await;
    let (status, _) = api
        .post(
            "/api/Projects",
            json!([{"id": pid, "milestones": [{"id": a, "name": "A", "tickets_list": [{"id": task["id"]}]}]}]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(api.sim.project_tree()[0].unassigned.len(), 1);
    api.sim.set_membership_writes(true);
    api.post(
        "/api/Projects",
        json!([{"id": pid, "milestones": [{"id": a, "name": "A", "tickets_list": [{"id": task["id"]}]}]}]),
    )
    .await;
    assert!(api.sim.project_tree()[0].unassigned.is_empty());
}

#[tokio::test]
async fn posting_milestones_replaces_or_appends() {
    assert_eq!(post_milestones(MilestonePost::Replace).await, ["A2", "C"]);
    assert_eq!(
        post_milestones(MilestonePost::Append).await,
        ["A2", "B", "C"]
    );
}

#[tokio::test]
async fn faults_can_be_injected() {
    let api = Api::start(HaloPsaSimConfig::default()).await;
    api.sim.fail_next(2, 429);
    let (status, body) = api.get("/api/Status").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        body["error"],
        "Rate Limit Reached - 300 Requests per rolling 5 minute window"
    );
    assert_eq!(
        api.get("/api/Status").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(api.get("/api/Status").await.0, StatusCode::OK);

    api.sim.forbid("tickets");
    let task = json!([{"summary": "T", "client_id": 12, "tickettype_id": 26}]);
    assert_eq!(
        api.post("/api/Tickets", task.clone()).await.0,
        StatusCode::FORBIDDEN
    );

    let api = Api::start(HaloPsaSimConfig::default()).await;
    api.sim.fail_on_ticket_create(2);
    assert_eq!(
        api.post("/api/Tickets", task.clone()).await.0,
        StatusCode::CREATED
    );
    let (status, body) = api.post("/api/Tickets", task.clone()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body["Message"].as_str().unwrap().contains("Simulated"));
    assert_eq!(api.post("/api/Tickets", task).await.0, StatusCode::CREATED);
    assert_eq!(api.sim.ticket_count(), 2);
    let statuses: Vec<u16> = api.sim.api_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [201, 500, 201]);
}
