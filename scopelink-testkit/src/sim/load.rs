//! Load a simulator models: per-request latency (fixed plus jitter) and a
//! cap on requests in flight, with the counters tests and benchmarks read.
//!
//! A request is in flight from its arrival until its answer leaves, its
//! latency later: the provider is busy with it that long. The answer goes
//! out only after that (wiremock sleeps the delay after the responder), so a
//! client that waits for one answer before sending the next request is never
//! refused.

use std::time::{Duration, Instant};

/// Time a simulator takes to answer each request: `fixed` plus a
/// pseudo-random share of `jitter` (uniform in `0..=jitter`, the same
/// sequence on every run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// Every answer takes at least this long.
    pub fixed: Duration,
    /// Up to this much more, varying per request.
    pub jitter: Duration,
}

impl Latency {
    /// No added latency.
    pub const NONE: Latency = Latency {
        fixed: Duration::ZERO,
        jitter: Duration::ZERO,
    };

    /// `fixed` per answer, no jitter.
    pub const fn fixed(fixed: Duration) -> Self {
        Latency {
            fixed,
            jitter: Duration::ZERO,
        }
    }

    /// `fixed` plus up to `jitter` per answer.
    pub const fn with_jitter(fixed: Duration, jitter: Duration) -> Self {
        Latency { fixed, jitter }
    }
}

/// What the load model saw so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoadStats {
    /// The most requests in flight at once (the one arriving counted),
    /// refused ones left out.
    pub max_in_flight: u64,
    /// Requests refused because the cap on requests in flight was reached.
    pub refused_in_flight: u64,
    /// Requests admitted.
    pub admitted: u64,
}

/// The load model of one simulator: its latency, its cap and what it saw.
#[derive(Debug, Default)]
pub(crate) struct Load {
    latency: Latency,
    max_in_flight: Option<usize>,
    /// When each request in flight leaves.
    busy_until: Vec<Instant>,
    /// The delay of the request being answered (the state may change it).
    pub(crate) delay: Option<Duration>,
    rng: u64,
    stats: LoadStats,
}

impl Load {
    /// Sets the latency of every answer.
    pub(crate) fn set_latency(&mut self, latency: Latency) {
        self.latency = latency;
    }

    /// Caps requests in flight (`None`: no cap).
    pub(crate) fn set_max_in_flight(&mut self, max: Option<usize>) {
        self.max_in_flight = max.map(|m| m.max(1));
    }

    /// What it saw so far.
    pub(crate) fn stats(&self) -> LoadStats {
        self.stats
    }

    /// Whether a request arriving at `now` finds the cap reached.
    pub(crate) fn full(&mut self, now: Instant) -> bool {
        self.busy_until.retain(|until| *until > now);
        self.max_in_flight
            .is_some_and(|max| self.busy_until.len() >= max)
    }

    /// Counts a request refused for the cap.
    pub(crate) fn refused(&mut self) {
        self.stats.refused_in_flight += 1;
    }

    /// The delay of the next answer (its latency), noted as
    /// [`Load::delay`] for the state to change if it answers slower.
    pub(crate) fn begin(&mut self) {
        let jitter = self.latency.jitter.as_micros() as u64;
        let extra = if jitter == 0 {
            0
        } else {
            // xorshift64*: a fixed sequence, no dependency.
            if self.rng == 0 {
                self.rng = 0x9e37_79b9_7f4a_7c15;
            }
            self.rng ^= self.rng >> 12;
            self.rng ^= self.rng << 25;
            self.rng ^= self.rng >> 27;
            self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) % (jitter + 1)
        };
        let delay = self.latency.fixed + Duration::from_micros(extra);
        self.delay = (!delay.is_zero()).then_some(delay);
    }

    /// Admits the request that arrived at `now`, in flight until its delay
    /// ([`Load::delay`]) has passed; returns that delay.
    pub(crate) fn admit(&mut self, now: Instant) -> Option<Duration> {
        let delay = self.delay.take();
        self.busy_until.push(now + delay.unwrap_or_default());
        self.stats.admitted += 1;
        self.stats.max_in_flight = self.stats.max_in_flight.max(self.busy_until.len() as u64);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_counts_requests_until_their_answers_leave() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut load = Load::default();
        load.set_latency(Latency::fixed(ms(100)));
        load.set_max_in_flight(Some(2));
        for at in [0, 10] {
            assert!(!load.full(t0 + ms(at)));
            load.begin();
            assert_eq!(load.admit(t0 + ms(at)), Some(ms(100)));
        }
        assert!(load.full(t0 + ms(50)), "two in flight");
        load.refused();
        // The first answer left at 100 ms.
        assert!(!load.full(t0 + ms(100)));
        load.begin();
        load.admit(t0 + ms(100));
        let stats = load.stats();
        assert_eq!(stats.max_in_flight, 2);
        assert_eq!(stats.refused_in_flight, 1);
        assert_eq!(stats.admitted, 3);
    }

    #[test]
    fn jitter_stays_within_its_bound_and_varies() {
        let ms = Duration::from_millis;
        let mut load = Load::default();
        load.set_latency(Latency::with_jitter(ms(100), ms(20)));
        let delays: Vec<Duration> = (0..50)
            .map(|_| {
                load.begin();
                load.delay.take().unwrap()
            })
            .collect();
        assert!(delays.iter().all(|d| *d >= ms(100) && *d <= ms(120)));
        assert!(delays.iter().any(|d| *d != delays[0]), "{delays:?}");
    }
}
