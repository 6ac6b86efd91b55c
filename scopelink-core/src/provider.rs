//! Providers scopelink can connect to and the feature categories each supports.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A feature category a connection can enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FeatureCategory {
    /// Companies, contacts and opportunities.
    Crm,
    /// Pushing projects to a professional-services automation tool.
    Psa,
    /// The product catalog.
    Products,
    /// Sending documents for signature.
    ESignature,
    /// Storing documents in the customer's cloud storage.
    FileStorage,
}

impl fmt::Display for FeatureCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FeatureCategory::Crm => "CRM",
            FeatureCategory::Psa => "PSA",
            FeatureCategory::Products => "Products",
            FeatureCategory::ESignature => "E-Signature",
            FeatureCategory::FileStorage => "File Storage",
        })
    }
}

/// A provider a connection talks to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Provider {
    /// ConnectWise Manage (PSA, CRM, Products).
    ConnectWiseManage,
    /// Datto Autotask PSA (CRM, PSA, Products).
    Autotask,
    /// HaloPSA.
    HaloPsa,
    /// Salesforce CRM.
    Salesforce,
    /// HubSpot CRM.
    HubSpot,
    /// Microsoft Dynamics 365 Sales.
    Dynamics365,
    /// DocuSign eSignature.
    DocuSign,
    /// A cloud file store reached through Merge.dev's file-storage API.
    FileStorage {
        /// Merge's integration slug, e.g. `dropbox` or `onedrive`.
        integration: String,
    },
}

impl Provider {
    /// The feature categories this provider can serve.
    pub fn categories(&self) -> BTreeSet<FeatureCategory> {
        use FeatureCategory::*;
        let list: &[FeatureCategory] = match self {
            Provider::ConnectWiseManage => &[Crm, Psa, Products],
            Provider::Autotask => &[Crm, Psa, Products],
            Provider::HaloPsa => &[Crm, Psa],
            Provider::Salesforce | Provider::HubSpot | Provider::Dynamics365 => &[Crm],
            Provider::DocuSign => &[ESignature],
            Provider::FileStorage { .. } => &[FileStorage],
        };
        list.iter().copied().collect()
    }

    /// Whether this provider can serve `category`.
    pub fn supports(&self, category: FeatureCategory) -> bool {
        self.categories().contains(&category)
    }

    /// Whether the provider authenticates with OAuth (authorization code or
    /// client credentials) rather than static API keys.
    pub fn uses_oauth(&self) -> bool {
        matches!(
            self,
            Provider::HaloPsa
                | Provider::Salesforce
                | Provider::HubSpot
                | Provider::Dynamics365
                | Provider::DocuSign
        )
    }

    /// A short, stable, human-readable name.
    pub fn display_name(&self) -> String {
        match self {
            Provider::ConnectWiseManage => "ConnectWise Manage".into(),
            Provider::Autotask => "Autotask".into(),
            Provider::HaloPsa => "HaloPSA".into(),
            Provider::Salesforce => "Salesforce".into(),
            Provider::HubSpot => "HubSpot".into(),
            Provider::Dynamics365 => "Microsoft Dynamics 365".into(),
            Provider::DocuSign => "DocuSign".into(),
            Provider::FileStorage { integration } => format!("File storage ({integration})"),
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_match_the_product_matrix() {
        assert!(Provider::ConnectWiseManage.supports(FeatureCategory::Products));
        assert!(Provider::HaloPsa.supports(FeatureCategory::Psa));
        assert!(!Provider::HaloPsa.supports(FeatureCategory::Products));
        assert!(!Provider::Salesforce.supports(FeatureCategory::Psa));
        assert!(Provider::DocuSign.supports(FeatureCategory::ESignature));
        let files = Provider::FileStorage {
            integration: "dropbox".into(),
        };
        assert_eq!(files.categories().len(), 1);
        assert!(files.supports(FeatureCategory::FileStorage));
    }

    #[test]
    fn oauth_providers() {
        assert!(!Provider::ConnectWiseManage.uses_oauth());
        assert!(!Provider::Autotask.uses_oauth());
        assert!(Provider::HaloPsa.uses_oauth());
        assert!(Provider::HubSpot.uses_oauth());
        assert_eq!(FeatureCategory::ESignature.to_string(), "E-Signature");
    }
}
