//! Sync filters, the options a provider offers for them, and the preview.
//!
//! # Example
//!
//! ```
//! use scopelink_core::filter::{FilterOption, SyncFilter};
//!
//! let mut filter = SyncFilter::default();
//! assert!(filter.is_empty()); // an empty filter syncs everything
//! filter.statuses.insert(FilterOption::new("1", "Active"));
//! filter.company_types.insert(FilterOption::new("5", "Client"));
//!
//! // Options match by name (any case) or by id.
//! assert!(filter.matches(&["client", "Vendor"], Some("Active"), None, None));
//! assert!(filter.matches(&["5"], Some("1"), None, None));
//! assert!(!filter.matches(&["Prospect"], Some("Active"), None, None));
//! assert!(!filter.matches(&["Client"], None, None, None));
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One choice a provider offers for a filter (a company type, a status, ...).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FilterOption {
    /// The provider's id.
    pub id: String,
    /// The name users see.
    pub name: String,
}

impl FilterOption {
    /// An option with the given id and name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
        }
    }
}

/// The filter choices discovered from a provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterOptions {
    /// Company types.
    pub company_types: Vec<FilterOption>,
    /// Company statuses.
    pub statuses: Vec<FilterOption>,
    /// Territories.
    pub territories: Vec<FilterOption>,
    /// Markets.
    pub markets: Vec<FilterOption>,
}

/// Which companies to sync. Each set narrows the companies to those matching
/// one of its options; an empty set does not narrow, so an empty filter means
/// everything. Contacts and opportunities follow their companies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncFilter {
    /// Company types.
    pub company_types: BTreeSet<FilterOption>,
    /// Company statuses.
    pub statuses: BTreeSet<FilterOption>,
    /// Territories.
    pub territories: BTreeSet<FilterOption>,
    /// Markets.
    pub markets: BTreeSet<FilterOption>,
}

impl SyncFilter {
    /// Whether the filter lets everything through.
    pub fn is_empty(&self) -> bool {
        self.company_types.is_empty()
            && self.statuses.is_empty()
            && self.territories.is_empty()
            && self.markets.is_empty()
    }

    /// Whether a company with these attributes passes the filter, matching
    /// options by name (case-insensitive) or id. For connectors that cannot
    /// filter server-side and for simulators.
    pub fn matches(
        &self,
        types: &[&str],
        status: Option<&str>,
        territory: Option<&str>,
        market: Option<&str>,
    ) -> bool {
        fn hit(set: &BTreeSet<FilterOption>, value: Option<&str>) -> bool {
            set.is_empty()
                || value.is_some_and(|v| {
                    set.iter()
                        .any(|o| o.id == v || o.name.eq_ignore_ascii_case(v))
                })
        }
        (self.company_types.is_empty() || types.iter().any(|t| hit(&self.company_types, Some(t))))
            && hit(&self.statuses, status)
            && hit(&self.territories, territory)
            && hit(&self.markets, market)
    }
}

/// How much a filter would sync, shown before committing to it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// Companies that match.
    pub companies: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_filter_means_everything() {
        let f = SyncFilter::default();
        assert!(f.is_empty());
        assert!(f.matches(&[], None, None, None));
    }

    #[test]
    fn sets_narrow_and_combine_with_and() {
        let mut f = SyncFilter::default();
        f.company_types.insert(FilterOption::new("1", "Client"));
        f.statuses.insert(FilterOption::new("1", "Active"));
        assert!(!f.is_empty());
        assert!(f.matches(&["Prospect", "client"], Some("Active"), None, None));
        assert!(!f.matches(&["Prospect"], Some("Active"), None, None));
        assert!(!f.matches(&["Client"], Some("Inactive"), None, None));
        assert!(!f.matches(&["Client"], None, None, None));
        assert!(f.matches(&["1"], Some("1"), Some("East"), None));
    }

    #[test]
    fn territory_and_market_filters() {
        let mut f = SyncFilter::default();
        f.territories.insert(FilterOption::new("5", "East"));
        f.markets.insert(FilterOption::new("2", "Healthcare"));
        assert!(f.matches(&[], None, Some("East"), Some("healthcare")));
        assert!(!f.matches(&[], None, Some("West"), Some("Healthcare")));
        assert!(!f.matches(&[], None, Some("East"), None));
    }
}
