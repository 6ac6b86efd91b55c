//! Routing: host, auth and path checks, reads, and callback updates.

use super::*;

impl State {
    pub(super) fn bump(&mut self) {
        self.generation += 1;
    }

    pub(super) fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn ref_value(
        &self,
        id: u64,
        identifier: Option<&str>,
        name: &str,
        href_key: &str,
        path: &str,
    ) -> Value {
        let mut s = String::new();
        push_ref(&mut s, &self.data.api, id, identifier, name, href_key, path);
        serde_json::from_str(&s).unwrap_or(Value::Null)
    }

    pub(super) fn company_ref_value(&self, id: u64) -> Value {
        let (ident, name) = self.data.company_label(id);
        self.ref_value(
            id,
            Some(&ident),
            &name,
            "company_href",
            "/company/companies/",
        )
    }

    pub(super) fn contact_ref_value(&self, id: u64) -> Value {
        let name = self.data.contact_name(id);
        self.ref_value(id, None, &name, "contact_href", "/company/contacts/")
    }

    pub(super) fn lookup(&self, coll: Coll) -> &[Value] {
        match coll {
            Coll::Projects => &self.projects,
            Coll::Tickets => &self.tickets,
            Coll::Callbacks => &self.callbacks,
            c => self
                .lookups
                .iter()
                .find(|(k, _)| *k == c)
                .map_or(&[][..], |(_, v)| v.as_slice()),
        }
    }

    pub(super) fn handle(&mut self, req: &Request) -> Reply {
        let method = req.method.as_str().to_string();
        let path = req.url.path().to_string();
        if let Some(status) = self.sim.faults.take() {
            return self.fault(status);
        }
        let lower = path.to_ascii_lowercase();
        if let Some(company) = lower.strip_prefix("/login/companyinfo/") {
            if method != "GET" {
                return method_not_allowed(&method);
            }
            return self.company_info(company.trim_end_matches('/'));
        }
        let mut first = lower.trim_start_matches('/').splitn(2, '/');
        let (_codebase, after) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
        if after.trim_start_matches('/') == "system/callbackkey/index.rails" {
            return self.signing_key_reply(req, &method);
        }
        let Some(rest) = after.strip_prefix("apis/3.0") else {
            return not_endpoint();
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return not_endpoint();
        }
        if let Err(r) = self.check_host(req) {
            return r;
        }
        if let Err(r) = self.check_auth(req) {
            return r;
        }
        let segs: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let joined = format!("/{}", segs.join("/"));
        if (self.restricted && joined != "/system/info")
            || self
                .restricted_paths
                .iter()
                .any(|p| joined.starts_with(p.as_str()))
        {
            return error(
                403,
                "NotAuthorized",
                "You do not have sufficient security role permissions to perform this action.",
            );
        }
        self.route(req, &method, &segs)
    }

    pub(super) fn fault(&self, status: u16) -> Reply {
        if status == 429 {
            return Reply::json(
                429,
                &json!({
                    "error": "ConnectWiseAPI",
                    "message": format!("Too many requests. Please try again in {} seconds.", self.retry_after),
                }),
            )
            .header("Retry-After", self.retry_after.to_string());
        }
        let code = match status {
            500 => "ServerError",
            502 => "BadGateway",
            503 => "ServiceUnavailable",
            504 => "GatewayTimeout",
            _ => "InjectedFault",
        };
        let reply = error(status, code, "Injected fault (simulator).");
        if status == 503 {
            reply.header("Retry-After", self.retry_after.to_string())
        } else {
            reply
        }
    }

    pub(super) fn company_info(&self, company: &str) -> Reply {
        if !company.eq_ignore_ascii_case(&self.cfg.company_id) {
            return Reply::raw(200, "null".into());
        }
        Reply::json(
            200,
            &json!({
                "CompanyName": "Scopelink Demo MSP (simulator)",
                "Codebase": self.cfg.codebase,
                "VersionCode": "v2025.1",
                "VersionNumber": "v4.6.118402",
                "CompanyID": self.cfg.company_id,
                "IsCloud": "True",
            }),
        )
    }

    /// On a cloud site, API calls must name the `api-` host (Developer
    /// Guide, "Authentication": "Are you connecting to the Cloud or
    /// Staging? If so you must include API- in front of the ConnectWise PSA
    /// site ... Otherwise you will run into this error").
    pub(super) fn check_host(&self, req: &Request) -> Result<(), Reply> {
        let Some(expected) = self.cfg.cloud_api_host() else {
            return Ok(());
        };
        let host = header(req, "host").unwrap_or("").trim();
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        if name.trim_end_matches('.').eq_ignore_ascii_case(&expected) {
            return Ok(());
        }
        Err(Reply::json(
            401,
            &json!({"code": "Security", "message": "SSL is required.", "errors": null}),
        ))
    }

    pub(super) fn key_url(&self) -> String {
        format!(
            "{}/{}/system/callbackkey/index.rails?companyName={}&id={}",
            self.base, self.cfg.codebase, self.cfg.company_id, self.key_id
        )
    }

    pub(super) fn signing_key_reply(&self, req: &Request, method: &str) -> Reply {
        if method != "GET" {
            return method_not_allowed(method);
        }
        let mut id = None;
        let mut company = None;
        for (k, v) in req.url.query_pairs() {
            match k.to_ascii_lowercase().as_str() {
                "id" => id = Some(v.into_owned()),
                "companyname" => company = Some(v.into_owned()),
                _ => {}
            }
        }
        let id_ok = id.is_some_and(|i| i.eq_ignore_ascii_case(&self.key_id));
        let company_ok = company.is_some_and(|c| c.eq_ignore_ascii_case(&self.cfg.company_id));
        if !(id_ok && company_ok) {
            return error(404, "NotFound", "Callback key not found");
        }
        Reply::json(200, &json!({"signing_key": self.signing_key}))
    }

    pub(super) fn check_auth(&self, req: &Request) -> Result<(), Reply> {
        let unauthorized = || {
            error(
                401,
                "Unauthorized",
                format!(
                    "Authentication failed: invalid public/private key pair for company {}.",
                    self.cfg.company_id
                ),
            )
        };
        let auth = header(req, "authorization").ok_or_else(unauthorized)?;
        let (scheme, encoded) = auth.trim().split_once(' ').ok_or_else(unauthorized)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(unauthorized());
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(unauthorized)?;
        let (user, private) = decoded.split_once(':').ok_or_else(unauthorized)?;
        let (company, public) = user.split_once('+').ok_or_else(unauthorized)?;
        if !company.eq_ignore_ascii_case(&self.cfg.company_id)
            || public != self.cfg.public_key
            || private != self.cfg.private_key
        {
            return Err(unauthorized());
        }
        let client = header(req, "clientid").map(str::trim).unwrap_or("");
        if !client.eq_ignore_ascii_case(&self.cfg.client_id) {
            return Err(error(
                401,
                "Unauthorized",
                "A valid clientId header is required (see developer.connectwise.com/ClientID).",
            ));
        }
        Ok(())
    }

    pub(super) fn route(&mut self, req: &Request, method: &str, segs: &[String]) -> Reply {
        if segs.len() == 2 && segs[0] == "system" && segs[1] == "info" {
            return if method == "GET" {
                self.system_info()
            } else {
                method_not_allowed(method)
            };
        }
        let Some((coll, label, used)) = match_route(segs) else {
            return not_endpoint();
        };
        let rest: Vec<&str> = segs[used..].iter().map(String::as_str).collect();
        let id = |s: &str| s.parse::<u64>().ok();
        match (method, coll, rest.as_slice()) {
            ("GET", _, []) => self.list(req, coll, false),
            ("GET", _, ["count"]) => self.list(req, coll, true),
            ("GET", Coll::Projects, [p, "phases"]) => self.list_phases(req, id(p), false),
            ("GET", Coll::Projects, [p, "phases", "count"]) => self.list_phases(req, id(p), true),
            ("GET", Coll::Projects, [p, "phases", ph]) => match (id(p), id(ph)) {
                (Some(p), Some(ph)) => match self
                    .phases
                    .iter()
                    .find(|v| v["id"] == json!(ph) && v["projectId"] == json!(p))
                {
                    Some(v) => Reply::json(200, v),
                    None => not_found("Phase", ph),
                },
                _ => not_endpoint(),
            },
            ("POST", Coll::Projects, [p, "phases"]) => match id(p) {
                Some(p) => self.create_phase(req, p),
                None => not_endpoint(),
            },
            ("GET", Coll::Tickets, [t, "tasks"]) => match id(t) {
                Some(t) => {
                    let tasks: Vec<Value> = self
                        .tasks
                        .iter()
                        .filter(|v| v["ticketId"] == json!(t))
                        .cloned()
                        .collect();
                    Reply::json(200, &Value::Array(tasks))
                }
                None => not_endpoint(),
            },
            ("POST", Coll::Tickets, [t, "tasks"]) => match id(t) {
                Some(t) => self.create_task(req, t),
                None => not_endpoint(),
            },
            ("GET", Coll::Opportunities, [o, "forecast"]) => match id(o) {
                Some(o) => self.forecast_list(o),
                None => not_endpoint(),
            },
            ("POST", Coll::Opportunities, [o, "forecast"]) => match id(o) {
                Some(o) => self.post_forecast(req, o),
                None => not_endpoint(),
            },
            ("PATCH", Coll::Opportunities, [o, "forecast", f]) => match (id(o), id(f)) {
                (Some(o), Some(f)) => self.patch_forecast_item(req, o, f),
                _ => not_endpoint(),
            },
            ("GET", _, [one]) => match id(one) {
                Some(n) => self.single(coll, n, label),
                None => not_endpoint(),
            },
            ("PATCH", Coll::Opportunities, [o]) => match id(o) {
                Some(o) => self.patch_opportunity(req, o),
                None => not_endpoint(),
            },
            ("POST", Coll::Callbacks, []) => self.create_callback(req),
            ("PATCH", Coll::Callbacks, [c]) => match id(c) {
                Some(c) => self.patch_callback(req, c),
                None => not_endpoint(),
            },
            ("DELETE", Coll::Callbacks, [c]) => match id(c) {
                Some(c) => {
                    let before = self.callbacks.len();
                    self.callbacks.retain(|v| v.row_id() != c);
                    if self.callbacks.len() == before {
                        not_found(label, c)
                    } else {
                        self.bump();
                        Reply::raw(204, String::new())
                    }
                }
                None => not_endpoint(),
            },
            ("POST", Coll::Projects, []) => self.create_project(req),
            ("POST", Coll::Tickets, []) => self.create_ticket(req),
            (_, _, r) if r.len() <= 1 => method_not_allowed(method),
            _ => not_endpoint(),
        }
    }

    pub(super) fn system_info(&self) -> Reply {
        Reply::json(
            200,
            &json!({
                "version": "v2025.1.118402",
                "isCloud": true,
                "serverTimeZone": "Eastern Standard Time",
                "licenseBits": [
                    {"name": "CustomMenu", "activeFlag": true},
                    {"name": "Procurement", "activeFlag": true},
                    {"name": "ProjectManagement", "activeFlag": true}
                ],
                "cloudRegion": "NA",
                "maxWorkFlowRecordsAllowed": 2000
            }),
        )
    }

    pub(super) fn list(&mut self, req: &Request, coll: Coll, count: bool) -> Reply {
        let q = match parse_query(req) {
            Ok(q) => q,
            Err(r) => return r,
        };
        let link_base = format!("{}{}", self.base, req.url.path());
        let generation = self.generation;
        let d = &self.data;
        let cache = Some((&mut self.cache, coll, generation));
        match coll {
            Coll::Companies => list_rows(
                &d.companies,
                d,
                Some((COMPANY_FIELDS, COMPANY_CHILD_FIELDS)),
                &q,
                cache,
                &link_base,
                count,
            ),
            Coll::Contacts => list_rows(
                &d.contacts,
                d,
                Some((CONTACT_FIELDS, CONTACT_CHILD_FIELDS)),
                &q,
                cache,
                &link_base,
                count,
            ),
            Coll::Opportunities => list_rows(
                &d.opportunities,
                d,
                Some((OPPORTUNITY_FIELDS, &[])),
                &q,
                cache,
                &link_base,
                count,
            ),
            Coll::Configurations => list_rows(
                &d.configurations,
                d,
                Some((CONFIGURATION_FIELDS, &[])),
                &q,
                cache,
                &link_base,
                count,
            ),
            Coll::Catalog => list_rows(
                &d.catalog,
                d,
                Some((CATALOG_FIELDS, &[])),
                &q,
                cache,
                &link_base,
                count,
            ),
            other => {
                let rows: Vec<Value> = match other {
                    Coll::Tickets => self.tickets.iter().map(public_ticket).collect(),
                    _ => self.lookup(other).to_vec(),
                };
                list_rows(&rows, &self.data, None, &q, None, &link_base, count)
            }
        }
    }

    pub(super) fn list_phases(
        &mut self,
        req: &Request,
        project: Option<u64>,
        count: bool,
    ) -> Reply {
        let Some(project) = project else {
            return not_endpoint();
        };
        if !self.projects.iter().any(|p| p.row_id() == project) {
            return not_found("Project", project);
        }
        let q = match parse_query(req) {
            Ok(q) => q,
            Err(r) => return r,
        };
        let rows: Vec<Value> = self
            .phases
            .iter()
            .filter(|v| v["projectId"] == json!(project))
            .cloned()
            .collect();
        let link_base = format!("{}{}", self.base, req.url.path());
        list_rows(&rows, &self.data, None, &q, None, &link_base, count)
    }

    pub(super) fn single(&self, coll: Coll, id: u64, label: &str) -> Reply {
        let d = &self.data;
        match coll {
            Coll::Companies => single_row(&d.companies, d, id, label),
            Coll::Contacts => single_row(&d.contacts, d, id, label),
            Coll::Opportunities => single_row(&d.opportunities, d, id, label),
            Coll::Configurations => single_row(&d.configurations, d, id, label),
            Coll::Catalog => single_row(&d.catalog, d, id, label),
            Coll::Tickets => match self.tickets.iter().find(|t| t.row_id() == id) {
                Some(t) => Reply::json(200, &public_ticket(t)),
                None => not_found(label, id),
            },
            other => value_row(self.lookup(other), id, label),
        }
    }

    pub(super) fn render_entity(&self, kind: &str, id: u64) -> Option<String> {
        let d = &self.data;
        let mut out = String::new();
        match kind.to_ascii_lowercase().as_str() {
            "company" => d.company(id)?.render(d, &mut out),
            "contact" => d.contact(id)?.render(d, &mut out),
            "opportunity" => d.opportunity(id)?.render(d, &mut out),
            "configuration" => {
                let i = find(&d.configurations, id, |c| c.id)?;
                d.configurations[i].render(d, &mut out)
            }
            "productcatalog" => {
                let i = find(&d.catalog, id, |c| c.id)?;
                d.catalog[i].render(d, &mut out)
            }
            "project" => out = self.projects.iter().find(|p| p.row_id() == id)?.to_string(),
            "ticket" => {
                out = public_ticket(self.tickets.iter().find(|p| p.row_id() == id)?).to_string()
            }
            _ => return None,
        }
        Some(out)
    }

    pub(super) fn sign(&self, body: &[u8]) -> String {
        sign_callback(&self.signing_key, body)
    }

    pub(super) fn patch_callback(&mut self, req: &Request, id: u64) -> Reply {
        let ops = match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Array(a)) => a,
            Ok(_) => return bad_request("A PATCH body must be a JSON array of {op, path, value}."),
            Err(e) => return bad_request(format!("The request body is not valid JSON: {e}")),
        };
        let Some(pos) = self.callbacks.iter().position(|c| c.row_id() == id) else {
            return not_found("CallbackEntry", id);
        };
        let mut entry = self.callbacks[pos].clone();
        for op in &ops {
            let path = op.get("path").and_then(Value::as_str).unwrap_or("");
            let path = path.strip_prefix('/').unwrap_or(path);
            let writable = [
                "description",
                "url",
                "objectId",
                "type",
                "level",
                "inactiveFlag",
                "isSelfSuppressedFlag",
                "payloadVersion",
            ];
            if !writable.contains(&path) {
                return invalid(
                    "callbackEntry",
                    vec![(
                        "InvalidField",
                        path.to_string(),
                        format!("'{path}' cannot be patched."),
                    )],
                );
            }
            match op.get("op").and_then(Value::as_str).unwrap_or("") {
                "replace" | "add" => entry[path] = op.get("value").cloned().unwrap_or(Value::Null),
                other => return bad_request(format!("Unsupported patch op '{other}'.")),
            }
        }
        entry["_info"] = json!({"lastUpdated": ts(now_secs()), "updatedBy": API_MEMBER});
        self.callbacks[pos] = entry.clone();
        self.bump();
        Reply::json(200, &entry)
    }
}

/// The `x-content-signature` of a callback `body` under `signing_key`, as
/// ConnectWise computes it: `base64(HMAC-SHA256(key = SHA256(signing_key),
/// body))`.
pub fn sign_callback(signing_key: &str, body: &[u8]) -> String {
    let key = sha2::Sha256::digest(signing_key.as_bytes());
    let mac =
        scopelink_core::webhook::hmac(scopelink_core::webhook::HmacAlgorithm::Sha256, &key, body);
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// A ticket as the API returns it (`initialDescription` is POST-only).
pub(super) fn public_ticket(t: &Value) -> Value {
    let mut t = t.clone();
    if let Value::Object(m) = &mut t {
        m.remove("initialDescription");
    }
    t
}
