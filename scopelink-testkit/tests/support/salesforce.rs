//! Shared helpers of the Salesforce simulator tests: the OAuth login a
//! connected app runs, and an HTTP client holding its session.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Client, StatusCode};
use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub struct Api {
    pub sim: SalesforceSim,
    pub http: Client,
    pub token: String,
    pub refresh: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub limit_info: Option<String>,
    pub body: Value,
}

impl Api {
    pub async fn start(config: SalesforceSimConfig) -> Self {
        let sim = SalesforceSim::start(config).await;
        let http = Client::new();
        let tokens = login(&http, &sim).await;
        Self {
            token: tokens["access_token"].as_str().unwrap().to_string(),
            refresh: tokens["refresh_token"].as_str().unwrap().to_string(),
            sim,
            http,
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let limit_info = resp
            .headers()
            .get("sforce-limit-info")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        Answer {
            status,
            limit_info,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.instance_url())
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(self.url(path)).bearer_auth(&self.token))
            .await
    }

    pub async fn query(&self, soql: &str) -> Answer {
        self.send(
            self.http
                .get(self.url("/services/data/v62.0/query"))
                .query(&[("q", soql)])
                .bearer_auth(&self.token),
        )
        .await
    }

    pub async fn query_all(&self, soql: &str) -> Answer {
        self.send(
            self.http
                .get(self.url("/services/data/v62.0/queryAll"))
                .query(&[("q", soql)])
                .bearer_auth(&self.token),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(
            self.http
                .patch(self.url(path))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }
}

/// The authorization code flow with PKCE, as a connected app runs it.
pub async fn login(http: &Client, sim: &SalesforceSim) -> Value {
    let config = SalesforceSimConfig::default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let mut authorize = url::Url::parse(&sim.authorize_url()).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &config.redirect_uri)
        .append_pair("scope", "api refresh_token")
        .append_pair("state", "st-1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let back = url::Url::parse(&sim.follow(authorize.as_str()).unwrap()).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("a code");
    assert!(back.query_pairs().any(|(k, v)| k == "state" && v == "st-1"));
    let resp = http
        .post(sim.token_url())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret),
            ("redirect_uri", &config.redirect_uri),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

pub fn error_code(a: &Answer) -> &str {
    a.body[0]["errorCode"].as_str().unwrap_or_default()
}

pub fn message(a: &Answer) -> &str {
    a.body[0]["message"].as_str().unwrap_or_default()
}

pub fn small() -> SalesforceSimConfig {
    SalesforceSimConfig {
        accounts: 6,
        contacts_per_account: 2,
        opportunities: 8,
        ..SalesforceSimConfig::default()
    }
}

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../fixtures/salesforce/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}
