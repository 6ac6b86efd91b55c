//! Outbound Messages: the SOAP `notifications` envelope a workflow rule's
//! outbound message action POSTs to its endpoint, shaped as the
//! Outbound Messaging WSDL defines it (namespace
//! `http://soap.sforce.com/2005/09/outbound`; `OrganizationId`,
//! `ActionId`, `SessionId` (nil unless the action sends one),
//! `EnterpriseUrl`, `PartnerUrl`, then up to 100 `Notification`s, each an
//! `Id` and an `sObject` typed `sf:{Type}` holding the record's fields).
//! There is no signature: a listener checks the organization id and the
//! action, and answers `<Ack>true</Ack>`.

use super::schema::SObject;
use super::server::SalesforceSim;
use super::*;

/// Notifications one message holds at most.
pub const MAX_NOTIFICATIONS: usize = 100;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null | Value::Array(_) | Value::Object(_) => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
    }
}

impl SalesforceSim {
    /// The HTTP headers and SOAP body of the Outbound Message that action
    /// `action_id` (`04k...`) would send for records `ids` (all of one
    /// type; unknown ids are left out; at most [`MAX_NOTIFICATIONS`], the
    /// rest left out: see [`SalesforceSim::outbound_messages`]).
    pub fn outbound_message(
        &self,
        action_id: &str,
        ids: &[&str],
    ) -> (Vec<(String, String)>, String) {
        let headers = vec![
            (
                "Content-Type".to_string(),
                "text/xml; charset=utf-8".to_string(),
            ),
            ("SOAPAction".to_string(), "\"\"".to_string()),
        ];
        let st = lock(&self.state);
        let org = st.config.organization_id.clone();
        let org15 = org.get(..15).unwrap_or(&org).to_string();
        let version = st
            .config
            .api_versions
            .last()
            .cloned()
            .unwrap_or_else(|| "62.0".into());
        let instance = self.instance_url();
        let mut body = String::new();
        body.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        body.push_str("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n <soapenv:Body>\n");
        body.push_str("  <notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">\n");
        body.push_str(&format!(
            "   <OrganizationId>{}</OrganizationId>\n",
            escape(&org)
        ));
        body.push_str(&format!("   <ActionId>{}</ActionId>\n", escape(action_id)));
        body.push_str("   <SessionId xsi:nil=\"true\"/>\n");
        body.push_str(&format!(
            "   <EnterpriseUrl>{}</EnterpriseUrl>\n",
            escape(&format!("{instance}/services/Soap/c/{version}/{org15}"))
        ));
        body.push_str(&format!(
            "   <PartnerUrl>{}</PartnerUrl>\n",
            escape(&format!("{instance}/services/Soap/u/{version}/{org15}"))
        ));
        let mut counter = 0u64;
        for id in ids {
            if counter as usize == MAX_NOTIFICATIONS {
                break;
            }
            let Some((object, row)) = SObject::ALL
                .iter()
                .find_map(|o| st.find(*o, id).map(|r| (*o, r)))
            else {
                continue;
            };
            counter += 1;
            let notification_id = state::id18(&format!("04l5g{:010}", counter));
            body.push_str("   <Notification>\n");
            body.push_str(&format!("    <Id>{notification_id}</Id>\n"));
            body.push_str(&format!(
                "    <sObject xsi:type=\"sf:{}\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">\n",
                object.name()
            ));
            for f in st.fields(object) {
                if let Some(v) = row.get(f.name).and_then(scalar) {
                    body.push_str(&format!("     <sf:{0}>{1}</sf:{0}>\n", f.name, escape(&v)));
                }
            }
            body.push_str("    </sObject>\n   </Notification>\n");
        }
        body.push_str("  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n");
        (headers, body)
    }

    /// [`SalesforceSim::outbound_message`] for any number of records: one
    /// message per [`MAX_NOTIFICATIONS`], as Salesforce splits them.
    pub fn outbound_messages(
        &self,
        action_id: &str,
        ids: &[&str],
    ) -> Vec<(Vec<(String, String)>, String)> {
        ids.chunks(MAX_NOTIFICATIONS)
            .map(|chunk| self.outbound_message(action_id, chunk))
            .collect()
    }

    /// The acknowledgement a listener answers with (`<Ack>true</Ack>` in a
    /// `notificationsResponse`), for tests of a listener's reply.
    pub fn outbound_ack() -> &'static str {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">\n <soapenv:Body>\n  <notificationsResponse xmlns=\"http://soap.sforce.com/2005/09/outbound\">\n   <Ack>true</Ack>\n  </notificationsResponse>\n </soapenv:Body>\n</soapenv:Envelope>\n"
    }
}
