//! The one HTTP layer every connector uses.
//!
//! IMPLEMENTATION PENDING (helper): every `todo!()` below is to be replaced;
//! the public API is fixed.
//!
//! - Base-URL validation: https only; loopback, private, link-local and
//!   unspecified addresses refused, for literal IPs, for host names (checked
//!   at connection time by the DNS resolver) and for every redirect, unless
//!   the host opts in with [`AddressPolicy::allow_local`].
//! - Per-request timeout; retries with exponential backoff and jitter on
//!   429, 502, 503, 504 and connection errors, honoring `Retry-After`
//!   (seconds or HTTP date); capped attempts; non-idempotent requests are
//!   retried only when marked [`Request::retry_safe`].
//! - A client-side rate limiter (requests per window).
//! - Errors carry status and the provider's message, never a credential;
//!   tracing spans carry method, path, status and attempt (never the query).
//! - [`paginate`]: "fetch page N / follow next link / follow cursor" as one
//!   stream of pages.

use crate::error::HttpError;
use futures::stream::BoxStream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::time::Duration;
use url::Url;

pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
pub use reqwest::Method;

/// Which hosts a client may reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Allow plain http and loopback addresses (127.0.0.0/8, ::1). For tests
    /// and examples that run simulators on loopback. Off by default.
    pub allow_loopback: bool,
    /// Allow private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
    /// (169.254/16, fe80::/10) and unspecified addresses. Off by default.
    pub allow_private: bool,
}

impl AddressPolicy {
    /// The default: public https hosts only.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Loopback (and plain http) allowed, private ranges still refused: what
    /// tests and examples against local simulators use.
    pub fn allow_local() -> Self {
        Self {
            allow_loopback: true,
            allow_private: false,
        }
    }
}

/// Retry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first (at least 1).
    pub max_attempts: u32,
    /// The first backoff; doubled at each retry, with jitter.
    pub base_delay: Duration,
    /// The longest wait between attempts (a longer `Retry-After` is an error).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// A client-side rate limit: at most `requests` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window.
    pub per: Duration,
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Client-side rate limit, if any.
    pub rate_limit: Option<RateLimit>,
    /// Which hosts may be reached.
    pub addresses: AddressPolicy,
    /// `User-Agent`.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            rate_limit: None,
            addresses: AddressPolicy::default(),
            user_agent: concat!("scopelink/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// Parses and checks a URL typed by a user against `policy`: https only
/// (http only with `allow_loopback`), no literal IP the policy refuses, no
/// user info. Does not resolve names (the client checks them when it
/// connects).
pub fn validate_url(input: &str, policy: AddressPolicy) -> Result<Url, HttpError> {
    let _ = (input, policy);
    todo!("validate_url")
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Full URL (query included).
    pub url: Url,
    /// Headers. Mark credentials sensitive (see [`Request::secret_header`]).
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
    /// Retry even though the method is not idempotent (POST/PATCH).
    pub retry_safe: bool,
}

impl Request {
    /// A request with no headers or body.
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            retry_safe: false,
        }
    }

    /// Adds a header. Invalid names or values are dropped with a warning
    /// (they come from the connector, not the user).
    pub fn header(self, name: &str, value: &str) -> Self {
        let _ = (name, value);
        todo!("Request::header")
    }

    /// Adds a header marked sensitive, so it never shows in Debug output.
    pub fn secret_header(self, name: &str, value: &secrecy::SecretString) -> Self {
        let _ = (name, value);
        todo!("Request::secret_header")
    }

    /// Appends query pairs.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        self.url.query_pairs_mut().extend_pairs(pairs);
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Self {
        let _ = body;
        todo!("Request::json")
    }

    /// Sets a form-encoded body and its content type.
    pub fn form(self, pairs: &[(&str, &str)]) -> Self {
        let _ = pairs;
        todo!("Request::form")
    }

    /// Allows retrying a non-idempotent request.
    pub fn retry_safe(mut self, safe: bool) -> Self {
        self.retry_safe = safe;
        self
    }
}

/// A successful (2xx) response, body read in full.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
    /// The final URL (after redirects).
    pub url: Url,
    /// Attempts it took.
    pub attempts: u32,
}

impl Response {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Decodes the body as JSON; failures are [`HttpError::Decode`] naming
    /// the path.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        todo!("Response::json")
    }
}

/// The shared HTTP client. Cheap to clone; clones share the connection pool
/// and the rate limiter.
#[derive(Debug, Clone)]
pub struct HttpClient {
    config: HttpConfig,
}

impl HttpClient {
    /// A client with `config`.
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        Ok(Self { config })
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Validates a user-typed URL against this client's address policy.
    pub fn validate_url(&self, input: &str) -> Result<Url, HttpError> {
        validate_url(input, self.config.addresses)
    }

    /// Sends `request` with rate limiting and retries. Non-2xx answers are
    /// [`HttpError::Status`] with the provider's message.
    pub async fn send(&self, request: Request) -> Result<Response, HttpError> {
        let _ = request;
        todo!("HttpClient::send")
    }

    /// Requests sent so far (each attempt counts), for benchmarks.
    pub fn requests_sent(&self) -> u64 {
        todo!("requests_sent")
    }
}

/// One page from [`paginate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// The token of the next page (a page number, a next link or a cursor);
    /// `None` on the last page.
    pub next: Option<String>,
}

/// Turns a "fetch the page at this token" function into a stream of pages.
/// `start` is the first token (`None` for the first page). The stream ends
/// after a page whose `next` is `None`, and stops after the first error.
/// Page number, next-link and cursor pagination differ only in what the
/// token holds and how `fetch` uses it.
pub fn paginate<'a, T, E, F, Fut>(
    start: Option<String>,
    fetch: F,
) -> BoxStream<'a, Result<Page<T>, E>>
where
    T: Send + 'a,
    E: Send + 'a,
    F: FnMut(Option<String>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>, E>> + Send + 'a,
{
    let _ = (start, fetch);
    todo!("paginate")
}

/// The URL of `rel="next"` in an RFC 8288 `Link` header, if any.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let _ = headers;
    todo!("next_link")
}
