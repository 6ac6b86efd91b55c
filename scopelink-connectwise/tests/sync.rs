//! Reading: pagination through `Link` headers (and the page-number
//! fallback), filter options, the preview count, single fetches, and full and
//! incremental runs through the core's sync engine.

mod common;

use common::*;
use futures::StreamExt;
use scopelink_core::access::Access;
use scopelink_core::activity::ActivityKind;
use scopelink_core::connector::{CrmSource, StreamRequest};
use scopelink_core::error::ConnectorError;
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::model::{DataType, Record};
use scopelink_core::sync::SyncRequest;
use scopelink_core::SyncEngine;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn companies() -> Vec<Value> {
    json(fixture!("companies_page1.json"))
        .as_array()
        .unwrap()
        .clone()
}

fn company_with_id(id: i64) -> Value {
    let mut c = companies()[0].clone();
    c["id"] = json!(id);
    c["name"] = json!(format!("Company {id}"));
    c
}

fn query_of(r: &wiremock::Request, key: &str) -> Option<String> {
    r.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Three pages of two, one and... linked with `Link` headers as ConnectWise
/// sends them (absolute, URL-encoded, rels in any order).
async fn mount_three_pages(server: &MockServer) {
    let link = |page: u32| {
        format!(
            "{}{API}/company/companies?orderBy=id%20asc&pageSize=2&page={page}",
            server.uri()
        )
    };
    let pages: [(u32, Vec<Value>, String); 3] = [
        (
            1,
            vec![companies()[0].clone(), companies()[1].clone()],
            format!("<{}>; rel=\"last\", <{}>; rel=\"next\"", link(3), link(2)),
        ),
        (
            2,
            vec![companies()[2].clone(), company_with_id(253)],
            format!(
                "<{}>; rel=\"first\", <{}>; rel=\"prev\", <{}>; rel=\"next\", <{}>; rel=\"last\"",
                link(1),
                link(1),
                link(3),
                link(3)
            ),
        ),
        (
            3,
            vec![company_with_id(254)],
            format!("<{}>; rel=\"first\", <{}>; rel=\"prev\"", link(1), link(2)),
        ),
    ];
    for (page, items, link) in pages {
        Mock::given(method("GET"))
            .and(path(format!("{API}/company/companies")))
            .and(query_param("page", page.to_string()))
            .and(query_param("pageSize", "2"))
            .and(query_param("orderBy", "id asc"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(Value::Array(items))
                    .insert_header("Link", link.as_str()),
            )
            .mount(server)
            .await;
    }
}

fn companies_request(resume_from: Option<String>) -> StreamRequest {
    StreamRequest {
        data_type: DataType::Companies,
        filter: SyncFilter::default(),
        since: None,
        resume_from,
    }
}

#[tokio::test]
async fn follows_link_headers_over_three_pages_in_order() {
    let server = MockServer::start().await;
    mount_three_pages(&server).await;
    let cw = connector(&server).with_page_size(2);
    let pages: Vec<_> = cw.stream(companies_request(None)).collect().await;
    let pages: Vec<_> = pages.into_iter().map(|p| p.expect("page")).collect();
    assert_eq!(pages.len(), 3);
    let ids: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.records.iter().map(Record::external_id))
        .collect();
    assert_eq!(ids, ["250", "251", "252", "253", "254"]);
    // Tokens are the next links, so the engine can checkpoint and resume.
    assert!(pages[0].next.as_deref().unwrap().ends_with("page=2"));
    assert_eq!(pages[2].next, None);

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    let order: Vec<String> = requests
        .iter()
        .map(|r| query_of(r, "page").unwrap())
        .collect();
    assert_eq!(order, ["1", "2", "3"]);
    for r in &requests {
        assert_eq!(r.headers["authorization"], EXPECTED_AUTH);
    }

    // Resuming from the checkpointed token starts at page 2.
    let resumed: Vec<_> = cw
        .stream(companies_request(pages[0].next.clone()))
        .collect()
        .await;
    assert_eq!(resumed.len(), 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
}

#[tokio::test]
async fn without_link_headers_pages_by_number_until_a_short_page() {
    let server = MockServer::start().await;
    for (page, items) in [
        (1, vec![companies()[0].clone(), companies()[1].clone()]),
        (2, vec![companies()[2].clone()]),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("{API}/company/companies")))
            .and(query_param("page", page.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(items)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let cw = connector(&server).with_page_size(2);
    let pages: Vec<_> = cw.stream(companies_request(None)).collect().await;
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].as_ref().unwrap().next.as_deref(), Some("2"));
    assert_eq!(pages[1].as_ref().unwrap().next, None);
}

#[tokio::test]
async fn an_empty_page_ends_the_list_even_with_a_next_link() {
    let server = MockServer::start().await;
    let next = format!(
        "<{}{API}/company/companies?page=2>; rel=\"next\"",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path(format!("{API}/company/companies")))
        .and(query_param("page", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(" [ \n ] ")
                .insert_header("Link", next.as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let cw = connector(&server).with_page_size(2);
    let pages: Vec<_> = cw.stream(companies_request(None)).collect().await;
    assert_eq!(pages.len(), 1);
    let page = pages[0].as_ref().expect("an empty page");
    assert!(page.records.is_empty());
    assert_eq!(page.next, None);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_page_that_does_not_decode_ends_the_stream_with_a_typed_error() {
    let server = MockServer::start().await;
    // Page 1 is cut short but says where page 2 is; page 2 is fine.
    let link = |n: u32| {
        format!(
            "<{}{API}/company/companies?page={n}>; rel=\"next\"",
            server.uri()
        )
    };
    for (page, body, link) in [
        (1, "[{\"id\": 250, \"name\": \"Cut".to_string(), link(2)),
        (
            2,
            Value::Array(vec![company_with_id(251)]).to_string(),
            link(3),
        ),
        (3, "[]".to_string(), String::new()),
    ] {
        let mut answer = ResponseTemplate::new(200).set_body_string(body);
        if !link.is_empty() {
            answer = answer.insert_header("Link", link.as_str());
        }
        Mock::given(method("GET"))
            .and(path(format!("{API}/company/companies")))
            .and(query_param("page", page.to_string()))
            .respond_with(answer)
            .mount(&server)
            .await;
    }
    let cw = connector(&server).with_page_size(2);
    let pages: Vec<_> = cw.stream(companies_request(None)).collect().await;
    assert_eq!(pages.len(), 1, "nothing after the failed page: {pages:?}");
    match &pages[0] {
        Err(ConnectorError::Decode { what, message }) => {
            assert_eq!(what, "reading companies");
            assert!(message.contains("EOF"), "{message}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_foreign_page_token_is_refused_without_a_request() {
    let server = MockServer::start().await;
    let cw = connector(&server);
    let pages: Vec<_> = cw
        .stream(companies_request(Some(
            "https://attacker.example/v2025_1/apis/3.0/company/companies?page=2".into(),
        )))
        .collect()
        .await;
    assert_eq!(pages.len(), 1);
    assert!(pages[0].is_err());
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn filter_options_and_preview_count() {
    let server = MockServer::start().await;
    mock_get(
        &server,
        "/company/companies/types",
        json(fixture!("company_types.json")),
    )
    .await;
    mock_get(
        &server,
        "/company/companies/statuses",
        json(fixture!("company_statuses.json")),
    )
    .await;
    mock_get(
        &server,
        "/system/locations",
        json(fixture!("territories.json")),
    )
    .await;
    mock_get(
        &server,
        "/company/marketDescriptions",
        json(fixture!("markets.json")),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/company/companies/count")))
        .and(query_param(
            "conditions",
            "status/id in (1) and territory/id in (11)",
        ))
        .and(query_param("childConditions", "types/id=1 or types/id=5"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json(fixture!("count.json"))))
        .expect(1)
        .mount(&server)
        .await;
    let cw = connector(&server);
    let options = cw.filter_options().await.expect("options");
    assert_eq!(options.company_types.len(), 4);
    assert_eq!(options.company_types[0], FilterOption::new("1", "Client"));
    assert_eq!(options.statuses.len(), 3);
    assert_eq!(
        options.territories,
        vec![
            FilterOption::new("11", "East Region"),
            FilterOption::new("12", "West Region")
        ]
    );
    assert_eq!(options.markets[2], FilterOption::new("7", "Transportation"));

    let filter = SyncFilter {
        statuses: [options.statuses[0].clone()].into(),
        territories: [options.territories[0].clone()].into(),
        company_types: [
            options.company_types[0].clone(),
            options.company_types[2].clone(),
        ]
        .into(),
        ..SyncFilter::default()
    };
    let preview = cw.preview(&filter).await.expect("preview");
    assert_eq!(preview.companies, 137);
}

#[tokio::test]
async fn fetch_reads_one_record_and_a_404_is_none() {
    let server = MockServer::start().await;
    mock_get(
        &server,
        "/company/contacts/1811",
        json(fixture!("contacts.json"))[0].clone(),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/company/contacts/99999")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json(fixture!("error_404.json"))))
        .mount(&server)
        .await;
    let cw = connector(&server);
    let Some(Record::Contact(c)) = cw.fetch(DataType::Contacts, "1811").await.unwrap() else {
        panic!("expected a contact");
    };
    assert_eq!(
        c.email.as_deref(),
        Some("priya.raman@northwind-dental.example")
    );
    assert_eq!(c.phone.as_deref(), Some("6175550143"));
    assert_eq!(c.company_external_id.as_deref(), Some("250"));
    assert_eq!(cw.fetch(DataType::Contacts, "99999").await.unwrap(), None);
    // Not a ConnectWise id: nothing to ask.
    assert_eq!(
        cw.fetch(DataType::Contacts, "../system/info")
            .await
            .unwrap(),
        None
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

async fn mount_all_types(server: &MockServer) {
    for (p, body) in [
        ("/company/companies", json(fixture!("companies_page1.json"))),
        ("/company/contacts", json(fixture!("contacts.json"))),
        ("/sales/opportunities", json(fixture!("opportunities.json"))),
        (
            "/company/configurations",
            json(fixture!("configurations.json")),
        ),
        ("/procurement/catalog", json(fixture!("catalog.json"))),
    ] {
        mock_get(server, p, body).await;
    }
}

#[tokio::test]
async fn full_then_incremental_sync_through_the_engine() {
    let server = MockServer::start().await;
    mount_all_types(&server).await;
    let env = Env::new();
    let conn = env.connection(&server).await;
    let engine = SyncEngine::new(env.connections.clone());
    let cw = connector(&server);

    let report = engine
        .run(
            &Access::full(),
            &conn.id,
            &cw,
            &SyncRequest::default(),
            None,
        )
        .await
        .expect("sync runs");
    let counts = |t| report.counts(t).unwrap();
    assert_eq!(counts(DataType::Companies).created, 3);
    assert_eq!(counts(DataType::Contacts).created, 2);
    assert_eq!(counts(DataType::Contacts).skipped, 1);
    assert_eq!(counts(DataType::Opportunities).created, 2);
    assert_eq!(counts(DataType::Configurations).created, 2);
    assert_eq!(counts(DataType::CatalogItems).created, 3);

    // The contact of company 318 (not synced) is skipped with the reason.
    let log = env
        .connections
        .activity(&Access::full(), Some(&conn.id), 200)
        .await
        .unwrap();
    let skipped: Vec<_> = log
        .iter()
        .filter_map(|e| match &e.kind {
            ActivityKind::RecordSkipped {
                data_type,
                external_id,
                reason,
            } => Some((*data_type, external_id.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].0, DataType::Contacts);
    assert_eq!(skipped[0].1, "1813");
    assert!(skipped[0].2.contains("318"), "{}", skipped[0].2);

    let mut stored: Vec<Record> = env.store.records(&conn.id, DataType::Opportunities);
    stored.sort_by(|a, b| a.external_id().cmp(b.external_id()));
    let mut companies = env.store.records(&conn.id, DataType::Companies);
    companies.sort_by(|a, b| a.external_id().cmp(b.external_id()));
    let mut contacts = env.store.records(&conn.id, DataType::Contacts);
    contacts.sort_by(|a, b| a.external_id().cmp(b.external_id()));
    let mut catalog = env.store.records(&conn.id, DataType::CatalogItems);
    catalog.sort_by(|a, b| a.external_id().cmp(b.external_id()));
    let mut configurations = env.store.records(&conn.id, DataType::Configurations);
    configurations.sort_by(|a, b| a.external_id().cmp(b.external_id()));
    insta::assert_yaml_snapshot!(
        "synced_records",
        (companies, contacts, stored, configurations, catalog)
    );

    // First run: no lastUpdated condition anywhere.
    let first = server.received_requests().await.unwrap();
    assert_eq!(first.len(), 5);
    assert!(first.iter().all(|r| query_of(r, "conditions").is_none()));
    assert!(first
        .iter()
        .all(|r| query_of(r, "orderBy").as_deref() == Some("id asc")));
    assert!(first
        .iter()
        .all(|r| query_of(r, "pageSize").as_deref() == Some("1000")));

    // Second run: every type asks only for changes since its cursor (>=).
    let again = engine
        .run(
            &Access::full(),
            &conn.id,
            &cw,
            &SyncRequest::default(),
            None,
        )
        .await
        .expect("incremental sync runs");
    assert_eq!(again.counts(DataType::Companies).unwrap().unchanged, 3);
    let second = &server.received_requests().await.unwrap()[5..];
    let conditions: Vec<(String, String)> = second
        .iter()
        .map(|r| {
            (
                r.url.path().to_string(),
                query_of(r, "conditions").unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        conditions,
        [
            (
                format!("{API}/company/companies"),
                "lastUpdated >= [2025-03-02T09:41:10Z]".to_string()
            ),
            (
                format!("{API}/company/contacts"),
                "lastUpdated >= [2025-03-02T09:44:55Z]".to_string()
            ),
            (
                format!("{API}/sales/opportunities"),
                "lastUpdated >= [2025-03-10T16:45:12Z]".to_string()
            ),
            (
                format!("{API}/company/configurations"),
                "lastUpdated >= [2025-02-27T08:02:41Z]".to_string()
            ),
            (
                format!("{API}/procurement/catalog"),
                "lastUpdated >= [2025-01-02T10:00:00Z]".to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn a_filtered_company_sync_sends_conditions_and_child_conditions() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/company/companies")))
        .and(query_param("conditions", "market/id in (3, 7)"))
        .and(query_param("childConditions", "types/id=1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([companies()[0].clone(), {"name": "no id"}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let cw = connector(&server);
    let filter = SyncFilter {
        markets: [
            FilterOption::new("3", "Healthcare"),
            FilterOption::new("7", "Transportation"),
        ]
        .into(),
        company_types: [FilterOption::new("1", "Client")].into(),
        ..SyncFilter::default()
    };
    let pages: Vec<_> = cw
        .stream(StreamRequest {
            data_type: DataType::Companies,
            filter,
            since: None,
            resume_from: None,
        })
        .collect()
        .await;
    let page = pages[0].as_ref().expect("page");
    assert_eq!(page.records.len(), 1);
    // The record without an id is rejected with a reason, not a panic.
    assert_eq!(
        page.rejected,
        vec![scopelink_core::Rejected::new(
            None,
            "the company record has no id"
        )]
    );
}

#[tokio::test]
async fn an_authentication_failure_during_sync_marks_the_connection() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/company/companies")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json(fixture!("error_401.json"))))
        .mount(&server)
        .await;
    let env = Env::new();
    let conn = env.connection(&server).await;
    let engine = SyncEngine::new(env.connections.clone());
    let request = SyncRequest::all().data_types(vec![DataType::Companies]);
    let err = engine
        .run(
            &Access::full(),
            &conn.id,
            &connector(&server),
            &request,
            None,
        )
        .await
        .unwrap_err();
    let shown = scopelink_core::error::chain(&err);
    assert!(
        shown.contains("check the public and private keys"),
        "{shown}"
    );
    let c = env
        .connections
        .get(&Access::full(), &conn.id)
        .await
        .unwrap();
    assert!(c.is_error(), "{:?}", c.status);
}
