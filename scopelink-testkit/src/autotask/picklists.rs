//! The tenant's picklists. Their numbers are a tenant's own (Autotask says
//! to read them from `entityInformation/fields`); company types 1, 3, 7
//! (Customer, Prospect, Vendor) are the ones Datto's Postman collection
//! uses, the rest are invented (see `fixtures/autotask/README.md`).

/// One picklist entry.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pick {
    pub(super) value: i64,
    pub(super) label: &'static str,
    pub(super) is_active: bool,
    pub(super) is_default: bool,
    pub(super) is_system: bool,
}

const fn p(value: i64, label: &'static str) -> Pick {
    Pick {
        value,
        label,
        is_active: true,
        is_default: false,
        is_system: true,
    }
}

const fn tenant(value: i64, label: &'static str) -> Pick {
    Pick {
        is_system: false,
        ..p(value, label)
    }
}

const fn default(pick: Pick) -> Pick {
    Pick {
        is_default: true,
        ..pick
    }
}

const fn inactive(pick: Pick) -> Pick {
    Pick {
        is_active: false,
        ..pick
    }
}

/// Companies `companyType` (`fixtures/autotask/company_fields.json`).
pub(super) const COMPANY_TYPES: &[Pick] = &[
    p(1, "Customer"),
    p(2, "Lead"),
    default(p(3, "Prospect")),
    p(4, "Dead"),
    p(7, "Vendor"),
    inactive(p(8, "Partner")),
];

/// Companies `classification`.
pub(super) const CLASSIFICATIONS: &[Pick] = &[
    tenant(101, "Managed Services"),
    tenant(102, "Break/Fix"),
    tenant(103, "Project Only"),
];

/// Companies `territoryID`.
pub(super) const TERRITORIES: &[Pick] = &[
    tenant(29_683_458, "Northeast"),
    tenant(29_683_459, "Mid-Atlantic"),
    tenant(29_683_460, "Southeast"),
];

/// Companies `marketSegmentID`.
pub(super) const MARKET_SEGMENTS: &[Pick] = &[
    tenant(29_683_461, "Healthcare"),
    tenant(29_683_462, "Legal"),
    tenant(29_683_463, "Dental"),
    tenant(29_683_464, "Retail"),
];

/// Opportunities `stage`.
pub(super) const OPPORTUNITY_STAGES: &[Pick] = &[
    default(p(1, "Qualification")),
    p(2, "Needs Analysis"),
    p(3, "Proposal"),
    p(4, "Negotiation"),
    p(5, "Closed"),
];

/// Opportunities `status`.
pub(super) const OPPORTUNITY_STATUSES: &[Pick] = &[
    p(0, "Not Ready To Buy"),
    default(p(1, "Active")),
    p(2, "Lost"),
    p(3, "Closed"),
    p(4, "Implemented"),
];

/// Projects `status`.
pub(super) const PROJECT_STATUSES: &[Pick] = &[
    p(0, "Inactive"),
    default(p(1, "New")),
    p(2, "In Progress"),
    p(5, "Complete"),
];

/// Projects `projectType`.
pub(super) const PROJECT_TYPES: &[Pick] = &[
    p(1, "Proposal"),
    p(2, "Template"),
    p(3, "Internal"),
    default(p(4, "Client")),
    p(5, "Baseline"),
];

/// Tasks `status`.
pub(super) const TASK_STATUSES: &[Pick] =
    &[default(p(1, "New")), p(4, "In Progress"), p(5, "Complete")];

/// Tasks `taskType`.
pub(super) const TASK_TYPES: &[Pick] = &[default(p(1, "Fixed Work")), p(2, "Fixed Duration")];

/// Tasks `priorityLabel`.
pub(super) const TASK_PRIORITIES: &[Pick] = &[
    p(1, "High"),
    default(p(2, "Medium")),
    p(3, "Low"),
    p(4, "Critical"),
];
