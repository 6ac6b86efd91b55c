//! Turning an approved scoping project into a PSA project plan.
//!
//! Phase → milestone; service → task; sub-service → project task (when
//! chosen); governance items assigned to a phase → a task named
//! [`GOVERNANCE_TASK_NAME`] (when chosen). On resubmit, only items that have
//! no stored link yet are planned: whatever already exists in the PSA is left
//! alone.
//!
//! # Example
//!
//! ```
//! use scopelink_core::mapping::{plan, sample_project, ProjectLinks, PushOptions, TaskMode};
//!
//! let project = sample_project();
//! let mut options = PushOptions::for_company("250");
//! options.task_mode = TaskMode::PerService;
//! options.include_governance = true;
//!
//! let plan = plan(&project, &options, &ProjectLinks::default())?;
//! assert_eq!(plan.project_name, project.name);
//! // One milestone per phase, in phase order.
//! let milestones: Vec<&str> = plan.milestones.iter().map(|m| m.name.as_str()).collect();
//! let phases: Vec<&str> = project.phases.iter().map(|p| p.name.as_str()).collect();
//! assert_eq!(milestones, phases);
//! // Governance items assigned to no phase are listed, not pushed.
//! assert!(plan.unassigned_governance.iter().all(|name| project
//!     .governance
//!     .iter()
//!     .any(|g| &g.name == name && g.phase_id.is_none())));
//! assert!(plan.creations() > plan.milestones.len());
//! # Ok::<(), scopelink_core::MappingError>(())
//! ```

use crate::error::MappingError;
use crate::model::{ProjectStatus, ScopingProject, Service};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Name of the task that carries a phase's governance items.
pub const GOVERNANCE_TASK_NAME: &str = "Project_Management";

/// How services become PSA tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskMode {
    /// One task per service; sub-services become child project tasks when
    /// [`PushOptions::include_sub_services`] is set. The default.
    #[default]
    PerService,
    /// One task per phase, named after the phase, with its services (and
    /// their sub-services) folded into its description and hours.
    PerPhase,
    /// Services and sub-services each become a task of the milestone.
    ServicesAndSubServices,
}

/// What the user chose on the push form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushOptions {
    /// How services become tasks.
    pub task_mode: TaskMode,
    /// Create sub-services as project tasks under their service's task.
    pub include_sub_services: bool,
    /// Create a `Project_Management` task per phase for its governance items.
    pub include_governance: bool,
    /// Estimated start date.
    pub estimated_start: Option<NaiveDate>,
    /// Estimated end date.
    pub estimated_end: Option<NaiveDate>,
    /// The PSA company (client) id the project is for.
    pub company_id: String,
    /// The PSA project status id.
    pub status_id: Option<String>,
    /// The PSA priority id.
    pub priority_id: Option<String>,
}

impl PushOptions {
    /// Options for `company_id` with every other choice at its default.
    pub fn for_company(company_id: impl Into<String>) -> Self {
        Self {
            task_mode: TaskMode::default(),
            include_sub_services: false,
            include_governance: false,
            estimated_start: None,
            estimated_end: None,
            company_id: company_id.into(),
            status_id: None,
            priority_id: None,
        }
    }

    fn validate(&self) -> Result<(), MappingError> {
        if self.company_id.trim().is_empty() {
            return Err(MappingError::InvalidOption {
                field: "company_id",
                message: "choose the PSA company the project is for".into(),
            });
        }
        if let (Some(start), Some(end)) = (self.estimated_start, self.estimated_end) {
            if end < start {
                return Err(MappingError::InvalidOption {
                    field: "estimated_end",
                    message: format!("the end date {end} is before the start date {start}"),
                });
            }
        }
        Ok(())
    }
}

/// A scoping item that becomes (or folds into) a PSA item; the key under
/// which its link is stored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ItemRef {
    /// The project itself.
    Project,
    /// A phase (→ milestone).
    Phase(String),
    /// A service (→ task, or folded into its phase's task).
    Service(String),
    /// A sub-service (→ project task).
    SubService(String),
    /// The per-phase task of [`TaskMode::PerPhase`], by phase id and batch.
    PhaseTask(String),
    /// The governance task of a phase, by phase id.
    Governance(String),
}

impl fmt::Display for ItemRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemRef::Project => f.write_str("project"),
            ItemRef::Phase(id) => write!(f, "phase:{id}"),
            ItemRef::Service(id) => write!(f, "service:{id}"),
            ItemRef::SubService(id) => write!(f, "subservice:{id}"),
            ItemRef::PhaseTask(id) => write!(f, "phasetask:{id}"),
            ItemRef::Governance(id) => write!(f, "governance:{id}"),
        }
    }
}

/// The stored links of one scoping project: scoping item → PSA id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectLinks {
    /// Links by item.
    pub items: BTreeMap<ItemRef, String>,
}

impl ProjectLinks {
    /// The PSA id linked to `item`.
    pub fn get(&self, item: &ItemRef) -> Option<&str> {
        self.items.get(item).map(String::as_str)
    }

    /// Whether `item` has been created in the PSA.
    pub fn contains(&self, item: &ItemRef) -> bool {
        self.items.contains_key(item)
    }
}

/// A task to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTask {
    /// The item it comes from (its link key).
    pub item: ItemRef,
    /// Items folded into it, linked to the same PSA id once it exists.
    pub folded: Vec<ItemRef>,
    /// Task name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Estimated hours.
    pub hours: Decimal,
    /// Set when the task exists already (only its missing children are planned).
    pub existing_id: Option<String>,
    /// Child project tasks.
    pub children: Vec<PlannedTask>,
}

/// A milestone (phase) to create or to add tasks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedMilestone {
    /// The phase it comes from.
    pub item: ItemRef,
    /// Milestone name.
    pub name: String,
    /// Set when the milestone exists already.
    pub existing_id: Option<String>,
    /// Tasks to create under it.
    pub tasks: Vec<PlannedTask>,
}

/// What to create in the PSA for a scoping project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PsaPlan {
    /// The scoping project's id.
    pub scoping_project_id: String,
    /// The PSA project name.
    pub project_name: String,
    /// Set when the project exists already (resubmit or resume).
    pub existing_project_id: Option<String>,
    /// The push options.
    pub options: PushOptions,
    /// Milestones with their tasks, in phase order.
    pub milestones: Vec<PlannedMilestone>,
    /// Names of governance items not assigned to any phase; they are not
    /// pushed, and the host should tell the user.
    pub unassigned_governance: Vec<String>,
}

impl PsaPlan {
    /// Whether the plan creates nothing (everything is linked already).
    pub fn is_empty(&self) -> bool {
        self.existing_project_id.is_some() && self.milestones.is_empty()
    }

    /// How many PSA objects the plan creates (for progress bars).
    pub fn creations(&self) -> usize {
        fn tasks(t: &[PlannedTask]) -> usize {
            t.iter()
                .map(|t| usize::from(t.existing_id.is_none()) + tasks(&t.children))
                .sum()
        }
        usize::from(self.existing_project_id.is_none())
            + self
                .milestones
                .iter()
                .map(|m| usize::from(m.existing_id.is_none()) + tasks(&m.tasks))
                .sum::<usize>()
    }
}

fn service_task(
    service: &Service,
    with_children: bool,
    links: &ProjectLinks,
) -> Option<PlannedTask> {
    let item = ItemRef::Service(service.id.clone());
    let existing_id = links.get(&item).map(str::to_string);
    let children: Vec<PlannedTask> = if with_children {
        service
            .sub_services
            .iter()
            .filter(|s| !links.contains(&ItemRef::SubService(s.id.clone())))
            .map(|s| PlannedTask {
                item: ItemRef::SubService(s.id.clone()),
                folded: vec![],
                name: s.name.clone(),
                description: None,
                hours: s.hours,
                existing_id: None,
                children: vec![],
            })
            .collect()
    } else {
        vec![]
    };
    if existing_id.is_some() && children.is_empty() {
        return None;
    }
    let hours = if with_children {
        service.hours
    } else {
        service.hours
            + service
                .sub_services
                .iter()
                .map(|s| s.hours)
                .sum::<Decimal>()
    };
    Some(PlannedTask {
        item,
        folded: vec![],
        name: service.name.clone(),
        description: service.description.clone(),
        hours,
        existing_id,
        children,
    })
}

fn phase_tasks(
    project: &ScopingProject,
    phase_id: &str,
    phase_name: &str,
    options: &PushOptions,
    links: &ProjectLinks,
) -> Vec<PlannedTask> {
    let services: Vec<&Service> = project
        .services
        .iter()
        .filter(|s| s.phase_id == phase_id)
        .collect();
    let mut tasks = Vec::new();
    match options.task_mode {
        TaskMode::PerService => {
            for s in &services {
                tasks.extend(service_task(s, options.include_sub_services, links));
            }
        }
        TaskMode::ServicesAndSubServices => {
            for s in &services {
                if let Some(mut t) = service_task(s, true, links) {
                    let children = std::mem::take(&mut t.children);
                    if t.existing_id.is_none() {
                        tasks.push(t);
                    }
                    tasks.extend(children);
                }
            }
        }
        TaskMode::PerPhase => {
            let new: Vec<&&Service> = services
                .iter()
                .filter(|s| !links.contains(&ItemRef::Service(s.id.clone())))
                .collect();
            if !new.is_empty() {
                let mut lines = Vec::new();
                let mut hours = Decimal::ZERO;
                for s in &new {
                    let sub_hours: Decimal = s.sub_services.iter().map(|x| x.hours).sum();
                    hours += s.hours + sub_hours;
                    lines.push(format!("- {} ({} h)", s.name, s.hours + sub_hours));
                    for sub in &s.sub_services {
                        lines.push(format!("  - {} ({} h)", sub.name, sub.hours));
                    }
                }
                // A resubmit that adds services to a phase whose task exists
                // gets a task of its own, keyed by its first new service, so
                // the existing task is left alone.
                let key = if links.contains(&ItemRef::PhaseTask(phase_id.to_string())) {
                    format!("{phase_id}+{}", new[0].id)
                } else {
                    phase_id.to_string()
                };
                tasks.push(PlannedTask {
                    item: ItemRef::PhaseTask(key),
                    folded: new.iter().map(|s| ItemRef::Service(s.id.clone())).collect(),
                    name: phase_name.to_string(),
                    description: Some(lines.join("\n")),
                    hours,
                    existing_id: None,
                    children: vec![],
                });
            }
        }
    }
    if options.include_governance {
        let item = ItemRef::Governance(phase_id.to_string());
        let items: Vec<_> = project
            .governance
            .iter()
            .filter(|g| g.phase_id.as_deref() == Some(phase_id))
            .collect();
        if !items.is_empty() && !links.contains(&item) {
            tasks.push(PlannedTask {
                item,
                folded: vec![],
                name: GOVERNANCE_TASK_NAME.to_string(),
                description: Some(
                    items
                        .iter()
                        .map(|g| format!("- {} ({} h)", g.name, g.hours))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
                hours: items.iter().map(|g| g.hours).sum(),
                existing_id: None,
                children: vec![],
            });
        }
    }
    tasks
}

/// Plans the PSA project for `project`, leaving out every item `links`
/// says exists already.
///
/// Refuses projects that are not approved and services whose phase does not
/// exist. Governance items assigned to no phase are listed in
/// [`PsaPlan::unassigned_governance`], not dropped silently.
pub fn plan(
    project: &ScopingProject,
    options: &PushOptions,
    links: &ProjectLinks,
) -> Result<PsaPlan, MappingError> {
    if project.status != ProjectStatus::Approved {
        return Err(MappingError::NotApproved {
            project: project.name.clone(),
        });
    }
    options.validate()?;
    for s in &project.services {
        if !project.phases.iter().any(|p| p.id == s.phase_id) {
            return Err(MappingError::UnknownPhase {
                service: s.name.clone(),
                phase: s.phase_id.clone(),
            });
        }
    }
    let mut milestones = Vec::new();
    for phase in &project.phases {
        let item = ItemRef::Phase(phase.id.clone());
        let existing_id = links.get(&item).map(str::to_string);
        let tasks = phase_tasks(project, &phase.id, &phase.name, options, links);
        if existing_id.is_some() && tasks.is_empty() {
            continue;
        }
        milestones.push(PlannedMilestone {
            item,
            name: phase.name.clone(),
            existing_id,
            tasks,
        });
    }
    let unassigned_governance = if options.include_governance {
        project
            .governance
            .iter()
            .filter(|g| {
                g.phase_id
                    .as_ref()
                    .is_none_or(|p| !project.phases.iter().any(|ph| &ph.id == p))
            })
            .map(|g| g.name.clone())
            .collect()
    } else {
        vec![]
    };
    Ok(PsaPlan {
        scoping_project_id: project.id.clone(),
        project_name: project.name.clone(),
        existing_project_id: links.get(&ItemRef::Project).map(str::to_string),
        options: options.clone(),
        milestones,
        unassigned_governance,
    })
}

/// A small but complete scoping project, for tests and examples.
pub fn sample_project() -> ScopingProject {
    use crate::model::{GovernanceItem, Phase, SubService};
    let d = |n: i64| Decimal::new(n, 0);
    ScopingProject {
        id: "sp-100".into(),
        name: "Acme Microsoft 365 Migration".into(),
        status: ProjectStatus::Approved,
        phases: vec![
            Phase {
                id: "ph-1".into(),
                name: "Discovery".into(),
            },
            Phase {
                id: "ph-2".into(),
                name: "Migration".into(),
            },
        ],
        services: vec![
            Service {
                id: "sv-1".into(),
                name: "Tenant assessment".into(),
                phase_id: "ph-1".into(),
                description: Some("Review the current tenant and licences".into()),
                hours: d(6),
                sub_services: vec![SubService {
                    id: "ss-1".into(),
                    name: "Licence inventory".into(),
                    hours: d(2),
                }],
            },
            Service {
                id: "sv-2".into(),
                name: "Mailbox migration".into(),
                phase_id: "ph-2".into(),
                description: None,
                hours: d(20),
                sub_services: vec![
                    SubService {
                        id: "ss-2".into(),
                        name: "Pilot group".into(),
                        hours: d(4),
                    },
                    SubService {
                        id: "ss-3".into(),
                        name: "Cut-over".into(),
                        hours: d(8),
                    },
                ],
            },
            Service {
                id: "sv-3".into(),
                name: "SharePoint migration".into(),
                phase_id: "ph-2".into(),
                description: Some("File shares to SharePoint".into()),
                hours: d(12),
                sub_services: vec![],
            },
        ],
        governance: vec![
            GovernanceItem {
                id: "gv-1".into(),
                name: "Kick-off meeting".into(),
                phase_id: Some("ph-1".into()),
                hours: d(2),
            },
            GovernanceItem {
                id: "gv-2".into(),
                name: "Weekly status calls".into(),
                phase_id: Some("ph-2".into()),
                hours: d(5),
            },
            GovernanceItem {
                id: "gv-3".into(),
                name: "Steering committee".into(),
                phase_id: None,
                hours: d(3),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(mode: TaskMode, subs: bool, gov: bool) -> PushOptions {
        PushOptions {
            task_mode: mode,
            include_sub_services: subs,
            include_governance: gov,
            estimated_start: NaiveDate::from_ymd_opt(2026, 1, 5),
            estimated_end: NaiveDate::from_ymd_opt(2026, 3, 27),
            company_id: "250".into(),
            status_id: Some("1".into()),
            priority_id: Some("3".into()),
        }
    }

    #[test]
    fn per_service_default_mode() {
        let p = plan(
            &sample_project(),
            &options(TaskMode::PerService, false, false),
            &ProjectLinks::default(),
        )
        .unwrap();
        assert_eq!(p.milestones.len(), 2);
        assert_eq!(p.milestones[1].tasks.len(), 2);
        // Sub-service hours are folded into the service task when sub-services are not chosen.
        assert_eq!(p.milestones[1].tasks[0].hours, Decimal::new(32, 0));
        assert!(p.unassigned_governance.is_empty());
        insta::assert_yaml_snapshot!("per_service", p);
    }

    #[test]
    fn per_service_with_sub_services_and_governance() {
        let p = plan(
            &sample_project(),
            &options(TaskMode::PerService, true, true),
            &ProjectLinks::default(),
        )
        .unwrap();
        let migration = &p.milestones[1];
        assert_eq!(migration.tasks[0].children.len(), 2);
        assert_eq!(migration.tasks[0].hours, Decimal::new(20, 0));
        assert_eq!(migration.tasks.last().unwrap().name, GOVERNANCE_TASK_NAME);
        assert_eq!(
            p.unassigned_governance,
            vec!["Steering committee".to_string()]
        );
        // project + 2 milestones + (service, sub-service, governance) + (service, 2 sub-services, service, governance)
        assert_eq!(p.creations(), 1 + 2 + 3 + 5);
        insta::assert_yaml_snapshot!("per_service_subs_governance", p);
    }

    #[test]
    fn per_phase_mode_folds_services() {
        let p = plan(
            &sample_project(),
            &options(TaskMode::PerPhase, false, false),
            &ProjectLinks::default(),
        )
        .unwrap();
        let t = &p.milestones[1].tasks;
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].name, "Migration");
        assert_eq!(t[0].hours, Decimal::new(44, 0));
        assert_eq!(t[0].folded.len(), 2);
        insta::assert_yaml_snapshot!("per_phase", p);
    }

    #[test]
    fn services_and_sub_services_mode_flattens() {
        let p = plan(
            &sample_project(),
            &options(TaskMode::ServicesAndSubServices, false, true),
            &ProjectLinks::default(),
        )
        .unwrap();
        let names: Vec<_> = p.milestones[1]
            .tasks
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "Mailbox migration",
                "Pilot group",
                "Cut-over",
                "SharePoint migration",
                GOVERNANCE_TASK_NAME
            ]
        );
        assert!(p.milestones[1].tasks.iter().all(|t| t.children.is_empty()));
        insta::assert_yaml_snapshot!("services_and_sub_services", p);
    }

    #[test]
    fn refuses_unapproved_project() {
        let mut project = sample_project();
        project.status = ProjectStatus::PendingApproval;
        let err = plan(
            &project,
            &options(TaskMode::PerService, false, false),
            &ProjectLinks::default(),
        )
        .unwrap_err();
        assert!(matches!(err, MappingError::NotApproved { .. }));
    }

    #[test]
    fn refuses_bad_options_and_unknown_phases() {
        let mut o = options(TaskMode::PerService, false, false);
        o.estimated_end = NaiveDate::from_ymd_opt(2025, 1, 1);
        assert!(matches!(
            plan(&sample_project(), &o, &ProjectLinks::default()),
            Err(MappingError::InvalidOption {
                field: "estimated_end",
                ..
            })
        ));
        o = options(TaskMode::PerService, false, false);
        o.company_id = " ".into();
        assert!(matches!(
            plan(&sample_project(), &o, &ProjectLinks::default()),
            Err(MappingError::InvalidOption {
                field: "company_id",
                ..
            })
        ));
        let mut project = sample_project();
        project.services[0].phase_id = "nope".into();
        assert!(matches!(
            plan(
                &project,
                &options(TaskMode::PerService, false, false),
                &ProjectLinks::default()
            ),
            Err(MappingError::UnknownPhase { .. })
        ));
    }

    #[test]
    fn resubmit_adds_only_new_services() {
        let o = options(TaskMode::PerService, false, true);
        let mut links = ProjectLinks::default();
        for (item, id) in [
            (ItemRef::Project, "P1"),
            (ItemRef::Phase("ph-1".into()), "M1"),
            (ItemRef::Phase("ph-2".into()), "M2"),
            (ItemRef::Service("sv-1".into()), "T1"),
            (ItemRef::Service("sv-2".into()), "T2"),
            (ItemRef::Service("sv-3".into()), "T3"),
            (ItemRef::Governance("ph-1".into()), "G1"),
            (ItemRef::Governance("ph-2".into()), "G2"),
        ] {
            links.items.insert(item, id.into());
        }
        let mut project = sample_project();
        assert!(plan(&project, &o, &links).unwrap().is_empty());
        project.services.push(Service {
            id: "sv-4".into(),
            name: "Teams roll-out".into(),
            phase_id: "ph-2".into(),
            description: None,
            hours: Decimal::new(10, 0),
            sub_services: vec![],
        });
        let p = plan(&project, &o, &links).unwrap();
        assert_eq!(p.existing_project_id.as_deref(), Some("P1"));
        assert_eq!(p.milestones.len(), 1);
        assert_eq!(p.milestones[0].existing_id.as_deref(), Some("M2"));
        assert_eq!(p.milestones[0].tasks.len(), 1);
        assert_eq!(p.milestones[0].tasks[0].name, "Teams roll-out");
        assert_eq!(p.creations(), 1);
        insta::assert_yaml_snapshot!("resubmit", p);
    }

    #[test]
    fn per_phase_resubmit_leaves_existing_phase_task_alone() {
        let o = options(TaskMode::PerPhase, false, false);
        let mut links = ProjectLinks::default();
        for (item, id) in [
            (ItemRef::Project, "P1"),
            (ItemRef::Phase("ph-2".into()), "M2"),
            (ItemRef::PhaseTask("ph-2".into()), "T2"),
            (ItemRef::Service("sv-2".into()), "T2"),
            (ItemRef::Service("sv-3".into()), "T2"),
        ] {
            links.items.insert(item, id.into());
        }
        let mut project = sample_project();
        project.services.push(Service {
            id: "sv-4".into(),
            name: "Teams roll-out".into(),
            phase_id: "ph-2".into(),
            description: None,
            hours: Decimal::new(10, 0),
            sub_services: vec![],
        });
        let p = plan(&project, &o, &links).unwrap();
        // Phase 1 was never created: it is planned whole.
        assert_eq!(p.milestones[0].existing_id, None);
        let m2 = &p.milestones[1];
        assert_eq!(m2.existing_id.as_deref(), Some("M2"));
        assert_eq!(m2.tasks.len(), 1);
        assert_eq!(m2.tasks[0].item, ItemRef::PhaseTask("ph-2+sv-4".into()));
        assert_eq!(m2.tasks[0].folded, vec![ItemRef::Service("sv-4".into())]);
    }

    #[test]
    fn resume_plans_missing_children_of_an_existing_task() {
        let o = options(TaskMode::PerService, true, false);
        let mut links = ProjectLinks::default();
        links.items.insert(ItemRef::Project, "P1".into());
        links
            .items
            .insert(ItemRef::Phase("ph-2".into()), "M2".into());
        links
            .items
            .insert(ItemRef::Service("sv-2".into()), "T2".into());
        links
            .items
            .insert(ItemRef::SubService("ss-2".into()), "S2".into());
        let p = plan(&sample_project(), &o, &links).unwrap();
        let m2 = p
            .milestones
            .iter()
            .find(|m| m.existing_id.as_deref() == Some("M2"))
            .unwrap();
        let t2 = &m2.tasks[0];
        assert_eq!(t2.existing_id.as_deref(), Some("T2"));
        assert_eq!(t2.children.len(), 1);
        assert_eq!(t2.children[0].name, "Cut-over");
    }
}
