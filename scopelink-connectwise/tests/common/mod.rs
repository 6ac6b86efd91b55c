//! Shared setup for the wiremock tests: keys, settings, a connector pointed
//! at a mock server, fixtures and a connection environment.
#![allow(dead_code)]

use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings};
use scopelink_core::access::Access;
use scopelink_core::http::{AddressPolicy, HttpConfig, RetryPolicy};
use scopelink_core::secret::{ApiKeyPair, Credentials};
use scopelink_core::{Connection, FeatureCategory, NewConnection, Provider};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const COMPANY_ID: &str = "scopelinkdemo";
pub const PUBLIC_KEY: &str = "pubKEY123";
/// The private key: it must never appear in a snapshot, an error or `Debug`.
pub const PRIVATE_KEY: &str = "Priv-SECRET-9f8e7d";
/// base64("scopelinkdemo+pubKEY123:Priv-SECRET-9f8e7d"), computed outside Rust.
pub const EXPECTED_AUTH: &str = "Basic c2NvcGVsaW5rZGVtbytwdWJLRVkxMjM6UHJpdi1TRUNSRVQtOWY4ZTdk";
pub const AUTH_B64: &str = "c2NvcGVsaW5rZGVtbytwdWJLRVkxMjM6UHJpdi1TRUNSRVQtOWY4ZTdk";
pub const CLIENT_ID: &str = "3f1e9d2a-5b7c-4c11-9a0e-0d2b6c7e8f90";
pub const ACCEPT: &str = "application/vnd.connectwise.com+json; version=2025.1";
/// The API path the mock server serves.
pub const API: &str = "/v2025_1/apis/3.0";

/// A fixture file's text.
#[macro_export]
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../fixtures/connectwise/", $name))
    };
}

/// A fixture parsed as JSON.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// Keys with surrounding whitespace, as users paste them.
pub fn keys() -> ApiKeyPair {
    ApiKeyPair::new(
        &format!(" {COMPANY_ID}\n"),
        &format!("{PUBLIC_KEY} "),
        &format!("\t{PRIVATE_KEY}\r\n"),
    )
}

/// An HTTP config for loopback with fast retries.
pub fn http_config() -> HttpConfig {
    HttpConfig::default()
        .with_timeout(Duration::from_secs(5))
        .with_retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        })
        .with_addresses(AddressPolicy::allow_local())
}

/// Settings for the mock server.
pub fn settings(server: &MockServer) -> ConnectWiseSettings {
    ConnectWiseSettings::new(server.uri(), CLIENT_ID).board_id("31")
}

/// The mock server's API base.
pub fn api_base(server: &MockServer) -> Url {
    Url::parse(&format!("{}{API}", server.uri())).unwrap()
}

/// A connector for the mock server, with a cached API base.
pub fn connector(server: &MockServer) -> ConnectWiseConnector {
    ConnectWiseConnector::with_api_base(api_base(server), settings(server), keys(), http_config())
        .expect("connector builds")
}

/// `GET {API}{p}` answering `body` (only with the right headers).
pub async fn mock_get(server: &MockServer, p: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("{API}{p}")))
        .and(header("Authorization", EXPECTED_AUTH))
        .and(header("clientId", CLIENT_ID))
        .and(header("Accept", ACCEPT))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

/// Panics if `text` holds a credential.
pub fn assert_no_secret(text: &str) {
    assert!(
        !text.contains(PRIVATE_KEY),
        "the private key leaked: {text}"
    );
    assert!(
        !text.contains(AUTH_B64),
        "the Authorization value leaked: {text}"
    );
}

/// The bodies of the requests received with `method_name`, in order, as JSON.
pub async fn bodies(server: &MockServer, method_name: &str) -> Vec<(String, Value)> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == method_name)
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            (r.url.path().to_string(), body)
        })
        .collect()
}

/// A store, a vault and the connection service.
pub use scopelink_testkit::host::MemoryEnv as Env;

/// The ConnectWise connections of a test [`Env`].
#[allow(async_fn_in_trait)]
pub trait EnvExt {
    /// A ConnectWise connection with every category, its settings holding
    /// the mock server's address and API base.
    async fn connection(&self, server: &MockServer) -> Connection;
}

impl EnvExt for Env {
    async fn connection(&self, server: &MockServer) -> Connection {
        let mut map: BTreeMap<String, String> = settings(server).to_map();
        map.insert(
            scopelink_connectwise::API_BASE_SETTING.into(),
            api_base(server).to_string(),
        );
        self.connections
            .create(
                &Access::full(),
                NewConnection::new(
                    Provider::ConnectWiseManage,
                    "ConnectWise (mock)",
                    Credentials::ApiKeyPair(keys()),
                )
                .categories([
                    FeatureCategory::Crm,
                    FeatureCategory::Psa,
                    FeatureCategory::Products,
                ])
                .settings(map),
            )
            .await
            .expect("connection created")
    }
}
