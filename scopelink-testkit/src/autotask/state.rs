//! The simulator's state, reply helpers and clock.

use super::*;

/// What the limits did so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AutotaskLimitStats {
    /// The most requests in flight at once for one integration code and
    /// entity endpoint.
    pub max_in_flight: usize,
    /// Requests refused because the thread limit was reached.
    pub refused_threads: u64,
    /// Requests refused because the hourly threshold was used up.
    pub refused_threshold: u64,
}

impl AutotaskLimitStats {
    /// Requests refused for either limit.
    pub fn refused_for_limit(&self) -> u64 {
        self.refused_threads + self.refused_threshold
    }
}

/// The hourly request threshold and its use, as `ThresholdInformation`
/// reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdUsage {
    /// Requests allowed per timeframe (`externalRequestThreshold`).
    pub external_request_threshold: u64,
    /// The timeframe in minutes (`requestThresholdTimeframe`: 60).
    pub request_threshold_timeframe: u64,
    /// Requests counted in the current timeframe
    /// (`currentTimeframeRequestCount`).
    pub current_timeframe_request_count: u64,
}

pub(super) struct State {
    pub(super) config: AutotaskSimConfig,
    /// `http://127.0.0.1:PORT`.
    pub(super) base: String,
    pub(super) tables: Tables,
    /// Per entity: the next id handed out.
    pub(super) next_ids: HashMap<&'static str, i64>,
    /// The last timestamp handed out (stamps strictly increase).
    pub(super) last_stamp: DateTime<Utc>,
    pub(super) hourly: RollingWindow,
    /// Per (integration code, entity endpoint): when the requests in flight
    /// are answered.
    pub(super) in_flight: HashMap<String, Vec<Instant>>,
    pub(super) limits: AutotaskLimitStats,
    /// The next webhook callout's `SequenceNumber`.
    pub(super) sequence: u64,
    /// Callouts queued by changes, oldest first.
    pub(super) outbox: Vec<QueuedCallout>,
    pub(super) rng: u64,
    pub(super) sim: SimLayer,
}

/// A reply: status and JSON body (`None`: an empty body).
pub(super) type Out = (u16, Option<Value>);

/// Autotask's error body: `{"errors": [message]}`.
pub(super) fn errors(status: u16, message: impl Into<String>) -> Out {
    (status, Some(json!({ "errors": [message.into()] })))
}

pub(super) fn ok(body: Value) -> Out {
    (200, Some(body))
}

/// ASP.NET's answer to a method a route does not support (405).
pub(super) fn method_not_allowed(method: &str) -> Out {
    (
        405,
        Some(json!({
            "Message": format!("The requested resource does not support http method '{method}'.")
        })),
    )
}

/// An id from a JSON number or numeric string.
pub(super) fn id_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `obj[key]` with the key compared case-insensitively.
pub(super) fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Autotask's datetime format: `2026-03-04T15:22:07.000Z`.
pub(super) fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl State {
    pub(super) fn new(config: AutotaskSimConfig, base: String) -> Self {
        let tables = seed(&config);
        let next_ids = ENTITIES
            .iter()
            .map(|d| {
                let max = tables
                    .get(d.name)
                    .and_then(|t| t.keys().next_back().copied())
                    .map_or(d.first_id, |m| m + 1);
                (d.name, max.max(d.first_id))
            })
            .collect();
        Self {
            hourly: RollingWindow::new(
                usize::try_from(config.thresholds).unwrap_or(usize::MAX),
                Duration::from_secs(3600),
            ),
            rng: config.seed | 1,
            config,
            base,
            tables,
            next_ids,
            last_stamp: DateTime::<Utc>::MIN_UTC,
            in_flight: HashMap::new(),
            limits: AutotaskLimitStats::default(),
            sequence: 1,
            outbox: Vec::new(),
            sim: SimLayer::default(),
        }
    }

    /// Now, as a datetime later than any handed out before.
    pub(super) fn now(&mut self) -> String {
        let now = Utc::now();
        let next = if now > self.last_stamp {
            now
        } else {
            self.last_stamp + chrono::Duration::milliseconds(1)
        };
        self.last_stamp = next;
        stamp(next)
    }

    /// The rows of `entity`, by id.
    pub(super) fn table(&self, entity: &str) -> Vec<Value> {
        self.tables
            .get(entity)
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }

    /// A new id for a row of `entity`.
    pub(super) fn new_id(&mut self, entity: &'static str) -> i64 {
        let key = if entity.ends_with("Webhooks") {
            "CompanyWebhooks"
        } else {
            entity
        };
        let next = self.next_ids.entry(key).or_insert(1);
        let id = *next;
        *next += 1;
        id
    }

    /// The delay of the next answer: latency, jitter, and the usage latency
    /// past half the threshold.
    pub(super) fn next_delay(&mut self) -> Duration {
        let mut d = self.config.latency;
        let jitter = u64::try_from(self.config.jitter.as_micros()).unwrap_or(u64::MAX);
        if jitter > 0 {
            // xorshift64
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            d += Duration::from_micros(self.rng % (jitter + 1));
        }
        if !self.config.usage_latency.is_zero() {
            let used = self.hourly.count(Instant::now()) as u64;
            if used.saturating_mul(2) >= self.config.thresholds {
                d += self.config.usage_latency;
            }
        }
        d
    }

    pub(super) fn threshold_usage(&mut self) -> ThresholdUsage {
        ThresholdUsage {
            external_request_threshold: self.config.thresholds,
            request_threshold_timeframe: 60,
            current_timeframe_request_count: self.hourly.count(Instant::now()) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_latency_plus_bounded_deterministic_jitter() {
        let config = AutotaskSimConfig {
            latency: Duration::from_millis(100),
            jitter: Duration::from_millis(50),
            ..AutotaskSimConfig::default()
        };
        let mut a = State::new(config.clone(), String::new());
        let mut b = State::new(config, String::new());
        let da: Vec<Duration> = (0..200).map(|_| a.next_delay()).collect();
        let db: Vec<Duration> = (0..200).map(|_| b.next_delay()).collect();
        assert_eq!(da, db, "the same seed gives the same delays");
        assert!(da
            .iter()
            .all(|d| *d >= Duration::from_millis(100) && *d <= Duration::from_millis(150)));
        assert!(da.iter().any(|d| *d != da[0]), "jitter varies");
    }

    #[test]
    fn usage_latency_starts_at_half_the_threshold() {
        let mut st = State::new(
            AutotaskSimConfig {
                thresholds: 4,
                usage_latency: Duration::from_millis(700),
                ..AutotaskSimConfig::default()
            },
            String::new(),
        );
        assert_eq!(st.next_delay(), Duration::ZERO);
        assert!(st.hourly.admit(Instant::now()));
        assert_eq!(st.next_delay(), Duration::ZERO, "1 of 4 used");
        assert!(st.hourly.admit(Instant::now()));
        assert_eq!(st.next_delay(), Duration::from_millis(700), "2 of 4 used");
        assert_eq!(st.threshold_usage().current_timeframe_request_count, 2);
    }
}
