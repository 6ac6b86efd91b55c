//! When to retry: which methods and statuses are retried, the wait a
//! `Retry-After` header asks for, and the decision after a failed attempt
//! as a pure function.

use super::Headers;
use super::Method;
use std::time::{Duration, SystemTime};

pub(super) fn is_idempotent(method: &Method) -> bool {
    method.is_idempotent()
}

pub(super) fn is_transient_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// The wait a `Retry-After` header asks for (delta seconds or an HTTP date,
/// relative to `now`), if any.
pub fn retry_after(headers: &Headers, now: SystemTime) -> Option<Duration> {
    let value = headers.get("retry-after")?.trim();
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

/// What the send loop does after an attempt that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Wait this long, then send again.
    Retry(Duration),
    /// Give up: the failure is not transient, the request may not be sent
    /// again, or its attempts are used up.
    GiveUp,
    /// Give up: `Retry-After` asks for a longer wait than the policy's
    /// longest.
    WaitTooLong,
    /// Give up: the wait would reach past the request's deadline.
    NoTimeLeft,
}

/// An attempt that failed, as the retry decision sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failure {
    /// The wait before another attempt when the failure is transient
    /// (`Retry-After` or the backoff); `None` when it is not.
    pub wait: Option<Duration>,
    /// Whether the request may be sent again: an idempotent method, a
    /// request marked retry-safe, or one the provider refused unprocessed.
    pub resendable: bool,
    /// Attempts counted against the budget so far (this one included).
    pub attempts: u32,
    /// The most attempts.
    pub max_attempts: u32,
    /// The longest wait the policy accepts.
    pub max_delay: Duration,
    /// Time the request has spent so far, rate-limit waits excluded.
    pub spent: Duration,
    /// The request's overall deadline.
    pub deadline: Duration,
}

/// Whether to retry `failure`, and after how long. Pure: the send loop
/// sleeps and logs; the rules live here.
pub(crate) fn decide(failure: Failure) -> Decision {
    match failure.wait {
        Some(wait) if failure.resendable && failure.attempts < failure.max_attempts => {
            if wait > failure.max_delay {
                // Only a `Retry-After` can ask for that long.
                Decision::WaitTooLong
            } else if failure.spent.saturating_add(wait) >= failure.deadline {
                Decision::NoTimeLeft
            } else {
                Decision::Retry(wait)
            }
        }
        _ => Decision::GiveUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now =
            SystemTime::from(chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z").unwrap());
        let with = |value: &str| {
            let mut headers = Headers::new();
            headers.insert("Retry-After", value).unwrap();
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
        assert_eq!(retry_after(&Headers::new(), now), None);
    }

    #[test]
    fn retry_decision_table() {
        let s = Duration::from_secs;
        let base = Failure {
            wait: Some(s(1)),
            resendable: true,
            attempts: 1,
            max_attempts: 3,
            max_delay: s(30),
            spent: s(2),
            deadline: s(60),
        };
        let cases: [(&str, Failure, Decision); 9] = [
            (
                "transient, resendable, attempts left",
                base,
                Decision::Retry(s(1)),
            ),
            (
                "not transient",
                Failure { wait: None, ..base },
                Decision::GiveUp,
            ),
            (
                "not resendable",
                Failure {
                    resendable: false,
                    ..base
                },
                Decision::GiveUp,
            ),
            (
                "last attempt",
                Failure {
                    attempts: 3,
                    ..base
                },
                Decision::GiveUp,
            ),
            (
                "past the last attempt",
                Failure {
                    attempts: 4,
                    ..base
                },
                Decision::GiveUp,
            ),
            (
                "wait at the longest",
                Failure {
                    wait: Some(s(30)),
                    ..base
                },
                Decision::Retry(s(30)),
            ),
            (
                "wait past the longest",
                Failure {
                    wait: Some(s(31)),
                    ..base
                },
                Decision::WaitTooLong,
            ),
            (
                "wait reaches the deadline",
                Failure {
                    spent: s(59),
                    ..base
                },
                Decision::NoTimeLeft,
            ),
            (
                "zero wait near the deadline",
                Failure {
                    wait: Some(Duration::ZERO),
                    spent: s(59),
                    ..base
                },
                Decision::Retry(Duration::ZERO),
            ),
        ];
        for (name, failure, expected) in cases {
            assert_eq!(decide(failure), expected, "{name}");
        }
    }
}
