//! Salesforce opportunity write-back against the testkit's simulator: one
//! PATCH (204) with the probability kept beside the stage, the primary
//! contact through OpportunityContactRole, field errors typed and named.

mod support;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use scopelink_core::connector::{OpportunityUpdate, OpportunityWriteBack};
use scopelink_core::ConnectorError;
use scopelink_crm::salesforce::patch_body;
use support::connect;

fn update() -> OpportunityUpdate {
    OpportunityUpdate {
        value: Some(Decimal::new(5_200_050, 2)),
        probability: Some(Decimal::from(35)),
        stage: Some("Negotiation/Review".into()),
        close_date: NaiveDate::from_ymd_opt(2026, 10, 15),
        contact_id: None,
    }
}

#[test]
fn salesforce_patch_body_sends_only_given_fields_as_numbers() {
    insta::assert_json_snapshot!("salesforce_patch_body", patch_body(&update()).unwrap());
    let only_stage = OpportunityUpdate {
        stage: Some("Closed Won".into()),
        ..OpportunityUpdate::default()
    };
    assert_eq!(
        serde_json::Value::Object(patch_body(&only_stage).unwrap()),
        serde_json::json!({"StageName": "Closed Won"})
    );
    let bad = OpportunityUpdate {
        probability: Some(Decimal::from(101)),
        ..OpportunityUpdate::default()
    };
    let err = patch_body(&bad).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::FieldRejected { field, .. } if field == "Probability"),
        "{err}"
    );
}

#[tokio::test]
async fn salesforce_writeback_patches_the_opportunity_and_keeps_the_probability() {
    let c = connect().await;
    let opp = c.sim.opportunities()[0]["Id"].as_str().unwrap().to_string();
    c.connector
        .update_opportunity(&opp, &update())
        .await
        .unwrap();
    let row = c.sim.record(&opp).unwrap();
    assert_eq!(row["StageName"], "Negotiation/Review");
    assert_eq!(
        row["Probability"].as_f64(),
        Some(35.0),
        "not the stage default (90)"
    );
    assert_eq!(row["Amount"].as_f64(), Some(52_000.5));
    assert_eq!(row["CloseDate"], "2026-10-15");
    let patches: Vec<_> = c
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .collect();
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0].status, 204);
    assert_eq!(
        patches[0].path,
        format!("/services/data/v62.0/sobjects/Opportunity/{opp}")
    );
}

#[tokio::test]
async fn salesforce_writeback_sets_the_primary_contact_once() {
    let c = connect().await;
    let opp = c.sim.opportunities()[1].clone();
    let opp_id = opp["Id"].as_str().unwrap().to_string();
    let account = opp["AccountId"].as_str().unwrap().to_string();
    let contact = c
        .sim
        .contacts()
        .into_iter()
        .find(|k| k["AccountId"].as_str() == Some(account.as_str()))
        .expect("the account has a contact");
    let contact_id = contact["Id"].as_str().unwrap().to_string();
    let only_contact = OpportunityUpdate {
        contact_id: Some(contact_id.clone()),
        ..OpportunityUpdate::default()
    };
    c.connector
        .update_opportunity(&opp_id, &only_contact)
        .await
        .unwrap();
    let primary: Vec<_> = c
        .sim
        .contact_roles()
        .into_iter()
        .filter(|r| r["OpportunityId"].as_str() == Some(opp_id.as_str()))
        .filter(|r| r["IsPrimary"] == serde_json::json!(true))
        .collect();
    assert_eq!(primary.len(), 1);
    assert_eq!(primary[0]["ContactId"], contact_id.as_str());
    assert_eq!(
        c.sim.record(&opp_id).unwrap()["ContactId"],
        contact_id.as_str()
    );
    // Running it again neither creates nor changes a role.
    let roles_before = c.sim.contact_roles().len();
    c.sim.clear_requests();
    c.connector
        .update_opportunity(&opp_id, &only_contact)
        .await
        .unwrap();
    assert_eq!(c.sim.contact_roles().len(), roles_before);
    assert!(c.sim.requests().iter().all(|r| r.method == "GET"));
}

#[tokio::test]
async fn salesforce_field_errors_name_the_field() {
    let c = connect().await;
    let opp = c.sim.opportunities()[2]["Id"].as_str().unwrap().to_string();
    let before = c.sim.record(&opp).unwrap();
    let bad_stage = OpportunityUpdate {
        stage: Some("Almost There".into()),
        probability: Some(Decimal::from(50)),
        ..OpportunityUpdate::default()
    };
    let err = c
        .connector
        .update_opportunity(&opp, &bad_stage)
        .await
        .unwrap_err();
    match &err {
        ConnectorError::FieldRejected { field, code, .. } => {
            assert_eq!(field, "StageName");
            assert_eq!(code, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        c.sim.record(&opp).unwrap()["Probability"],
        before["Probability"],
        "nothing saved"
    );

    c.sim.add_validation_rule(
        "Opportunity",
        "Amount",
        "Amount must be approved by finance",
    );
    let err = c
        .connector
        .update_opportunity(&opp, &update())
        .await
        .unwrap_err();
    match &err {
        ConnectorError::FieldRejected {
            field,
            code,
            message,
        } => {
            assert_eq!(field, "Amount");
            assert_eq!(code, "FIELD_CUSTOM_VALIDATION_EXCEPTION");
            assert_eq!(message, "Amount must be approved by finance");
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("`Amount`"), "{err}");
}

#[tokio::test]
async fn salesforce_writeback_refuses_ids_that_are_not_salesforce_ids() {
    let c = connect().await;
    let err = c
        .connector
        .update_opportunity("../../sobjects/User/005", &update())
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::NotFound { .. }), "{err}");
    assert_eq!(c.sim.request_count(), 0, "nothing was sent");
}
