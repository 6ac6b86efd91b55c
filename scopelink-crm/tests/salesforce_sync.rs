//! The Salesforce connector against the testkit's Salesforce simulator:
//! connect, API version and limits, full and incremental sync, paging,
//! filters and the preview, escaping, deletions, session expiry and the
//! daily quota.

mod support;

use scopelink_core::connector::{Connector, CrmSource};
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::store::RecordStore;
use scopelink_core::sync::SyncCounts;
use scopelink_core::{ConnectionStatus, ConnectorError, DataType, SyncError, SyncRequest};
use scopelink_crm::salesforce::SalesforceSettings;
use scopelink_testkit::salesforce::SalesforceSimConfig;
use std::collections::BTreeSet;
use support::{connect, connect_with, soql_sent};

const CRM: [DataType; 3] = [
    DataType::Companies,
    DataType::Contacts,
    DataType::Opportunities,
];

fn request() -> SyncRequest {
    SyncRequest::all().data_types(CRM.to_vec())
}

fn counts(report: &scopelink_core::sync::SyncReport, t: DataType) -> SyncCounts {
    report.counts(t).unwrap()
}

#[tokio::test]
async fn salesforce_connect_records_the_instance_and_uses_the_newest_version() {
    let c = connect().await;
    let connection = c.env.connections.get(&c.env.access, &c.id).await.unwrap();
    assert_eq!(connection.status, ConnectionStatus::Connected);
    let settings = SalesforceSettings::from_map(&connection.settings).unwrap();
    assert_eq!(
        settings
            .instance_url
            .as_deref()
            .map(|u| u.trim_end_matches('/')),
        Some(c.sim.instance_url().trim_end_matches('/'))
    );
    assert_eq!(
        settings.organization_id().as_deref(),
        Some(c.sim.organization_id().as_str())
    );
    assert!(
        !format!("{:?}", connection.settings).contains("access_token"),
        "no token is recorded in the settings"
    );
    c.connector.test_connection().await.unwrap();
    assert_eq!(c.connector.api_version().await.unwrap(), "62.0");
    let usage = c.connector.limits().await.unwrap();
    assert_eq!(usage.max, 15_000);
    assert!(usage.used >= 1, "{usage:?}");
    let seen = c.connector.api_usage().expect("Sforce-Limit-Info read");
    assert_eq!(seen.max, 15_000);
    assert_eq!(seen.used, c.sim.api_usage());
    let paths: Vec<String> = c.sim.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths[0], "/services/data/");
    assert!(
        paths[1..]
            .iter()
            .all(|p| p.starts_with("/services/data/v62.0/")),
        "{paths:?}"
    );
}

#[tokio::test]
async fn salesforce_a_configured_api_version_is_used_as_is() {
    let c = connect_with(SalesforceSimConfig::default(), &[("api_version", "60.0")]).await;
    c.connector.test_connection().await.unwrap();
    let paths: Vec<String> = c.sim.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/services/data/v60.0/limits"]);
}

#[tokio::test]
async fn salesforce_a_version_the_org_does_not_offer_is_a_setting_error() {
    let c = connect_with(SalesforceSimConfig::default(), &[("api_version", "63.0")]).await;
    let err = c.connector.test_connection().await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::InvalidConfig {
                field: "api_version",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("63.0"), "{err}");
}

#[tokio::test]
async fn salesforce_full_then_incremental_sync() {
    let c = connect().await;
    let engine = c.env.engine();
    let report = engine
        .run(&c.env.access, &c.id, &c.connector, &request(), None)
        .await
        .unwrap();
    let accounts = c.sim.accounts().len() as u64;
    let contacts = c.sim.contacts().len() as u64;
    let opportunities = c.sim.opportunities().len() as u64;
    assert_eq!(counts(&report, DataType::Companies).created, accounts);
    assert_eq!(counts(&report, DataType::Contacts).created, contacts);
    assert_eq!(
        counts(&report, DataType::Opportunities).created,
        opportunities
    );
    for t in CRM {
        assert_eq!(counts(&report, t).skipped, 0, "{t}");
    }
    let first_queries = soql_sent(&c.sim);
    insta::assert_yaml_snapshot!("salesforce_full_sync_soql", first_queries);

    // One account changes; the next run asks only for what changed since.
    let id = c.sim.accounts()[3]["Id"].as_str().unwrap().to_string();
    assert!(c.sim.edit(
        "Account",
        &id,
        serde_json::json!({"Website": "https://changed.example"})
    ));
    c.sim.clear_requests();
    let report = engine
        .run(&c.env.access, &c.id, &c.connector, &request(), None)
        .await
        .unwrap();
    let companies = counts(&report, DataType::Companies);
    assert_eq!(companies.created, 0);
    assert_eq!(companies.updated, 1, "{companies:?}");
    assert!(companies.unchanged <= 1, "{companies:?}");
    let incremental = soql_sent(&c.sim);
    assert_eq!(incremental.len(), 3, "{incremental:?}");
    for q in &incremental {
        let cond = q
            .split(" WHERE ")
            .nth(1)
            .expect("an incremental query has a WHERE");
        assert!(
            cond.starts_with("SystemModstamp >= 20"),
            "unquoted literal: {q}"
        );
        assert!(!cond.contains('\''), "no quoted datetime: {q}");
    }
}

#[tokio::test]
async fn salesforce_pages_follow_next_records_url_with_the_batch_size() {
    let config = SalesforceSimConfig {
        accounts: 450,
        contacts_per_account: 0,
        opportunities: 0,
        ..SalesforceSimConfig::default()
    };
    let c = connect_with(config, &[("batch_size", "200")]).await;
    let report = c
        .env
        .engine()
        .run(
            &c.env.access,
            &c.id,
            &c.connector,
            &SyncRequest::all().data_types(vec![DataType::Companies]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(counts(&report, DataType::Companies).created, 450);
    let reads: Vec<String> = c
        .sim
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.contains("/query"))
        .collect();
    assert_eq!(reads.len(), 3, "450 rows in pages of 200: {reads:?}");
    let asked: Vec<Option<usize>> = c.sim.queries().into_iter().map(|q| q.batch_size).collect();
    assert_eq!(
        asked,
        vec![Some(200)],
        "Sforce-Query-Options: batchSize=200"
    );
    assert!(reads[0].ends_with("/query"));
    assert!(
        reads[1].contains("/query/") && reads[2].contains("/query/"),
        "{reads:?}"
    );
}

#[tokio::test]
async fn salesforce_filters_come_from_describe_and_preview_counts() {
    let c = connect_with(
        SalesforceSimConfig::default(),
        &[("status_field", "Rating; DROP")],
    )
    .await;
    let err = c.connector.filter_options().await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::InvalidConfig {
                field: "status_field",
                ..
            }
        ),
        "{err}"
    );

    let c = connect().await;
    let options = c.connector.filter_options().await.unwrap();
    assert!(options.company_types.iter().any(|o| o.id == "Prospect"));
    assert!(options.markets.iter().any(|o| o.id == "Banking"));
    let all = c.connector.preview(&SyncFilter::default()).await.unwrap();
    assert_eq!(all.companies, c.sim.accounts().len() as u64);
    let ty = c.sim.accounts()[0]["Type"].as_str().unwrap().to_string();
    let expected = c
        .sim
        .accounts()
        .iter()
        .filter(|a| a["Type"].as_str() == Some(ty.as_str()))
        .count() as u64;
    let filter = SyncFilter {
        company_types: BTreeSet::from([FilterOption::new(ty.clone(), ty.clone())]),
        ..SyncFilter::default()
    };
    let preview = c.connector.preview(&filter).await.unwrap();
    assert_eq!(preview.companies, expected);
    let q = soql_sent(&c.sim).pop().unwrap();
    assert_eq!(
        q,
        format!("SELECT COUNT() FROM Account WHERE Type IN ('{ty}')")
    );
}

#[tokio::test]
async fn salesforce_a_quote_in_a_filter_value_cannot_change_the_query() {
    let c = connect().await;
    let hostile = "Prospect' OR Name != 'x";
    let filter = SyncFilter {
        company_types: BTreeSet::from([FilterOption::new(hostile, hostile)]),
        ..SyncFilter::default()
    };
    let preview = c.connector.preview(&filter).await.unwrap();
    assert_eq!(
        preview.companies, 0,
        "the value matched nothing: it stayed a value"
    );
    let q = soql_sent(&c.sim).pop().unwrap();
    assert_eq!(
        q,
        r"SELECT COUNT() FROM Account WHERE Type IN ('Prospect\' OR Name != \'x')"
    );
    // A seeded name with a quote reads back intact.
    let report = c
        .env
        .engine()
        .run(
            &c.env.access,
            &c.id,
            &c.connector,
            &SyncRequest::all().data_types(vec![DataType::Companies]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        counts(&report, DataType::Companies).created,
        c.sim.accounts().len() as u64
    );
}

#[tokio::test]
async fn salesforce_an_expired_session_is_refreshed_once() {
    let c = connect().await;
    c.connector.test_connection().await.unwrap();
    let before = c.sim.oauth().counts().refreshes;
    c.sim.expire_sessions();
    c.connector.test_connection().await.unwrap();
    assert_eq!(c.sim.oauth().counts().refreshes, before + 1);
    let statuses: Vec<u16> = c.sim.requests().into_iter().map(|r| r.status).collect();
    assert_eq!(&statuses[statuses.len() - 2..], &[401, 200]);

    // A revoked app: the refresh is refused once and the connection needs
    // reconnecting.
    c.sim.revoke_all();
    let err = c.connector.test_connection().await.unwrap_err();
    assert!(err.is_auth_failure(), "{err}");
    let connection = c.env.connections.get(&c.env.access, &c.id).await.unwrap();
    assert!(
        matches!(connection.status, ConnectionStatus::ConnectionError { .. }),
        "{:?}",
        connection.status
    );
}

#[tokio::test]
async fn salesforce_an_exhausted_daily_quota_stops_the_run_without_retrying() {
    let c = connect().await;
    c.connector.test_connection().await.unwrap();
    let limit = c.sim.daily_api_limit();
    c.sim.set_api_usage(limit);
    c.sim.clear_requests();
    let err = c
        .env
        .engine()
        .run(&c.env.access, &c.id, &c.connector, &request(), None)
        .await
        .unwrap_err();
    let SyncError::Connector { source, .. } = &err else {
        panic!("{err}");
    };
    assert!(
        matches!(source, ConnectorError::QuotaExhausted { .. }),
        "{source}"
    );
    assert!(
        source.to_string().contains("REQUEST_LIMIT_EXCEEDED")
            || source.to_string().contains("Limit"),
        "{source}"
    );
    assert_eq!(c.sim.request_count(), 1, "no retry: {:?}", c.sim.requests());
    let connection = c.env.connections.get(&c.env.access, &c.id).await.unwrap();
    assert_eq!(connection.status, ConnectionStatus::Connected);
}

#[tokio::test]
async fn salesforce_deletions_are_applied_as_deletes() {
    let c = connect().await;
    let engine = c.env.engine();
    engine
        .run(&c.env.access, &c.id, &c.connector, &request(), None)
        .await
        .unwrap();
    let start = chrono::Utc::now() - chrono::Duration::minutes(5);
    let id = c.sim.accounts()[0]["Id"].as_str().unwrap().to_string();
    assert!(c.sim.delete_account(&id));
    let end = chrono::Utc::now() + chrono::Duration::minutes(1);
    let deletions = c
        .connector
        .deleted_since(DataType::Companies, start, end)
        .await
        .unwrap();
    assert!(deletions.covered_until.is_some_and(|t| t <= end));
    let events = deletions.events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].external_id, id);
    let counts = engine
        .apply_webhook(&c.id, &c.connector, events.clone())
        .await
        .unwrap();
    assert_eq!(counts.deleted, 1);
    assert_eq!(
        c.connector.fetch(DataType::Companies, &id).await.unwrap(),
        None
    );
    // The same window again deletes nothing twice.
    let again = engine
        .apply_webhook(&c.id, &c.connector, events)
        .await
        .unwrap();
    assert_eq!(again.deleted, 0);
    // All three types at once: the account's contacts and opportunities
    // went to the recycle bin with it.
    let (all, next) = c
        .connector
        .apply_deletions(&engine, &c.id, start, end)
        .await
        .unwrap();
    assert!(all.deleted >= 1, "{all:?}");
    assert!(next.is_some());
    for t in [DataType::Contacts, DataType::Opportunities] {
        let stored = c.env.store.count_records(&c.id, t).await.unwrap();
        let rows = match t {
            DataType::Contacts => c.sim.contacts(),
            _ => c.sim.opportunities(),
        };
        let live = rows
            .iter()
            .filter(|r| r["IsDeleted"] != serde_json::json!(true))
            .count() as u64;
        assert!(
            live < rows.len() as u64,
            "{t}: some went to the recycle bin"
        );
        assert_eq!(stored, live, "{t}: the deleted account's records are gone");
    }
}

#[tokio::test]
async fn salesforce_a_company_filter_narrows_contacts_and_opportunities_through_their_account() {
    let c = connect().await;
    let ty = c.sim.accounts()[0]["Type"].as_str().unwrap().to_string();
    let kept: BTreeSet<String> = c
        .sim
        .accounts()
        .iter()
        .filter(|a| a["Type"].as_str() == Some(ty.as_str()))
        .map(|a| a["Id"].as_str().unwrap().to_string())
        .collect();
    let under = |rows: Vec<serde_json::Value>| {
        rows.iter()
            .filter(|r| r["AccountId"].as_str().is_some_and(|a| kept.contains(a)))
            .count() as u64
    };
    let request = SyncRequest::all()
        .data_types(CRM.to_vec())
        .filter(SyncFilter {
            company_types: BTreeSet::from([FilterOption::new(ty.clone(), ty.clone())]),
            ..SyncFilter::default()
        });
    let report = c
        .env
        .engine()
        .run(&c.env.access, &c.id, &c.connector, &request, None)
        .await
        .unwrap();
    assert_eq!(
        counts(&report, DataType::Companies).created,
        kept.len() as u64
    );
    assert_eq!(
        counts(&report, DataType::Contacts).created,
        under(c.sim.contacts())
    );
    assert_eq!(
        counts(&report, DataType::Opportunities).created,
        under(c.sim.opportunities())
    );
    for t in CRM {
        assert_eq!(counts(&report, t).skipped, 0, "{t}: filtered at the source");
    }
}

#[tokio::test]
async fn salesforce_a_host_named_picklist_is_offered_and_filters() {
    let c = connect_with(
        SalesforceSimConfig::default(),
        &[("status_field", "Rating")],
    )
    .await;
    let options = c.connector.filter_options().await.unwrap();
    let ids: Vec<&str> = options.statuses.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, vec!["Hot", "Warm", "Cold"]);
    for a in c.sim.accounts().iter().step_by(4) {
        assert!(c.sim.edit(
            "Account",
            a["Id"].as_str().unwrap(),
            serde_json::json!({"Rating": "Hot"})
        ));
    }
    let hot = c
        .sim
        .accounts()
        .iter()
        .filter(|a| a["Rating"].as_str() == Some("Hot"))
        .count() as u64;
    let filter = SyncFilter {
        statuses: BTreeSet::from([FilterOption::new("Hot", "Hot")]),
        ..SyncFilter::default()
    };
    assert!(hot > 0 && hot < c.sim.accounts().len() as u64);
    assert_eq!(c.connector.preview(&filter).await.unwrap().companies, hot);
    let report = c
        .env
        .engine()
        .run(
            &c.env.access,
            &c.id,
            &c.connector,
            &SyncRequest::all()
                .data_types(vec![DataType::Companies])
                .filter(filter),
            None,
        )
        .await
        .unwrap();
    assert_eq!(counts(&report, DataType::Companies).created, hot);
    let first_hot = c
        .sim
        .accounts()
        .into_iter()
        .find(|a| a["Rating"].as_str() == Some("Hot"))
        .unwrap();
    let stored = c
        .env
        .store
        .record(
            &c.id,
            DataType::Companies,
            first_hot["Id"].as_str().unwrap(),
        )
        .await
        .unwrap();
    assert!(
        matches!(&stored, Some(scopelink_core::Record::Company(co)) if co.status.as_deref() == Some("Hot")),
        "{stored:?}"
    );
}
