//! Writes: projects, phases, tickets and tasks.

use super::*;

impl State {
    pub(super) fn board_ref(&self, id: u64) -> Value {
        let name = self
            .lookup(Coll::Boards)
            .iter()
            .find(|b| b.row_id() == id)
            .and_then(|b| b["name"].as_str())
            .unwrap_or("Board")
            .to_string();
        self.ref_value(id, None, &name, "board_href", "/service/boards/")
    }

    pub(super) fn create_project(&mut self, req: &Request) -> Reply {
        let m = match body_object(req, "project") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let mut problems = Vec::new();
        let name = str_of(&m, "name").map(str::to_string);
        match &name {
            None => required(&mut problems, "name"),
            Some(n) if n.trim().is_empty() || n.chars().count() > 100 => problems.push((
                "InvalidField",
                "name".into(),
                "name must be 1 to 100 characters.".into(),
            )),
            _ => {}
        }
        let refs = |k: &str, need: bool, problems: &mut Vec<Problem>| match ref_id(&m, k) {
            Ok(None) if need => {
                required(problems, k);
                None
            }
            Ok(v) => v,
            Err(p) => {
                problems.push(p);
                None
            }
        };
        let board = refs("board", true, &mut problems);
        let company = refs("company", true, &mut problems);
        let status = refs("status", false, &mut problems);
        let contact = refs("contact", false, &mut problems);
        let opportunity = refs("opportunity", false, &mut problems);
        let manager = refs("manager", false, &mut problems);
        if let Some(b) = board {
            if !PROJECT_BOARDS.iter().any(|p| p.0 == b) {
                problems.push((
                    "InvalidField",
                    "board".into(),
                    format!("Board id {b} is not a project board."),
                ));
            }
        }
        if let Some(c) = company {
            if self.data.company(c).is_none() {
                problems.push((
                    "InvalidField",
                    "company".into(),
                    format!("Company id {c} is invalid."),
                ));
            }
        }
        if let Some(s) = status {
            if !self
                .lookup(Coll::ProjectStatuses)
                .iter()
                .any(|v| v.row_id() == s)
            {
                problems.push((
                    "InvalidField",
                    "status".into(),
                    format!("Status id {s} is invalid."),
                ));
            }
        }
        if let Some(c) = contact {
            if self.data.contact(c).is_none() {
                problems.push((
                    "InvalidField",
                    "contact".into(),
                    format!("Contact id {c} is invalid."),
                ));
            }
        }
        if let Some(o) = opportunity {
            if self.data.opportunity(o).is_none() {
                problems.push((
                    "InvalidField",
                    "opportunity".into(),
                    format!("Opportunity id {o} is invalid."),
                ));
            }
        }
        let mut dates = [None, None];
        for (n, k) in ["estimatedStart", "estimatedEnd"].into_iter().enumerate() {
            match date_of(&m, k) {
                Ok(None) => required(&mut problems, k),
                Ok(d) => dates[n] = d,
                Err(p) => problems.push(p),
            }
        }
        if let [Some(s), Some(e)] = dates {
            if e < s {
                problems.push((
                    "InvalidField",
                    "estimatedEnd".into(),
                    "estimatedEnd must not be before estimatedStart.".into(),
                ));
            }
        }
        let billing = str_of(&m, "billingMethod");
        match billing {
            None => required(&mut problems, "billingMethod"),
            Some(b) if !BILLING_METHODS.contains(&b) => problems.push((
                "InvalidField",
                "billingMethod".into(),
                format!(
                    "billingMethod must be one of {}.",
                    BILLING_METHODS.join(", ")
                ),
            )),
            _ => {}
        }
        for k in ["billTime", "billExpenses", "billProducts"] {
            if let Some(v) = str_of(&m, k) {
                if !BILL_OPTIONS.contains(&v) {
                    problems.push((
                        "InvalidField",
                        k.into(),
                        format!("{k} must be one of {}.", BILL_OPTIONS.join(", ")),
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return invalid("project", problems);
        }
        let (Some(board), Some(company), [Some(start), Some(end)]) = (board, company, dates) else {
            return bad_request("project object is invalid");
        };
        let id = 400 + self.new_id();
        let status = status.unwrap_or(1);
        let status_v = self
            .lookup(Coll::ProjectStatuses)
            .iter()
            .find(|v| v.row_id() == status)
            .cloned()
            .unwrap_or(Value::Null);
        let now = ts(now_secs());
        let mut p = json!({
            "id": id,
            "actualHours": 0.0,
            "billExpenses": str_of(&m, "billExpenses").unwrap_or("Billable"),
            "billingAmount": f64_of(&m, "billingAmount").unwrap_or(0.0),
            "billingAttention": "",
            "billingMethod": billing,
            "billingRateType": "WorkRole",
            "billProducts": str_of(&m, "billProducts").unwrap_or("Billable"),
            "billProjectAfterClosedFlag": false,
            "billTime": str_of(&m, "billTime").unwrap_or("Billable"),
            "billToCompany": self.company_ref_value(company),
            "billUnapprovedTimeAndExpense": false,
            "board": self.board_ref(board),
            "budgetAnalysis": "ActualHours",
            "budgetFlag": false,
            "budgetHours": f64_of(&m, "budgetHours").unwrap_or(0.0),
            "company": self.company_ref_value(company),
            "customerPO": str_of(&m, "customerPO").unwrap_or(""),
            "description": str_of(&m, "description").unwrap_or(""),
        });
        let rest = json!({
            "currency": {"id": 7, "symbol": "$", "currencyCode": "USD", "name": "US Dollar",
                "_info": {"currency_href": format!("{}/finance/currencies/7", self.data.api)}},
            "downpayment": 0.0,
            "estimatedEnd": ts(end),
            "percentComplete": 0.0,
            "estimatedExpenseRevenue": 0.0,
            "estimatedHours": f64_of(&m, "estimatedHours").unwrap_or(0.0),
            "estimatedProductRevenue": 0.0,
            "estimatedStart": ts(start),
            "estimatedTimeRevenue": f64_of(&m, "billingAmount").unwrap_or(0.0),
            "includeDependenciesFlag": false,
            "includeEstimatesFlag": false,
            "location": self.ref_value(11, None, "East Region", "location_href", "/system/locations/"),
            "department": {"id": 10, "identifier": "PS", "name": "Professional Services",
                "_info": {"department_href": format!("{}/system/departments/10", self.data.api)}},
            "name": name,
            "restrictDownPaymentFlag": false,
            "scheduledHours": 0.0,
            "status": self.ref_value(status, None, status_v["name"].as_str().unwrap_or("Open"), "status_href", "/project/statuses/"),
            "closedFlag": status_v["closedFlag"].as_bool().unwrap_or(false),
            "doNotDisplayInPortalFlag": false,
            "_info": {"lastUpdated": now, "updatedBy": API_MEMBER, "dateEntered": now, "enteredBy": API_MEMBER},
            "customFields": [],
        });
        if let (Value::Object(a), Value::Object(b)) = (&mut p, rest) {
            a.extend(b);
        }
        if let Some(c) = contact {
            p["contact"] = self.contact_ref_value(c);
        }
        if let Some(mgr) = manager {
            let (mid, ident, mname) = MEMBERS
                .iter()
                .copied()
                .find(|x| x.0 == mgr)
                .unwrap_or((mgr, "member", "Member"));
            p["manager"] =
                self.ref_value(mid, Some(ident), mname, "member_href", "/system/members/");
        }
        if let Some(o) = opportunity {
            let oname = self
                .data
                .opportunity(o)
                .map(|x| x.name.to_string())
                .unwrap_or_default();
            p["opportunity"] =
                self.ref_value(o, None, &oname, "opportunity_href", "/sales/opportunities/");
        }
        if let Some(t) = field_ci(&m, "type") {
            p["type"] = t.clone();
        }
        self.projects.push(p.clone());
        self.bump();
        Reply::json(201, &p)
    }

    pub(super) fn create_phase(&mut self, req: &Request, project: u64) -> Reply {
        let Some(proj) = self
            .projects
            .iter()
            .find(|p| p.row_id() == project)
            .cloned()
        else {
            return not_found("Project", project);
        };
        let m = match body_object(req, "phase") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let mut problems = Vec::new();
        let description = str_of(&m, "description").map(str::to_string);
        match &description {
            None => required(&mut problems, "description"),
            Some(d) if d.trim().is_empty() || d.chars().count() > 100 => problems.push((
                "InvalidField",
                "description".into(),
                "description must be 1 to 100 characters.".into(),
            )),
            _ => {}
        }
        let parent = match ref_id(&m, "parentPhase") {
            Ok(p) => p,
            Err(p) => {
                problems.push(p);
                None
            }
        };
        let parent_v = parent.and_then(|pid| {
            self.phases
                .iter()
                .find(|v| v.row_id() == pid && v["projectId"] == json!(project))
                .cloned()
        });
        if let (Some(pid), None) = (parent, &parent_v) {
            problems.push((
                "InvalidField",
                "parentPhase".into(),
                format!("Phase id {pid} is not a phase of project {project}."),
            ));
        }
        if bool_of(&m, "billSeparatelyFlag") == Some(true) && str_of(&m, "billingMethod").is_none()
        {
            required(&mut problems, "billingMethod");
        }
        let mut sched = [None, None];
        for (n, k) in ["scheduledStart", "scheduledEnd"].into_iter().enumerate() {
            match date_of(&m, k) {
                Ok(d) => sched[n] = d,
                Err(p) => problems.push(p),
            }
        }
        if !problems.is_empty() {
            return invalid("phase", problems);
        }
        let siblings = self
            .phases
            .iter()
            .filter(|v| {
                v["projectId"] == json!(project)
                    && v.get("parentPhase")
                        .and_then(|p| p.get("id"))
                        .and_then(Value::as_u64)
                        == parent
            })
            .count();
        let wbs = match &parent_v {
            Some(pv) => format!("{}.{}", pv["wbsCode"].as_str().unwrap_or("1"), siblings + 1),
            None => (siblings + 1).to_string(),
        };
        let id = 1600 + self.new_id();
        let now = ts(now_secs());
        let mut ph = json!({
            "id": id,
            "projectId": project,
            "description": description,
            "board": proj["board"].clone(),
            "status": self.ref_value(1, None, "Open", "status_href", "/project/phaseStatuses/"),
            "wbsCode": wbs,
            "billTime": "Billable",
            "billExpenses": "Billable",
            "billProducts": "Billable",
            "markAsMilestoneFlag": bool_of(&m, "markAsMilestoneFlag").unwrap_or(false),
            "notes": str_of(&m, "notes").unwrap_or(""),
            "billSeparatelyFlag": bool_of(&m, "billSeparatelyFlag").unwrap_or(false),
            "scheduledHours": 0.0,
            "actualHours": 0.0,
            "budgetHours": f64_of(&m, "budgetHours").unwrap_or(0.0),
            "locationId": 11,
            "businessUnitId": 10,
            "billPhaseClosedFlag": false,
            "billProjectClosedFlag": false,
            "_info": {"lastUpdated": now, "updatedBy": API_MEMBER},
            "customFields": [],
        });
        if let Some(pv) = parent_v {
            ph["parentPhase"] = self.ref_value(
                pv.row_id(),
                None,
                pv["description"].as_str().unwrap_or(""),
                "phase_href",
                &format!("/project/projects/{project}/phases/"),
            );
        }
        if let Some(b) = str_of(&m, "billingMethod") {
            ph["billingMethod"] = json!(b);
        }
        if let Some(s) = sched[0] {
            ph["scheduledStart"] = json!(ts(s));
        }
        if let Some(e) = sched[1] {
            ph["scheduledEnd"] = json!(ts(e));
        }
        if let Some(w) = str_of(&m, "wbsCode") {
            ph["wbsCode"] = json!(w);
        }
        self.phases.push(ph.clone());
        self.bump();
        Reply::json(201, &ph)
    }

    pub(super) fn create_ticket(&mut self, req: &Request) -> Reply {
        let m = match body_object(req, "ticket") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let mut problems = Vec::new();
        let summary = str_of(&m, "summary").map(str::to_string);
        match &summary {
            None => required(&mut problems, "summary"),
            Some(s) if s.trim().is_empty() || s.chars().count() > 100 => problems.push((
                "InvalidField",
                "summary".into(),
                "summary must be 1 to 100 characters.".into(),
            )),
            _ => {}
        }
        let get = |k: &str, problems: &mut Vec<Problem>| match ref_id(&m, k) {
            Ok(v) => v,
            Err(p) => {
                problems.push(p);
                None
            }
        };
        let phase = get("phase", &mut problems);
        let project = get("project", &mut problems);
        let priority = get("priority", &mut problems);
        let contact = get("contact", &mut problems);
        let status = get("status", &mut problems);
        let phase_v = phase.and_then(|p| self.phases.iter().find(|v| v.row_id() == p).cloned());
        match (phase, &phase_v) {
            (None, _) => required(&mut problems, "phase"),
            (Some(p), None) => problems.push((
                "InvalidField",
                "phase".into(),
                format!("Phase id {p} is invalid."),
            )),
            _ => {}
        }
        let phase_project = phase_v.as_ref().and_then(|v| v["projectId"].as_u64());
        if let (Some(p), Some(pp)) = (project, phase_project) {
            if p != pp {
                problems.push((
                    "InvalidField",
                    "phase".into(),
                    format!(
                        "Phase {} belongs to project {pp}, not {p}.",
                        phase.unwrap_or(0)
                    ),
                ));
            }
        }
        if let Some(p) = priority {
            if !self
                .lookup(Coll::Priorities)
                .iter()
                .any(|v| v.row_id() == p)
            {
                problems.push((
                    "InvalidField",
                    "priority".into(),
                    format!("Priority id {p} is invalid."),
                ));
            }
        }
        if let Some(c) = contact {
            if self.data.contact(c).is_none() {
                problems.push((
                    "InvalidField",
                    "contact".into(),
                    format!("Contact id {c} is invalid."),
                ));
            }
        }
        if !problems.is_empty() {
            return invalid("ticket", problems);
        }
        let (Some(phase_v), Some(project_id)) = (phase_v, phase_project) else {
            return bad_request("ticket object is invalid");
        };
        let proj = self
            .projects
            .iter()
            .find(|p| p.row_id() == project_id)
            .cloned()
            .unwrap_or(Value::Null);
        let siblings = self
            .tickets
            .iter()
            .filter(|t| t["phase"]["id"] == phase_v["id"])
            .count();
        let id = 90_800 + self.new_id();
        let priority = priority.unwrap_or(8);
        let pr = self
            .lookup(Coll::Priorities)
            .iter()
            .find(|v| v.row_id() == priority)
            .cloned()
            .unwrap_or(Value::Null);
        let mut priority_ref = self.ref_value(
            priority,
            None,
            pr["name"].as_str().unwrap_or(""),
            "priority_href",
            "/service/priorities/",
        );
        priority_ref["sort"] = pr["sortOrder"].clone();
        let board = proj["board"].row_id();
        let now = ts(now_secs());
        let mut t = json!({
            "id": id,
            "summary": summary,
            "isIssueFlag": false,
            "board": proj["board"].clone(),
            "status": self.ref_value(status.unwrap_or(410), None, if status.is_some() { "Status" } else { "New" }, "status_href", &format!("/service/boards/{board}/statuses/")),
            "project": self.ref_value(project_id, None, proj["name"].as_str().unwrap_or(""), "project_href", "/project/projects/"),
            "phase": self.ref_value(phase_v.row_id(), None, phase_v["description"].as_str().unwrap_or(""), "phase_href", &format!("/project/projects/{project_id}/phases/")),
            "wbsCode": format!("{}.{}", phase_v["wbsCode"].as_str().unwrap_or("1"), siblings + 1),
            "company": proj["company"].clone(),
            "site": {"id": 1000 + proj["company"].row_id(), "name": "Main"},
            "priority": priority_ref,
            "budgetHours": f64_of(&m, "budgetHours").unwrap_or(0.0),
            "actualHours": 0.0,
            "closedFlag": false,
            "approved": true,
            "billTime": str_of(&m, "billTime").unwrap_or("Billable"),
            "billExpenses": str_of(&m, "billExpenses").unwrap_or("Billable"),
            "billProducts": str_of(&m, "billProducts").unwrap_or("Billable"),
            "location": proj["location"].clone(),
            "department": proj["department"].clone(),
            "mobileGuid": guid(0xe2f8_b6a0, id),
            "_info": {"lastUpdated": now, "updatedBy": API_MEMBER, "dateEntered": now, "enteredBy": API_MEMBER},
            "customFields": [],
        });
        if let Some(c) = contact.or_else(|| proj["contact"].get("id").and_then(Value::as_u64)) {
            t["contact"] = self.contact_ref_value(c);
        }
        for k in [
            "initialDescription",
            "requiredDate",
            "workRole",
            "workType",
            "owner",
            "predecessorType",
            "predecessorId",
        ] {
            if let Some(v) = field_ci(&m, k) {
                t[k] = v.clone();
            }
        }
        self.tickets.push(t.clone());
        self.bump();
        Reply::json(201, &public_ticket(&t))
    }

    pub(super) fn create_task(&mut self, req: &Request, ticket: u64) -> Reply {
        if !self.tickets.iter().any(|t| t.row_id() == ticket) {
            return not_found("Ticket", ticket);
        }
        let m = match body_object(req, "task") {
            Ok(m) => m,
            Err(r) => return r,
        };
        let Some(notes) = str_of(&m, "notes") else {
            let mut problems = Vec::new();
            required(&mut problems, "notes");
            return invalid("task", problems);
        };
        let id = 70_000 + self.new_id();
        let n = self
            .tasks
            .iter()
            .filter(|t| t["ticketId"] == json!(ticket))
            .count();
        let task = json!({
            "id": id,
            "ticketId": ticket,
            "notes": notes,
            "closedFlag": bool_of(&m, "closedFlag").unwrap_or(false),
            "priority": field_ci(&m, "priority").and_then(Value::as_u64).unwrap_or(n as u64 + 1),
            "code": field_ci(&m, "code").cloned().unwrap_or(Value::Null),
            "resolution": str_of(&m, "resolution").unwrap_or(""),
            "_info": {"lastUpdated": ts(now_secs()), "updatedBy": API_MEMBER},
        });
        self.tasks.push(task.clone());
        self.bump();
        Reply::json(201, &task)
    }
}
