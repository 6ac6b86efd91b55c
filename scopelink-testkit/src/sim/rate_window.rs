//! A rolling-window rate limit, as providers enforce it: at most `limit`
//! requests in any `window`. Requests age out one by one, so after a refusal
//! the window frees up gradually, as the oldest admitted requests leave it,
//! not all at once.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most `limit` admitted requests in any `window`.
#[derive(Debug, Clone)]
pub struct RollingWindow {
    limit: usize,
    window: Duration,
    admitted: VecDeque<Instant>,
}

impl RollingWindow {
    /// A window admitting `limit` requests per `window`.
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            admitted: VecDeque::new(),
        }
    }

    /// Whether a request arriving at `now` is admitted; admitted requests
    /// are counted, refused ones are not.
    pub fn admit(&mut self, now: Instant) -> bool {
        if self.count(now) < self.limit {
            self.admitted.push_back(now);
            true
        } else {
            false
        }
    }

    /// How many admitted requests are still inside the window at `now`
    /// (a provider's "requests used this timeframe").
    pub fn count(&mut self, now: Instant) -> usize {
        while self
            .admitted
            .front()
            .is_some_and(|first| now.saturating_duration_since(*first) >= self.window)
        {
            self.admitted.pop_front();
        }
        self.admitted.len()
    }

    /// The most requests admitted in any window.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_rolls_and_frees_up_one_request_at_a_time() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut w = RollingWindow::new(3, Duration::from_secs(10));
        assert!(w.admit(at(0)));
        assert!(w.admit(at(1_000)));
        assert!(w.admit(at(2_000)));
        // Full until the first request is 10 s old.
        assert!(!w.admit(at(3_000)));
        assert!(!w.admit(at(9_999)));
        // One slot frees at 10 s, the next only at 11 s: not all at once.
        assert!(w.admit(at(10_000)));
        assert!(!w.admit(at(10_500)));
        assert!(w.admit(at(11_000)));
        assert!(!w.admit(at(11_500)));
        assert!(w.admit(at(12_000)));
        assert!(!w.admit(at(12_001)));
    }
}
