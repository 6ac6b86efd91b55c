//! HaloPSA's access tokens live in the core's one token cache
//! ([`scopelink_core::oauth::TokenCache`]): reused until shortly before
//! they expire, renewed by one caller while concurrent callers wait for its
//! result, and dropped by generation when the API answers 401, so a burst
//! of 401s causes one token request.

use std::time::Duration;

pub(crate) use scopelink_core::oauth::{Token, TokenCache};

/// The lifetime assumed when the token reply gives none.
pub(crate) const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);
