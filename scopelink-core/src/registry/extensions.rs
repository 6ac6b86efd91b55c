//! [`Extensions`]: the provider-specific handles a factory attaches to the
//! connection it builds (its concrete connector, typically), one per type,
//! handed back to the host by type through
//! [`LiveConnection::extension`](super::LiveConnection::extension).

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One value per type, shared (`Arc`), with the type's name for `Debug`.
#[derive(Clone, Default)]
pub(crate) struct Extensions {
    entries: BTreeMap<TypeId, Entry>,
}

#[derive(Clone)]
struct Entry {
    name: &'static str,
    value: Arc<dyn Any + Send + Sync>,
}

impl Extensions {
    /// Attaches `value`, replacing an earlier value of the same type.
    pub(crate) fn insert<T: Any + Send + Sync>(&mut self, value: Arc<T>) {
        self.entries.insert(
            TypeId::of::<T>(),
            Entry {
                name: std::any::type_name::<T>(),
                value,
            },
        );
    }

    /// The value of type `T`, if one was attached.
    pub(crate) fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let entry = self.entries.get(&TypeId::of::<T>())?;
        Arc::clone(&entry.value).downcast::<T>().ok()
    }

    /// The names of the attached types (for `Debug`: types, never values).
    pub(crate) fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.entries.values().map(|e| e.name).collect();
        names.sort_unstable();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::Extensions;
    use std::sync::Arc;

    struct Quota(u32);

    #[test]
    fn gives_back_the_same_value_by_type_and_nothing_for_other_types() {
        let mut extensions = Extensions::default();
        assert!(extensions.get::<Quota>().is_none());
        let quota = Arc::new(Quota(7));
        extensions.insert(quota.clone());
        let back = extensions.get::<Quota>().expect("attached");
        assert!(Arc::ptr_eq(&back, &quota), "the same shared value");
        assert_eq!(back.0, 7);
        assert!(extensions.get::<String>().is_none());
        assert!(
            extensions.get::<Arc<Quota>>().is_none(),
            "asked by the type itself, not its Arc"
        );

        extensions.insert(Arc::new(Quota(8)));
        assert_eq!(extensions.get::<Quota>().map(|q| q.0), Some(8), "replaced");
        extensions.insert(Arc::new(String::from("tenant")));
        assert_eq!(extensions.names().len(), 2);
        assert!(extensions.names().iter().any(|n| n.ends_with("Quota")));
    }
}
