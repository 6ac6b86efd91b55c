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

use crate::error::HttpError;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tracing::Instrument;
use url::{Host, Url};

pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
pub use reqwest::Method;

/// Redirects followed at most per request.
pub const MAX_REDIRECTS: usize = 5;

/// Longest provider message kept in [`HttpError::Status`], in characters.
const MESSAGE_LIMIT: usize = 300;

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

    /// Whether `ip` may be reached under this policy.
    ///
    /// Loopback needs `allow_loopback`; every other address that is not
    /// globally routable (private, shared, link-local, unspecified,
    /// documentation, benchmarking, multicast, reserved, unique-local, and
    /// IPv6 forms embedding such an IPv4 address: IPv4-mapped, NAT64, 6to4)
    /// needs `allow_private`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        match classify(ip) {
            Reach::Global => true,
            Reach::Loopback => self.allow_loopback,
            Reach::Local => self.allow_private,
        }
    }

    /// Whether `scheme` may be used: https always, http only with
    /// `allow_loopback`.
    fn permits_scheme(&self, scheme: &str) -> bool {
        scheme == "https" || (scheme == "http" && self.allow_loopback)
    }
}

/// How far an address reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Globally routable.
    Global,
    /// This machine.
    Loopback,
    /// Private, link-local, unspecified or otherwise not global.
    Local,
}

fn classify(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    if a == 127 {
        return Reach::Loopback;
    }
    let local = a == 0 // "this network", including 0.0.0.0
        || a == 10
        || (a == 100 && (64..=127).contains(&b)) // shared address space
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..=31).contains(&b))
        || (a == 192 && b == 0 && (c == 0 || c == 2)) // IETF protocol, documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    if local {
        Reach::Local
    } else {
        Reach::Global
    }
}

fn classify_v6(ip: Ipv6Addr) -> Reach {
    if ip.is_loopback() {
        return Reach::Loopback;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        match classify_v4(Ipv4Addr::new(a, b, c, d)) {
            Reach::Global => Reach::Global,
            _ => Reach::Local,
        }
    };
    if s[..6] == [0; 6] {
        // Unspecified and the deprecated IPv4-compatible addresses.
        return Reach::Local;
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        // NAT64 well-known prefix: the gateway connects to the IPv4 address.
        return embedded_v4(s[6], s[7]);
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address is in the second and third groups.
        return embedded_v4(s[1], s[2]);
    }
    let local = (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64
        || (s[0] == 0x100 && s[1..4] == [0; 3]) // discard-only
        || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00; // multicast
    if local {
        Reach::Local
    } else {
        Reach::Global
    }
}

mod pages;
mod policy;

pub use pages::{
    collect_pages, next_link, paginate, paginate_with, read_ahead, stop_after_error, Page,
};
pub use policy::{BodyLimits, PageLimits, RateLimit, RetryPolicy, ThrottlePolicy};

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

/// Parses and checks a URL typed by a user against `policy`: https only
/// (http only with `allow_loopback`), no literal IP the policy refuses, no
/// user info. Does not resolve names (the client checks them when it
/// connects).
pub fn validate_url(input: &str, policy: AddressPolicy) -> Result<Url, HttpError> {
    let input = input.trim();
    let url = Url::parse(input).map_err(|e| HttpError::InvalidUrl {
        input: redact_input(input),
        reason: e.to_string(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HttpError::InvalidUrl {
            input: redact_input(input),
            reason: "a user name or password in the URL is not allowed; enter credentials in the connection settings".into(),
        });
    }
    if !policy.permits_scheme(url.scheme()) {
        return Err(HttpError::InsecureScheme {
            url: display_url(&url),
        });
    }
    if url.host().is_none() {
        return Err(HttpError::InvalidUrl {
            input: redact_input(input),
            reason: "it has no host name".into(),
        });
    }
    check_target(&url, policy)?;
    Ok(url)
}

/// Checks the scheme and, for a literal IP host, the address of `url`.
/// Host names are checked by the resolver when the client connects.
fn check_target(url: &Url, policy: AddressPolicy) -> Result<(), HttpError> {
    if !policy.permits_scheme(url.scheme()) {
        return Err(HttpError::InsecureScheme {
            url: display_url(url),
        });
    }
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(_)) | None => return Ok(()),
    };
    if policy.permits(ip) {
        Ok(())
    } else {
        Err(HttpError::ForbiddenAddress {
            host: url.host_str().unwrap_or_default().to_string(),
        })
    }
}

/// `url` without user info, query or fragment, for error messages.
fn display_url(url: &Url) -> String {
    if url.cannot_be_a_base() {
        return format!("{}:…", url.scheme());
    }
    let mut shown = url.clone();
    // Both only fail for URLs that cannot have user info, which is fine.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    let had_query = shown.query().is_some();
    shown.set_query(None);
    shown.set_fragment(None);
    let mut text = shown.to_string();
    if had_query {
        text.push_str("?…");
    }
    text
}

/// A user-typed URL with any user info, query and fragment removed, for
/// error messages about URLs that may not even parse.
fn redact_input(input: &str) -> String {
    let (prefix, rest) = match input.find("//") {
        Some(i) => input.split_at(i + 2),
        None => ("", input),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("***@{}", &authority[at + 1..]),
        None => authority.to_string(),
    };
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let mut shown = format!("{prefix}{authority}{}", &tail[..path_end]);
    if path_end < tail.len() {
        shown.push('…');
    }
    clip(&shown, 200)
}

/// At most `limit` characters of `text`, with an ellipsis when cut.
fn clip(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Header names that carry credentials even when the connector did not mark
/// them sensitive (matched case-insensitively as substrings).
pub(crate) const CREDENTIAL_HEADER_HINTS: &[&str] = &[
    "auth",
    "token",
    "secret",
    "key",
    "password",
    "passwd",
    "cookie",
    "session",
    "signature",
    "credential",
    "code",
];

fn looks_like_credential(name: &HeaderName) -> bool {
    let name = name.as_str();
    CREDENTIAL_HEADER_HINTS
        .iter()
        .any(|hint| name.contains(hint))
}

/// Debug output of headers that hides sensitive and credential-like values.
struct RedactedHeaders<'a>(&'a HeaderMap);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if value.is_sensitive() || looks_like_credential(name) {
                map.entry(&name.as_str(), &"<redacted>");
            } else {
                map.entry(&name.as_str(), &value);
            }
        }
        map.finish()
    }
}

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
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
    /// Retry even though the method is not idempotent (POST/PATCH).
    pub retry_safe: bool,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &display_url(&self.url))
            .field("headers", &RedactedHeaders(&self.headers))
            .field(
                "body",
                &self.body.as_ref().map(|b| format!("<{} bytes>", b.len())),
            )
            .field("retry_safe", &self.retry_safe)
            .finish()
    }
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

    /// Adds a header, replacing any earlier value of that name. Invalid
    /// names or values are dropped with a warning (they come from the
    /// connector, not the user). Values of credential-like names
    /// (`Authorization`, `*token*`, `*key*`, ...) are marked sensitive.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            tracing::warn!(header = name, "dropping a header with an invalid name");
            return self;
        };
        match HeaderValue::from_str(value) {
            Ok(mut value) => {
                if looks_like_credential(&name) {
                    value.set_sensitive(true);
                }
                self.headers.insert(name, value);
            }
            Err(_) => {
                tracing::warn!(header = %name, "dropping a header with an invalid value");
            }
        }
        self
    }

    /// Adds a header marked sensitive, so it never shows in Debug output.
    pub fn secret_header(mut self, name: &str, value: &secrecy::SecretString) -> Self {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            tracing::warn!(
                header = name,
                "dropping a secret header with an invalid name"
            );
            return self;
        };
        match HeaderValue::from_str(value.expose_secret()) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.headers.insert(name, value);
            }
            Err(_) => {
                tracing::warn!(header = %name, "dropping a secret header with an invalid value");
            }
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
                self.headers
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
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
        self.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self.body = Some(encoded.into_bytes());
        self
    }

    /// Allows retrying a non-idempotent request.
    pub fn retry_safe(mut self, safe: bool) -> Self {
        self.retry_safe = safe;
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
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
    /// The final URL (after redirects).
    pub url: Url,
    /// Attempts it took.
    pub attempts: u32,
    /// The request's method, for decode errors.
    method: Method,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("url", &display_url(&self.url))
            .field("headers", &RedactedHeaders(&self.headers))
            .field("body", &format!("<{} bytes>", self.body.len()))
            .field("attempts", &self.attempts)
            .finish()
    }
}

impl Response {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
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

/// A refusal raised inside reqwest (by the resolver or the redirect
/// policy), found again in the error's source chain.
#[derive(Debug)]
enum Refusal {
    /// The address is refused by the policy.
    Address { host: String },
    /// The scheme is refused by the policy.
    Scheme { url: String },
    /// Too many redirects.
    RedirectLimit,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Address { host } => write!(f, "`{host}` is a refused address"),
            Refusal::Scheme { url } => write!(f, "`{url}` uses a refused scheme"),
            Refusal::RedirectLimit => write!(f, "more than {MAX_REDIRECTS} redirects"),
        }
    }
}

impl std::error::Error for Refusal {}

impl From<HttpError> for Refusal {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::InsecureScheme { url } => Refusal::Scheme { url },
            HttpError::ForbiddenAddress { host } => Refusal::Address { host },
            other => Refusal::Address {
                host: other.to_string(),
            },
        }
    }
}

/// Resolves host names with tokio and keeps only the addresses the policy
/// permits.
struct PolicyResolver {
    policy: AddressPolicy,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(resolve_permitted(name.as_str().to_string(), self.policy))
    }
}

async fn resolve_permitted(
    host: String,
    policy: AddressPolicy,
) -> Result<reqwest::dns::Addrs, BoxError> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
    let permitted: Vec<SocketAddr> = found
        .iter()
        .copied()
        .filter(|addr| policy.permits(addr.ip()))
        .collect();
    if permitted.is_empty() && !found.is_empty() {
        tracing::warn!(host = %host, "refusing a host name that resolves only to refused addresses");
        return Err(Box::new(Refusal::Address { host }));
    }
    Ok(Box::new(permitted.into_iter()))
}

/// The target of a redirect reqwest handed back instead of following: a
/// 3xx whose `Location` is an absolute URL with a scheme other than http(s)
/// (`file:`, `ftp:`, ...). Shown without its query or fragment.
fn unfollowed_redirect(exchange: &Exchange) -> Option<String> {
    if !exchange.status.is_redirection() {
        return None;
    }
    let location = exchange
        .headers
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()?;
    let mut target = Url::parse(location.trim()).ok()?;
    if matches!(target.scheme(), "http" | "https") {
        return None;
    }
    target.set_query(None);
    target.set_fragment(None);
    Some(target.to_string())
}

/// The redirect policy: at most [`MAX_REDIRECTS`], each target checked like
/// the request's own URL.
fn redirect_policy(policy: AddressPolicy) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        // `previous` starts with the original URL.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(Refusal::RedirectLimit);
        }
        match check_target(attempt.url(), policy) {
            Ok(()) => attempt.follow(),
            Err(e) => {
                tracing::warn!(error = %e, "refusing a redirect");
                attempt.error(Refusal::from(e))
            }
        }
    })
}

/// A sliding-window rate limiter shared by the clones of a client.
struct RateLimiter {
    requests: usize,
    per: Duration,
    sent: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    fn new(limit: RateLimit) -> Self {
        let requests = usize::try_from(limit.requests.max(1)).unwrap_or(usize::MAX);
        Self {
            requests,
            per: limit.per,
            sent: Mutex::new(VecDeque::with_capacity(requests.min(1024))),
        }
    }

    /// Waits until one more request fits in the window, and records it.
    async fn acquire(&self) {
        loop {
            let wait = {
                let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
                let now = Instant::now();
                while sent
                    .front()
                    .is_some_and(|first| now.saturating_duration_since(*first) >= self.per)
                {
                    sent.pop_front();
                }
                if sent.len() < self.requests {
                    sent.push_back(now);
                    return;
                }
                match sent.front() {
                    Some(first) => first
                        .checked_add(self.per)
                        .map_or(self.per, |free| free.saturating_duration_since(now)),
                    None => Duration::ZERO,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

struct Inner {
    client: reqwest::Client,
    config: HttpConfig,
    limiter: Option<RateLimiter>,
    sent: AtomicU64,
}

/// The shared HTTP client. Cheap to clone; clones share the connection pool
/// and the rate limiter.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("config", &self.inner.config)
            .field("requests_sent", &self.requests_sent())
            .finish()
    }
}

/// What one attempt brought back.
struct Exchange {
    status: StatusCode,
    headers: HeaderMap,
    url: Url,
    body: Vec<u8>,
}

impl HttpClient {
    /// A client with `config`.
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(config.timeout)
            .user_agent(config.user_agent.as_str())
            .redirect(redirect_policy(config.addresses))
            .dns_resolver(Arc::new(PolicyResolver {
                policy: config.addresses,
            }))
            .no_proxy()
            .build()
            .map_err(|e| HttpError::Client {
                reason: error_chain(&e),
            })?;
        let limiter = config.rate_limit.map(RateLimiter::new);
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                config,
                limiter,
                sent: AtomicU64::new(0),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// Validates a user-typed URL against this client's address policy.
    pub fn validate_url(&self, input: &str) -> Result<Url, HttpError> {
        validate_url(input, self.inner.config.addresses)
    }

    /// Sends `request` with rate limiting and retries. Non-2xx answers are
    /// [`HttpError::Status`] with the provider's message.
    ///
    /// The URL's scheme and literal address are checked against the address
    /// policy first (host names are checked when they are resolved).
    /// 429, 502, 503, 504, timeouts, connection failures and responses cut
    /// off mid-body are retried up to `max_attempts` for idempotent methods
    /// and `retry_safe` requests
    /// (a 429 for any method: the provider refused it without processing it),
    /// waiting `Retry-After` when given (a longer wait than `max_delay` is
    /// returned as the error instead) or an exponential backoff. A 429 is
    /// waited out under [`HttpConfig::throttle`] when one is set.
    ///
    /// A body larger than [`BodyLimits::success`] fails with
    /// [`HttpError::ResponseTooLarge`] (not retried); only the first
    /// [`BodyLimits::error`] bytes of an error body are read. The whole
    /// request, retries included, fails with [`HttpError::DeadlineExceeded`]
    /// once [`HttpConfig::request_deadline`] has passed.
    pub async fn send(&self, request: Request) -> Result<Response, HttpError> {
        let config = &self.inner.config;
        check_target(&request.url, config.addresses)?;
        let method = request.method.as_str().to_string();
        let path = request.url.path().to_string();
        let may_retry = request.retry_safe || is_idempotent(&request.method);
        let max_attempts = config.retry.max_attempts.max(1);
        let limits = config.body_limits.unwrap_or_default();
        let deadline = config.request_deadline();
        let began = Instant::now();
        // Time spent waiting on rate limits (the client's own and 429s),
        // which the deadline does not count.
        let mut paced = Duration::ZERO;
        // 429s waited out under the throttle policy, and the time waited.
        let mut throttled: u32 = 0;
        let mut throttle_waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        let deadline_error = |attempts: u32| HttpError::DeadlineExceeded {
            method: method.clone(),
            path: path.clone(),
            deadline,
            attempts,
        };
        loop {
            attempt += 1;
            if let Some(limiter) = &self.inner.limiter {
                let queued = Instant::now();
                limiter.acquire().await;
                paced += queued.elapsed();
            }
            let spent = began.elapsed().saturating_sub(paced);
            let Some(budget) = deadline.checked_sub(spent).filter(|b| !b.is_zero()) else {
                return Err(deadline_error(attempt - 1));
            };
            self.inner.sent.fetch_add(1, Ordering::Relaxed);
            let span = tracing::debug_span!(
                "http_request",
                method = %method,
                path = %path,
                attempt,
                status = tracing::field::Empty,
            );
            let started = Instant::now();
            let outcome = match tokio::time::timeout(
                budget,
                self.exchange(&request, limits).instrument(span.clone()),
            )
            .await
            {
                Ok(outcome) => outcome,
                Err(_) => {
                    tracing::warn!(parent: &span, deadline_ms = u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX), "giving up: the request's deadline passed");
                    return Err(deadline_error(attempt));
                }
            };
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            // The error this attempt ends with, when it is transient the wait
            // before the next attempt, and whether the provider refused the
            // request without processing it (429: safe to resend any method).
            let (error, wait, unprocessed) = match outcome {
                Ok(exchange) => {
                    let status = exchange.status.as_u16();
                    span.record("status", status);
                    if exchange.status.is_success() {
                        tracing::debug!(parent: &span, status, elapsed_ms, "response");
                        return Ok(Response {
                            status,
                            headers: exchange.headers,
                            body: exchange.body,
                            url: exchange.url,
                            attempts: attempt,
                            method: request.method,
                        });
                    }
                    if let Some(target) = unfollowed_redirect(&exchange) {
                        // reqwest follows only http(s) redirects (each
                        // checked by the redirect policy); one it handed
                        // back points at a scheme it cannot fetch.
                        tracing::warn!(parent: &span, status, "refusing a redirect to another scheme");
                        return Err(HttpError::InsecureScheme { url: target });
                    }
                    let retry_after = retry_after(&exchange.headers, SystemTime::now());
                    let error = HttpError::Status {
                        method: method.clone(),
                        path: path.clone(),
                        status,
                        message: scrub_echoed_secrets(
                            error_message(&exchange.body)
                                .unwrap_or_else(|| status_reason(exchange.status)),
                            &request,
                        ),
                        retry_after,
                    };
                    if let (429, Some(policy)) = (status, config.throttle) {
                        if policy.is_quota(&exchange.body) {
                            tracing::warn!(parent: &span, error = %error, "giving up: the provider's quota is used up");
                            return Err(error);
                        }
                        throttled += 1;
                        match policy.wait(throttled, throttle_waited, retry_after) {
                            Some(wait) => {
                                let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                                tracing::warn!(parent: &span, error = %error, wait_ms, throttled, "rate limited; waiting");
                                tokio::time::sleep(wait).await;
                                throttle_waited += wait;
                                paced += wait;
                                continue;
                            }
                            None => {
                                tracing::warn!(parent: &span, error = %error, throttled, "giving up: rate limited for longer than the throttle policy waits");
                                return Err(error);
                            }
                        }
                    }
                    let wait = is_transient_status(status)
                        .then(|| retry_after.unwrap_or_else(|| config.retry.backoff(attempt)));
                    (error, wait, status == 429)
                }
                Err(AttemptError::TooLarge { limit }) => {
                    tracing::warn!(parent: &span, limit, "giving up: the response body is larger than the limit");
                    return Err(HttpError::ResponseTooLarge {
                        method: method.clone(),
                        path: path.clone(),
                        limit,
                    });
                }
                Err(AttemptError::Http(e)) => {
                    // A body cut off mid-way (reset, early close) is as
                    // transient as a failed connect: resending is safe for
                    // the requests `may_retry` admits.
                    let cut_off = (e.is_body() || e.is_decode() || e.is_request())
                        && find_refusal(&e).is_none();
                    let error = map_error(e, &request, config.timeout);
                    let transient = cut_off
                        || matches!(error, HttpError::Timeout { .. } | HttpError::Connect { .. });
                    (
                        error,
                        transient.then(|| config.retry.backoff(attempt)),
                        false,
                    )
                }
            };
            // Attempts that ended on a 429 waited out under the throttle
            // policy do not use up the retry budget.
            let counted = attempt - throttled;
            match wait {
                Some(wait) if (may_retry || unprocessed) && counted < max_attempts => {
                    if wait > config.retry.max_delay {
                        // Only a `Retry-After` can ask for that long.
                        tracing::warn!(parent: &span, error = %error, retry_after_s = wait.as_secs(), "giving up: Retry-After is longer than the longest wait");
                        return Err(error);
                    }
                    let spent = began.elapsed().saturating_sub(paced);
                    if spent.saturating_add(wait) >= deadline {
                        tracing::warn!(parent: &span, error = %error, "giving up: no time is left for another attempt before the request's deadline");
                        return Err(error);
                    }
                    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    tracing::warn!(parent: &span, error = %error, wait_ms, "retrying");
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    tracing::debug!(parent: &span, error = %error, elapsed_ms, "request failed");
                    return Err(error);
                }
            }
        }
    }

    /// One attempt: send, then read the body, at most `limits.success`
    /// bytes of a success and `limits.error` bytes of anything else.
    async fn exchange(
        &self,
        request: &Request,
        limits: BodyLimits,
    ) -> Result<Exchange, AttemptError> {
        let mut builder = self
            .inner
            .client
            .request(request.method.clone(), request.url.clone())
            .headers(request.headers.clone());
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let url = response.url().clone();
        let body = if status.is_success() {
            if response
                .content_length()
                .is_some_and(|n| n > limits.success)
            {
                return Err(AttemptError::TooLarge {
                    limit: limits.success,
                });
            }
            match read_body(&mut response, limits.success).await? {
                (body, false) => body,
                (_, true) => {
                    return Err(AttemptError::TooLarge {
                        limit: limits.success,
                    })
                }
            }
        } else {
            // The message is in the first bytes; the rest is not read.
            read_body(&mut response, limits.error).await?.0
        };
        Ok(Exchange {
            status,
            headers,
            url,
            body,
        })
    }

    /// Requests sent so far (each attempt counts), for benchmarks.
    pub fn requests_sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }
}

/// The most a response body's buffer is sized to before any of it arrives
/// (from its Content-Length); larger bodies grow as they come.
const PREALLOCATE_AT_MOST: u64 = 8 * 1024 * 1024;

/// Why one attempt brought back no [`Exchange`].
enum AttemptError {
    /// The transport failed.
    Http(reqwest::Error),
    /// A success body is larger than `limit` bytes.
    TooLarge { limit: u64 },
}

impl From<reqwest::Error> for AttemptError {
    fn from(e: reqwest::Error) -> Self {
        AttemptError::Http(e)
    }
}

/// Reads `response`'s body, at most `limit` bytes of it; `true` when there
/// was more (which is left unread). Chunks are appended to one buffer sized
/// from Content-Length (up to a cap, so a hostile length allocates nothing
/// up front), which grows by doubling but never past `limit`: a large page
/// is copied once, and memory stays within the limit whatever arrives.
async fn read_body(
    response: &mut reqwest::Response,
    limit: u64,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let expected = response
        .content_length()
        .unwrap_or(0)
        .min(PREALLOCATE_AT_MOST);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).min(limit));
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        let take = chunk.len().min(room);
        if body.capacity() - body.len() < take {
            let wanted = body
                .capacity()
                .saturating_mul(2)
                .max(body.len() + take)
                .min(limit);
            body.reserve_exact(wanted - body.len());
        }
        body.extend_from_slice(&chunk[..take]);
        if take < chunk.len() {
            return Ok((body, true));
        }
    }
    Ok((body, false))
}

/// `message` with every credential the request carried replaced by `***`,
/// in every form a server may echo it (see [`crate::scrub::Scrubber`]):
/// some servers echo the request (a form's `client_secret`, the
/// `Authorization` value or the pair behind it) in their error bodies, and
/// the message is logged and shown to users.
fn scrub_echoed_secrets(message: String, request: &Request) -> String {
    crate::scrub::Scrubber::for_request(request).scrub(&message)
}

fn is_idempotent(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
    ]
    .contains(method)
}

fn is_transient_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

fn status_reason(status: StatusCode) -> String {
    status
        .canonical_reason()
        .map_or_else(|| format!("HTTP {}", status.as_u16()), str::to_string)
}

/// Maps a reqwest failure to the typed error, without the URL (its query
/// may carry tokens).
fn map_error(e: reqwest::Error, request: &Request, timeout: Duration) -> HttpError {
    let e = e.without_url();
    let method = request.method.as_str().to_string();
    let path = request.url.path().to_string();
    if let Some(refusal) = find_refusal(&e) {
        return match refusal {
            Refusal::Address { host } => HttpError::ForbiddenAddress { host: host.clone() },
            Refusal::Scheme { url } => HttpError::InsecureScheme { url: url.clone() },
            Refusal::RedirectLimit => HttpError::Transport {
                method,
                path,
                reason: refusal.to_string(),
            },
        };
    }
    if e.is_timeout() {
        HttpError::Timeout {
            method,
            path,
            timeout,
        }
    } else if e.is_connect() {
        HttpError::Connect {
            host: request.url.host_str().unwrap_or_default().to_string(),
            reason: error_chain(&e),
        }
    } else if e.is_decode() || e.is_body() {
        // reqwest calls a failed body read "error decoding response body"
        // even when the connection broke; say what happened.
        let cause = std::error::Error::source(&e).map_or_else(|| error_chain(&e), error_chain);
        HttpError::Transport {
            method,
            path,
            reason: format!("the response was cut off before its end ({cause})"),
        }
    } else {
        HttpError::Transport {
            method,
            path,
            reason: error_chain(&e),
        }
    }
}

fn find_refusal(e: &reqwest::Error) -> Option<&Refusal> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(refusal) = err.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        current = err.source();
    }
    None
}

/// The messages of `e` and its sources, joined, without repeats.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// The wait a `Retry-After` header asks for (delta seconds or an HTTP date,
/// relative to `now`), if any.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = parse_http_date(value)?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an HTTP date in its preferred form (RFC 7231 IMF-fixdate) and the
/// two obsolete ones (RFC 850, asctime).
fn parse_http_date(value: &str) -> Option<SystemTime> {
    use chrono::{DateTime, NaiveDateTime, Utc};
    let parsed = DateTime::parse_from_rfc2822(value)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
                .map(|naive| naive.and_utc())
        })?;
    Some(SystemTime::from(parsed))
}

/// The provider's message in an error body: the usual JSON keys
/// (`message`, `Message`, `error_description` (after the OAuth `error`
/// code), `error.message`, `error`, `errors[0]` / `errors[0].message`,
/// `[0].message`, `title` / `detail`), else the body's text; at most 300
/// characters. `None` for an empty body.
pub fn error_message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let message = match serde_json::from_str::<Value>(text) {
        Ok(value) => match json_message(&value) {
            Some(message) => message,
            None if is_empty_json(&value) => return None,
            None => text.to_string(),
        },
        Err(_) => text.to_string(),
    };
    let collapsed = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return None;
    }
    Some(clip(&collapsed, MESSAGE_LIMIT))
}

fn is_empty_json(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn non_empty_str(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The message of an `errors` entry: a string or an object's `message`.
fn entry_message(entry: &Value) -> Option<&str> {
    non_empty_str(Some(entry)).or_else(|| {
        non_empty_str(entry.get("message")).or_else(|| non_empty_str(entry.get("Message")))
    })
}

fn json_message(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Array(items) => items.first().and_then(entry_message).map(str::to_string),
        Value::Object(map) => {
            let key = |k: &str| non_empty_str(map.get(k));
            let details: Vec<&str> = map
                .get("errors")
                .and_then(Value::as_array)
                .map(|errors| errors.iter().filter_map(entry_message).take(3).collect())
                .unwrap_or_default();
            if let Some(message) = key("message").or_else(|| key("Message")) {
                let details: Vec<&str> = details.into_iter().filter(|d| *d != message).collect();
                return Some(if details.is_empty() {
                    message.to_string()
                } else {
                    format!("{message} ({})", details.join("; "))
                });
            }
            if let Some(description) = key("error_description") {
                return Some(match key("error") {
                    Some(code) => format!("{code}: {description}"),
                    None => description.to_string(),
                });
            }
            if let Some(message) = map.get("error").and_then(|e| {
                non_empty_str(e.get("message")).or_else(|| non_empty_str(e.get("Message")))
            }) {
                return Some(message.to_string());
            }
            if let Some(code) = key("error") {
                return Some(code.to_string());
            }
            if !details.is_empty() {
                return Some(details.join("; "));
            }
            match (key("title"), key("detail")) {
                (Some(title), Some(detail)) => return Some(format!("{title}: {detail}")),
                (Some(one), None) | (None, Some(one)) => return Some(one.to_string()),
                (None, None) => {}
            }
            // Field-keyed validation errors: {"[0].name": "is required"}.
            if !map.is_empty() && map.len() <= 5 && map.values().all(|v| v.is_string()) {
                let parts: Vec<String> = map
                    .iter()
                    .filter_map(|(k, v)| non_empty_str(Some(v)).map(|v| format!("{k}: {v}")))
                    .collect();
                if !parts.is_empty() {
                    return Some(parts.join("; "));
                }
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        let refused_without_private = [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "ff02::1",
        ];
        for ip in refused_without_private {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!AddressPolicy::allow_local().permits(ip), "{ip}");
            assert!(
                AddressPolicy {
                    allow_loopback: false,
                    allow_private: true
                }
                .permits(ip),
                "{ip}"
            );
        }
        for ip in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!AddressPolicy::public_only().permits(ip), "{ip}");
            assert!(AddressPolicy::allow_local().permits(ip), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "::ffff:1.1.1.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(AddressPolicy::public_only().permits(ip), "{ip}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now =
            SystemTime::from(chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z").unwrap());
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
            retry_after(&headers, now)
        };
        assert_eq!(with("120"), Some(Duration::from_secs(120)));
        assert_eq!(with(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            with("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            with("Wednesday, 21-Oct-15 07:29:00 GMT"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            with("Wed Oct 21 07:28:05 2015"),
            Some(Duration::from_secs(5))
        );
        assert_eq!(with("Wed, 21 Oct 2015 07:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(with("soon"), None);
        assert_eq!(with("-5"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn input_redaction_drops_user_info_and_query() {
        assert_eq!(
            redact_input("https://bob:hunter2@example.com/a?token=x"),
            "https://***@example.com/a…"
        );
        assert_eq!(redact_input("bob:hunter2@host/x"), "***@host/x");
        assert_eq!(redact_input("https://example.com"), "https://example.com");
    }

    #[test]
    fn echoed_credentials_are_scrubbed_from_provider_messages() {
        let url = Url::parse("https://h.example/auth/token").unwrap();
        let request = Request::new(Method::POST, url)
            .secret_header(
                "Authorization",
                &secrecy::SecretString::from("Bearer tok-123456"),
            )
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "client-abc"),
                ("client_secret", "s3cr3t-value"),
            ]);
        let scrubbed = scrub_echoed_secrets(
            "bad client_secret=s3cr3t-value for grant_type client_credentials, token tok-123456 (Bearer tok-123456)".into(),
            &request,
        );
        assert_eq!(
            scrubbed,
            "bad client_secret=*** for grant_type client_credentials, token *** (***)"
        );
    }

    #[test]
    fn decode_errors_hide_quoted_values() {
        assert_eq!(
            redact_quoted(r#"invalid type: string "tok-123", expected u64 at line 1 column 9"#),
            r#"invalid type: string "…", expected u64 at line 1 column 9"#
        );
    }
}
