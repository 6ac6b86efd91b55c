//! The request log: every request a simulator received, in order.

use serde::Serialize;
use serde_json::Value;
use wiremock::Request;

/// One request the simulator received (never its `Authorization` header).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimRequest {
    /// Method, upper case.
    pub method: String,
    /// Path as sent.
    pub path: String,
    /// Query pairs, in order.
    pub query: Vec<(String, String)>,
    /// The JSON body, if it was JSON.
    pub body: Option<Value>,
    /// The form fields, if it was a form (the token request: holds the
    /// client secret).
    pub form: Vec<(String, String)>,
    /// Whether a bearer token was sent.
    pub bearer: bool,
    /// The status answered.
    pub status: u16,
    /// The query string as sent (`None`: there was none).
    #[serde(skip)]
    pub raw_query: Option<String>,
}

impl SimRequest {
    /// The path and query as sent (`/a/b?x=1`).
    pub fn target(&self) -> String {
        match &self.raw_query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// A query parameter's value.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A form field's value.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this is a call to the API (not to the token endpoint).
    pub fn is_api(&self) -> bool {
        self.path.to_ascii_lowercase().starts_with("/api/")
    }
}

/// Every request a simulator received, in order.
#[derive(Debug, Default, Clone)]
pub(crate) struct RequestLog(Vec<SimRequest>);

impl RequestLog {
    /// Records `req`, answered with `status`.
    pub(crate) fn record(&mut self, req: &Request, status: u16) {
        let is_form = req
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        self.0.push(SimRequest {
            method: req.method.as_str().to_string(),
            path: req.url.path().to_string(),
            query: req.url.query_pairs().into_owned().collect(),
            body: if is_form {
                None
            } else {
                serde_json::from_slice(&req.body).ok()
            },
            form: if is_form {
                url::form_urlencoded::parse(&req.body)
                    .into_owned()
                    .collect()
            } else {
                Vec::new()
            },
            bearer: req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("Bearer ")),
            status,
            raw_query: req.url.query().map(str::to_string),
        });
    }

    /// Every request so far, in order.
    pub(crate) fn all(&self) -> &[SimRequest] {
        &self.0
    }

    /// How many requests so far.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Forgets every request.
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}
