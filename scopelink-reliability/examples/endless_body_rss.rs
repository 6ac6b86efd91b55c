//! Prints the peak resident set while the core HTTP client reads an endless
//! chunked body, for several body caps, next to the cap (Linux).
//!
//! `cargo run -p scopelink-reliability --example endless_body_rss`

use scopelink_core::http::{AddressPolicy, BodyLimits, HttpClient, HttpConfig, Method, Request};
use scopelink_reliability::hostile_server::{
    current_rss, peak_rss, reset_peak_rss, Answer, HostileServer,
};
use std::time::Instant;
use url::Url;

const MIB: u64 = 1024 * 1024;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = HostileServer::start(|_| Answer::endless(200, b"[".to_vec(), b' '))
        .await
        .expect("server");
    let url = Url::parse(&format!("{}/companies", server.url())).expect("url");
    println!("| cap | RSS before | peak RSS | growth | growth - cap | time to refuse |");
    println!("|---|---|---|---|---|---|");
    for cap in [8 * MIB, 16 * MIB, 32 * MIB, 64 * MIB] {
        let http = HttpClient::new(
            HttpConfig::default()
                .with_body_limits(BodyLimits {
                    success: cap,
                    ..BodyLimits::DEFAULT
                })
                .with_addresses(AddressPolicy::allow_local()),
        )
        .expect("client");
        let _ = http.send(Request::new(Method::GET, url.clone())).await;
        let (Some(before), true) = (current_rss(), reset_peak_rss()) else {
            println!("no /proc/self/status or clear_refs: nothing to measure");
            return;
        };
        let started = Instant::now();
        let outcome = http.send(Request::new(Method::GET, url.clone())).await;
        let took = started.elapsed();
        let peak = peak_rss().unwrap_or(0);
        let growth = peak.saturating_sub(before);
        println!(
            "| {} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:+.1} MiB | {:.0} ms |",
            cap / MIB,
            mib(before),
            mib(peak),
            mib(growth),
            mib(growth) - mib(cap),
            took.as_secs_f64() * 1000.0
        );
        if let Err(e) = outcome {
            if cap == 8 * MIB {
                println!("(error: {e})");
            }
        }
    }
}
