//! Building ConnectWise `conditions` and `childConditions` query values.
//!
//! The grammar (ConnectWise Developer Guide, "Query String Parameters"):
//! strings in double quotes, integers bare, datetimes in square brackets
//! (`lastUpdated >= [2024-01-01T00:00:00Z]`), lists as `field in (1, 2)`,
//! reference fields with `/` (`status/id`), and `and`/`or` with parentheses.
//! Array fields such as a company's `types` can only be filtered with
//! `childConditions`, whose operators are `= != < <= > >= contains like
//! not`: no `in`, so a set of types is written `types/id=1 or types/id=5`.
//!
//! # Quoting
//!
//! ConnectWise documents no escape for a `"` inside a quoted string, and a
//! backslash escape is unverified. Values therefore never carry a `"` or a
//! `\` into a quoted literal: a value containing either (or a control
//! character) is matched with `like` instead, each such character replaced
//! by the `*` wildcard and a literal `[` written `[[]` as the guide shows.
//! The value cannot break out of its quotes; the price is that such a value
//! may also match names differing only at those characters. Filter options
//! carry numeric ids, which are always preferred and need no quoting.
//!
//! The `lastUpdated` condition uses `>=` on purpose: records changed in the
//! same second as the cursor are fetched again, and the engine's upsert
//! reports them as unchanged.

use chrono::{DateTime, SecondsFormat, Utc};
use scopelink_core::filter::{FilterOption, SyncFilter};
use std::collections::BTreeSet;

/// The `conditions` value for a company stream (or, with an empty filter,
/// any stream) restricted by `filter` and changed at or after `since`.
/// Empty when nothing restricts.
///
/// Company types are not in it: they are an array field, see
/// [`build_child_conditions`].
pub fn build_conditions(filter: &SyncFilter, since: Option<DateTime<Utc>>) -> String {
    let mut parts = Vec::new();
    if let Some(c) = set_condition("status", &filter.statuses) {
        parts.push(c);
    }
    if let Some(c) = set_condition("territory", &filter.territories) {
        parts.push(c);
    }
    if let Some(c) = set_condition("market", &filter.markets) {
        parts.push(c);
    }
    if let Some(since) = since {
        parts.push(since_condition(since));
    }
    parts.join(" and ")
}

/// The `childConditions` value for the company types of `filter`
/// (`types/id=1 or types/id=5`: `childConditions` has no `in` operator);
/// empty when the filter has no types.
pub fn build_child_conditions(filter: &SyncFilter) -> String {
    set_alternatives("types", &filter.company_types, Form::Child)
        .map(|alternatives| alternatives.join(" or "))
        .unwrap_or_default()
}

/// `lastUpdated >= [YYYY-MM-DDTHH:MM:SSZ]`.
pub fn since_condition(since: DateTime<Utc>) -> String {
    format!(
        "lastUpdated >= [{}]",
        since.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

/// Whether an option id is a ConnectWise record id (a plain integer).
fn numeric_id(id: &str) -> Option<i64> {
    let id = id.trim();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

/// `field/id in (..)` for options with numeric ids, `field/name ...` for the
/// others, joined with `or` (in parentheses) when both kinds are present.
fn set_condition(field: &str, options: &BTreeSet<FilterOption>) -> Option<String> {
    let mut alternatives = set_alternatives(field, options, Form::Conditions)?;
    Some(if alternatives.len() == 1 {
        alternatives.remove(0)
    } else {
        format!("({})", alternatives.join(" or "))
    })
}

/// Which parameter a condition is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `conditions`: lists with `in`.
    Conditions,
    /// `childConditions`: no `in`, one `=` per value.
    Child,
}

/// The alternatives (to be joined with `or`) matching any of `options`.
fn set_alternatives(
    field: &str,
    options: &BTreeSet<FilterOption>,
    form: Form,
) -> Option<Vec<String>> {
    if options.is_empty() {
        return None;
    }
    let mut ids: Vec<i64> = Vec::new();
    let mut plain: Vec<String> = Vec::new();
    let mut patterns: Vec<String> = Vec::new();
    for option in options {
        if let Some(id) = numeric_id(&option.id) {
            ids.push(id);
        } else {
            let name = option.name.trim();
            match quote_literal(name) {
                Literal::Quoted(q) => plain.push(q),
                Literal::Like(p) => patterns.push(p),
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    let mut alternatives = Vec::new();
    if form == Form::Child {
        alternatives.extend(ids.iter().map(|id| format!("{field}/id={id}")));
        alternatives.extend(plain.iter().map(|q| format!("{field}/name = {q}")));
        alternatives.extend(patterns.iter().map(|p| format!("{field}/name like {p}")));
        return Some(alternatives);
    }
    if !ids.is_empty() {
        let list = ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        alternatives.push(format!("{field}/id in ({list})"));
    }
    if !plain.is_empty() {
        if plain.len() == 1 {
            alternatives.push(format!("{field}/name = {}", plain[0]));
        } else {
            alternatives.push(format!("{field}/name in ({})", plain.join(", ")));
        }
    }
    for p in patterns {
        alternatives.push(format!("{field}/name like {p}"));
    }
    Some(alternatives)
}

/// A string value as it may appear in a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal {
    /// Safe to compare with `=` / `in`: the quoted literal.
    Quoted(String),
    /// Must be compared with `like`: the quoted pattern.
    Like(String),
}

/// Quotes `value` for a condition (see the module docs for the rules).
pub fn quote_literal(value: &str) -> Literal {
    let unsafe_char = |c: char| c == '"' || c == '\\' || c.is_control();
    if !value.chars().any(unsafe_char) {
        return Literal::Quoted(format!("\"{value}\""));
    }
    let mut pattern = String::with_capacity(value.len() + 2);
    pattern.push('"');
    for c in value.chars() {
        if unsafe_char(c) {
            if !pattern.ends_with('*') {
                pattern.push('*');
            }
        } else if c == '[' {
            pattern.push_str("[[]");
        } else {
            pattern.push(c);
        }
    }
    pattern.push('"');
    Literal::Like(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn set(options: &[(&str, &str)]) -> BTreeSet<FilterOption> {
        options
            .iter()
            .map(|(id, name)| FilterOption::new(*id, *name))
            .collect()
    }

    #[test]
    fn empty_filter_and_no_since_is_empty() {
        assert_eq!(build_conditions(&SyncFilter::default(), None), "");
        assert_eq!(build_child_conditions(&SyncFilter::default()), "");
    }

    #[test]
    fn ids_are_sorted_and_bare() {
        let filter = SyncFilter {
            statuses: set(&[("3", "Credit Hold"), ("1", "Active")]),
            territories: set(&[("11", "East Region")]),
            markets: set(&[("7", "Transportation"), ("3", "Healthcare")]),
            company_types: set(&[("5", "Managed Services"), ("1", "Client")]),
        };
        let since = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            build_conditions(&filter, Some(since)),
            "status/id in (1, 3) and territory/id in (11) and market/id in (3, 7) and lastUpdated >= [2024-01-01T00:00:00Z]"
        );
        assert_eq!(build_child_conditions(&filter), "types/id=1 or types/id=5");
    }

    #[test]
    fn child_conditions_never_use_in() {
        let filter = SyncFilter {
            company_types: set(&[
                ("5", "Managed Services"),
                ("1", "Client"),
                ("partner", "Partner"),
                ("x", "Odd\"Type"),
            ]),
            ..SyncFilter::default()
        };
        let c = build_child_conditions(&filter);
        assert_eq!(
            c,
            "types/id=1 or types/id=5 or types/name = \"Partner\" or types/name like \"Odd*Type\""
        );
        assert!(!c.contains(" in "), "{c}");
        let one = SyncFilter {
            company_types: set(&[("7", "Vendor")]),
            ..SyncFilter::default()
        };
        assert_eq!(build_child_conditions(&one), "types/id=7");
    }

    #[test]
    fn names_are_quoted_and_quotes_never_pass_through() {
        assert_eq!(
            quote_literal("Healthcare"),
            Literal::Quoted("\"Healthcare\"".into())
        );
        assert_eq!(
            quote_literal("O\"Neill\" and 1=1 or name=\""),
            Literal::Like("\"O*Neill* and 1=1 or name=*\"".into())
        );
        assert_eq!(quote_literal("a\\"), Literal::Like("\"a*\"".into()));
        assert_eq!(quote_literal("x\"[y]"), Literal::Like("\"x*[[]y]\"".into()));
        let filter = SyncFilter {
            markets: set(&[("legal", "Legal"), ("x", "Bad\"Name"), ("4", "Legal")]),
            ..SyncFilter::default()
        };
        let c = build_conditions(&filter, None);
        assert_eq!(
            c,
            "(market/id in (4) or market/name = \"Legal\" or market/name like \"Bad*Name\")"
        );
        // Every quote opened is closed: an even number of quotes.
        assert_eq!(c.matches('"').count() % 2, 0);
    }
}
