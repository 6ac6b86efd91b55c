//! Syncing from the Autotask simulator through the core engine: query
//! pages of 500, the company filter, skipped dependents, incremental runs.

mod common;

use common::setup;
use scopelink_core::activity::ActivityKind;
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::model::{DataType, Record};
use scopelink_core::store::RecordStore;
use scopelink_core::SyncRequest;
use scopelink_testkit::autotask::AutotaskSimConfig;
use serde_json::Value;

fn request(filter: SyncFilter, full: bool) -> SyncRequest {
    {
        let r = SyncRequest::all().filter(filter);
        if full {
            r.full()
        } else {
            r
        }
    }
}

#[tokio::test]
async fn a_full_sync_reads_pages_of_500_and_skips_records_of_filtered_out_companies() {
    let s = setup(AutotaskSimConfig {
        companies: 1_100,
        contacts_per_company: 1,
        opportunities: 30,
        configuration_items: 20,
        products: 7,
        ..AutotaskSimConfig::default()
    })
    .await;
    let engine = s.env.engine();
    let mut filter = SyncFilter::default();
    filter
        .company_types
        .insert(FilterOption::new("1", "Customer"));
    let expected: Vec<i64> = s
        .sim
        .companies()
        .iter()
        .filter(|c| c["companyType"] == 1)
        .filter_map(|c| c["id"].as_i64())
        .collect();
    let report = engine
        .run(
            &s.env.access,
            &s.conn,
            &s.at,
            &request(filter.clone(), true),
            None,
        )
        .await
        .unwrap();
    let companies = report.counts(DataType::Companies).unwrap();
    assert_eq!(companies.created as usize, expected.len());
    let contacts = report.counts(DataType::Contacts).unwrap();
    assert_eq!(contacts.created as usize, expected.len());
    assert_eq!(
        contacts.skipped as usize,
        s.sim.contacts().len() - expected.len()
    );
    assert_eq!(report.counts(DataType::CatalogItems).unwrap().created, 7);
    // Every stored company is a customer, labelled from the picklist.
    for id in expected.iter().take(5) {
        let Some(Record::Company(c)) = s
            .env
            .store
            .record(&s.conn, DataType::Companies, &id.to_string())
            .await
            .unwrap()
        else {
            panic!("company {id} not stored");
        };
        assert_eq!(c.types, ["Customer"]);
    }
    // A skip says why.
    let kinds = s.env.kinds(&s.conn).await;
    assert!(kinds.iter().any(|k| matches!(
        k,
        ActivityKind::RecordSkipped {
            data_type: DataType::Contacts,
            ..
        }
    )));

    // The companies were read in pages of 500 with the filter and the
    // fields the records need, following nextPageUrl.
    let company_queries: Vec<_> = s
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Companies/query"))
        .collect();
    assert!(expected.len() > 500, "the test needs more than a page");
    assert_eq!(company_queries.len(), expected.len().div_ceil(500));
    let body = company_queries[0].body.clone().unwrap();
    assert_eq!(body["MaxRecords"], 500);
    assert_eq!(body["IncludeFields"][0], "id");
    assert_eq!(
        body["Filter"],
        serde_json::json!([{"op": "in", "field": "companyType", "value": [1]}])
    );
    assert!(company_queries[1..]
        .iter()
        .all(|r| r.body.as_ref() == Some(&body)));
    assert!(company_queries[1..].iter().all(|r| !r.query.is_empty()));
}

#[tokio::test]
async fn an_incremental_sync_reads_only_what_changed() {
    let s = setup(AutotaskSimConfig::default()).await;
    let engine = s.env.engine();
    let full = engine
        .run(
            &s.env.access,
            &s.conn,
            &s.at,
            &request(SyncFilter::default(), true),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        full.counts(DataType::Companies).unwrap().created as usize,
        s.sim.companies().len()
    );
    let touched: Vec<i64> = s
        .sim
        .companies()
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .take(2)
        .collect();
    for id in &touched {
        assert!(s.sim.touch_company(*id));
    }
    s.sim.clear_requests();
    let report = engine
        .run(
            &s.env.access,
            &s.conn,
            &s.at,
            &request(SyncFilter::default(), false),
            None,
        )
        .await
        .unwrap();
    let companies = report.counts(DataType::Companies).unwrap();
    assert_eq!(companies.created, 0);
    assert_eq!(companies.updated as usize, touched.len());
    // The query asked for changes since the cursor.
    let query = s
        .sim
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/Companies/query"))
        .unwrap();
    let filter: &Value = &query.body.as_ref().unwrap()["Filter"];
    assert_eq!(filter[0]["op"], "or");
    assert_eq!(filter[0]["items"][0]["op"], "gte");
    assert_eq!(
        filter[0]["items"][0]["field"],
        "lastTrackedModifiedDateTime"
    );
    assert_eq!(filter[0]["items"][1]["field"], "createDate");
    assert!(filter[0]["items"][0]["value"].is_string());
    // Products carry no change time: read whole, unchanged.
    let products = report.counts(DataType::CatalogItems).unwrap();
    assert_eq!(products.updated + products.created, 0);
}
