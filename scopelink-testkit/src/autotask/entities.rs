//! The entities the simulator serves: their fields (names, types, required,
//! read-only, queryable, picklists), where they are written (their own root
//! or a parent's child URL) and what may be deleted. The field lists follow
//! the swagger models named in `fixtures/autotask/README.md`.

use super::picklists::*;

/// One field of an entity, as `entityInformation/fields` describes it.
#[derive(Debug, Clone, Copy)]
pub(super) struct FieldDef {
    pub(super) name: &'static str,
    /// `integer`, `long`, `string`, `boolean`, `double`, `datetime`.
    pub(super) data_type: &'static str,
    pub(super) length: u32,
    pub(super) required: bool,
    pub(super) read_only: bool,
    pub(super) queryable: bool,
    pub(super) picklist: Option<&'static [Pick]>,
    /// The entity an id field references (`Companies` for `companyID`).
    pub(super) reference: Option<&'static str>,
    /// Whether a webhook may subscribe to it (its id in the webhook fields'
    /// `fieldID` picklist).
    pub(super) webhook_id: Option<i64>,
    /// A webhook fields entity's `fieldID`: a picklist of the fields of
    /// this entity that webhooks may subscribe to.
    pub(super) webhook_fields_of: Option<&'static str>,
}

const fn f(name: &'static str, data_type: &'static str) -> FieldDef {
    FieldDef {
        name,
        data_type,
        length: 0,
        required: false,
        read_only: false,
        queryable: true,
        picklist: None,
        reference: None,
        webhook_id: None,
        webhook_fields_of: None,
    }
}

impl FieldDef {
    const fn req(mut self) -> Self {
        self.required = true;
        self
    }
    const fn ro(mut self) -> Self {
        self.read_only = true;
        self
    }
    const fn noq(mut self) -> Self {
        self.queryable = false;
        self
    }
    const fn len(mut self, n: u32) -> Self {
        self.length = n;
        self
    }
    const fn pick(mut self, list: &'static [Pick]) -> Self {
        self.picklist = Some(list);
        self
    }
    const fn refs(mut self, entity: &'static str) -> Self {
        self.reference = Some(entity);
        self
    }
    const fn webhook_fields_of(mut self, entity: &'static str) -> Self {
        self.webhook_fields_of = Some(entity);
        self
    }
    const fn hook(mut self, id: i64) -> Self {
        self.webhook_id = Some(id);
        self
    }
}

/// Where an entity is written when it is a child: `{parent}/{id}/{segment}`,
/// the parent's id going into `parent_field`.
#[derive(Debug, Clone, Copy)]
pub(super) struct ChildOf {
    pub(super) parent: &'static str,
    pub(super) segment: &'static str,
    pub(super) parent_field: &'static str,
}

/// One entity.
#[derive(Debug)]
pub(super) struct EntityDef {
    /// The URL name (`Companies`).
    pub(super) name: &'static str,
    pub(super) fields: &'static [FieldDef],
    pub(super) child_of: Option<ChildOf>,
    pub(super) can_create: bool,
    pub(super) can_update: bool,
    pub(super) can_delete: bool,
    pub(super) has_udfs: bool,
    /// The webhook entity type of its callouts (`Company`), if it has
    /// webhooks.
    pub(super) webhook_type: Option<&'static str>,
    /// Set at creation.
    pub(super) created_field: Option<&'static str>,
    /// Set at creation and at every change.
    pub(super) modified_fields: &'static [&'static str],
    /// The first id handed out.
    pub(super) first_id: i64,
}

impl EntityDef {
    /// The field named `name`, compared case-insensitively.
    pub(super) fn field(&self, name: &str) -> Option<&'static FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

const COMPANY_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("companyName", "string").len(100).req().hook(7),
    f("companyNumber", "string").len(50).hook(8),
    f("companyType", "integer")
        .req()
        .pick(COMPANY_TYPES)
        .hook(24),
    f("classification", "integer")
        .pick(CLASSIFICATIONS)
        .hook(25),
    f("isActive", "boolean").hook(9),
    f("ownerResourceID", "integer")
        .req()
        .refs("Resources")
        .hook(10),
    f("parentCompanyID", "integer").refs("Companies"),
    f("territoryID", "integer").pick(TERRITORIES).hook(26),
    f("marketSegmentID", "integer")
        .pick(MARKET_SEGMENTS)
        .hook(27),
    f("phone", "string").len(25).req().hook(11),
    f("fax", "string").len(25),
    f("webAddress", "string").len(255).hook(12),
    f("address1", "string").len(128).hook(13),
    f("address2", "string").len(128),
    f("city", "string").len(30).hook(14),
    f("state", "string").len(40).hook(15),
    f("postalCode", "string").len(20).hook(16),
    f("countryID", "integer"),
    f("createDate", "datetime").ro(),
    f("lastActivityDate", "datetime").ro(),
    f("lastTrackedModifiedDateTime", "datetime").ro(),
];

const CONTACT_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("companyID", "integer").req().refs("Companies").hook(1),
    f("firstName", "string").len(50).req().hook(2),
    f("lastName", "string").len(50).req().hook(3),
    f("middleInitial", "string").len(2),
    f("title", "string").len(50).hook(4),
    f("emailAddress", "string").len(254).hook(5),
    f("phone", "string").len(25).hook(6),
    f("mobilePhone", "string").len(25),
    f("isActive", "integer").req().hook(7),
    f("primaryContact", "boolean"),
    f("externalID", "string").len(50),
    f("isOptedOutFromBulkEmail", "boolean").noq(),
    f("createDate", "datetime").ro(),
    f("lastActivityDate", "datetime").ro(),
    f("lastModifiedDate", "datetime").ro(),
];

const OPPORTUNITY_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("title", "string").len(128).req(),
    f("companyID", "integer").req().refs("Companies"),
    f("contactID", "integer").refs("Contacts"),
    f("ownerResourceID", "integer").req().refs("Resources"),
    f("amount", "double").req(),
    f("cost", "double").req(),
    f("probability", "integer").req(),
    f("stage", "integer").pick(OPPORTUNITY_STAGES),
    f("status", "integer").req().pick(OPPORTUNITY_STATUSES),
    f("rating", "integer"),
    f("leadSource", "integer"),
    f("opportunityCategoryID", "integer"),
    f("projectedCloseDate", "datetime").req(),
    f("startDate", "datetime"),
    f("closedDate", "datetime"),
    f("lostDate", "datetime"),
    f("description", "string").len(8000),
    f("useQuoteTotals", "boolean"),
    f("totalAmountMonths", "integer"),
    f("createDate", "datetime").ro(),
    f("lastActivity", "datetime").ro(),
];

const CONFIGURATION_ITEM_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("companyID", "integer").req().refs("Companies").hook(1),
    f("productID", "integer").req().refs("Products").hook(2),
    f("isActive", "boolean").req().hook(3),
    f("serialNumber", "string").len(100).hook(4),
    f("referenceTitle", "string").len(200).hook(5),
    f("referenceNumber", "string").len(50),
    f("configurationItemType", "integer"),
    f("configurationItemCategoryID", "integer"),
    f("contactID", "integer").refs("Contacts"),
    f("contractID", "integer"),
    f("installDate", "datetime"),
    f("warrantyExpirationDate", "datetime"),
    f("createDate", "datetime").ro(),
    f("lastModifiedTime", "datetime").ro(),
];

const PRODUCT_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("name", "string").len(100).req(),
    f("description", "string").len(8000),
    f("sku", "string").len(50),
    f("manufacturerName", "string").len(100),
    f("manufacturerProductName", "string").len(100),
    f("unitPrice", "double"),
    f("unitCost", "double"),
    f("msrp", "double"),
    f("isActive", "boolean").req(),
    f("productCategory", "integer"),
    f("periodType", "integer"),
    f("billingType", "integer"),
    f("productBillingCodeID", "integer"),
    f("externalProductID", "string").len(50),
];

const PROJECT_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("projectName", "string").len(100).req(),
    f("projectNumber", "string").len(50).ro(),
    f("companyID", "integer").req().refs("Companies"),
    f("projectType", "integer").req().pick(PROJECT_TYPES),
    f("status", "integer").req().pick(PROJECT_STATUSES),
    f("statusDetail", "string").len(2000),
    f("startDateTime", "datetime").req(),
    f("endDateTime", "datetime").req(),
    f("description", "string").len(2000),
    f("projectLeadResourceID", "integer").refs("Resources"),
    f("department", "integer"),
    f("contractID", "integer"),
    f("estimatedTime", "double"),
    f("completedPercentage", "integer").ro(),
    f("changeOrdersBudget", "double").noq(),
    f("createDateTime", "datetime").ro(),
    f("lastActivityDateTime", "datetime").ro(),
];

const PHASE_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("projectID", "integer").req().refs("Projects"),
    f("title", "string").len(255).req(),
    f("parentPhaseID", "integer").refs("Phases"),
    f("description", "string").len(8000),
    f("startDate", "datetime"),
    f("dueDate", "datetime"),
    f("estimatedHours", "double").ro(),
    f("phaseNumber", "string").len(50).ro(),
    f("externalID", "string").len(50),
    f("isScheduled", "boolean"),
    f("createDate", "datetime").ro(),
    f("lastActivityDateTime", "datetime").ro(),
];

const TASK_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("projectID", "integer").req().refs("Projects"),
    f("phaseID", "integer").refs("Phases"),
    f("title", "string").len(255).req(),
    f("description", "string").len(8000),
    f("status", "integer").req().pick(TASK_STATUSES),
    f("taskType", "integer").req().pick(TASK_TYPES),
    f("estimatedHours", "double"),
    f("remainingHours", "double").noq(),
    f("startDateTime", "datetime"),
    f("endDateTime", "datetime"),
    f("assignedResourceID", "integer").refs("Resources"),
    f("assignedResourceRoleID", "integer"),
    f("priority", "integer"),
    f("priorityLabel", "integer").pick(TASK_PRIORITIES),
    f("billingCodeID", "integer"),
    f("isVisibleInClientPortal", "boolean"),
    f("externalID", "string").len(50),
    f("createDateTime", "datetime").ro(),
    f("lastActivityDateTime", "datetime").ro(),
];

const RESOURCE_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("firstName", "string").len(50).req(),
    f("lastName", "string").len(50).req(),
    f("email", "string").len(254).req(),
    f("userName", "string").len(32).req(),
    f("isActive", "boolean").req(),
    f("resourceType", "string").len(20),
];

const WEBHOOK_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("name", "string").len(50).req(),
    f("isActive", "boolean").req(),
    f("isReady", "boolean").ro(),
    f("webhookUrl", "string").len(500).req(),
    f("deactivationUrl", "string").len(500).req(),
    f("secretKey", "string").len(64).noq(),
    f("isSubscribedToCreateEvents", "boolean"),
    f("isSubscribedToUpdateEvents", "boolean"),
    f("isSubscribedToDeleteEvents", "boolean"),
    f("notificationEmailAddress", "string").len(150),
    f("sendThresholdExceededNotification", "boolean"),
    f("ownerResourceID", "integer").refs("Resources"),
    f("webhookGUID", "string").len(100).ro(),
];

const COMPANY_WEBHOOK_FIELD_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("webhookID", "integer").req().refs("CompanyWebhooks"),
    f("fieldID", "integer").req().webhook_fields_of("Companies"),
    f("isSubscribedField", "boolean"),
    f("isDisplayAlwaysField", "boolean"),
];

const CONTACT_WEBHOOK_FIELD_FIELDS: &[FieldDef] = &[
    f("id", "long").ro(),
    f("webhookID", "integer").req().refs("ContactWebhooks"),
    f("fieldID", "integer").req().webhook_fields_of("Contacts"),
    f("isSubscribedField", "boolean"),
    f("isDisplayAlwaysField", "boolean"),
];

const fn entity(name: &'static str, fields: &'static [FieldDef], first_id: i64) -> EntityDef {
    EntityDef {
        name,
        fields,
        child_of: None,
        can_create: true,
        can_update: true,
        can_delete: false,
        has_udfs: false,
        webhook_type: None,
        created_field: None,
        modified_fields: &[],
        first_id,
    }
}

const fn child(
    parent: &'static str,
    segment: &'static str,
    parent_field: &'static str,
) -> Option<ChildOf> {
    Some(ChildOf {
        parent,
        segment,
        parent_field,
    })
}

/// Every entity served, by URL name.
pub(super) static ENTITIES: &[EntityDef] = &[
    EntityDef {
        has_udfs: true,
        webhook_type: Some("Company"),
        created_field: Some("createDate"),
        modified_fields: &["lastActivityDate", "lastTrackedModifiedDateTime"],
        ..entity("Companies", COMPANY_FIELDS, 29_684_100)
    },
    EntityDef {
        child_of: child("Companies", "Contacts", "companyID"),
        can_delete: true,
        has_udfs: true,
        webhook_type: Some("Contact"),
        created_field: Some("createDate"),
        modified_fields: &["lastActivityDate", "lastModifiedDate"],
        ..entity("Contacts", CONTACT_FIELDS, 30_684_300)
    },
    EntityDef {
        has_udfs: true,
        created_field: Some("createDate"),
        modified_fields: &["lastActivity"],
        ..entity("Opportunities", OPPORTUNITY_FIELDS, 4_800)
    },
    EntityDef {
        has_udfs: true,
        webhook_type: Some("ConfigurationItem"),
        created_field: Some("createDate"),
        modified_fields: &["lastModifiedTime"],
        ..entity("ConfigurationItems", CONFIGURATION_ITEM_FIELDS, 61_200)
    },
    EntityDef {
        has_udfs: true,
        ..entity("Products", PRODUCT_FIELDS, 29_683_500)
    },
    EntityDef {
        has_udfs: true,
        created_field: Some("createDateTime"),
        modified_fields: &["lastActivityDateTime"],
        ..entity("Projects", PROJECT_FIELDS, 5_521)
    },
    EntityDef {
        child_of: child("Projects", "Phases", "projectID"),
        created_field: Some("createDate"),
        modified_fields: &["lastActivityDateTime"],
        ..entity("Phases", PHASE_FIELDS, 912)
    },
    EntityDef {
        child_of: child("Projects", "Tasks", "projectID"),
        has_udfs: true,
        created_field: Some("createDateTime"),
        modified_fields: &["lastActivityDateTime"],
        ..entity("Tasks", TASK_FIELDS, 77_120)
    },
    EntityDef {
        can_create: false,
        ..entity("Resources", RESOURCE_FIELDS, 29_682_885)
    },
    EntityDef {
        can_delete: true,
        ..entity("CompanyWebhooks", WEBHOOK_FIELDS, 14)
    },
    EntityDef {
        can_delete: true,
        ..entity("ContactWebhooks", WEBHOOK_FIELDS, 14)
    },
    EntityDef {
        child_of: child("CompanyWebhooks", "Fields", "webhookID"),
        can_delete: true,
        ..entity("CompanyWebhookFields", COMPANY_WEBHOOK_FIELD_FIELDS, 101)
    },
    EntityDef {
        child_of: child("ContactWebhooks", "Fields", "webhookID"),
        can_delete: true,
        ..entity("ContactWebhookFields", CONTACT_WEBHOOK_FIELD_FIELDS, 101)
    },
];

/// The entity named `name` (case-insensitive).
pub(super) fn entity_def(name: &str) -> Option<&'static EntityDef> {
    ENTITIES.iter().find(|e| e.name.eq_ignore_ascii_case(name))
}

/// The child entity written at `{parent}/{id}/{segment}`.
pub(super) fn child_def(parent: &str, segment: &str) -> Option<&'static EntityDef> {
    ENTITIES.iter().find(|e| {
        e.child_of.is_some_and(|c| {
            c.parent.eq_ignore_ascii_case(parent) && c.segment.eq_ignore_ascii_case(segment)
        })
    })
}

/// The webhook entity and its fields child for a webhook entity type
/// (`Company` → `CompanyWebhooks`, `CompanyWebhookFields`).
pub(super) fn webhook_entities(kind: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match kind {
        "Company" => Some(("CompanyWebhooks", "CompanyWebhookFields", "Companies")),
        "Contact" => Some(("ContactWebhooks", "ContactWebhookFields", "Contacts")),
        _ => None,
    }
}
