//! The Salesforce simulator's writes (PATCH, POST, contact roles), driven
//! with plain HTTP.

#[path = "support/salesforce.rs"]
mod support;

use serde_json::{json, Value};
use support::*;

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
    // Salesforce keeps whole seconds.
    assert!(after["SystemModstamp"]
        .as_str()
        .unwrap()
        .ends_with(".000+0000"));
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

    let created = api
        .post(
            "/services/data/v62.0/sobjects/Opportunity",
            json!({"Name": "New deal", "StageName": "Value Proposition", "CloseDate": "2025-12-01", "AccountId": opp["AccountId"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let new_id = created.body["id"].as_str().unwrap();
    assert!(new_id.starts_with("006"));
    let stored = api.sim.record(new_id).unwrap();
    assert_eq!(stored["Probability"], 50.0, "the stage's default");
    assert_eq!(stored["IsClosed"], false);
    let incomplete = api
        .post(
            "/services/data/v62.0/sobjects/Opportunity",
            json!({"Name": "No stage"}),
        )
        .await;
    assert_eq!(
        incomplete.body[0]["fields"],
        json!(["StageName", "CloseDate"])
    );

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
    let form = api
        .send(
            api.http
                .patch(api.url(&path))
                .bearer_auth(&api.token)
                .form(&[("Amount", "1")]),
        )
        .await;
    assert_eq!(form.status, 415);
    assert_eq!(error_code(&form), "UNSUPPORTED_MEDIA_TYPE");
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
    let wrong_type = api
        .post(
            "/services/data/v62.0/sobjects/OpportunityContactRole",
            json!({"OpportunityId": opp_id, "ContactId": account}),
        )
        .await;
    assert_eq!(error_code(&wrong_type), "FIELD_INTEGRITY_EXCEPTION");
    assert_eq!(wrong_type.body[0]["fields"], json!(["ContactId"]));

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
