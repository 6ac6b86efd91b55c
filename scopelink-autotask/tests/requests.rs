//! The requests the connector sends and what it makes of the answers,
//! against wiremock serving the documented shapes (`fixtures/autotask/`):
//! the query body (JSON filter, `MaxRecords`, `IncludeFields`), paging by
//! `nextPageUrl`, the count, and the write-back PATCH.

use chrono::{NaiveDate, TimeZone, Utc};
use futures::StreamExt;
use rust_decimal::Decimal;
use scopelink_autotask::{AutotaskConnector, AutotaskSettings};
use scopelink_core::connector::{
    CrmSource, OpportunityUpdate, OpportunityWriteBack, RecordPage, StreamRequest,
};
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::http::{AddressPolicy, HttpConfig};
use scopelink_core::model::DataType;
use scopelink_core::secret::ApiUserSecret;
use scopelink_core::ConnectorError;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ROOT: &str = "/ATServicesRest/v1.0";

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/../fixtures/autotask/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn connector(server: &MockServer) -> AutotaskConnector {
    AutotaskConnector::with_zone_url(
        &format!("{}/ATServicesRest/", server.uri()),
        AutotaskSettings::default(),
        ApiUserSecret::new(
            "sync-api@example-msp.com",
            "s3cret-value",
            "TRACKINGID0000000000000001",
        ),
        HttpConfig::default().with_addresses(AddressPolicy::allow_local()),
    )
    .unwrap()
}

async fn mount_company_fields(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("{ROOT}/Companies/entityInformation/fields")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("company_fields.json")))
        .mount(server)
        .await;
}

fn company(id: i64, name: &str) -> Value {
    json!({
        "id": id, "companyName": name, "companyType": 1, "isActive": true,
        "territoryID": 29683458, "marketSegmentID": null, "phone": "555-0100",
        "lastTrackedModifiedDateTime": "2026-03-04T15:22:07.000Z", "userDefinedFields": []
    })
}

async fn all_pages(
    source: &AutotaskConnector,
    request: StreamRequest,
) -> Result<Vec<RecordPage>, ConnectorError> {
    let mut stream = source.stream(request);
    let mut pages = Vec::new();
    while let Some(page) = stream.next().await {
        pages.push(page?);
    }
    Ok(pages)
}

#[tokio::test]
async fn companies_are_queried_with_a_json_filter_and_paged_by_next_url() {
    let server = MockServer::start().await;
    mount_company_fields(&server).await;
    let next = format!("{}{ROOT}/Companies/query?paging=opaque-2", server.uri());
    Mock::given(method("POST"))
        .and(path(format!("{ROOT}/Companies/query")))
        .and(query_param("paging", "opaque-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [company(3, "Third Co")],
            "pageDetails": {"count": 1, "requestCount": 500, "prevPageUrl": null, "nextPageUrl": null}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{ROOT}/Companies/query")))
        .and(header("UserName", "sync-api@example-msp.com"))
        .and(header("ApiIntegrationCode", "TRACKINGID0000000000000001"))
        .and(header("Secret", "s3cret-value"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [company(1, "Harbor & Pine"), company(2, "Lantern Row")],
            "pageDetails": {"count": 2, "requestCount": 500, "prevPageUrl": null, "nextPageUrl": next}
        })))
        .mount(&server)
        .await;
    let source = connector(&server).await;
    let mut filter = SyncFilter::default();
    filter
        .company_types
        .insert(FilterOption::new("1", "Customer"));
    filter.statuses.insert(FilterOption::new("true", "Active"));
    filter
        .markets
        .insert(FilterOption::new("29683461", "Healthcare"));
    let pages = all_pages(
        &source,
        StreamRequest {
            data_type: DataType::Companies,
            filter,
            since: Some(Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()),
            resume_from: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].next.as_deref(), Some(next.as_str()));
    assert_eq!(pages[1].next, None);
    let records: Vec<_> = pages.iter().flat_map(|p| p.records.clone()).collect();
    insta::assert_yaml_snapshot!("companies_mapped", records);

    let queries: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/query"))
        .collect();
    assert_eq!(queries.len(), 2);
    let first: Value = serde_json::from_slice(&queries[0].body).unwrap();
    let second: Value = serde_json::from_slice(&queries[1].body).unwrap();
    // The next page is asked with the same body.
    assert_eq!(first, second);
    insta::assert_json_snapshot!("companies_query_body", first);
}

#[tokio::test]
async fn a_next_page_on_another_server_is_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    mount_company_fields(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{ROOT}/Contacts/query")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [{"id": 7, "companyID": 1, "firstName": "Ada"}],
            "pageDetails": {"count": 1, "nextPageUrl": format!("{}{ROOT}/Contacts/query?paging=x", elsewhere.uri())}
        })))
        .mount(&server)
        .await;
    let source = connector(&server).await;
    let err = all_pages(
        &source,
        StreamRequest {
            data_type: DataType::Contacts,
            filter: SyncFilter::default(),
            since: None,
            resume_from: None,
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("another server"), "{err}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn filter_options_come_from_picklists_and_the_preview_counts() {
    let server = MockServer::start().await;
    mount_company_fields(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{ROOT}/Companies/query/count")))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("query_count.json")))
        .mount(&server)
        .await;
    let source = connector(&server).await;
    let options = source.filter_options().await.unwrap();
    insta::assert_yaml_snapshot!("filter_options", options);
    let mut filter = SyncFilter::default();
    filter
        .company_types
        .insert(options.company_types[0].clone());
    filter
        .territories
        .insert(FilterOption::new("\"x\"}]", "hostile"));
    let preview = source.preview(&filter).await.unwrap();
    assert_eq!(
        preview.companies,
        fixture("query_count.json")["queryCount"].as_u64().unwrap()
    );
    let counts: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/count"))
        .collect();
    let body: Value = serde_json::from_slice(&counts[0].body).unwrap();
    // The hostile value stays one JSON string value.
    insta::assert_json_snapshot!("count_body", body);
}

#[tokio::test]
async fn write_back_is_one_patch_with_the_id_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{ROOT}/Opportunities/entityInformation/fields"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"fields": [
            {"name": "stage", "isPickList": true, "picklistValues": [
                {"value": "1", "label": "Qualification", "isActive": true, "sortOrder": 1},
                {"value": "4", "label": "Proposal", "isActive": true, "sortOrder": 4}
            ]}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("{ROOT}/Opportunities")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"itemId": 4817})))
        .mount(&server)
        .await;
    let source = connector(&server).await;
    source
        .update_opportunity(
            "4817",
            &OpportunityUpdate {
                value: Some(Decimal::new(1_250_050, 2)),
                probability: Some(Decimal::new(60, 0)),
                stage: Some("proposal".into()),
                close_date: NaiveDate::from_ymd_opt(2026, 6, 30),
                contact_id: Some("30100".into()),
            },
        )
        .await
        .unwrap();
    let patches: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .collect();
    assert_eq!(patches.len(), 1);
    let body: Value = serde_json::from_slice(&patches[0].body).unwrap();
    insta::assert_json_snapshot!("opportunity_patch", body);

    let err = source
        .update_opportunity(
            "4817",
            &OpportunityUpdate {
                stage: Some("Nonexistent".into()),
                ..OpportunityUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectorError::InvalidConfig { field: "stage", .. }),
        "{err:?}"
    );
    let err = source
        .update_opportunity(
            "4817",
            &OpportunityUpdate {
                probability: Some(Decimal::new(101, 0)),
                ..OpportunityUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ConnectorError::InvalidConfig {
            field: "probability",
            ..
        }
    ));
    // Nothing more was sent.
    let patches = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .count();
    assert_eq!(patches, 1);
}
