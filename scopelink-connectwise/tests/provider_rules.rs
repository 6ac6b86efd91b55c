//! The connector against the simulator where both once agreed with each
//! other but not with ConnectWise: the API host of a cloud site, the
//! company-type filter in `childConditions`, and the value written through
//! a whole `Forecast`. Sources: `fixtures/connectwise/README.md`.

mod common;

use common::http_config;
use futures::StreamExt;
use rust_decimal::Decimal;
use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings, ConnectWiseSite};
use scopelink_core::connector::{
    CrmSource, OpportunityUpdate, OpportunityWriteBack, StreamRequest,
};
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::http::{AddressPolicy, HttpClient, Method, Request};
use scopelink_core::model::DataType;
use scopelink_core::secret::ApiKeyPair;
use scopelink_core::HttpError;
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use url::Url;

async fn connector(sim: &ConnectWiseSim) -> ConnectWiseConnector {
    let keys = ApiKeyPair::new(sim.company_id(), sim.public_key(), sim.private_key());
    let settings =
        ConnectWiseSettings::new(sim.server_url().to_string(), sim.client_id().to_string());
    ConnectWiseConnector::connect(settings, keys, http_config())
        .await
        .expect("discovered")
}

/// `GET /system/info` on the simulator with `Host: host`.
async fn system_info_as(sim: &ConnectWiseSim, host: &str) -> Result<u16, HttpError> {
    let http = HttpClient::new(http_config()).unwrap();
    let url = Url::parse(&format!("{}/system/info", sim.api_base())).unwrap();
    let request = Request::new(Method::GET, url)
        .header("Host", host)
        .header("Authorization", &sim.authorization())
        .header("clientId", sim.client_id());
    http.send(request).await.map(|r| r.status)
}

/// For every cloud region and staging, typed either way, the connector's
/// API host is the one the (cloud) simulator accepts; the typed login host,
/// which the connector used when company info named no host, is refused
/// with ConnectWise's Security error.
#[tokio::test]
async fn cloud_sites_are_called_on_their_api_host() {
    for (region, domain) in [
        ("na", "myconnectwise.net"),
        ("eu", "myconnectwise.net"),
        ("au", "myconnectwise.net"),
        ("aus", "myconnectwise.net"),
        ("za", "myconnectwise.net"),
        ("staging", "connectwisedev.com"),
    ] {
        let login = format!("{region}.{domain}");
        let sim =
            ConnectWiseSim::start(ConnectWiseSimConfig::new(1, 0).with_cloud_site(&login)).await;
        for typed in [
            login.clone(),
            format!("https://api-{login}/v4_6_release/apis/3.0/"),
        ] {
            let site = ConnectWiseSite::parse(&typed, AddressPolicy::public_only()).unwrap();
            assert_eq!(site.region(), Some(region));
            let api_host = site.api_url(sim.codebase()).host_str().unwrap().to_string();
            assert_eq!(api_host, format!("api-{login}"));
            assert_eq!(
                system_info_as(&sim, &api_host).await.expect("accepted"),
                200,
                "{typed}"
            );
            let refused = system_info_as(&sim, site.login_url().host_str().unwrap())
                .await
                .unwrap_err();
            match refused {
                HttpError::Status {
                    status, message, ..
                } => {
                    assert_eq!(status, 401);
                    assert!(message.contains("SSL is required"), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

/// On-premise (and loopback) sites are called on the host as typed: the
/// connector discovers the simulator's API base from company info, which
/// names no host.
#[tokio::test]
async fn an_on_premise_site_is_called_as_typed() {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(2, 0)).await;
    let cw = connector(&sim).await;
    assert_eq!(cw.api_base().as_str(), sim.api_base());
    let site = cw.site().expect("a site");
    assert_eq!(site.region(), None);
    assert_eq!(site.login_url().as_str(), format!("{}/", sim.server_url()));
    let onprem = ConnectWiseSite::parse("https://psa.acme.example", AddressPolicy::allow_local())
        .unwrap()
        .api_base("v4_6_release/");
    assert_eq!(
        onprem.as_str(),
        "https://psa.acme.example/v4_6_release/apis/3.0"
    );
}

/// A company-type filter goes out as `childConditions` the simulator (like
/// ConnectWise) accepts: `=` joined by `or`, never `in`.
#[tokio::test]
async fn a_company_type_filter_counts_and_streams_through_child_conditions() {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(35, 0)).await;
    let cw = connector(&sim).await;
    let filter = SyncFilter {
        company_types: [
            FilterOption::new("1", "Client"),
            FilterOption::new("5", "Managed Services"),
        ]
        .into(),
        ..SyncFilter::default()
    };
    let expected: Vec<String> = sim
        .companies()
        .iter()
        .filter(|c| c.type_ids.iter().any(|t| [1, 5].contains(t)))
        .map(|c| c.id.to_string())
        .collect();
    assert!(!expected.is_empty() && expected.len() < 35);
    let preview = cw.preview(&filter).await.expect("counted");
    assert_eq!(preview.companies as usize, expected.len());
    let pages: Vec<_> = cw
        .stream(StreamRequest {
            data_type: DataType::Companies,
            filter,
            since: None,
            resume_from: None,
        })
        .collect()
        .await;
    let ids: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.expect("a page").records)
        .map(|r| r.external_id().to_string())
        .collect();
    assert_eq!(ids, expected);
    assert!(sim
        .requests()
        .iter()
        .any(|(_, q)| q.contains("childConditions=types%2Fid%3D1+or+types%2Fid%3D5")));
}

/// The value is written by posting a `Forecast` holding scopelink's item,
/// then by patching that item; the simulator refuses a bare item, so this
/// fails if the connector posts one.
#[tokio::test]
async fn the_value_goes_through_a_whole_forecast() {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(2, 1)).await;
    let cw = connector(&sim).await;
    let opp = sim.opportunities()[0].id;
    for (value, cents) in [(1_850_000, 18_500.0), (2_000_050, 20_000.5)] {
        cw.update_opportunity(
            &opp.to_string(),
            &OpportunityUpdate {
                value: Some(Decimal::new(value, 2)),
                ..OpportunityUpdate::default()
            },
        )
        .await
        .expect("value written");
        let items = sim.forecast_items(opp);
        assert_eq!(items.len(), 1, "one item, created then updated");
        assert_eq!(items[0]["revenue"], serde_json::json!(cents));
        assert_eq!(items[0]["forecastDescription"], "scopelink estimate");
    }
}
