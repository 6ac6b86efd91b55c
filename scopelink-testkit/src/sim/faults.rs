//! Injected failures: the next `n` requests, or every `k`-th one.

use std::collections::VecDeque;

/// What fault injection did so far (kept when the faults are cleared).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FaultStats {
    /// Injected error answers (from `fail_next` and `fail_every`).
    pub errors: u64,
    /// Injected 429 answers among them.
    pub rate_limited: u64,
    /// Answers delayed by a simulator's `slow_next`.
    pub slowed: u64,
}

/// The failures a simulator is told to inject, taken one request at a time.
#[derive(Debug, Default, Clone)]
pub(crate) struct FaultQueue {
    /// Runs of (how many, status), answered in order.
    queued: VecDeque<(u64, u16)>,
    every: u64,
    every_status: u16,
    counter: u64,
    stats: FaultStats,
}

impl FaultQueue {
    /// Queues `n` more failures with `status`, after those already queued.
    pub(crate) fn push(&mut self, n: u64, status: u16) {
        if n > 0 {
            self.queued.push_back((n, status));
        }
    }

    /// The next `n` requests fail with `status` (instead of what was queued).
    pub(crate) fn set_next(&mut self, n: u64, status: u16) {
        self.queued.clear();
        self.push(n, status);
    }

    /// Every `k`-th request from now on fails with `status` (`k = 0` stops
    /// it).
    pub(crate) fn set_every(&mut self, k: u64, status: u16) {
        self.every = k;
        self.every_status = status;
        self.counter = 0;
    }

    /// Stops all injected failures (the statistics are kept).
    pub(crate) fn clear(&mut self) {
        self.queued.clear();
        self.set_every(0, 0);
    }

    /// The status this request fails with, if it is to fail; counts it.
    pub(crate) fn take(&mut self) -> Option<u16> {
        self.counter += 1;
        let status = if let Some((n, status)) = self.queued.front_mut() {
            let status = *status;
            *n -= 1;
            if *n == 0 {
                self.queued.pop_front();
            }
            Some(status)
        } else {
            (self.every > 0 && self.counter % self.every == 0).then_some(self.every_status)
        }?;
        self.stats.errors += 1;
        if status == 429 {
            self.stats.rate_limited += 1;
        }
        Some(status)
    }

    /// Counts an answer delayed on purpose.
    pub(crate) fn note_slowed(&mut self) {
        self.stats.slowed += 1;
    }

    /// What fault injection did so far.
    pub(crate) fn stats(&self) -> FaultStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_runs_come_first_then_every_kth() {
        let mut q = FaultQueue::default();
        q.push(2, 503);
        q.push(1, 429);
        q.set_every(3, 500);
        let got: Vec<Option<u16>> = (0..7).map(|_| q.take()).collect();
        assert_eq!(
            got,
            [Some(503), Some(503), Some(429), None, None, Some(500), None]
        );
        assert_eq!(
            q.stats(),
            FaultStats {
                errors: 4,
                rate_limited: 1,
                slowed: 0
            }
        );
        q.clear();
        assert_eq!(q.take(), None);
        assert_eq!(q.stats().errors, 4, "statistics survive clear");
    }

    #[test]
    fn set_next_replaces_what_was_queued() {
        let mut q = FaultQueue::default();
        q.push(5, 500);
        q.set_next(1, 429);
        assert_eq!(q.take(), Some(429));
        assert_eq!(q.take(), None);
    }
}
