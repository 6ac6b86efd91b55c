//! Reads by id and writes: `POST` create, `PATCH` / `PUT` update with the id
//! in the body, `DELETE`, at an entity's root or its parent's child URL.

use super::*;

impl State {
    pub(super) fn get_item(&mut self, def: &EntityDef, id: &str, parent: Option<i64>) -> Out {
        let row = id
            .parse::<i64>()
            .ok()
            .and_then(|id| self.tables.get(def.name).and_then(|t| t.get(&id)))
            .filter(|row| match (parent, def.child_of) {
                (Some(p), Some(c)) => row.get(c.parent_field).and_then(id_of) == Some(p),
                _ => true,
            });
        match row {
            Some(row) => ok(json!({ "item": row })),
            None => (404, None),
        }
    }

    pub(super) fn create(
        &mut self,
        _req: &Request,
        _def: &'static EntityDef,
        _parent: Option<i64>,
    ) -> Out {
        errors(500, "not yet simulated")
    }

    pub(super) fn update(
        &mut self,
        _req: &Request,
        _def: &'static EntityDef,
        _parent: Option<i64>,
        _replace: bool,
    ) -> Out {
        errors(500, "not yet simulated")
    }

    pub(super) fn delete(
        &mut self,
        _def: &'static EntityDef,
        _id: &str,
        _parent: Option<i64>,
    ) -> Out {
        errors(500, "not yet simulated")
    }
}
