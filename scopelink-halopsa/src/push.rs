//! Pushing projects: the push form's lookups, and projects, milestones and
//! tasks created one object per call.
//!
//! In HaloPSA a project is a ticket of a project ticket type, its milestones
//! live in the project's `milestones` array (there is no writable milestone
//! endpoint), and its tasks are child tickets (`parent_id` = the project).
//! A task joins its milestone through the project's `milestones[].tickets_list`
//! once every task exists ([`PsaProjects::place_tasks`], see
//! [`crate::membership`]): a ticket's own `milestone_id` is read-only.

use crate::client::{parse_id, HaloPsaConnector};
use crate::convert::halo_date;
use crate::membership::{self, members, rows_for_post};
use crate::wire::{self, created_ticket, Milestone, Priority, Status, TicketType};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use scopelink_core::connector::{LookupItem, PsaProjects, PushLookups, TaskPlacement, TaskTarget};
use scopelink_core::mapping::{PlannedMilestone, PlannedTask, PsaPlan};
use scopelink_core::ConnectorError;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

fn items<T: serde::de::DeserializeOwned>(list: Vec<Value>) -> impl Iterator<Item = T> {
    list.into_iter()
        .filter_map(|v| serde_json::from_value::<T>(v).ok())
}

fn lookup(id: Option<i64>, name: Option<String>) -> Option<LookupItem> {
    let id = id.filter(|i| *i > 0)?;
    let name = name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("#{id}"));
    Some(LookupItem {
        id: id.to_string(),
        name,
    })
}

fn hours(h: Decimal) -> Value {
    h.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn decode(what: &str, message: impl Into<String>) -> ConnectorError {
    ConnectorError::Decode {
        what: what.to_string(),
        message: message.into(),
    }
}

impl HaloPsaConnector {
    async fn lookup_clients(&self) -> Result<Vec<LookupItem>, ConnectorError> {
        let all = self
            .get_all(
                "Client",
                &[],
                &["clients"],
                "reading clients (GET /api/Client)",
            )
            .await?;
        Ok(items::<wire::Client>(all)
            .filter(|c| !c.inactive.unwrap_or(false))
            .filter_map(|c| lookup(c.id, c.name))
            .collect())
    }

    async fn lookup_statuses(&self) -> Result<Vec<LookupItem>, ConnectorError> {
        let all = self
            .get_list(
                "Status",
                &[("type", "ticket")],
                &["statuses", "records"],
                "reading ticket statuses (GET /api/Status)",
            )
            .await?;
        Ok(items::<Status>(all)
            .filter_map(|s| lookup(s.id, s.name))
            .collect())
    }

    /// Priorities by `priorityid` (what tickets refer to), once each: the
    /// same priority is listed once per SLA.
    async fn lookup_priorities(&self) -> Result<Vec<LookupItem>, ConnectorError> {
        let all = self
            .get_list(
                "Priority",
                &[],
                &["priorities", "records"],
                "reading priorities (GET /api/Priority)",
            )
            .await?;
        let mut seen = BTreeSet::new();
        Ok(items::<Priority>(all)
            .filter(|p| !p.ishidden.unwrap_or(false))
            .filter(|p| p.priorityid.is_some_and(|id| seen.insert(id)))
            .filter_map(|p| lookup(p.priorityid, p.name))
            .collect())
    }

    async fn lookup_ticket_types(&self) -> Result<Vec<LookupItem>, ConnectorError> {
        let all = self
            .get_list(
                "TicketType",
                &[],
                &["tickettypes", "records"],
                "reading ticket types (GET /api/TicketType)",
            )
            .await?;
        Ok(items::<TicketType>(all)
            .filter(|t| !t.inactive.unwrap_or(false))
            .filter_map(|t| lookup(t.id, t.name))
            .collect())
    }

    /// Agents, when the application may list them (optional: a 403 leaves
    /// the list out rather than failing the form).
    async fn lookup_agents(&self) -> Result<Option<Vec<LookupItem>>, ConnectorError> {
        match self
            .get_list(
                "Agent",
                &[],
                &["agents", "records"],
                "reading agents (GET /api/Agent)",
            )
            .await
        {
            Ok(all) => Ok(Some(
                items::<wire::Agent>(all)
                    .filter(|a| !a.isdisabled.unwrap_or(false))
                    .filter_map(|a| lookup(a.id, a.name))
                    .collect(),
            )),
            Err(ConnectorError::PermissionDenied { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn options_ids(&self, plan: &PsaPlan) -> Result<Map<String, Value>, ConnectorError> {
        let o = &plan.options;
        let mut m = Map::new();
        m.insert(
            "client_id".into(),
            json!(parse_id("company_id", &o.company_id)?),
        );
        Ok(m)
    }

    /// The project's milestones, as HaloPSA holds them.
    async fn milestones(&self, project_id: i64) -> Result<Vec<Value>, ConnectorError> {
        let what = "reading the project's milestones (GET /api/Projects/{id})";
        let body = self
            .get_json(
                &format!("Projects/{project_id}"),
                &[("includedetails", "true")],
                what,
            )
            .await?;
        match body {
            Value::Object(mut map) => match map.remove("milestones") {
                Some(Value::Array(list)) => Ok(list),
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(_) => Err(decode(what, "`milestones` is not a list")),
            },
            _ => Err(decode(what, "expected the project object")),
        }
    }
}

/// The id of the milestone called `name` with `sequence` that is not among
/// `before`.
fn find_new_milestone(
    list: &[Value],
    before: &BTreeSet<i64>,
    name: &str,
    sequence: i64,
) -> Option<i64> {
    let milestones: Vec<Milestone> = list
        .iter()
        .filter_map(|v| serde_json::from_value(v.clone()).ok())
        .collect();
    let fresh = |m: &&Milestone| {
        m.id.is_some_and(|id| id > 0 && !before.contains(&id))
            && m.name
                .as_deref()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(name.trim()))
    };
    milestones
        .iter()
        .filter(fresh)
        .find(|m| m.sequence == Some(sequence))
        .or_else(|| milestones.iter().find(fresh))
        .and_then(|m| m.id)
}

#[scopelink_core::async_trait]
impl PsaProjects for HaloPsaConnector {
    /// Clients (active ones), ticket statuses, priorities (by `priorityid`,
    /// once each), and in `extra`: `ticket_types` and, when the application
    /// may list them, `agents`.
    async fn push_lookups(&self) -> Result<PushLookups, ConnectorError> {
        let (companies, statuses, priorities, ticket_types, agents) = futures::try_join!(
            self.lookup_clients(),
            self.lookup_statuses(),
            self.lookup_priorities(),
            self.lookup_ticket_types(),
            self.lookup_agents(),
        )?;
        let mut lookups = PushLookups {
            companies,
            statuses,
            priorities,
            ..PushLookups::default()
        };
        lookups.extra.insert("ticket_types".into(), ticket_types);
        if let Some(agents) = agents {
            lookups.extra.insert("agents".into(), agents);
        }
        Ok(lookups)
    }

    /// `POST /api/Projects` with one project ticket (no milestones: each is
    /// added by [`PsaProjects::create_milestone`]).
    async fn create_project(&self, plan: &PsaPlan) -> Result<String, ConnectorError> {
        let what = "creating the project (POST /api/Projects)";
        let o = &plan.options;
        let mut item = Map::new();
        item.insert("summary".into(), json!(plan.project_name));
        item.insert(
            "details".into(),
            json!(format!(
                "Created by scopelink from the scoping project \"{}\" ({}).",
                plan.project_name, plan.scoping_project_id
            )),
        );
        item.extend(self.options_ids(plan)?);
        item.insert("tickettype_id".into(), json!(self.project_type()?));
        if let Some(s) = o.status_id.as_deref().filter(|s| !s.trim().is_empty()) {
            item.insert("status_id".into(), json!(parse_id("status_id", s)?));
        }
        if let Some(p) = o.priority_id.as_deref().filter(|s| !s.trim().is_empty()) {
            item.insert("priority_id".into(), json!(parse_id("priority_id", p)?));
        }
        if let Some(d) = o.estimated_start {
            item.insert("startdate".into(), json!(halo_date(d)));
        }
        if let Some(d) = o.estimated_end {
            item.insert("targetdate".into(), json!(halo_date(d)));
        }
        let reply = self
            .post_json("Projects", &Value::Array(vec![Value::Object(item)]), what)
            .await?;
        created_ticket(reply)
            .and_then(|t| t.id)
            .filter(|id| *id > 0)
            .map(|id| id.to_string())
            .ok_or_else(|| decode(what, "the reply carries no project id"))
    }

    /// Adds one milestone to the project.
    ///
    /// Posting `milestones` replaces the project's list and blanks the
    /// fields left off a milestone, so the current list is read first and
    /// posted back whole (every field as read, membership in
    /// `tickets_list`) with the new one appended. The new id comes from the
    /// reply, or from reading the project again.
    async fn create_milestone(
        &self,
        _plan: &PsaPlan,
        project_id: &str,
        milestone: &PlannedMilestone,
    ) -> Result<String, ConnectorError> {
        let what = "adding a milestone to the project (POST /api/Projects)";
        let pid = parse_id("project_id", project_id)?;
        let existing = self.milestones(pid).await?;
        let before: BTreeSet<i64> = existing
            .iter()
            .filter_map(|m| m.get("id").and_then(wire::value_id))
            .collect();
        let sequence = existing
            .iter()
            .filter_map(|m| m.get("sequence").and_then(wire::value_id))
            .max()
            .unwrap_or(0)
            .max(0)
            + 1;
        let mut list = rows_for_post(&existing, &BTreeMap::new());
        list.push(json!({ "name": milestone.name, "sequence": sequence }));
        let body = json!([{ "id": pid, "milestones": list }]);
        let reply = self.post_json("Projects", &body, what).await?;
        let echoed = created_ticket(reply).and_then(|t| t.milestones);
        if let Some(id) = echoed
            .as_deref()
            .and_then(|l| find_new_milestone(l, &before, &milestone.name, sequence))
        {
            return Ok(id.to_string());
        }
        let now = self.milestones(pid).await?;
        find_new_milestone(&now, &before, &milestone.name, sequence)
            .map(|id| id.to_string())
            .ok_or_else(|| {
                decode(
                    what,
                    format!(
                        "the milestone `{}` is not on project {pid} after it was added; check that the project ticket type has milestones enabled",
                        milestone.name
                    ),
                )
            })
    }

    /// `POST /api/Tickets` with one child ticket of the project. HaloPSA
    /// shows a project's tasks as its direct children, so a project task
    /// under a service task is also a child of the project; its description
    /// names the service task it belongs to. No `milestone_id`: HaloPSA
    /// ignores it; [`PsaProjects::place_tasks`] puts the task in its
    /// milestone once the push has created everything.
    async fn create_task(
        &self,
        plan: &PsaPlan,
        target: TaskTarget<'_>,
        task: &PlannedTask,
    ) -> Result<String, ConnectorError> {
        let what = "creating a project task (POST /api/Tickets)";
        let mut details: Vec<String> = task
            .description
            .iter()
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect();
        if let Some(parent) = target.parent_task_id {
            details.push(format!("Part of task #{parent}."));
        }
        let mut item = Map::new();
        item.insert("summary".into(), json!(task.name));
        if !details.is_empty() {
            item.insert("details".into(), json!(details.join("\n\n")));
        }
        item.extend(self.options_ids(plan)?);
        item.insert("tickettype_id".into(), json!(self.task_type()?));
        item.insert(
            "parent_id".into(),
            json!(parse_id("project_id", target.project_id)?),
        );
        // Checked here so a bad id fails before anything is created.
        parse_id("milestone_id", target.milestone_id)?;
        item.insert("estimate".into(), hours(task.hours));
        if let Some(p) = plan
            .options
            .priority_id
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            item.insert("priority_id".into(), json!(parse_id("priority_id", p)?));
        }
        let reply = self
            .post_json("Tickets", &Value::Array(vec![Value::Object(item)]), what)
            .await?;
        created_ticket(reply)
            .and_then(|t| t.id)
            .filter(|id| *id > 0)
            .map(|id| id.to_string())
            .ok_or_else(|| decode(what, "the reply carries no ticket id"))
    }

    /// Adds every task that is in none of the project's milestones to its
    /// milestone's `tickets_list`, in one `POST /api/Projects` of the whole
    /// milestone list, then reads the project again and fails unless each
    /// task is where it was put. Tasks already in a milestone are left
    /// where they are (a move made in HaloPSA stands), and nothing is
    /// written when every task is placed, so calling this again is safe.
    async fn place_tasks(
        &self,
        project_id: &str,
        tasks: &[TaskPlacement],
    ) -> Result<(), ConnectorError> {
        let what = "adding the project's tasks to their milestones (POST /api/Projects)";
        let pid = parse_id("project_id", project_id)?;
        let wanted = tasks
            .iter()
            .map(|t| {
                Ok((
                    parse_id("task_id", &t.task_id)?,
                    parse_id("milestone_id", &t.milestone_id)?,
                ))
            })
            .collect::<Result<Vec<(i64, i64)>, ConnectorError>>()?;
        let rows = self.milestones(pid).await?;
        let on_project: BTreeSet<i64> = rows.iter().filter_map(membership::milestone_id).collect();
        let placed: BTreeSet<i64> = rows.iter().flat_map(members).collect();
        let mut add: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (task, milestone) in &wanted {
            if placed.contains(task) {
                continue;
            }
            if !on_project.contains(milestone) {
                // Posting the list now would not bring it back.
                return Err(ConnectorError::NotFound {
                    what: format!(
                        "milestone #{milestone} of HaloPSA project #{pid} (task #{task} belongs in it; it was deleted in HaloPSA, so the milestone list was left as it is)"
                    ),
                });
            }
            add.entry(*milestone).or_default().push(*task);
        }
        if add.is_empty() {
            return Ok(());
        }
        // Ticket ids grow with creation: the milestone lists its tasks in
        // the order they were created.
        for tasks in add.values_mut() {
            tasks.sort_unstable();
            tasks.dedup();
        }
        let body = json!([{ "id": pid, "milestones": rows_for_post(&rows, &add) }]);
        self.post_json("Projects", &body, what).await?;

        let after = self.milestones(pid).await?;
        let held: BTreeMap<i64, BTreeSet<i64>> = after
            .iter()
            .filter_map(|row| membership::milestone_id(row).map(|id| (id, members(row))))
            .collect();
        let missing: Vec<String> = add
            .iter()
            .flat_map(|(milestone, tasks)| tasks.iter().map(move |t| (*milestone, *t)))
            .filter(|(milestone, task)| !held.get(milestone).is_some_and(|m| m.contains(task)))
            .map(|(milestone, task)| format!("task #{task} in milestone #{milestone}"))
            .collect();
        let lost: Vec<String> = placed
            .iter()
            .filter(|t| wanted.iter().any(|(w, _)| w == *t))
            .filter(|t| !held.values().any(|m| m.contains(t)))
            .map(|t| format!("task #{t}"))
            .collect();
        if missing.is_empty() && lost.is_empty() {
            return Ok(());
        }
        let mut problems = missing;
        problems.extend(
            lost.into_iter()
                .map(|t| format!("{t} (no longer in any milestone)")),
        );
        Err(ConnectorError::Rejected {
            message: format!(
                "HaloPSA accepted the milestone update of project #{pid} but its milestones do not hold {}: check that the task ticket type may be added to project milestones, then push again to retry",
                problems.join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_milestone_is_found_by_name_and_sequence() {
        let list = vec![
            json!({"id": 801, "name": "Discovery", "sequence": 1}),
            json!({"id": 802, "name": "Migration", "sequence": 2}),
            json!({"id": 803.0, "name": "migration ", "sequence": 3}),
        ];
        let before: BTreeSet<i64> = [801, 802].into();
        assert_eq!(
            find_new_milestone(&list, &before, "Migration", 3),
            Some(803)
        );
        // A sequence HaloPSA renumbered still finds the new one by name.
        assert_eq!(
            find_new_milestone(&list, &before, "Migration", 9),
            Some(803)
        );
        assert_eq!(find_new_milestone(&list, &before, "Handover", 3), None);
        assert_eq!(
            find_new_milestone(&list, &[801, 802, 803].into(), "Migration", 3),
            None
        );
    }

    #[test]
    fn hours_are_numbers() {
        assert_eq!(hours(Decimal::new(65, 1)), json!(6.5));
        assert_eq!(hours(Decimal::ZERO), json!(0.0));
    }
}
