//! The Salesforce simulator, driven with plain HTTP as Salesforce's public
//! clients drive the real API.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::{Client, StatusCode};
use scopelink_testkit::oauth::issued_at_signature;
use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

struct Api {
    sim: SalesforceSim,
    http: Client,
    token: String,
    refresh: String,
}

struct Answer {
    status: StatusCode,
    limit_info: Option<String>,
    body: Value,
}

impl Api {
    async fn start(config: SalesforceSimConfig) -> Self {
        let sim = SalesforceSim::start(config).await;
        let http = Client::new();
        let tokens = login(&http, &sim).await;
        Self {
            token: tokens["access_token"].as_str().unwrap().to_string(),
            refresh: tokens["refresh_token"].as_str().unwrap().to_string(),
            sim,
            http,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let limit_info = resp
            .headers()
            .get("sforce-limit-info")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        Answer {
            status,
            limit_info,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.instance_url())
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(self.url(path)).bearer_auth(&self.token))
            .await
    }

    async fn query(&self, soql: &str) -> Answer {
        self.send(
            self.http
                .get(self.url("/services/data/v62.0/query"))
                .query(&[("q", soql)])
                .bearer_auth(&self.token),
        )
        .await
    }

    async fn query_all(&self, soql: &str) -> Answer {
        self.send(
            self.http
                .get(self.url("/services/data/v62.0/queryAll"))
                .query(&[("q", soql)])
                .bearer_auth(&self.token),
        )
        .await
    }

    async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(
            self.http
                .patch(self.url(path))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }
}

/// The authorization code flow with PKCE, as a connected app runs it.
async fn login(http: &Client, sim: &SalesforceSim) -> Value {
    let config = SalesforceSimConfig::default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let mut authorize = url::Url::parse(&sim.authorize_url()).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &config.redirect_uri)
        .append_pair("scope", "api refresh_token")
        .append_pair("state", "st-1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let back = url::Url::parse(&sim.follow(authorize.as_str()).unwrap()).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("a code");
    assert!(back.query_pairs().any(|(k, v)| k == "state" && v == "st-1"));
    let resp = http
        .post(sim.token_url())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret),
            ("redirect_uri", &config.redirect_uri),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn error_code(a: &Answer) -> &str {
    a.body[0]["errorCode"].as_str().unwrap_or_default()
}

fn message(a: &Answer) -> &str {
    a.body[0]["message"].as_str().unwrap_or_default()
}

fn small() -> SalesforceSimConfig {
    SalesforceSimConfig {
        accounts: 6,
        contacts_per_account: 2,
        opportunities: 8,
        ..SalesforceSimConfig::default()
    }
}

#[tokio::test]
async fn token_answer_has_salesforce_shape_and_refresh_keeps_the_instance() {
    let sim = SalesforceSim::start(small()).await;
    let http = Client::new();
    let t = login(&http, &sim).await;
    let config = SalesforceSimConfig::default();
    assert_eq!(t["instance_url"], json!(sim.instance_url()));
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "api refresh_token");
    assert!(
        t.get("expires_in").is_none(),
        "Salesforce sends no expires_in"
    );
    let id = t["id"].as_str().unwrap();
    assert_eq!(
        id,
        format!(
            "{}/id/{}/{}",
            sim.login_url(),
            sim.organization_id(),
            config.user_id
        )
    );
    let issued_at = t["issued_at"].as_str().unwrap();
    assert!(issued_at.len() >= 13 && issued_at.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        t["signature"].as_str().unwrap(),
        issued_at_signature(&config.client_secret, id, issued_at)
    );
    assert!(STANDARD.decode(t["signature"].as_str().unwrap()).is_ok());

    let refreshed: Value = http
        .post(sim.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(refreshed["access_token"], t["access_token"]);
    assert!(refreshed.get("refresh_token").is_none(), "no rotation");
    assert_eq!(refreshed["instance_url"], t["instance_url"]);
    assert_eq!(refreshed["scope"], "api refresh_token");
    assert!(refreshed.get("expires_in").is_none());
}

#[tokio::test]
async fn sessions_expire_and_unknown_tokens_are_refused() {
    let api = Api::start(small()).await;
    let ok = api.get("/services/data/v62.0/limits").await;
    assert_eq!(ok.status, 200);

    let none = api
        .send(api.http.get(api.url("/services/data/v62.0/limits")))
        .await;
    assert_eq!(none.status, 401);
    assert_eq!(
        none.body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let forged = api
        .send(
            api.http
                .get(api.url("/services/data/v62.0/limits"))
                .bearer_auth("00Dforged!token"),
        )
        .await;
    assert_eq!(forged.status, 401);

    api.sim.expire_sessions();
    let expired = api.get("/services/data/v62.0/limits").await;
    assert_eq!(expired.status, 401);
    assert_eq!(error_code(&expired), "INVALID_SESSION_ID");

    let config = SalesforceSimConfig::default();
    let refreshed: Value = api
        .http
        .post(api.sim.token_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", api.refresh.as_str()),
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fresh = api
        .send(
            api.http
                .get(api.url("/services/data/v62.0/limits"))
                .bearer_auth(refreshed["access_token"].as_str().unwrap()),
        )
        .await;
    assert_eq!(fresh.status, 200);
}

#[tokio::test]
async fn versions_limits_and_unknown_versions() {
    let api = Api::start(small()).await;
    let versions = api.send(api.http.get(api.url("/services/data/"))).await;
    assert_eq!(versions.status, 200);
    let list = versions.body.as_array().unwrap();
    assert_eq!(list.last().unwrap()["version"], "62.0");
    assert_eq!(list.last().unwrap()["url"], "/services/data/v62.0");
    assert_eq!(list.last().unwrap()["label"], "Winter '25");

    let missing = api.get("/services/data/v99.0/limits").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
    );

    api.sim.set_api_usage(100);
    let limits = api.get("/services/data/v62.0/limits").await;
    assert_eq!(limits.status, 200);
    assert_eq!(limits.body["DailyApiRequests"]["Max"], 15000);
    assert_eq!(limits.body["DailyApiRequests"]["Remaining"], 15000 - 101);
    assert_eq!(limits.limit_info.as_deref(), Some("api-usage=101/15000"));
    let again = api.get("/services/data/v61.0/limits").await;
    assert_eq!(again.limit_info.as_deref(), Some("api-usage=102/15000"));
    assert_eq!(api.sim.api_usage(), 102);
}

#[tokio::test]
async fn daily_limit_refuses_with_request_limit_exceeded() {
    let api = Api::start(SalesforceSimConfig {
        daily_api_limit: 5,
        per_app_limit: Some(("Scoping Sync".into(), 250)),
        ..small()
    })
    .await;
    api.sim.set_api_usage(4);
    let last = api.query("SELECT Id FROM Account LIMIT 1").await;
    assert_eq!(last.status, 200);
    assert_eq!(
        last.limit_info.as_deref(),
        Some("api-usage=5/5; per-app-api-usage=1/250(appName=Scoping Sync)")
    );
    let refused = api.query("SELECT Id FROM Account LIMIT 1").await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.body,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(
        refused.limit_info.as_deref().map(|s| &s[..13]),
        Some("api-usage=5/5")
    );
    assert_eq!(api.sim.api_usage(), 5, "refused calls are not counted");
    api.sim.set_api_usage(0);
    assert_eq!(api.query("SELECT Id FROM Account").await.status, 200);
}

#[tokio::test]
async fn soql_filters_orders_limits_and_counts() {
    let api = Api::start(small()).await;
    let all = api
        .query("select Id, Name, Industry from account order by Name desc limit 4")
        .await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["done"], true);
    let records = all.body["records"].as_array().unwrap();
    assert_eq!(records.len(), 4);
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert_eq!(names, sorted);
    let first = &records[0];
    assert_eq!(first["attributes"]["type"], "Account");
    assert_eq!(
        first["attributes"]["url"],
        json!(format!(
            "/services/data/v62.0/sobjects/Account/{}",
            first["Id"].as_str().unwrap()
        ))
    );
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "only the selected fields: {keys:?}");

    let count = api
        .query("SELECT COUNT() FROM Contact WHERE Email != null")
        .await;
    assert_eq!(count.body["totalSize"], 12);
    assert_eq!(count.body["records"], json!([]));

    let typed = api
        .query("SELECT Id FROM Account WHERE Type IN ('Prospect', 'Customer - Direct') AND Name LIKE '%o%'")
        .await;
    let expected = api
        .sim
        .accounts()
        .iter()
        .filter(|a| {
            ["Prospect", "Customer - Direct"].contains(&a["Type"].as_str().unwrap())
                && a["Name"].as_str().unwrap().to_lowercase().contains('o')
        })
        .count();
    assert_eq!(typed.body["totalSize"], expected);

    let closed = api
        .query("SELECT Id, StageName FROM Opportunity WHERE IsClosed = true OR Amount >= 30000")
        .await;
    for r in closed.body["records"].as_array().unwrap() {
        let opp = api.sim.record(r["Id"].as_str().unwrap()).unwrap();
        assert!(opp["IsClosed"] == true || opp["Amount"].as_f64().unwrap() >= 30000.0);
    }
    assert!(closed.body["totalSize"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn string_literals_are_escaped_and_cannot_change_the_query() {
    let api = Api::start(small()).await;
    // The seed has an O'Brien among the contacts.
    let obrien = api
        .query("SELECT Id, LastName FROM Contact WHERE LastName = 'O\\'Brien'")
        .await;
    assert_eq!(obrien.status, 200);
    let n = api
        .sim
        .contacts()
        .iter()
        .filter(|c| c["LastName"] == "O'Brien")
        .count();
    assert!(n > 0);
    assert_eq!(obrien.body["totalSize"], n);
    // A name crafted to escape the literal stays one literal.
    let injected = api
        .query("SELECT Id FROM Contact WHERE LastName = 'x\\' OR LastName != \\'y'")
        .await;
    assert_eq!(injected.status, 200);
    assert_eq!(injected.body["totalSize"], 0);
    // Unescaped, the quote ends the literal: a syntax error, not a wider query.
    let broken = api
        .query("SELECT Id FROM Contact WHERE LastName = 'O'Brien'")
        .await;
    assert_eq!(broken.status, 400);
    assert_eq!(error_code(&broken), "MALFORMED_QUERY");
    let bad_escape = api
        .query("SELECT Id FROM Contact WHERE LastName = 'a\\qb'")
        .await;
    assert_eq!(error_code(&bad_escape), "MALFORMED_QUERY");
}

#[tokio::test]
async fn refusals_carry_salesforce_codes_and_messages() {
    let api = Api::start(small()).await;
    let unknown = api.query("SELECT Id, Foo FROM Account").await;
    assert_eq!(unknown.status, 400);
    assert_eq!(error_code(&unknown), "INVALID_FIELD");
    assert_eq!(
        message(&unknown),
        "\nSELECT Id, Foo FROM Account\n           ^\nERROR at Row:1:Column:12\nNo such column 'Foo' on entity 'Account'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    );
    let quoted = api
        .query("SELECT Id FROM Account WHERE SystemModstamp > '2025-06-01T00:00:00Z'")
        .await;
    assert_eq!(error_code(&quoted), "INVALID_FIELD");
    assert!(message(&quoted).ends_with(
        "value of filter criterion for field 'SystemModstamp' must be of type dateTime and should not be enclosed in quotes"
    ));
    let unquoted_text = api.query("SELECT Id FROM Account WHERE Name = 5").await;
    assert!(message(&unquoted_text)
        .ends_with("must be of type string and should be enclosed in quotes"));
    let syntax = api.query("SELECT Id FROM Account WHERE").await;
    assert_eq!(error_code(&syntax), "MALFORMED_QUERY");
    assert!(message(&syntax).contains("unexpected token: <EOF>"));
    let mixed = api
        .query("SELECT Id FROM Account WHERE Name = 'a' AND Type = 'b' OR Industry = 'c'")
        .await;
    assert_eq!(error_code(&mixed), "MALFORMED_QUERY");
    let object = api.query("SELECT Id FROM Lead").await;
    assert_eq!(error_code(&object), "INVALID_TYPE");
    assert!(message(&object).contains("sObject type 'Lead' is not supported."));
    let relation = api.query("SELECT Id, Foo.Name FROM Contact").await;
    assert_eq!(error_code(&relation), "INVALID_FIELD");
    let bad_id = api.query("SELECT Id FROM Account WHERE Id = 'abc'").await;
    assert_eq!(error_code(&bad_id), "INVALID_QUERY_FILTER_OPERATOR");
    let no_q = api.get("/services/data/v62.0/query").await;
    assert_eq!(error_code(&no_q), "MALFORMED_QUERY");
    // Every answer has Salesforce's error shape: an array of objects.
    for a in [&unknown, &quoted, &syntax, &object] {
        assert!(a.body.as_array().is_some_and(|l| l.len() == 1));
    }
}

#[tokio::test]
async fn next_records_url_pages_through_every_row_once() {
    let api = Api::start(SalesforceSimConfig {
        accounts: 450,
        contacts_per_account: 0,
        opportunities: 0,
        ..SalesforceSimConfig::default()
    })
    .await;
    let first = api
        .send(
            api.http
                .get(api.url("/services/data/v62.0/query/"))
                .query(&[("q", "SELECT Id, Name FROM Account ORDER BY Name")])
                .header("Sforce-Query-Options", "batchSize=200")
                .bearer_auth(&api.token),
        )
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["totalSize"], 450);
    assert_eq!(first.body["done"], false);
    let mut seen: Vec<String> = Vec::new();
    let mut page = first.body;
    let mut pages = 0;
    loop {
        pages += 1;
        for r in page["records"].as_array().unwrap() {
            seen.push(r["Id"].as_str().unwrap().to_string());
        }
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page["nextRecordsUrl"].as_str().unwrap().to_string();
        assert!(next.starts_with("/services/data/v62.0/query/01g"), "{next}");
        assert!(next.ends_with(&format!("-{}", seen.len())), "{next}");
        page = api.get(&next).await.body;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 450);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 450);
    assert_eq!(api.sim.open_cursors(), 0, "a cursor read to the end closes");

    // Below 200 the batch size is 200; the default is 2000.
    let small_batch = api
        .send(
            api.http
                .get(api.url("/services/data/v62.0/query"))
                .query(&[("q", "SELECT Id FROM Account")])
                .header("Sforce-Query-Options", "batchSize=10")
                .bearer_auth(&api.token),
        )
        .await;
    assert_eq!(small_batch.body["records"].as_array().unwrap().len(), 200);
    let default = api.query("SELECT Id FROM Account").await;
    assert_eq!(default.body["done"], true);
    assert_eq!(default.body["records"].as_array().unwrap().len(), 450);

    let stale = api
        .get("/services/data/v62.0/query/01g5g0000000XYZAAA-200")
        .await;
    assert_eq!(stale.status, 400);
    assert_eq!(error_code(&stale), "INVALID_QUERY_LOCATOR");
}

#[tokio::test]
async fn incremental_queries_see_changes_and_deletes() {
    let api = Api::start(small()).await;
    let newest = api
        .query("SELECT Id, SystemModstamp FROM Account ORDER BY SystemModstamp DESC LIMIT 1")
        .await;
    let mark = newest.body["records"][0]["SystemModstamp"]
        .as_str()
        .unwrap()
        .to_string();
    // The literal in the query is unquoted ISO 8601.
    let since = chrono::DateTime::parse_from_str(&mark, "%Y-%m-%dT%H:%M:%S%.3f%z")
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let soql =
        format!("SELECT Id FROM Account WHERE SystemModstamp > {since} ORDER BY SystemModstamp");
    assert_eq!(api.query(&soql).await.body["totalSize"], 0);

    let accounts = api.sim.accounts();
    let touched = accounts[1]["Id"].as_str().unwrap();
    assert!(api.sim.touch_account(touched));
    let changed = api.query(&soql).await;
    assert_eq!(changed.body["totalSize"], 1);
    assert_eq!(changed.body["records"][0]["Id"], json!(touched));

    let gone = accounts[2]["Id"].as_str().unwrap().to_string();
    let contacts_before = api
        .query(&format!(
            "SELECT COUNT() FROM Contact WHERE AccountId = '{gone}'"
        ))
        .await
        .body["totalSize"]
        .as_u64()
        .unwrap();
    assert_eq!(contacts_before, 2);
    assert!(api.sim.delete_account(&gone));
    let live = api
        .query(&format!("SELECT Id FROM Account WHERE Id = '{gone}'"))
        .await;
    assert_eq!(live.body["totalSize"], 0, "query leaves deleted rows out");
    let all = api
        .query_all(&format!(
            "SELECT Id, IsDeleted FROM Account WHERE SystemModstamp > {since} AND IsDeleted = true"
        ))
        .await;
    assert_eq!(all.body["totalSize"], 1);
    assert_eq!(all.body["records"][0]["IsDeleted"], true);
    let orphans = api
        .query_all(&format!(
            "SELECT COUNT() FROM Contact WHERE AccountId = '{gone}' AND IsDeleted = true"
        ))
        .await;
    assert_eq!(
        orphans.body["totalSize"], 2,
        "contacts go with their account"
    );

    let start = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let end = (chrono::Utc::now() + chrono::Duration::minutes(2)).to_rfc3339();
    let deleted = api
        .send(
            api.http
                .get(api.url("/services/data/v62.0/sobjects/Account/deleted/"))
                .query(&[("start", start.as_str()), ("end", end.as_str())])
                .bearer_auth(&api.token),
        )
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["deletedRecords"][0]["id"], json!(gone));
    assert!(deleted.body["deletedRecords"][0]["deletedDate"].is_string());
    assert!(deleted.body["latestDateCovered"].is_string());
    let backwards = api
        .send(
            api.http
                .get(api.url("/services/data/v62.0/sobjects/Account/deleted/"))
                .query(&[("start", end.as_str()), ("end", start.as_str())])
                .bearer_auth(&api.token),
        )
        .await;
    assert_eq!(backwards.status, 400);
    assert_eq!(error_code(&backwards), "INVALID_REPLICATION_DATE");
}

#[tokio::test]
async fn describe_lists_fields_and_picklists() {
    let api = Api::start(small()).await;
    let account = api
        .get("/services/data/v62.0/sobjects/Account/describe")
        .await;
    assert_eq!(account.status, 200);
    assert_eq!(account.body["name"], "Account");
    assert_eq!(account.body["keyPrefix"], "001");
    let field = |d: &Value, name: &str| -> Value {
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap()
    };
    let industry = field(&account.body, "Industry");
    assert_eq!(industry["type"], "picklist");
    let values: Vec<&str> = industry["picklistValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert!(values.contains(&"Food & Beverage") && values.contains(&"Transportation"));
    assert_eq!(
        field(&account.body, "Type")["picklistValues"][0],
        json!({"active": true, "defaultValue": false, "label": "Prospect", "validFor": null, "value": "Prospect"})
    );
    let opportunity = api
        .get("/services/data/v62.0/sobjects/opportunity/describe")
        .await;
    let stage = field(&opportunity.body, "StageName");
    assert_eq!(stage["restrictedPicklist"], true);
    assert_eq!(stage["picklistValues"].as_array().unwrap().len(), 10);
    assert_eq!(field(&opportunity.body, "IsClosed")["updateable"], false);
    assert_eq!(field(&opportunity.body, "Amount")["type"], "currency");
    let unknown = api.get("/services/data/v62.0/sobjects/Lead/describe").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(error_code(&unknown), "NOT_FOUND");
}

#[tokio::test]
async fn opportunity_patch_resets_probability_unless_sent() {
    let api = Api::start(small()).await;
    let opp = api
        .sim
        .opportunities()
        .into_iter()
        .find(|o| o["StageName"] == "Prospecting")
        .unwrap();
    let id = opp["Id"].as_str().unwrap();
    let path = format!("/services/data/v62.0/sobjects/Opportunity/{id}");

    let stage_only = api
        .patch(&path, json!({"StageName": "Negotiation/Review"}))
        .await;
    assert_eq!(stage_only.status, 204);
    assert_eq!(stage_only.body, Value::Null);
    let after = api.sim.record(id).unwrap();
    assert_eq!(after["Probability"], 90.0);
    assert_eq!(after["ForecastCategoryName"], "Pipeline");
    assert_ne!(after["SystemModstamp"], opp["SystemModstamp"]);

    let both = api
        .patch(
            &path,
            json!({"Amount": 52000, "Probability": 75, "StageName": "Proposal/Price Quote", "CloseDate": "2025-10-15"}),
        )
        .await;
    assert_eq!(both.status, 204);
    let after = api.sim.record(id).unwrap();
    assert_eq!(after["Probability"], 75.0);
    assert_eq!(after["Amount"], 52000.0);
    assert_eq!(after["CloseDate"], "2025-10-15");

    let won = api.patch(&path, json!({"StageName": "Closed Won"})).await;
    assert_eq!(won.status, 204);
    let after = api.sim.record(id).unwrap();
    assert_eq!(
        (after["IsClosed"].clone(), after["IsWon"].clone()),
        (json!(true), json!(true))
    );
}

#[tokio::test]
async fn opportunity_patch_refusals_change_nothing() {
    let api = Api::start(small()).await;
    let opp = api.sim.opportunities()[0].clone();
    let id = opp["Id"].as_str().unwrap();
    let path = format!("/services/data/v62.0/sobjects/Opportunity/{id}");

    let picklist = api
        .patch(&path, json!({"Amount": 1, "StageName": "Closed Big"}))
        .await;
    assert_eq!(picklist.status, 400);
    assert_eq!(
        picklist.body,
        json!([{"message": "Stage: bad value for restricted picklist field: Closed Big", "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["StageName"]}])
    );

    api.sim.add_validation_rule(
        "Opportunity",
        "amount",
        "Amount cannot change after the quote is sent",
    );
    let rule = api.patch(&path, json!({"Amount": 99})).await;
    assert_eq!(rule.status, 400);
    assert_eq!(
        rule.body,
        json!([{"message": "Amount cannot change after the quote is sent", "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": ["Amount"]}])
    );
    let required = api.patch(&path, json!({"CloseDate": null})).await;
    assert_eq!(error_code(&required), "REQUIRED_FIELD_MISSING");
    assert_eq!(required.body[0]["fields"], json!(["CloseDate"]));
    let read_only = api.patch(&path, json!({"IsWon": true})).await;
    assert_eq!(error_code(&read_only), "INVALID_FIELD_FOR_INSERT_UPDATE");
    let unknown = api.patch(&path, json!({"Foo__c": 1})).await;
    assert_eq!(error_code(&unknown), "INVALID_FIELD");
    assert_eq!(
        message(&unknown),
        "No such column 'Foo__c' on sobject of type Opportunity"
    );
    let typed = api.patch(&path, json!({"Amount": "lots"})).await;
    assert_eq!(error_code(&typed), "JSON_PARSER_ERROR");
    let bad_json = api
        .send(
            api.http
                .patch(api.url(&path))
                .bearer_auth(&api.token)
                .header("content-type", "application/json")
                .body("{\"Amount\":"),
        )
        .await;
    assert_eq!(error_code(&bad_json), "JSON_PARSER_ERROR");
    assert_eq!(api.sim.record(id).unwrap(), opp, "nothing changed");

    let missing = api
        .patch(
            "/services/data/v62.0/sobjects/Opportunity/0065g00000ZZZZZAAA",
            json!({"Amount": 1}),
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let malformed = api
        .patch(
            "/services/data/v62.0/sobjects/Opportunity/nope",
            json!({"Amount": 1}),
        )
        .await;
    assert_eq!(malformed.status, 404);
    assert_eq!(
        message(&malformed),
        "Provided external ID field does not exist or is not accessible: nope"
    );
}

#[tokio::test]
async fn contact_roles_set_the_primary_contact() {
    let api = Api::start(small()).await;
    // An opportunity without a role (odd-numbered in the seed).
    let opp = api.sim.opportunities()[1].clone();
    let opp_id = opp["Id"].as_str().unwrap();
    assert_eq!(opp["ContactId"], Value::Null);
    let account = opp["AccountId"].as_str().unwrap();
    let contacts: Vec<String> = api
        .sim
        .contacts()
        .iter()
        .filter(|c| c["AccountId"] == account)
        .map(|c| c["Id"].as_str().unwrap().to_string())
        .collect();

    let created = api
        .post(
            "/services/data/v62.0/sobjects/OpportunityContactRole",
            json!({"OpportunityId": opp_id, "ContactId": contacts[0], "IsPrimary": true, "Role": "Decision Maker"}),
        )
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["success"], true);
    assert_eq!(created.body["errors"], json!([]));
    let role_id = created.body["id"].as_str().unwrap().to_string();
    assert!(role_id.starts_with("00K") && role_id.len() == 18);
    assert_eq!(
        api.sim.record(opp_id).unwrap()["ContactId"],
        json!(contacts[0])
    );

    let second = api
        .post(
            "/services/data/v62.0/sobjects/OpportunityContactRole",
            json!({"OpportunityId": opp_id, "ContactId": contacts[1], "IsPrimary": true}),
        )
        .await;
    assert_eq!(second.status, 201);
    assert_eq!(
        api.sim.record(&role_id).unwrap()["IsPrimary"],
        false,
        "one primary"
    );
    assert_eq!(
        api.sim.record(opp_id).unwrap()["ContactId"],
        json!(contacts[1])
    );

    let back = api
        .patch(
            &format!("/services/data/v62.0/sobjects/OpportunityContactRole/{role_id}"),
            json!({"IsPrimary": true}),
        )
        .await;
    assert_eq!(back.status, 204);
    assert_eq!(
        api.sim.record(opp_id).unwrap()["ContactId"],
        json!(contacts[0])
    );

    let sub = api
        .query(&format!(
            "SELECT Id, (SELECT ContactId, IsPrimary FROM OpportunityContactRoles WHERE IsPrimary = true) FROM Opportunity WHERE Id = '{opp_id}'"
        ))
        .await;
    assert_eq!(sub.status, 200);
    let roles = &sub.body["records"][0]["OpportunityContactRoles"];
    assert_eq!(roles["totalSize"], 1);
    assert_eq!(roles["records"][0]["ContactId"], json!(contacts[0]));
    assert_eq!(
        roles["records"][0]["attributes"]["type"],
        "OpportunityContactRole"
    );

    let missing = api
        .post(
            "/services/data/v62.0/sobjects/OpportunityContactRole",
            json!({"OpportunityId": opp_id}),
        )
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.body,
        json!([{"message": "Required fields are missing: [ContactId]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["ContactId"]}])
    );
    let dangling = api
        .post(
            "/services/data/v62.0/sobjects/OpportunityContactRole",
            json!({"OpportunityId": opp_id, "ContactId": "0035g00000ZZZZZAAA"}),
        )
        .await;
    assert_eq!(error_code(&dangling), "INVALID_CROSS_REFERENCE_KEY");

    // An opportunity with no role reads the child relationship as null.
    let empty = api
        .sim
        .opportunities()
        .iter()
        .find(|o| o["ContactId"].is_null())
        .map(|o| o["Id"].as_str().unwrap().to_string())
        .unwrap();
    let none = api
        .query(&format!(
            "SELECT Id, (SELECT ContactId FROM OpportunityContactRoles) FROM Opportunity WHERE Id = '{empty}'"
        ))
        .await;
    assert_eq!(
        none.body["records"][0]["OpportunityContactRoles"],
        Value::Null
    );
}

#[tokio::test]
async fn parent_fields_and_injected_faults() {
    let api = Api::start(small()).await;
    let contacts = api
        .query("SELECT Id, Account.Name FROM Contact ORDER BY LastName LIMIT 1")
        .await;
    let c = &contacts.body["records"][0];
    let account_id = api.sim.record(c["Id"].as_str().unwrap()).unwrap()["AccountId"].clone();
    let account = api.sim.record(account_id.as_str().unwrap()).unwrap();
    assert_eq!(c["Account"]["Name"], account["Name"]);
    assert_eq!(c["Account"]["attributes"]["type"], "Account");

    api.sim.fail_next(1, 503);
    let down = api.query("SELECT Id FROM Account").await;
    assert_eq!(down.status, 503);
    assert_eq!(error_code(&down), "SERVER_UNAVAILABLE");
    assert_eq!(api.query("SELECT Id FROM Account").await.status, 200);
    assert_eq!(api.sim.fault_stats().errors, 1);
    let logged = api.sim.requests();
    assert_eq!(logged.len(), api.sim.request_count());
    assert!(logged.iter().all(|r| r.bearer));
    assert!(logged
        .iter()
        .any(|r| r.status == 503 && r.query_value("q") == Some("SELECT Id FROM Account")));
}

#[tokio::test]
async fn outbound_message_envelope_carries_the_org_action_and_records() {
    let sim = SalesforceSim::start(small()).await;
    let opp = sim.opportunities()[0].clone();
    let id = opp["Id"].as_str().unwrap();
    let (headers, body) = sim.outbound_message("04k5g000000SimAAA", &[id, "0065g00000ZZZZZAAA"]);
    assert!(headers
        .iter()
        .any(|(k, v)| k == "Content-Type" && v.starts_with("text/xml")));
    assert!(headers.iter().any(|(k, _)| k == "SOAPAction"));
    assert!(body.contains("<notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">"));
    assert!(body.contains(&format!(
        "<OrganizationId>{}</OrganizationId>",
        sim.organization_id()
    )));
    assert!(body.contains("<ActionId>04k5g000000SimAAA</ActionId>"));
    assert!(body.contains("<SessionId xsi:nil=\"true\"/>"));
    assert!(body.contains(&format!(
        "<EnterpriseUrl>{}/services/Soap/c/62.0/{}</EnterpriseUrl>",
        sim.instance_url(),
        &sim.organization_id()[..15]
    )));
    assert_eq!(
        body.matches("<Notification>").count(),
        1,
        "unknown ids left out"
    );
    assert!(body.contains("<sObject xsi:type=\"sf:Opportunity\""));
    assert!(body.contains(&format!("<sf:Id>{id}</sf:Id>")));
    let name = opp["Name"].as_str().unwrap();
    assert!(body.contains(&format!("<sf:Name>{name}</sf:Name>")));

    let ids: Vec<String> = sim
        .contacts()
        .iter()
        .map(|c| c["Id"].as_str().unwrap().to_string())
        .collect();
    let many: Vec<&str> = ids.iter().map(String::as_str).cycle().take(150).collect();
    let split = sim.outbound_messages("04k5g000000SimAAA", &many);
    assert_eq!(split.len(), 2);
    assert_eq!(split[0].1.matches("<Notification>").count(), 100);
    assert_eq!(split[1].1.matches("<Notification>").count(), 50);
    // O'Brien is escaped in XML.
    assert!(split[0].1.contains("O&apos;Brien"));
    assert!(SalesforceSim::outbound_ack().contains("<Ack>true</Ack>"));
}
