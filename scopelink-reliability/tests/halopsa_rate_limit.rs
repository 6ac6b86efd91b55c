//! HaloPSA's rate limit: about 300 requests per rolling 5 minutes, shared by
//! all of a tenant's integrations, answered with a 429 that carries no
//! `Retry-After`. The connector's default throttle policy has that shape
//! (seconds, doubling to a minute, bounded in all: checked as a table), and
//! a sync through the simulator's rolling window waits it out and
//! completes, where retries shaped for brief outages (what the core did for
//! every provider) give up inside the window.
//!
//! The sync tests run the same shape scaled down: a 2-second window and
//! waits scaled by 2/300, so nothing sleeps for a minute.

mod fault_support;

use fault_support::*;
use scopelink_core::http::{HttpConfig, ThrottlePolicy};
use scopelink_core::{ConnectorError, DataType, HttpError, MemoryStore, SyncError};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings, DEFAULT_THROTTLE};
use scopelink_reliability::compare::{assert_store_matches, halo_crm};
use scopelink_testkit::halopsa::{HaloPsaSim, HaloPsaSimConfig};
use std::sync::Arc;
use std::time::Duration;

const S: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn the_default_throttle_waits_seconds_doubling_to_a_minute_bounded_in_all() {
    let mut waited = Duration::ZERO;
    let mut waits = Vec::new();
    for throttled in 1.. {
        match DEFAULT_THROTTLE.wait(throttled, waited, None) {
            Some(wait) => {
                waits.push(wait.as_secs());
                waited += wait;
            }
            None => break,
        }
    }
    assert_eq!(waits, [5, 10, 20, 40, 60, 60, 60, 60]);
    // More than one whole 5-minute window, less than 6 minutes.
    assert_eq!(waited, S(315));
    // A Retry-After is honoured up to a minute; a longer one gives up.
    assert_eq!(
        DEFAULT_THROTTLE.wait(1, Duration::ZERO, Some(S(30))),
        Some(S(30))
    );
    assert_eq!(DEFAULT_THROTTLE.wait(3, S(15), Some(S(0))), Some(S(0)));
    assert_eq!(DEFAULT_THROTTLE.wait(1, Duration::ZERO, Some(S(120))), None);
    // Near the total, a wait that would pass it gives up.
    assert_eq!(DEFAULT_THROTTLE.wait(2, S(355), None), None);
    assert_eq!(DEFAULT_THROTTLE.wait(2, S(355), Some(S(5))), Some(S(5)));
    assert_eq!(
        DEFAULT_THROTTLE.wait(11, S(0), None),
        None,
        "at most 10 retries"
    );
}

#[test]
fn the_connector_applies_the_default_throttle_unless_the_host_sets_one() {
    let settings = HaloPsaSettings::new("https://acme.halopsa.com").tenant("acme");
    let credentials = || scopelink_core::secret::ClientCredentials::new("id", "secret");
    let halo =
        HaloPsaConnector::new(settings.clone(), credentials(), HttpConfig::default()).unwrap();
    assert_eq!(halo.http().config().throttle, Some(DEFAULT_THROTTLE));
    let halo = HaloPsaConnector::new(
        settings,
        credentials(),
        HttpConfig::default().with_throttle(ThrottlePolicy::NO_RETRY),
    )
    .unwrap();
    assert_eq!(
        halo.http().config().throttle,
        Some(ThrottlePolicy::NO_RETRY)
    );
}

/// The simulator with 505 clients (6 pages of 100), 3 users and 2
/// opportunities, at most 4 API calls in any 2 seconds.
async fn limited_sim() -> HaloPsaSim {
    let sim = HaloPsaSim::start(HaloPsaSimConfig::default().with_generated_clients(500)).await;
    sim.limit_rate(4, Duration::from_secs(2));
    sim
}

fn connector(sim: &HaloPsaSim, throttle: ThrottlePolicy) -> HaloPsaConnector {
    let settings = HaloPsaSettings::new(sim.uri()).tenant("acmemsp");
    HaloPsaConnector::new(
        settings,
        scopelink_core::secret::ClientCredentials::new("sim-client", "sim-secret"),
        http(Duration::from_secs(10)).with_throttle(throttle),
    )
    .unwrap()
}

/// [`DEFAULT_THROTTLE`] scaled from HaloPSA's 5-minute window to the
/// simulator's 2 seconds.
fn scaled_default() -> ThrottlePolicy {
    let scale = |d: Duration| d * 2 / 300;
    ThrottlePolicy {
        first_wait: scale(DEFAULT_THROTTLE.first_wait),
        max_wait: scale(DEFAULT_THROTTLE.max_wait),
        max_total_wait: scale(DEFAULT_THROTTLE.max_total_wait),
        ..DEFAULT_THROTTLE
    }
}

fn refused(sim: &HaloPsaSim) -> usize {
    sim.api_requests()
        .iter()
        .filter(|r| r.status == 429)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_through_the_rolling_window_waits_and_completes() {
    let sim = limited_sim().await;
    let halo = connector(&sim, scaled_default());
    let host = Host::halopsa(Arc::new(MemoryStore::new()), &sim.uri()).await;
    let rec = Recorder::default();
    let report = host
        .run_crm(&halo, &rec)
        .await
        .expect("the sync waits out the rate limit");
    let expected = halo_crm(&sim);
    let companies = report.counts(DataType::Companies).unwrap();
    assert_eq!(companies.created, expected[0].1.len() as u64);
    let checked = assert_store_matches(host.store.as_ref(), &host.conn, &expected).await;
    let refused = refused(&sim);
    let served = sim.api_requests().len() - refused;
    assert!(refused >= 1, "the window was never full");
    // Every page was served once: a 429 is refused unprocessed.
    assert_eq!(served as u64, rec.total_pages());
    println!(
        "halo rolling window (4 per 2 s): records={checked} pages={} served={served} refused={refused}",
        rec.total_pages()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_shaped_for_brief_outages_give_up_inside_the_window() {
    let sim = limited_sim().await;
    // What the core did for every 429: 3 retries after 250 ms, doubling.
    let brief = ThrottlePolicy {
        retry: true,
        first_wait: Duration::from_millis(250),
        max_wait: Duration::from_secs(60),
        max_total_wait: Duration::from_secs(60),
        max_retries: 3,
        quota_markers: &[],
    };
    let halo = connector(&sim, brief);
    let host = Host::halopsa(Arc::new(MemoryStore::new()), &sim.uri()).await;
    let err = host.run_crm(&halo, &Recorder::default()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SyncError::Connector {
                source: ConnectorError::Http(HttpError::Status { status: 429, .. }),
                ..
            }
        ),
        "{err:?}"
    );
    let shown = scopelink_core::error::chain(&err);
    assert!(shown.contains("Rate Limit Reached"), "{shown}");
    assert_eq!(refused(&sim), 4, "the first refusal and its 3 retries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_quota_policy_does_not_retry_a_429() {
    let sim = limited_sim().await;
    let halo = connector(&sim, ThrottlePolicy::NO_RETRY);
    let host = Host::halopsa(Arc::new(MemoryStore::new()), &sim.uri()).await;
    let err = host.run_crm(&halo, &Recorder::default()).await.unwrap_err();
    let shown = scopelink_core::error::chain(&err);
    assert!(shown.contains("HTTP 429"), "{shown}");
    assert_eq!(refused(&sim), 1);
}
