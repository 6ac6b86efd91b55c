//! Pushing a scoping project to a PSA, one object at a time, storing a link
//! after each, so a push that fails halfway resumes without duplicates and a
//! resubmit adds only what is new.

use crate::activity::{ActivityEntry, ActivityKind};
use crate::connection::ConnectionId;
use crate::connector::{PsaProjects, TaskPlacement, TaskTarget};
use crate::error::{Error, StoreError};
use crate::mapping::{plan, ItemRef, PlannedTask, ProjectLinks, PsaPlan, PushOptions};
use crate::model::ScopingProject;
use crate::provider::FeatureCategory;
use crate::store::Store;
use tracing::Instrument;

/// A push progress report, sent after each PSA object is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushProgress {
    /// Objects created so far.
    pub created: usize,
    /// Objects the plan creates in all.
    pub total: usize,
    /// What was just created.
    pub item: ItemRef,
    /// Its PSA id.
    pub psa_id: String,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The PSA project id.
    pub project_id: String,
    /// Objects created by this push.
    pub created: usize,
    /// The plan that was carried out.
    pub plan: PsaPlan,
}

struct Pusher<'a> {
    psa: &'a dyn PsaProjects,
    store: &'a dyn Store,
    connection: &'a ConnectionId,
    plan: &'a PsaPlan,
    created: usize,
    total: usize,
    progress: Option<&'a (dyn Fn(&PushProgress) + Send + Sync)>,
}

impl Pusher<'_> {
    async fn link(&mut self, item: &ItemRef, psa_id: &str) -> Result<(), StoreError> {
        self.store
            .put_link(self.connection, &self.plan.scoping_project_id, item, psa_id)
            .await
    }

    async fn created(&mut self, item: &ItemRef, psa_id: &str) -> Result<(), StoreError> {
        self.link(item, psa_id).await?;
        self.created += 1;
        if let Some(p) = self.progress {
            p(&PushProgress {
                created: self.created,
                total: self.total,
                item: item.clone(),
                psa_id: psa_id.to_string(),
            });
        }
        Ok(())
    }

    async fn task(
        &mut self,
        project_id: &str,
        milestone_id: &str,
        parent: Option<&str>,
        task: &PlannedTask,
    ) -> Result<(), Error> {
        let id = match &task.existing_id {
            Some(id) => id.clone(),
            None => {
                let target = TaskTarget {
                    project_id,
                    milestone_id,
                    parent_task_id: parent,
                };
                let id = self.psa.create_task(self.plan, target, task).await?;
                self.created(&task.item, &id).await?;
                for folded in &task.folded {
                    self.link(folded, &id).await?;
                }
                id
            }
        };
        for child in &task.children {
            Box::pin(self.task(project_id, milestone_id, Some(&id), child)).await?;
        }
        Ok(())
    }

    async fn run(&mut self) -> Result<String, Error> {
        let project_id = match &self.plan.existing_project_id {
            Some(id) => id.clone(),
            None => {
                let id = self.psa.create_project(self.plan).await?;
                self.created(&ItemRef::Project, &id).await?;
                id
            }
        };
        for milestone in &self.plan.milestones {
            let milestone_id = match &milestone.existing_id {
                Some(id) => id.clone(),
                None => {
                    let id = self
                        .psa
                        .create_milestone(self.plan, &project_id, milestone)
                        .await?;
                    self.created(&milestone.item, &id).await?;
                    id
                }
            };
            for task in &milestone.tasks {
                self.task(&project_id, &milestone_id, None, task).await?;
            }
        }
        Ok(project_id)
    }
}

/// Every task linked for `project` with the milestone its phase became,
/// once per PSA task (a per-phase task and the services folded into it
/// share one). Tasks whose phase has no milestone yet are left out.
fn placements(project: &ScopingProject, links: &ProjectLinks) -> Vec<TaskPlacement> {
    let service_phase = |id: &str| {
        project
            .services
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.phase_id.clone())
    };
    let phase_of = |item: &ItemRef| match item {
        ItemRef::Project | ItemRef::Phase(_) => None,
        ItemRef::Service(id) => service_phase(id),
        ItemRef::SubService(id) => project
            .services
            .iter()
            .find(|s| s.sub_services.iter().any(|x| &x.id == id))
            .map(|s| s.phase_id.clone()),
        // Keyed `phase` or `phase+first new service`.
        ItemRef::PhaseTask(key) => Some(key.split('+').next().unwrap_or(key).to_string()),
        ItemRef::Governance(phase) => Some(phase.clone()),
    };
    // The task's own item first, the items folded into it after.
    let rank = |item: &ItemRef| match item {
        ItemRef::PhaseTask(_) | ItemRef::Governance(_) => 0,
        _ => 1,
    };
    let mut items: Vec<(&ItemRef, &String)> = links.items.iter().collect();
    items.sort_by_key(|(item, _)| rank(item));
    let mut out: Vec<TaskPlacement> = Vec::new();
    for (item, task_id) in items {
        let Some(phase) = phase_of(item) else {
            continue;
        };
        let Some(milestone_id) = links.get(&ItemRef::Phase(phase)) else {
            continue;
        };
        if out.iter().any(|p| &p.task_id == task_id) {
            continue;
        }
        out.push(TaskPlacement {
            task_id: task_id.clone(),
            milestone_id: milestone_id.to_string(),
        });
    }
    out
}

/// Creates what the plan holds, then has the PSA place every linked task in
/// its milestone ([`PsaProjects::place_tasks`]).
async fn push_and_place(
    pusher: &mut Pusher<'_>,
    project: &ScopingProject,
) -> Result<String, Error> {
    let project_id = pusher.run().await?;
    let links = pusher.store.links(pusher.connection, &project.id).await?;
    let tasks = placements(project, &links);
    if !tasks.is_empty() {
        pusher.psa.place_tasks(&project_id, &tasks).await?;
    }
    Ok(project_id)
}

/// Plans and pushes `project` through `psa` for `connection`, which must be
/// Connected and have PSA enabled. Items already linked are left alone; a
/// link is stored as soon as each object is created, so calling this again
/// after a failure finishes the job without duplicates. Once everything
/// exists, the PSA is asked to place every linked task in its milestone
/// ([`PsaProjects::place_tasks`]); a failure there fails the push, and
/// pushing again retries it.
///
/// This leaves the connection's status alone; [`crate::Connections::push_project`]
/// also moves it to Connection Error when the PSA rejects the credentials.
///
/// Needs Manage (`access`): it creates objects in the customer's PSA and
/// writes links to the store.
///
/// Traced as one `push_project` span (fields `connection`, `provider`,
/// `scoping_project`) holding the connector's `http_request` spans.
pub async fn push_project(
    access: &crate::access::Access,
    store: &dyn Store,
    connection: &ConnectionId,
    psa: &dyn PsaProjects,
    project: &ScopingProject,
    options: &PushOptions,
    progress: Option<&(dyn Fn(&PushProgress) + Send + Sync)>,
) -> Result<PushReport, Error> {
    access.require(crate::access::Permission::Manage)?;
    let span = tracing::info_span!(
        "push_project",
        connection = %connection,
        provider = tracing::field::Empty,
        scoping_project = %project.id,
    );
    push_traced(store, connection, psa, project, options, progress)
        .instrument(span)
        .await
}

/// [`push_project`] inside its span.
async fn push_traced(
    store: &dyn Store,
    connection: &ConnectionId,
    psa: &dyn PsaProjects,
    project: &ScopingProject,
    options: &PushOptions,
    progress: Option<&(dyn Fn(&PushProgress) + Send + Sync)>,
) -> Result<PushReport, Error> {
    let conn = store
        .connection(connection)
        .await?
        .ok_or_else(|| StoreError::ConnectionNotFound(connection.clone()))?;
    tracing::Span::current().record("provider", tracing::field::display(&conn.provider));
    if !conn.is_connected() {
        return Err(Error::NotConnected {
            connection: connection.clone(),
            status: conn.status.label().into(),
            action: "push a project",
        });
    }
    if !conn.categories.contains(&FeatureCategory::Psa) {
        return Err(Error::NotConnected {
            connection: connection.clone(),
            status: "without PSA enabled".into(),
            action: "push a project",
        });
    }
    let links = store.links(connection, &project.id).await?;
    let plan = plan(project, options, &links)?;
    let mut pusher = Pusher {
        psa,
        store,
        connection,
        plan: &plan,
        created: 0,
        total: plan.creations(),
        progress,
    };
    match push_and_place(&mut pusher, project).await {
        Ok(project_id) => {
            let created = pusher.created;
            store
                .append(ActivityEntry::now(
                    connection,
                    ActivityKind::ProjectPushed {
                        scoping_project_id: project.id.clone(),
                        psa_project_id: project_id.clone(),
                        created,
                    },
                ))
                .await?;
            Ok(PushReport {
                project_id,
                created,
                plan,
            })
        }
        Err(e) => {
            let _ = store
                .append(ActivityEntry::now(
                    connection,
                    ActivityKind::ProjectPushFailed {
                        scoping_project_id: project.id.clone(),
                        reason: e.to_string(),
                    },
                ))
                .await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::sample_project;

    fn links(pairs: &[(ItemRef, &str)]) -> ProjectLinks {
        ProjectLinks {
            items: pairs
                .iter()
                .map(|(item, id)| (item.clone(), id.to_string()))
                .collect(),
        }
    }

    fn placed(list: &[TaskPlacement]) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = list
            .iter()
            .map(|p| (p.task_id.as_str(), p.milestone_id.as_str()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_linked_task_is_placed_in_its_phase_milestone_once() {
        let project = sample_project();
        let l = links(&[
            (ItemRef::Project, "P"),
            (ItemRef::Phase("ph-1".into()), "M1"),
            (ItemRef::Phase("ph-2".into()), "M2"),
            (ItemRef::Service("sv-1".into()), "T1"),
            (ItemRef::SubService("ss-2".into()), "T2"),
            (ItemRef::Governance("ph-2".into()), "G2"),
            // A per-phase task with the services folded into it.
            (ItemRef::PhaseTask("ph-2+sv-3".into()), "T3"),
            (ItemRef::Service("sv-3".into()), "T3"),
        ]);
        assert_eq!(
            placed(&placements(&project, &l)),
            [("G2", "M2"), ("T1", "M1"), ("T2", "M2"), ("T3", "M2")]
        );
    }

    #[test]
    fn tasks_whose_phase_has_no_milestone_or_is_unknown_are_left_out() {
        let project = sample_project();
        let l = links(&[
            (ItemRef::Project, "P"),
            (ItemRef::Service("sv-1".into()), "T1"),
            (ItemRef::Service("gone".into()), "T9"),
        ]);
        assert!(placements(&project, &l).is_empty());
    }
}
