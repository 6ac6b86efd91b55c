//! Connecting: API base discovery through `/login/companyinfo`, the auth
//! headers, and every test-connection failure with its fix-it message.

mod common;

use common::*;
use scopelink_connectwise::{ConnectWiseConnector, ConnectWiseSettings};
use scopelink_core::access::Access;
use scopelink_core::connector::Connector;
use scopelink_core::{ConnectionStatus, ConnectorError};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn company_info(_server: &MockServer) -> serde_json::Value {
    // As the Developer Guide shows it: a codebase, no host.
    json(fixture!("companyinfo.json"))
}

async fn mount_company_info(server: &MockServer, body: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(format!("/login/companyinfo/{COMPANY_ID}")))
        .respond_with(body)
        .mount(server)
        .await;
}

async fn connect(settings: ConnectWiseSettings) -> Result<ConnectWiseConnector, ConnectorError> {
    ConnectWiseConnector::connect(settings, keys(), http_config()).await
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn discovers_the_api_base_then_authenticates_with_the_exact_headers() {
    let server = MockServer::start().await;
    mount_company_info(
        &server,
        ResponseTemplate::new(200).set_body_json(company_info(&server)),
    )
    .await;
    // Only matches with the exact Authorization, clientId and Accept headers.
    Mock::given(method("GET"))
        .and(path(format!("{API}/system/info")))
        .and(wiremock::matchers::header("Authorization", EXPECTED_AUTH))
        .and(wiremock::matchers::header("clientId", CLIENT_ID))
        .and(wiremock::matchers::header("Accept", ACCEPT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json(fixture!("system_info.json"))))
        .expect(1)
        .mount(&server)
        .await;

    let cw = connect(settings(&server)).await.expect("discovery works");
    assert_eq!(cw.api_base().as_str(), format!("{}{API}", server.uri()));
    cw.test_connection()
        .await
        .expect("the connection test passes");

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    // Company info needs no authentication: no credential goes with it.
    assert_eq!(requests[0].url.path(), "/login/companyinfo/scopelinkdemo");
    assert!(!requests[0].headers.contains_key("authorization"));
    assert_eq!(requests[1].headers["authorization"], EXPECTED_AUTH);

    let debug = format!("{cw:?}");
    assert_no_secret(&debug);
    assert!(!debug.contains(PUBLIC_KEY));
}

#[tokio::test]
async fn is_cloud_as_text_and_a_pasted_api_path_are_accepted() {
    let server = MockServer::start().await;
    let mut info = company_info(&server);
    info["IsCloud"] = json!("True");
    info["Codebase"] = json!("v2025_1/");
    mount_company_info(&server, ResponseTemplate::new(200).set_body_json(info)).await;
    let mut s = settings(&server);
    // The user pasted the full API path instead of the server address.
    s.server_url = format!("{}/v4_6_release/apis/3.0/", server.uri());
    let cw = connect(s).await.expect("the path is dropped");
    assert_eq!(cw.api_base().path(), API);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.path(), "/login/companyinfo/scopelinkdemo");
}

#[tokio::test]
async fn unknown_company_id_is_a_company_id_error() {
    for body in [
        ResponseTemplate::new(200).set_body_string("null"),
        ResponseTemplate::new(200).set_body_string(""),
        ResponseTemplate::new(200).set_body_json(json!({"CompanyName": null, "Codebase": ""})),
        ResponseTemplate::new(200).set_body_json(json!({})),
    ] {
        let server = MockServer::start().await;
        mount_company_info(&server, body).await;
        let err = connect(settings(&server)).await.unwrap_err();
        match &err {
            ConnectorError::InvalidConfig { field, message } => {
                assert_eq!(*field, "company_id");
                assert!(message.contains("scopelinkdemo"), "{message}");
            }
            other => panic!("expected a company_id error, got {other:?}"),
        }
        assert!(err.to_string().contains("enter the company id"), "{err}");
    }
}

#[tokio::test]
async fn a_path_or_a_web_page_says_enter_only_the_server_address() {
    for body in [
        ResponseTemplate::new(404).set_body_json(
            json!({"code": "ConnectWiseApi", "message": "The endpoint does not exist."}),
        ),
        ResponseTemplate::new(200)
            .set_body_string("<!DOCTYPE html><html><body>Login</body></html>")
            .insert_header("content-type", "text/html"),
    ] {
        let server = MockServer::start().await;
        mount_company_info(&server, body).await;
        let err = connect(settings(&server)).await.unwrap_err();
        assert!(
            matches!(
                err,
                ConnectorError::InvalidConfig {
                    field: "server_url",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("enter only the server address"),
            "{err}"
        );
    }
}

/// The company-info answer names no host in ConnectWise's guide; a host it
/// might carry anyway is not followed: the keys only go to the site the
/// user named.
#[tokio::test]
async fn a_host_named_in_company_info_is_not_followed() {
    let server = MockServer::start().await;
    let mut info = company_info(&server);
    info["SiteUrl"] = json!("api.attacker.example");
    mount_company_info(&server, ResponseTemplate::new(200).set_body_json(info)).await;
    let cw = connect(settings(&server)).await.expect("discovery works");
    assert_eq!(
        cw.api_base().as_str(),
        format!("{}{API}", server.uri()),
        "the API host is derived from the typed address"
    );
}

#[tokio::test]
async fn bad_keys_are_an_authentication_error_stored_as_the_connection_reason() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/system/info")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json(fixture!("error_401.json"))))
        .mount(&server)
        .await;
    let cw = connector(&server);
    let err = cw.test_connection().await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::Authentication { .. }),
        "{err:?}"
    );
    assert!(err.is_auth_failure());
    let text = err.to_string();
    assert!(
        text.contains("check the public and private keys and the company id"),
        "{text}"
    );
    assert_no_secret(&text);

    let env = Env::new();
    let conn = env.connection(&server).await;
    let tested = env
        .connections
        .test(&Access::full(), &conn.id, &cw)
        .await
        .unwrap();
    match tested.status {
        ConnectionStatus::ConnectionError { reason, .. } => {
            assert!(
                reason.contains("check the public and private keys"),
                "{reason}"
            );
            assert_no_secret(&reason);
        }
        other => panic!("expected Connection Error, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_permission_names_the_security_role() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/system/info")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json(fixture!("error_403.json"))))
        .mount(&server)
        .await;
    let err = connector(&server).test_connection().await.unwrap_err();
    assert!(
        matches!(err, ConnectorError::PermissionDenied { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("security role"), "{err}");
}

#[tokio::test]
async fn a_missing_api_is_a_server_address_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/system/info")))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"code": "ConnectWiseApi", "message": "The endpoint does not exist."}),
        ))
        .mount(&server)
        .await;
    let err = connector(&server).test_connection().await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::InvalidConfig {
                field: "server_url",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("enter only the server address"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_host_is_a_server_address_error() {
    let port = closed_port();
    let s = ConnectWiseSettings::new(format!("http://127.0.0.1:{port}"), CLIENT_ID);
    let err = connect(s.clone()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::InvalidConfig {
                field: "server_url",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("could not reach 127.0.0.1"),
        "{err}"
    );
    // Said once, with the fix.
    assert_eq!(
        err.to_string().matches("could not reach").count(),
        1,
        "{err}"
    );

    let base = url::Url::parse(&format!("http://127.0.0.1:{port}{API}")).unwrap();
    let cw = ConnectWiseConnector::with_api_base(base, s, keys(), http_config()).unwrap();
    let err = cw.test_connection().await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::InvalidConfig {
                field: "server_url",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("check the server address"),
        "{err}"
    );
}

#[tokio::test]
async fn settings_are_checked_before_any_request() {
    let server = MockServer::start().await;
    let mut s = settings(&server);
    s.client_id = " ".into();
    let err = ConnectWiseConnector::with_api_base(api_base(&server), s, keys(), http_config())
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::InvalidConfig {
                field: "client_id",
                ..
            }
        ),
        "{err:?}"
    );

    let mut s = settings(&server);
    s.api_version = Some("2025.1, text/html".into());
    let err = ConnectWiseConnector::with_api_base(api_base(&server), s, keys(), http_config())
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::InvalidConfig {
                field: "api_version",
                ..
            }
        ),
        "{err:?}"
    );

    // A private address is refused by the address policy.
    let mut s = settings(&server);
    s.server_url = "https://10.1.2.3".into();
    let err = connect(s).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnectorError::InvalidConfig {
                field: "server_url",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
