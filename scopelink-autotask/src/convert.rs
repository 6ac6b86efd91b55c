//! Autotask records → the core's model, with picklist values turned into
//! the labels users know (company type `1` → `Customer`).

use crate::picklists::Picklists;
use crate::wire;
use chrono::NaiveDate;
use scopelink_core::model::{
    Address, CatalogItem, Company, Configuration, Contact, DataType, Opportunity, Record,
};
use scopelink_core::wire::{decode_record, non_blank, parse_timestamp, Rejected};
use serde_json::value::RawValue;

/// The Autotask entity of a data type, and the fields a sync reads of it
/// (`IncludeFields`; `id` first, as Autotask requires it on lists longer
/// than a page).
pub(crate) fn entity(data_type: DataType) -> Option<(&'static str, &'static [&'static str])> {
    Some(match data_type {
        DataType::Companies => (
            "Companies",
            &[
                "id",
                "companyName",
                "companyNumber",
                "companyType",
                "isActive",
                "territoryID",
                "marketSegmentID",
                "phone",
                "webAddress",
                "address1",
                "address2",
                "city",
                "state",
                "postalCode",
                "lastTrackedModifiedDateTime",
                "lastActivityDate",
            ],
        ),
        DataType::Contacts => (
            "Contacts",
            &[
                "id",
                "companyID",
                "firstName",
                "lastName",
                "title",
                "emailAddress",
                "phone",
                "mobilePhone",
                "lastModifiedDate",
                "lastActivityDate",
            ],
        ),
        DataType::Opportunities => (
            "Opportunities",
            &[
                "id",
                "title",
                "companyID",
                "contactID",
                "amount",
                "probability",
                "stage",
                "status",
                "projectedCloseDate",
                "lastActivity",
            ],
        ),
        DataType::Configurations => (
            "ConfigurationItems",
            &[
                "id",
                "companyID",
                "referenceTitle",
                "referenceNumber",
                "serialNumber",
                "configurationItemType",
                "isActive",
                "lastModifiedTime",
            ],
        ),
        DataType::CatalogItems => (
            "Products",
            &[
                "id",
                "name",
                "description",
                "sku",
                "productCategory",
                "unitPrice",
                "unitCost",
                "isActive",
            ],
        ),
        _ => return None,
    })
}

fn positive_id(id: Option<i64>, what: &str) -> Result<String, Rejected> {
    match id {
        Some(id) if id > 0 => Ok(id.to_string()),
        Some(id) => Err(Rejected::new(
            Some(id.to_string()),
            format!("the {what} has id {id}, which is not an Autotask id (a positive number)"),
        )),
        None => Err(Rejected::new(None, format!("the {what} has no id"))),
    }
}

fn parent_id(id: Option<i64>) -> Option<String> {
    id.filter(|i| *i > 0).map(|i| i.to_string())
}

fn time(text: Option<&str>) -> Option<chrono::DateTime<chrono::Utc>> {
    text.and_then(parse_timestamp)
}

fn date(text: Option<&str>) -> Option<NaiveDate> {
    let text = text?.trim();
    parse_timestamp(text)
        .map(|t| t.date_naive())
        .or_else(|| NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok())
}

pub(crate) fn company(c: wire::Company, lists: &Picklists) -> Result<Record, Rejected> {
    let external_id = positive_id(c.id, "company")?;
    let Some(name) = non_blank(c.company_name) else {
        return Err(Rejected::new(
            Some(external_id),
            "the company has no name (companyName)",
        ));
    };
    let lines: Vec<String> = [c.address1, c.address2]
        .into_iter()
        .filter_map(non_blank)
        .collect();
    let city = non_blank(c.city);
    let region = non_blank(c.state);
    let postal_code = non_blank(c.postal_code);
    let address =
        (!lines.is_empty() || city.is_some() || region.is_some() || postal_code.is_some())
            .then_some(Address {
                lines,
                city,
                region,
                postal_code,
                country: None,
            });
    Ok(Record::Company(Company {
        external_id,
        name,
        identifier: non_blank(c.company_number),
        types: lists
            .label("companyType", c.company_type.as_deref())
            .into_iter()
            .collect(),
        status: c
            .is_active
            .map(|a| if a { "Active" } else { "Inactive" }.to_string()),
        territory: lists.label("territoryID", c.territory_id.as_deref()),
        market: lists.label("marketSegmentID", c.market_segment_id.as_deref()),
        website: non_blank(c.web_address),
        phone: non_blank(c.phone),
        address,
        updated_at: time(c.last_tracked_modified_date_time.as_deref())
            .or_else(|| time(c.last_activity_date.as_deref())),
    }))
}

pub(crate) fn contact(c: wire::Contact) -> Result<Record, Rejected> {
    let external_id = positive_id(c.id, "contact")?;
    Ok(Record::Contact(Contact {
        external_id,
        company_external_id: parent_id(c.company_id),
        first_name: non_blank(c.first_name),
        last_name: non_blank(c.last_name),
        title: non_blank(c.title),
        email: non_blank(c.email_address),
        phone: non_blank(c.phone).or_else(|| non_blank(c.mobile_phone)),
        updated_at: time(c.last_modified_date.as_deref())
            .or_else(|| time(c.last_activity_date.as_deref())),
    }))
}

pub(crate) fn opportunity(o: wire::Opportunity, lists: &Picklists) -> Result<Record, Rejected> {
    let external_id = positive_id(o.id, "opportunity")?;
    let Some(name) = non_blank(o.title) else {
        return Err(Rejected::new(
            Some(external_id),
            "the opportunity has no title",
        ));
    };
    Ok(Record::Opportunity(Opportunity {
        external_id,
        company_external_id: parent_id(o.company_id),
        contact_external_id: parent_id(o.contact_id),
        name,
        stage: lists.label("stage", o.stage.as_deref()),
        status: lists.label("status", o.status.as_deref()),
        probability: o.probability,
        value: o.amount,
        close_date: date(o.projected_close_date.as_deref()),
        updated_at: time(o.last_activity.as_deref()),
    }))
}

pub(crate) fn configuration(
    c: wire::ConfigurationItem,
    lists: &Picklists,
) -> Result<Record, Rejected> {
    let external_id = positive_id(c.id, "configuration item")?;
    let name = non_blank(c.reference_title)
        .or_else(|| non_blank(c.reference_number.clone()))
        .or_else(|| non_blank(c.serial_number.clone()))
        .unwrap_or_else(|| format!("Configuration item {external_id}"));
    Ok(Record::Configuration(Configuration {
        external_id,
        company_external_id: parent_id(c.company_id),
        name,
        type_name: lists.label(
            "configurationItemType",
            c.configuration_item_type.as_deref(),
        ),
        status: c
            .is_active
            .map(|a| if a { "Active" } else { "Inactive" }.to_string()),
        serial_number: non_blank(c.serial_number),
        updated_at: time(c.last_modified_time.as_deref()),
    }))
}

pub(crate) fn product(p: wire::Product, lists: &Picklists) -> Result<Record, Rejected> {
    let external_id = positive_id(p.id, "product")?;
    let Some(identifier) = non_blank(p.sku).or_else(|| non_blank(p.name.clone())) else {
        return Err(Rejected::new(
            Some(external_id),
            "the product has neither a SKU nor a name",
        ));
    };
    let description = non_blank(p.name)
        .map(|name| match non_blank(p.description.clone()) {
            Some(d) if d != name => format!("{name}: {d}"),
            _ => name,
        })
        .or_else(|| non_blank(p.description));
    Ok(Record::CatalogItem(CatalogItem {
        external_id,
        identifier,
        description,
        category: lists.label("productCategory", p.product_category.as_deref()),
        price: p.unit_price,
        cost: p.unit_cost,
        inactive: p.is_active == Some(false),
        updated_at: None,
    }))
}

/// Converts one record given as JSON text.
pub fn convert_json(
    data_type: DataType,
    json: &str,
    lists: &Picklists,
) -> Result<Record, Rejected> {
    match data_type {
        DataType::Companies => company(decode_record(json, "company")?, lists),
        DataType::Contacts => contact(decode_record(json, "contact")?),
        DataType::Opportunities => opportunity(decode_record(json, "opportunity")?, lists),
        DataType::Configurations => {
            configuration(decode_record(json, "configuration item")?, lists)
        }
        DataType::CatalogItems => product(decode_record(json, "product")?, lists),
        other => Err(Rejected::new(
            None,
            format!("Autotask has no {other} to sync"),
        )),
    }
}

/// Converts a query reply's page: one result per item, so one unreadable
/// record is rejected while the rest convert. A body that is not a query
/// reply is an error.
pub fn convert_page(
    data_type: DataType,
    body: &[u8],
    lists: &Picklists,
) -> Result<Vec<Result<Record, Rejected>>, serde_json::Error> {
    let page: wire::QueryPage<'_> = serde_json::from_slice(body)?;
    Ok(page
        .items
        .into_iter()
        .map(|raw: &RawValue| convert_json(data_type, raw.get(), lists))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_records_are_rejected_one_by_one() {
        let body = br#"{"items":[
            {"id":1,"companyName":"Acme","companyType":1,"isActive":true},
            {"id":2,"companyName":"  "},
            {"id":-3,"companyName":"Neg"},
            {"id":4,"companyName":{"nested":true}},
            {"id":"5","companyName":"Five","lastTrackedModifiedDateTime":"2026-03-04T15:22:07.000Z"}
        ],"pageDetails":{"count":5,"nextPageUrl":null}}"#;
        let out = convert_page(DataType::Companies, body, &Picklists::default()).unwrap();
        assert_eq!(out.len(), 5);
        assert!(out[0].is_ok());
        assert_eq!(out[1].as_ref().unwrap_err().id.as_deref(), Some("2"));
        assert!(out[2].is_err());
        // A name of the wrong shape reads as no name.
        assert!(out[3].is_err());
        let Ok(Record::Company(five)) = &out[4] else {
            panic!("{:?}", out[4]);
        };
        assert_eq!(five.external_id, "5");
        assert_eq!(
            five.updated_at.unwrap().to_rfc3339(),
            "2026-03-04T15:22:07+00:00"
        );
        assert!(convert_page(DataType::Companies, b"[1,2]", &Picklists::default()).is_err());
    }
}
