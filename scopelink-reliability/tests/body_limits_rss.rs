//! Peak memory while reading an endless body stays within a few MiB of the
//! body cap. Alone in its test binary, so no other test's allocations show
//! in the process's peak resident set (`VmHWM`, Linux).

use scopelink_core::http::{AddressPolicy, BodyLimits, HttpClient, HttpConfig, Method, Request};
use scopelink_core::HttpError;
use scopelink_reliability::hostile_server::{
    current_rss, peak_rss, reset_peak_rss, Answer, HostileServer,
};
use url::Url;

const MIB: u64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peak_rss_against_an_endless_body_stays_near_the_cap() {
    let server = HostileServer::start(|_| Answer::endless(200, b"[".to_vec(), b' '))
        .await
        .unwrap();
    let url = Url::parse(&format!("{}/companies", server.url())).unwrap();
    for cap in [16 * MIB, 64 * MIB] {
        let http = HttpClient::new(
            HttpConfig::default()
                .with_body_limits(BodyLimits {
                    success: cap,
                    ..BodyLimits::DEFAULT
                })
                .with_addresses(AddressPolicy::allow_local()),
        )
        .unwrap();
        // Warm up the client (connection, TLS config, runtime buffers)
        // with a first capped read, then measure a second one.
        let _ = http.send(Request::new(Method::GET, url.clone())).await;
        let (Some(before), true) = (current_rss(), reset_peak_rss()) else {
            eprintln!("no /proc/self/status or clear_refs here: nothing measured");
            return;
        };
        let err = http
            .send(Request::new(Method::GET, url.clone()))
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::ResponseTooLarge { .. }), "{err:?}");
        let peak = peak_rss().unwrap();
        let growth = peak.saturating_sub(before);
        println!(
            "endless body, cap {} MiB: RSS before {:.1} MiB, peak {:.1} MiB, growth {:.1} MiB",
            cap / MIB,
            before as f64 / MIB as f64,
            peak as f64 / MIB as f64,
            growth as f64 / MIB as f64
        );
        // Generous slack for the allocator and the server task's buffers;
        // without the cap the growth is unbounded (gigabytes).
        assert!(
            growth <= cap + 24 * MIB,
            "peak grew {growth} bytes with a cap of {cap}"
        );
    }
}
