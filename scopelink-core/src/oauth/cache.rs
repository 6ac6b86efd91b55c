//! The access-token cache: the one place tokens are cached and renewed.
//!
//! A token is reused until shortly before it expires (or, when its lifetime
//! is unknown, until the API rejects it). When it must be renewed, one
//! caller fetches a new one while the others wait on the same refresh lock
//! and then reuse its result, so many requests that need a token at the
//! same moment cause one token request. A token the API rejected (HTTP
//! 401) is dropped by generation, so a burst of 401s for the same token
//! also causes one refresh.

use secrecy::SecretString;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How long before its expiry a token is renewed.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// When a token that lives `lifetime` should be renewed, counted from when
/// it was issued: 60 s before expiry, or at half its life for tokens that
/// live less than two minutes (so short-lived tokens are still reused).
pub fn refresh_after(lifetime: Duration) -> Duration {
    if lifetime >= REFRESH_MARGIN * 2 {
        lifetime - REFRESH_MARGIN
    } else {
        lifetime / 2
    }
}

struct Cached {
    token: SecretString,
    generation: u64,
    /// `None`: the lifetime is unknown; kept until rejected.
    refresh_at: Option<Instant>,
}

/// A token handed out by the cache, with the generation to name it when the
/// API rejects it.
#[derive(Clone)]
pub struct Token {
    /// The bearer token.
    pub secret: SecretString,
    /// Which token this is.
    pub generation: u64,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// The token cache of one connection (share it by `Arc`).
#[derive(Default)]
pub struct TokenCache {
    current: Mutex<Option<Cached>>,
    refresh: tokio::sync::Mutex<u64>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("holds_token", &self.valid().is_some())
            .finish()
    }
}

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        // The guarded data is a plain value: a panic elsewhere cannot leave
        // it half-written, so a poisoned lock is still usable.
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current token, if it is not due for renewal.
    pub fn valid(&self) -> Option<Token> {
        self.lock()
            .as_ref()
            .filter(|c| c.refresh_at.is_none_or(|at| Instant::now() < at))
            .map(|c| Token {
                secret: c.token.clone(),
                generation: c.generation,
            })
    }

    /// The current token, or a new one from `fetch`, which returns the
    /// token and its remaining lifetime if known. Concurrent callers share
    /// one fetch; a failed fetch caches nothing.
    pub async fn get<F, Fut, E>(&self, fetch: F) -> Result<Token, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(SecretString, Option<Duration>), E>>,
    {
        if let Some(t) = self.valid() {
            return Ok(t);
        }
        let mut generations = self.refresh.lock().await;
        // Someone else may have refreshed while we waited for the lock.
        if let Some(t) = self.valid() {
            return Ok(t);
        }
        let (token, lifetime) = fetch().await?;
        *generations += 1;
        let generation = *generations;
        *self.lock() = Some(Cached {
            token: token.clone(),
            generation,
            refresh_at: lifetime.map(|l| Instant::now() + refresh_after(l)),
        });
        Ok(Token {
            secret: token,
            generation,
        })
    }

    /// Drops the token of `generation` (the API rejected it) and says
    /// whether it did. A newer token is kept, so only the first of many
    /// concurrent 401s causes a refresh.
    pub fn invalidate(&self, generation: u64) -> bool {
        let mut current = self.lock();
        if current.as_ref().is_some_and(|c| c.generation == generation) {
            *current = None;
            true
        } else {
            false
        }
    }

    /// Drops whatever token is cached (the credentials changed).
    pub fn clear(&self) {
        *self.lock() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn oauth_cache_renewal_margin() {
        assert_eq!(
            refresh_after(Duration::from_secs(3600)),
            Duration::from_secs(3540)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(120)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(10)),
            Duration::from_secs(5)
        );
        assert_eq!(refresh_after(Duration::ZERO), Duration::ZERO);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn oauth_cache_concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let cache = cache.clone();
            let fetches = fetches.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>((SecretString::from("tok"), Some(Duration::from_secs(3600))))
                    })
                    .await
            }));
        }
        for t in tasks {
            let token = t.await.unwrap().unwrap();
            assert_eq!(token.secret.expose_secret(), "tok");
            assert_eq!(token.generation, 1);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn oauth_cache_invalidate_drops_only_the_named_generation() {
        let cache = TokenCache::default();
        let fetch =
            |s: &'static str| move || async move { Ok::<_, ()>((SecretString::from(s), None)) };
        let first = cache.get(fetch("a")).await.unwrap();
        assert!(cache.invalidate(first.generation));
        let second = cache.get(fetch("b")).await.unwrap();
        assert_eq!(second.secret.expose_secret(), "b");
        // A late 401 for the old token leaves the new one alone.
        assert!(!cache.invalidate(first.generation));
        let again = cache.get(fetch("c")).await.unwrap();
        assert_eq!(again.secret.expose_secret(), "b");
        assert_eq!(format!("{cache:?}"), "TokenCache { holds_token: true }");
        assert!(!format!("{again:?}").contains('b'));
    }

    #[tokio::test]
    async fn oauth_cache_a_failed_fetch_leaves_nothing_cached() {
        let cache = TokenCache::default();
        let err = cache
            .get(|| async { Err::<(SecretString, Option<Duration>), _>("no") })
            .await;
        assert!(err.is_err());
        assert!(cache.valid().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn oauth_cache_expiring_tokens_are_renewed_and_unknown_lifetimes_kept() {
        let cache = TokenCache::default();
        let t1 = cache
            .get(|| async {
                Ok::<_, ()>((SecretString::from("a"), Some(Duration::from_secs(120))))
            })
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(cache.valid().is_some());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(cache.valid().is_none());
        let t2 = cache
            .get(|| async { Ok::<_, ()>((SecretString::from("b"), None)) })
            .await
            .unwrap();
        assert_eq!(t2.generation, t1.generation + 1);
        tokio::time::advance(Duration::from_secs(86_400)).await;
        assert!(cache.valid().is_some(), "no expiry: kept until rejected");
    }
}
