//! Opportunity write-back: the JSON Patch body, lookups of stages and
//! probabilities, refusals, and the value through the forecast.

mod common;

use chrono::NaiveDate;
use common::*;
use rust_decimal::Decimal;
use scopelink_core::connector::{OpportunityUpdate, OpportunityWriteBack};
use scopelink_core::ConnectorError;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn mount_lookups(server: &MockServer) {
    mock_get(
        server,
        "/sales/stages",
        json!([
            {"id": 3, "name": "Proposal"},
            {"id": 4, "name": "Negotiation"},
            {"id": 5, "name": "Closed"}
        ]),
    )
    .await;
    mock_get(
        server,
        "/sales/probabilities",
        json!([
            {"id": 1, "probability": 0},
            {"id": 5, "probability": 50},
            {"id": 7, "probability": 75},
            {"id": 9, "probability": 100}
        ]),
    )
    .await;
}

async fn mount_patch(server: &MockServer, template: ResponseTemplate) {
    Mock::given(method("PATCH"))
        .and(path(format!("{API}/sales/opportunities/5012")))
        .and(wiremock::matchers::header("Authorization", EXPECTED_AUTH))
        .respond_with(template)
        .mount(server)
        .await;
}

fn opportunity() -> serde_json::Value {
    json(fixture!("opportunities.json"))[0].clone()
}

#[tokio::test]
async fn writes_a_json_patch_with_whole_references() {
    let server = MockServer::start().await;
    mount_lookups(&server).await;
    mount_patch(
        &server,
        ResponseTemplate::new(200).set_body_json(opportunity()),
    )
    .await;
    let update = OpportunityUpdate {
        close_date: NaiveDate::from_ymd_opt(2025, 5, 31),
        stage: Some("negotiation".into()),
        probability: Some(Decimal::new(75, 0)),
        contact_id: Some("1811".into()),
        value: None,
    };
    connector(&server)
        .update_opportunity("5012", &update)
        .await
        .expect("written");
    let patches = bodies(&server, "PATCH").await;
    assert_eq!(patches.len(), 1);
    assert_eq!(
        patches[0].1,
        json(fixture!("opportunity_patch_request.json"))
    );
    assert_no_secret(&patches[0].1.to_string());
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("opportunity_patch", patches);
    });
}

#[tokio::test]
async fn a_stage_id_needs_no_lookup() {
    let server = MockServer::start().await;
    mount_patch(
        &server,
        ResponseTemplate::new(200).set_body_json(opportunity()),
    )
    .await;
    let update = OpportunityUpdate {
        stage: Some("4".into()),
        ..OpportunityUpdate::default()
    };
    connector(&server)
        .update_opportunity("5012", &update)
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        bodies(&server, "PATCH").await[0].1,
        json!([{"op": "replace", "path": "stage", "value": {"id": 4}}])
    );
}

#[tokio::test]
async fn refusals_write_nothing() {
    let server = MockServer::start().await;
    mount_lookups(&server).await;
    mount_patch(
        &server,
        ResponseTemplate::new(200).set_body_json(opportunity()),
    )
    .await;
    let cw = connector(&server);

    let err = cw
        .update_opportunity("5012", &OpportunityUpdate::default())
        .await
        .unwrap_err();
    assert!(matches!(&err, ConnectorError::Rejected { message } if message == "nothing to write"));

    let err = cw
        .update_opportunity(
            "5012",
            &OpportunityUpdate {
                close_date: NaiveDate::from_ymd_opt(2025, 5, 31),
                probability: Some(Decimal::new(60, 0)),
                ..OpportunityUpdate::default()
            },
        )
        .await
        .unwrap_err();
    let ConnectorError::Rejected { message } = &err else {
        panic!("expected a rejection, got {err:?}");
    };
    assert!(message.contains("0%, 50%, 75%, 100%"), "{message}");

    let err = cw
        .update_opportunity(
            "5012",
            &OpportunityUpdate {
                stage: Some("Won-ish".into()),
                ..OpportunityUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Proposal, Negotiation, Closed"),
        "{err}"
    );

    let err = cw
        .update_opportunity(
            "5012",
            &OpportunityUpdate {
                contact_id: Some("priya".into()),
                ..OpportunityUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Rejected { .. }));

    assert!(bodies(&server, "PATCH").await.is_empty());
}

#[tokio::test]
async fn a_validation_error_keeps_the_provider_message() {
    let server = MockServer::start().await;
    mount_patch(
        &server,
        ResponseTemplate::new(400).set_body_json(json(fixture!("error_400_validation.json"))),
    )
    .await;
    let err = connector(&server)
        .update_opportunity(
            "5012",
            &OpportunityUpdate {
                stage: Some("999".into()),
                ..OpportunityUpdate::default()
            },
        )
        .await
        .unwrap_err();
    let ConnectorError::Rejected { message } = &err else {
        panic!("expected a rejection, got {err:?}");
    };
    assert!(message.contains("updating opportunity 5012"), "{message}");
    assert!(
        message.contains("opportunity object is invalid"),
        "{message}"
    );
    // 400 is never retried.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_value_creates_scopelinks_forecast_item() {
    let server = MockServer::start().await;
    mock_get(
        &server,
        "/sales/opportunities/5012/forecast",
        json!({"id": 1, "forecastItems": [
            {"id": 11, "forecastDescription": "Firewall hardware", "forecastType": "Product", "revenue": 1349.0}
        ]}),
    )
    .await;
    mock_get(&server, "/sales/opportunities/5012", opportunity()).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/sales/opportunities/5012/forecast")))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": 5012, "forecastItems": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    connector(&server)
        .update_opportunity(
            "5012",
            &OpportunityUpdate {
                value: Some(Decimal::new(1850000, 2)),
                ..OpportunityUpdate::default()
            },
        )
        .await
        .expect("value written");
    let posted = bodies(&server, "POST").await;
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("forecast_item_created", posted);
    });
    // A Forecast carrying the one new item, as the schema's POST takes it.
    let items = posted[0].1["forecastItems"].as_array().expect("a Forecast");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["revenue"], json!(18500.0));
    assert_eq!(items[0]["status"], json!({"id": 1}));
    assert_eq!(items[0]["opportunity"], json!({"id": 5012}));
    assert!(posted[0].1.get("revenue").is_none());
}

#[tokio::test]
async fn the_value_updates_an_existing_forecast_item() {
    let server = MockServer::start().await;
    // The spec types the answer as a list; it is accepted too.
    mock_get(
        &server,
        "/sales/opportunities/5012/forecast",
        json!([{"forecastItems": [
            {"id": 11, "forecastDescription": "Firewall hardware", "revenue": 1349.0},
            {"id": 12, "forecastDescription": "scopelink estimate", "revenue": 9000.0}
        ]}]),
    )
    .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{API}/sales/opportunities/5012/forecast/12")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 12})))
        .expect(1)
        .mount(&server)
        .await;
    mount_patch(
        &server,
        ResponseTemplate::new(200).set_body_json(opportunity()),
    )
    .await;
    connector(&server)
        .update_opportunity(
            "5012",
            &OpportunityUpdate {
                value: Some(Decimal::new(12000, 0)),
                contact_id: Some("1811".into()),
                ..OpportunityUpdate::default()
            },
        )
        .await
        .expect("value written");
    let patches = bodies(&server, "PATCH").await;
    assert_eq!(patches.len(), 2);
    assert_eq!(patches[0].0, format!("{API}/sales/opportunities/5012"));
    assert_eq!(
        patches[1].1,
        json!([{"op": "replace", "path": "revenue", "value": 12000.0}])
    );
    assert!(bodies(&server, "POST").await.is_empty());
}
