//! The ConnectWise simulator holds to ConnectWise's own rules where the
//! connector once agreed with it but not with the provider: company info
//! names no host, cloud calls must go to the `api-` host, `childConditions`
//! has no `in`, conditions reach any field of a record, the forecast is a
//! whole `Forecast` (listed on GET), and currency references carry
//! `currencyCode`. Sources: `fixtures/connectwise/README.md`.

use reqwest::StatusCode;
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use serde_json::{json, Value};

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

    fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.header("Authorization", self.sim.authorization())
            .header("clientId", self.sim.client_id())
            .header(
                "Accept",
                "application/vnd.connectwise.com+json; version=2025.1",
            )
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        host: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{}", self.sim.api_base(), path_and_query);
        let mut rb = self.authed(self.http.request(method, url));
        if let Some(host) = host {
            rb = rb.header("Host", host);
        }
        if let Some(body) = body {
            rb = rb.json(body);
        }
        let r = rb.send().await.unwrap();
        let status = r.status();
        let bytes = r.bytes().await.unwrap();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, v)
    }

    async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path_and_query, None, None)
            .await
    }

    /// Every id a filtered list returns, in one page of up to 1000.
    async fn ids(&self, path: &str, param: &str, value: &str) -> Vec<u64> {
        let (status, body) = self
            .get(&format!("{path}?pageSize=1000&{param}={}", enc(value)))
            .await;
        assert_eq!(status, 200, "{param}={value}: {body}");
        body.as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_u64().unwrap())
            .collect()
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn company_info_answers_as_the_developer_guide_shows_it() {
    let api = Api::start(ConnectWiseSimConfig::default()).await;
    let info: Value = api
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
    let keys: Vec<&str> = info
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys.len(),
        6,
        "CompanyName, Codebase, VersionCode, VersionNumber, CompanyID, IsCloud: {info}"
    );
    assert!(info.get("SiteUrl").is_none());
    assert_eq!(info["Codebase"], "v2025_1/");
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../fixtures/connectwise/companyinfo.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    assert!(
        fixture.get("SiteUrl").is_none(),
        "the fixture has no SiteUrl"
    );
}

#[tokio::test]
async fn a_cloud_site_refuses_calls_off_its_api_host() {
    let port = |api: &Api| api.sim.server_url().rsplit(':').next().unwrap().to_string();
    for configured in ["na.myconnectwise.net", "api-na.myconnectwise.net"] {
        let api = Api::start(ConnectWiseSimConfig::default().with_cloud_site(configured)).await;
        let p = port(&api);
        for wrong in [
            "na.myconnectwise.net".to_string(),
            format!("na.myconnectwise.net:{p}"),
            format!("api-eu.myconnectwise.net:{p}"),
            format!("127.0.0.1:{p}"),
        ] {
            let (status, body) = api
                .call(reqwest::Method::GET, "/system/info", Some(&wrong), None)
                .await;
            assert_eq!(status, 401, "{configured} called as {wrong}");
            assert_eq!(
                body,
                json!({"code": "Security", "message": "SSL is required.", "errors": null}),
                "{wrong}"
            );
        }
        for right in [
            "api-na.myconnectwise.net".to_string(),
            format!("API-NA.myconnectwise.net:{p}"),
        ] {
            let (status, body) = api
                .call(reqwest::Method::GET, "/system/info", Some(&right), None)
                .await;
            assert_eq!(status, 200, "{configured} called as {right}: {body}");
        }
        // Company info is answered on the login site.
        let info = api
            .http
            .get(format!(
                "{}/login/companyinfo/{}",
                api.sim.server_url(),
                api.sim.company_id()
            ))
            .header("Host", "na.myconnectwise.net")
            .send()
            .await
            .unwrap();
        assert_eq!(info.status(), 200);
    }
    // Without a cloud site the simulator cannot tell, and answers.
    let api = Api::start(ConnectWiseSimConfig::default()).await;
    let (status, _) = api
        .call(
            reqwest::Method::GET,
            "/system/info",
            Some("na.myconnectwise.net"),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn child_conditions_refuse_in_and_take_or() {
    let api = Api::start(ConnectWiseSimConfig::new(40, 0)).await;
    let (status, body) = api
        .get(&format!(
            "/company/companies?childConditions={}",
            enc("types/id in (1, 5)")
        ))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "InvalidObject");
    assert!(body["message"].as_str().unwrap().contains("'in'"), "{body}");
    let (status, _) = api
        .get(&format!(
            "/company/companies/count?childConditions={}",
            enc("types/id in (1)")
        ))
        .await;
    assert_eq!(status, 400);
    // `in` stays valid in conditions.
    assert!(!api
        .ids("/company/companies", "conditions", "status/id in (1, 3)")
        .await
        .is_empty());

    let expected: Vec<u64> = api
        .sim
        .companies()
        .iter()
        .filter(|c| c.type_ids.iter().any(|t| [1, 5].contains(t)))
        .map(|c| c.id)
        .collect();
    assert!(!expected.is_empty() && expected.len() < 40);
    let got = api
        .ids(
            "/company/companies",
            "childConditions",
            "types/id=1 or types/id=5",
        )
        .await;
    assert_eq!(got, expected);
}

#[tokio::test]
async fn conditions_reach_any_field_of_a_record() {
    let api = Api::start(ConnectWiseSimConfig::new(24, 2).with_opportunities_per_company(2)).await;

    // Companies: zip, country/id, phoneNumber.
    let (_, all) = api.get("/company/companies?pageSize=1000").await;
    let all = all.as_array().unwrap().clone();
    let zip = all[3]["zip"].as_str().unwrap().to_string();
    let with_zip: Vec<u64> = all
        .iter()
        .filter(|c| c["zip"] == json!(zip))
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert!(with_zip.len() < all.len(), "the filter must narrow");
    assert_eq!(
        api.ids(
            "/company/companies",
            "conditions",
            &format!("zip = \"{zip}\"")
        )
        .await,
        with_zip
    );
    let country = all[0]["country"]["id"].as_u64().unwrap();
    assert_eq!(
        api.ids(
            "/company/companies",
            "conditions",
            &format!("country/id = {country}")
        )
        .await
        .len(),
        all.iter()
            .filter(|c| c["country"]["id"] == json!(country))
            .count()
    );
    let phone = all[5]["phoneNumber"].as_str().unwrap().to_string();
    assert_eq!(
        api.ids(
            "/company/companies",
            "conditions",
            &format!("phoneNumber = \"{phone}\"")
        )
        .await,
        all.iter()
            .filter(|c| c["phoneNumber"] == json!(phone))
            .map(|c| c["id"].as_u64().unwrap())
            .collect::<Vec<_>>()
    );

    // Contacts: site/id.
    let (_, contacts) = api.get("/company/contacts?pageSize=1000").await;
    let contacts = contacts.as_array().unwrap().clone();
    let site = contacts
        .iter()
        .find_map(|c| c["site"]["id"].as_u64())
        .expect("contacts have sites");
    assert_eq!(
        api.ids(
            "/company/contacts",
            "conditions",
            &format!("site/id = {site}")
        )
        .await,
        contacts
            .iter()
            .filter(|c| c["site"]["id"] == json!(site))
            .map(|c| c["id"].as_u64().unwrap())
            .collect::<Vec<_>>()
    );

    // Opportunities: primarySalesRep/id and type/id, combined with a
    // field of the schema.
    let (_, opps) = api.get("/sales/opportunities?pageSize=1000").await;
    let opps = opps.as_array().unwrap().clone();
    let rep = opps[0]["primarySalesRep"]["id"].as_u64().unwrap();
    let kind = opps[1]["type"]["id"].as_u64().unwrap();
    let expected: Vec<u64> = opps
        .iter()
        .filter(|o| {
            o["primarySalesRep"]["id"] == json!(rep)
                && o["type"]["id"] == json!(kind)
                && o["status"]["id"] == json!(1)
        })
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        api.ids(
            "/sales/opportunities",
            "conditions",
            &format!("primarySalesRep/id = {rep} and type/id = {kind} and status/id = 1")
        )
        .await,
        expected
    );
    // orderBy on such a field too.
    let (status, sorted) = api
        .get("/company/companies?pageSize=1000&orderBy=zip%20desc")
        .await;
    assert_eq!(status, 200, "{sorted}");
    let zips: Vec<String> = sorted
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["zip"].as_str().unwrap().to_lowercase())
        .collect();
    let mut want = zips.clone();
    want.sort_by(|a, b| b.cmp(a));
    assert_eq!(zips, want);

    // Still refused: a field no record has, an array field in conditions,
    // a scalar one in childConditions, `like` on a number.
    for (param, bad) in [
        ("conditions", "colour = \"red\""),
        ("conditions", "country/colour = 1"),
        ("conditions", "communicationItems/value = \"a@b.example\""),
        ("childConditions", "zip = \"12345\""),
        ("conditions", "country/id like \"1*\""),
    ] {
        let path = if bad.contains("communication") {
            "/company/contacts"
        } else {
            "/company/companies"
        };
        let (status, body) = api.get(&format!("{path}?{param}={}", enc(bad))).await;
        assert_eq!(status, 400, "{param}={bad}: {body}");
        assert_eq!(body["code"], "InvalidObject", "{param}={bad}");
    }
}

#[tokio::test]
async fn the_forecast_is_a_whole_forecast_listed_on_get() {
    let api = Api::start(ConnectWiseSimConfig::default()).await;
    let opp = api.sim.opportunities()[0].id;
    let path = format!("/sales/opportunities/{opp}/forecast");
    let (status, listed) = api.get(&path).await;
    assert_eq!(status, 200);
    let list = listed.as_array().expect("GET answers Forecast[]");
    assert_eq!(list.len(), 1);
    assert!(list[0]["forecastItems"].as_array().unwrap().is_empty());

    let item = json!({
        "forecastType": "Service", "forecastDescription": "scopelink estimate",
        "revenue": 4200, "cost": 0, "status": {"id": 1}, "opportunity": {"id": opp}
    });
    // A bare item is not a Forecast.
    let (status, body) = api
        .call(reqwest::Method::POST, &path, None, Some(&item))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["field"], "forecastItems");
    // Items missing what a forecast item requires are refused, and none of
    // the list is created.
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            &path,
            None,
            Some(&json!({"forecastItems": [item.clone(), {"revenue": 1, "opportunity": {"id": opp}}]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["forecastItems[1].forecastType", "forecastItems[1].status"]
    );
    assert!(api.sim.forecast_items(opp).is_empty());

    let (status, created) = api
        .call(
            reqwest::Method::POST,
            &path,
            None,
            Some(&json!({"forecastItems": [item]})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["forecastRevenueTotals"]["revenue"], 4200.0);
    let items = created["forecastItems"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    // Posting the list back with the existing item does not duplicate it.
    let (status, again) = api
        .call(
            reqwest::Method::POST,
            &path,
            None,
            Some(&json!({"forecastItems": [items[0].clone()]})),
        )
        .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(api.sim.forecast_items(opp).len(), 1);
    let (_, listed) = api.get(&path).await;
    assert_eq!(listed[0]["forecastRevenueTotals"]["revenue"], 4200.0);
    assert_eq!(listed[0]["currency"]["currencyCode"], "USD");
}

#[tokio::test]
async fn currency_references_carry_currency_code() {
    let api = Api::start(ConnectWiseSimConfig::default()).await;
    let (_, opps) = api.get("/sales/opportunities?pageSize=5").await;
    for o in opps.as_array().unwrap() {
        assert_eq!(o["currency"]["currencyCode"], "USD", "{o}");
        assert!(o["currency"].get("isoCode").is_none(), "{o}");
    }
    for file in ["opportunities.json", "project_created.json"] {
        let text = std::fs::read_to_string(format!(
            "{}/../fixtures/connectwise/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert!(text.contains("\"currencyCode\""), "{file}");
        assert!(!text.contains("isoCode"), "{file}");
    }
}
