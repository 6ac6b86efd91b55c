//! Pushing projects: the push form's lookups, and a project, its phases
//! and its tasks created one object per call.
//!
//! How the core's plan maps onto Autotask:
//!
//! | plan | Autotask |
//! |---|---|
//! | project | a `Projects` record (`companyID`, `status`, `projectType`, `startDateTime`, `endDateTime`) |
//! | milestone (a scoping phase) | a phase, `POST Projects/{id}/Phases` |
//! | task (a service, a per-phase task, or `Project_Management` for governance) | a task in that phase, `POST Projects/{id}/Tasks` with `phaseID` |
//! | child task (a sub-service) | Autotask has no sub-tasks: a task of the same phase, titled `{service} / {sub-service}` and described as part of its service |
//!
//! Every task gets the `taskType` and `status` of the settings (else the
//! picklists' defaults), its hours as `estimatedHours`, and the push
//! form's priority when one is chosen. Creates are not resent after a
//! failure that may have been processed, and the core's driver stores a
//! link after each object, so a push that failed halfway resumes without
//! duplicates.

use crate::client::{AutotaskConnector, MAX_RECORDS};
use crate::query::query_body;
use chrono::{NaiveDate, Utc};
use rust_decimal::prelude::ToPrimitive;
use scopelink_core::connector::{LookupItem, PsaProjects, PushLookups, TaskTarget};
use scopelink_core::error::ConnectorError;
use scopelink_core::mapping::{PlannedMilestone, PlannedTask, PsaPlan};
use scopelink_core::pages::collect_all;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The length of a project when the push form gives no end date, in days.
pub const DEFAULT_PROJECT_DAYS: i64 = 90;

/// The longest project name Autotask stores (`projectName`), in characters.
pub const MAX_PROJECT_NAME_CHARS: usize = 100;

/// The longest phase or task title Autotask stores (`title`), in characters.
pub const MAX_TITLE_CHARS: usize = 255;

fn clip(text: &str, limit: usize) -> String {
    text.trim().chars().take(limit).collect()
}

fn parse_id(field: &'static str, value: &str) -> Result<i64, ConnectorError> {
    scopelink_core::wire::text_id(value)
        .filter(|id| *id > 0)
        .ok_or_else(|| ConnectorError::InvalidConfig {
            field,
            message: format!(
                "`{value}` is not an Autotask id (a positive whole number); pick it from the lists read from Autotask"
            ),
        })
}

/// A date as Autotask's date-time fields take it (midnight UTC).
fn day(date: NaiveDate) -> Value {
    Value::String(format!("{}T00:00:00Z", date.format("%Y-%m-%d")))
}

fn hours(h: rust_decimal::Decimal) -> Value {
    h.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// The planned task whose children include `item`, searched through the
/// plan.
fn parent_of<'a>(plan: &'a PsaPlan, task: &PlannedTask) -> Option<&'a PlannedTask> {
    fn search<'a>(tasks: &'a [PlannedTask], task: &PlannedTask) -> Option<&'a PlannedTask> {
        tasks.iter().find_map(|t| {
            if t.children.iter().any(|c| c.item == task.item) {
                Some(t)
            } else {
                search(&t.children, task)
            }
        })
    }
    plan.milestones.iter().find_map(|m| search(&m.tasks, task))
}

impl AutotaskConnector {
    /// Active companies, by name.
    async fn lookup_companies(&self) -> Result<Vec<LookupItem>, ConnectorError> {
        let body = query_body(
            MAX_RECORDS,
            &["id", "companyName"],
            vec![json!({"op": "eq", "field": "isActive", "value": true})],
        );
        let what = "listing companies (POST Companies/query)";
        let limits = self.http().config().pages.unwrap_or_default();
        let body = &body;
        collect_all(
            limits,
            move |token| async move { self.query_page("Companies", body, token, what).await },
            |bytes: Vec<u8>| {
                let page: crate::wire::QueryPage<'_> =
                    serde_json::from_slice(&bytes).map_err(|e| ConnectorError::Decode {
                        what: what.into(),
                        message: e.to_string(),
                    })?;
                Ok(page
                    .items
                    .iter()
                    .filter_map(|raw| {
                        let c: crate::wire::Company = serde_json::from_str(raw.get()).ok()?;
                        let id = c.id.filter(|i| *i > 0)?;
                        let name = scopelink_core::wire::non_blank(c.company_name)
                            .unwrap_or_else(|| format!("#{id}"));
                        Some(LookupItem {
                            id: id.to_string(),
                            name,
                        })
                    })
                    .collect())
            },
        )
        .await
    }

    /// The active entries of a picklist, as lookup items.
    async fn picklist_items(
        &self,
        entity: &'static str,
        field: &str,
    ) -> Result<Vec<LookupItem>, ConnectorError> {
        let lists = self.picklists(entity).await?;
        Ok(lists
            .entries(field)
            .iter()
            .filter(|e| e.is_active)
            .map(|e| LookupItem {
                id: e.value.clone(),
                name: e.label.clone(),
            })
            .collect())
    }

    /// The picklist value of `field` of `entity`: `chosen` (a value or a
    /// label), else the picklist's default (see `Picklists::default_value`).
    async fn picklist_choice(
        &self,
        entity: &'static str,
        field: &'static str,
        setting: &'static str,
        chosen: Option<&str>,
        preferred: &[&str],
    ) -> Result<Value, ConnectorError> {
        let lists = self.picklists(entity).await?;
        let value = match chosen.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => lists.value_of(field, c).or_else(|| {
                // A number the metadata does not list is passed on:
                // Autotask says whether it exists.
                scopelink_core::wire::text_id(c).map(|n| n.to_string())
            }),
            None => lists.default_value(field, preferred),
        }
        .ok_or_else(|| ConnectorError::InvalidConfig {
            field: setting,
            message: format!(
                "no {entity} {field} to use: choose one of the values Autotask lists in {entity}/entityInformation/fields"
            ),
        })?;
        Ok(scopelink_core::wire::text_id(&value).map_or(Value::String(value), |n| json!(n)))
    }
}

#[scopelink_core::async_trait]
impl PsaProjects for AutotaskConnector {
    /// Active companies, project statuses, task priorities; `extra` holds
    /// `project_types`, `task_types` and `task_statuses` (all picklists).
    async fn push_lookups(&self) -> Result<PushLookups, ConnectorError> {
        let (companies, statuses, priorities, project_types, task_types, task_statuses) = futures::try_join!(
            self.lookup_companies(),
            self.picklist_items("Projects", "status"),
            self.picklist_items("Tasks", "priorityLabel"),
            self.picklist_items("Projects", "projectType"),
            self.picklist_items("Tasks", "taskType"),
            self.picklist_items("Tasks", "status"),
        )?;
        let mut extra = BTreeMap::new();
        extra.insert("project_types".to_string(), project_types);
        extra.insert("task_types".to_string(), task_types);
        extra.insert("task_statuses".to_string(), task_statuses);
        Ok(PushLookups {
            companies,
            statuses,
            priorities,
            extra,
        })
    }

    /// `POST Projects`: name, company, status (the form's, else the
    /// setting's, else the picklist default), type (the setting's, else the
    /// default, else `Client`), start (the form's, else today) and end (the
    /// form's, else [`DEFAULT_PROJECT_DAYS`] later).
    async fn create_project(&self, plan: &PsaPlan) -> Result<String, ConnectorError> {
        let o = &plan.options;
        let company = parse_id("company_id", &o.company_id)?;
        let settings = self.settings();
        let status = self
            .picklist_choice(
                "Projects",
                "status",
                "project_status",
                o.status_id
                    .as_deref()
                    .or(settings.project_status.as_deref()),
                &["New", "Active"],
            )
            .await?;
        let project_type = self
            .picklist_choice(
                "Projects",
                "projectType",
                "project_type",
                settings.project_type.as_deref(),
                &["Client", "Proposal"],
            )
            .await?;
        let start = o.estimated_start.unwrap_or_else(|| Utc::now().date_naive());
        let end = o
            .estimated_end
            .unwrap_or(start + chrono::Duration::days(DEFAULT_PROJECT_DAYS));
        let body = json!({
            "projectName": clip(&plan.project_name, MAX_PROJECT_NAME_CHARS),
            "companyID": company,
            "status": status,
            "projectType": project_type,
            "startDateTime": day(start),
            "endDateTime": day(end),
            "description": format!("Pushed from scopelink (scoping project {})", plan.scoping_project_id),
        });
        let id = self
            .create(&["Projects"], &body, "creating the project (POST Projects)")
            .await?;
        Ok(id.to_string())
    }

    /// `POST Projects/{id}/Phases` with the phase's name as its title.
    async fn create_milestone(
        &self,
        _plan: &PsaPlan,
        project_id: &str,
        milestone: &PlannedMilestone,
    ) -> Result<String, ConnectorError> {
        let project = parse_id("project_id", project_id)?;
        let body = json!({
            "projectID": project,
            "title": clip(&milestone.name, MAX_TITLE_CHARS),
        });
        let id = self
            .create(
                &["Projects", &project.to_string(), "Phases"],
                &body,
                "creating a phase (POST Projects/{id}/Phases)",
            )
            .await?;
        Ok(id.to_string())
    }

    /// `POST Projects/{id}/Tasks` in the phase; a sub-service (a child
    /// task) becomes a task of the same phase titled after its service (see
    /// the crate docs: Autotask has no sub-tasks).
    async fn create_task(
        &self,
        plan: &PsaPlan,
        target: TaskTarget<'_>,
        task: &PlannedTask,
    ) -> Result<String, ConnectorError> {
        let project = parse_id("project_id", target.project_id)?;
        let phase = parse_id("phase_id", target.milestone_id)?;
        let settings = self.settings();
        let task_type = self
            .picklist_choice(
                "Tasks",
                "taskType",
                "task_type",
                settings.task_type.as_deref(),
                &["Fixed Work", "Fixed Duration"],
            )
            .await?;
        let status = self
            .picklist_choice(
                "Tasks",
                "status",
                "task_status",
                settings.task_status.as_deref(),
                &["New"],
            )
            .await?;
        let parent = target.parent_task_id.and(parent_of(plan, task));
        let (title, description) = match parent {
            Some(parent) => (
                format!("{} / {}", parent.name.trim(), task.name.trim()),
                Some(match &task.description {
                    Some(d) => format!("Part of {}: {d}", parent.name.trim()),
                    None => format!("Part of {}", parent.name.trim()),
                }),
            ),
            None => (task.name.clone(), task.description.clone()),
        };
        let mut body = json!({
            "projectID": project,
            "phaseID": phase,
            "title": clip(&title, MAX_TITLE_CHARS),
            "status": status,
            "taskType": task_type,
            "estimatedHours": hours(task.hours),
        });
        if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
            body["description"] = Value::String(d);
        }
        if let Some(p) = plan.options.priority_id.as_deref() {
            body["priorityLabel"] = json!(parse_id("priority_id", p)?);
        }
        let id = self
            .create(
                &["Projects", &project.to_string(), "Tasks"],
                &body,
                "creating a task (POST Projects/{id}/Tasks)",
            )
            .await?;
        Ok(id.to_string())
    }
}
