//! Token requests go through the core `HttpClient`: its address rules
//! apply, a request that may have reached the provider is never resent (no
//! replayed authorization code or rotating refresh token), and the
//! provider's RFC 6749 error codes become typed errors.

use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig, RetryPolicy};
use scopelink_core::oauth::{request_token, Grant, OAuthClient, OAuthError};
use scopelink_core::HttpError;
use secrecy::SecretString;
use std::time::Duration;
use url::Url;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn http(addresses: AddressPolicy) -> HttpClient {
    HttpClient::new(
        HttpConfig::default()
            .with_addresses(addresses)
            .with_timeout(Duration::from_secs(10))
            .with_retry(RetryPolicy {
                max_attempts: 4,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            }),
    )
    .unwrap()
}

fn client(server: &str) -> OAuthClient {
    let mut c = OAuthClient::new(
        Url::parse(&format!("{server}/authorize")).unwrap(),
        Url::parse(&format!("{server}/token")).unwrap(),
        "cid",
        "https://app.example.com/cb",
    );
    c.client_secret = Some(SecretString::from("csecret".to_string()));
    c
}

fn code() -> Grant {
    Grant::AuthorizationCode {
        code: "code-1".to_string().into(),
        verifier: "v".repeat(43).into(),
    }
}

#[tokio::test]
async fn oauth_code_exchange_is_never_resent_after_a_server_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let err = request_token(
        &http(AddressPolicy::allow_local()),
        &client(&server.uri()),
        &code(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, OAuthError::TokenRefused { status: 503, .. }),
        "{err}"
    );
    server.verify().await;
}

#[tokio::test]
async fn oauth_token_requests_follow_the_address_rules() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let err = request_token(
        &http(AddressPolicy::public_only()),
        &client(&server.uri()),
        &code(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            OAuthError::Http(HttpError::ForbiddenAddress { .. } | HttpError::InsecureScheme { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn oauth_refresh_refusals_become_invalid_grant() {
    let server = MockServer::start().await;
    // RFC 6749 body (Salesforce, Entra ID).
    Mock::given(method("POST"))
        .and(body_string_contains("refresh_token=rt-rfc"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_grant", "error_description": "expired access/refresh token"
        })))
        .mount(&server)
        .await;
    // HubSpot's newer body: its own message first.
    Mock::given(method("POST"))
        .and(body_string_contains("refresh_token=rt-hubspot"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_grant", "error_description": "missing or unknown refresh token",
            "status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"
        })))
        .mount(&server)
        .await;
    let http = http(AddressPolicy::allow_local());
    let c = client(&server.uri());
    for token in ["rt-rfc", "rt-hubspot"] {
        let err = request_token(&http, &c, &Grant::RefreshToken(token.to_string().into()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, OAuthError::InvalidGrant { .. }),
            "{token}: {err}"
        );
        assert!(err.needs_reconnect());
        assert!(err.to_string().contains("reconnect"));
        assert!(!err.to_string().contains(token));
    }
}
