//! Milestone membership: which tickets a project's milestones hold, and the
//! milestone list to post back when it changes.
//!
//! HaloPSA has no writable milestone endpoint. A ticket's own
//! `milestone_id` is read-only (HaloPSA answers 201 and leaves it
//! unchanged), and so is a milestone's `tickets` array (the join rows it
//! reports). Membership is written through the project ticket: `POST
//! /api/Projects` with the project's **whole** `milestones` array, each
//! milestone's members in `tickets_list` as `[{"id": ticket}]`. The array
//! replaces the project's list: a milestone left out is deleted, and a field
//! left off an included milestone is blanked. So the list posted back is the
//! one just read, every field kept, with `tickets_list` rebuilt from the
//! membership read (see `fixtures/halopsa/README.md`, section 5).

use crate::wire::value_id;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The id of a milestone row.
pub(crate) fn milestone_id(row: &Value) -> Option<i64> {
    row.get("id").and_then(value_id).filter(|id| *id > 0)
}

/// The tickets a milestone row holds: its `tickets` join rows (by
/// `ticket_id`) and any `tickets_list` entries (by `id`).
pub(crate) fn members(row: &Value) -> BTreeSet<i64> {
    let ids = |key: &str, field: &str| -> Vec<i64> {
        row.get(key)
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|entry| entry.get(field).and_then(value_id))
                    .filter(|id| *id > 0)
                    .collect()
            })
            .unwrap_or_default()
    };
    ids("tickets", "ticket_id")
        .into_iter()
        .chain(ids("tickets_list", "id"))
        .collect()
}

/// The milestone rows to post back whole: every field as read, with
/// `tickets_list` holding each milestone's current members plus those in
/// `add` (milestone id → ticket ids).
pub(crate) fn rows_for_post(rows: &[Value], add: &BTreeMap<i64, Vec<i64>>) -> Vec<Value> {
    rows.iter()
        .map(|row| {
            let mut ids: Vec<i64> = members(row).into_iter().collect();
            if let Some(new) = milestone_id(row).and_then(|id| add.get(&id)) {
                for id in new {
                    if !ids.contains(id) {
                        ids.push(*id);
                    }
                }
            }
            let mut row = row.clone();
            if let Some(obj) = row.as_object_mut() {
                let list: Vec<Value> = ids.into_iter().map(|id| json!({ "id": id })).collect();
                obj.insert("tickets_list".into(), Value::Array(list));
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_come_from_join_rows_and_tickets_list() {
        let row = json!({
            "id": 801,
            "tickets": [{"id": 9001, "milestone_id": 801, "ticket_id": 4322}, {"ticket_id": 0}],
            "tickets_list": [{"id": "4323"}, {"id": 4322.0}]
        });
        assert_eq!(members(&row), [4322, 4323].into());
        assert!(members(&json!({"id": 802, "tickets": null})).is_empty());
    }

    #[test]
    fn rows_are_posted_back_whole_with_members_and_additions() {
        let rows = vec![
            json!({
                "id": 801, "ticket_id": 4321, "name": "Discovery", "sequence": 1,
                "start_date": "2026-01-05T00:00:00", "target_date": null,
                "tickets": [{"id": 9001, "milestone_id": 801, "ticket_id": 4322, "ticket_name": "Audit"}]
            }),
            json!({"id": 802, "name": "Migration", "sequence": 2, "tickets": []}),
        ];
        let add = BTreeMap::from([(802, vec![4324, 4325]), (801, vec![4322])]);
        let out = rows_for_post(&rows, &add);
        assert_eq!(out.len(), 2);
        // Every field read is kept, so nothing is blanked.
        for (before, after) in rows.iter().zip(&out) {
            for (k, v) in before.as_object().unwrap() {
                assert_eq!(&after[k], v, "{k}");
            }
        }
        assert_eq!(out[0]["tickets_list"], json!([{"id": 4322}]));
        assert_eq!(out[1]["tickets_list"], json!([{"id": 4324}, {"id": 4325}]));
        // Nothing to add: the current membership is written back as is.
        let same = rows_for_post(&rows, &BTreeMap::new());
        assert_eq!(same[0]["tickets_list"], json!([{"id": 4322}]));
        assert_eq!(same[1]["tickets_list"], json!([]));
    }

    #[test]
    fn the_fixture_membership_write_is_the_read_list_posted_back() {
        let project: Value = serde_json::from_str(include_str!(
            "../../fixtures/halopsa/project_get_with_milestones.json"
        ))
        .unwrap();
        let write: Value = serde_json::from_str(include_str!(
            "../../fixtures/halopsa/project_update_milestone_membership.json"
        ))
        .unwrap();
        let rows = project["milestones"].as_array().unwrap();
        let add = BTreeMap::from([(802, vec![4323, 4324])]);
        assert_eq!(
            json!([{ "id": project["id"], "milestones": rows_for_post(rows, &add) }]),
            write
        );
    }
}
