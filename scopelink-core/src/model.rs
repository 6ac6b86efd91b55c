//! Canonical records synced from providers, and the scoping project with the
//! PSA plan it becomes.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::provider::FeatureCategory;

/// The kinds of records a sync brings in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DataType {
    /// Companies (accounts, clients).
    Companies,
    /// Contacts of companies.
    Contacts,
    /// Sales opportunities (deals).
    Opportunities,
    /// Configurations (assets) of companies.
    Configurations,
    /// Product catalog items.
    CatalogItems,
}

impl DataType {
    /// Every data type, in the order a sync runs them: companies first, as
    /// the others attach to companies.
    pub const SYNC_ORDER: [DataType; 5] = [
        DataType::Companies,
        DataType::Contacts,
        DataType::Opportunities,
        DataType::Configurations,
        DataType::CatalogItems,
    ];

    /// Sorts and deduplicates data types into sync order.
    pub fn in_sync_order(types: &[DataType]) -> Vec<DataType> {
        Self::SYNC_ORDER
            .iter()
            .copied()
            .filter(|t| types.contains(t))
            .collect()
    }

    /// Whether records of this type must belong to an already synced company.
    pub fn needs_company(self) -> bool {
        matches!(
            self,
            DataType::Contacts | DataType::Opportunities | DataType::Configurations
        )
    }

    /// The feature category that must be enabled to sync this type.
    pub fn category(self) -> FeatureCategory {
        match self {
            DataType::CatalogItems => FeatureCategory::Products,
            _ => FeatureCategory::Crm,
        }
    }

    /// A stable lower-case name (`companies`, `catalog_items`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Companies => "companies",
            DataType::Contacts => "contacts",
            DataType::Opportunities => "opportunities",
            DataType::Configurations => "configurations",
            DataType::CatalogItems => "catalog_items",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest text field a synced record may have, in bytes (64 KiB).
/// Provider names, e-mail addresses and descriptions are far shorter; a
/// longer field is a broken or hostile payload, and the record is skipped
/// with the reason instead of being stored.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Street lines.
    pub lines: Vec<String>,
    /// City.
    pub city: Option<String>,
    /// State or region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// A company (account, client).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    /// The provider's id.
    pub external_id: String,
    /// Name.
    pub name: String,
    /// Short identifier, where the provider has one.
    pub identifier: Option<String>,
    /// Company type names.
    pub types: Vec<String>,
    /// Status name.
    pub status: Option<String>,
    /// Territory name.
    pub territory: Option<String>,
    /// Market name.
    pub market: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Main phone number.
    pub phone: Option<String>,
    /// Main address.
    pub address: Option<Address>,
    /// When the provider last changed it.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A contact person.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The provider's id.
    pub external_id: String,
    /// The company's provider id.
    pub company_external_id: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Main e-mail address.
    pub email: Option<String>,
    /// Main phone number.
    pub phone: Option<String>,
    /// When the provider last changed it.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A sales opportunity (deal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opportunity {
    /// The provider's id.
    pub external_id: String,
    /// The company's provider id.
    pub company_external_id: Option<String>,
    /// The primary contact's provider id.
    pub contact_external_id: Option<String>,
    /// Name.
    pub name: String,
    /// Stage name.
    pub stage: Option<String>,
    /// Status name (open, won, lost, ...).
    pub status: Option<String>,
    /// Win probability in percent (0-100).
    pub probability: Option<Decimal>,
    /// Expected value.
    pub value: Option<Decimal>,
    /// Expected close date.
    pub close_date: Option<NaiveDate>,
    /// When the provider last changed it.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A configuration item (asset) of a company.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configuration {
    /// The provider's id.
    pub external_id: String,
    /// The company's provider id.
    pub company_external_id: Option<String>,
    /// Name.
    pub name: String,
    /// Configuration type name.
    pub type_name: Option<String>,
    /// Status name.
    pub status: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// When the provider last changed it.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A product catalog item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    /// The provider's id.
    pub external_id: String,
    /// Product identifier (SKU).
    pub identifier: String,
    /// Description.
    pub description: Option<String>,
    /// Category name.
    pub category: Option<String>,
    /// Sell price.
    pub price: Option<Decimal>,
    /// Cost.
    pub cost: Option<Decimal>,
    /// Whether it is inactive.
    pub inactive: bool,
    /// When the provider last changed it.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Any synced record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Record {
    /// A company.
    Company(Company),
    /// A contact.
    Contact(Contact),
    /// An opportunity.
    Opportunity(Opportunity),
    /// A configuration.
    Configuration(Configuration),
    /// A catalog item.
    CatalogItem(CatalogItem),
}

impl Record {
    /// The record's data type.
    pub fn data_type(&self) -> DataType {
        match self {
            Record::Company(_) => DataType::Companies,
            Record::Contact(_) => DataType::Contacts,
            Record::Opportunity(_) => DataType::Opportunities,
            Record::Configuration(_) => DataType::Configurations,
            Record::CatalogItem(_) => DataType::CatalogItems,
        }
    }

    /// The provider's id of the record.
    pub fn external_id(&self) -> &str {
        match self {
            Record::Company(r) => &r.external_id,
            Record::Contact(r) => &r.external_id,
            Record::Opportunity(r) => &r.external_id,
            Record::Configuration(r) => &r.external_id,
            Record::CatalogItem(r) => &r.external_id,
        }
    }

    /// When the provider last changed the record.
    pub fn updated_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Record::Company(r) => r.updated_at,
            Record::Contact(r) => r.updated_at,
            Record::Opportunity(r) => r.updated_at,
            Record::Configuration(r) => r.updated_at,
            Record::CatalogItem(r) => r.updated_at,
        }
    }

    /// The record's longest text field: its name and length in bytes
    /// (`None` for a record with no text but its id). The sync engine skips
    /// records whose fields are longer than [`MAX_FIELD_BYTES`].
    pub fn longest_field(&self) -> Option<(&'static str, usize)> {
        fn opt<'a>(name: &'static str, v: &'a Option<String>) -> Option<(&'static str, &'a str)> {
            v.as_deref().map(|v| (name, v))
        }
        let fields: Vec<(&'static str, &str)> = match self {
            Record::Company(r) => {
                let mut f = vec![("external_id", r.external_id.as_str()), ("name", &r.name)];
                f.extend(opt("identifier", &r.identifier));
                f.extend(r.types.iter().map(|t| ("types", t.as_str())));
                f.extend(opt("status", &r.status));
                f.extend(opt("territory", &r.territory));
                f.extend(opt("market", &r.market));
                f.extend(opt("website", &r.website));
                f.extend(opt("phone", &r.phone));
                if let Some(a) = &r.address {
                    f.extend(a.lines.iter().map(|l| ("address", l.as_str())));
                    f.extend(opt("city", &a.city));
                    f.extend(opt("region", &a.region));
                    f.extend(opt("postal_code", &a.postal_code));
                    f.extend(opt("country", &a.country));
                }
                f
            }
            Record::Contact(r) => {
                let mut f = vec![("external_id", r.external_id.as_str())];
                f.extend(opt("company_external_id", &r.company_external_id));
                f.extend(opt("first_name", &r.first_name));
                f.extend(opt("last_name", &r.last_name));
                f.extend(opt("title", &r.title));
                f.extend(opt("email", &r.email));
                f.extend(opt("phone", &r.phone));
                f
            }
            Record::Opportunity(r) => {
                let mut f = vec![("external_id", r.external_id.as_str()), ("name", &r.name)];
                f.extend(opt("company_external_id", &r.company_external_id));
                f.extend(opt("contact_external_id", &r.contact_external_id));
                f.extend(opt("stage", &r.stage));
                f.extend(opt("status", &r.status));
                f
            }
            Record::Configuration(r) => {
                let mut f = vec![("external_id", r.external_id.as_str()), ("name", &r.name)];
                f.extend(opt("company_external_id", &r.company_external_id));
                f.extend(opt("type_name", &r.type_name));
                f.extend(opt("status", &r.status));
                f.extend(opt("serial_number", &r.serial_number));
                f
            }
            Record::CatalogItem(r) => {
                let mut f = vec![
                    ("external_id", r.external_id.as_str()),
                    ("identifier", &r.identifier),
                ];
                f.extend(opt("description", &r.description));
                f.extend(opt("category", &r.category));
                f
            }
        };
        fields
            .into_iter()
            .map(|(name, v)| (name, v.len()))
            .max_by_key(|(_, len)| *len)
    }

    /// The provider id of the company the record belongs to, for types that
    /// belong to one.
    pub fn company_external_id(&self) -> Option<&str> {
        match self {
            Record::Contact(r) => r.company_external_id.as_deref(),
            Record::Opportunity(r) => r.company_external_id.as_deref(),
            Record::Configuration(r) => r.company_external_id.as_deref(),
            Record::Company(_) | Record::CatalogItem(_) => None,
        }
    }
}

/// A phase of a scoping project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// The scoping tool's id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A sub-service of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubService {
    /// The scoping tool's id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Estimated hours.
    pub hours: Decimal,
}

/// A service of a scoping project, within a phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// The scoping tool's id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The phase it belongs to.
    pub phase_id: String,
    /// Description.
    pub description: Option<String>,
    /// Estimated hours (its own, without sub-services).
    pub hours: Decimal,
    /// Sub-services.
    pub sub_services: Vec<SubService>,
}

/// A governance (project management) item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceItem {
    /// The scoping tool's id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The phase it is assigned to, if any.
    pub phase_id: Option<String>,
    /// Estimated hours.
    pub hours: Decimal,
}

/// The approval state of a scoping project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectStatus {
    /// Still being scoped.
    Building,
    /// Awaiting approval.
    PendingApproval,
    /// Approved: may be pushed to a PSA.
    Approved,
    /// Lost or cancelled.
    Lost,
}

/// A scoping project, as the host application holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopingProject {
    /// The scoping tool's id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Approval state.
    pub status: ProjectStatus,
    /// Phases, in order.
    pub phases: Vec<Phase>,
    /// Services, in order.
    pub services: Vec<Service>,
    /// Governance items.
    pub governance: Vec<GovernanceItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_field_names_the_field() {
        let company = Record::Company(Company {
            external_id: "1".into(),
            name: "Acme".into(),
            website: Some("x".repeat(MAX_FIELD_BYTES + 1)),
            ..Company::default()
        });
        assert_eq!(
            company.longest_field(),
            Some(("website", MAX_FIELD_BYTES + 1))
        );
        let contact = Record::Contact(Contact {
            external_id: "22".into(),
            ..Contact::default()
        });
        assert_eq!(contact.longest_field(), Some(("external_id", 2)));
    }
}
