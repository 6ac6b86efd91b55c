//! Echoed credentials (issue 10.5): a provider whose error bodies echo the
//! credentials it was sent (raw, base64, URL-encoded, split into parts,
//! however short) must not get them into errors, the Connection Error
//! reason, the activity log, or the store's files.

use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings};
use scopelink_core::access::Access;
use scopelink_core::connector::Connector;
use scopelink_core::http::{AddressPolicy, HttpConfig, RetryPolicy};
use scopelink_core::secret::{ApiKeyPair, Credentials, InMemoryVault};
use scopelink_core::{
    ConnectionStatus, Connections, FeatureCategory, NewConnection, Provider, Store, SyncEngine,
    SyncRequest,
};
use scopelink_store_sqlite::SqliteStore;
use std::sync::Arc;
use std::time::Duration;
use url::Url;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const COMPANY: &str = "scopelinkdemo";
const CLIENT_ID: &str = "3f1c2a7e-0b9d-4c56-8e21-6a4f9d0b7c13";

fn http() -> HttpConfig {
    HttpConfig::default()
        .with_timeout(Duration::from_secs(10))
        .with_retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        })
        .with_addresses(AddressPolicy::allow_local())
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn percent(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The forms a server may echo the credentials in.
fn echoes(public: &str, private: &str) -> Vec<(&'static str, String)> {
    let pair = format!("{COMPANY}+{public}:{private}");
    vec![
        ("company+public:private", pair.clone()),
        ("the private key alone", private.to_string()),
        ("the Basic value", format!("Basic {}", b64(&pair))),
        ("base64 of the pair", b64(&pair)),
        ("URL-encoded pair", percent(&pair)),
        ("URL-encoded private key", percent(private)),
    ]
}

/// Each echo form, with a private key of ordinary length and one of a few
/// characters: the 401 body holds it, and after a connection test and a
/// sync the error, the Connection Error reason, the activity log and the
/// SQLite files hold none of it.
#[tokio::test]
async fn echoed_credentials_never_reach_reasons_errors_or_the_store() {
    for private in ["Pv7rK2mQ9xWb4tLs", "Zq8#x"] {
        let public = "pubKey0001";
        for (form, echoed) in echoes(public, private) {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
                    "code": "Unauthorized",
                    "message": format!("Authentication failed for {echoed} (check your keys)")
                })))
                .mount(&server)
                .await;
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("scopelink.db");
            let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).await.unwrap());
            let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
            let engine = SyncEngine::new(connections.clone());
            let keys = ApiKeyPair::new(COMPANY, public, private);
            let settings = ConnectWiseSettings::new(server.uri(), CLIENT_ID);
            let conn = connections
                .create(
                    &Access::full(),
                    NewConnection::new(
                        Provider::ConnectWiseManage,
                        "echo",
                        Credentials::ApiKeyPair(keys.clone()),
                    )
                    .categories([FeatureCategory::Crm])
                    .settings(settings.to_map()),
                )
                .await
                .unwrap();
            let cw = ConnectWiseConnector::with_api_base(
                Url::parse(&format!("{}/v2025_1/apis/3.0", server.uri())).unwrap(),
                settings,
                keys,
                http(),
            )
            .unwrap();

            let case = format!("{form} with a {}-character key", private.len());
            let leaks = |what: &str, text: &str| {
                for (name, secret) in [
                    ("private key", private.to_string()),
                    ("echoed form", echoed.clone()),
                ] {
                    assert!(
                        !text.contains(&secret),
                        "{case}: the {name} is in the {what}: {text}"
                    );
                }
            };
            let err = cw.test_connection().await.unwrap_err();
            leaks("test error", &format!("{err} {err:?}"));
            let tested = connections.test(&Access::full(), &conn.id, &cw).await;
            leaks("test result", &format!("{tested:?}"));
            let err = engine
                .run(
                    &Access::full(),
                    &conn.id,
                    &cw,
                    &SyncRequest::default(),
                    None,
                )
                .await
                .unwrap_err();
            leaks("sync error", &format!("{err} {err:?}"));

            let after = connections.get(&Access::full(), &conn.id).await.unwrap();
            let ConnectionStatus::ConnectionError { reason, .. } = &after.status else {
                panic!("{case}: {:?}", after.status);
            };
            assert!(reason.contains("rejected"), "{case}: {reason}");
            assert!(
                reason.contains("***"),
                "{case}: the echo is marked: {reason}"
            );
            leaks("Connection Error reason", reason);
            let activity = store.entries(Some(&conn.id), 1000).await.unwrap();
            leaks("activity log", &format!("{activity:?}"));

            // The store's files (database and write-ahead log).
            drop((connections, engine, store));
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                leaks(
                    &format!("file {}", path.display()),
                    &String::from_utf8_lossy(&bytes),
                );
            }
        }
    }
}
