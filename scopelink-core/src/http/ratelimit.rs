//! The client-side rate limiter: at most so many requests per window,
//! shared by the clones of a client.

use super::RateLimit;
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// A sliding-window rate limiter shared by the clones of a client.
pub(super) struct RateLimiter {
    requests: usize,
    per: Duration,
    sent: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    pub(super) fn new(limit: RateLimit) -> Self {
        let requests = usize::try_from(limit.requests.max(1)).unwrap_or(usize::MAX);
        Self {
            requests,
            per: limit.per,
            sent: Mutex::new(VecDeque::with_capacity(requests.min(1024))),
        }
    }

    /// Waits until one more request fits in the window, and records it.
    pub(super) async fn acquire(&self) {
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
