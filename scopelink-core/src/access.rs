//! Who may do what: connected-apps permissions, site administration and the
//! account's entitlements.
//!
//! # Example
//!
//! ```
//! use scopelink_core::{Access, AccessError, Entitlements, FeatureCategory, Permission};
//!
//! let viewer = Access::with(Permission::View, Entitlements::of([FeatureCategory::Crm]));
//! assert!(viewer.require(Permission::View).is_ok());
//! assert!(matches!(
//!     viewer.require(Permission::Manage),
//!     Err(AccessError::MissingPermission { required: Permission::Manage })
//! ));
//! assert!(viewer.require_entitled(&[FeatureCategory::Crm]).is_ok());
//! assert!(viewer.require_entitled(&[FeatureCategory::Psa]).is_err());
//! assert!(viewer.require_site_admin().is_err());
//!
//! let manager = Access::with(Permission::Manage, Entitlements::of([FeatureCategory::Crm]));
//! assert!(manager.require(Permission::View).is_ok()); // Manage implies View
//! ```

use crate::error::AccessError;
use crate::provider::FeatureCategory;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A permission on connected apps. `Manage` includes `View`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// List connections and read their status.
    View,
    /// Add, edit, disable, enable, reconnect and delete connections, and run syncs.
    Manage,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Permission::View => "View",
            Permission::Manage => "Manage",
        })
    }
}

/// The categories the account's plan allows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entitlements(pub BTreeSet<FeatureCategory>);

impl Entitlements {
    /// Entitlements to the given categories.
    pub fn of(categories: impl IntoIterator<Item = FeatureCategory>) -> Self {
        Self(categories.into_iter().collect())
    }

    /// Whether the account may enable `category`.
    pub fn includes(&self, category: FeatureCategory) -> bool {
        self.0.contains(&category)
    }
}

/// The caller of an operation, as the host application knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The caller's connected-apps permission, if any.
    pub connected_apps: Option<Permission>,
    /// Whether the caller is a site administrator.
    pub site_admin: bool,
    /// The account's entitlements.
    pub entitlements: Entitlements,
}

impl Access {
    /// A caller with `Manage`, site admin, entitled to everything (tests, examples, jobs).
    pub fn full() -> Self {
        use FeatureCategory::*;
        Self {
            connected_apps: Some(Permission::Manage),
            site_admin: true,
            entitlements: Entitlements::of([Crm, Psa, Products, ESignature, FileStorage]),
        }
    }

    /// A caller holding `permission` with the given entitlements.
    pub fn with(permission: Permission, entitlements: Entitlements) -> Self {
        Self {
            connected_apps: Some(permission),
            site_admin: false,
            entitlements,
        }
    }

    /// Succeeds when the caller holds `required` (Manage implies View).
    pub fn require(&self, required: Permission) -> Result<(), AccessError> {
        match self.connected_apps {
            Some(held) if held >= required => Ok(()),
            _ => Err(AccessError::MissingPermission { required }),
        }
    }

    /// Succeeds when the caller is a site administrator.
    pub fn require_site_admin(&self) -> Result<(), AccessError> {
        if self.site_admin {
            Ok(())
        } else {
            Err(AccessError::NotSiteAdmin)
        }
    }

    /// Succeeds when the account may enable every category in `categories`.
    pub fn require_entitled<'a>(
        &self,
        categories: impl IntoIterator<Item = &'a FeatureCategory>,
    ) -> Result<(), AccessError> {
        for category in categories {
            if !self.entitlements.includes(*category) {
                return Err(AccessError::NotEntitled {
                    category: *category,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manage_implies_view() {
        let a = Access::with(Permission::Manage, Entitlements::default());
        assert!(a.require(Permission::View).is_ok());
        assert!(a.require(Permission::Manage).is_ok());
    }

    #[test]
    fn view_cannot_manage() {
        let a = Access::with(Permission::View, Entitlements::default());
        assert!(a.require(Permission::View).is_ok());
        let err = a.require(Permission::Manage).unwrap_err();
        assert_eq!(
            err,
            AccessError::MissingPermission {
                required: Permission::Manage
            }
        );
        assert!(err.to_string().contains("Manage"));
    }

    #[test]
    fn no_permission_cannot_view() {
        assert!(Access::default().require(Permission::View).is_err());
    }

    #[test]
    fn activity_log_is_for_site_admins() {
        let mut a = Access::with(Permission::Manage, Entitlements::default());
        assert_eq!(a.require_site_admin(), Err(AccessError::NotSiteAdmin));
        a.site_admin = true;
        assert!(a.require_site_admin().is_ok());
    }

    #[test]
    fn entitlements_gate_categories() {
        let a = Access::with(Permission::Manage, Entitlements::of([FeatureCategory::Crm]));
        assert!(a.require_entitled(&[FeatureCategory::Crm]).is_ok());
        assert_eq!(
            a.require_entitled(&[FeatureCategory::Crm, FeatureCategory::Psa]),
            Err(AccessError::NotEntitled {
                category: FeatureCategory::Psa
            })
        );
    }
}
