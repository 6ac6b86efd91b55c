//! Pushing a scoping project into ConnectWise as a project.
//!
//! - project → `POST /project/projects` (board from the settings, company
//!   from the push options, estimated dates, billing method, status);
//! - milestone → a project phase, `POST /project/projects/{id}/phases`;
//! - task → a project ticket in that phase, `POST /project/tickets`.
//!
//! ConnectWise has no child tickets under a project ticket, and a ticket's
//! own "tasks" are checklist lines without hours. A sub-service (a task
//! with a parent) therefore becomes a ticket of its own in the same phase,
//! its summary prefixed with the parent's (`Parent - Child`) and its
//! description naming the parent ticket; its hours stay its own. One POST
//! per task keeps each creation atomic, so the core's push driver can
//! resume without duplicates.
//!
//! POSTs are not idempotent and are never marked retry-safe.

use crate::client::ConnectWiseConnector;
use crate::settings::ConnectWiseSettings;
use crate::wire::{IdName, Reference};
use async_trait::async_trait;
use chrono::{Duration, NaiveDate, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use scopelink_core::connector::{LookupItem, PsaProjects, PushLookups, TaskTarget};
use scopelink_core::error::ConnectorError;
use scopelink_core::http::Method;
use scopelink_core::mapping::{PlannedMilestone, PlannedTask, PsaPlan};
use serde::Serialize;

/// The longest project name, phase description and ticket summary.
pub const MAX_NAME_CHARS: usize = 100;
/// The billing methods ConnectWise accepts for projects.
pub const BILLING_METHODS: [&str; 4] = ["ActualRates", "FixedFee", "NotToExceed", "OverrideRate"];
/// Days between the default estimated start and end.
pub const DEFAULT_PROJECT_DAYS: i64 = 30;

/// `{"id": N}`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub(crate) struct IdRef {
    pub(crate) id: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewProject {
    name: String,
    board: IdRef,
    company: IdRef,
    estimated_start: String,
    estimated_end: String,
    billing_method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<IdRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewPhase {
    description: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewTicket {
    summary: String,
    project: IdRef,
    phase: IdRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    budget_hours: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<IdRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_description: Option<String>,
}

/// At most [`MAX_NAME_CHARS`] characters, trimmed.
pub(crate) fn clip(s: &str) -> String {
    s.trim()
        .chars()
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// A numeric ConnectWise id.
pub(crate) fn parse_id(value: &str) -> Option<i64> {
    let v = value.trim();
    (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .then(|| v.parse().ok())
        .flatten()
}

fn option_id(field: &'static str, value: &str, what: &str) -> Result<i64, ConnectorError> {
    parse_id(value).ok_or_else(|| ConnectorError::InvalidConfig {
        field,
        message: format!("`{value}` is not a ConnectWise {what} id; choose one from the list"),
    })
}

fn linked_id(value: &str, what: &str) -> Result<i64, ConnectorError> {
    parse_id(value).ok_or_else(|| ConnectorError::Rejected {
        message: format!("`{value}` is not a ConnectWise {what} id"),
    })
}

fn iso_date(d: NaiveDate) -> String {
    format!("{}T00:00:00Z", d.format("%Y-%m-%d"))
}

/// Hours as a JSON number (ConnectWise rejects numbers sent as strings).
pub(crate) fn number(d: Decimal) -> Option<f64> {
    d.round_dp(2).to_f64()
}

fn lookup_items(items: Vec<IdName>, label: impl Fn(&IdName) -> Option<String>) -> Vec<LookupItem> {
    items
        .into_iter()
        .filter(|i| i.inactive != Some(true))
        .filter_map(|i| {
            Some(LookupItem {
                id: i.id?.to_string(),
                name: label(&i)?,
            })
        })
        .collect()
}

fn name_of(i: &IdName) -> Option<String> {
    crate::wire::non_blank(i.name.as_deref())
}

/// The parent of `task` in the plan (the task whose children include it).
fn parent_in_plan<'a>(plan: &'a PsaPlan, task: &PlannedTask) -> Option<&'a PlannedTask> {
    fn find<'a>(tasks: &'a [PlannedTask], item: &PlannedTask) -> Option<&'a PlannedTask> {
        tasks.iter().find_map(|t| {
            if t.children.iter().any(|c| c.item == item.item) {
                Some(t)
            } else {
                find(&t.children, item)
            }
        })
    }
    plan.milestones.iter().find_map(|m| find(&m.tasks, task))
}

impl ConnectWiseConnector {
    fn created_id(created: IdName, what: &str) -> Result<String, ConnectorError> {
        created
            .id
            .map(|id| id.to_string())
            .ok_or_else(|| ConnectorError::Decode {
                what: what.to_string(),
                message: "the answer has no id".into(),
            })
    }

    fn billing_method(&self) -> Result<&'static str, ConnectorError> {
        billing_method(self.settings())
    }
}

/// The billing method of new projects set in `settings` (default
/// `ActualRates`), or an error naming `billing_method`.
pub(crate) fn billing_method(
    settings: &ConnectWiseSettings,
) -> Result<&'static str, ConnectorError> {
    match settings.billing_method.as_deref().map(str::trim) {
        None | Some("") => Ok("ActualRates"),
        Some(m) => BILLING_METHODS
            .iter()
            .copied()
            .find(|b| b.eq_ignore_ascii_case(m))
            .ok_or_else(|| ConnectorError::InvalidConfig {
                field: "billing_method",
                message: format!("`{m}` is not one of {}", BILLING_METHODS.join(", ")),
            }),
    }
}

/// Checks the push settings of `settings` as they are entered: the board
/// id, when given, a ConnectWise id, and the billing method one of
/// [`BILLING_METHODS`].
pub(crate) fn check_push_settings(settings: &ConnectWiseSettings) -> Result<(), ConnectorError> {
    if let Some(board) = settings
        .board_id
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        option_id("board_id", board, "project board")?;
    }
    billing_method(settings).map(|_| ())
}

#[async_trait]
impl PsaProjects for ConnectWiseConnector {
    /// Companies (sorted by name), project statuses, service priorities and,
    /// in `extra["boards"]`, the project boards.
    async fn push_lookups(&self) -> Result<PushLookups, ConnectorError> {
        let by_id = || vec![("orderBy".to_string(), "id asc".to_string())];
        let mut companies_query = by_id();
        companies_query.push(("fields".into(), "id,name".into()));
        let (companies, statuses, priorities, boards) = futures::try_join!(
            self.get_all::<IdName>("company/companies", companies_query, "listing companies"),
            self.get_all::<IdName>("project/statuses", by_id(), "listing project statuses"),
            self.get_all::<IdName>("service/priorities", by_id(), "listing priorities"),
            self.get_all::<IdName>(
                "service/boards",
                {
                    let mut q = by_id();
                    q.push(("conditions".into(), "projectFlag=true".into()));
                    q
                },
                "listing project boards",
            ),
        )?;
        let mut companies = lookup_items(companies, name_of);
        companies.sort_by_key(|c| c.name.to_lowercase());
        let mut lookups = PushLookups {
            companies,
            statuses: lookup_items(statuses, name_of),
            priorities: lookup_items(priorities, name_of),
            ..PushLookups::default()
        };
        lookups
            .extra
            .insert("boards".into(), lookup_items(boards, name_of));
        Ok(lookups)
    }

    async fn create_project(&self, plan: &PsaPlan) -> Result<String, ConnectorError> {
        let board = self
            .settings()
            .board_id
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .ok_or_else(|| ConnectorError::InvalidConfig {
                field: "board_id",
                message: "choose the project board new projects go on (Project > Project Boards) in the connection's settings".into(),
            })?;
        let board = option_id("board_id", board, "project board")?;
        let options = &plan.options;
        let company = option_id("company_id", &options.company_id, "company")?;
        let status = options
            .status_id
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| option_id("status_id", s, "project status"))
            .transpose()?;
        let today = Utc::now().date_naive();
        let mut start = options.estimated_start.unwrap_or(today);
        let end = options.estimated_end.unwrap_or_else(|| {
            start
                .checked_add_signed(Duration::days(DEFAULT_PROJECT_DAYS))
                .unwrap_or(start)
        });
        if options.estimated_start.is_none() && end < start {
            start = end;
        }
        let name = clip(&plan.project_name);
        if name.is_empty() {
            return Err(ConnectorError::Rejected {
                message: "the project needs a name".into(),
            });
        }
        let body = NewProject {
            name,
            board: IdRef { id: board },
            company: IdRef { id: company },
            estimated_start: iso_date(start),
            estimated_end: iso_date(end),
            billing_method: self.billing_method()?,
            status: status.map(|id| IdRef { id }),
        };
        let created: IdName = self
            .send_json(
                Method::POST,
                self.endpoint(&["project", "projects"]),
                &body,
                false,
                "creating the project",
            )
            .await?;
        Self::created_id(created, "created project")
    }

    async fn create_milestone(
        &self,
        _plan: &PsaPlan,
        project_id: &str,
        milestone: &PlannedMilestone,
    ) -> Result<String, ConnectorError> {
        let project = linked_id(project_id, "project")?;
        let description = clip(&milestone.name);
        if description.is_empty() {
            return Err(ConnectorError::Rejected {
                message: "a phase needs a name".into(),
            });
        }
        let mut url = self.endpoint(&["project", "projects"]);
        if let Ok(mut s) = url.path_segments_mut() {
            s.push(&project.to_string()).push("phases");
        }
        let created: IdName = self
            .send_json(
                Method::POST,
                url,
                &NewPhase { description },
                false,
                "creating a project phase",
            )
            .await?;
        Self::created_id(created, "created phase")
    }

    async fn create_task(
        &self,
        plan: &PsaPlan,
        target: TaskTarget<'_>,
        task: &PlannedTask,
    ) -> Result<String, ConnectorError> {
        let project = linked_id(target.project_id, "project")?;
        let phase = linked_id(target.milestone_id, "project phase")?;
        let priority = plan
            .options
            .priority_id
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|p| option_id("priority_id", p, "priority"))
            .transpose()?;
        let own_description = task
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        let (summary, description) = match target.parent_task_id {
            None => (clip(&task.name), own_description.map(str::to_string)),
            Some(parent_id) => {
                let parent_name = parent_in_plan(plan, task).map(|p| p.name.trim().to_string());
                let summary = match &parent_name {
                    Some(p) if !p.is_empty() => clip(&format!("{p} - {}", task.name.trim())),
                    _ => clip(&task.name),
                };
                let mut note = match &parent_name {
                    Some(p) => format!("Sub-service of \"{p}\" (ticket #{parent_id})."),
                    None => format!("Sub-service of ticket #{parent_id}."),
                };
                if let Some(d) = own_description {
                    note.push_str("\n\n");
                    note.push_str(d);
                }
                (summary, Some(note))
            }
        };
        if summary.is_empty() {
            return Err(ConnectorError::Rejected {
                message: "a ticket needs a summary".into(),
            });
        }
        let body = NewTicket {
            summary,
            project: IdRef { id: project },
            phase: IdRef { id: phase },
            budget_hours: (task.hours > Decimal::ZERO)
                .then(|| number(task.hours))
                .flatten(),
            priority: priority.map(|id| IdRef { id }),
            initial_description: description,
        };
        let created: IdName = self
            .send_json(
                Method::POST,
                self.endpoint(&["project", "tickets"]),
                &body,
                false,
                "creating a project ticket",
            )
            .await?;
        Self::created_id(created, "created ticket")
    }
}

/// A reference's id as a `{"id": N}` body value.
pub(crate) fn id_ref(r: &Reference) -> Option<IdRef> {
    r.id.map(|id| IdRef { id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_and_ids() {
        assert_eq!(clip(&"x".repeat(150)).chars().count(), 100);
        assert_eq!(clip("  Kick-off "), "Kick-off");
        assert_eq!(clip(&"é".repeat(101)).chars().count(), 100);
        assert_eq!(parse_id("412"), Some(412));
        assert_eq!(parse_id("-1"), None);
        assert_eq!(parse_id("4x"), None);
        assert_eq!(parse_id("99999999999999999999999"), None);
        assert_eq!(number(Decimal::new(125, 1)), Some(12.5));
    }
}
