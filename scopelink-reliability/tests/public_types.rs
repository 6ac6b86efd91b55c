//! The published crates' public items speak the SDK's own types, not
//! reqwest's or the `http` crate's: a host never needs reqwest in its own
//! `Cargo.toml` to build a request, read a response's headers or match an
//! error, and a reqwest upgrade is not a breaking change of scopelink.
//!
//! A source scan: every `pub` item of the published crates' `src` (a
//! `pub fn` with its whole signature, any other `pub` line as written,
//! without a tuple struct's private fields or a constant's value) must not
//! name a reqwest or `http` crate type. Items inside `pub(crate)` or private
//! modules are scanned too, which is stricter than needed.

use std::path::{Path, PathBuf};

use scopelink_reliability::PUBLISHED_CRATES as PUBLISHED;

/// Type names that belong to reqwest or the `http` crate.
const FOREIGN: [&str; 5] = [
    "reqwest",
    "HeaderMap",
    "HeaderName",
    "HeaderValue",
    "StatusCode",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The public signature starting at `lines[i]`, if that line starts a
/// `pub` item (not `pub(crate)`, `pub(super)`).
fn public_signature(lines: &[&str], i: usize) -> Option<String> {
    let first = lines[i].trim();
    if !first.starts_with("pub ") {
        return None;
    }
    let mut sig = first.to_string();
    let is_fn = ["pub fn ", "pub async fn ", "pub const fn "]
        .iter()
        .any(|p| first.starts_with(p));
    if is_fn {
        let mut j = i;
        while !lines[j].contains('{') && !lines[j].contains(';') && j + 1 < lines.len() {
            j += 1;
            sig.push(' ');
            sig.push_str(lines[j].trim());
        }
        sig = sig.split('{').next().unwrap_or_default().to_string();
    } else if first.starts_with("pub const ") || first.starts_with("pub static ") {
        sig = sig.split('=').next().unwrap_or_default().to_string();
    } else if first.starts_with("pub struct ") && first.contains('(') && !first.contains("(pub") {
        sig = sig.split('(').next().unwrap_or_default().to_string();
    }
    Some(sig)
}

/// The foreign type `sig` names, if any. `http::` counts only as a path's
/// first segment (`scopelink_core::http::Request` is the SDK's).
fn foreign_type(sig: &str) -> Option<String> {
    let words: Vec<&str> = sig
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| !w.is_empty())
        .collect();
    for word in words {
        for segment in word.split("::") {
            if FOREIGN.contains(&segment) {
                return Some(word.to_string());
            }
        }
        if word.starts_with("http::") {
            return Some(word.to_string());
        }
    }
    None
}

#[test]
fn published_public_items_name_no_reqwest_or_http_types() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace");
    let mut found = Vec::new();
    let mut scanned = 0;
    for krate in PUBLISHED {
        let mut files = Vec::new();
        rust_files(&root.join(krate).join("src"), &mut files);
        assert!(!files.is_empty(), "{krate} has sources");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("utf-8 source");
            let lines: Vec<&str> = text.lines().collect();
            for i in 0..lines.len() {
                if let Some(sig) = public_signature(&lines, i) {
                    scanned += 1;
                    if let Some(name) = foreign_type(&sig) {
                        found.push(format!(
                            "{}:{}: `{name}` in `{sig}`",
                            file.strip_prefix(root).unwrap_or(&file).display(),
                            i + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(scanned > 500, "only {scanned} public items scanned");
    assert!(
        found.is_empty(),
        "public items that name reqwest/http types (use scopelink_core::http::{{Headers, Method}} instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_sees_what_it_must_refuse() {
    let lines = [
        "pub fn next_link(",
        "    headers: &reqwest::header::HeaderMap,",
        ") -> Option<String> {",
    ];
    let sig = public_signature(&lines, 0).expect("a pub fn");
    assert_eq!(
        foreign_type(&sig).as_deref(),
        Some("reqwest::header::HeaderMap")
    );
    let field = ["    pub headers: HeaderMap,"];
    assert_eq!(
        foreign_type(&public_signature(&field, 0).unwrap()).as_deref(),
        Some("HeaderMap")
    );
    let reexport = ["pub use http::StatusCode;"];
    assert!(foreign_type(&public_signature(&reexport, 0).unwrap()).is_some());
    // What is allowed: the SDK's own paths, private tuple fields, values,
    // and restricted visibility.
    for ok in [
        "pub use scopelink_core::http::HttpClient;",
        "pub struct Method(reqwest::Method);",
        "pub const GET: Method = Method(reqwest::Method::GET);",
    ] {
        let sig = public_signature(&[ok], 0).unwrap();
        assert_eq!(foreign_type(&sig), None, "{ok}");
    }
    assert_eq!(
        public_signature(&["pub(crate) fn f(h: &HeaderMap) {"], 0),
        None
    );
}
