//! The objects and fields the simulated org has: the standard fields the
//! Salesforce Object Reference lists for Account, Contact, Opportunity and
//! OpportunityContactRole (the subset a CRM sync reads), with their types,
//! whether they can be written, and the standard picklists.

/// The simulated sObject types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum SObject {
    Account,
    Contact,
    Opportunity,
    OpportunityContactRole,
    User,
}

/// A field's SOAP/REST type (`describe`'s `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldType {
    Id,
    Reference,
    String,
    Textarea,
    Url,
    Email,
    Phone,
    Picklist,
    Boolean,
    Currency,
    Percent,
    Double,
    Int,
    Date,
    DateTime,
}

impl FieldType {
    /// The name `describe` gives the type.
    pub(super) fn wire_name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Reference => "reference",
            Self::String => "string",
            Self::Textarea => "textarea",
            Self::Url => "url",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Picklist => "picklist",
            Self::Boolean => "boolean",
            Self::Currency => "currency",
            Self::Percent => "percent",
            Self::Double => "double",
            Self::Int => "int",
            Self::Date => "date",
            Self::DateTime => "datetime",
        }
    }

    /// Whether SOQL compares it with a quoted string literal.
    pub(super) fn is_text(self) -> bool {
        matches!(
            self,
            Self::Id
                | Self::Reference
                | Self::String
                | Self::Textarea
                | Self::Url
                | Self::Email
                | Self::Phone
                | Self::Picklist
        )
    }

    /// Whether it holds a JSON number.
    pub(super) fn is_number(self) -> bool {
        matches!(
            self,
            Self::Currency | Self::Percent | Self::Double | Self::Int
        )
    }

    /// The type's name in SOQL's "must be of type X" messages.
    pub(super) fn soql_name(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::DateTime => "dateTime",
            Self::Int => "integer",
            Self::Currency | Self::Percent | Self::Double => "double",
            Self::Id | Self::Reference => "id",
            _ => "string",
        }
    }
}

/// One field of an object.
#[derive(Debug)]
pub(super) struct FieldDef {
    pub(super) name: &'static str,
    pub(super) label: &'static str,
    pub(super) kind: FieldType,
    pub(super) createable: bool,
    pub(super) updateable: bool,
    pub(super) nillable: bool,
    /// Picklist values (the first is not a default: none has one).
    pub(super) picklist: &'static [&'static str],
    /// Whether a value outside `picklist` is refused.
    pub(super) restricted: bool,
    /// The object a reference points to.
    pub(super) reference_to: Option<&'static str>,
    /// The relationship name of a reference (`Account` for `AccountId`).
    pub(super) relationship: Option<&'static str>,
}

const fn field(name: &'static str, label: &'static str, kind: FieldType) -> FieldDef {
    FieldDef {
        name,
        label,
        kind,
        createable: true,
        updateable: true,
        nillable: true,
        picklist: &[],
        restricted: false,
        reference_to: None,
        relationship: None,
    }
}

const fn system(name: &'static str, label: &'static str, kind: FieldType) -> FieldDef {
    FieldDef {
        createable: false,
        updateable: false,
        nillable: false,
        ..field(name, label, kind)
    }
}

const fn reference(
    name: &'static str,
    label: &'static str,
    to: &'static str,
    relationship: &'static str,
) -> FieldDef {
    FieldDef {
        reference_to: Some(to),
        relationship: Some(relationship),
        ..field(name, label, FieldType::Reference)
    }
}

const fn picklist(
    name: &'static str,
    label: &'static str,
    values: &'static [&'static str],
    restricted: bool,
) -> FieldDef {
    FieldDef {
        picklist: values,
        restricted,
        ..field(name, label, FieldType::Picklist)
    }
}

/// Account `Type`'s standard values.
pub(super) const ACCOUNT_TYPES: &[&str] = &[
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
];

/// Account `Industry`'s standard values.
pub(super) const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
];

/// The standard opportunity stages: (StageName, default Probability,
/// ForecastCategoryName, IsClosed, IsWon).
pub(super) const STAGES: &[(&str, f64, &str, bool, bool)] = &[
    ("Prospecting", 10.0, "Pipeline", false, false),
    ("Qualification", 10.0, "Pipeline", false, false),
    ("Needs Analysis", 20.0, "Pipeline", false, false),
    ("Value Proposition", 50.0, "Pipeline", false, false),
    ("Id. Decision Makers", 60.0, "Pipeline", false, false),
    ("Perception Analysis", 70.0, "Pipeline", false, false),
    ("Proposal/Price Quote", 75.0, "Pipeline", false, false),
    ("Negotiation/Review", 90.0, "Pipeline", false, false),
    ("Closed Won", 100.0, "Closed", true, true),
    ("Closed Lost", 0.0, "Omitted", true, false),
];

const STAGE_NAMES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];

/// OpportunityContactRole `Role`'s standard values.
pub(super) const ROLES: &[&str] = &[
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
];

const OPPORTUNITY_TYPES: &[&str] = &["Existing Business", "New Business"];
const LEAD_SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];

use FieldType as T;

static ACCOUNT: &[FieldDef] = &[
    system("Id", "Account ID", T::Id),
    FieldDef {
        nillable: false,
        ..field("Name", "Account Name", T::String)
    },
    picklist("Type", "Account Type", ACCOUNT_TYPES, false),
    picklist("Industry", "Industry", INDUSTRIES, false),
    field("Website", "Website", T::Url),
    field("Phone", "Account Phone", T::Phone),
    field("BillingCity", "Billing City", T::String),
    field("BillingCountry", "Billing Country", T::String),
    field("Description", "Account Description", T::Textarea),
    field("NumberOfEmployees", "Employees", T::Int),
    field("AnnualRevenue", "Annual Revenue", T::Currency),
    field("AccountNumber", "Account Number", T::String),
    picklist("Rating", "Account Rating", &["Hot", "Warm", "Cold"], false),
    field("Fax", "Account Fax", T::Phone),
    field("BillingStreet", "Billing Street", T::Textarea),
    field("BillingState", "Billing State/Province", T::String),
    field("BillingPostalCode", "Billing Zip/Postal Code", T::String),
    field("ShippingStreet", "Shipping Street", T::Textarea),
    field("ShippingCity", "Shipping City", T::String),
    field("ShippingState", "Shipping State/Province", T::String),
    field("ShippingPostalCode", "Shipping Zip/Postal Code", T::String),
    field("ShippingCountry", "Shipping Country", T::String),
    reference("ParentId", "Parent Account ID", "Account", "Parent"),
    reference("OwnerId", "Owner ID", "User", "Owner"),
    CURRENCY,
    AUDIT_0,
    AUDIT_1,
    AUDIT_2,
    AUDIT_3,
    AUDIT_4,
    AUDIT_5,
];

/// Only in orgs with multiple currencies enabled.
pub(super) const CURRENCY_FIELD: &str = "CurrencyIsoCode";
const CURRENCY: FieldDef = FieldDef {
    nillable: false,
    ..picklist(
        CURRENCY_FIELD,
        "Currency ISO Code",
        &["EUR", "GBP", "USD"],
        true,
    )
};

static USER: &[FieldDef] = &[
    system("Id", "User ID", T::Id),
    FieldDef {
        nillable: false,
        ..field("Username", "Username", T::String)
    },
    field("FirstName", "First Name", T::String),
    FieldDef {
        nillable: false,
        ..field("LastName", "Last Name", T::String)
    },
    FieldDef {
        createable: false,
        updateable: false,
        ..field("Name", "Full Name", T::String)
    },
    FieldDef {
        nillable: false,
        ..field("Email", "Email", T::Email)
    },
    FieldDef {
        nillable: false,
        ..field("IsActive", "Active", T::Boolean)
    },
    field("Title", "Title", T::String),
    AUDIT_1,
    AUDIT_2,
    AUDIT_3,
    AUDIT_4,
    AUDIT_5,
];

const AUDIT_0: FieldDef = system("IsDeleted", "Deleted", T::Boolean);
const AUDIT_1: FieldDef = system("CreatedDate", "Created Date", T::DateTime);
const AUDIT_2: FieldDef = system("CreatedById", "Created By ID", T::Reference);
const AUDIT_3: FieldDef = system("LastModifiedDate", "Last Modified Date", T::DateTime);
const AUDIT_4: FieldDef = system("LastModifiedById", "Last Modified By ID", T::Reference);
const AUDIT_5: FieldDef = system("SystemModstamp", "System Modstamp", T::DateTime);

static CONTACT: &[FieldDef] = &[
    system("Id", "Contact ID", T::Id),
    reference("AccountId", "Account ID", "Account", "Account"),
    field("FirstName", "First Name", T::String),
    FieldDef {
        nillable: false,
        ..field("LastName", "Last Name", T::String)
    },
    FieldDef {
        createable: false,
        updateable: false,
        ..field("Name", "Full Name", T::String)
    },
    field("Email", "Email", T::Email),
    field("Phone", "Business Phone", T::Phone),
    field("MobilePhone", "Mobile Phone", T::Phone),
    field("Title", "Title", T::String),
    field("Department", "Department", T::String),
    picklist(
        "Salutation",
        "Salutation",
        &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."],
        false,
    ),
    field("MailingStreet", "Mailing Street", T::Textarea),
    field("MailingCity", "Mailing City", T::String),
    field("MailingState", "Mailing State/Province", T::String),
    field("MailingPostalCode", "Mailing Zip/Postal Code", T::String),
    field("MailingCountry", "Mailing Country", T::String),
    picklist("LeadSource", "Lead Source", LEAD_SOURCES, false),
    reference("ReportsToId", "Reports To ID", "Contact", "ReportsTo"),
    reference("OwnerId", "Owner ID", "User", "Owner"),
    CURRENCY,
    AUDIT_0,
    AUDIT_1,
    AUDIT_2,
    AUDIT_3,
    AUDIT_4,
    AUDIT_5,
];

static OPPORTUNITY: &[FieldDef] = &[
    system("Id", "Opportunity ID", T::Id),
    reference("AccountId", "Account ID", "Account", "Account"),
    FieldDef {
        nillable: false,
        ..field("Name", "Name", T::String)
    },
    field("Description", "Description", T::Textarea),
    FieldDef {
        nillable: false,
        ..picklist("StageName", "Stage", STAGE_NAMES, true)
    },
    field("Amount", "Amount", T::Currency),
    field("Probability", "Probability (%)", T::Percent),
    FieldDef {
        nillable: false,
        ..field("CloseDate", "Close Date", T::Date)
    },
    picklist("Type", "Opportunity Type", OPPORTUNITY_TYPES, false),
    picklist("LeadSource", "Lead Source", LEAD_SOURCES, false),
    field("NextStep", "Next Step", T::String),
    FieldDef {
        updateable: false,
        createable: false,
        ..field("ExpectedRevenue", "Expected Amount", T::Currency)
    },
    field("TotalOpportunityQuantity", "Quantity", T::Double),
    FieldDef {
        updateable: false,
        createable: false,
        ..field("HasOpportunityLineItem", "Has Line Item", T::Boolean)
    },
    FieldDef {
        updateable: false,
        createable: false,
        ..field("FiscalYear", "Fiscal Year", T::Int)
    },
    FieldDef {
        updateable: false,
        createable: false,
        ..field("FiscalQuarter", "Fiscal Quarter", T::Int)
    },
    FieldDef {
        updateable: false,
        createable: false,
        ..field("IsClosed", "Closed", T::Boolean)
    },
    FieldDef {
        updateable: false,
        createable: false,
        ..field("IsWon", "Won", T::Boolean)
    },
    FieldDef {
        picklist: &["Omitted", "Pipeline", "Best Case", "Commit", "Closed"],
        restricted: true,
        ..field("ForecastCategoryName", "Forecast Category", T::Picklist)
    },
    FieldDef {
        createable: false,
        updateable: false,
        ..reference("ContactId", "Contact ID", "Contact", "Contact")
    },
    reference("OwnerId", "Owner ID", "User", "Owner"),
    CURRENCY,
    AUDIT_0,
    AUDIT_1,
    AUDIT_2,
    AUDIT_3,
    AUDIT_4,
    AUDIT_5,
];

static CONTACT_ROLE: &[FieldDef] = &[
    system("Id", "Contact Role ID", T::Id),
    FieldDef {
        nillable: false,
        updateable: false,
        ..reference(
            "OpportunityId",
            "Opportunity ID",
            "Opportunity",
            "Opportunity",
        )
    },
    FieldDef {
        nillable: false,
        ..reference("ContactId", "Contact ID", "Contact", "Contact")
    },
    picklist("Role", "Role", ROLES, false),
    FieldDef {
        nillable: false,
        ..field("IsPrimary", "Primary", T::Boolean)
    },
    AUDIT_0,
    AUDIT_1,
    AUDIT_2,
    AUDIT_3,
    AUDIT_4,
    AUDIT_5,
];

impl SObject {
    /// Every simulated type.
    pub(super) const ALL: [SObject; 5] = [
        SObject::Account,
        SObject::Contact,
        SObject::Opportunity,
        SObject::OpportunityContactRole,
        SObject::User,
    ];

    /// The API name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Account => "Account",
            Self::Contact => "Contact",
            Self::Opportunity => "Opportunity",
            Self::OpportunityContactRole => "OpportunityContactRole",
            Self::User => "User",
        }
    }

    /// The type named `name` (case-insensitive, as SOQL and URLs are).
    pub(super) fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(name))
    }

    /// The label and plural label.
    pub(super) fn labels(self) -> (&'static str, &'static str) {
        match self {
            Self::Account => ("Account", "Accounts"),
            Self::Contact => ("Contact", "Contacts"),
            Self::Opportunity => ("Opportunity", "Opportunities"),
            Self::OpportunityContactRole => {
                ("Opportunity Contact Role", "Opportunity Contact Role")
            }
            Self::User => ("User", "Users"),
        }
    }

    /// The three-character id prefix.
    pub(super) fn key_prefix(self) -> &'static str {
        match self {
            Self::Account => "001",
            Self::Contact => "003",
            Self::Opportunity => "006",
            Self::OpportunityContactRole => "00K",
            Self::User => "005",
        }
    }

    /// The fields.
    pub(super) fn fields(self) -> &'static [FieldDef] {
        match self {
            Self::Account => ACCOUNT,
            Self::Contact => CONTACT,
            Self::Opportunity => OPPORTUNITY,
            Self::OpportunityContactRole => CONTACT_ROLE,
            Self::User => USER,
        }
    }

    /// The field named `name` (case-insensitive).
    pub(super) fn field(self, name: &str) -> Option<&'static FieldDef> {
        self.fields()
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The field a parent relationship name stands for (`Account` →
    /// `AccountId`).
    pub(super) fn relationship(self, name: &str) -> Option<&'static FieldDef> {
        self.fields()
            .iter()
            .find(|f| f.relationship.is_some_and(|r| r.eq_ignore_ascii_case(name)))
    }
}

/// The stage's defaults, if `stage` is a standard stage.
pub(super) fn stage(stage: &str) -> Option<&'static (&'static str, f64, &'static str, bool, bool)> {
    STAGES.iter().find(|s| s.0 == stage)
}
