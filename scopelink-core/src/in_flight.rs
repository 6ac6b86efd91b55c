//! A limit on how many requests of one connection are in flight at once,
//! for providers that refuse a client's requests past a thread count
//! (Autotask: three concurrent requests per integration and endpoint).
//!
//! The client-side rate limit ([`crate::http::RateLimit`]) bounds how many
//! requests go out per window; this bounds how many are open at the same
//! time. Clones share the permits.

use std::future::Future;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// At most `max` operations at once, shared by the clones.
#[derive(Debug, Clone)]
pub struct InFlightLimit {
    permits: Arc<Semaphore>,
    max: usize,
}

impl InFlightLimit {
    /// A limit of `max` operations at once (at least one).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        Self {
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// The most operations run at once.
    pub fn max(&self) -> usize {
        self.max
    }

    /// How many more operations could start now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Runs `operation` once fewer than `max` others are running; waits
    /// (in arrival order) until then.
    pub async fn run<F: Future>(&self, operation: F) -> F::Output {
        // The semaphore is never closed, so `acquire` cannot fail; were it
        // closed, running unthrottled is better than failing the request.
        let _permit = self.permits.acquire().await.ok();
        operation.await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn no_more_than_max_run_at_once() {
        let limit = InFlightLimit::new(3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let limit = limit.clone();
                let running = running.clone();
                let peak = peak.clone();
                tokio::spawn(async move {
                    limit
                        .run(async {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await;
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(limit.available(), 3);
        assert_eq!(InFlightLimit::new(0).max(), 1);
    }
}
