//! Autotask's limits: at most three requests in flight, threshold refusals
//! (429) waited out, the hourly threshold readable.

mod common;

use common::{connector, local, setup};
use futures::future::join_all;
use scopelink_core::connector::CrmSource;
use scopelink_core::http::ThrottlePolicy;
use scopelink_core::model::DataType;
use scopelink_core::ConnectorError;
use scopelink_testkit::autotask::AutotaskSimConfig;
use std::time::Duration;

#[tokio::test]
async fn no_more_than_three_requests_are_in_flight() {
    let s = setup(AutotaskSimConfig::default()).await;
    s.sim.set_latency(Duration::from_millis(30), Duration::ZERO);
    let ids: Vec<String> = s
        .sim
        .companies()
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .map(|i| i.to_string())
        .collect();
    let fetches = ids.iter().map(|id| s.at.fetch(DataType::Companies, id));
    let results = join_all(fetches).await;
    assert!(results.iter().all(|r| matches!(r, Ok(Some(_)))));
    let stats = s.sim.limit_stats();
    assert_eq!(stats.refused_threads, 0, "{stats:?}");
    assert!(stats.max_in_flight <= 3, "{stats:?}");
}

#[tokio::test]
async fn threshold_refusals_are_waited_out() {
    let s = setup(AutotaskSimConfig::default()).await;
    let at = connector(
        &s.sim,
        local().with_throttle(ThrottlePolicy {
            first_wait: Duration::from_millis(20),
            ..scopelink_autotask::DEFAULT_THROTTLE
        }),
    );
    s.sim.fail_next(2, 429);
    let usage = at.threshold_information().await.unwrap();
    assert_eq!(usage.threshold, 10_000);
    assert_eq!(s.sim.fault_stats().rate_limited, 2);
}

#[tokio::test]
async fn an_exhausted_hourly_threshold_is_a_clear_error_and_usage_is_readable() {
    let s = setup(AutotaskSimConfig::default()).await;
    let usage = s.at.threshold_information().await.unwrap();
    assert_eq!(usage.timeframe_minutes, 60);
    assert!(usage.used >= 2, "the test and this call: {usage:?}");
    s.sim.set_limits(3, 3);
    let at = connector(&s.sim, local().with_throttle(ThrottlePolicy::NO_RETRY));
    let mut last = None;
    for _ in 0..5 {
        last = Some(at.threshold_information().await);
    }
    let err = last.unwrap().unwrap_err();
    match &err {
        ConnectorError::Http(e) => {
            let text = e.to_string();
            assert!(text.contains("429") && text.contains("threshold"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert!(s.sim.limit_stats().refused_threshold >= 1);
}
