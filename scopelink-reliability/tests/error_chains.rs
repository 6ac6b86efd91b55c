//! Error chains show each cause once (issue 13).
//!
//! A cause is either in an error's message or in its `source()`, never
//! both. Each test here produces real errors of the core, ConnectWise,
//! HaloPSA and the SQLite store (a refused sync, a rejected secret, an
//! unreachable host, a file that is no database, ...), walks each chain and
//! checks that no message repeats a later cause's text, and that
//! [`chain`] shows every cause (and no secret).

use chrono::Utc;
use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings};
use scopelink_core::connector::{Connector, CrmSource};
use scopelink_core::error::chain;
use scopelink_core::filter::SyncFilter;
use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig, Method, Request, RetryPolicy};
use scopelink_core::secret::{ApiKeyPair, ClientCredentials, CredentialRef, InMemoryVault};
use scopelink_core::store::ConnectionStore;
use scopelink_core::{
    Access, Connection, ConnectionId, Connections, Error, FeatureCategory, MemoryStore, Provider,
    SyncEngine, SyncError, SyncRequest,
};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings};
use scopelink_store_sqlite::SqliteStore;
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use scopelink_testkit::halopsa::HaloPsaSim;
use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

fn http() -> HttpConfig {
    HttpConfig::default()
        .with_addresses(AddressPolicy::allow_local())
        .with_timeout(Duration::from_secs(10))
        .with_retry(RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
        })
}

/// The messages of `e`'s chain, outermost first.
fn messages(e: &(dyn StdError + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = Some(e);
    while let Some(err) = current {
        out.push(err.to_string());
        current = err.source();
    }
    out
}

/// Checks that no message of `e`'s chain holds the text of a cause below
/// it, that the chain is as deep as `depth`, and that [`chain`] shows each
/// message once and holds none of `secrets`. Returns the printed chain.
fn check(what: &str, e: &(dyn StdError + 'static), depth: usize, secrets: &[&str]) -> String {
    let messages = messages(e);
    assert!(
        messages.len() >= depth,
        "{what}: expected a chain of at least {depth}, got {messages:#?}"
    );
    for (i, outer) in messages.iter().enumerate() {
        assert!(
            !outer.is_empty(),
            "{what}: an empty message in {messages:#?}"
        );
        for inner in &messages[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "{what}: `{outer}` repeats its cause `{inner}`"
            );
        }
    }
    let printed = chain(e);
    for m in &messages {
        assert_eq!(printed.matches(m.as_str()).count(), 1, "{what}: {printed}");
    }
    for secret in secrets {
        assert!(!printed.contains(secret), "{what}: a secret in {printed}");
    }
    printed
}

/// A Connected CRM connection in `store`.
async fn connection(store: &MemoryStore, provider: Provider) -> ConnectionId {
    let now = Utc::now();
    let mut conn = Connection::new(
        ConnectionId::generate(),
        provider,
        "chains",
        [FeatureCategory::Crm].into(),
        CredentialRef("chains/credentials".into()),
        now,
    )
    .unwrap();
    conn.record_test(Ok(()), now).unwrap();
    store.save_connection(&conn).await.unwrap();
    conn.id
}

#[tokio::test]
async fn a_failed_connectwise_sync_shows_the_provider_answer_once() {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(5, 1)).await;
    let settings = ConnectWiseSettings::from_map(&BTreeMap::from([
        ("server_url".to_string(), sim.server_url().to_string()),
        ("client_id".to_string(), sim.client_id().to_string()),
    ]))
    .unwrap();
    let cw = ConnectWiseConnector::connect(
        settings,
        ApiKeyPair::new(sim.company_id(), sim.public_key(), sim.private_key()),
        http(),
    )
    .await
    .unwrap();
    let store = Arc::new(MemoryStore::new());
    let id = connection(&store, Provider::ConnectWiseManage).await;
    let engine = SyncEngine::new(Connections::new(
        store.clone(),
        Arc::new(InMemoryVault::new()),
    ));
    sim.fail_next(1, 400);
    let err = engine
        .run(&Access::full(), &id, &cw, &SyncRequest::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, SyncError::Connector { .. }), "{err:?}");
    // The data type, then the provider's refusal with its message.
    let printed = check("sync error", &err, 2, &[sim.private_key()]);
    assert!(printed.starts_with("companies sync failed: "), "{printed}");
    assert!(
        printed.contains("the provider rejected the request"),
        "{printed}"
    );

    // Wrapped in the crate's umbrella error, the chain is the same.
    let wrapped = Error::Sync(err);
    assert_eq!(chain(&wrapped), printed);
    check("umbrella error", &wrapped, 2, &[sim.private_key()]);
}

#[tokio::test]
async fn halopsa_rejected_secret_and_refused_filter() {
    let sim = HaloPsaSim::start_default().await;
    let wrong = HaloPsaConnector::new(
        HaloPsaSettings::new(sim.uri()),
        ClientCredentials::new("sim-client", "not-the-secret-42"),
        http(),
    )
    .unwrap();
    let err = wrong.test_connection().await.unwrap_err();
    check("rejected secret", &err, 1, &["not-the-secret-42"]);

    let halo = HaloPsaConnector::new(
        HaloPsaSettings::new(sim.uri()),
        ClientCredentials::new("sim-client", "sim-secret"),
        http(),
    )
    .unwrap();
    let mut filter = SyncFilter::default();
    filter
        .company_types
        .insert(scopelink_core::filter::FilterOption::new("x", "Customers"));
    let err = halo.preview(&filter).await.unwrap_err();
    let printed = check("refused filter", &err, 1, &["sim-secret"]);
    assert!(printed.contains("company_types"), "{printed}");
}

#[tokio::test]
async fn transport_failures_name_the_host_once() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = HttpClient::new(http()).unwrap();
    let url = client
        .validate_url(&format!("http://127.0.0.1:{port}/api/ping"))
        .unwrap();
    let err = client
        .send(Request::new(Method::GET, url))
        .await
        .unwrap_err();
    let printed = check("connection refused", &err, 1, &[]);
    assert!(printed.contains("127.0.0.1"), "{printed}");

    let refused = HttpClient::new(HttpConfig::default())
        .unwrap()
        .validate_url("https://10.1.2.3/api")
        .unwrap_err();
    check("refused address", &refused, 1, &[]);
}

#[tokio::test]
async fn a_file_that_is_no_database_is_refused_with_one_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(
        &path,
        b"these are not the pages of a database, just some text",
    )
    .unwrap();
    let err = SqliteStore::open(&path).await.unwrap_err();
    let printed = check("not a database", &err, 1, &[]);
    assert!(printed.contains("notes.db"), "{printed}");
}

#[tokio::test]
async fn a_sqlite_failure_is_the_typed_source_of_the_store_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scopelink.db");
    let store = SqliteStore::open(&path).await.unwrap();
    // Another program breaks the schema under the open store.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("DROP TABLE connections;")
        .unwrap();
    let err = store
        .connection(&ConnectionId("conn-1".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, scopelink_core::StoreError::Database { .. }),
        "{err:?}"
    );
    let cause = err.source().expect("the SQLite error is the source");
    assert!(
        cause.downcast_ref::<Arc<rusqlite::Error>>().is_some(),
        "the source is rusqlite's error: {cause:?}"
    );
    let printed = check("sqlite failure", &err, 2, &[]);
    assert!(printed.contains("no such table"), "{printed}");
}
