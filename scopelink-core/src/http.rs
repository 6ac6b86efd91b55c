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
//! - [`Request`], [`Response`] and their [`Headers`] are the SDK's own
//!   types (no reqwest type in the API): header names case-insensitive,
//!   values as text, credentials redacted from `Debug`. A transport
//!   failure keeps the transport's error as its typed source
//!   ([`TransportCause`](crate::error::TransportCause)).
//!
//! - TLS with rustls: built-in roots chosen by a cargo feature
//!   (`rustls-webpki-roots`, the default, or `rustls-native-roots`), plus
//!   any private CA added with [`HttpConfig::with_root_certificate`].
//!
//! Proxies are off by default: environment proxies (`HTTPS_PROXY`, ...)
//! are not used, because through a proxy the address policy could not be
//! enforced for host names (an SSRF guard). A host that must go through a
//! proxy opts in with [`HttpConfig::with_proxy`]; see [`Proxy`] for what
//! the address policy can and cannot check then.
//!
//! # Example
//!
//! A client that may reach a server on loopback (a simulator here), with a
//! shorter timeout, sending one request:
//!
//! ```
//! use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig, Method, Request};
//! use std::time::Duration;
//! use wiremock::{matchers, Mock, MockServer, ResponseTemplate};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::start().await;
//! Mock::given(matchers::path("/api/ping"))
//!     .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"ok":true}"#))
//!     .mount(&server)
//!     .await;
//!
//! let config = HttpConfig::default()
//!     .with_addresses(AddressPolicy::allow_local())
//!     .with_timeout(Duration::from_secs(5));
//! let client = HttpClient::new(config)?;
//! let url = client.validate_url(&format!("{}/api/ping", server.uri()))?;
//! let response = client.send(Request::new(Method::GET, url)).await?;
//! assert_eq!(response.status, 200);
//! assert_eq!(response.json::<serde_json::Value>()?["ok"], true);
//! # Ok(()) }
//! ```
//!
//! With the default policy the same address is refused before anything is
//! sent, and the error says how to opt in:
//!
//! ```
//! use scopelink_core::http::{validate_url, AddressPolicy};
//!
//! let refused = validate_url("https://127.0.0.1:8080/api", AddressPolicy::default()).unwrap_err();
//! assert!(refused.to_string().contains("allow_local"), "{refused}");
//! assert!(validate_url("https://127.0.0.1:8080/api", AddressPolicy::allow_local()).is_ok());
//! assert!(validate_url("https://api-na.myconnectwise.net/", AddressPolicy::default()).is_ok());
//! ```

use std::time::Duration;

/// Redirects followed at most per request.
pub const MAX_REDIRECTS: usize = 5;

mod address;
mod client;
mod error_body;
mod headers;
mod method;
mod pages;
pub(crate) use pages::fingerprint;
mod policy;
mod ratelimit;
mod request;
mod retry;
mod trust;

pub use address::{validate_url, AddressPolicy};
pub use client::HttpClient;
pub use error_body::error_message;
pub(crate) use headers::CREDENTIAL_HEADER_HINTS;
pub use headers::{Headers, InvalidHeader};
pub use method::Method;
pub use pages::{
    collect_pages, next_link, paginate, paginate_with, read_ahead, rel_link, stop_after_error, Page,
};
pub use policy::{BodyLimits, PageLimits, RateLimit, RetryPolicy, ThrottlePolicy};
pub use request::{Request, Response};
pub use retry::retry_after;
pub use trust::{Proxy, RootCertificate};

/// Client settings: start from [`HttpConfig::default`] and change what
/// differs with the `with_*` methods (fields stay public to read and to
/// assign). `#[non_exhaustive]`: a new setting is not a breaking change.
///
/// ```
/// use scopelink_core::http::{AddressPolicy, HttpConfig, RateLimit};
/// use std::time::Duration;
///
/// let config = HttpConfig::default()
///     .with_addresses(AddressPolicy::allow_local())
///     .with_timeout(Duration::from_secs(10))
///     .with_rate_limit(RateLimit { requests: 50, per: Duration::from_secs(1) })
///     .with_user_agent("acme-scoping/2.1");
/// assert_eq!(config.timeout, Duration::from_secs(10));
/// assert_eq!(config.request_deadline(), Duration::from_secs(20));
/// assert!(config.proxy.is_none(), "no proxy unless opted in");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
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
    /// [`HttpError::DeadlineExceeded`](crate::error::HttpError::DeadlineExceeded). `None`: twice `timeout`.
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
    /// Root certificates trusted besides the built-in roots.
    pub root_certificates: Vec<RootCertificate>,
    /// The proxy every request goes through. `None` (the default): none,
    /// whatever the environment says (see [`Proxy`] for why).
    pub proxy: Option<Proxy>,
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
            root_certificates: Vec::new(),
            proxy: None,
        }
    }
}

impl HttpConfig {
    /// With `policy` deciding which hosts may be reached
    /// ([`AddressPolicy::allow_local`] for a simulator or an on-premise
    /// server on a private network).
    pub fn with_addresses(mut self, policy: AddressPolicy) -> Self {
        self.addresses = policy;
        self
    }

    /// With a per-attempt timeout of `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// With `retry` as the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// With a client-side rate limit.
    pub fn with_rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.rate_limit = Some(rate_limit);
        self
    }

    /// With `user_agent` as the `User-Agent` header.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// With `deadline` as the longest one request may take, retries
    /// included (see [`HttpConfig::deadline`]).
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// With `limits` on response body sizes.
    pub fn with_body_limits(mut self, limits: BodyLimits) -> Self {
        self.body_limits = Some(limits);
        self
    }

    /// With `throttle` deciding how a 429 is waited out.
    pub fn with_throttle(mut self, throttle: ThrottlePolicy) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// With `pages` bounding page walks.
    pub fn with_page_limits(mut self, pages: PageLimits) -> Self {
        self.pages = Some(pages);
        self
    }

    /// Trusting the certificates of `root` too (a private CA), besides the
    /// built-in roots.
    ///
    /// ```
    /// use scopelink_core::error::CertificateError;
    /// use scopelink_core::http::{HttpClient, HttpConfig, RootCertificate};
    ///
    /// let pem = include_bytes!("../tests/tls/ca.pem");
    /// let ca = RootCertificate::from_pem(pem)?;
    /// let client = HttpClient::new(HttpConfig::default().with_root_certificate(ca)).unwrap();
    /// assert_eq!(client.config().root_certificates.len(), 1);
    ///
    /// assert!(matches!(
    ///     RootCertificate::from_pem(b"not a certificate"),
    ///     Err(CertificateError::NoCertificate)
    /// ));
    /// # Ok::<(), CertificateError>(())
    /// ```
    pub fn with_root_certificate(mut self, root: RootCertificate) -> Self {
        self.root_certificates.push(root);
        self
    }

    /// Sending every request through the proxy at `url` (`http://` or
    /// `https://`; a user name and password in it are sent to the proxy).
    /// Off by default; read [`Proxy`] first: through a proxy the address
    /// policy cannot check where a host name leads.
    pub fn with_proxy(mut self, url: url::Url) -> Self {
        self.proxy = Some(Proxy::new(url));
        self
    }

    /// The overall deadline of one request: [`HttpConfig::deadline`], or
    /// twice the per-attempt timeout.
    pub fn request_deadline(&self) -> Duration {
        self.deadline
            .unwrap_or_else(|| self.timeout.saturating_mul(2))
    }
}
