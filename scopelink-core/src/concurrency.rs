//! How many page requests a list read keeps in flight: the host's setting
//! ([`Concurrency`]), the provider's limit ([`ConcurrencyLimit`]) and the
//! adaptive window between them ([`AdaptiveWindow`], additive increase,
//! multiplicative decrease).
//!
//! Only lists paged by page number, whose page count is known after the
//! first page, are read with several requests in flight (see
//! [`crate::pages::numbered_record_stream`]). Lists paged by cursor or next
//! URL (Salesforce, Dataverse, HubSpot, Autotask's `nextPageUrl`) cannot
//! ask for page `n + 1` before page `n` has answered: they keep one request
//! in flight, pipelined with the conversion and the store
//! ([`crate::pages::record_stream`]), whatever this setting says. Autotask
//! documents a limit of 3 concurrent threads per integration, but its
//! queries page by `nextPageUrl`, so its reads stay sequential and well
//! within it.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A provider's limit on page requests in flight for one integration: the
/// most it allows (`max`) and where the adaptive window starts (`start`,
/// at most `max`). The connector supplies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcurrencyLimit {
    /// The most page requests in flight, at least 1.
    pub max: u32,
    /// Requests in flight when a read starts, 1 to `max`.
    pub start: u32,
}

impl ConcurrencyLimit {
    /// One request at a time.
    pub const SEQUENTIAL: ConcurrencyLimit = ConcurrencyLimit { max: 1, start: 1 };

    /// A limit of `max` (at least 1) starting at `start` (1 to `max`).
    pub const fn new(max: u32, start: u32) -> Self {
        let max = if max == 0 { 1 } else { max };
        let start = if start == 0 {
            1
        } else if start > max {
            max
        } else {
            start
        };
        ConcurrencyLimit { max, start }
    }
}

/// The host's choice of page requests in flight, bounded by the
/// provider's [`ConcurrencyLimit`] either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Concurrency {
    /// The provider's default limit (the connector's documented one).
    #[default]
    Auto,
    /// At most this many requests in flight (`1`: one page at a time, as
    /// without concurrency; `0` counts as `1`), never more than the
    /// provider's limit.
    UpTo(u32),
}

impl Concurrency {
    /// One request at a time.
    pub const SEQUENTIAL: Concurrency = Concurrency::UpTo(1);

    /// The limit a read runs under: `provider`'s for [`Concurrency::Auto`],
    /// else `provider`'s lowered to the host's number.
    pub fn resolve(self, provider: ConcurrencyLimit) -> ConcurrencyLimit {
        match self {
            Concurrency::Auto => ConcurrencyLimit::new(provider.max, provider.start),
            Concurrency::UpTo(n) => {
                let max = n.clamp(1, provider.max.max(1));
                ConcurrencyLimit::new(max, provider.start.min(max))
            }
        }
    }
}

impl fmt::Display for Concurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Concurrency::Auto => f.write_str("auto"),
            Concurrency::UpTo(n) => write!(f, "{n}"),
        }
    }
}

/// A concurrency setting that is neither `auto` nor a number from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a concurrency: write `auto` or a number of requests from 1 up")]
pub struct ParseConcurrencyError(String);

impl FromStr for Concurrency {
    type Err = ParseConcurrencyError;

    /// `auto` (any case) or a number from 1.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("auto") {
            return Ok(Concurrency::Auto);
        }
        match t.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(Concurrency::UpTo(n)),
            _ => Err(ParseConcurrencyError(s.to_string())),
        }
    }
}

/// A window mean this much above the lowest one, and twice it, counts as
/// rising latency (a provider queueing requests).
const RISING_BY_AT_LEAST: Duration = Duration::from_millis(50);

/// Answers in a window at the least, so that one slow answer among fast
/// ones does not make a window of one "slow".
const MIN_WINDOW: u32 = 2;

/// The number of page requests a read keeps in flight, adapted as pages
/// answer.
///
/// - It grows only while the provider is slow to answer: after a window of
///   clean answers (as many as the window's size, at least 2; no 429 among
///   them; latency not rising) whose fastest took at least the growth
///   latency ([`AdaptiveWindow::GROW_AT`], 80 ms unless
///   [`AdaptiveWindow::growing_at`] says otherwise). On a fast link one
///   request in flight, pipelined with the conversion and the store, keeps
///   up, and more would only load the provider: a read there runs exactly
///   as without concurrency.
/// - It doubles per window until the first decrease (a slow start), then
///   grows by one per window (additive increase).
/// - It is halved (down to 1) on a 429, once per window of answers, and when
///   a window's mean latency is more than twice the lowest seen and at
///   least 50 ms above it (multiplicative decrease).
/// - It never exceeds the limit's `max` and starts at its `start`.
///
/// Cheap to clone; clones share the window, so a connector's reads carry
/// what one learned into the next (one read runs at a time per connection:
/// the engine syncs data types one after another).
#[derive(Clone)]
pub struct AdaptiveWindow {
    limit: ConcurrencyLimit,
    grow_at: Duration,
    state: Arc<Mutex<WindowState>>,
}

#[derive(Debug, Default)]
struct WindowState {
    size: u32,
    /// Answers since the window last grew or shrank.
    answered: u32,
    /// Their summed latency.
    latency: Duration,
    /// The fastest of them.
    fastest: Option<Duration>,
    /// The lowest window mean latency seen.
    baseline: Option<Duration>,
    /// The throttle count last seen.
    throttled: u64,
    /// Answers since the last decrease (a burst of 429s from requests sent
    /// together halves once).
    since_decrease: u32,
    stats: WindowStats,
}

/// What an [`AdaptiveWindow`] did so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WindowStats {
    /// Pages answered.
    pub answered: u64,
    /// Times the window grew.
    pub increases: u64,
    /// Times it was halved on a 429.
    pub throttle_decreases: u64,
    /// Times it was halved on rising latency.
    pub latency_decreases: u64,
    /// The largest size it reached.
    pub peak: u32,
}

impl fmt::Debug for AdaptiveWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveWindow")
            .field("limit", &self.limit)
            .field("grow_at", &self.grow_at)
            .field("size", &self.size())
            .finish()
    }
}

impl AdaptiveWindow {
    /// The growth latency: a window grows only when its fastest answer took
    /// at least this long. Pages served from a nearby or idle server come
    /// back in a few milliseconds to a few tens; a provider's page of
    /// records takes hundreds.
    pub const GROW_AT: Duration = Duration::from_millis(80);

    /// A window under `limit`, starting at its `start`.
    pub fn new(limit: ConcurrencyLimit) -> Self {
        let limit = ConcurrencyLimit::new(limit.max, limit.start);
        let state = WindowState {
            size: limit.start,
            stats: WindowStats {
                peak: limit.start,
                ..WindowStats::default()
            },
            ..WindowState::default()
        };
        AdaptiveWindow {
            limit,
            grow_at: Self::GROW_AT,
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// The same window, growing when a window's fastest answer took at
    /// least `latency` (`Duration::ZERO`: whatever the latency).
    pub fn growing_at(mut self, latency: Duration) -> Self {
        self.grow_at = latency;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WindowState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The limit it runs under.
    pub fn limit(&self) -> ConcurrencyLimit {
        self.limit
    }

    /// Requests to keep in flight now (1 to the limit's `max`).
    pub fn size(&self) -> u32 {
        self.lock().size
    }

    /// What it did so far.
    pub fn stats(&self) -> WindowStats {
        self.lock().stats
    }

    /// Counts a page's answer: how long its request took (retries
    /// included) and the connection's count of 429 answers so far
    /// ([`crate::http::HttpClient::throttle_replies`]).
    pub fn answered(&self, latency: Duration, throttle_replies: u64) {
        let max = self.limit.max;
        let mut st = self.lock();
        st.stats.answered += 1;
        st.since_decrease = st.since_decrease.saturating_add(1);
        let throttled = throttle_replies > st.throttled;
        st.throttled = st.throttled.max(throttle_replies);
        if throttled {
            // Requests sent before the last decrease may still answer
            // after their 429s: one decrease per window of answers.
            if st.since_decrease > st.size || st.stats.throttle_decreases == 0 {
                st.stats.throttle_decreases += 1;
                st.shrink();
            }
            return;
        }
        st.answered += 1;
        st.latency += latency;
        st.fastest = Some(st.fastest.map_or(latency, |f| f.min(latency)));
        if st.answered < st.size.max(MIN_WINDOW) {
            return;
        }
        let mean = st.latency / st.answered;
        let rising = st
            .baseline
            .is_some_and(|b| mean > b * 2 && mean >= b + RISING_BY_AT_LEAST);
        st.baseline = Some(st.baseline.map_or(mean, |b| b.min(mean)));
        if rising {
            st.stats.latency_decreases += 1;
            st.shrink();
            return;
        }
        let slow = st.fastest.is_some_and(|f| f >= self.grow_at);
        st.answered = 0;
        st.latency = Duration::ZERO;
        st.fastest = None;
        if slow && st.size < max {
            let decreased = st.stats.throttle_decreases + st.stats.latency_decreases > 0;
            st.size = if decreased {
                st.size + 1
            } else {
                st.size.saturating_mul(2).min(max)
            };
            st.stats.increases += 1;
            st.stats.peak = st.stats.peak.max(st.size);
        }
    }
}

impl WindowState {
    fn shrink(&mut self) {
        self.size = (self.size / 2).max(1);
        self.answered = 0;
        self.latency = Duration::ZERO;
        self.fastest = None;
        self.since_decrease = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(100);

    #[test]
    fn settings_parse_and_resolve_under_the_provider_limit() {
        let provider = ConcurrencyLimit::new(6, 3);
        assert_eq!("auto".parse(), Ok(Concurrency::Auto));
        assert_eq!(" AUTO ".parse(), Ok(Concurrency::Auto));
        assert_eq!("4".parse(), Ok(Concurrency::UpTo(4)));
        for bad in ["0", "-1", "many", ""] {
            let err = bad.parse::<Concurrency>().unwrap_err();
            assert!(err.to_string().contains("auto"), "{err}");
        }
        assert_eq!(Concurrency::Auto.resolve(provider), provider);
        assert_eq!(
            Concurrency::UpTo(20).resolve(provider),
            ConcurrencyLimit { max: 6, start: 3 }
        );
        assert_eq!(
            Concurrency::UpTo(2).resolve(provider),
            ConcurrencyLimit { max: 2, start: 2 }
        );
        assert_eq!(
            Concurrency::UpTo(0).resolve(provider),
            ConcurrencyLimit::SEQUENTIAL
        );
        assert_eq!(
            ConcurrencyLimit::new(0, 9),
            ConcurrencyLimit { max: 1, start: 1 }
        );
        assert_eq!(Concurrency::UpTo(3).to_string(), "3");
    }

    #[test]
    fn a_slow_provider_grows_the_window_doubling_then_by_one_up_to_the_max() {
        let w = AdaptiveWindow::new(ConcurrencyLimit::new(8, 1));
        assert_eq!(w.size(), 1);
        w.answered(MS, 0);
        assert_eq!(w.size(), 1, "a window is at least two answers");
        w.answered(MS, 0);
        assert_eq!(w.size(), 2);
        for _ in 0..2 {
            w.answered(MS, 0);
        }
        assert_eq!(w.size(), 4, "doubling until the first decrease");
        w.answered(MS, 1);
        assert_eq!(w.size(), 2, "a 429 halves it");
        for _ in 0..3 {
            w.answered(MS, 1);
        }
        assert_eq!(w.size(), 3, "then one more per window");
        for _ in 0..100 {
            w.answered(MS, 1);
        }
        assert_eq!(w.size(), 8, "never above the max");
        assert_eq!(w.stats().peak, 8);
    }

    #[test]
    fn a_fast_provider_keeps_one_request_in_flight() {
        let w = AdaptiveWindow::new(ConcurrencyLimit::new(8, 1));
        for i in 0..100 {
            // Loopback: a few milliseconds, one slow answer now and then.
            let ms = if i % 10 == 0 { 900 } else { 3 };
            w.answered(Duration::from_millis(ms), 0);
        }
        assert_eq!(w.size(), 1);
        assert_eq!(w.stats().increases, 0);
        // A host that wants concurrency whatever the latency.
        let eager = AdaptiveWindow::new(ConcurrencyLimit::new(8, 1)).growing_at(Duration::ZERO);
        for _ in 0..2 {
            eager.answered(Duration::from_millis(3), 0);
        }
        assert_eq!(eager.size(), 2);
    }

    #[test]
    fn a_429_halves_the_window_once_per_burst() {
        let w = AdaptiveWindow::new(ConcurrencyLimit::new(8, 8));
        // Three answers of one burst report new 429s: one decrease.
        w.answered(MS, 1);
        w.answered(MS, 2);
        w.answered(MS, 3);
        assert_eq!(w.size(), 4);
        // A window later, another 429 halves again.
        for _ in 0..3 {
            w.answered(MS, 3);
        }
        w.answered(MS, 4);
        w.answered(MS, 5);
        assert_eq!(w.size(), 2);
        assert_eq!(w.stats().throttle_decreases, 2);
        // Never below one, however many 429s.
        for n in 0..60 {
            w.answered(MS, 6 + n);
        }
        assert_eq!(w.size(), 1);
    }

    #[test]
    fn rising_latency_halves_the_window_and_noise_does_not() {
        let w = AdaptiveWindow::new(ConcurrencyLimit::new(8, 4));
        for _ in 0..4 {
            w.answered(MS, 0);
        }
        assert_eq!(w.size(), 8);
        // Loopback noise: 1 ms to 30 ms is not "rising".
        let w2 = AdaptiveWindow::new(ConcurrencyLimit::new(8, 2)).growing_at(Duration::ZERO);
        for _ in 0..2 {
            w2.answered(Duration::from_millis(1), 0);
        }
        for _ in 0..4 {
            w2.answered(Duration::from_millis(30), 0);
        }
        assert_eq!(w2.size(), 8);
        assert_eq!(w2.stats().latency_decreases, 0);
        // The provider queues: 100 ms becomes 400 ms.
        for _ in 0..8 {
            w.answered(MS * 4, 0);
        }
        assert_eq!(w.size(), 4);
        assert_eq!(w.stats().latency_decreases, 1);
    }
}
