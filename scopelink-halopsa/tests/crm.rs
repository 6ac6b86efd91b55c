//! CRM: streaming clients, users and opportunities through the sync engine.

mod common;

use common::{connector, Host, HostExt};
use futures::StreamExt;
use scopelink_core::activity::ActivityKind;
use scopelink_core::connector::{CrmSource, StreamRequest};
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::model::{DataType, Record};
use scopelink_core::{ConnectorError, SyncEngine, SyncRequest};
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig};
use serde_json::json;

#[tokio::test]
async fn sync_clients_users_and_opportunities() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let host = Host::new();
    let conn = host.connected(&sim.uri(), &halo).await;
    let engine = SyncEngine::new(host.connections.clone());

    let report = engine
        .run(&host.access, &conn.id, &halo, &SyncRequest::default(), None)
        .await
        .expect("sync");
    let companies = report.counts(DataType::Companies).unwrap();
    assert_eq!((companies.created, companies.skipped), (5, 0));
    let contacts = report.counts(DataType::Contacts).unwrap();
    assert_eq!((contacts.created, contacts.skipped), (2, 1));
    let opportunities = report.counts(DataType::Opportunities).unwrap();
    assert_eq!((opportunities.created, opportunities.skipped), (2, 0));

    // The user of client 99 (not a synced client) is skipped, with the reason.
    let activity = host
        .connections
        .activity(&host.access, Some(&conn.id), 100)
        .await
        .unwrap();
    let skipped: Vec<_> = activity
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
    assert_eq!(skipped[0].1, "103");
    assert!(skipped[0].2.contains("99"), "{}", skipped[0].2);

    let stored = host.store.records(&conn.id, DataType::Contacts);
    let Record::Contact(priya) = &stored[0] else {
        panic!("expected a contact")
    };
    assert_eq!(priya.company_external_id.as_deref(), Some("12"));
    insta::assert_yaml_snapshot!(
        "synced_companies",
        host.store.records(&conn.id, DataType::Companies)
    );
    insta::assert_yaml_snapshot!(
        "synced_opportunities",
        host.store.records(&conn.id, DataType::Opportunities)
    );

    // Clients are read with inactive ones, users and opportunities in full.
    let client_req = sim
        .api_requests()
        .into_iter()
        .find(|r| r.path == "/api/Client")
        .unwrap();
    assert_eq!(client_req.query_value("includeinactive"), Some("true"));

    // The second run: clients and users again in full (no modification
    // time), reported unchanged; opportunities only from the cursor.
    sim.clear_requests();
    sim.add_opportunity(json!({
        "id": 5033, "summary": "Wi-Fi survey", "client_id": 12, "status_name": "Qualified",
        "oppvalue": 2400.0, "last_update": "2025-02-01T08:00:00"
    }));
    let second = engine
        .run(&host.access, &conn.id, &halo, &SyncRequest::default(), None)
        .await
        .expect("second sync");
    let companies = second.counts(DataType::Companies).unwrap();
    assert_eq!((companies.created, companies.unchanged), (0, 5));
    let opportunities = second.counts(DataType::Opportunities).unwrap();
    assert_eq!(opportunities.created, 1);
    assert_eq!(
        opportunities.created + opportunities.updated + opportunities.unchanged,
        2
    );
    let opp_req = sim
        .api_requests()
        .into_iter()
        .find(|r| r.path == "/api/Opportunities")
        .unwrap();
    assert_eq!(
        opp_req.query_value("lastupdatefromdate"),
        Some("2025-01-22T09:31:47")
    );
}

#[tokio::test]
async fn pages_resume_from_their_token() {
    let sim = HaloPsaSim::start(HaloPsaSimConfig::default().with_generated_clients(150)).await;
    let halo = connector(&sim);
    let request = |resume_from: Option<String>| StreamRequest {
        data_type: DataType::Companies,
        filter: SyncFilter::default(),
        since: None,
        resume_from,
    };
    let pages: Vec<_> = halo.stream(request(None)).collect().await;
    assert_eq!(pages.len(), 2);
    let first = pages[0].as_ref().unwrap();
    assert_eq!(first.records.len(), 100);
    assert_eq!(first.next.as_deref(), Some("2"));
    let second = pages[1].as_ref().unwrap();
    assert_eq!(second.records.len(), 55);
    assert_eq!(second.next, None);

    let resumed: Vec<_> = halo.stream(request(Some("2".into()))).collect().await;
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].as_ref().unwrap().records, second.records);
}

#[tokio::test]
async fn filters_are_top_levels_and_active_inactive() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let options = halo.filter_options().await.expect("options");
    assert_eq!(
        options.company_types,
        vec![
            FilterOption::new("1", "Customers"),
            FilterOption::new("2", "Prospects")
        ]
    );
    assert_eq!(
        options.statuses,
        vec![
            FilterOption::new("active", "Active"),
            FilterOption::new("inactive", "Inactive")
        ]
    );
    assert!(options.territories.is_empty() && options.markets.is_empty());

    assert_eq!(
        halo.preview(&SyncFilter::default())
            .await
            .unwrap()
            .companies,
        5
    );
    let mut active = SyncFilter::default();
    active
        .statuses
        .insert(FilterOption::new("active", "Active"));
    assert_eq!(halo.preview(&active).await.unwrap().companies, 4);
    let mut inactive = SyncFilter::default();
    inactive
        .statuses
        .insert(FilterOption::new("inactive", "Inactive"));
    assert_eq!(halo.preview(&inactive).await.unwrap().companies, 1);
    let mut customers = SyncFilter::default();
    customers
        .company_types
        .insert(FilterOption::new("1", "Customers"));
    assert_eq!(halo.preview(&customers).await.unwrap().companies, 4);
    customers.statuses = active.statuses.clone();
    assert_eq!(halo.preview(&customers).await.unwrap().companies, 3);

    // The stream applies the same filter.
    let pages: Vec<_> = halo
        .stream(StreamRequest {
            data_type: DataType::Companies,
            filter: customers.clone(),
            since: None,
            resume_from: None,
        })
        .collect()
        .await;
    let names: Vec<_> = pages
        .iter()
        .flat_map(|p| p.as_ref().unwrap().records.iter())
        .map(|r| match r {
            Record::Company(c) => c.name.clone(),
            _ => String::new(),
        })
        .collect();
    assert_eq!(
        names,
        [
            "Brightwater Dental",
            "Copperfield Logistics",
            "Elmstead Veterinary Group"
        ]
    );

    let mut territories = SyncFilter::default();
    territories
        .territories
        .insert(FilterOption::new("1", "East"));
    assert!(matches!(
        halo.preview(&territories).await,
        Err(ConnectorError::Unsupported { .. })
    ));
}

#[tokio::test]
async fn fetch_one_record_or_none() {
    let sim = HaloPsaSim::start_default().await;
    let halo = connector(&sim);
    let Some(Record::Company(c)) = halo.fetch(DataType::Companies, "15").await.unwrap() else {
        panic!("expected a company");
    };
    assert_eq!(c.name, "Copperfield Logistics");
    let Some(Record::Contact(u)) = halo.fetch(DataType::Contacts, "102").await.unwrap() else {
        panic!("expected a contact");
    };
    assert_eq!(u.last_name.as_deref(), Some("Wieczorek"));
    let Some(Record::Opportunity(o)) = halo.fetch(DataType::Opportunities, "5019").await.unwrap()
    else {
        panic!("expected an opportunity");
    };
    assert_eq!(o.contact_external_id.as_deref(), Some("102"));
    assert_eq!(halo.fetch(DataType::Companies, "404").await.unwrap(), None);
    assert_eq!(
        halo.fetch(DataType::Companies, "not-an-id").await.unwrap(),
        None
    );
    assert!(matches!(
        halo.fetch(DataType::CatalogItems, "1").await,
        Err(ConnectorError::Unsupported { .. })
    ));
}

#[tokio::test]
async fn malformed_records_are_rejected_not_fatal() {
    let sim = HaloPsaSim::start_default().await;
    sim.add_client(json!({"id": 77, "name": null, "inactive": false}));
    sim.add_client(json!({"name": "No id"}));
    let halo = connector(&sim);
    let pages: Vec<_> = halo
        .stream(StreamRequest {
            data_type: DataType::Companies,
            filter: SyncFilter::default(),
            since: None,
            resume_from: None,
        })
        .collect()
        .await;
    let page = pages[0].as_ref().unwrap();
    assert_eq!(page.records.len(), 5);
    assert_eq!(page.rejected.len(), 2);
    assert_eq!(page.rejected[0].id.as_deref(), Some("77"));
    assert_eq!(page.rejected[1].id, None);
}
