//! What a Rust team checks before depending on scopelink: the claimed
//! minimum Rust version (MSRV) really covers the locked dependency tree,
//! and the crates meant for crates.io carry what crates.io shows.
//!
//! Both read `cargo metadata` for this workspace (`.ci/run` runs this file
//! on its own, early). The MSRV check reads every package of `Cargo.lock`,
//! for every platform, so it may download manifests of crates not built
//! here (crates.io must be reachable, or their `.crate` files cached).

use serde_json::Value;
use std::path::Path;
use std::process::Command;

use scopelink_reliability::PUBLISHED_CRATES as PUBLISHED;

/// `cargo metadata` of the workspace, with `extra` arguments.
fn metadata(extra: &[&str]) -> Value {
    let cargo = std::env::var("CARGO")
        .ok()
        .or_else(|| option_env!("CARGO").map(str::to_string))
        .unwrap_or_else(|| "cargo".to_string());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace");
    let out = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(extra)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// A Rust version as (major, minor, patch); `1.85` is `1.85.0`.
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u64>()
            .unwrap_or_else(|_| panic!("not a Rust version: {text}"))
    });
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    (major, minor, patch)
}

/// The oldest compiler that knows `edition`.
fn edition_needs(edition: &str) -> (u64, u64, u64) {
    match edition {
        "2015" => (1, 0, 0),
        "2018" => (1, 31, 0),
        "2021" => (1, 56, 0),
        "2024" => (1, 85, 0),
        other => panic!("unknown edition {other}: add the Rust version that introduced it"),
    }
}

fn str_field<'a>(package: &'a Value, field: &str) -> Option<&'a str> {
    package.get(field).and_then(Value::as_str)
}

fn workspace_members(meta: &Value) -> Vec<&Value> {
    let ids: Vec<&str> = meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| str_field(p, "id").is_some_and(|id| ids.contains(&id)))
        .collect()
}

#[test]
fn every_locked_dependency_builds_with_the_claimed_rust_version() {
    let meta = metadata(&[]);
    let members = workspace_members(&meta);
    let claimed = str_field(members[0], "rust_version").expect("the workspace claims an MSRV");
    for m in &members {
        assert_eq!(
            str_field(m, "rust_version"),
            Some(claimed),
            "{} must inherit the workspace's rust-version",
            str_field(m, "name").unwrap_or("?")
        );
    }
    let msrv = version(claimed);

    let packages = meta["packages"].as_array().expect("packages");
    let mut too_new = Vec::new();
    for p in packages {
        let name = str_field(p, "name").unwrap_or("?");
        let ver = str_field(p, "version").unwrap_or("?");
        if let Some(needs) = str_field(p, "rust_version") {
            if version(needs) > msrv {
                too_new.push(format!("{name} {ver} needs Rust {needs}"));
            }
        }
        if let Some(edition) = str_field(p, "edition") {
            if edition_needs(edition) > msrv {
                too_new.push(format!("{name} {ver} uses edition {edition}"));
            }
        }
    }
    // The lock holds far more than the workspace: a near-empty list means
    // cargo metadata did not read it.
    assert!(
        packages.len() > 100,
        "only {} packages read from Cargo.lock",
        packages.len()
    );
    assert!(
        too_new.is_empty(),
        "Cargo.lock holds crates newer than the claimed MSRV {claimed}:\n  {}\n\
         Re-resolve with the MSRV-aware resolver (`resolver = \"3\"`): \
         `cargo update -p <crate>` picks the newest version that builds on {claimed}; \
         or raise `rust-version` in the root Cargo.toml and say why.",
        too_new.join("\n  ")
    );
}

#[test]
fn published_crates_carry_what_crates_io_shows() {
    let meta = metadata(&["--no-deps"]);
    for m in workspace_members(&meta) {
        let name = str_field(m, "name").unwrap_or("?");
        // `publish = false` shows as an empty list of registries.
        let published = m["publish"].is_null();
        assert_eq!(
            published,
            PUBLISHED.contains(&name),
            "{name}: only {PUBLISHED:?} are published; every other crate needs `publish = false`"
        );
        if !published {
            continue;
        }
        for field in ["description", "license", "repository", "documentation"] {
            assert!(
                str_field(m, field).is_some_and(|v| !v.trim().is_empty()),
                "{name} has no {field}"
            );
        }
        assert_eq!(str_field(m, "license"), Some("Apache-2.0"), "{name}");
        let readme = str_field(m, "readme").unwrap_or_else(|| panic!("{name} has no readme"));
        let manifest = Path::new(str_field(m, "manifest_path").expect("manifest_path"));
        let readme_path = manifest.parent().expect("crate dir").join(readme);
        assert!(readme_path.is_file(), "{name}: readme {readme} missing");
        // Apache-2.0 asks for the license text to travel with the code:
        // each published crate's directory holds it (a link to the root's).
        let license = manifest.parent().expect("crate dir").join("LICENSE");
        assert_eq!(
            std::fs::read_to_string(&license).ok(),
            std::fs::read_to_string(
                manifest
                    .parent()
                    .and_then(Path::parent)
                    .expect("root")
                    .join("LICENSE")
            )
            .ok(),
            "{name}: its directory must hold the workspace's LICENSE"
        );
        for field in ["keywords", "categories"] {
            let list = m[field].as_array().map(Vec::len).unwrap_or(0);
            assert!(
                (1..=5).contains(&list),
                "{name}: {field} must hold 1 to 5 entries (crates.io's limit), holds {list}"
            );
        }
        for dep in m["dependencies"].as_array().expect("dependencies") {
            let dep_name = str_field(dep, "name").unwrap_or("?");
            let is_dev = str_field(dep, "kind") == Some("dev");
            if dep.get("path").is_some_and(|p| !p.is_null()) && !is_dev {
                assert_ne!(
                    str_field(dep, "req"),
                    Some("*"),
                    "{name} depends on {dep_name} by path only: crates.io needs a version too"
                );
                assert!(
                    PUBLISHED.contains(&dep_name),
                    "{name} depends on the unpublished {dep_name}"
                );
            }
        }
    }
}

#[test]
fn the_license_file_is_the_declared_license() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let text = std::fs::read_to_string(root.join("LICENSE")).expect("LICENSE at the root");
    assert!(text.contains("Apache License"), "LICENSE is not Apache");
    assert!(
        text.contains("Version 2.0, January 2004"),
        "LICENSE is not 2.0"
    );
}
