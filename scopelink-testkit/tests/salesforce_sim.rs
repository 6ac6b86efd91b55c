//! The Salesforce simulator, driven with plain HTTP as Salesforce's public
//! clients drive the real API: OAuth, sessions, versions, limits, faults,
//! Outbound Messages, and the fixtures' shapes.

#[path = "support/salesforce.rs"]
mod support;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Client;
use scopelink_testkit::oauth::issued_at_signature;
use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};
use serde_json::{json, Value};
use support::*;

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

    let info: Value = http
        .get(format!("{}/services/oauth2/userinfo", sim.login_url()))
        .bearer_auth(refreshed["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], t["id"]);

    // My Domain: the org's own host answers the token endpoint too, with
    // the same authorization server behind it.
    let via_my_domain: Value = http
        .post(format!("{}/services/oauth2/token", sim.my_domain_url()))
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
    assert_eq!(via_my_domain["instance_url"], t["instance_url"]);
    assert_eq!(sim.oauth().counts().refreshes, 2);
    assert_eq!(info["organization_id"], json!(sim.organization_id()));
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
    assert_eq!(
        versions.limit_info, None,
        "the versions list is not counted"
    );
    assert_eq!(api.sim.api_usage(), 0);

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
    let latest = api.get("/services/data/latest/limits").await;
    assert_eq!(latest.status, 200, "`latest` is the newest version");
    let again = api.get("/services/data/v61.0/limits").await;
    assert_eq!(again.limit_info.as_deref(), Some("api-usage=103/15000"));
    assert_eq!(api.sim.api_usage(), 103);
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

    let created = api
        .sim
        .create(
            "Account",
            json!({"Name": "Fresh Prospect Ltd", "Type": "Prospect"}),
        )
        .unwrap();
    let fresh = api
        .query("SELECT Id, Name, IsDeleted FROM Account WHERE Name = 'fresh prospect ltd'")
        .await;
    assert_eq!(fresh.body["records"][0]["Id"], json!(created));
    assert_eq!(fresh.body["records"][0]["IsDeleted"], false);
    assert!(api
        .sim
        .edit("Account", &created, json!({"Industry": "Retail"})));
    assert_eq!(api.sim.record(&created).unwrap()["Industry"], "Retail");

    api.sim.slow_next(1, std::time::Duration::from_millis(5));
    assert_eq!(
        api.query("SELECT Id FROM Account LIMIT 1").await.status,
        200
    );
    assert_eq!(api.sim.fault_stats().slowed, 1);
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

#[tokio::test]
async fn answers_have_the_fixture_shapes() {
    let sim = SalesforceSim::start(small()).await;
    let http = Client::new();
    let token = login(&http, &sim).await;
    assert_eq!(keys(&token), keys(&fixture("token.json")));
    let api = Api::start(small()).await;

    let versions = api.send(api.http.get(api.url("/services/data/"))).await;
    assert_eq!(keys(&versions.body[0]), keys(&fixture("versions.json")[0]));
    let limits = api.get("/services/data/v62.0/limits").await;
    assert_eq!(
        keys(&limits.body["DailyApiRequests"]),
        ["Max", "Remaining"].map(String::from)
    );
    for k in keys(&fixture("limits.json")) {
        assert!(limits.body.get(&k).is_some(), "limits lacks {k}");
    }
    let count = api.query("SELECT COUNT() FROM Account").await;
    assert_eq!(keys(&count.body), keys(&fixture("query_count.json")));
    let contacts = api
        .query("SELECT Id, FirstName, LastName, Email, Title, AccountId, Account.Name, SystemModstamp FROM Contact LIMIT 1")
        .await;
    let want = &fixture("query_contacts.json")["records"][0];
    assert_eq!(keys(&contacts.body["records"][0]), keys(want));
    assert_eq!(
        keys(&contacts.body["records"][0]["Account"]),
        keys(&want["Account"])
    );
    let created = api
        .post(
            "/services/data/v62.0/sobjects/OpportunityContactRole",
            json!({
                "OpportunityId": api.sim.opportunities()[1]["Id"],
                "ContactId": api.sim.contacts()[0]["Id"],
                "IsPrimary": true,
                "Role": "Decision Maker"
            }),
        )
        .await;
    assert_eq!(
        keys(&created.body),
        keys(&fixture("contact_role_created.json"))
    );
    let start = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let end = chrono::Utc::now().to_rfc3339();
    let deleted = api
        .send(
            api.http
                .get(api.url("/services/data/v62.0/sobjects/Contact/deleted/"))
                .query(&[("start", start.as_str()), ("end", end.as_str())])
                .bearer_auth(&api.token),
        )
        .await;
    assert_eq!(keys(&deleted.body), keys(&fixture("deleted.json")));
    let describe = api
        .get("/services/data/v62.0/sobjects/Opportunity/describe")
        .await;
    let stage = describe.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "StageName")
        .unwrap();
    let want = &fixture("describe_opportunity_excerpt.json")["fields"][0];
    for k in keys(want) {
        assert_eq!(
            stage.get(&k).map(|_| ()),
            Some(()),
            "describe field lacks {k}"
        );
    }
    assert_eq!(
        keys(&stage["picklistValues"][0]),
        keys(&want["picklistValues"][0])
    );
    let quoted = api
        .query("SELECT Id FROM Account WHERE SystemModstamp > '2025-06-01T00:00:00Z'")
        .await;
    assert_eq!(quoted.body, fixture("error_400_quoted_datetime.json"));
    let unknown = api.query("SELECT Id, Foo FROM Account").await;
    assert_eq!(unknown.body, fixture("error_400_invalid_field.json"));
    let syntax = api.query("SELECT Id FROM Account WHERE").await;
    assert_eq!(syntax.body, fixture("error_400_malformed_query.json"));
}
