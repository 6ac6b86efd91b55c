//! What the benchmark examples (`bench`, `bench_autotask`) measure and
//! print: this process's memory (Linux `/proc`), the kind of build, and
//! number formatting.

use std::time::Duration;

/// `VmHWM` (peak) and `VmRSS` (current) of this process in MiB (Linux;
/// `None` elsewhere).
pub fn memory() -> (Option<f64>, Option<f64>) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Resets the peak-RSS mark to the current RSS (Linux `clear_refs` 5), so
/// each phase's peak is its own. Returns whether it could.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The kind of build the figures come from, as the reports print it.
pub fn build_kind() -> &'static str {
    if cfg!(debug_assertions) {
        "debug build: figures are not representative, use --release"
    } else {
        "release build"
    }
}

/// The report's `process` line: this process's RSS before any sync
/// (`rss`), and whether [`reset_peak`] works (else the peaks are
/// cumulative).
pub fn process_line(rss: Option<f64>, peak_resettable: bool) -> String {
    format!(
        "process          RSS {} before any sync; the simulator runs in a child process{}",
        mib(rss),
        if peak_resettable {
            ""
        } else {
            " (peak RSS could not be reset between phases: peaks are cumulative)"
        }
    )
}

/// `381 MiB`, or `n/a`.
pub fn mib(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |m| format!("{m:.0} MiB"))
}

/// `450000` as `450,000`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `n` per second over `d`.
pub fn rate(n: u64, d: Duration) -> u64 {
    (n as f64 / d.as_secs_f64().max(1e-9)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_print_as_the_readme_shows_them() {
        assert_eq!(thousands(450_000), "450,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(mib(Some(380.6)), "381 MiB");
        assert_eq!(mib(None), "n/a");
        assert_eq!(rate(1_000, Duration::from_millis(500)), 2_000);
        assert_eq!(
            process_line(Some(10.2), true),
            "process          RSS 10 MiB before any sync; the simulator runs in a child process"
        );
        assert!(process_line(None, false)
            .ends_with("(peak RSS could not be reset between phases: peaks are cumulative)"));
    }
}
