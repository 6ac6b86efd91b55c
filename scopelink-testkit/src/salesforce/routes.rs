//! Routing: the versions list, then under `/services/data/vNN.0/` the
//! session check, the daily allocation, and the resources.

use super::schema::SObject;
use super::state::{parse_stamp, stamp};
use super::writes::id_shaped;
use super::*;

/// The release a version shipped in (`62.0` → `Winter '25`).
fn release_label(version: &str) -> String {
    let major: i64 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(62);
    let offset = major - 62;
    let season = ["Winter", "Spring", "Summer"][offset.rem_euclid(3) as usize];
    format!("{season} '{:02}", 25 + offset.div_euclid(3))
}

impl State {
    fn session_ok(&self, req: &Request) -> bool {
        let Some(header) = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("OAuth "))
            .unwrap_or_default();
        !token.is_empty() && self.tokens.is_live(token)
    }

    /// `Sforce-Limit-Info`'s value.
    pub(super) fn limit_info(&self) -> String {
        let mut v = format!(
            "api-usage={}/{}",
            self.api_usage, self.config.daily_api_limit
        );
        if let Some((app, max)) = &self.config.per_app_limit {
            v.push_str(&format!(
                "; per-app-api-usage={}/{max}(appName={app})",
                self.app_usage
            ));
        }
        v
    }

    /// Answers one request.
    pub(super) fn handle(&mut self, req: &Request) -> Reply {
        let path = req.url.path();
        let method = req.method.as_str().to_ascii_uppercase();
        let trimmed = path.trim_end_matches('/');
        if trimmed == "/services/data" {
            if method != "GET" {
                return Reply::error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    &format!("HTTP Method '{method}' not allowed. Allowed are GET,HEAD"),
                );
            }
            let versions: Vec<Value> = self
                .config
                .api_versions
                .iter()
                .map(|v| {
                    json!({"label": release_label(v), "url": format!("/services/data/v{v}"), "version": v})
                })
                .collect();
            return Reply::json(200, Value::Array(versions));
        }
        let Some(rest) = trimmed.strip_prefix("/services/data/") else {
            return Reply::not_found();
        };
        let mut segments = rest.split('/');
        let version_segment = segments.next().unwrap_or_default();
        let segments: Vec<&str> = segments.collect();
        // `latest` stands for the newest listed version.
        let version = if version_segment == "latest" {
            self.config.api_versions.last().cloned().unwrap_or_default()
        } else {
            version_segment
                .strip_prefix('v')
                .unwrap_or_default()
                .to_string()
        };
        if !self.config.api_versions.contains(&version) {
            return Reply::not_found();
        }
        let version = version.as_str();
        if !self.session_ok(req) {
            return Reply::invalid_session();
        }
        let mut reply = self.api(req, &method, version, &segments);
        reply.headers.push(("Sforce-Limit-Info", self.limit_info()));
        reply
    }

    /// An authenticated API call: counted, then answered.
    fn api(&mut self, req: &Request, method: &str, version: &str, seg: &[&str]) -> Reply {
        if self.api_usage >= self.config.daily_api_limit {
            return Reply::limit_exceeded();
        }
        self.api_usage += 1;
        self.app_usage += 1;
        if let Some(status) = self.sim.faults.take() {
            return Reply::injected(status);
        }
        let query: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        let base = format!("/services/data/v{version}");
        match (method, seg) {
            ("GET", []) => Reply::json(
                200,
                json!({
                    "limits": format!("{base}/limits"),
                    "query": format!("{base}/query"),
                    "queryAll": format!("{base}/queryAll"),
                    "sobjects": format!("{base}/sobjects"),
                }),
            ),
            ("GET", ["limits"]) => self.limits(),
            ("GET", [endpoint @ ("query" | "queryAll")]) => {
                let Some(q) = query.get("q") else {
                    return Reply::error(
                        400,
                        "MALFORMED_QUERY",
                        "A query string has to be specified",
                    );
                };
                let asked = batch_size(req);
                let all = *endpoint == "queryAll";
                self.queries.push(SimQuery {
                    all,
                    soql: q.clone(),
                    batch_size: asked,
                });
                let batch = asked.map_or(2000, |n| n.clamp(200, 2000));
                self.query(version, q, all, batch)
            }
            ("GET", ["query" | "queryAll", locator]) => self.query_more(version, locator),
            ("GET", ["sobjects"]) => self.describe_global(version),
            (_, ["sobjects", name, rest @ ..]) => {
                let Some(object) = SObject::parse(name) else {
                    return Reply::not_found();
                };
                if matches!(method, "POST" | "PATCH") {
                    let media = req
                        .headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    if !media.to_ascii_lowercase().starts_with("application/json") {
                        return Reply::error(
                            415,
                            "UNSUPPORTED_MEDIA_TYPE",
                            &format!("MediaType of '{media}' is not supported by this resource"),
                        );
                    }
                }
                match (method, rest) {
                    ("GET", []) => Reply::json(
                        200,
                        json!({"objectDescribe": self.describe_object(object, version, false), "recentItems": []}),
                    ),
                    ("POST", []) => self.create(object, &req.body),
                    ("GET", ["describe"]) => {
                        Reply::json(200, self.describe_object(object, version, true))
                    }
                    ("GET", ["deleted"]) => self.replicated(object, &query, true),
                    ("GET", ["updated"]) => self.replicated(object, &query, false),
                    ("GET", [id]) => self.get_record(object, version, id, query.get("fields")),
                    ("PATCH", [id]) => self.update(object, id, &req.body),
                    // Users are deactivated, never deleted.
                    ("DELETE", [id]) if object != SObject::User => self.delete(object, id),
                    (m, _) => Reply::error(
                        405,
                        "METHOD_NOT_ALLOWED",
                        &format!(
                            "HTTP Method '{m}' not allowed. Allowed are GET,PATCH,DELETE,HEAD"
                        ),
                    ),
                }
            }
            (m, ["limits" | "query" | "queryAll" | "sobjects", ..]) => Reply::error(
                405,
                "METHOD_NOT_ALLOWED",
                &format!("HTTP Method '{m}' not allowed. Allowed are GET,HEAD"),
            ),
            _ => Reply::not_found(),
        }
    }

    fn limits(&self) -> Reply {
        let max = self.config.daily_api_limit;
        let mut daily = json!({"Max": max, "Remaining": max.saturating_sub(self.api_usage)});
        if let Some((app, app_max)) = &self.config.per_app_limit {
            daily[app.as_str()] =
                json!({"Max": app_max, "Remaining": app_max.saturating_sub(self.app_usage)});
        }
        Reply::json(
            200,
            json!({
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
                "ConcurrentSyncReportRuns": {"Max": 20, "Remaining": 20},
                "DailyApiRequests": daily,
                "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DataStorageMB": {"Max": 1024, "Remaining": 1019},
                "FileStorageMB": {"Max": 1024, "Remaining": 1024},
                "HourlyTimeBasedWorkflow": {"Max": 1000, "Remaining": 1000},
                "SingleEmail": {"Max": 5000, "Remaining": 5000},
            }),
        )
    }

    fn describe_global(&self, version: &str) -> Reply {
        let sobjects: Vec<Value> = SObject::ALL
            .iter()
            .map(|o| self.describe_object(*o, version, false))
            .collect();
        Reply::json(
            200,
            json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}),
        )
    }

    /// An object's describe (`fields`: the full describe with fields).
    pub(super) fn describe_object(&self, object: SObject, version: &str, fields: bool) -> Value {
        let (label, plural) = object.labels();
        let base = format!("/services/data/v{version}/sobjects/{}", object.name());
        let mut d = json!({
            "name": object.name(),
            "label": label,
            "labelPlural": plural,
            "keyPrefix": object.key_prefix(),
            "custom": false,
            "createable": true,
            "updateable": true,
            "deletable": object != SObject::User,
            "queryable": true,
            "retrieveable": true,
            "searchable": object != SObject::OpportunityContactRole,
            "replicateable": true,
            "urls": {
                "sobject": base,
                "describe": format!("{base}/describe"),
                "rowTemplate": format!("{base}/{{ID}}"),
            },
        });
        if fields {
            let list: Vec<Value> = self
                .fields(object)
                .map(|f| {
                    let picklist: Vec<Value> = f
                        .picklist
                        .iter()
                        .map(|v| {
                            json!({"active": true, "defaultValue": false, "label": v, "validFor": null, "value": v})
                        })
                        .collect();
                    json!({
                        "name": f.name,
                        "label": f.label,
                        "type": f.kind.wire_name(),
                        "soapType": soap_type(f.kind),
                        "nillable": f.nillable,
                        "createable": f.createable,
                        "updateable": f.updateable,
                        "filterable": true,
                        "sortable": f.kind != schema::FieldType::Textarea,
                        "custom": false,
                        "length": if f.kind.is_text() { if matches!(f.kind, schema::FieldType::Id | schema::FieldType::Reference) { 18 } else { 255 } } else { 0 },
                        "precision": if f.kind == schema::FieldType::Currency { 18 } else if f.kind == schema::FieldType::Percent { 3 } else { 0 },
                        "scale": if f.kind == schema::FieldType::Currency { 2 } else { 0 },
                        "picklistValues": picklist,
                        "restrictedPicklist": f.restricted,
                        "referenceTo": f.reference_to.map(|r| vec![r]).unwrap_or_default(),
                        "relationshipName": f.relationship,
                        "defaultedOnCreate": f.name == "OwnerId" || f.name == "IsPrimary",
                    })
                })
                .collect();
            d["fields"] = Value::Array(list);
            d["childRelationships"] = if object == SObject::Opportunity {
                json!([{"childSObject": "OpportunityContactRole", "field": "OpportunityId", "relationshipName": "OpportunityContactRoles", "cascadeDelete": true}])
            } else {
                json!([])
            };
        }
        d
    }

    /// `GET sobjects/{Type}/{Id}[?fields=a,b]`.
    fn get_record(
        &self,
        object: SObject,
        version: &str,
        id: &str,
        fields: Option<&String>,
    ) -> Reply {
        if !id_shaped(object, id) {
            return Reply::error(
                404,
                "NOT_FOUND",
                &format!("Provided external ID field does not exist or is not accessible: {id}"),
            );
        }
        let Some(row) = self
            .find(object, id)
            .filter(|r| r.get("IsDeleted") != Some(&json!(true)))
        else {
            return Reply::not_found();
        };
        let mut out = Map::new();
        out.insert(
            "attributes".into(),
            json!({"type": object.name(), "url": format!("/services/data/v{version}/sobjects/{}/{}", object.name(), row["Id"].as_str().unwrap_or_default())}),
        );
        match fields {
            Some(list) => {
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let Some(f) = self.field(object, name) else {
                        return Reply::error(
                            400,
                            "INVALID_FIELD",
                            &format!(
                                "No such column '{name}' on sobject of type {}",
                                object.name()
                            ),
                        );
                    };
                    out.insert(
                        f.name.into(),
                        row.get(f.name).cloned().unwrap_or(Value::Null),
                    );
                }
            }
            None => {
                for f in self.fields(object) {
                    out.insert(
                        f.name.into(),
                        row.get(f.name).cloned().unwrap_or(Value::Null),
                    );
                }
            }
        }
        Reply::json(200, Value::Object(out))
    }

    /// `GET sobjects/{Type}/deleted/?start=&end=` (`deleted`) or
    /// `.../updated/` : the rows deleted or changed in the span.
    fn replicated(&self, object: SObject, query: &HashMap<String, String>, deleted: bool) -> Reply {
        let parse = |k: &str| {
            query.get(k).and_then(|s| {
                DateTime::parse_from_rfc3339(s)
                    .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
                    .ok()
                    .map(|d| d.with_timezone(&Utc))
            })
        };
        let (Some(start), Some(end)) = (parse("start"), parse("end")) else {
            return Reply::error(
                400,
                "INVALID_REPLICATION_DATE",
                "start and end must be ISO 8601 date-times (yyyy-MM-ddTHH:mm:ss+hh:mm)",
            );
        };
        if end <= start {
            return Reply::error(
                400,
                "INVALID_REPLICATION_DATE",
                "endDate must chronologically follow the startDate",
            );
        }
        let now = Utc::now();
        if start < now - chrono::Duration::days(30) {
            return Reply::error(
                400,
                "INVALID_REPLICATION_DATE",
                "startDate cannot be more than 30 days ago",
            );
        }
        // Seconds are ignored: the span covers whole minutes.
        let minute = |t: DateTime<Utc>| {
            t - chrono::Duration::seconds(t.timestamp().rem_euclid(60))
                - chrono::Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos()))
        };
        let (start, end) = (minute(start), minute(end));
        let latest = minute(end.min(now));
        let rows = self.records.get(&object).into_iter().flatten().filter(|r| {
            (r.get("IsDeleted") == Some(&json!(true))) == deleted
                && r.get("SystemModstamp")
                    .and_then(Value::as_str)
                    .and_then(parse_stamp)
                    .is_some_and(|t| t >= start && t < end)
        });
        if deleted {
            let list: Vec<Value> = rows
                .map(|r| json!({"id": r["Id"], "deletedDate": r["SystemModstamp"]}))
                .collect();
            Reply::json(
                200,
                json!({
                    "deletedRecords": list,
                    "earliestDateAvailable": stamp(now - chrono::Duration::days(15)),
                    "latestDateCovered": stamp(latest),
                }),
            )
        } else {
            let ids: Vec<Value> = rows.map(|r| r["Id"].clone()).collect();
            Reply::json(200, json!({"ids": ids, "latestDateCovered": stamp(latest)}))
        }
    }
}

fn soap_type(kind: schema::FieldType) -> &'static str {
    use schema::FieldType as T;
    match kind {
        T::Id | T::Reference => "tns:ID",
        T::Boolean => "xsd:boolean",
        T::Currency | T::Percent | T::Double => "xsd:double",
        T::Int => "xsd:int",
        T::Date => "xsd:date",
        T::DateTime => "xsd:dateTime",
        _ => "xsd:string",
    }
}

/// The batch size asked for with `Sforce-Query-Options: batchSize=N`
/// (Salesforce serves 200 to 2000; the default 2000).
fn batch_size(req: &Request) -> Option<usize> {
    req.headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, n)| n.trim().parse::<usize>().ok())
        })
}

impl Simulate for State {
    fn answer(&mut self, req: &Request) -> (u16, ResponseTemplate) {
        let latency = if self.slow_next > 0 {
            self.slow_next -= 1;
            self.sim.faults.note_slowed();
            Some(self.slow_latency)
        } else {
            self.config.latency
        };
        let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle(req)))
            .unwrap_or_else(|_| {
                Reply::error(
                    500,
                    "UNKNOWN_EXCEPTION",
                    "The simulator failed on this request (a bug in the simulator).",
                )
            });
        let mut t = ResponseTemplate::new(reply.status);
        for (k, v) in &reply.headers {
            t = t.insert_header(*k, v.as_str());
        }
        if let Some(body) = &reply.body {
            t = t.set_body_raw(
                serde_json::to_vec(body).unwrap_or_default(),
                "application/json;charset=UTF-8",
            );
        }
        if let Some(d) = latency {
            t = t.set_delay(d);
        }
        (reply.status, t)
    }

    fn layer(&mut self) -> &mut SimLayer {
        &mut self.sim
    }
}
