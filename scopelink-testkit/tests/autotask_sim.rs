//! The Autotask simulator refuses what Autotask refuses and answers with
//! Autotask's shapes (`fixtures/autotask/README.md`): zone discovery, the
//! auth headers, the query grammar and paging, counts, metadata, writes
//! through parent URLs, webhooks and their signed callouts, and the limits.
//! Plain reqwest, no connector.

use reqwest::{Method, StatusCode};
use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use serde_json::{json, Value};

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

    async fn default() -> Self {
        Self::start(AutotaskSimConfig::default()).await
    }

    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        let c = self.sim.config();
        self.http
            .request(method, url)
            .header("ApiIntegrationCode", c.integration_code)
            .header("UserName", c.username)
            .header("Secret", c.secret)
            .header("Content-Type", "application/json")
    }

    /// Sends `body` (if any) to `{zone}v1.0/{path}` or to an absolute URL.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut rb = self.request(method, &url);
        if let Some(b) = body {
            rb = rb.body(b.to_string());
        }
        let resp = rb.send().await.expect("the simulator answers");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn query(&self, entity: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, &format!("{entity}/query"), Some(body))
            .await
    }
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect()
}

fn error_text(body: &Value) -> String {
    body["errors"][0].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn zone_discovery_needs_no_auth_and_points_at_the_same_server() {
    let api = Api::default().await;
    let http = reqwest::Client::new();
    let lookup = format!(
        "{}/ATServicesRest/v1.0/zoneInformation?user=sync-api%40example-msp.com",
        api.sim.zone_lookup_url()
    );
    let zone: Value = http
        .get(&lookup)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(zone["url"], json!(api.sim.zone_url()));
    assert!(zone["url"].as_str().unwrap().ends_with("/ATServicesRest/"));
    assert_eq!(zone["zoneName"], "America East");
    assert_eq!(zone["ci"], 48213);

    let unknown = http
        .get(format!(
            "{}/atservicesrest/V1.0/zoneinformation?user=nobody%40example.com",
            api.sim.zone_lookup_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 500);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(
        body,
        json!({"errors": ["Zone information could not be determined"]})
    );

    let versions: Value = http
        .get(format!("{}versioninformation", api.sim.zone_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(versions, json!({"apiVersions": ["1.0"]}));
}

#[tokio::test]
async fn credentials_are_refused_as_autotask_refuses_them() {
    let api = Api::default().await;
    let c = api.sim.config();
    let url = format!("{}ThresholdInformation", api.base);
    let send = |user: Option<&str>, secret: Option<&str>, code: Option<&str>| {
        let mut rb = api.http.get(&url);
        if let Some(u) = user {
            rb = rb.header("username", u);
        }
        if let Some(s) = secret {
            rb = rb.header("SECRET", s);
        }
        if let Some(k) = code {
            rb = rb.header("APIIntegrationcode", k);
        }
        rb.send()
    };
    let good = send(
        Some(&c.username),
        Some(&c.secret),
        Some(&c.integration_code),
    )
    .await
    .unwrap();
    assert_eq!(good.status(), 200, "header names are case-insensitive");

    let wrong_secret = send(Some(&c.username), Some("nope"), Some(&c.integration_code))
        .await
        .unwrap();
    assert_eq!(wrong_secret.status(), 401);

    let unknown_user = send(
        Some("who@example.com"),
        Some(&c.secret),
        Some(&c.integration_code),
    )
    .await
    .unwrap();
    assert_eq!(unknown_user.status(), 500);
    let body: Value = unknown_user.json().await.unwrap();
    assert!(body["errors"].is_array());

    let missing_code = send(Some(&c.username), Some(&c.secret), None)
        .await
        .unwrap();
    assert_eq!(missing_code.status(), 500);
    let body: Value = missing_code.json().await.unwrap();
    assert_eq!(error_text(&body), "IntegrationCode is invalid.");

    let wrong_code = send(Some(&c.username), Some(&c.secret), Some("WRONG"))
        .await
        .unwrap();
    assert_eq!(wrong_code.status(), 500);

    let none = send(None, None, None).await.unwrap();
    assert_eq!(none.status(), 500);
    assert!(
        !format!("{c:?}").contains(&c.secret),
        "Debug leaves the secret out"
    );
    let logged = api.sim.requests();
    assert_eq!(logged.len(), 6);
    assert!(
        logged.iter().all(|r| !format!("{r:?}").contains(&c.secret)),
        "the log holds no secret"
    );
}

#[tokio::test]
async fn filters_combine_and_or_groups_lists_udfs_and_text_operators() {
    let api = Api::default().await;
    let companies = api.sim.companies();
    let expect = |pred: &dyn Fn(&Value) -> bool| -> Vec<i64> {
        companies
            .iter()
            .filter(|c| pred(c))
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };

    // The notes' sample request shape, with keys in either case.
    let (status, page) = api
        .query(
            "Companies",
            json!({"filter": [
                {"op": "eq", "field": "IsActive", "value": true},
                {"op": "or", "items": [
                    {"op": "in", "field": "companyType", "value": [1, 3]},
                    {"op": "and", "items": [
                        {"op": "eq", "field": "companyType", "value": 7},
                        {"op": "exist", "field": "territoryID"}
                    ]}
                ]}
            ]}),
        )
        .await;
    assert_eq!(status, 200);
    let want = expect(&|c| {
        c["isActive"] == true
            && (c["companyType"] == 1
                || c["companyType"] == 3
                || (c["companyType"] == 7 && !c["territoryID"].is_null()))
    });
    assert!(!want.is_empty());
    assert_eq!(ids(&page), want);

    let (_, page) = api
        .query(
            "Companies",
            json!({"Filter": [{"op": "beginsWith", "field": "companyname", "value": "harbor"}]}),
        )
        .await;
    assert_eq!(
        ids(&page),
        vec![29_684_107],
        "text compares case-insensitively"
    );

    let (_, page) = api
        .query(
            "Companies",
            json!({"filter": [{"op": "contains", "field": "companyName", "value": " & "}]}),
        )
        .await;
    assert_eq!(
        ids(&page),
        expect(&|c| c["companyName"].as_str().unwrap().contains(" & "))
    );

    let (_, page) = api
        .query(
            "Companies",
            json!({"filter": [{"op": "eq", "field": "Customer Tier", "udf": true, "value": "Gold"}]}),
        )
        .await;
    let gold = expect(&|c| {
        c["userDefinedFields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "Customer Tier" && u["value"] == "Gold")
    });
    assert!(gold.contains(&29_684_107));
    assert_eq!(ids(&page), gold);

    let (_, page) = api
        .query(
            "Companies",
            json!({"filter": [
                {"op": "notIn", "field": "companyType", "value": [1]},
                {"op": "notExist", "field": "territoryID"}
            ]}),
        )
        .await;
    assert_eq!(
        ids(&page),
        expect(&|c| c["companyType"] != 1 && c["territoryID"].is_null())
    );

    let (_, page) = api
        .query(
            "Companies",
            json!({"filter": [{"op": "gt", "field": "lastTrackedModifiedDateTime", "value": "2026-03-03T00:00:00"}]}),
        )
        .await;
    assert_eq!(
        ids(&page),
        expect(&|c| c["lastTrackedModifiedDateTime"].as_str().unwrap() > "2026-03-03T00:00:00")
    );
}

#[tokio::test]
async fn bad_queries_are_refused_with_500_and_an_errors_body() {
    let api = Api::default().await;
    let cases = [
        json!({"filter": [{"op": "isNull", "field": "companyName"}]}),
        json!({"filter": [{"op": "eq", "field": "noSuchField", "value": 1}]}),
        json!({"filter": [{"op": "in", "field": "companyType", "value": 1}]}),
        json!({"filter": [{"op": "eq", "field": "companyType", "value": "customer"}]}),
        json!({"filter": [{"op": "eq", "field": "companyName"}]}),
        json!({"filter": [{"op": "or", "items": []}]}),
        json!({"filter": []}),
        json!({"MaxRecords": 501, "filter": [{"op": "exist", "field": "id"}]}),
        json!({"MaxRecords": 0, "filter": [{"op": "exist", "field": "id"}]}),
        json!({"IncludeFields": ["nope"], "filter": [{"op": "exist", "field": "id"}]}),
        json!({"filter": [
            {"op": "eq", "field": "Customer Tier", "udf": true, "value": "Gold"},
            {"op": "eq", "field": "Customer Tier", "udf": true, "value": "Silver"}
        ]}),
    ];
    for body in cases {
        let (status, reply) = api.query("Companies", body.clone()).await;
        assert_eq!(status, 500, "{body}");
        assert!(!error_text(&reply).is_empty(), "{body} -> {reply}");
    }
    let (status, reply) = api
        .query(
            "Tasks",
            json!({"filter": [{"op": "gt", "field": "remainingHours", "value": 1}]}),
        )
        .await;
    assert_eq!(status, 500, "remainingHours is not queryable");
    assert!(error_text(&reply).contains("remainingHours"));

    let (status, _) = api.call(Method::GET, "Companies", None).await;
    assert_eq!(status, 405, "no GET on an entity root");

    // A body that is not declared JSON is refused as ASP.NET refuses it.
    let c = api.sim.config();
    let resp = api
        .http
        .post(format!("{}Companies/query", api.base))
        .header("ApiIntegrationCode", &c.integration_code)
        .header("UserName", &c.username)
        .header("Secret", &c.secret)
        .body(r#"{"filter":[{"op":"exist","field":"id"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let body: Value = resp.json().await.unwrap();
    assert!(body["Message"].as_str().unwrap().contains("media type"));
    let (status, _) = api
        .query(
            "Widgets",
            json!({"filter": [{"op": "exist", "field": "id"}]}),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn pages_follow_next_page_url_by_id_with_get_or_post() {
    let api = Api::start(AutotaskSimConfig {
        companies: 23,
        ..AutotaskSimConfig::default()
    })
    .await;
    let all: Vec<i64> = api
        .sim
        .companies()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(all.len(), 23);
    let body = json!({"MaxRecords": 10, "filter": [{"op": "exist", "field": "id"}]});

    let mut seen = Vec::new();
    let (status, mut page) = api.query("Companies", body.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(page["pageDetails"]["prevPageUrl"], Value::Null);
    let mut pages = 1;
    loop {
        assert_eq!(page["pageDetails"]["requestCount"], 10);
        assert_eq!(
            page["pageDetails"]["count"],
            page["items"].as_array().unwrap().len()
        );
        seen.extend(ids(&page));
        let Some(next) = page["pageDetails"]["nextPageUrl"]
            .as_str()
            .map(str::to_string)
        else {
            break;
        };
        assert!(
            next.starts_with(&api.sim.zone_url()[..api.sim.zone_url().len() - 1]),
            "absolute URL on the zone host: {next}"
        );
        let (status, p) = api.call(Method::POST, &next, Some(body.clone())).await;
        assert_eq!(status, 200);
        assert!(p["pageDetails"]["prevPageUrl"].is_string());
        page = p;
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, all, "every company once, by id");

    // The same with GET ?search=: the next URL carries the search.
    let search: String =
        url::form_urlencoded::byte_serialize(body.to_string().as_bytes()).collect();
    let (status, mut page) = api
        .call(
            Method::GET,
            &format!("Companies/query?search={search}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut seen = ids(&page);
    while let Some(next) = page["pageDetails"]["nextPageUrl"]
        .as_str()
        .map(str::to_string)
    {
        let (status, p) = api.call(Method::GET, &next, None).await;
        assert_eq!(status, 200);
        seen.extend(ids(&p));
        page = p;
    }
    assert_eq!(seen, all);

    // A POST to the next URL without the body is refused, not answered
    // with everything.
    let (_, first) = api.query("Companies", body.clone()).await;
    let next = first["pageDetails"]["nextPageUrl"].as_str().unwrap();
    let (status, _) = api.call(Method::POST, next, None).await;
    assert_eq!(status, 500);
}

#[tokio::test]
async fn include_fields_and_count() {
    let api = Api::default().await;
    let (status, page) = api
        .query(
            "Companies",
            json!({"IncludeFields": ["id", "companyname"], "filter": [{"op": "eq", "field": "id", "value": 29684107}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        page["items"],
        json!([{"id": 29684107, "companyName": "Harbor & Pine Outfitters", "userDefinedFields": []}])
    );

    let filter = json!({"filter": [{"op": "eq", "field": "companyType", "value": 1}]});
    let (status, count) = api
        .call(Method::POST, "Companies/query/count", Some(filter.clone()))
        .await;
    assert_eq!(status, 200);
    let customers = api
        .sim
        .companies()
        .iter()
        .filter(|c| c["companyType"] == 1)
        .count();
    assert_eq!(count, json!({"queryCount": customers}));
    let search: String =
        url::form_urlencoded::byte_serialize(filter.to_string().as_bytes()).collect();
    let (_, count) = api
        .call(
            Method::GET,
            &format!("Companies/query/count?search={search}"),
            None,
        )
        .await;
    assert_eq!(count["queryCount"], customers);
}

#[tokio::test]
async fn field_metadata_lists_picklists_with_string_values() {
    let api = Api::default().await;
    let (status, fields) = api
        .call(Method::GET, "Companies/entityInformation/fields", None)
        .await;
    assert_eq!(status, 200);
    let field = |list: &Value, name: &str| -> Value {
        list["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}"))
    };
    let ct = field(&fields, "companyType");
    assert_eq!(ct["isPickList"], true);
    assert_eq!(ct["isRequired"], true);
    let values: Vec<(&str, &str)> = ct["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["value"].as_str().unwrap(), p["label"].as_str().unwrap()))
        .collect();
    assert!(values.contains(&("1", "Customer")));
    assert!(values.contains(&("3", "Prospect")));
    assert!(values.contains(&("7", "Vendor")));
    assert_eq!(field(&fields, "companyName")["picklistValues"], Value::Null);
    for name in ["territoryID", "marketSegmentID", "classification"] {
        assert!(field(&fields, name)["picklistValues"]
            .as_array()
            .is_some_and(|l| !l.is_empty()));
    }
    for (entity, names) in [
        ("Opportunities", ["stage", "status"]),
        ("Projects", ["status", "projectType"]),
        ("Tasks", ["status", "taskType"]),
    ] {
        let (_, fields) = api
            .call(
                Method::GET,
                &format!("{entity}/entityInformation/fields"),
                None,
            )
            .await;
        for name in names {
            assert_eq!(field(&fields, name)["isPickList"], true, "{entity}.{name}");
        }
    }
    let (_, info) = api
        .call(Method::GET, "Companies/entityInformation", None)
        .await;
    assert_eq!(info["info"]["name"], "Company");
    assert_eq!(info["info"]["canDelete"], false);
    assert_eq!(info["info"]["supportsWebhookCallouts"], true);
}
