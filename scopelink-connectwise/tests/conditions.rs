//! The `conditions` / `childConditions` strings for filters, incremental
//! runs and hostile names.

use chrono::{TimeZone, Utc};
use scopelink_connectwise::{build_child_conditions, build_conditions};
use scopelink_core::filter::{FilterOption, SyncFilter};

fn opts(items: &[(&str, &str)]) -> std::collections::BTreeSet<FilterOption> {
    items
        .iter()
        .map(|(i, n)| FilterOption::new(*i, *n))
        .collect()
}

#[test]
fn conditions_snapshot() {
    let since = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let cases: Vec<(&str, SyncFilter, Option<chrono::DateTime<Utc>>)> = vec![
        ("everything", SyncFilter::default(), None),
        ("incremental only", SyncFilter::default(), Some(since)),
        (
            "statuses and types by id",
            SyncFilter {
                statuses: opts(&[("1", "Active"), ("3", "Credit Hold")]),
                company_types: opts(&[("1", "Client"), ("5", "Managed Services")]),
                ..SyncFilter::default()
            },
            None,
        ),
        (
            "every filter, incremental",
            SyncFilter {
                statuses: opts(&[("1", "Active")]),
                territories: opts(&[("12", "West Region"), ("11", "East Region")]),
                markets: opts(&[("3", "Healthcare")]),
                company_types: opts(&[("5", "Managed Services")]),
            },
            Some(since),
        ),
        (
            "names without ids, and hostile quotes",
            SyncFilter {
                markets: opts(&[
                    ("", "Legal"),
                    ("", "Health & Care"),
                    ("", "x\" or name != \""),
                    ("", "back\\slash"),
                    ("", "[bracket]"),
                ]),
                company_types: opts(&[("client", "Client"), ("", "O\"Neill Partners")]),
                ..SyncFilter::default()
            },
            None,
        ),
    ];
    let rendered: Vec<String> = cases
        .iter()
        .map(|(name, filter, since)| {
            format!(
                "{name}\n  conditions:      {}\n  childConditions: {}",
                build_conditions(filter, *since),
                build_child_conditions(filter)
            )
        })
        .collect();
    let text = rendered.join("\n");
    // No quoted literal is ever left open: quotes pair up on every line.
    for line in text.lines() {
        assert_eq!(line.matches('"').count() % 2, 0, "{line}");
        assert!(!line.contains("\\\""), "{line}");
    }
    insta::assert_snapshot!("conditions", text);
}
