//! The query API: `{Entity}/query` and `{Entity}/query/count`, the filter
//! grammar, `IncludeFields`, `MaxRecords` and keyset paging.

use super::*;

impl State {
    pub(super) fn query(
        &mut self,
        _req: &Request,
        _def: &EntityDef,
        _method: &str,
        _count: bool,
    ) -> Out {
        errors(500, "not yet simulated")
    }

    pub(super) fn children(&mut self, _def: &EntityDef, _parent: i64) -> Out {
        errors(500, "not yet simulated")
    }
}
