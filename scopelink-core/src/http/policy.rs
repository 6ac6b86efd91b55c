//! The settings that shape a client's behaviour towards one provider:
//! retries, rate-limit waits, body sizes, page-walk bounds, and the
//! client-side rate limit.

use crate::error::HttpError;
use std::time::Duration;

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

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry):
    /// `base_delay * 2^(retry - 1)` plus up to half of that again as
    /// jitter, never more than `max_delay`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        let exponential = self
            .base_delay
            .checked_mul(1u32 << exponent)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let half = u64::try_from(exponential.as_nanos() / 2).unwrap_or(u64::MAX);
        let jitter = Duration::from_nanos(fastrand::u64(0..=half));
        exponential.saturating_add(jitter).min(self.max_delay)
    }
}

/// How a provider's rate-limit refusal (HTTP 429) is waited out: the
/// per-provider part of the retry policy.
///
/// A 429 says the request was refused unprocessed, so it is resent for any
/// method. How long to wait depends on the provider's limit: a rolling
/// window of minutes (HaloPSA) needs waits of seconds growing to about a
/// minute, a per-second limit (HubSpot, Dataverse) short waits or the
/// provider's `Retry-After`, a daily quota (Salesforce) no hot retry at all
/// ([`ThrottlePolicy::NO_RETRY`]). Connectors set their provider's shape
/// when [`HttpConfig::throttle`] is `None`; without one, a 429 is retried
/// like a 503 under [`RetryPolicy`].
///
/// Waits on a 429 do not count against [`HttpConfig::deadline`]: they are
/// the provider's pace, not a slow answer; `max_total_wait` bounds them.
///
/// [`HttpConfig::throttle`]: super::HttpConfig::throttle
/// [`HttpConfig::deadline`]: super::HttpConfig::deadline
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Whether a 429 is retried at all.
    pub retry: bool,
    /// The wait after the first 429 without a usable `Retry-After`; doubled
    /// after each further 429 of the same request.
    pub first_wait: Duration,
    /// The longest single wait (a longer `Retry-After` gives up at once).
    pub max_wait: Duration,
    /// The most one request waits on 429s in all; a wait that would pass
    /// it gives up with the 429 instead.
    pub max_total_wait: Duration,
    /// The most 429s one request is resent after.
    pub max_retries: u32,
    /// Texts that mark a 429 as an exhausted quota, which waiting seconds
    /// does not lift: a 429 whose body contains one fails at once (HubSpot
    /// answers its per-second and its daily limit with 429 alike; the daily
    /// one's body names the `DAILY` policy).
    pub quota_markers: &'static [&'static str],
}

impl ThrottlePolicy {
    /// No retry on a 429: for daily quotas, where waiting seconds cannot
    /// help and retrying only spends what is left of the quota.
    pub const NO_RETRY: ThrottlePolicy = ThrottlePolicy {
        retry: false,
        first_wait: Duration::ZERO,
        max_wait: Duration::ZERO,
        max_total_wait: Duration::ZERO,
        max_retries: 0,
        quota_markers: &[],
    };

    /// Whether the body of a 429 marks an exhausted quota (see
    /// [`ThrottlePolicy::quota_markers`]).
    pub fn is_quota(&self, body: &[u8]) -> bool {
        self.quota_markers.iter().any(|marker| {
            !marker.is_empty()
                && body
                    .windows(marker.len())
                    .any(|window| window == marker.as_bytes())
        })
    }

    /// The wait before resending a request after its `throttled`-th 429
    /// (1 for the first), having waited `waited` on its earlier 429s, when
    /// the provider asked for `retry_after` (if it did); `None` to give up.
    ///
    /// The wait is `retry_after` when given, else `first_wait` doubled
    /// `throttled - 1` times; at most `max_wait` (a longer `Retry-After`
    /// gives up). A pure function: the client adds no jitter beyond it.
    pub fn wait(
        &self,
        throttled: u32,
        waited: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if !self.retry || throttled == 0 || throttled > self.max_retries {
            return None;
        }
        let wait = match retry_after {
            Some(asked) if asked > self.max_wait => return None,
            Some(asked) => asked,
            None => {
                let exponent = (throttled - 1).min(31);
                self.first_wait
                    .checked_mul(1u32 << exponent)
                    .unwrap_or(self.max_wait)
                    .min(self.max_wait)
            }
        };
        (waited.saturating_add(wait) <= self.max_total_wait).then_some(wait)
    }
}

/// How large a response body may be.
///
/// Bodies are read chunk by chunk and the limit is checked as they arrive,
/// so memory stays within the limit whatever the provider sends (a huge
/// `Content-Length` is refused before reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// The largest successful (2xx) body, in bytes: size it to the
    /// provider's largest real page with room to spare. A larger body fails
    /// with [`HttpError::ResponseTooLarge`], which is not retried.
    pub success: u64,
    /// How much of an error body is read for its message, in bytes; the
    /// rest is not read (the connection is dropped).
    pub error: u64,
}

impl BodyLimits {
    /// 32 MiB for a page, 64 KiB of an error body: what
    /// [`HttpConfig::body_limits`] falls back to when neither the host nor
    /// the connector set limits.
    ///
    /// [`HttpConfig::body_limits`]: super::HttpConfig::body_limits
    pub const DEFAULT: BodyLimits = BodyLimits {
        success: 32 * 1024 * 1024,
        error: 64 * 1024,
    };
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Bounds of every page walk: no real account has more pages than this,
/// so a provider that never says "last page" is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    /// The most pages one list walk reads (one data type of a sync, one
    /// option list); more is [`HttpError::TooManyPages`].
    pub max_pages: u64,
    /// The most items of a list gathered in memory (filter options, the
    /// push form's lookups: see [`super::collect_pages`]); more is
    /// [`HttpError::TooManyItems`].
    pub max_collected_items: usize,
}

impl PageLimits {
    /// 100,000 pages per walk (ten million records at 100 a page); 100,000
    /// items per gathered list.
    pub const DEFAULT: PageLimits = PageLimits {
        max_pages: 100_000,
        max_collected_items: 100_000,
    };

    /// The most records one list of any real account plausibly holds, for
    /// [`PageLimits::for_records`]: five million.
    pub const PLAUSIBLE_RECORDS: u64 = 5_000_000;

    /// Limits for pages of `page_size` records: as many pages as
    /// `max_records` fill (at least one), and the default item limit.
    /// Connectors size their default with [`PageLimits::PLAUSIBLE_RECORDS`]
    /// and their page size, so the bound means the same number of records
    /// whatever the page size.
    pub const fn for_records(max_records: u64, page_size: u32) -> PageLimits {
        let page_size = if page_size == 0 { 1 } else { page_size as u64 };
        let pages = max_records.div_ceil(page_size);
        PageLimits {
            max_pages: if pages == 0 { 1 } else { pages },
            max_collected_items: PageLimits::DEFAULT.max_collected_items,
        }
    }

    /// `Err(TooManyItems)` when a gathered list of `len` items is over the
    /// limit: call it as items are added.
    pub fn check_collected(&self, len: usize) -> Result<(), HttpError> {
        if len > self.max_collected_items {
            Err(HttpError::TooManyItems {
                limit: self.max_collected_items,
            })
        } else {
            Ok(())
        }
    }
}

impl Default for PageLimits {
    fn default() -> Self {
        Self::DEFAULT
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(150));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(600));
            assert_eq!(policy.backoff(40), Duration::from_secs(1));
        }
    }

    #[test]
    fn throttle_waits_double_to_the_longest_and_stop_at_the_total() {
        let ms = Duration::from_millis;
        let policy = ThrottlePolicy {
            retry: true,
            first_wait: ms(100),
            max_wait: ms(500),
            max_total_wait: ms(1_500),
            max_retries: 8,
            quota_markers: &[],
        };
        // (429 number, waited so far, Retry-After) -> wait
        let table = [
            (1, 0, None, Some(100)),
            (2, 100, None, Some(200)),
            (3, 300, None, Some(400)),
            (4, 700, None, Some(500)),
            (5, 1_200, None, None), // 1,700 would pass the total
            (5, 1_000, None, Some(500)),
            (1, 0, Some(300), Some(300)),
            (1, 0, Some(0), Some(0)),
            (1, 0, Some(501), None), // longer than the longest wait
            (2, 1_400, Some(100), Some(100)),
            (9, 0, None, None), // past max_retries
            (0, 0, None, None),
            (40, 0, None, None),
        ];
        for (throttled, waited, asked, expected) in table {
            assert_eq!(
                policy.wait(throttled, ms(waited), asked.map(ms)),
                expected.map(ms),
                "429 #{throttled} after {waited} ms, Retry-After {asked:?}"
            );
        }
        let huge = ThrottlePolicy {
            max_retries: u32::MAX,
            max_total_wait: Duration::MAX,
            ..policy
        };
        assert_eq!(huge.wait(200, Duration::ZERO, None), Some(ms(500)));
        assert_eq!(
            ThrottlePolicy::NO_RETRY.wait(1, Duration::ZERO, Some(Duration::ZERO)),
            None
        );
    }

    #[test]
    fn quota_markers_single_out_refusals_that_waiting_does_not_lift() {
        let policy = ThrottlePolicy {
            quota_markers: &["\"DAILY\"", ""],
            ..ThrottlePolicy::NO_RETRY
        };
        let daily = br#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"}"#;
        let burst = br#"{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","policyName":"SECONDLY"}"#;
        assert!(policy.is_quota(daily));
        assert!(!policy.is_quota(burst));
        assert!(!policy.is_quota(b""));
        assert!(!ThrottlePolicy::NO_RETRY.is_quota(daily));
    }

    #[test]
    fn limits_for_records_scale_with_the_page_size() {
        let plausible = PageLimits::PLAUSIBLE_RECORDS;
        assert_eq!(PageLimits::for_records(plausible, 1000).max_pages, 5_000);
        assert_eq!(PageLimits::for_records(plausible, 100).max_pages, 50_000);
        assert_eq!(PageLimits::for_records(10, 3).max_pages, 4);
        assert_eq!(PageLimits::for_records(0, 3).max_pages, 1);
        assert_eq!(PageLimits::for_records(10, 0).max_pages, 10);
        assert_eq!(
            PageLimits::for_records(10, 3).max_collected_items,
            PageLimits::DEFAULT.max_collected_items
        );
    }

    #[test]
    fn collected_items_are_checked_against_the_limit() {
        let limits = PageLimits {
            max_pages: 10,
            max_collected_items: 3,
        };
        assert!(limits.check_collected(3).is_ok());
        assert!(matches!(
            limits.check_collected(4),
            Err(HttpError::TooManyItems { limit: 3 })
        ));
    }
}
