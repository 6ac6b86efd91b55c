//! Serde types for HaloPSA's JSON.
//!
//! Every field is optional and read leniently: HaloPSA sends ids as integers
//! or as decimals (`site_id: 31.0`), sometimes as strings, and fields may be
//! missing or `null`. A value of an unexpected shape reads as `None` rather
//! than failing the whole record; the converters decide what is required.

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

/// The shared lenient readers (ids by the one rule of
/// [`scopelink_core::wire`]), used in this module's serde attributes.
pub(crate) use scopelink_core::wire::{
    lenient_bool, lenient_f64, lenient_id, lenient_text, value_id,
};

/// `POST /auth/token` success.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    /// The bearer token, held as a secret from the moment it is parsed.
    #[serde(default)]
    pub access_token: Option<SecretString>,
    /// Lifetime in seconds (read, never assumed).
    #[serde(default, deserialize_with = "lenient_f64")]
    pub expires_in: Option<f64>,
}

/// `GET /api/authinfo` (only these two fields are known to exist).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuthInfo {
    #[serde(default, deserialize_with = "lenient_text")]
    pub auth_url: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub tenant_id: Option<String>,
}

/// An agent (`GET /api/Agent/me`, `GET /api/Agent`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Agent {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub isdisabled: Option<bool>,
}

/// A client (`Area_List`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Client {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_id")]
    pub toplevel_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub toplevel_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub inactive: Option<bool>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub website: Option<String>,
    /// The client's main phone number (clients have no `phonenumber`;
    /// that is a user field).
    #[serde(default, deserialize_with = "lenient_text")]
    pub main_phonenumber: Option<String>,
}

/// A user, i.e. a client contact (`Users_List`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct User {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub firstname: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub surname: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub emailaddress: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub phonenumber: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub mobilenumber: Option<String>,
    #[serde(default, deserialize_with = "lenient_id")]
    pub client_id: Option<i64>,
}

/// An opportunity (a `Faults` ticket in the opportunities domain).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Opportunity {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub status_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_id")]
    pub client_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_id")]
    pub user_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub oppvalue: Option<f64>,
    #[serde(default, deserialize_with = "lenient_f64")]
    pub oppconversionprobability: Option<f64>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub targetdate: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub last_update: Option<String>,
}

/// A ticket status (`GET /api/Status`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Status {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub name: Option<String>,
}

/// A priority (`GET /api/Priority`): `id` is a GUID-like string; tickets
/// refer to `priorityid`, which repeats once per SLA.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Priority {
    #[serde(default, deserialize_with = "lenient_id")]
    pub priorityid: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub ishidden: Option<bool>,
}

/// A ticket type (`RequestType`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TicketType {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub inactive: Option<bool>,
}

/// Any created or updated ticket / project (`Faults`): only what the
/// connector reads back.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Ticket {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    /// Milestones, kept raw so an update can send them back unchanged.
    #[serde(default)]
    pub milestones: Option<Vec<Value>>,
}

/// A milestone of a project (`MileStone`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Milestone {
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_id")]
    pub sequence: Option<i64>,
}

/// A list reply: either a bare array, or a wrapper
/// `{page_no, page_size, record_count, <key>: [...]}`.
#[derive(Debug, Default)]
pub(crate) struct ListReply {
    /// The items, raw (each converted on its own so one bad item does not
    /// sink the page).
    pub items: Vec<Value>,
    /// The total across all pages, when the reply said.
    pub record_count: Option<u64>,
}

impl ListReply {
    /// Reads a list reply, looking for the items under `keys` in order, then
    /// under any array-valued field. `None` when the body is not a list at
    /// all.
    pub fn parse(body: Value, keys: &[&str]) -> Option<ListReply> {
        match body {
            Value::Array(items) => Some(ListReply {
                record_count: None,
                items,
            }),
            Value::Object(mut map) => {
                let record_count = map
                    .get("record_count")
                    .and_then(value_id)
                    .and_then(|n| u64::try_from(n).ok());
                let key = keys
                    .iter()
                    .find(|k| map.get(**k).is_some_and(Value::is_array))
                    .map(|k| k.to_string())
                    .or_else(|| {
                        map.iter()
                            .find(|(_, v)| v.is_array())
                            .map(|(k, _)| k.clone())
                    });
                let items = match key.and_then(|k| map.remove(&k)) {
                    Some(Value::Array(items)) => items,
                    // A wrapper with a count of zero may leave the list out.
                    _ if record_count == Some(0) => Vec::new(),
                    _ => return None,
                };
                Some(ListReply {
                    items,
                    record_count,
                })
            }
            _ => None,
        }
    }
}

/// The id of a created ticket from a reply that is a single object or an
/// array of them (the first item).
pub(crate) fn created_ticket(body: Value) -> Option<Ticket> {
    let item = match body {
        Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
        other => other,
    };
    serde_json::from_value::<Ticket>(item).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_read_leniently() {
        assert_eq!(value_id(&json!(31)), Some(31));
        assert_eq!(value_id(&json!(31.0)), Some(31));
        assert_eq!(value_id(&json!("31")), Some(31));
        assert_eq!(value_id(&json!(" 31.0 ")), Some(31));
        assert_eq!(value_id(&json!(31.5)), None);
        assert_eq!(value_id(&json!(null)), None);
        assert_eq!(value_id(&json!([1])), None);
        assert_eq!(value_id(&json!(1e300)), None);
    }

    #[test]
    fn users_fixture_reads_with_decimal_site_ids() {
        let body: Value =
            serde_json::from_str(include_str!("../../fixtures/halopsa/users.json")).unwrap();
        let list = ListReply::parse(body, &["users"]).unwrap();
        assert_eq!(list.record_count, Some(3));
        let users: Vec<User> = list
            .items
            .into_iter()
            .map(|u| serde_json::from_value(u).unwrap())
            .collect();
        assert_eq!(users[2].client_id, Some(99));
        assert_eq!(
            users[0].emailaddress.as_deref(),
            Some("priya.natarajan@brightwater-dental.example")
        );
    }

    #[test]
    fn odd_shapes_do_not_fail_the_record() {
        let c: Client = serde_json::from_value(json!({
            "id": "12", "name": 7, "inactive": "1", "toplevel_id": null, "website": {"x": 1},
            "unknown": [1, 2, 3]
        }))
        .unwrap();
        assert_eq!(c.id, Some(12));
        assert_eq!(c.name.as_deref(), Some("7"));
        assert_eq!(c.inactive, Some(true));
        assert_eq!(c.toplevel_id, None);
        assert_eq!(c.website, None);
    }

    #[test]
    fn list_replies_bare_or_wrapped() {
        let bare = ListReply::parse(json!([{"id": 1}]), &["x"]).unwrap();
        assert_eq!(bare.items.len(), 1);
        assert_eq!(bare.record_count, None);
        let wrapped = ListReply::parse(
            json!({"record_count": 5.0, "faults": [{}, {}]}),
            &["tickets"],
        )
        .unwrap();
        assert_eq!(wrapped.items.len(), 2);
        assert_eq!(wrapped.record_count, Some(5));
        let empty = ListReply::parse(json!({"record_count": 0}), &["clients"]).unwrap();
        assert!(empty.items.is_empty());
        assert!(ListReply::parse(json!({"message": "hi"}), &["clients"]).is_none());
        assert!(ListReply::parse(json!("text"), &["clients"]).is_none());
    }

    #[test]
    fn created_reply_single_or_array() {
        let one = created_ticket(json!({"id": 4321, "milestones": [{"id": 801}]})).unwrap();
        assert_eq!(one.id, Some(4321));
        assert_eq!(one.milestones.map(|m| m.len()), Some(1));
        let many = created_ticket(json!([{"id": 4322.0}, {"id": 4323}])).unwrap();
        assert_eq!(many.id, Some(4322));
        assert!(created_ticket(json!("nope")).is_none());
        let token: TokenResponse =
            serde_json::from_str(include_str!("../../fixtures/halopsa/token.json")).unwrap();
        assert_eq!(token.expires_in, Some(3600.0));
        assert!(!format!("{token:?}").contains("eyJ"));
    }
}
