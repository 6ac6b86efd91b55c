//! Projects as trees of milestones and tasks, for assertions.

use super::*;

/// A task (child ticket) in [`HaloPsaSim::project_tree`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimTask {
    /// Ticket id.
    pub id: i64,
    /// Summary.
    pub summary: String,
    /// Details.
    pub details: String,
    /// Ticket type id.
    pub tickettype_id: i64,
    /// Estimate in hours.
    pub estimate: f64,
    /// Child tickets of this ticket.
    pub children: Vec<SimTask>,
}

/// A milestone in [`HaloPsaSim::project_tree`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimMilestone {
    /// Milestone id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Sequence.
    pub sequence: i64,
    /// Tickets in this milestone's membership (its `tickets` rows), in the
    /// order written.
    pub tasks: Vec<SimTask>,
}

/// A project in [`HaloPsaSim::project_tree`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimProject {
    /// Ticket id.
    pub id: i64,
    /// Summary.
    pub summary: String,
    /// Client id.
    pub client_id: i64,
    /// Milestones by sequence.
    pub milestones: Vec<SimMilestone>,
    /// Child tickets in no milestone of the project.
    pub unassigned: Vec<SimTask>,
}

impl SimProject {
    /// Every task of the project (milestone tasks, unassigned ones and their
    /// children).
    pub fn all_tasks(&self) -> Vec<&SimTask> {
        fn walk<'a>(t: &'a SimTask, out: &mut Vec<&'a SimTask>) {
            out.push(t);
            for c in &t.children {
                walk(c, out);
            }
        }
        let mut out = Vec::new();
        for t in self
            .milestones
            .iter()
            .flat_map(|m| &m.tasks)
            .chain(&self.unassigned)
        {
            walk(t, &mut out);
        }
        out
    }
}

impl State {
    pub(super) fn task(&self, id: i64) -> Option<SimTask> {
        let t = self.tickets.get(&id)?;
        let children = self
            .tickets
            .values()
            .filter(|c| field_id(c, "parent_id") == Some(id))
            .filter_map(|c| field_id(c, "id"))
            .filter_map(|c| self.task(c))
            .collect();
        Some(SimTask {
            id,
            summary: t
                .get("summary")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            details: t
                .get("details")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            tickettype_id: field_id(t, "tickettype_id").unwrap_or(0),
            estimate: t.get("estimate").and_then(Value::as_f64).unwrap_or(0.0),
            children,
        })
    }

    pub(super) fn tree(&self) -> Vec<SimProject> {
        let mut out = Vec::new();
        for (id, p) in &self.tickets {
            if p.get("is_project").and_then(Value::as_bool) != Some(true)
                || field_id(p, "parent_id").unwrap_or(0) > 0
            {
                continue;
            }
            let children: Vec<&Value> = self
                .tickets
                .values()
                .filter(|c| field_id(c, "parent_id") == Some(*id))
                .collect();
            let mut milestones: Vec<SimMilestone> = p
                .get("milestones")
                .and_then(Value::as_array)
                .map(|ms| {
                    ms.iter()
                        .map(|m| {
                            let mid = field_id(m, "id").unwrap_or(0);
                            SimMilestone {
                                id: mid,
                                name: m
                                    .get("name")
                                    .and_then(Value::as_str)
                                    .unwrap_or_default()
                                    .to_string(),
                                sequence: field_id(m, "sequence").unwrap_or(0),
                                tasks: m
                                    .get("tickets")
                                    .and_then(Value::as_array)
                                    .map(|rows| {
                                        rows.iter()
                                            .filter_map(|r| field_id(r, "ticket_id"))
                                            .filter_map(|c| self.task(c))
                                            .collect()
                                    })
                                    .unwrap_or_default(),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            milestones.sort_by_key(|m| (m.sequence, m.id));
            let members: Vec<i64> = milestones
                .iter()
                .flat_map(|m| m.tasks.iter().map(|t| t.id))
                .collect();
            let unassigned = children
                .iter()
                .filter(|c| field_id(c, "id").is_some_and(|id| !members.contains(&id)))
                .filter_map(|c| field_id(c, "id"))
                .filter_map(|c| self.task(c))
                .collect();
            out.push(SimProject {
                id: *id,
                summary: p
                    .get("summary")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                client_id: field_id(p, "client_id").unwrap_or(0),
                milestones,
                unassigned,
            });
        }
        out
    }
}
