//! The ConnectWise simulator over raw HTTP: auth, paging, conditions,
//! writes, faults, callbacks and record shapes against the fixtures.

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use scopelink_testkit::connectwise::{sign_callback, ConnectWiseSim, ConnectWiseSimConfig};
use serde_json::{json, Value};
use std::collections::BTreeSet;

struct Api {
    sim: ConnectWiseSim,
    http: reqwest::Client,
}

impl Api {
    async fn start(config: ConnectWiseSimConfig) -> Self {
        Self {
            sim: ConnectWiseSim::start(config).await,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.sim.api_base(), path_and_query)
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.header("Authorization", self.sim.authorization())
            .header("clientId", self.sim.client_id())
            .header(
                "Accept",
                "application/vnd.connectwise.com+json; version=2025.1",
            )
    }

    async fn get(&self, path_and_query: &str) -> (StatusCode, HeaderMap, Value) {
        let r = self
            .authed(self.http.get(self.url(path_and_query)))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.bytes().await.unwrap();
        let v = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        (status, headers, v)
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .authed(self.http.request(method, self.url(path)))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.bytes().await.unwrap();
        let v = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap()
        };
        (status, v)
    }

    /// Every id of a list, following `rel="next"` links.
    async fn all_ids(&self, path_and_query: &str) -> Vec<u64> {
        let mut url = self.url(path_and_query);
        let mut ids = Vec::new();
        for _ in 0..10_000 {
            let r = self.authed(self.http.get(&url)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{url}");
            let next = links(r.headers())
                .into_iter()
                .find(|(rel, _)| rel == "next");
            let page: Vec<Value> = r.json().await.unwrap();
            ids.extend(page.iter().map(|v| v["id"].as_u64().unwrap()));
            match next {
                Some((_, u)) => url = u,
                None => return ids,
            }
        }
        panic!("too many pages");
    }
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../fixtures/connectwise/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (rel, url) pairs of a Link header.
fn links(headers: &HeaderMap) -> Vec<(String, String)> {
    let Some(link) = headers.get("link").and_then(|v| v.to_str().ok()) else {
        return Vec::new();
    };
    link.split(", <")
        .map(|part| {
            let part = part.trim_start_matches('<');
            let (url, rel) = part.split_once(">; rel=\"").unwrap();
            (rel.trim_end_matches('"').to_string(), url.to_string())
        })
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn auth_is_required_and_checked() {
    let api = Api::start(ConnectWiseSimConfig::default()).await;
    let url = api.url("/system/info");
    let none = api.http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["code"], "Unauthorized");
    assert!(body["message"].as_str().unwrap().contains("scopelinkdemo"));

    let wrong = base64_basic(&format!(
        "{}+{}:nope",
        api.sim.company_id(),
        api.sim.public_key()
    ));
    let r = api
        .http
        .get(&url)
        .header("Authorization", wrong)
        .header("clientId", api.sim.client_id())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let no_client = api
        .http
        .get(&url)
        .header("Authorization", api.sim.authorization())
        .send()
        .await
        .unwrap();
    assert_eq!(no_client.status(), 401);

    let (status, _, info) = api.get("/system/info").await;
    assert_eq!(status, 200);
    assert_eq!(info["version"], "v2025.1.118402");

    // Company info needs no auth; an unknown company is `null`.
    let ci: Value = api
        .http
        .get(format!(
            "{}/login/companyinfo/{}",
            api.sim.server_url(),
            api.sim.company_id()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ci["Codebase"], "v2025_1/");
    assert!(
        ci.get("SiteUrl").is_none(),
        "the guide's answer names no host"
    );
    assert_eq!(keys(&ci), keys(&fixture("companyinfo.json")));
    let unknown = api
        .http
        .get(format!("{}/login/companyinfo/nobody", api.sim.server_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 200);
    assert_eq!(unknown.text().await.unwrap(), "null");

    // Restricted mode: 403 everywhere but /system/info.
    api.sim.set_restricted(true);
    assert_eq!(api.get("/system/info").await.0, 200);
    let (status, _, body) = api.get("/company/companies").await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "NotAuthorized");
    api.sim.set_restricted(false);
    api.sim.restrict_path("/sales/opportunities");
    assert_eq!(api.get("/sales/opportunities").await.0, 403);
    assert_eq!(api.get("/company/companies").await.0, 200);

    // Unknown endpoints and ids.
    let (status, _, body) = api.get("/company/nothing").await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (404, Some("ConnectWiseApi"))
    );
    let (status, _, body) = api.get("/company/companies/99999").await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"code": "NotFound", "message": "Company 99999 not found"})
    );
}

fn base64_basic(raw: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[tokio::test]
async fn pages_and_link_headers_follow_connectwise() {
    let api = Api::start(ConnectWiseSimConfig::new(12, 1)).await;
    let (status, h, page) = api.get("/company/companies?pageSize=5&page=1").await;
    assert_eq!(status, 200);
    assert_eq!(page.as_array().unwrap().len(), 5);
    let base = format!("{}/company/companies", api.sim.api_base());
    assert_eq!(
        h.get("link").unwrap().to_str().unwrap(),
        format!(
            "<{base}?pageSize=5&page=2>; rel=\"next\", <{base}?pageSize=5&page=3>; rel=\"last\""
        )
    );
    let (_, h, page) = api.get("/company/companies?pageSize=5&page=3").await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    let l = links(&h);
    let rels: Vec<&str> = l.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(rels, ["first", "prev", "last"]);
    assert!(l[1].1.ends_with("page=2"));

    // Parameters are kept, URL-encoded; ids run in order across pages.
    let cond = "status/id in (1,3)";
    let (_, h, _) = api
        .get(&format!(
            "/company/companies?conditions={}&pageSize=2&orderBy=id%20asc",
            enc(cond)
        ))
        .await;
    let next = links(&h).into_iter().find(|(r, _)| r == "next").unwrap().1;
    assert!(
        next.starts_with(&format!(
            "{base}?conditions=status%2Fid+in+%281%2C3%29&orderBy=id+asc&pageSize=2&page=2"
        )),
        "{next}"
    );
    let ids = api.all_ids("/company/companies?pageSize=5").await;
    assert_eq!(ids, (250..262).collect::<Vec<_>>());

    // Default 25, max 1000 (larger is clamped), bad values are 400.
    let api = Api::start(ConnectWiseSimConfig::new(1200, 0)).await;
    let (_, _, page) = api.get("/company/companies").await;
    assert_eq!(page.as_array().unwrap().len(), 25);
    let (_, h, page) = api.get("/company/companies?pageSize=5000").await;
    assert_eq!(page.as_array().unwrap().len(), 1000);
    assert!(links(&h)[0].1.contains("pageSize=1000&page=2"));
    for bad in ["page=0", "page=x", "pageSize=0", "pageSize=-3"] {
        let (status, _, body) = api.get(&format!("/company/companies?{bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["message"].is_string());
    }
    // A page past the end is empty, with no next.
    let (_, h, page) = api.get("/company/companies?pageSize=1000&page=9").await;
    assert_eq!(page, json!([]));
    assert!(links(&h).iter().all(|(r, _)| r != "next"));

    // Forward-only paging: pageId acts as `id > pageId`.
    let r = api
        .authed(
            api.http
                .get(api.url("/company/companies?pageSize=1000&pageId=300")),
        )
        .header("pagination-type", "forward-only")
        .send()
        .await
        .unwrap();
    let link = r
        .headers()
        .get("link")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let page: Vec<Value> = r.json().await.unwrap();
    assert_eq!(page[0]["id"], 301);
    assert_eq!(page.len(), 1000);
    assert!(link.contains("pageId=1300"), "{link}");
    let r = api
        .authed(
            api.http
                .get(api.url("/company/companies?pageSize=10&orderBy=name")),
        )
        .header("pagination-type", "forward-only")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn conditions_filter_lists_and_counts() {
    let api = Api::start(ConnectWiseSimConfig::new(420, 1)).await;
    let all = api.sim.companies();
    assert_eq!(all.len(), 420);
    let cutoff = all[200].last_updated;
    let stamp = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    type Pred = Box<dyn Fn(&scopelink_testkit::connectwise::CompanyView) -> bool>;
    let cases: Vec<(String, String, Pred)> = vec![
        (
            "status/id in (1, 3) and territory/id = 11".into(),
            String::new(),
            Box::new(|c| [1, 3].contains(&c.status_id) && c.territory_id == 11),
        ),
        (
            "market/name in (\"Legal\", \"Healthcare\")".into(),
            String::new(),
            Box::new(|c| [3, 4].contains(&c.market_id)),
        ),
        (
            "market/id in (7) and status/id = 1".into(),
            "types/id = 1 or types/id = 5".into(),
            Box::new(|c| {
                c.market_id == 7
                    && c.status_id == 1
                    && c.type_ids.iter().any(|t| [1, 5].contains(t))
            }),
        ),
        (
            String::new(),
            "types/id = 5".into(),
            Box::new(|c| c.type_ids.contains(&5)),
        ),
        (
            format!("lastUpdated >= [{stamp}]"),
            String::new(),
            Box::new(move |c| c.last_updated >= cutoff),
        ),
        (
            format!("LastUpdated > [{stamp}] AND (status/id = 2 OR market/name = \"healthcare\")"),
            String::new(),
            Box::new(move |c| c.last_updated > cutoff && (c.status_id == 2 || c.market_id == 3)),
        ),
        (
            "name like \"Blue*\" and not status/id = 2".into(),
            String::new(),
            Box::new(|c| c.name.starts_with("Blue") && c.status_id != 2),
        ),
        (
            "territory/id not in (11, 12)".into(),
            String::new(),
            Box::new(|c| c.territory_id == 13),
        ),
    ];
    for (cond, child, pred) in cases {
        let expected: Vec<u64> = all.iter().filter(|c| pred(c)).map(|c| c.id).collect();
        assert!(!expected.is_empty(), "{cond} / {child} matches nothing");
        let mut q = String::from("pageSize=37");
        if !cond.is_empty() {
            q.push_str(&format!("&conditions={}", enc(&cond)));
        }
        if !child.is_empty() {
            q.push_str(&format!("&childConditions={}", enc(&child)));
        }
        let ids = api.all_ids(&format!("/company/companies?{q}")).await;
        assert_eq!(ids, expected, "{cond} / {child}");
        let (status, _, count) = api.get(&format!("/company/companies/count?{q}")).await;
        assert_eq!(status, 200);
        assert_eq!(count, json!({"count": expected.len()}), "{cond} / {child}");
    }
    // Unfiltered count.
    assert_eq!(
        api.get("/company/companies/count").await.2,
        json!({"count": 420})
    );

    // Lookups filter on any field; project boards are service boards.
    let (_, _, boards) = api
        .get(&format!(
            "/service/boards?conditions={}",
            enc("projectFlag=true")
        ))
        .await;
    let ids: Vec<u64> = boards
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [31, 32]);

    // orderBy.
    let (_, _, page) = api
        .get("/company/companies?orderBy=name%20desc&pageSize=3")
        .await;
    let names: Vec<String> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    let mut sorted: Vec<String> = all.iter().map(|c| c.name.clone()).collect();
    sorted.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert_eq!(names, sorted[..3]);

    // What the simulator does not understand is a 400, not a silent match.
    for (param, bad) in [
        ("conditions", "types/id = 1"),
        ("conditions", "colour = \"red\""),
        ("conditions", "status/id = \"1\""),
        ("conditions", "lastUpdated > \"2024-01-01\""),
        ("conditions", "status/id in 1"),
        ("conditions", "status/id = 1 and"),
        ("conditions", "(status/id = 1"),
        ("conditions", "name = Blue"),
        ("conditions", "lastUpdated > [yesterday]"),
        ("childConditions", "status/id = 1"),
        ("orderBy", "colour asc"),
    ] {
        let (status, _, body) = api
            .get(&format!("/company/companies?{param}={}", enc(bad)))
            .await;
        assert_eq!(status, 400, "{param}={bad}");
        assert_eq!(body["code"], "InvalidObject", "{param}={bad}");
        let (status, _, _) = api
            .get(&format!("/company/companies/count?{param}={}", enc(bad)))
            .await;
        assert_eq!(status, 400, "count {param}={bad}");
    }
}

#[tokio::test]
async fn contacts_follow_companies_and_orphans_point_nowhere() {
    let api = Api::start(ConnectWiseSimConfig::new(10, 3).with_orphan_contacts(4)).await;
    let contacts = api.sim.contacts();
    assert_eq!(contacts.len(), 34);
    let orphans: Vec<_> = contacts.iter().filter(|c| !c.company_exists).collect();
    assert_eq!(orphans.len(), 4);
    for o in &orphans {
        let (_, _, c) = api.get(&format!("/company/contacts/{}", o.id)).await;
        let cid = c["company"]["id"].as_u64().unwrap();
        assert_eq!(api.get(&format!("/company/companies/{cid}")).await.0, 404);
    }
    let (_, _, page) = api
        .get(&format!(
            "/company/contacts?conditions={}",
            enc("company/id = 251")
        ))
        .await;
    assert_eq!(page.as_array().unwrap().len(), 3);
    let (_, _, company) = api.get("/company/companies/251").await;
    assert_eq!(company["defaultContact"]["id"], page[0]["id"]);
}

#[tokio::test]
async fn records_have_the_fixture_shapes() {
    let api = Api::start(
        ConnectWiseSimConfig::new(10, 2)
            .with_opportunities_per_company(5)
            .with_configurations_per_company(1)
            .with_catalog_items(3),
    )
    .await;
    let cases = [
        ("/company/companies", "companies_page1.json"),
        ("/company/contacts", "contacts.json"),
        ("/sales/opportunities", "opportunities.json"),
        ("/company/configurations", "configurations.json"),
        ("/procurement/catalog", "catalog.json"),
        ("/company/companies/types", "company_types.json"),
        ("/company/companies/statuses", "company_statuses.json"),
        ("/system/locations", "territories.json"),
        ("/company/marketDescriptions", "markets.json"),
        ("/project/statuses", "project_statuses.json"),
    ];
    for (path, file) in cases {
        let (status, _, page) = api.get(path).await;
        assert_eq!(status, 200, "{path}");
        let page = page.as_array().unwrap();
        let expected = fixture(file);
        let expected = expected.as_array().unwrap();
        // Every key a fixture record has, the simulator's records have (and
        // nothing else), nested references and `_info` included.
        let wanted: BTreeSet<String> = expected.iter().flat_map(keys).collect();
        let got: BTreeSet<String> = page.iter().flat_map(keys).collect();
        assert_eq!(got, wanted, "{path}");
        let info_keys = |v: &Value| keys(&v["_info"]);
        assert_eq!(info_keys(&page[0]), info_keys(&expected[0]), "{path} _info");
        for (k, v) in expected[0].as_object().unwrap() {
            if let Some(obj) = v.as_object() {
                if obj.contains_key("_info") {
                    assert_eq!(keys(&page[0][k]), keys(v), "{path} {k}");
                    assert_eq!(
                        keys(&page[0][k]["_info"]),
                        keys(&v["_info"]),
                        "{path} {k}._info"
                    );
                }
            }
        }
        let href = page[0]["_info"]
            .as_object()
            .unwrap()
            .values()
            .find_map(|v| v.as_str().filter(|s| s.starts_with("http")));
        if let Some(href) = href {
            assert!(href.starts_with(api.sim.api_base()), "{href}");
        }
    }
    // Timestamps look like ConnectWise's.
    let (_, _, c) = api.get("/company/companies/250").await;
    let lu = c["_info"]["lastUpdated"].as_str().unwrap();
    assert_eq!(lu.len(), 20);
    assert!(lu.ends_with('Z') && lu.starts_with("202"));
    // Single GETs equal the list's records.
    let (_, _, page) = api.get("/company/companies?pageSize=1").await;
    assert_eq!(page[0], c);
    assert_eq!(api.sim.company(250).unwrap(), c);
}

#[tokio::test]
async fn opportunity_patch_applies_and_rejects() {
    let api = Api::start(ConnectWiseSimConfig::new(3, 2)).await;
    let before = api.sim.opportunity(5012).unwrap();
    let body = fixture("opportunity_patch_request.json");
    // The fixture's contact 1811 exists in the simulator too.
    let (status, after) = api
        .send(reqwest::Method::PATCH, "/sales/opportunities/5012", &body)
        .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["expectedCloseDate"], "2025-05-31T00:00:00Z");
    assert_eq!(after["stage"]["id"], 4);
    assert_eq!(after["stage"]["name"], "Negotiation");
    assert_eq!(after["probability"]["id"], 7);
    assert_eq!(after["probability"]["name"], "75");
    assert_eq!(after["contact"]["id"], 1811);
    assert!(after["_info"]["lastUpdated"].as_str() > before["_info"]["lastUpdated"].as_str());
    assert_eq!(api.sim.opportunity(5012).unwrap(), after);
    let view = &api.sim.opportunities()[0];
    assert_eq!((view.stage_id, view.probability_id), (4, 7));

    // Leading slashes are accepted; invalid values are rejected and nothing
    // is applied.
    let (status, _) = api
        .send(
            reqwest::Method::PATCH,
            "/sales/opportunities/5012",
            &json!([{"op": "replace", "path": "/name", "value": "Renamed"}]),
        )
        .await;
    assert_eq!(status, 200);
    for bad in [
        json!([{"op": "replace", "path": "name", "value": "X"}, {"op": "replace", "path": "stage", "value": {"id": 999}}]),
        json!([{"op": "replace", "path": "stage/id", "value": 3}]),
        json!([{"op": "replace", "path": "ExpectedCloseDate", "value": "2025-01-01T00:00:00Z"}]),
        json!([{"op": "replace", "path": "expectedCloseDate", "value": "soon"}]),
        json!([{"op": "replace", "path": "contact", "value": {"id": 424242}}]),
        json!({"op": "replace"}),
    ] {
        let (status, err) = api
            .send(reqwest::Method::PATCH, "/sales/opportunities/5012", &bad)
            .await;
        assert_eq!(status, 400, "{bad}");
        assert!(err["message"].is_string());
    }
    assert_eq!(api.sim.opportunity(5012).unwrap()["name"], "Renamed");
    let (_, err) = api
        .send(
            reqwest::Method::PATCH,
            "/sales/opportunities/5012",
            &json!([{"op": "replace", "path": "stage", "value": {"id": 999}}]),
        )
        .await;
    assert_eq!(err["errors"][0]["message"], "Stage id 999 is invalid.");
    let (status, _) = api
        .send(reqwest::Method::PATCH, "/sales/opportunities/1", &json!([]))
        .await;
    assert_eq!(status, 404);

    // Forecast items carry the value; the endpoint takes a whole Forecast.
    let item = json!({"forecastType": "Service", "revenue": 12000, "cost": 0, "status": {"id": 1}, "opportunity": {"id": 5012}, "forecastDescription": "scopelink estimate"});
    let (status, refused) = api
        .send(
            reqwest::Method::POST,
            "/sales/opportunities/5012/forecast",
            &item,
        )
        .await;
    assert_eq!(status, 400, "a bare item is not a Forecast: {refused}");
    let (status, posted) = api
        .send(
            reqwest::Method::POST,
            "/sales/opportunities/5012/forecast",
            &json!({"forecastItems": [item]}),
        )
        .await;
    assert_eq!(status, 201, "{posted}");
    assert_eq!(posted["forecastRevenueTotals"]["revenue"], 12000.0);
    let item_id = posted["forecastItems"][0]["id"].clone();
    let (_, _, forecast) = api.get("/sales/opportunities/5012/forecast").await;
    assert_eq!(forecast[0]["forecastRevenueTotals"]["revenue"], 12000.0);
    let path = format!("/sales/opportunities/5012/forecast/{item_id}");
    let (status, _) = api
        .send(
            reqwest::Method::PATCH,
            &path,
            &json!([{"op": "replace", "path": "revenue", "value": 15000}]),
        )
        .await;
    assert_eq!(status, 200);
    let (_, _, forecast) = api.get("/sales/opportunities/5012/forecast").await;
    assert_eq!(forecast[0]["forecastRevenueTotals"]["revenue"], 15000.0);
    assert_eq!(api.sim.forecast_items(5012).len(), 1);
}

#[tokio::test]
async fn faults_are_injected() {
    let api = Api::start(ConnectWiseSimConfig::default()).await;
    api.sim.fail_next(2, 429);
    for _ in 0..2 {
        let r = api
            .authed(api.http.get(api.url("/system/info")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers().get("retry-after").unwrap(), "0");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "ConnectWiseAPI");
    }
    assert_eq!(api.get("/system/info").await.0, 200);

    api.sim.fail_every(3, 503);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(api.get("/system/info").await.0.as_u16());
    }
    assert_eq!(statuses, [200, 200, 503, 200, 200, 503]);
    api.sim.clear_faults();
    assert_eq!(api.get("/system/info").await.0, 200);

    assert_eq!(api.sim.request_count(), 10);
    let log = api.sim.requests();
    assert_eq!(
        log[0],
        (
            "GET".to_string(),
            "/v2025_1/apis/3.0/system/info".to_string()
        )
    );
    api.sim.clear_requests();
    api.get("/company/companies?pageSize=2").await;
    assert_eq!(
        api.sim.requests(),
        [(
            "GET".to_string(),
            "/v2025_1/apis/3.0/company/companies?pageSize=2".to_string()
        )]
    );
}

#[tokio::test]
async fn mutations_show_up_in_incremental_queries() {
    let api = Api::start(ConnectWiseSimConfig::new(50, 1)).await;
    let newest = api
        .sim
        .companies()
        .iter()
        .map(|c| c.last_updated)
        .max()
        .unwrap();
    let stamp = newest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let q = format!(
        "/company/companies?conditions={}",
        enc(&format!("lastUpdated > [{stamp}]"))
    );
    assert_eq!(api.all_ids(&q).await, Vec::<u64>::new());
    assert!(api.sim.touch_company(260, "Renamed & Co \"quoted\""));
    assert!(api.sim.set_company_status(270, 2));
    assert!(!api.sim.touch_company(1, "nobody"));
    assert_eq!(api.all_ids(&q).await, [260, 270]);
    let (_, _, c) = api.get("/company/companies/260").await;
    assert_eq!(c["name"], "Renamed & Co \"quoted\"");
    assert_eq!(c["status"]["id"], 1);
    assert!(api.sim.delete_company(270));
    assert_eq!(api.get("/company/companies/270").await.0, 404);
    assert_eq!(api.get("/company/companies/count").await.2["count"], 49);
}

#[tokio::test]
async fn signed_callbacks_verify_against_the_key_url() {
    // The fixture's test vector.
    let body = std::fs::read(format!(
        "{}/../fixtures/connectwise/callback_payload_company_updated.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let key = fixture("callback_signing_key.json");
    let headers = fixture("callback_payload_company_updated.headers.json");
    assert_eq!(
        sign_callback(key["signing_key"].as_str().unwrap(), &body),
        headers["x-content-signature"]
    );

    let api = Api::start(ConnectWiseSimConfig::new(5, 1)).await;
    api.sim.touch_company(251, "Blue Fin Logistics, Inc.");
    let (headers, body) = api.sim.callback_request("updated", "company", 251);
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        keys(&payload),
        keys(&fixture("callback_payload_company_updated.json"))
    );
    assert_eq!(payload["Type"], "company");
    assert_eq!(payload["ID"], 251);
    assert_eq!(payload["Action"], "updated");
    assert_eq!(payload["FromUrl"], api.sim.site_url());
    let entity: Value = serde_json::from_str(payload["Entity"].as_str().unwrap()).unwrap();
    assert_eq!(entity, api.sim.company(251).unwrap());
    assert_eq!(entity["name"], "Blue Fin Logistics, Inc.");

    let key_url = payload["Metadata"]["key_url"].as_str().unwrap();
    assert_eq!(key_url, api.sim.key_url());
    assert!(key_url.contains("/v2025_1//system/callbackkey/index.rails?companyName="));
    let served: Value = api
        .http
        .get(key_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signing_key = served["signing_key"].as_str().unwrap();
    assert_eq!(signing_key, api.sim.signing_key());
    let signature = &headers
        .iter()
        .find(|(k, _)| k == "x-content-signature")
        .unwrap()
        .1;
    assert_eq!(&sign_callback(signing_key, &body), signature);
    // A wrong key id is not served.
    let wrong = key_url.replace("&id=", "&id=0");
    assert_eq!(api.http.get(wrong).send().await.unwrap().status(), 404);

    let (_, body) = api.sim.callback_request("deleted", "contact", 1811);
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["Entity"], Value::Null);
}

#[tokio::test]
async fn callbacks_and_projects_are_stored() {
    let api = Api::start(ConnectWiseSimConfig::new(5, 1)).await;
    let (status, created) = api
        .send(
            reqwest::Method::POST,
            "/system/callbacks",
            &fixture("callback_create_request.json"),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let want = fixture("callback_created.json");
    assert_eq!(keys(&created), keys(&want));
    assert_eq!(created["objectId"], 1);
    let (status, dup) = api
        .send(
            reqwest::Method::POST,
            "/system/callbacks",
            &fixture("callback_create_request.json"),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(dup["errors"][0]["code"], "ObjectExists");
    let (status, bad) = api
        .send(
            reqwest::Method::POST,
            "/system/callbacks",
            &json!({"url": "not a url", "objectId": 1, "type": "company", "level": "galaxy"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(bad["errors"].as_array().unwrap().len(), 2);
    let id = created["id"].as_u64().unwrap();
    let (status, patched) = api
        .send(
            reqwest::Method::PATCH,
            &format!("/system/callbacks/{id}"),
            &json!([{"op": "replace", "path": "inactiveFlag", "value": true}]),
        )
        .await;
    assert_eq!(
        (status.as_u16(), &patched["inactiveFlag"]),
        (200, &json!(true))
    );
    assert_eq!(api.sim.callbacks().len(), 1);

    // Projects need a project board, a company, dates and a billing method.
    let (status, err) = api
        .send(
            reqwest::Method::POST,
            "/project/projects",
            &json!({"name": "X", "board": {"id": 1}, "company": {"id": 250}}),
        )
        .await;
    assert_eq!(status, 400);
    let fields: BTreeSet<&str> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["billingMethod", "board", "estimatedEnd", "estimatedStart"].into()
    );
    let (status, project) = api
        .send(
            reqwest::Method::POST,
            "/project/projects",
            &json!({"name": "Northwind - MSP Onboarding", "board": {"id": 31}, "company": {"id": 250},
                "estimatedStart": "2025-05-05T00:00:00Z", "estimatedEnd": "2025-06-27T00:00:00Z",
                "billingMethod": "FixedFee", "status": {"id": 1}, "contact": {"id": 1811}, "opportunity": {"id": 5012}}),
        )
        .await;
    assert_eq!(status, 201, "{project}");
    let want = fixture("project_created.json");
    let missing: Vec<String> = keys(&want).difference(&keys(&project)).cloned().collect();
    assert!(
        missing.iter().all(|k| k == "manager" || k == "type"),
        "{missing:?}"
    );
    let pid = project["id"].as_u64().unwrap();
    let (status, phase) = api
        .send(
            reqwest::Method::POST,
            &format!("/project/projects/{pid}/phases"),
            &json!({"description": "Discovery & Assessment", "budgetHours": 24}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(phase["projectId"], pid);
    assert_eq!(phase["wbsCode"], "1");
    let (_, sub) = api
        .send(
            reqwest::Method::POST,
            &format!("/project/projects/{pid}/phases"),
            &json!({"description": "Sub", "parentPhase": {"id": phase["id"]}}),
        )
        .await;
    assert_eq!(sub["wbsCode"], "1.1");
    assert_eq!(
        api.send(
            reqwest::Method::POST,
            &format!("/project/projects/{pid}/phases"),
            &json!({})
        )
        .await
        .0,
        400
    );
    let (status, ticket) = api
        .send(reqwest::Method::POST, "/project/tickets", &json!({"summary": "Network & firewall assessment", "phase": {"id": phase["id"]}, "project": {"id": pid}, "budgetHours": 8, "initialDescription": "scope"}))
        .await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["wbsCode"], "1.1");
    assert_eq!(ticket["company"]["id"], 250);
    assert!(ticket.get("initialDescription").is_none());
    assert_eq!(api.sim.tickets()[0]["initialDescription"], "scope");
    let (status, _) = api
        .send(
            reqwest::Method::POST,
            "/project/tickets",
            &json!({"summary": "No phase"}),
        )
        .await;
    assert_eq!(status, 400);
    let tid = ticket["id"].as_u64().unwrap();
    let (status, _) = api
        .send(
            reqwest::Method::POST,
            &format!("/project/tickets/{tid}/tasks"),
            &json!({"notes": "Check the VPN"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(api.sim.projects().len(), 1);
    assert_eq!(api.sim.phases().len(), 2);
    assert_eq!(api.sim.ticket_tasks().len(), 1);
    assert_eq!(
        api.get(&format!("/project/projects/{pid}/phases"))
            .await
            .2
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        api.get(&format!("/project/projects/{pid}")).await.2,
        project
    );

    // Bodies that are not JSON are 400, never a crash.
    let r = api
        .authed(api.http.post(api.url("/project/projects")))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(api.get("/system/info").await.0, 200);
}

#[tokio::test]
async fn large_data_renders_lazily() {
    let api = Api::start(ConnectWiseSimConfig::new(20_000, 3).with_orphan_contacts(10)).await;
    assert_eq!(api.sim.contact_count(), 60_010);
    let (_, h, page) = api.get("/company/contacts?pageSize=1000&page=61").await;
    assert_eq!(page.as_array().unwrap().len(), 10);
    assert!(links(&h).iter().all(|(r, _)| r != "next"));
    let (_, _, count) = api
        .get(&format!(
            "/company/contacts/count?conditions={}",
            enc("company/id >= 20250")
        ))
        .await;
    assert_eq!(count["count"], 10);
}

#[tokio::test]
async fn a_total_of_opportunities_is_spread_over_the_companies() {
    let sim =
        ConnectWiseSim::start(ConnectWiseSimConfig::new(10, 0).with_opportunities_total(4)).await;
    assert_eq!(sim.opportunity_count(), 4);
    let companies: BTreeSet<u64> = sim.opportunities().iter().map(|o| o.company_id).collect();
    // 4 over 10 companies: the 1st, 3rd, 6th and 8th (ids from 250).
    assert_eq!(companies, BTreeSet::from([250, 252, 255, 257]));
    let none =
        ConnectWiseSim::start(ConnectWiseSimConfig::new(0, 0).with_opportunities_total(4)).await;
    assert_eq!(none.opportunity_count(), 0);
}
