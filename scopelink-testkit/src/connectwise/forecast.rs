//! Writes: an opportunity's forecast and its items.

use super::*;

impl State {
    /// `GET sales/opportunities/{id}/forecast`: the schema's response is
    /// `Forecast[]` (OAPI-Go `GetSalesOpportunitiesByParentIdForecast`,
    /// pyCW `SalesOpportunitiesIdForecastEndpoint.get`), so the one
    /// forecast of the opportunity comes in a list.
    pub(super) fn forecast_list(&self, opp: u64) -> Reply {
        match self.forecast(opp) {
            Ok(f) => Reply::json(200, &Value::Array(vec![f])),
            Err(r) => r,
        }
    }

    /// The opportunity's `Forecast`: its items and the totals.
    pub(super) fn forecast(&self, opp: u64) -> Result<Value, Reply> {
        let Some(o) = self.data.opportunity(opp) else {
            return Err(not_found("Opportunity", opp));
        };
        let items: Vec<Value> = self
            .forecast_items
            .iter()
            .filter(|f| f["opportunity"]["id"] == json!(opp))
            .cloned()
            .collect();
        let total = |pred: &dyn Fn(&Value) -> bool| {
            let (mut rev, mut cost) = (0.0, 0.0);
            for i in items.iter().filter(|i| pred(i)) {
                rev += i["revenue"].as_f64().unwrap_or(0.0);
                cost += i["cost"].as_f64().unwrap_or(0.0);
            }
            let margin = rev - cost;
            let pct = if rev != 0.0 {
                margin / rev * 100.0
            } else {
                0.0
            };
            json!({"revenue": rev, "cost": cost, "margin": margin, "percentage": pct})
        };
        let included = |i: &Value| i["includeFlag"].as_bool().unwrap_or(true);
        let of_type = |t: &'static str| move |i: &Value| i["forecastType"] == json!(t);
        let status = opp_status(o.status);
        let all = total(&included);
        let none = total(&|_: &Value| false);
        Ok(json!({
                "id": opp,
                "forecastItems": items,
                "productRevenue": total(&of_type("Product")),
                "serviceRevenue": total(&of_type("Service")),
                "agreementRevenue": total(&of_type("Agreement")),
                "timeRevenue": none.clone(),
                "expenseRevenue": none.clone(),
                "forecastRevenueTotals": all.clone(),
                "inclusiveRevenueTotals": all.clone(),
                "recurringTotal": 0.0,
                "wonRevenue": if status.2 { all.clone() } else { none.clone() },
                "lostRevenue": if status.3 { all.clone() } else { none.clone() },
                "openRevenue": if status.4 { none.clone() } else { all.clone() },
                "otherRevenue1": total(&of_type("Other1")),
                "otherRevenue2": total(&of_type("Other2")),
                "salesTaxRevenue": 0.0,
                "forecastTotalWithTaxes": all["revenue"].clone(),
                "expectedProbability": probability_percent(o.probability),
                "currency": {"id": 7, "symbol": "$", "currencyCode": "USD", "name": "US Dollar"},
                "_info": {"lastUpdated": ts(o.last_updated), "updatedBy": o.updated_by},
        }))
    }

    /// `POST sales/opportunities/{id}/forecast`: the body and the answer
    /// are a whole `Forecast` (OAPI-Go `PostSalesOpportunitiesByParentIdForecast`,
    /// pyCW `SalesOpportunitiesIdForecastEndpoint.post`, PSmod
    /// `New-CWMOpportunityForecast`). Items of `forecastItems` without an
    /// id are created; items with the id of an existing item are left as
    /// they are (nothing is duplicated). A body without a `forecastItems`
    /// list (a bare forecast item) is refused. Every item is checked
    /// before any is created.
    pub(super) fn post_forecast(&mut self, req: &Request, opp: u64) -> Reply {
        if find(&self.data.opportunities, opp, |o| o.id).is_none() {
            return not_found("Opportunity", opp);
        }
        let m = match body_object(req, "forecast") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let Some(Value::Array(items)) = field_ci(&m, "forecastItems") else {
            return invalid(
                "forecast",
                vec![(
                    "MissingRequiredField",
                    "forecastItems".into(),
                    "The forecastItems field is required: this endpoint takes a Forecast (its list of forecastItems), not a single forecast item.".into(),
                )],
            );
        };
        let mut new_items = Vec::new();
        let mut problems = Vec::new();
        for (n, item) in items.iter().enumerate() {
            let Value::Object(item) = item else {
                problems.push((
                    "InvalidField",
                    format!("forecastItems[{n}]"),
                    "A forecast item must be an object.".into(),
                ));
                continue;
            };
            let id = field_ci(item, "id").and_then(Value::as_u64).unwrap_or(0);
            if id != 0 {
                if self
                    .forecast_items
                    .iter()
                    .any(|f| f.row_id() == id && f["opportunity"]["id"] == json!(opp))
                {
                    continue;
                }
                problems.push((
                    "InvalidField",
                    format!("forecastItems[{n}].id"),
                    format!("Forecast item {id} does not exist on opportunity {opp}."),
                ));
                continue;
            }
            match self.check_forecast_item(item, opp) {
                Ok(status) => new_items.push((item.clone(), status)),
                Err(p) => problems.extend(
                    p.into_iter()
                        .map(|(c, f, msg)| (c, format!("forecastItems[{n}].{f}"), msg)),
                ),
            }
        }
        if !problems.is_empty() {
            return invalid("forecast", problems);
        }
        for (item, status) in new_items {
            self.create_forecast_item(&item, opp, status);
        }
        match self.forecast(opp) {
            Ok(f) => Reply::json(201, &f),
            Err(r) => r,
        }
    }

    /// Checks one new forecast item; its status id when it is valid.
    /// `opportunity`, `status` and `forecastType` are required
    /// (OAPI-Go `ForecastItem.md`, PSmod `New-CWMOpportunityForecastItem`).
    pub(super) fn check_forecast_item(
        &self,
        m: &Map<String, Value>,
        opp: u64,
    ) -> Result<u64, Vec<Problem>> {
        let mut problems = Vec::new();
        match str_of(m, "forecastType") {
            None => required(&mut problems, "forecastType"),
            Some(t) if !FORECAST_TYPES.contains(&t) => problems.push((
                "InvalidField",
                "forecastType".into(),
                format!("forecastType must be one of {}.", FORECAST_TYPES.join(", ")),
            )),
            _ => {}
        }
        for k in ["revenue", "cost"] {
            if field_ci(m, k).is_some_and(|v| !v.is_number()) {
                problems.push(("InvalidField", k.into(), format!("{k} must be a number.")));
            }
        }
        let status = match ref_id(m, "status") {
            Ok(Some(s)) if OPPORTUNITY_STATUSES.iter().any(|st| st.0 == s) => s,
            Ok(Some(s)) => {
                problems.push((
                    "InvalidField",
                    "status".into(),
                    format!("Opportunity status {s} was not found."),
                ));
                0
            }
            Ok(None) => {
                required(&mut problems, "status");
                0
            }
            Err(p) => {
                problems.push(p);
                0
            }
        };
        match ref_id(m, "opportunity") {
            Ok(Some(o)) if o == opp => {}
            Ok(Some(o)) => problems.push((
                "InvalidField",
                "opportunity".into(),
                format!("The opportunity {o} is not the opportunity {opp} of this forecast."),
            )),
            Ok(None) => required(&mut problems, "opportunity"),
            Err(p) => problems.push(p),
        }
        if problems.is_empty() {
            Ok(status)
        } else {
            Err(problems)
        }
    }

    /// Adds a checked forecast item to opportunity `opp`.
    pub(super) fn create_forecast_item(&mut self, m: &Map<String, Value>, opp: u64, status: u64) {
        let Some(i) = find(&self.data.opportunities, opp, |o| o.id) else {
            return;
        };
        let id = 3000 + self.new_id();
        let o = &self.data.opportunities[i];
        let (rev, cost) = (
            f64_of(m, "revenue").unwrap_or(0.0),
            f64_of(m, "cost").unwrap_or(0.0),
        );
        let st = opp_status(status);
        let mut item = json!({
            "id": id,
            "forecastDescription": str_of(m, "forecastDescription").unwrap_or(""),
            "opportunity": self.ref_value(opp, None, &o.name, "opportunity_href", "/sales/opportunities/"),
            "quantity": f64_of(m, "quantity").unwrap_or(1.0),
            "status": self.ref_value(st.0, None, st.1, "status_href", "/sales/opportunities/statuses/"),
            "forecastType": str_of(m, "forecastType"),
            "revenue": rev,
            "cost": cost,
            "margin": rev - cost,
            "percentage": if rev != 0.0 { (rev - cost) / rev * 100.0 } else { 0.0 },
            "includeFlag": bool_of(m, "includeFlag").unwrap_or(true),
            "linkFlag": false,
            "recurringFlag": bool_of(m, "recurringFlag").unwrap_or(false),
            "taxableFlag": false,
            "sequenceNumber": self.forecast_items.iter().filter(|f| f["opportunity"]["id"] == json!(opp)).count() + 1,
            "_info": {"lastUpdated": ts(now_secs()), "updatedBy": API_MEMBER},
        });
        for k in ["recurringRevenue", "recurringCost", "cycles", "billCycle"] {
            if let Some(v) = field_ci(m, k) {
                item[k] = v.clone();
            }
        }
        self.forecast_items.push(item);
        let o = &mut self.data.opportunities[i];
        o.last_updated = now_secs().max(o.last_updated);
        self.bump();
    }

    pub(super) fn patch_forecast_item(&mut self, req: &Request, opp: u64, item: u64) -> Reply {
        let ops = match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Array(a)) => a,
            Ok(_) => return bad_request("A PATCH body must be a JSON array of {op, path, value}."),
            Err(e) => return bad_request(format!("The request body is not valid JSON: {e}")),
        };
        let Some(pos) = self
            .forecast_items
            .iter()
            .position(|f| f.row_id() == item && f["opportunity"]["id"] == json!(opp))
        else {
            return not_found("ForecastItem", item);
        };
        let mut it = self.forecast_items[pos].clone();
        for op in &ops {
            let path = op.get("path").and_then(Value::as_str).unwrap_or("");
            let path = path.strip_prefix('/').unwrap_or(path);
            if path.is_empty() || path.contains('/') || path == "id" || path == "opportunity" {
                return invalid(
                    "forecastItem",
                    vec![(
                        "InvalidField",
                        path.to_string(),
                        format!("'{path}' cannot be patched."),
                    )],
                );
            }
            match op.get("op").and_then(Value::as_str).unwrap_or("") {
                "replace" | "add" => it[path] = op.get("value").cloned().unwrap_or(Value::Null),
                "remove" => {
                    if let Value::Object(m) = &mut it {
                        m.remove(path);
                    }
                }
                other => return bad_request(format!("Unsupported patch op '{other}'.")),
            }
        }
        let (rev, cost) = (
            it["revenue"].as_f64().unwrap_or(0.0),
            it["cost"].as_f64().unwrap_or(0.0),
        );
        it["margin"] = json!(rev - cost);
        it["percentage"] = json!(if rev != 0.0 {
            (rev - cost) / rev * 100.0
        } else {
            0.0
        });
        it["_info"] = json!({"lastUpdated": ts(now_secs()), "updatedBy": API_MEMBER});
        self.forecast_items[pos] = it.clone();
        if let Some(i) = find(&self.data.opportunities, opp, |o| o.id) {
            let o = &mut self.data.opportunities[i];
            o.last_updated = now_secs().max(o.last_updated);
        }
        self.bump();
        Reply::json(200, &it)
    }
}
