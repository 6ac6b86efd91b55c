//! The Salesforce connector against wiremock: rows of the API notes'
//! samples mapped to records (snapshots), next-records URLs that leave the
//! instance refused, the limit header read on error answers, and a session
//! refused even after its one refresh.

use scopelink_core::connector::{Connector, CrmSource, StreamRequest};
use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig, RetryPolicy};
use scopelink_core::oauth::{OAuthClient, OAuthSession, Renewal};
use scopelink_core::secret::{Credentials, OAuthTokens};
use scopelink_core::{ConnectorError, DataType, FeatureCategory, NewConnection, Provider};
use scopelink_crm::salesforce::fuzz::{convert, AccountRoles};
use scopelink_crm::salesforce::{SalesforceConnector, SalesforceSettings};
use scopelink_testkit::host::MemoryEnv;
use secrecy::SecretString;
use std::time::Duration;
use url::Url;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn rows(sample: &str) -> Vec<serde_json::Value> {
    let page: serde_json::Value = serde_json::from_str(sample).unwrap();
    page["records"].as_array().unwrap().clone()
}

#[test]
fn salesforce_sample_rows_map_to_records() {
    let roles = AccountRoles::default();
    let mut mapped = Vec::new();
    for (t, sample) in [
        (
            DataType::Companies,
            include_str!("data/salesforce_account.json"),
        ),
        (
            DataType::Contacts,
            include_str!("data/salesforce_contact.json"),
        ),
        (
            DataType::Opportunities,
            include_str!("data/salesforce_opportunity.json"),
        ),
    ] {
        for row in rows(sample) {
            mapped.push(convert(t, row, &roles).unwrap());
        }
    }
    insta::assert_yaml_snapshot!("salesforce_sample_records", mapped);
}

/// A connector on `server` with a session whose tokens are in the vault,
/// refreshed at `server`'s token endpoint.
async fn connector(server: &MockServer) -> (SalesforceConnector, MemoryEnv) {
    let env = MemoryEnv::new();
    let http = HttpClient::new(
        HttpConfig::default()
            .with_addresses(AddressPolicy::allow_local())
            .with_retry(RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(10),
            }),
    )
    .unwrap();
    let mut settings = SalesforceSettings::new(server.uri());
    settings.instance_url = Some(server.uri());
    settings.api_version = Some("62.0".into());
    let id = env
        .connections
        .create(
            &env.access,
            NewConnection::new(
                Provider::Salesforce,
                "wire",
                Credentials::OAuth(OAuthTokens {
                    access_token: SecretString::from("00Dxx!first-access-token"),
                    refresh_token: Some(SecretString::from("5Aep-refresh-token")),
                    expires_at: None,
                    instance_url: Some(server.uri()),
                }),
            )
            .categories([FeatureCategory::Crm])
            .settings(settings.to_map()),
        )
        .await
        .unwrap()
        .id;
    let client: OAuthClient = settings
        .oauth_client(
            AddressPolicy::allow_local(),
            "cid",
            Some(SecretString::from("secret")),
            "https://app.example/cb",
        )
        .unwrap();
    let session = OAuthSession::new(
        env.connections.clone(),
        http.clone(),
        client,
        id,
        Renewal::RefreshToken,
    );
    (
        SalesforceConnector::new(settings, session, http).unwrap(),
        env,
    )
}

fn companies() -> StreamRequest {
    StreamRequest {
        data_type: DataType::Companies,
        filter: Default::default(),
        since: None,
        resume_from: None,
    }
}

#[tokio::test]
async fn salesforce_next_records_urls_off_the_instance_are_not_followed() {
    for next in [
        "https://evil.example/services/data/v62.0/query/01g-2000",
        "//evil.example/services/data/v62.0/query/01g-2000",
    ] {
        let server = MockServer::start().await;
        let mut page: serde_json::Value =
            serde_json::from_str(include_str!("data/salesforce_account.json")).unwrap();
        page["done"] = false.into();
        page["nextRecordsUrl"] = next.into();
        Mock::given(method("GET"))
            .and(path("/services/data/v62.0/query"))
            .respond_with(ResponseTemplate::new(200).set_body_json(page))
            .expect(1)
            .mount(&server)
            .await;
        let (sf, _env) = connector(&server).await;
        use futures::StreamExt;
        let pages: Vec<_> = sf.stream(companies()).collect().await;
        let err = pages
            .into_iter()
            .find_map(Result::err)
            .expect("the walk stops");
        assert!(
            matches!(&err, ConnectorError::Decode { message, .. } if message.contains("evil.example")),
            "{next}: {err}"
        );
    }
}

#[tokio::test]
async fn salesforce_the_limit_header_is_read_on_error_answers_too() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/services/data/v62.0/limits"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("Sforce-Limit-Info", "api-usage=5001/5000")
                .set_body_string(include_str!("data/salesforce_error.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (sf, _env) = connector(&server).await;
    let err = sf.test_connection().await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::QuotaExhausted { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("5001 of 5000 daily API requests used"),
        "{err}"
    );
    let usage = sf.api_usage().unwrap();
    assert_eq!((usage.used, usage.max), (5001, 5000));
}

#[tokio::test]
async fn salesforce_a_session_refused_after_its_refresh_is_an_authentication_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("^/services/data/v62.0/limits$"))
        .respond_with(ResponseTemplate::new(401).set_body_string(
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
        ))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "00Dxx!second-access-token",
            "instance_url": server.uri(),
            "id": format!("{}/id/00D5g000004XXXXEAA/0055g00000AbCdEAAB", server.uri()),
            "token_type": "Bearer",
            "issued_at": "1717340711123",
            "signature": "c2ln"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (sf, _env) = connector(&server).await;
    let err = sf.test_connection().await.unwrap_err();
    assert!(err.is_auth_failure(), "{err}");
    assert!(err.to_string().contains("INVALID_SESSION_ID"), "{err}");
    let url: Url = sf.instance_url().clone();
    assert_eq!(url.as_str(), format!("{}/", server.uri()));
}

#[tokio::test]
async fn salesforce_a_connector_is_built_only_from_a_salesforce_connection() {
    let server = MockServer::start().await;
    let (sf, env) = connector(&server).await;
    let other = env
        .connections
        .create(
            &env.access,
            NewConnection::new(
                Provider::HubSpot,
                "not salesforce",
                Credentials::OAuth(OAuthTokens {
                    access_token: SecretString::from("hubspot-access-token"),
                    refresh_token: None,
                    expires_at: None,
                    instance_url: None,
                }),
            )
            .categories([FeatureCategory::Crm])
            .settings(sf.settings().to_map()),
        )
        .await
        .unwrap();
    let client = sf
        .settings()
        .oauth_client(
            AddressPolicy::allow_local(),
            "cid",
            None,
            "https://app.example/cb",
        )
        .unwrap();
    let session = OAuthSession::new(
        env.connections.clone(),
        sf.http().clone(),
        client,
        other.id.clone(),
        Renewal::RefreshToken,
    );
    let err = SalesforceConnector::from_connection(&other, session, sf.http().clone()).unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::InvalidConfig {
                field: "provider",
                ..
            }
        ),
        "{err}"
    );
}
