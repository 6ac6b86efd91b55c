//! The shared HTTP client: the send loop (rate limit, attempt, retry or
//! give up under the request's deadline) and one attempt's exchange.

use super::address::{check_target, redirect_policy, validate_url, PolicyResolver, Refusal};
use super::error_body::{error_message, scrub_echoed_secrets, status_reason};
use super::ratelimit::RateLimiter;
use super::retry::{decide, is_idempotent, is_transient_status, retry_after, Decision, Failure};
use super::Headers;
use super::{BodyLimits, HttpConfig, Request, Response};
use crate::error::{chain as error_chain, HttpError, TransportCause};
use reqwest::StatusCode;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

struct Inner {
    client: reqwest::Client,
    config: HttpConfig,
    limiter: Option<RateLimiter>,
    sent: AtomicU64,
    /// Answers with status 429 received so far.
    throttled: AtomicU64,
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
    headers: Headers,
    url: Url,
    body: Vec<u8>,
}

impl HttpClient {
    /// A client with `config`.
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(config.timeout)
            .user_agent(config.user_agent.as_str())
            .redirect(redirect_policy(config.addresses))
            .dns_resolver(Arc::new(PolicyResolver {
                policy: config.addresses,
            }));
        for root in &config.root_certificates {
            for certificate in root.certificates() {
                builder = builder.add_root_certificate(certificate.clone());
            }
        }
        builder = match &config.proxy {
            // Environment proxies are ignored too.
            None => builder.no_proxy(),
            Some(proxy) => {
                if !matches!(proxy.url().scheme(), "http" | "https") {
                    return Err(HttpError::Client {
                        reason: format!(
                            "the proxy {} is not an http:// or https:// URL",
                            proxy.origin()
                        ),
                    });
                }
                // Setting a proxy turns environment proxies off as well.
                builder.proxy(reqwest::Proxy::all(proxy.url().as_str()).map_err(|e| {
                    HttpError::Client {
                        reason: format!(
                            "the proxy {} is not usable: {}",
                            proxy.origin(),
                            error_chain(&e.without_url())
                        ),
                    }
                })?)
            }
        };
        let client = builder.build().map_err(|e| HttpError::Client {
            reason: error_chain(&e),
        })?;
        let limiter = config.rate_limit.map(RateLimiter::new);
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                config,
                limiter,
                sent: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
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
                    if request.keep_client_errors
                        && (400..500).contains(&status)
                        && !is_transient_status(status)
                    {
                        tracing::debug!(parent: &span, status, elapsed_ms, "client error handed back to the connector");
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
                    if status == 429 {
                        self.inner.throttled.fetch_add(1, Ordering::Relaxed);
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
            let decision = decide(Failure {
                wait,
                resendable: may_retry || unprocessed,
                attempts: counted,
                max_attempts,
                max_delay: config.retry.max_delay,
                spent: began.elapsed().saturating_sub(paced),
                deadline,
            });
            match decision {
                Decision::Retry(wait) => {
                    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                    tracing::warn!(parent: &span, error = %error, wait_ms, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Decision::WaitTooLong => {
                    let retry_after_s = wait.unwrap_or_default().as_secs();
                    tracing::warn!(parent: &span, error = %error, retry_after_s, "giving up: Retry-After is longer than the longest wait");
                    return Err(error);
                }
                Decision::NoTimeLeft => {
                    tracing::warn!(parent: &span, error = %error, "giving up: no time is left for another attempt before the request's deadline");
                    return Err(error);
                }
                Decision::GiveUp => {
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
            .request(request.method.to_wire(), request.url.clone())
            .headers(request.headers.map().clone());
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let mut response = builder.send().await?;
        let status = response.status();
        let headers = Headers::from_map(response.headers().clone());
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

    /// Answers with status 429 (too many requests) received so far,
    /// retried or not: the signal the concurrent page fetch
    /// ([`crate::pages::numbered_record_stream`]) slows down on.
    pub fn throttle_replies(&self) -> u64 {
        self.inner.throttled.load(Ordering::Relaxed)
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

/// The target of a redirect reqwest handed back instead of following: a
/// 3xx whose `Location` is an absolute URL with a scheme other than http(s)
/// (`file:`, `ftp:`, ...). Shown without its query or fragment.
fn unfollowed_redirect(exchange: &Exchange) -> Option<String> {
    if !exchange.status.is_redirection() {
        return None;
    }
    let location = exchange.headers.get("location")?;
    let mut target = Url::parse(location.trim()).ok()?;
    if matches!(target.scheme(), "http" | "https") {
        return None;
    }
    target.set_query(None);
    target.set_fragment(None);
    Some(target.to_string())
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
                source: None,
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
            source: TransportCause::new(e),
        }
    } else if e.is_decode() || e.is_body() {
        // reqwest calls a failed body read "error decoding response body"
        // even when the connection broke; say what happened, and show the
        // cause from reqwest's source on.
        HttpError::Transport {
            method,
            path,
            reason: "the response was cut off before its end".to_string(),
            source: Some(TransportCause::from_source_of(e)),
        }
    } else {
        HttpError::Transport {
            method,
            path,
            reason: "the request could not be completed".to_string(),
            source: Some(TransportCause::new(e)),
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
