//! The Salesforce simulator's SOQL, paging, incremental reads and describe,
//! driven with plain HTTP.

#[path = "support/salesforce.rs"]
mod support;

use scopelink_testkit::salesforce::SalesforceSimConfig;
use serde_json::{json, Value};
use std::collections::HashSet;
use support::*;

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
    let aggregate = api
        .query("SELECT COUNT(Id) n FROM Contact WHERE Email != null")
        .await;
    assert_eq!(aggregate.body["totalSize"], 1);
    assert_eq!(aggregate.body["records"][0]["n"], 12);
    assert_eq!(
        aggregate.body["records"][0]["attributes"]["type"],
        "AggregateResult"
    );

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

    // Date literals are day ranges: every seeded close date falls in one
    // of these, and they do not overlap.
    let today = chrono::Utc::now().date_naive();
    let mut total = 0;
    for literal in [
        "CloseDate < TODAY",
        "CloseDate = TODAY",
        "CloseDate > TODAY",
    ] {
        let n = api
            .query(&format!("SELECT COUNT() FROM Opportunity WHERE {literal}"))
            .await
            .body["totalSize"]
            .as_u64()
            .unwrap();
        total += n;
    }
    assert_eq!(total, api.sim.opportunities().len() as u64);
    let recent = api
        .query("SELECT Id, CloseDate FROM Opportunity WHERE CloseDate = LAST_N_DAYS:20")
        .await;
    for r in recent.body["records"].as_array().unwrap() {
        let d = chrono::NaiveDate::parse_from_str(r["CloseDate"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap();
        assert!(d <= today && d >= today - chrono::Duration::days(20), "{d}");
    }
    let changed = api
        .query("SELECT COUNT() FROM Account WHERE SystemModstamp = LAST_N_DAYS:30")
        .await;
    assert_eq!(changed.body["totalSize"], 6);
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
    let far = api
        .query("SELECT Id FROM Account LIMIT 10 OFFSET 2001")
        .await;
    assert_eq!(error_code(&far), "NUMBER_OUTSIDE_VALID_RANGE");
    let offset = api
        .query("SELECT Id FROM Account ORDER BY Name LIMIT 2 OFFSET 1")
        .await;
    assert_eq!(offset.body["totalSize"], 2);
    let wrong_method = api
        .send(
            api.http
                .post(api.url("/services/data/v62.0/query"))
                .bearer_auth(&api.token),
        )
        .await;
    assert_eq!(wrong_method.status, 405, "query is GET only");
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
    let asked: Vec<Option<usize>> = api.sim.queries().iter().map(|q| q.batch_size).collect();
    assert_eq!(
        asked,
        [Some(200)],
        "the query log keeps the batch size asked for"
    );
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
async fn currency_field_exists_only_in_multi_currency_orgs_and_owners_are_users() {
    let single = Api::start(small()).await;
    let refused = single
        .query("SELECT Id, Name, CurrencyIsoCode FROM Opportunity")
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(error_code(&refused), "INVALID_FIELD");
    assert!(message(&refused).contains("No such column 'CurrencyIsoCode' on entity 'Opportunity'"));
    let described = single
        .get("/services/data/v62.0/sobjects/Opportunity/describe")
        .await;
    assert!(!described.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "CurrencyIsoCode"));

    let multi = Api::start(SalesforceSimConfig {
        multi_currency: true,
        ..small()
    })
    .await;
    let ok = multi
        .query("SELECT Id, CurrencyIsoCode, Owner.Name FROM Opportunity LIMIT 1")
        .await;
    assert_eq!(ok.status, 200);
    let r = &ok.body["records"][0];
    assert_eq!(r["CurrencyIsoCode"], "USD");
    assert!(r["Owner"]["Name"].is_string());
    assert_eq!(r["Owner"]["attributes"]["type"], "User");
    let users = multi
        .query("SELECT Id, Name FROM User WHERE IsActive = true ORDER BY Name")
        .await;
    assert_eq!(users.body["totalSize"], 3);
}
