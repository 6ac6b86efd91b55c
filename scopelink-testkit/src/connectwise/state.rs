//! State: the simulator's data, faults and lookups, and request-body helpers.

use super::*;

pub(super) struct State {
    pub(super) cfg: ConnectWiseSimConfig,
    pub(super) base: String,
    pub(super) site: String,
    pub(super) data: Data,
    pub(super) lookups: Vec<(Coll, Vec<Value>)>,
    pub(super) projects: Vec<Value>,
    pub(super) phases: Vec<Value>,
    pub(super) tickets: Vec<Value>,
    pub(super) tasks: Vec<Value>,
    pub(super) callbacks: Vec<Value>,
    pub(super) forecast_items: Vec<Value>,
    pub(super) next_id: u64,
    pub(super) sim: SimLayer,
    pub(super) retry_after: u64,
    pub(super) slow_next: u32,
    pub(super) slow_latency: Duration,
    pub(super) restricted: bool,
    pub(super) restricted_paths: Vec<String>,
    pub(super) cache: Cache,
    pub(super) generation: u64,
    pub(super) signing_key: String,
    pub(super) key_id: String,
    pub(super) messages: u64,
}

pub(super) fn info(lu: &str) -> Value {
    json!({"lastUpdated": lu, "updatedBy": "admin1"})
}

pub(super) fn build_lookups(api: &str) -> Vec<(Coll, Vec<Value>)> {
    let r = |id: u64, name: &str, href_key: &str, path: &str| json!({"id": id, "name": name, "_info": {href_key: format!("{api}{path}{id}")}});
    let company_types = COMPANY_TYPES
        .iter()
        .map(|&(id, name)| {
            let mut v = json!({
                "id": id, "name": name, "defaultFlag": id == 1, "vendorFlag": id == 9,
                "serviceAlertFlag": id == 5, "_info": info("2023-01-05T10:00:00Z"),
            });
            if id == 5 {
                v["serviceAlertMessage"] = json!("Managed client - follow the MSA runbook.");
            }
            v
        })
        .collect();
    let company_statuses = COMPANY_STATUSES
        .iter()
        .map(|&(id, name)| {
            json!({
                "id": id, "name": name, "defaultFlag": id == 1, "inactiveFlag": id == 2,
                "notifyFlag": id == 3, "disallowSavingFlag": false,
                "notificationMessage": if id == 3 { "Company is on credit hold - check with accounting." } else { "" },
                "customNoteFlag": id == 3, "cancelOpenTracksFlag": id == 2,
                "_info": info("2023-01-05T10:00:00Z"),
            })
        })
        .collect();
    let locations = TERRITORIES
        .iter()
        .map(|&(id, name)| {
            json!({
                "id": id, "ownerLevelId": 1,
                "structureLevel": r(2, "Location", "structureLevel_href", "/system/corporateStructureLevels/"),
                "name": name,
                "manager": {"id": 155, "identifier": "jmorales", "name": "Jada Morales",
                    "_info": {"member_href": format!("{api}/system/members/155")}},
                "locationFlag": true, "clientFlag": false, "workRoleIds": [], "departmentIds": [10],
                "_info": info("2023-02-01T09:00:00Z"),
            })
        })
        .collect();
    let markets = MARKETS
        .iter()
        .map(|&(id, name)| json!({"id": id, "name": name, "_info": info("2023-01-05T10:00:00Z")}))
        .collect();
    let opp_statuses = OPPORTUNITY_STATUSES
        .iter()
        .map(|&(id, name, won, lost, closed)| {
            json!({
                "id": id, "name": name, "wonFlag": won, "lostFlag": lost, "closedFlag": closed,
                "inactiveFlag": false, "defaultFlag": id == 1, "_info": info("2023-01-05T10:00:00Z"),
            })
        })
        .collect();
    let opp_types = OPP_TYPES
        .iter()
        .map(|&(id, name)| {
            json!({"id": id, "description": name, "inactiveFlag": false, "_info": info("2023-01-05T10:00:00Z")})
        })
        .collect();
    let probabilities = PROBABILITIES
        .iter()
        .map(|&(id, p)| json!({"id": id, "probability": p, "_info": info("2023-01-05T10:00:00Z")}))
        .collect();
    let stages = STAGES
        .iter()
        .enumerate()
        .map(|(n, &(id, name, prob))| {
            let color = ["Gray", "Blue", "Yellow", "Orange", "Green"][n % 5];
            json!({
                "id": id, "name": name,
                "probability": r(prob, &probability_percent(prob).to_string(), "probability_href", "/sales/probabilities/"),
                "color": color,
                "sequenceNumber": n + 1, "_info": info("2023-01-05T10:00:00Z"),
            })
        })
        .collect();
    let project_statuses = [(1, "Open", true, false, false, 1, "Green"), (2, "On Hold", false, true, false, 2, "Yellow"), (5, "Closed", false, true, true, 4, "Gray")]
        .iter()
        .map(|&(id, name, default, no_time, closed, ind, ind_name)| {
            json!({
                "id": id, "name": name, "defaultFlag": default, "inactiveFlag": false,
                "noTimeFlag": no_time, "closedFlag": closed,
                "statusIndicator": r(ind, ind_name, "statusIndicator_href", "/project/statusIndicators/"),
                "_info": info("2023-01-05T10:00:00Z"),
            })
        })
        .collect();
    let priorities = [
        (4, "Priority 1 - Critical", "Red", 1),
        (5, "Priority 2 - High", "Orange", 3),
        (7, "Priority 4 - Low", "Blue", 8),
        (8, "Priority 3 - Normal", "Green", 6),
    ]
    .iter()
    .map(|&(id, name, color, sort)| {
        json!({
            "id": id, "name": name, "color": color, "sortOrder": sort, "defaultFlag": id == 8,
            "imageLink": format!("{api}/service/priorities/{id}/image"),
            "_info": info("2023-01-05T10:00:00Z"),
        })
    })
    .collect();
    let dept = json!({"id": 10, "identifier": "PS", "name": "Professional Services",
        "_info": {"department_href": format!("{api}/system/departments/10")}});
    let mut boards: Vec<Value> = vec![json!({
        "id": 1, "name": "Help Desk",
        "location": r(11, "East Region", "location_href", "/system/locations/"),
        "department": {"id": 11, "identifier": "SD", "name": "Service Desk",
            "_info": {"department_href": format!("{api}/system/departments/11")}},
        "inactiveFlag": false, "projectFlag": false, "showDependenciesFlag": false,
        "showEstimatesFlag": false, "billTime": "Billable", "billExpense": "Billable",
        "billProduct": "Billable", "_info": info("2024-02-11T09:00:00Z"),
    })];
    for (n, &(id, name)) in PROJECT_BOARDS.iter().enumerate() {
        let (lid, lname) = TERRITORIES[n % 2];
        boards.push(json!({
            "id": id, "name": name,
            "location": r(lid, lname, "location_href", "/system/locations/"),
            "department": dept.clone(),
            "inactiveFlag": false, "projectFlag": true, "showDependenciesFlag": n == 0,
            "showEstimatesFlag": true, "billTime": "Billable", "billExpense": "Billable",
            "billProduct": "Billable",
            "percentageCalculation": if n == 0 { "ActualHours" } else { "ClosedPhases" },
            "_info": info("2024-02-11T09:00:00Z"),
        }));
    }
    vec![
        (Coll::CompanyTypes, company_types),
        (Coll::CompanyStatuses, company_statuses),
        (Coll::Locations, locations),
        (Coll::Markets, markets),
        (Coll::OppStatuses, opp_statuses),
        (Coll::OppTypes, opp_types),
        (Coll::Probabilities, probabilities),
        (Coll::Stages, stages),
        (Coll::ProjectStatuses, project_statuses),
        (Coll::Priorities, priorities),
        (Coll::Boards, boards),
    ]
}

pub(super) fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn field_ci<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    m.get(k)
        .or_else(|| {
            m.iter()
                .find(|(x, _)| x.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

pub(super) fn body_object(req: &Request, resource: &str) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid(
            resource,
            vec![(
                "InvalidObject",
                resource.to_string(),
                format!("The {resource} body must be a JSON object."),
            )],
        )),
        Err(e) => Err(bad_request(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// The id of reference `k` (`{"id": n}`); a present but malformed value is
/// a problem.
pub(super) fn ref_id(m: &Map<String, Value>, k: &str) -> Result<Option<u64>, Problem> {
    match field_ci(m, k) {
        None => Ok(None),
        Some(v) => v
            .get("id")
            .and_then(|id| {
                id.as_u64()
                    .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
            })
            .map(Some)
            .ok_or_else(|| {
                (
                    "InvalidField",
                    k.to_string(),
                    format!("{k} must be a reference object with a numeric id."),
                )
            }),
    }
}

pub(super) fn str_of<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    field_ci(m, k).and_then(Value::as_str)
}

pub(super) fn f64_of(m: &Map<String, Value>, k: &str) -> Option<f64> {
    field_ci(m, k).and_then(Value::as_f64)
}

pub(super) fn bool_of(m: &Map<String, Value>, k: &str) -> Option<bool> {
    field_ci(m, k).and_then(Value::as_bool)
}

pub(super) fn date_of(m: &Map<String, Value>, k: &str) -> Result<Option<i64>, Problem> {
    match field_ci(m, k) {
        None => Ok(None),
        Some(Value::String(s)) => parse_ts_millis(s)
            .map(|ms| Some(ms.div_euclid(1000)))
            .ok_or_else(|| {
                (
                    "InvalidField",
                    k.to_string(),
                    format!("{k} is not a valid date-time."),
                )
            }),
        Some(_) => Err((
            "InvalidField",
            k.to_string(),
            format!("{k} must be a date-time string."),
        )),
    }
}

pub(super) fn required(problems: &mut Vec<Problem>, k: &str) {
    problems.push((
        "MissingRequiredField",
        k.to_string(),
        format!("The {k} field is required."),
    ));
}

pub(super) const BILLING_METHODS: [&str; 4] =
    ["ActualRates", "FixedFee", "NotToExceed", "OverrideRate"];
pub(super) const BILL_OPTIONS: [&str; 4] = ["Billable", "DoNotBill", "NoCharge", "NoDefault"];
pub(super) const CALLBACK_TYPES: [&str; 16] = [
    "activity",
    "agreement",
    "company",
    "configuration",
    "contact",
    "expense",
    "invoice",
    "member",
    "opportunity",
    "productcatalog",
    "project",
    "purchaseorder",
    "schedule",
    "site",
    "ticket",
    "time",
];
pub(super) const FORECAST_TYPES: [&str; 5] =
    ["Product", "Service", "Agreement", "Other1", "Other2"];
