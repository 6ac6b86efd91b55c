//! Forged ConnectWise callbacks (issue 10.4) must not make the connector
//! send requests an attacker chooses: a callback's `Metadata.key_url` is
//! fetched only when it has the shape of ConnectWise's callback-key URL on
//! a host the connection trusts, keys are cached by their id, fetches of
//! new key ids are rate-limited per connection, and no credential is ever
//! sent to a key URL. Also issue 11.4: the key hosts of the connection's
//! cloud region are accepted, nothing else.

mod fault_support;

use fault_support::*;
use scopelink_connectwise::{ConnectWiseConnector, KEY_FETCHES_PER_WINDOW};
use scopelink_core::connector::WebhookReceiver;
use scopelink_core::http::HttpConfig;
use scopelink_core::webhook::WebhookRequest;
use scopelink_core::WebhookError;
use scopelink_testkit::connectwise::{ConnectWiseSim, ConnectWiseSimConfig};
use serde_json::json;
use std::time::Duration;
use url::Url;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FORGED: usize = 50;
/// A well-formed signature (base64 of 32 bytes) that matches nothing.
const FORGED_SIGNATURE: &str = "aoUIJCM1Me+TcgXgFGWSmpmsA+jN2N/ow3Ssq83SwU4=";

fn forged(company: &str, key_url: &str, n: usize) -> WebhookRequest {
    let body = json!({
        "MessageId": format!("0c5a7e3b-8d21-4f6e-9b1a-{n:012x}"),
        "FromUrl": "api-na.myconnectwise.net",
        "CompanyId": company,
        "Action": "deleted", "Type": "company", "ID": 250, "Entity": null,
        "Metadata": {"key_url": key_url}
    });
    WebhookRequest {
        headers: vec![("x-content-signature".into(), FORGED_SIGNATURE.into())],
        body: serde_json::to_vec(&body).unwrap(),
        url: None,
    }
}

async fn sim_and_connector() -> (ConnectWiseSim, ConnectWiseConnector) {
    let sim = ConnectWiseSim::start(ConnectWiseSimConfig::new(2, 0)).await;
    let cw = cw_connector(&sim, sim.server_url(), 100, http(Duration::from_secs(10)));
    sim.clear_requests();
    (sim, cw)
}

/// Key URLs on the connection's own host but with paths and query strings
/// the attacker chose are refused without any request.
#[tokio::test]
async fn forged_callbacks_send_no_request_to_paths_the_attacker_chose() {
    let (sim, cw) = sim_and_connector().await;
    let base = sim.server_url().trim_end_matches('/').to_string();
    let company = sim.company_id().to_string();
    let codebase = sim.codebase().trim_end_matches('/').to_string();
    let shapes = [
        format!("{base}/{codebase}/apis/3.0/company/companies"),
        format!("{base}/{codebase}/apis/3.0/system/members?pageSize=1000"),
        format!("{base}/login/companyinfo/{company}"),
        format!("{base}/{codebase}//system/callbackkey/index.rails?companyName={company}&id=k1&redirect=x"),
        format!("{base}/{codebase}//system/callbackkey/index.rails/../../apis/3.0/company/companies?companyName={company}&id=k1"),
        format!("{base}/{codebase}//system/callbackkey/other.rails?companyName={company}&id=k1"),
        format!("{base}/a/b/system/callbackkey/index.rails?companyName={company}&id=k1"),
        format!("{base}/{codebase}//system/callbackkey/index.rails?companyName={company}"),
        format!("{base}/{codebase}//system/callbackkey/index.rails?companyName={company}&id=../../x"),
        format!("{base}/{codebase}//system/callbackkey/index.rails?companyName={company}&id=k1#frag"),
    ];
    let mut refused = 0;
    for n in 0..FORGED {
        let shape = &shapes[n % shapes.len()];
        let sep = if shape.contains('?') { '&' } else { '?' };
        let key_url = format!("{shape}{sep}n={n}");
        match cw.receive(&forged(&company, &key_url, n)).await {
            Err(WebhookError::Malformed(_)) => refused += 1,
            other => panic!("{key_url}: {other:?}"),
        }
    }
    assert_eq!(refused, FORGED);
    assert_eq!(
        sim.requests(),
        Vec::<(String, String)>::new(),
        "no request sent"
    );
    assert_eq!(cw.http().requests_sent(), 0);
}

/// Well-shaped key URLs naming new key ids: the connector fetches a few,
/// then refuses without a request until the window has passed. The budget
/// is the connection's, not the connector instance's: a host that builds
/// a connector for each incoming callback gets the same limit.
#[tokio::test]
async fn forged_callbacks_naming_new_key_ids_are_rate_limited() {
    let (sim, cw) = sim_and_connector().await;
    let base = sim.server_url().trim_end_matches('/').to_string();
    let company = sim.company_id().to_string();
    let codebase = sim.codebase().trim_end_matches('/').to_string();
    let mut limited = 0;
    for n in 0..FORGED {
        let key_url = format!(
            "{base}/{codebase}//system/callbackkey/index.rails?companyName={company}&id=6e1b0f7a-2c9d-4a83-b5e4-{n:012x}"
        );
        match cw.receive(&forged(&company, &key_url, n)).await {
            Err(WebhookError::TooManyKeyFetches {
                retry_after_seconds,
            }) => {
                assert!((1..=60).contains(&retry_after_seconds));
                limited += 1;
            }
            Err(WebhookError::KeyFetch(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    let sent = sim.request_count();
    assert_eq!(
        sent, KEY_FETCHES_PER_WINDOW,
        "{sent} key fetches for {FORGED} forged callbacks"
    );
    assert_eq!(limited, FORGED - KEY_FETCHES_PER_WINDOW);
    // A key id ConnectWise said it does not have is not asked again.
    let first = format!(
        "{base}/{codebase}//system/callbackkey/index.rails?companyName={company}&id=6e1b0f7a-2c9d-4a83-b5e4-{:012x}",
        0
    );
    assert!(matches!(
        cw.receive(&forged(&company, &first, 0)).await,
        Err(WebhookError::KeyFetch(_))
    ));
    assert_eq!(sim.request_count(), sent);
}

/// Forged callbacks naming the real key URL: the key was fetched once for a
/// genuine callback and is reused from the cache (by key id), so forgeries
/// cost no request.
#[tokio::test]
async fn forged_callbacks_naming_the_real_key_reuse_the_cached_key() {
    let (sim, cw) = sim_and_connector().await;
    let (headers, body) = sim.callback_request("updated", "company", 250);
    cw.receive(&WebhookRequest {
        headers,
        body,
        url: None,
    })
    .await
    .expect("a genuine callback");
    assert_eq!(sim.request_count(), 1, "the key fetched once");
    let company = sim.company_id().to_string();
    for n in 0..FORGED {
        let err = cw
            .receive(&forged(&company, &sim.key_url(), n))
            .await
            .unwrap_err();
        assert_eq!(err, WebhookError::BadSignature);
    }
    assert_eq!(sim.request_count(), 1, "no more requests");
}

/// A key URL that answers 401 gets no credentials: ConnectWise serves keys
/// without authentication, and a host that asks is not given the API keys.
#[tokio::test]
async fn a_key_url_answering_401_is_not_sent_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex("/system/callbackkey/index.rails$"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "code": "Unauthorized", "message": "Authentication required"
        })))
        .mount(&server)
        .await;
    let cw = ConnectWiseConnector::with_api_base(
        Url::parse(&format!("{}/v2025_1/apis/3.0", server.uri())).unwrap(),
        scopelink_connectwise::ConnectWiseSettings::new(
            server.uri(),
            "3f1c2a7e-0b9d-4c56-8e21-6a4f9d0b7c13",
        ),
        scopelink_core::secret::ApiKeyPair::new("scopelinkdemo", "pubkey0001", "privkey-hunter2"),
        http(Duration::from_secs(10)),
    )
    .unwrap();
    let key_url = format!(
        "{}/v2025_1//system/callbackkey/index.rails?companyName=scopelinkdemo&id=6e1b0f7a-2c9d-4a83-b5e4-91d2c3f07a58",
        server.uri()
    );
    for n in 0..FORGED {
        assert!(cw
            .receive(&forged("scopelinkdemo", &key_url, n))
            .await
            .is_err());
    }
    let requests = server.received_requests().await.unwrap();
    assert!(
        !requests.is_empty() && requests.len() <= 5,
        "{}",
        requests.len()
    );
    for r in &requests {
        assert!(!r.headers.contains_key("authorization"), "{:?}", r.headers);
    }
}

/// Issue 11.4: a cloud connection accepts the key hosts of its own region
/// (`na`, `api-na`, `sandbox-na` under myconnectwise.net) and refuses
/// every other host without a request; an on-premise connection accepts
/// only its own hosts.
#[tokio::test]
async fn callback_key_hosts_are_those_of_the_connections_region() {
    let cloud = ConnectWiseConnector::with_api_base(
        Url::parse("https://api-na.myconnectwise.net/v2025_1/apis/3.0").unwrap(),
        scopelink_connectwise::ConnectWiseSettings::new(
            "na.myconnectwise.net",
            "3f1c2a7e-0b9d-4c56-8e21-6a4f9d0b7c13",
        ),
        scopelink_core::secret::ApiKeyPair::new("scopelinkdemo", "pubkey0001", "privkey-hunter2"),
        HttpConfig::default(),
    )
    .unwrap();
    let path = "/v2025_1//system/callbackkey/index.rails?companyName=scopelinkdemo&id=e17e6674-42f6-4105-9cff-4cd6cb4e62e8";
    for host in ["na", "api-na", "sandbox-na", "SANDBOX-NA"] {
        let key_url = format!("https://{host}.myconnectwise.net{path}");
        let url = cloud
            .signing_key_url(&key_url)
            .unwrap_or_else(|e| panic!("{key_url}: {e}"));
        assert_eq!(
            url.host_str(),
            Some(format!("{}.myconnectwise.net", host.to_ascii_lowercase()).as_str())
        );
    }
    for key_url in [
        format!("https://api-eu.myconnectwise.net{path}"),
        format!("https://sandbox-au.myconnectwise.net{path}"),
        format!("https://staging-na.myconnectwise.net{path}"),
        format!("https://evil-na.myconnectwise.net{path}"),
        format!("https://api-na.myconnectwise.net.evil.example{path}"),
        format!("https://na.myconnectwise.net:8443{path}"),
        format!("http://sandbox-na.myconnectwise.net{path}"),
        format!("https://user@sandbox-na.myconnectwise.net{path}"),
        format!("https://myconnectwise.net{path}"),
    ] {
        let err = cloud.signing_key_url(&key_url).unwrap_err();
        assert!(
            matches!(err, WebhookError::ForeignHost { .. }),
            "{key_url}: {err:?}"
        );
    }

    let on_premise = ConnectWiseConnector::with_api_base(
        Url::parse("https://cw.acme.example/v4_6_release/apis/3.0").unwrap(),
        scopelink_connectwise::ConnectWiseSettings::new(
            "https://cw.acme.example",
            "3f1c2a7e-0b9d-4c56-8e21-6a4f9d0b7c13",
        ),
        scopelink_core::secret::ApiKeyPair::new("scopelinkdemo", "pubkey0001", "privkey-hunter2"),
        HttpConfig::default(),
    )
    .unwrap();
    let ok = "https://cw.acme.example/v4_6_release//system/callbackkey/index.rails?companyName=scopelinkdemo&id=e17e6674";
    assert!(on_premise.signing_key_url(ok).is_ok());
    for key_url in [
        format!("https://na.myconnectwise.net{path}"),
        format!("https://api.cw.acme.example{path}"),
        format!("https://acme.example{path}"),
    ] {
        let err = on_premise.signing_key_url(&key_url).unwrap_err();
        assert!(
            matches!(err, WebhookError::ForeignHost { .. }),
            "{key_url}: {err:?}"
        );
    }
    assert_eq!(
        cloud.http().requests_sent() + on_premise.http().requests_sent(),
        0
    );
}
