//! Requests and responses: building a request (headers, query, JSON and
//! form bodies) and reading a response, with `Debug` output that shows no
//! credential.

use super::address::display_url;
use super::next_link;
use super::Headers;
use super::Method;
use crate::error::HttpError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use url::Url;

/// A request to send.
///
/// Its `Debug` output shows neither header values that carry credentials,
/// nor the query string, nor the body.
#[derive(Clone)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Full URL (query included).
    pub url: Url,
    /// Headers. Mark credentials sensitive (see [`Request::secret_header`]).
    pub headers: Headers,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
    /// Retry even though the method is not idempotent (POST/PATCH).
    pub retry_safe: bool,
    /// Hand back a client error (4xx other than 429) as a [`Response`]
    /// instead of [`crate::error::HttpError::Status`] (see
    /// [`Request::keep_client_errors`]).
    pub keep_client_errors: bool,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &display_url(&self.url))
            .field("headers", &self.headers)
            .field(
                "body",
                &self.body.as_ref().map(|b| format!("<{} bytes>", b.len())),
            )
            .field("retry_safe", &self.retry_safe)
            .field("keep_client_errors", &self.keep_client_errors)
            .finish()
    }
}

impl Request {
    /// A request with no headers or body. `method` is a [`Method`]
    /// (`Method::GET`, ...), or the `http` crate's method.
    pub fn new(method: impl Into<Method>, url: Url) -> Self {
        Self {
            method: method.into(),
            url,
            headers: Headers::new(),
            body: None,
            retry_safe: false,
            keep_client_errors: false,
        }
    }

    /// Adds a header, replacing any earlier value of that name. Invalid
    /// names or values are dropped with a warning (they come from the
    /// connector, not the user). Values of credential-like names
    /// (`Authorization`, `*token*`, `*key*`, ...) are marked sensitive.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Err(e) = self.headers.insert(name, value) {
            tracing::warn!(error = %e, "dropping a header");
        }
        self
    }

    /// Adds a header marked sensitive, so it never shows in Debug output.
    pub fn secret_header(mut self, name: &str, value: &secrecy::SecretString) -> Self {
        if let Err(e) = self.headers.insert_secret(name, value) {
            tracing::warn!(error = %e, "dropping a secret header");
        }
        self
    }

    /// Appends query pairs.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        self.url.query_pairs_mut().extend_pairs(pairs);
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    ///
    /// A value that cannot be serialized (a map with non-string keys, a
    /// failing custom `Serialize`) is a bug in the connector: it is logged
    /// as an error and the request keeps no body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.headers.map_mut().insert(
                    reqwest::header::CONTENT_TYPE,
                    reqwest::header::HeaderValue::from_static("application/json"),
                );
                self.body = Some(bytes);
            }
            Err(e) => {
                tracing::error!(error = %e, path = self.url.path(), "the JSON body could not be serialized");
                self.body = None;
            }
        }
        self
    }

    /// Sets a form-encoded body and its content type.
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.headers.map_mut().insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self.body = Some(encoded.into_bytes());
        self
    }

    /// Allows retrying a non-idempotent request.
    pub fn retry_safe(mut self, safe: bool) -> Self {
        self.retry_safe = safe;
        self
    }

    /// Hands back a client error (a 4xx status other than 429, which is
    /// never retried) as an `Ok` [`Response`] with its status, headers
    /// and the first [`super::BodyLimits::error`] bytes of its body, for
    /// providers whose error bodies and headers carry more than a message
    /// (Salesforce's `errorCode` and `fields`, its `Sforce-Limit-Info` on
    /// every answer). 429s, 5xx and transport failures are retried and
    /// reported as usual. The connector must check
    /// [`Response::is_success`] and must not echo the body unread: it may
    /// hold what the request sent.
    pub fn keep_client_errors(mut self, keep: bool) -> Self {
        self.keep_client_errors = keep;
        self
    }
}

/// A successful (2xx) response, body read in full.
///
/// Its `Debug` output shows the body's length, not its content.
#[derive(Clone)]
pub struct Response {
    /// Status.
    pub status: u16,
    /// Headers.
    pub headers: Headers,
    /// Body.
    pub body: Vec<u8>,
    /// The final URL (after redirects).
    pub url: Url,
    /// Attempts it took.
    pub attempts: u32,
    /// The request's method, for decode errors.
    pub(super) method: Method,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("url", &display_url(&self.url))
            .field("headers", &self.headers)
            .field("body", &format!("<{} bytes>", self.body.len()))
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl Response {
    /// Whether the status is 2xx (always, unless the request asked for
    /// [`Request::keep_client_errors`]).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Decodes the body as JSON; failures are [`HttpError::Decode`] naming
    /// the path.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| HttpError::Decode {
            method: self.method.as_str().to_string(),
            path: self.url.path().to_string(),
            reason: redact_quoted(&e.to_string()),
        })
    }

    /// The `rel="next"` link of the `Link` header (see [`next_link`]),
    /// resolved against this response's URL.
    pub fn next_link(&self) -> Option<Url> {
        next_link(&self.headers).and_then(|target| self.url.join(&target).ok())
    }
}

/// `text` with the content of every double-quoted span replaced: serde
/// quotes offending values (`invalid type: string "..."`), which may be
/// tokens.
fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for ch in text.chars() {
        if ch == '"' {
            if inside {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_hide_quoted_values() {
        assert_eq!(
            redact_quoted(r#"invalid type: string "tok-123", expected u64 at line 1 column 9"#),
            r#"invalid type: string "…", expected u64 at line 1 column 9"#
        );
    }
}
