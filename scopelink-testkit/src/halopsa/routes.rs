//! Routing: the token endpoint and `/api/...` paths.

use super::*;

impl State {
    pub(super) fn route(&mut self, req: &Request, query: &Query) -> Out {
        let path = req.url.path().to_ascii_lowercase();
        let path = path.trim_end_matches('/');
        let method = req.method.as_str().to_ascii_uppercase();
        if path == "/auth/token" {
            return self.token(req, query);
        }
        let Some(rest) = path.strip_prefix("/api/") else {
            return empty(404);
        };
        if rest == "authinfo" && method == "GET" {
            return json_response(
                200,
                json!({
                    "auth_url": format!("{}/auth", self.base),
                    "tenant_id": self.config.tenant.as_ref().filter(|_| self.config.tenant_required),
                }),
            );
        }
        if let Some(window) = &mut self.rate_window {
            if !window.admit(Instant::now()) {
                return json_response(429, rate_limit_body());
            }
        }
        if !self.authorized(req) {
            return empty(401);
        }
        if self.forbidden.iter().any(|p| rest.starts_with(p.as_str())) {
            return json_response(403, json!({}));
        }
        if let Some(status) = self.sim.faults.take() {
            let body = match status {
                429 => rate_limit_body(),
                _ => {
                    json!({"ClassName": "System.Exception", "Message": format!("Simulated HTTP {status}.")})
                }
            };
            return json_response(status, body);
        }
        let segments: Vec<&str> = rest.split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["agent", "me"]) => json_response(200, self.config.agent_me.clone()),
            ("GET", ["agent"]) => json_response(200, Value::Array(self.config.agents.clone())),
            ("GET", ["status"]) => json_response(200, Value::Array(self.config.statuses.clone())),
            ("GET", ["priority"]) => {
                json_response(200, Value::Array(self.config.priorities.clone()))
            }
            ("GET", ["tickettype"]) => {
                json_response(200, Value::Array(self.config.ticket_types.clone()))
            }
            ("GET", ["client"]) => self.clients(query),
            ("GET", ["client", id]) => Self::find(&self.config.clients, id),
            ("GET", ["users"]) => self.users(query),
            ("GET", ["users", id]) => Self::find(&self.config.users, id),
            ("GET", ["opportunities"]) => self.opportunities(query),
            ("GET", ["opportunities", id]) => Self::find(&self.config.opportunities, id),
            ("GET", ["projects"]) => {
                let items: Vec<Value> = self
                    .tickets
                    .keys()
                    .copied()
                    .filter(|id| {
                        self.tickets[id].get("is_project").and_then(Value::as_bool) == Some(true)
                    })
                    .filter_map(|id| self.ticket_view(id, false))
                    .collect();
                self.page(items, "tickets", query)
            }
            ("GET", ["projects" | "tickets", id]) => {
                let details = truthy(query.get("includedetails"));
                match id
                    .parse::<i64>()
                    .ok()
                    .and_then(|id| self.ticket_view(id, details))
                {
                    Some(t) => json_response(200, t),
                    None => empty(404),
                }
            }
            ("POST", ["projects"]) => self.post_tickets(req, true),
            ("POST", ["tickets"]) => self.post_tickets(req, false),
            _ => empty(404),
        }
    }
}

impl Simulate for State {
    fn answer(&mut self, req: &Request) -> (u16, ResponseTemplate) {
        let query = Query(req.url.query_pairs().into_owned().collect());
        let (status, body) = self.route(req, &query);
        let template = match body {
            Some(body) => ResponseTemplate::new(status).set_body_json(body),
            None => ResponseTemplate::new(status),
        };
        (status, template)
    }

    fn layer(&mut self) -> &mut SimLayer {
        &mut self.sim
    }

    /// HaloPSA's 429 rate-limit body (no `Retry-After`), for `/api/...`
    /// calls; the token endpoint is not capped.
    fn over_limit(&mut self, req: &Request) -> Option<ResponseTemplate> {
        req.url
            .path()
            .to_ascii_lowercase()
            .starts_with("/api/")
            .then(|| ResponseTemplate::new(429).set_body_json(rate_limit_body()))
    }
}
