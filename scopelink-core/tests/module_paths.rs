//! Public module paths kept working after a rename.

use std::any::TypeId;

#[test]
#[allow(deprecated)]
fn the_former_lifecycle_module_names_the_same_connection_service() {
    use scopelink_core::{connections, lifecycle};
    assert_eq!(
        TypeId::of::<lifecycle::Connections>(),
        TypeId::of::<connections::Connections>()
    );
    assert_eq!(
        TypeId::of::<lifecycle::NewConnection>(),
        TypeId::of::<scopelink_core::NewConnection>()
    );
    assert_eq!(
        TypeId::of::<lifecycle::ConnectionEvent>(),
        TypeId::of::<scopelink_core::ConnectionEvent>()
    );
}
