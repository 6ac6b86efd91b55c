//! The one HTTP layer every connector uses.
//!
//! - Base-URL validation: https only; loopback, private, link-local and
//!   unspecified addresses refused, for literal IPs, for host names (checked
//!   at connection time by the DNS resolver) and for every redirect, unless
//!   the host opts in with [`AddressPolicy::allow_local`].
//! - Per-attempt timeout and an overall deadline per request across its
//!   retries ([`HttpConfig::deadline`]); retries with exponential backoff
//!   and jitter on 429, 502, 503, 504 and connection errors, honoring
//!   `Retry-After` (seconds or HTTP date); capped attempts; non-idempotent
//!   requests are retried only when marked [`Request::retry_safe`], or on
//!   429, which tells that the request was refused unprocessed (RFC 6585).
//! - A per-provider shape for waiting out rate limits (429):
//!   [`ThrottlePolicy`].
//! - Response bodies capped while they are read ([`BodyLimits`]): a body
//!   past the cap is a typed error, never retried; only the first bytes of
//!   an error body are read.
//! - A client-side rate limiter (requests per window).
//! - Errors carry status and the provider's message, never a credential;
//!   tracing spans carry method, path, status and attempt (never the query).
//! - [`paginate`] / [`paginate_with`]: "fetch page N / follow next link /
//!   follow cursor" as one stream of pages, bounded ([`PageLimits`]: a page
//!   limit, repeated pages refused); [`collect_pages`] gathers a small list
//!   under an item limit.
//!
//! Environment proxies (`HTTPS_PROXY`, ...) are not used: through a proxy
//! the address policy could not be enforced for host names.

use std::time::Duration;

pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
pub use reqwest::Method;

/// Redirects followed at most per request.
pub const MAX_REDIRECTS: usize = 5;

mod address;
mod client;
mod error_body;
mod pages;
pub(crate) use pages::fingerprint;
mod policy;
mod ratelimit;
mod request;
mod retry;

pub use address::{validate_url, AddressPolicy};
pub use client::HttpClient;
pub use error_body::error_message;
pub use pages::{
    collect_pages, next_link, paginate, paginate_with, read_ahead, rel_link, stop_after_error, Page,
};
pub use policy::{BodyLimits, PageLimits, RateLimit, RetryPolicy, ThrottlePolicy};
pub(crate) use request::CREDENTIAL_HEADER_HINTS;
pub use request::{Request, Response};
pub use retry::retry_after;

/// Client settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Per-attempt timeout (connecting, waiting and reading the body).
    pub timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Client-side rate limit, if any.
    pub rate_limit: Option<RateLimit>,
    /// Which hosts may be reached.
    pub addresses: AddressPolicy,
    /// `User-Agent`.
    pub user_agent: String,
    /// The longest one request may take, all attempts and the waits between
    /// them included (waits on a 429 and on the client-side rate limit
    /// excepted: see [`ThrottlePolicy`]); past it the request fails with
    /// [`HttpError::DeadlineExceeded`]. `None`: twice `timeout`.
    pub deadline: Option<Duration>,
    /// How large response bodies may be. `None`: the connector's default
    /// for its provider, else [`BodyLimits::DEFAULT`].
    pub body_limits: Option<BodyLimits>,
    /// How a 429 is waited out. `None`: the connector's default for its
    /// provider, else a 429 is retried under `retry` like a 503.
    pub throttle: Option<ThrottlePolicy>,
    /// Bounds of page walks. `None`: the connector's default for its
    /// provider (see [`PageLimits::for_records`]), else
    /// [`PageLimits::DEFAULT`].
    pub pages: Option<PageLimits>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            rate_limit: None,
            addresses: AddressPolicy::default(),
            user_agent: concat!("scopelink/", env!("CARGO_PKG_VERSION")).to_string(),
            deadline: None,
            body_limits: None,
            throttle: None,
            pages: None,
        }
    }
}

impl HttpConfig {
    /// The overall deadline of one request: [`HttpConfig::deadline`], or
    /// twice the per-attempt timeout.
    pub fn request_deadline(&self) -> Duration {
        self.deadline
            .unwrap_or_else(|| self.timeout.saturating_mul(2))
    }
}
