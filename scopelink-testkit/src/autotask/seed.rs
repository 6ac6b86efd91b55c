//! The data the simulator starts with: the fixtures' records, then
//! deterministic generated ones.

use super::*;

/// Rows by id, per entity.
pub(super) type Tables = HashMap<&'static str, BTreeMap<i64, Value>>;

const COMPANY_NAMES: [&str; 10] = [
    "Northwind Legal Partners",
    "Bluefin Logistics",
    "Cedar Hollow Clinic",
    "Granite Peak Credit Union",
    "Sable & Finch Architects",
    "Tidewater Marine Supply",
    "Maple Street Veterinary",
    "Ironbridge Manufacturing",
    "Quarry Lane Bakery",
    "Orchard View Schools",
];

const FIRST_NAMES: [&str; 6] = ["Avery", "Jordan", "Riley", "Casey", "Morgan", "Quinn"];
const LAST_NAMES: [&str; 6] = [
    "Nakamura",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Castillo",
    "Brennan",
];

const PRODUCTS: [(&str, &str, f64, f64); 6] = [
    ("Managed Backup - per server", "MB-SRV", 89.0, 31.5),
    ("Endpoint Protection - per seat", "EP-SEAT", 7.5, 2.25),
    ("Firewall Appliance FW-200", "FW-200", 1450.0, 980.0),
    ("Microsoft 365 Business Premium", "M365-BP", 22.0, 18.7),
    ("Onsite Labour - hourly", "LAB-HR", 145.0, 60.0),
    ("Wireless Access Point AP-6", "AP-6", 329.0, 210.0),
];

/// The resource every seeded record belongs to.
pub(super) const OWNER: i64 = 29_682_885;

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn day(d: usize, hh: usize) -> String {
    format!(
        "2026-03-{:02}T{:02}:{:02}:00.000Z",
        1 + d % 27,
        8 + hh % 10,
        (d * 7) % 60
    )
}

fn insert(tables: &mut Tables, entity: &'static str, row: Value) {
    if let Some(id) = row.get("id").and_then(Value::as_i64) {
        tables.entry(entity).or_default().insert(id, row);
    }
}

/// The seeded tables for `config`.
pub(super) fn seed(config: &AutotaskSimConfig) -> Tables {
    let mut t = Tables::new();
    for def in ENTITIES {
        t.insert(def.name, BTreeMap::new());
    }
    for (i, (first, last)) in [("Morgan", "Reyes"), ("Dana", "Whitfield"), ("Sam", "Okoro")]
        .into_iter()
        .enumerate()
    {
        insert(
            &mut t,
            "Resources",
            json!({
                "id": OWNER + i as i64,
                "firstName": first,
                "lastName": last,
                "email": format!("{}.{}@example-msp.com", first.to_lowercase(), last.to_lowercase()),
                "userName": format!("{}{}", &first[..1].to_lowercase(), last.to_lowercase()),
                "isActive": true,
                "resourceType": "Employee",
            }),
        );
    }
    let page = fixture(include_str!(
        "../../../fixtures/autotask/companies_query_page.json"
    ));
    let fixtures: Vec<Value> = page
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut company_ids = Vec::new();
    for i in 0..config.companies {
        let row = match fixtures.get(i) {
            Some(row) => row.clone(),
            None => {
                let g = i - fixtures.len().min(i);
                let territory = TERRITORIES[g % TERRITORIES.len()].value;
                json!({
                    "id": 29_684_118 + 3 * g as i64,
                    "companyName": if g < COMPANY_NAMES.len() {
                        COMPANY_NAMES[g].to_string()
                    } else {
                        format!("Generated Company {:04}", g + 1)
                    },
                    "companyNumber": format!("GEN-{:04}", g + 1),
                    "companyType": ([1, 1, 3, 7, 1, 2][g % 6]),
                    "isActive": g % 7 != 5,
                    "ownerResourceID": OWNER,
                    "parentCompanyID": null,
                    "territoryID": if g % 4 == 3 { Value::Null } else { json!(territory) },
                    "marketSegmentID": MARKET_SEGMENTS[g % MARKET_SEGMENTS.len()].value,
                    "classification": CLASSIFICATIONS[g % CLASSIFICATIONS.len()].value,
                    "phone": format!("555-{:04}", 200 + g),
                    "webAddress": null,
                    "address1": format!("{} Main Street", 10 + g),
                    "city": "Boston",
                    "state": "MA",
                    "postalCode": "02108",
                    "countryID": 237,
                    "createDate": format!("2025-{:02}-15T12:00:00.000Z", 1 + g % 12),
                    "lastActivityDate": day(g, 1),
                    "lastTrackedModifiedDateTime": day(g, 2),
                    "userDefinedFields": [{"name": "Customer Tier", "value": (["Gold", "Silver", "Bronze"][g % 3])}],
                })
            }
        };
        if let Some(id) = row.get("id").and_then(Value::as_i64) {
            company_ids.push(id);
        }
        insert(&mut t, "Companies", row);
    }
    let mut contact_id = 30_684_377;
    for (ci, company) in company_ids.iter().enumerate() {
        for j in 0..config.contacts_per_company {
            let k = ci * 3 + j;
            let (first, last) = (FIRST_NAMES[k % 6], LAST_NAMES[(k / 6 + j) % 6]);
            insert(
                &mut t,
                "Contacts",
                json!({
                    "id": contact_id,
                    "companyID": company,
                    "firstName": first,
                    "lastName": last,
                    "middleInitial": null,
                    "title": (["Office Manager", "IT Director", "Owner"][k % 3]),
                    "emailAddress": format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), k),
                    "phone": format!("555-{:04}", 3000 + k),
                    "mobilePhone": null,
                    "isActive": i64::from(k % 9 != 4),
                    "primaryContact": j == 0,
                    "externalID": null,
                    "createDate": format!("2025-06-{:02}T10:00:00.000Z", 1 + k % 28),
                    "lastActivityDate": day(k, 3),
                    "lastModifiedDate": day(k, 4),
                    "userDefinedFields": [],
                }),
            );
            contact_id += 1;
        }
    }
    let mut product_ids = Vec::new();
    for i in 0..config.products {
        let (name, sku, price, cost) = PRODUCTS[i % PRODUCTS.len()];
        let id = 29_683_500 + i as i64;
        product_ids.push(id);
        insert(
            &mut t,
            "Products",
            json!({
                "id": id,
                "name": if i < PRODUCTS.len() { name.to_string() } else { format!("{name} ({})", i + 1) },
                "description": null,
                "sku": sku,
                "manufacturerName": null,
                "manufacturerProductName": null,
                "unitPrice": price,
                "unitCost": cost,
                "msrp": price,
                "isActive": i % 5 != 4,
                "productCategory": null,
                "periodType": if i % 2 == 0 { json!(3) } else { Value::Null },
                "billingType": null,
                "productBillingCodeID": 29_682_801,
                "externalProductID": null,
                "userDefinedFields": [],
            }),
        );
    }
    let opportunity = fixture(include_str!(
        "../../../fixtures/autotask/opportunity_item.json"
    ));
    for i in 0..config.opportunities {
        let row = match (i, opportunity.get("item")) {
            (0, Some(item)) if company_ids.contains(&29_684_107) => item.clone(),
            _ => {
                let company = company_ids.get(i % company_ids.len().max(1)).copied();
                json!({
                    "id": 4_820 + i as i64,
                    "title": format!("Opportunity {} - network refresh", i + 1),
                    "companyID": company,
                    "contactID": null,
                    "ownerResourceID": OWNER,
                    "amount": 2_500.0 * (i as f64 + 1.0),
                    "cost": 1_100.0 * (i as f64 + 1.0),
                    "probability": ([10, 25, 50, 75, 90][i % 5]),
                    "stage": 1 + (i % 5) as i64,
                    "status": ([1, 1, 2, 3, 0][i % 5]),
                    "rating": null,
                    "leadSource": null,
                    "opportunityCategoryID": 2,
                    "projectedCloseDate": format!("2026-{:02}-28T00:00:00.000Z", 4 + i % 8),
                    "startDate": null,
                    "closedDate": null,
                    "lostDate": null,
                    "createDate": day(i, 5),
                    "lastActivity": day(i, 6),
                    "description": null,
                    "useQuoteTotals": false,
                    "totalAmountMonths": null,
                    "userDefinedFields": [],
                })
            }
        };
        insert(&mut t, "Opportunities", row);
    }
    for i in 0..config.configuration_items {
        let company = company_ids.get(i % company_ids.len().max(1)).copied();
        let product = product_ids.get(i % product_ids.len().max(1)).copied();
        insert(
            &mut t,
            "ConfigurationItems",
            json!({
                "id": 61_200 + i as i64,
                "companyID": company,
                "productID": product,
                "isActive": i % 6 != 5,
                "serialNumber": format!("SN-{:06}", 410_000 + i * 17),
                "referenceTitle": format!("Device {:03}", i + 1),
                "referenceNumber": null,
                "configurationItemType": 1,
                "configurationItemCategoryID": 1,
                "contactID": null,
                "contractID": null,
                "installDate": format!("2025-{:02}-01T00:00:00.000Z", 1 + i % 12),
                "warrantyExpirationDate": null,
                "createDate": day(i, 7),
                "lastModifiedTime": day(i, 8),
                "userDefinedFields": [],
            }),
        );
    }
    // Autotask answers every field of the entity; the fixtures show a few.
    for def in ENTITIES {
        for row in t.get_mut(def.name).into_iter().flat_map(|t| t.values_mut()) {
            complete_row(def, row);
        }
    }
    t
}

/// Gives `row` every field of `def` (`null` where it has none) and, where
/// the entity has them, `userDefinedFields` (`[]`), as Autotask answers.
pub(super) fn complete_row(def: &EntityDef, row: &mut Value) {
    if let Some(obj) = row.as_object_mut() {
        for f in def.fields {
            obj.entry(f.name).or_insert(Value::Null);
        }
        if def.has_udfs {
            obj.entry("userDefinedFields").or_insert_with(|| json!([]));
        }
    }
}
