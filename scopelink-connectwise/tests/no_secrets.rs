//! No snapshot holds a credential.

mod common;

use common::{assert_no_secret, PRIVATE_KEY};

#[test]
fn snapshots_hold_no_secret() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("snapshots exist") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_no_secret(&text);
        assert!(!text.to_lowercase().contains(&PRIVATE_KEY.to_lowercase()));
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} snapshots found");
}
