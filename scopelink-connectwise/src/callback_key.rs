//! The signing keys of ConnectWise callbacks: which key URLs are trusted
//! (host and shape), and the per-connection key cache with its fetch
//! budget. Fetching is in [`crate::webhook`].
//!
//! Sources (see `fixtures/connectwise/README.md`, section 9): the DevGuide's
//! "Verifying the Callback Source", real payloads captured by amp-labs
//! (`key_url` on `sandbox-na.myconnectwise.net` beside entity links on
//! `na.myconnectwise.net`), and nango's list of ConnectWise key hosts.

use crate::site::cloud_region_of;
use scopelink_core::error::WebhookError;
use scopelink_core::pages::same_origin;
use secrecy::SecretString;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use url::Url;

/// How long a fetched signing key is reused (by key id; a replaced key is
/// fetched again when a signature does not match, see
/// [`KEY_REFRESH_AFTER`]).
pub const SIGNING_KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);
const MAX_CACHED_KEYS: usize = 64;

/// A checked `Metadata.key_url` and the key id it names.
pub(crate) struct KeyUrl {
    pub(crate) url: Url,
    /// The `id` parameter, lower-cased: the cache key.
    pub(crate) id: String,
}

/// Whether a callback's signing key may be fetched from `url`'s host: on
/// ConnectWise cloud (the API or server host is a cloud host), the https
/// hosts of the same region and cloud domain on the default port (`na`,
/// `api-na` and `sandbox-na` for a connection on any of them; regions as
/// [`crate::site::ConnectWiseSite`] reads them); otherwise (on-premise,
/// or a simulator) only the API host or the server host as typed, with the
/// same scheme and port.
pub(crate) fn key_host_trusted(url: &Url, api_base: &Url, server: Option<&Url>) -> bool {
    let own = |base: &Url| same_origin(base, url);
    if own(api_base) || server.is_some_and(own) {
        return true;
    }
    let region_of = |u: &Url| u.host_str().and_then(cloud_region_of);
    let ours = region_of(api_base).or_else(|| server.and_then(region_of));
    match (ours, region_of(url)) {
        (Some(a), Some(b)) => a == b && url.scheme() == "https" && url.port().is_none(),
        _ => false,
    }
}

/// The key id of a ConnectWise callback-key URL for `company`, or what is
/// wrong with it. The shape (DevGuide "Verifying the Callback Source", and
/// real payloads): `/{codebase}//system/callbackkey/index.rails` with
/// exactly the parameters `companyName` and `id`, and no fragment.
pub(crate) fn key_url_shape(url: &Url, company: &str) -> Result<String, String> {
    if url.fragment().is_some() {
        return Err("it has a fragment".into());
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let codebase_ok = |c: &str| {
        !c.contains("..")
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
    };
    match segments.as_slice() {
        [codebase, system, callbackkey, index]
            if codebase_ok(codebase)
                && system.eq_ignore_ascii_case("system")
                && callbackkey.eq_ignore_ascii_case("callbackkey")
                && index.eq_ignore_ascii_case("index.rails") => {}
        _ => return Err("its path is not /{codebase}/system/callbackkey/index.rails".into()),
    }
    let (mut id, mut name) = (None, None);
    for (k, v) in url.query_pairs() {
        let slot = if k.eq_ignore_ascii_case("id") {
            &mut id
        } else if k.eq_ignore_ascii_case("companyName") {
            &mut name
        } else {
            return Err(format!("it has the parameter `{k}`"));
        };
        if slot.replace(v.into_owned()).is_some() {
            return Err(format!("it repeats the parameter `{k}`"));
        }
    }
    let name = name.ok_or("it has no companyName")?;
    if !name.trim().eq_ignore_ascii_case(company) {
        return Err(format!(
            "it is the key of company `{name}`, not this connection's company"
        ));
    }
    let id = id.ok_or("it has no key id")?;
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !id_ok {
        return Err("its key id is not a ConnectWise key id".into());
    }
    Ok(id.to_ascii_lowercase())
}

/// How many signing keys a connection fetches per [`KEY_FETCH_WINDOW`] at
/// most. A connection's callbacks share one key, so a genuine sender needs
/// one fetch; forged callbacks naming new key ids are refused with
/// [`WebhookError::TooManyKeyFetches`] past this.
pub const KEY_FETCHES_PER_WINDOW: usize = 5;
/// The window of [`KEY_FETCHES_PER_WINDOW`] (also how long "ConnectWise has
/// no such key" is remembered).
pub const KEY_FETCH_WINDOW: Duration = Duration::from_secs(60);
/// A cached key at least this old is fetched once more when a signature
/// does not match it (the key may have been replaced).
pub const KEY_REFRESH_AFTER: Duration = Duration::from_secs(60);

/// The signing keys of one connection, by key id, and its recent fetches.
///
/// Shared by every connector of the same ConnectWise company on the same
/// API origin in this process ([`SigningKeys::shared`]): a host that builds
/// a connector per incoming callback still has one cache and one fetch
/// budget per connection, so forged callbacks cannot reset them.
#[derive(Default)]
pub(crate) struct SigningKeys {
    state: Mutex<KeyState>,
}

#[derive(Default)]
struct KeyState {
    /// Key id → (fetched at, key; `None` when ConnectWise had no such key).
    keys: HashMap<String, (Instant, Option<SecretString>)>,
    fetches: VecDeque<Instant>,
}

/// The key caches of this process, by company and API origin.
static SHARED: OnceLock<Mutex<HashMap<String, Arc<SigningKeys>>>> = OnceLock::new();

impl SigningKeys {
    /// The cache of the connection of `company` on `api_base`'s origin.
    pub(crate) fn shared(api_base: &Url, company: &str) -> Arc<SigningKeys> {
        let id = format!(
            "{}|{}",
            company.trim().to_ascii_lowercase(),
            api_base.origin().ascii_serialization()
        );
        let mut all = SHARED
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        all.entry(id).or_default().clone()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, KeyState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached answer for key `id`, while it is valid.
    pub(crate) fn cached(&self, id: &str) -> Option<(Instant, Option<SecretString>)> {
        let state = self.state();
        let (fetched, key) = state.keys.get(id)?;
        let ttl = if key.is_some() {
            SIGNING_KEY_TTL
        } else {
            KEY_FETCH_WINDOW
        };
        (fetched.elapsed() < ttl).then(|| (*fetched, key.clone()))
    }

    /// Counts a fetch, or refuses it when the window's budget is spent.
    pub(crate) fn take_fetch_slot(&self) -> Result<(), WebhookError> {
        let mut state = self.state();
        let now = Instant::now();
        while state
            .fetches
            .front()
            .is_some_and(|t| now.duration_since(*t) >= KEY_FETCH_WINDOW)
        {
            state.fetches.pop_front();
        }
        if state.fetches.len() >= KEY_FETCHES_PER_WINDOW {
            let oldest = state.fetches.front().copied().unwrap_or(now);
            let wait = KEY_FETCH_WINDOW.saturating_sub(now.duration_since(oldest));
            tracing::warn!(
                wait_s = wait.as_secs(),
                "refusing a callback: too many signing-key fetches for this connection"
            );
            return Err(WebhookError::TooManyKeyFetches {
                retry_after_seconds: wait.as_secs().max(1),
            });
        }
        state.fetches.push_back(now);
        Ok(())
    }

    pub(crate) fn store(&self, id: &str, key: Option<SecretString>) {
        let mut state = self.state();
        state.keys.retain(|_, (fetched, key)| {
            fetched.elapsed()
                < if key.is_some() {
                    SIGNING_KEY_TTL
                } else {
                    KEY_FETCH_WINDOW
                }
        });
        if state.keys.len() >= MAX_CACHED_KEYS {
            state.keys.clear();
        }
        state.keys.insert(id.to_string(), (Instant::now(), key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_regions_and_their_hosts() {
        let region = |h: &str| cloud_region_of(h).map(|(r, d)| format!("{r}.{d}"));
        assert_eq!(
            region("na.myconnectwise.net").as_deref(),
            Some("na.myconnectwise.net")
        );
        assert_eq!(
            region("API-EU.myconnectwise.net.").as_deref(),
            Some("eu.myconnectwise.net")
        );
        assert_eq!(
            region("sandbox-au.myconnectwise.net").as_deref(),
            Some("au.myconnectwise.net")
        );
        assert_eq!(
            region("api-za.myconnectwise.net").as_deref(),
            Some("za.myconnectwise.net")
        );
        assert_eq!(
            region("api-staging.connectwisedev.com").as_deref(),
            Some("staging.connectwisedev.com")
        );
        for other in [
            "myconnectwise.net",
            "api-.myconnectwise.net",
            "api-na.myconnectwise.net.evil.example",
            "na.myconnectwise.net.evil.example",
            "cw.acme.example",
        ] {
            assert_eq!(region(other), None, "{other}");
        }
        let u = |s: &str| Url::parse(s).unwrap();
        let api = u("https://api-na.myconnectwise.net/v2025_1/apis/3.0");
        let server = u("https://na.myconnectwise.net/");
        for ok in [
            "https://sandbox-na.myconnectwise.net/x",
            "https://na.myconnectwise.net/x",
            "https://api-na.myconnectwise.net:443/x",
        ] {
            assert!(key_host_trusted(&u(ok), &api, Some(&server)), "{ok}");
        }
        for bad in [
            "https://api-eu.myconnectwise.net/x",
            "https://xna.myconnectwise.net/x",
            "https://staging-na.myconnectwise.net/x",
            "https://na.connectwisedev.com/x",
            "https://na.myconnectwise.net.evil.example/x",
            "http://sandbox-na.myconnectwise.net/x",
            "https://sandbox-na.myconnectwise.net:8443/x",
        ] {
            assert!(!key_host_trusted(&u(bad), &api, Some(&server)), "{bad}");
        }
        // On-premise: its own hosts only.
        let prem = u("https://cw.acme.example/v4_6_release/apis/3.0");
        assert!(key_host_trusted(
            &u("https://cw.acme.example/k"),
            &prem,
            None
        ));
        assert!(!key_host_trusted(
            &u("https://na.myconnectwise.net/k"),
            &prem,
            None
        ));
        assert!(!key_host_trusted(
            &u("https://api.cw.acme.example/k"),
            &prem,
            None
        ));
    }

    #[test]
    fn key_url_shapes() {
        let shape = |s: &str| key_url_shape(&Url::parse(s).unwrap(), "scopelinkdemo");
        assert_eq!(
            shape("https://h/v2025_1//system/callbackkey/index.rails?companyName=ScopelinkDemo&id=E17E-66"),
            Ok("e17e-66".into())
        );
        assert!(shape(
            "https://h/v4_6_release/system/callbackkey/index.rails?id=1&companyName=scopelinkdemo"
        )
        .is_ok());
        for bad in [
            "https://h/v2025_1/apis/3.0/company/companies?companyName=scopelinkdemo&id=1",
            "https://h/system/callbackkey/index.rails?companyName=scopelinkdemo&id=1",
            "https://h/a/b/system/callbackkey/index.rails?companyName=scopelinkdemo&id=1",
            "https://h/v1/system/callbackkey/index.rails?companyName=other&id=1",
            "https://h/v1/system/callbackkey/index.rails?companyName=scopelinkdemo",
            "https://h/v1/system/callbackkey/index.rails?companyName=scopelinkdemo&id=1&x=2",
            "https://h/v1/system/callbackkey/index.rails?companyName=scopelinkdemo&id=1&id=2",
            "https://h/v1/system/callbackkey/index.rails?companyName=scopelinkdemo&id=a/b",
            "https://h/v1/system/callbackkey/index.rails?companyName=scopelinkdemo&id=1#f",
        ] {
            assert!(shape(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_cache_per_company_and_api_origin() {
        let u = |s: &str| Url::parse(s).unwrap();
        let a = SigningKeys::shared(&u("https://cache-test.example/v1/apis/3.0"), "Acme");
        let b = SigningKeys::shared(&u("https://cache-test.example/v2/apis/3.0"), "acme ");
        let c = SigningKeys::shared(&u("https://cache-test.example/v1/apis/3.0"), "other");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn key_fetches_are_budgeted_per_window() {
        let keys = SigningKeys::default();
        for _ in 0..KEY_FETCHES_PER_WINDOW {
            assert_eq!(keys.take_fetch_slot(), Ok(()));
        }
        assert!(matches!(
            keys.take_fetch_slot(),
            Err(WebhookError::TooManyKeyFetches { retry_after_seconds }) if (1..=60).contains(&retry_after_seconds)
        ));
        keys.store("k1", Some(SecretString::from("s")));
        keys.store("k2", None);
        assert!(matches!(keys.cached("k1"), Some((_, Some(_)))));
        assert!(matches!(keys.cached("k2"), Some((_, None))));
        assert!(keys.cached("k3").is_none());
    }
}
