//! Rendering (fixture shapes).

use super::*;

impl Company {
    pub(super) fn render(&self, d: &Data, out: &mut String) {
        let api = d.api.as_str();
        let id = self.id;
        let (street, city, state, zip, area) = ADDRESSES[(self.seq % 8) as usize];
        out.push_str("{\"id\":");
        push_num(out, id);
        key_str(out, "identifier", &self.identifier);
        key_str(out, "name", &self.name);
        let (sid, sname) = COMPANY_STATUSES[self.status as usize];
        key_ref(
            out,
            "status",
            api,
            sid,
            None,
            sname,
            "status_href",
            "/company/companies/statuses/",
        );
        key(out, "addressLine1");
        let _ = write!(out, "\"{} {street}\"", 10 + self.seq % 890);
        key_str(out, "addressLine2", "");
        key_str(out, "city", city);
        key_str(out, "state", state);
        key_str(out, "zip", zip);
        key_ref(
            out,
            "country",
            api,
            1,
            None,
            "United States",
            "country_href",
            "/company/countries/",
        );
        key(out, "phoneNumber");
        let _ = write!(out, "\"{area}555{:04}\"", self.seq % 10_000);
        key_str(out, "faxNumber", "");
        key(out, "website");
        let _ = write!(
            out,
            "\"www.{}.example\"",
            self.identifier.to_ascii_lowercase()
        );
        let (tid, tname) = TERRITORIES[self.territory as usize];
        key_ref(
            out,
            "territory",
            api,
            tid,
            None,
            tname,
            "location_href",
            "/system/locations/",
        );
        let (mid, mname) = MARKETS[self.market as usize];
        key_ref(
            out,
            "market",
            api,
            mid,
            None,
            mname,
            "Market_href",
            "/company/marketDescriptions/",
        );
        key(out, "accountNumber");
        let _ = write!(out, "\"{id}\"");
        if let Some(c) = self.default_contact {
            d.contact_ref(out, "defaultContact", c);
        }
        key_ts(out, "dateAcquired", self.date_entered);
        out.push_str(",\"annualRevenue\":0.0,\"numberOfEmployees\":0,\"leadFlag\":false,\"unsubscribeFlag\":false,\"taxIdentifier\":\"\",\"deletedFlag\":false");
        key(out, "mobileGuid");
        let _ = write!(out, "\"5b0f2c1e-0000-4000-8000-{id:012}\"");
        key(out, "isVendorFlag");
        push_bool(out, TYPE_SETS[self.types as usize].contains(&3));
        key(out, "types");
        out.push('[');
        for (n, t) in TYPE_SETS[self.types as usize].iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let (tid, tname) = COMPANY_TYPES[*t as usize];
            push_ref(
                out,
                api,
                tid,
                None,
                tname,
                "type_href",
                "/company/companies/types/",
            );
        }
        out.push(']');
        d.site_ref(out, id);
        out.push_str(",\"_info\":{\"lastUpdated\":\"");
        push_ts(out, self.last_updated);
        out.push('"');
        key_str(out, "updatedBy", self.updated_by);
        key_ts(out, "dateEntered", self.date_entered);
        key_str(out, "enteredBy", "import1");
        for (k, path) in [
            ("contacts_href", "/company/contacts?conditions=company/id="),
            (
                "agreements_href",
                "/finance/agreements?conditions=company/id=",
            ),
            ("tickets_href", "/service/tickets?conditions=company/id="),
            (
                "opportunities_href",
                "/sales/opportunities?conditions=company/id=",
            ),
            (
                "activities_href",
                "/sales/activities?conditions=company/id=",
            ),
            ("projects_href", "/project/projects?conditions=company/id="),
            (
                "configurations_href",
                "/company/configurations?conditions=company/id=",
            ),
            ("orders_href", "/sales/orders?conditions=company/id="),
            (
                "documents_href",
                "/system/documents?recordType=Company&recordId=",
            ),
        ] {
            key_href(out, k, api, format_args!("{path}{id}"));
        }
        for (k, tail) in [
            ("sites_href", "sites"),
            ("teams_href", "teams"),
            ("reports_href", "managementSummaryReports"),
            ("notes_href", "notes"),
        ] {
            key_href(out, k, api, format_args!("/company/companies/{id}/{tail}"));
        }
        out.push_str("},\"customFields\":[]}");
    }
}

impl Contact {
    pub(super) fn render(&self, d: &Data, out: &mut String) {
        let api = d.api.as_str();
        let id = self.id;
        out.push_str("{\"id\":");
        push_num(out, id);
        key_str(out, "firstName", &self.first);
        key_str(out, "lastName", self.last);
        let area = ADDRESSES[(self.seq % 8) as usize].4;
        let phone = format!("{area}555{:04}", (self.seq * 7 + 1) % 10_000);
        let domain = match self.company.and_then(|c| d.company(c)) {
            Some(c) => c.identifier.to_ascii_lowercase(),
            None => format!("former{}", self.company.unwrap_or(0)),
        };
        if let Some(c) = self.company {
            d.company_ref(out, "company", c);
            d.site_ref(out, c);
        }
        key(out, "inactiveFlag");
        push_bool(out, self.inactive);
        key_str(out, "title", self.title);
        out.push_str(",\"marriedFlag\":false,\"childrenFlag\":false,\"disablePortalLoginFlag\":true,\"unsubscribeFlag\":false");
        key(out, "mobileGuid");
        let _ = write!(out, "\"9a1d6e44-0000-4000-8000-{id:012}\"");
        key_str(out, "defaultPhoneType", "Direct");
        key_str(out, "defaultPhoneNbr", &phone);
        out.push_str(",\"defaultBillingFlag\":false,\"defaultFlag\":");
        push_bool(out, self.seq % 3 == 0);
        out.push_str(",\"communicationItems\":[{\"id\":");
        push_num(out, id * 10 + 1);
        out.push_str(",\"type\":");
        push_ref(
            out,
            api,
            2,
            None,
            "Direct",
            "type_href",
            "/company/communicationTypes/",
        );
        key_str(out, "value", &phone);
        out.push_str(",\"defaultFlag\":true,\"communicationType\":\"Phone\"},{\"id\":");
        push_num(out, id * 10 + 2);
        out.push_str(",\"type\":");
        push_ref(
            out,
            api,
            1,
            None,
            "Email",
            "type_href",
            "/company/communicationTypes/",
        );
        key(out, "value");
        let mut email = String::with_capacity(48);
        for c in self.first.chars().chain(['.']).chain(self.last.chars()) {
            if c.is_ascii_alphanumeric() || c == '.' {
                email.push(c.to_ascii_lowercase());
            }
        }
        let _ = write!(email, "{}@{domain}.example", self.seq % 1000);
        push_json_str(out, &email);
        out.push_str(",\"defaultFlag\":true,\"communicationType\":\"Email\"}]");
        key(out, "types");
        out.push('[');
        for (n, t) in CONTACT_TYPE_SETS[self.types as usize].iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let (tid, tname) = CONTACT_TYPES[*t as usize];
            push_ref(
                out,
                api,
                tid,
                None,
                tname,
                "type_href",
                "/company/contacts/types/",
            );
        }
        out.push_str("],\"customFields\":[],\"ignoreDuplicates\":false");
        out.push_str(",\"_info\":{\"lastUpdated\":\"");
        push_ts(out, self.last_updated);
        out.push('"');
        key_str(out, "updatedBy", self.updated_by);
        for tail in ["communications", "notes", "tracks", "portalSecurity"] {
            key_href(
                out,
                &format!("{tail}_href"),
                api,
                format_args!("/company/contacts/{id}/{tail}"),
            );
        }
        key_href(
            out,
            "activities_href",
            api,
            format_args!("/sales/activities?conditions=contact/id={id}"),
        );
        key_href(
            out,
            "documents_href",
            api,
            format_args!("/system/documents?recordType=Contact&recordId={id}"),
        );
        for (k, path) in [
            (
                "configurations_href",
                "/company/configurations?conditions=contact/id=",
            ),
            ("tickets_href", "/service/tickets?conditions=contact/id="),
            (
                "opportunities_href",
                "/sales/opportunities?conditions=contact/id=",
            ),
            ("projects_href", "/project/projects?conditions=contact/id="),
        ] {
            key_href(out, k, api, format_args!("{path}{id}"));
        }
        key(out, "image_href");
        out.push('"');
        out.push_str(api);
        let _ = write!(out, "/company/contacts/{id}/image?lastModified=");
        push_ts(out, self.last_updated);
        out.push_str("\"}}");
    }
}

impl Opportunity {
    pub(super) fn render(&self, d: &Data, out: &mut String) {
        let api = d.api.as_str();
        out.push_str("{\"id\":");
        push_num(out, self.id);
        key_str(out, "name", &self.name);
        key_ts(out, "expectedCloseDate", self.expected_close);
        let (tid, tname) = OPP_TYPES[self.kind as usize % OPP_TYPES.len()];
        key_ref(
            out,
            "type",
            api,
            tid,
            None,
            tname,
            "type_href",
            "/sales/opportunities/types/",
        );
        key_ref(
            out,
            "stage",
            api,
            self.stage,
            None,
            stage_name(self.stage),
            "stage_href",
            "/sales/stages/",
        );
        let status = opp_status(self.status);
        key_ref(
            out,
            "status",
            api,
            status.0,
            None,
            status.1,
            "status_href",
            "/sales/opportunities/statuses/",
        );
        key_ref(
            out,
            "priority",
            api,
            2,
            None,
            "Medium",
            "priority_href",
            "/sales/opportunities/priorities/",
        );
        key_str(out, "notes", &self.notes);
        key_ref(
            out,
            "probability",
            api,
            self.probability,
            None,
            &probability_percent(self.probability).to_string(),
            "probability_href",
            "/sales/probabilities/",
        );
        key_str(out, "source", &self.source);
        key_ref(
            out,
            "rating",
            api,
            1,
            None,
            "Hot",
            "rating_href",
            "/sales/opportunities/ratings/",
        );
        member_ref(out, api, "primarySalesRep", self.rep);
        out.push_str(",\"locationId\":11,\"businessUnitId\":10");
        d.company_ref(out, "company", self.company);
        if let Some(c) = self.contact {
            d.contact_ref(out, "contact", c);
        }
        d.site_ref(out, self.company);
        key_str(out, "customerPO", &self.customer_po);
        key_ts(out, "pipelineChangeDate", self.last_updated);
        key_ts(out, "dateBecameLead", self.date_entered);
        out.push_str(",\"totalSalesTax\":0.0,\"currency\":{\"id\":7,\"symbol\":\"$\",\"currencyCode\":\"USD\",\"name\":\"US Dollar\",\"_info\":{\"currency_href\":\"");
        out.push_str(api);
        out.push_str("/finance/currencies/7\"}},\"companyLocationId\":11");
        out.push_str(",\"_info\":{\"lastUpdated\":\"");
        push_ts(out, self.last_updated);
        out.push('"');
        key_str(out, "updatedBy", self.updated_by);
        key_ts(out, "dateEntered", self.date_entered);
        key_str(out, "enteredBy", MEMBERS[self.rep as usize % 2].1);
        out.push_str("},\"customFields\":[]");
        if let Some(closed) = self.closed_date {
            key_ts(out, "closedDate", closed);
            member_ref(out, api, "closedBy", self.rep);
        }
        out.push('}');
    }
}

impl Configuration {
    pub(super) fn short(&self, d: &Data) -> String {
        let (ident, _) = d.company_label(self.company);
        ident
            .chars()
            .filter(|c| c.is_ascii_uppercase())
            .take(3)
            .collect()
    }

    pub(super) fn name(&self, d: &Data) -> String {
        let kind = match self.kind % 3 {
            0 => "FW",
            1 => "SRV",
            _ => "WS",
        };
        format!("{}-{kind}{:02}", self.short(d), self.seq % 100)
    }

    pub(super) fn render(&self, d: &Data, out: &mut String) {
        let api = d.api.as_str();
        let (tid, tname, model, mid, mname) = CONFIG_TYPES[self.kind as usize % CONFIG_TYPES.len()];
        let short = self.short(d);
        out.push_str("{\"id\":");
        push_num(out, self.id);
        key_str(out, "name", &self.name(d));
        key_ref(
            out,
            "type",
            api,
            tid,
            None,
            tname,
            "type_href",
            "/company/configurations/types/",
        );
        let (sid, sname) = if self.active {
            (2, "Active")
        } else {
            (3, "Inactive")
        };
        key_ref(
            out,
            "status",
            api,
            sid,
            None,
            sname,
            "status_href",
            "/company/configurations/statuses/",
        );
        d.company_ref(out, "company", self.company);
        if let Some(c) = self.contact {
            d.contact_ref(out, "contact", c);
        }
        d.site_ref(out, self.company);
        out.push_str(",\"locationId\":11,\"businessUnitId\":10,\"deviceIdentifier\":\"\"");
        key(out, "serialNumber");
        let _ = write!(out, "\"SN{:010X}\"", mix(self.id) & 0xff_ffff_ffff);
        key_str(out, "modelNumber", model);
        key(out, "tagNumber");
        let _ = write!(out, "\"{short}-{:04}\"", self.seq % 10_000);
        key_ts(out, "purchaseDate", BASE_TS - 200 * 86_400);
        key_ts(out, "installationDate", BASE_TS - 193 * 86_400);
        key_ts(out, "warrantyExpirationDate", BASE_TS + 900 * 86_400);
        out.push_str(",\"vendorNotes\":\"\",\"notes\":\"\",\"macAddress\":\"\",\"lastLoginName\":\"\",\"billFlag\":true");
        key(out, "ipAddress");
        let _ = write!(
            out,
            "\"10.{}.{}.1\"",
            (self.seq / 250) % 250,
            self.seq % 250
        );
        out.push_str(",\"defaultGateway\":\"\",\"osType\":\"\",\"osInfo\":\"\",\"cpuSpeed\":\"\",\"ram\":\"\",\"localHardDrives\":\"\"");
        key_ref(
            out,
            "manufacturer",
            api,
            mid,
            None,
            mname,
            "manufacturer_href",
            "/procurement/manufacturers/",
        );
        key(out, "activeFlag");
        push_bool(out, self.active);
        key(out, "mobileGuid");
        let _ = write!(out, "\"c3e0a9b2-0000-4000-8000-{:012}\"", self.id);
        out.push_str(",\"_info\":{\"lastUpdated\":\"");
        push_ts(out, self.last_updated);
        out.push('"');
        key_str(out, "updatedBy", "jmorales");
        key_ts(out, "dateEntered", BASE_TS - 193 * 86_400);
        key_str(out, "enteredBy", "jmorales");
        out.push_str("},\"companyLocationId\":11,\"showRemoteFlag\":false,\"showAutomateFlag\":false,\"needsRenewalFlag\":false,\"customFields\":[]}");
    }
}

impl CatalogItem {
    pub(super) fn template(&self) -> &'static CatalogTemplate {
        &CATALOG[(self.seq % CATALOG.len() as u64) as usize]
    }

    pub(super) fn identifier(&self) -> Cow<'static, str> {
        let t = self.template();
        let round = self.seq / CATALOG.len() as u64;
        if round == 0 {
            Cow::Borrowed(t.0)
        } else {
            Cow::Owned(format!("{}-{}", t.0, round + 1))
        }
    }

    pub(super) fn render(&self, d: &Data, out: &mut String) {
        let api = d.api.as_str();
        let (_, desc, sub, typ, class, price, cost, recurring, cat) = *self.template();
        out.push_str("{\"id\":");
        push_num(out, self.id);
        key_str(out, "identifier", &self.identifier());
        key_str(out, "description", desc);
        key(out, "inactiveFlag");
        push_bool(out, self.inactive);
        key_ref(
            out,
            "subcategory",
            api,
            sub.0,
            None,
            sub.1,
            "subcategory_href",
            "/procurement/subcategories/",
        );
        key_ref(
            out,
            "type",
            api,
            typ.0,
            None,
            typ.1,
            "type_href",
            "/procurement/types/",
        );
        key_str(out, "productClass", class);
        out.push_str(
            ",\"serializedFlag\":false,\"serializedCostFlag\":false,\"phaseProductFlag\":false",
        );
        key_ref(
            out,
            "unitOfMeasure",
            api,
            1,
            None,
            "Each",
            "uom_href",
            "/procurement/unitOfMeasures/",
        );
        key(out, "price");
        push_f64(out, price);
        key(out, "cost");
        push_f64(out, cost);
        key_str(out, "priceAttribute", "FixedFee");
        out.push_str(",\"taxableFlag\":true,\"dropShipFlag\":false,\"specialOrderFlag\":false");
        key_str(out, "customerDescription", desc);
        out.push_str(",\"manufacturerPartNumber\":\"\",\"vendorSku\":\"\",\"notes\":\"\"");
        key(out, "recurringFlag");
        push_bool(out, recurring);
        key(out, "recurringRevenue");
        push_f64(out, if recurring { price } else { 0.0 });
        key(out, "recurringCost");
        push_f64(out, if recurring { cost } else { 0.0 });
        out.push_str(",\"recurringOneTimeFlag\":false");
        key_ts(out, "dateEntered", BASE_TS + 9 * 86_400);
        out.push_str(",\"calculatedPriceFlag\":false,\"calculatedCostFlag\":false");
        key_ref(
            out,
            "category",
            api,
            cat.0,
            None,
            cat.1,
            "category_href",
            "/procurement/categories/",
        );
        key(out, "calculatedPrice");
        push_f64(out, price);
        key(out, "calculatedCost");
        push_f64(out, cost);
        out.push_str(",\"_info\":{\"lastUpdated\":\"");
        push_ts(out, self.last_updated);
        out.push_str("\",\"updatedBy\":\"admin1\"},\"customFields\":[]}");
    }
}
