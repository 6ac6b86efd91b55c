//! Routing: zone discovery, version information, the auth headers, the
//! limits, then the entity routes.

use super::*;

/// A request header, by case-insensitive name (HTTP header names are).
fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// `rest` without the case-insensitive `prefix`.
fn strip_ci<'a>(rest: &'a str, prefix: &str) -> Option<&'a str> {
    (rest.len() >= prefix.len() && rest[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &rest[prefix.len()..])
}

impl State {
    pub(super) fn route(&mut self, req: &Request, delay: Duration) -> Out {
        let method = req.method.as_str().to_ascii_uppercase();
        let path = req.url.path().trim_end_matches('/');
        let Some(rest) = strip_ci(path, "/ATServicesRest/") else {
            return (404, None);
        };
        if rest.eq_ignore_ascii_case("versioninformation") {
            return match method.as_str() {
                "GET" => ok(json!({ "apiVersions": ["1.0"] })),
                m => method_not_allowed(m),
            };
        }
        let Some(rest) = strip_ci(rest, "v1.0/") else {
            return (404, None);
        };
        if rest.eq_ignore_ascii_case("zoneInformation") {
            return self.zone_information(req, &method);
        }
        if let Some(refusal) = self.authenticate(req) {
            return refusal;
        }
        if matches!(method.as_str(), "POST" | "PATCH" | "PUT") {
            let media = header(req, "Content-Type")
                .and_then(|v| v.split(';').next())
                .map(|v| v.trim().to_ascii_lowercase());
            if !matches!(media.as_deref(), Some("application/json" | "text/json")) {
                let media = media.unwrap_or_else(|| "application/octet-stream".into());
                return (
                    415,
                    Some(json!({
                        "Message": format!(
                            "The request entity's media type '{media}' is not supported for this resource."
                        )
                    })),
                );
            }
        }
        if let Some(status) = self.sim.faults.take() {
            return match status {
                429 => errors(429, thread_refusal(self.config.max_threads)),
                s => errors(s, format!("Simulated HTTP {s}.")),
            };
        }
        // Neither refusal is counted in the hour (an assumption).
        let now = Instant::now();
        let segments: Vec<&str> = rest.split('/').collect();
        let endpoint = segments.first().copied().unwrap_or("").to_ascii_lowercase();
        let key = format!("{}|{endpoint}", self.config.integration_code);
        let max_threads = self.config.max_threads;
        let slots = self.in_flight.entry(key.clone()).or_default();
        slots.retain(|end| *end > now);
        if slots.len() >= max_threads {
            self.limits.refused_threads += 1;
            return errors(429, thread_refusal(max_threads));
        }
        if !self.hourly.admit(now) {
            self.limits.refused_threshold += 1;
            return errors(429, THRESHOLD_REFUSAL);
        }
        let slots = self.in_flight.entry(key).or_default();
        slots.push(now + delay);
        self.limits.max_in_flight = self.limits.max_in_flight.max(slots.len());
        self.dispatch(req, &method, &segments)
    }

    fn zone_information(&mut self, req: &Request, method: &str) -> Out {
        if method != "GET" {
            return method_not_allowed(method);
        }
        let user = req
            .url
            .query_pairs()
            .find(|(k, _)| k.eq_ignore_ascii_case("user"))
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if user.trim().is_empty() || !user.eq_ignore_ascii_case(&self.config.username) {
            return errors(500, "Zone information could not be determined");
        }
        ok(json!({
            "zoneName": self.config.zone_name,
            "url": format!("{}/ATServicesRest/", self.base),
            "webUrl": format!("{}/", self.base),
            "ci": self.config.ci,
        }))
    }

    /// The refusal for bad credentials, if they are bad: an unknown user or
    /// a missing or wrong integration code is a 500 with an errors body, a
    /// wrong secret a 401 with no body.
    fn authenticate(&self, req: &Request) -> Option<Out> {
        let user = header(req, "UserName").unwrap_or("");
        if user.is_empty() || !user.eq_ignore_ascii_case(&self.config.username) {
            return Some(errors(500, UNKNOWN_USER));
        }
        if header(req, "Secret") != Some(self.config.secret.as_str()) {
            return Some((401, None));
        }
        if header(req, "ApiIntegrationCode") != Some(self.config.integration_code.as_str()) {
            return Some(errors(500, INTEGRATION_CODE_INVALID));
        }
        None
    }

    fn dispatch(&mut self, req: &Request, method: &str, segments: &[&str]) -> Out {
        let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        if let ["thresholdinformation"] = lower.as_slice() {
            return match method {
                "GET" => {
                    let u = self.threshold_usage();
                    ok(json!({
                        "externalRequestThreshold": u.external_request_threshold,
                        "requestThresholdTimeframe": u.request_threshold_timeframe,
                        "currentTimeframeRequestCount": u.current_timeframe_request_count,
                    }))
                }
                m => method_not_allowed(m),
            };
        }
        let Some(def) = segments.first().and_then(|e| entity_def(e)) else {
            return (404, None);
        };
        match (method, &lower[1..]) {
            ("GET" | "POST", ["query"]) => self.query(req, def, method, false),
            ("GET" | "POST", ["query", "count"]) => self.query(req, def, method, true),
            ("GET", ["entityinformation"]) => self.entity_information(def),
            ("GET", ["entityinformation", "fields"]) => self.field_information(def),
            ("GET", ["entityinformation", "userdefinedfields"]) => self.udf_information(def),
            (_, ["entityinformation", ..]) => method_not_allowed(method),
            ("POST" | "PATCH" | "PUT", []) if def.child_of.is_some() => (404, None),
            ("POST", []) => self.create(req, def, None),
            ("PATCH" | "PUT", []) => self.update(req, def, None, method == "PUT"),
            (m, []) => method_not_allowed(m),
            ("GET", [id]) => self.get_item(def, id, None),
            ("DELETE", [_]) if def.child_of.is_some() || !def.can_delete => {
                method_not_allowed(method)
            }
            ("DELETE", [id]) => self.delete(def, id, None),
            (m, [_]) => method_not_allowed(m),
            (_, [parent_id, child, rest @ ..]) => {
                let Some(cdef) = child_def(def.name, child) else {
                    return (404, None);
                };
                let Some(parent_id) = parent_id.parse::<i64>().ok() else {
                    return (404, None);
                };
                let parent = Some(parent_id);
                match (method, rest) {
                    ("GET", ["entityinformation"]) => self.entity_information(cdef),
                    ("GET", ["entityinformation", "fields"]) => self.field_information(cdef),
                    ("GET", ["entityinformation", "userdefinedfields"]) => {
                        self.udf_information(cdef)
                    }
                    ("GET", []) => self.children(cdef, parent_id),
                    ("POST", []) => self.create(req, cdef, parent),
                    ("PATCH" | "PUT", []) => self.update(req, cdef, parent, method == "PUT"),
                    ("GET", [id]) => self.get_item(cdef, id, parent),
                    ("DELETE", [_]) if !cdef.can_delete => method_not_allowed(method),
                    ("DELETE", [id]) => self.delete(cdef, id, parent),
                    (m, _) => method_not_allowed(m),
                }
            }
        }
    }
}

/// The body of a 500 for an unknown `UserName` (wording unconfirmed).
pub(super) const UNKNOWN_USER: &str =
    "Unable to authenticate: the UserName is not a known API user.";
/// The body of a 500 for a missing or wrong `ApiIntegrationCode` (the SOAP
/// API's wording).
pub(super) const INTEGRATION_CODE_INVALID: &str = "IntegrationCode is invalid.";
/// The message of a 429 over the thread limit (n8n quotes "thread
/// threshold of 3 threads has been exceeded").
pub(super) fn thread_refusal(max_threads: usize) -> String {
    format!(
        "Request denied: the thread threshold of {max_threads} threads has been exceeded for this integration and endpoint. Retry when a request completes."
    )
}
/// The body of a 429 over the hourly threshold (wording unconfirmed).
pub(super) const THRESHOLD_REFUSAL: &str =
    "Request denied: the API request threshold of this database for the current hour has been exceeded.";

impl Simulate for State {
    fn answer(&mut self, req: &Request) -> (u16, ResponseTemplate) {
        let delay = self.next_delay();
        let (status, body) = self.route(req, delay);
        let mut t = ResponseTemplate::new(status);
        if let Some(body) = body {
            t = t.set_body_raw(
                serde_json::to_vec(&body).unwrap_or_default(),
                "application/json; charset=utf-8",
            );
        }
        if !delay.is_zero() {
            t = t.set_delay(delay);
        }
        (status, t)
    }

    fn layer(&mut self) -> &mut SimLayer {
        &mut self.sim
    }
}
