//! SSRF: user-entered host URLs, host names resolving to refused addresses,
//! redirects to refused addresses and webhook key URLs pointing away from
//! the connection's host are refused with typed errors, through the core
//! validator and through each connector's own settings entry point
//! (ConnectWise `server_url`, HaloPSA `host`).
//!
//! No test sends traffic anywhere but 127.0.0.1: refused targets are
//! refused before a connection is opened.

use scopelink_connectwise::{normalize_server_url, ConnectWiseConnector, ConnectWiseSettings};
use scopelink_core::connector::{Connector, CrmSource, StreamRequest, WebhookReceiver};
use scopelink_core::http::{validate_url, AddressPolicy, HttpConfig, RetryPolicy};
use scopelink_core::model::DataType;
use scopelink_core::secret::{ApiKeyPair, ClientCredentials};
use scopelink_core::webhook::WebhookRequest;
use scopelink_core::{ConnectorError, HttpError, WebhookError};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings};
use serde_json::json;
use std::time::Duration;
use url::Url;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Refused hosts typed by users, and the kind of error each must give under
/// the default (public-only) policy.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// `InsecureScheme`.
    Scheme,
    /// `ForbiddenAddress`.
    Address,
    /// `InvalidUrl` (does not even parse as a usable URL).
    Invalid,
}

const REFUSED: &[(&str, Want)] = &[
    // Schemes.
    ("http://example.com/", Want::Scheme),
    ("file:///etc/passwd", Want::Scheme),
    ("ftp://example.com/", Want::Scheme),
    ("gopher://example.com:70/_x", Want::Scheme),
    ("ws://example.com/", Want::Scheme),
    ("javascript:alert(1)", Want::Scheme),
    ("data:text/plain,hello", Want::Scheme),
    // Loopback, unspecified, link-local / cloud metadata, private ranges.
    ("https://127.0.0.1/", Want::Address),
    ("https://127.8.9.10:8443/", Want::Address),
    ("https://[::1]/", Want::Address),
    ("https://0.0.0.0/", Want::Address),
    ("https://[::]/", Want::Address),
    ("https://169.254.169.254/latest/meta-data/", Want::Address),
    ("https://10.0.0.1/", Want::Address),
    ("https://172.16.0.1/", Want::Address),
    ("https://172.31.255.255/", Want::Address),
    ("https://192.168.1.1/", Want::Address),
    ("https://100.64.0.1/", Want::Address),
    ("https://[fe80::1]/", Want::Address),
    ("https://[fd00::1]/", Want::Address),
    // IPv4 embedded in IPv6.
    ("https://[::ffff:127.0.0.1]/", Want::Address),
    ("https://[::ffff:169.254.169.254]/", Want::Address),
    ("https://[::ffff:10.0.0.1]/", Want::Address),
    ("https://[0:0:0:0:0:ffff:7f00:1]/", Want::Address),
    ("https://[64:ff9b::a9fe:a9fe]/", Want::Address),
    ("https://[2002:a9fe:a9fe::]/", Want::Address),
    // Decimal, hex, octal and short IPv4 forms (the URL parser normalizes
    // them to the dotted address, which is then refused).
    ("https://2130706433/", Want::Address),
    ("https://0x7f000001/", Want::Address),
    ("https://0x7f.0.0.1/", Want::Address),
    ("https://0177.0.0.1/", Want::Address),
    ("https://127.1/", Want::Address),
    ("https://0/", Want::Address),
    ("https://2852039166/", Want::Address),
    ("https://0xa9fea9fe/", Want::Address),
    ("https://169.254.169.254./", Want::Address),
    ("https://017700000001/", Want::Address),
    // Not usable at all.
    ("https://user:pw@example.com/", Want::Invalid),
    ("https://[fe80::1%25eth0]/", Want::Invalid),
    ("https://", Want::Invalid),
];

fn check(err: &HttpError, want: Want, input: &str) {
    let ok = match want {
        Want::Scheme => matches!(err, HttpError::InsecureScheme { .. }),
        Want::Address => matches!(err, HttpError::ForbiddenAddress { .. }),
        Want::Invalid => matches!(err, HttpError::InvalidUrl { .. }),
    };
    assert!(ok, "{input}: expected {want:?}, got {err:?}");
}

#[test]
fn core_validator_refuses_every_case() {
    for (input, want) in REFUSED {
        let err = validate_url(input, AddressPolicy::public_only())
            .expect_err(&format!("{input} must be refused"));
        check(&err, *want, input);
    }
    // The loopback opt-in for simulators still refuses everything but
    // loopback (and plain http).
    for (input, want) in REFUSED {
        let allowed_with_local = input.contains("127.")
            || input.contains("[::1]")
            || input.contains("7f00:1")
            || input.contains("2130706433")
            || input.contains("0x7f")
            || input.contains("0177")
            || input.contains("017700000001")
            || input.starts_with("http://");
        let result = validate_url(input, AddressPolicy::allow_local());
        if allowed_with_local {
            assert!(result.is_ok(), "{input}: {result:?}");
        } else {
            let err = result.expect_err(input);
            check(&err, *want, input);
        }
    }
}

fn cw_settings(server_url: &str) -> ConnectWiseSettings {
    ConnectWiseSettings::new(server_url, "3f1e9d2a-5b7c-4c11-9a0e-0d2b6c7e8f90")
}

fn cw_keys() -> ApiKeyPair {
    ApiKeyPair::new("scopelinkdemo", "pubKEY123", "Priv-SECRET-9f8e7d")
}

fn fast(policy: AddressPolicy) -> HttpConfig {
    HttpConfig::default()
        .with_timeout(Duration::from_secs(5))
        .with_retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
        })
        .with_addresses(policy)
}

fn assert_config_error(err: &ConnectorError, field: &str, context: &str) {
    match err {
        ConnectorError::InvalidConfig { field: f, message } => {
            assert_eq!(*f, field, "{context}: {message}");
            assert!(
                message.contains("refused") || message.contains("not a valid URL"),
                "{context}: the message should say why: {message}"
            );
        }
        other => panic!("{context}: expected InvalidConfig({field}), got {other:?}"),
    }
}

#[tokio::test]
async fn connectwise_server_url_refuses_every_case() {
    for (input, _) in REFUSED {
        let err = normalize_server_url(input, AddressPolicy::public_only()).unwrap_err();
        assert_config_error(&err, "server_url", input);
        // The connect entry point refuses before sending anything (the
        // address is literal, or the scheme is wrong).
        let err =
            ConnectWiseConnector::connect(cw_settings(input), cw_keys(), HttpConfig::default())
                .await
                .unwrap_err();
        assert_config_error(&err, "server_url", input);
    }
    // A cached API base is checked the same way.
    for (input, _) in REFUSED {
        let Ok(url) = Url::parse(input) else { continue };
        let err = ConnectWiseConnector::with_api_base(
            url,
            cw_settings("na.myconnectwise.net"),
            cw_keys(),
            HttpConfig::default(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConnectorError::InvalidConfig {
                    field: "api_base",
                    ..
                }
            ),
            "{input}: {err:?}"
        );
    }
}

#[tokio::test]
async fn halopsa_host_refuses_every_case() {
    for (input, _) in REFUSED {
        let err = HaloPsaConnector::new(
            HaloPsaSettings::new(*input),
            ClientCredentials::new("client", "halo-secret"),
            HttpConfig::default(),
        )
        .unwrap_err();
        assert_config_error(&err, "host", input);
    }
}

/// Host names are checked when they are resolved: `localhost` (and the
/// same with a trailing dot, or upper case) resolves to loopback only.
#[tokio::test]
async fn host_names_resolving_to_loopback_are_refused() {
    for host in ["localhost", "LOCALHOST"] {
        // ConnectWise: discovery is the first request.
        let err = ConnectWiseConnector::connect(
            cw_settings(&format!("https://{host}:1")),
            cw_keys(),
            fast(AddressPolicy::public_only()),
        )
        .await
        .unwrap_err();
        assert_config_error(&err, "server_url", host);

        // ConnectWise with a cached API base: the test call.
        let cw = ConnectWiseConnector::with_api_base(
            Url::parse(&format!("https://{host}:1/v2025_1/apis/3.0")).unwrap(),
            cw_settings(&format!("https://{host}:1")),
            cw_keys(),
            fast(AddressPolicy::public_only()),
        )
        .expect("a host name passes the literal check");
        let err = cw.test_connection().await.unwrap_err();
        assert_config_error(&err, "server_url", host);
        // ... and a sync page.
        let mut stream = cw.stream(StreamRequest {
            data_type: DataType::Companies,
            filter: Default::default(),
            since: None,
            resume_from: None,
        });
        let err = futures::StreamExt::next(&mut stream)
            .await
            .expect("one item")
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConnectorError::Http(HttpError::ForbiddenAddress { .. })
            ),
            "{host}: {err:?}"
        );
        assert_eq!(cw.http().requests_sent(), 2, "refusals are not retried");

        // HaloPSA: the host is accepted as a name; the first request fails.
        let halo = HaloPsaConnector::new(
            HaloPsaSettings::new(format!("https://{host}:1")),
            ClientCredentials::new("client", "halo-secret"),
            fast(AddressPolicy::public_only()),
        )
        .expect("a host name passes the literal check");
        let err = halo.test_connection().await.unwrap_err();
        assert_config_error(&err, "host", host);
        let mut tenant = HaloPsaSettings::new(format!("https://{host}:1"));
        tenant.tenant = Some("acme".into());
        let halo = HaloPsaConnector::new(
            tenant,
            ClientCredentials::new("client", "halo-secret"),
            fast(AddressPolicy::public_only()),
        )
        .unwrap();
        let err = halo.test_connection().await.unwrap_err();
        assert_config_error(&err, "host", host);
    }
}

/// Redirect targets the first hop may not follow.
const REDIRECT_TARGETS: &[(&str, &str)] = &[
    (
        "http://169.254.169.254/latest/meta-data/",
        "169.254.169.254",
    ),
    ("https://10.0.0.1/", "10.0.0.1"),
    ("https://172.16.0.1/", "172.16.0.1"),
    ("https://192.168.1.1/x", "192.168.1.1"),
    ("http://[::ffff:169.254.169.254]/", "[::ffff:a9fe:a9fe]"),
    ("http://0.0.0.0:9000/", "0.0.0.0"),
    ("http://2852039166/", "169.254.169.254"),
    ("file:///etc/passwd", ""),
    ("ftp://example.com/", ""),
];

fn redirect_to(target: &str) -> ResponseTemplate {
    ResponseTemplate::new(302).insert_header("Location", target)
}

fn assert_refused_redirect(err: &ConnectorError, field: Option<&str>, host: &str, ctx: &str) {
    let text = err.to_string();
    match (field, err) {
        (Some(f), ConnectorError::InvalidConfig { field, .. }) => assert_eq!(*field, f, "{ctx}"),
        (None, ConnectorError::Http(HttpError::ForbiddenAddress { .. }))
        | (None, ConnectorError::Http(HttpError::InsecureScheme { .. })) => {}
        _ => panic!("{ctx}: unexpected {err:?}"),
    }
    assert!(
        text.contains("refused"),
        "{ctx}: the error should say the target is refused: {text}"
    );
    if !host.is_empty() {
        assert!(text.contains(host), "{ctx}: {text} should name {host}");
    }
}

/// The first hop is a loopback mock server (allowed by `allow_local`); the
/// redirect goes to a private, link-local or non-http target.
#[tokio::test]
async fn redirects_to_refused_targets_are_not_followed() {
    for (target, host) in REDIRECT_TARGETS {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path_regex("^/login/companyinfo/"))
            .respond_with(redirect_to(target))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("^/v2025_1/apis/3.0/"))
            .respond_with(redirect_to(target))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/authinfo"))
            .respond_with(redirect_to(target))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/auth/token"))
            .respond_with(ResponseTemplate::new(307).insert_header("Location", *target))
            .mount(&server)
            .await;

        // ConnectWise discovery (the server_url entry point).
        let err = ConnectWiseConnector::connect(
            cw_settings(&server.uri()),
            cw_keys(),
            fast(AddressPolicy::allow_local()),
        )
        .await
        .unwrap_err();
        assert_refused_redirect(&err, Some("server_url"), host, target);

        // ConnectWise API calls: test connection and a sync page.
        let cw = ConnectWiseConnector::with_api_base(
            Url::parse(&format!("{}/v2025_1/apis/3.0", server.uri())).unwrap(),
            cw_settings(&server.uri()),
            cw_keys(),
            fast(AddressPolicy::allow_local()),
        )
        .unwrap();
        let err = cw.test_connection().await.unwrap_err();
        assert_refused_redirect(&err, Some("server_url"), host, target);
        let mut stream = cw.stream(StreamRequest {
            data_type: DataType::Contacts,
            filter: Default::default(),
            since: None,
            resume_from: None,
        });
        let err = futures::StreamExt::next(&mut stream)
            .await
            .unwrap()
            .unwrap_err();
        assert_refused_redirect(&err, None, host, target);

        // HaloPSA discovery, then the token request.
        let halo = HaloPsaConnector::new(
            HaloPsaSettings::new(server.uri()),
            ClientCredentials::new("client", "halo-secret"),
            fast(AddressPolicy::allow_local()),
        )
        .unwrap();
        let err = halo.test_connection().await.unwrap_err();
        assert_refused_redirect(&err, Some("host"), host, target);
        let mut with_tenant = HaloPsaSettings::new(server.uri());
        with_tenant.tenant = Some("acme".into());
        let halo = HaloPsaConnector::new(
            with_tenant,
            ClientCredentials::new("client", "halo-secret"),
            fast(AddressPolicy::allow_local()),
        )
        .unwrap();
        let err = halo.test_connection().await.unwrap_err();
        assert_refused_redirect(&err, Some("host"), host, target);
    }
}

/// ConnectWise's company info names no API host (Developer Guide); a host it
/// carries anyway (private or foreign) is never followed: the API base is
/// derived from the address the user typed, so the keys stay there.
#[tokio::test]
async fn a_host_in_company_info_is_never_followed() {
    for site in [
        "169.254.169.254",
        "10.0.0.1",
        "[::ffff:192.168.1.1]",
        "2852039166",
        "evil.example",
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path_regex("^/login/companyinfo/"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "CompanyName": "Demo", "Codebase": "v2025_1/", "VersionCode": "v2025.1",
                "CompanyID": "scopelinkdemo", "IsCloud": false, "SiteUrl": site
            })))
            .mount(&server)
            .await;
        let cw = ConnectWiseConnector::connect(
            cw_settings(&server.uri()),
            cw_keys(),
            fast(AddressPolicy::allow_local()),
        )
        .await
        .expect("discovered");
        assert_eq!(
            cw.api_base().as_str(),
            format!("{}/v2025_1/apis/3.0", server.uri()),
            "{site}"
        );
        // Only the discovery request was made, to the typed host.
        assert_eq!(server.received_requests().await.unwrap().len(), 1, "{site}");
    }
}

/// HaloPSA's `/api/authinfo` names the token endpoint; one off the host is
/// ignored, so the client secret only goes to the host the user entered.
#[tokio::test]
async fn a_halopsa_auth_url_off_the_host_is_ignored() {
    for auth_url in [
        "http://169.254.169.254/auth",
        "https://evil.example/auth",
        "http://127.0.0.1:1/auth",
        "file:///etc/auth",
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/authinfo"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"auth_url": auth_url, "tenant_id": "acme"})),
            )
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/auth/token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": "tok-ssrf", "expires_in": 3600})),
            )
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/Agent/me"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1, "name": "API"})))
            .mount(&server)
            .await;
        let halo = HaloPsaConnector::new(
            HaloPsaSettings::new(server.uri()),
            ClientCredentials::new("client", "halo-secret"),
            fast(AddressPolicy::allow_local()),
        )
        .unwrap();
        halo.test_connection()
            .await
            .unwrap_or_else(|e| panic!("{auth_url}: {e}"));
        server.verify().await;
    }
}

fn cw_on(server: &MockServer) -> ConnectWiseConnector {
    ConnectWiseConnector::with_api_base(
        Url::parse(&format!("{}/v2025_1/apis/3.0", server.uri())).unwrap(),
        cw_settings(&server.uri()),
        cw_keys(),
        fast(AddressPolicy::allow_local()),
    )
    .unwrap()
}

fn callback(key_url: &str) -> WebhookRequest {
    let body = json!({
        "MessageId": "0c5a7e3b", "FromUrl": "127.0.0.1", "CompanyId": "scopelinkdemo",
        "Action": "updated", "Type": "company", "ID": 251,
        "Entity": "{\"id\":251,\"name\":\"Acme\"}",
        "Metadata": {"key_url": key_url}
    });
    WebhookRequest {
        headers: vec![(
            "x-content-signature".into(),
            "aoUIJCM1Me+TcgXgFGWSmpmsA+jN2N/ow3Ssq83SwU4=".into(),
        )],
        body: serde_json::to_vec(&body).unwrap(),
        url: None,
    }
}

/// A callback's `Metadata.key_url` must be on the connection's own host
/// (same scheme, host and port); anything else is refused before the
/// connector fetches it.
#[tokio::test]
async fn webhook_key_urls_off_the_connection_host_are_refused() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"signing_key": "never-fetched"})),
        )
        .mount(&server)
        .await;
    let cw = cw_on(&server);
    let port = server.address().port();
    let other_port = if port == 65535 { 1 } else { port + 1 };
    let key_path = "/v2025_1//system/callbackkey/index.rails?companyName=scopelinkdemo&id=1";
    let foreign = [
        format!("https://evil.example{key_path}"),
        format!("http://evil.example{key_path}"),
        format!("https://127.0.0.1:{port}{key_path}"),
        format!("http://127.0.0.1:{other_port}{key_path}"),
        format!("http://localhost:{port}{key_path}"),
        format!("http://[::1]:{port}{key_path}"),
        format!("http://169.254.169.254{key_path}"),
        format!("http://10.0.0.1{key_path}"),
        format!("http://2852039166:{port}{key_path}"),
        format!("http://user:pw@127.0.0.1:{port}{key_path}"),
        "file:///etc/passwd".to_string(),
        "ftp://127.0.0.1/key".to_string(),
    ];
    for key_url in &foreign {
        let err = cw.receive(&callback(key_url)).await.unwrap_err();
        assert!(
            matches!(err, WebhookError::ForeignHost { .. }),
            "{key_url}: {err:?}"
        );
    }
    for key_url in ["//evil.example/key", "not a url", ""] {
        let err = cw.receive(&callback(key_url)).await.unwrap_err();
        assert!(
            matches!(err, WebhookError::Malformed(_)),
            "{key_url:?}: {err:?}"
        );
    }
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "no signing key was fetched"
    );

    // With the production policy, a key URL naming a public look-alike host
    // or an address is refused the same way, without any network access.
    let cloud = ConnectWiseConnector::with_api_base(
        Url::parse("https://api-na.myconnectwise.net/v2025_1/apis/3.0").unwrap(),
        cw_settings("na.myconnectwise.net"),
        cw_keys(),
        HttpConfig::default(),
    )
    .unwrap();
    for key_url in [
        "https://api-na.myconnectwise.net.evil.example/v2025_1//system/callbackkey/index.rails",
        "https://evil.example/api-na.myconnectwise.net/key",
        "http://api-na.myconnectwise.net/v2025_1//system/callbackkey/index.rails",
        "https://api-na.myconnectwise.net:8443/key",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:169.254.169.254]/key",
        "https://api-eu.myconnectwise.net/v2025_1//system/callbackkey/index.rails",
    ] {
        let err = cloud.receive(&callback(key_url)).await.unwrap_err();
        assert!(
            matches!(err, WebhookError::ForeignHost { .. }),
            "{key_url}: {err:?}"
        );
    }
    assert_eq!(cloud.http().requests_sent(), 0);
}
