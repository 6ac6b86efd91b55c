//! Webhook callouts as Autotask sends them: the JSON body serialized with
//! .NET's escaping, signed with HMAC-SHA1 over the raw bytes.

use super::*;
use base64::Engine as _;
use scopelink_core::webhook::{hmac, HmacAlgorithm};

/// A callout: its headers and raw body.
pub type Callout = (Vec<(String, String)>, Vec<u8>);

/// A registered webhook: its record (`CompanyWebhooks` / `ContactWebhooks`
/// row) and its field subscriptions.
#[derive(Debug, Clone, PartialEq)]
pub struct SimWebhook {
    /// The webhook's id.
    pub id: i64,
    /// The entity type its callouts carry (`Company`, `Contact`).
    pub entity_type: String,
    /// The webhook record, with `secretKey` and `webhookGUID`.
    pub record: Value,
    /// Its `Fields` children (`fieldID`, `isSubscribedField`,
    /// `isDisplayAlwaysField`, `webhookID`).
    pub fields: Vec<Value>,
}

/// Writes `s` as a JSON string the way Autotask's serializer does: `&`,
/// `<`, `>`, `'`, `+`, `` ` `` and every non-ASCII character as `\uXXXX`
/// (upper-case hex, UTF-16 units), control characters escaped.
fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '&' | '<' | '>' | '\'' | '+' | '`' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c if (c as u32) < 0x20 || !c.is_ascii() => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Compact JSON of `v` with Autotask's string escaping, keys in the map's
/// order.
pub(super) fn dotnet_json(v: &Value) -> String {
    fn write(out: &mut String, v: &Value) {
        match v {
            Value::String(s) => push_string(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(out, item);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (k, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_string(out, k);
                    out.push(':');
                    write(out, item);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(&mut out, v);
    out
}

/// A JSON object of already encoded `(key, value)` members, in order.
pub(super) fn ordered_object(members: &[(String, String)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(&mut out, k);
        out.push(':');
        out.push_str(v);
    }
    out.push('}');
    out
}

/// `X-Hook-Signature`'s value for `body` signed with `secret`:
/// `sha1=` + base64(HMAC-SHA1(secret, body)).
pub fn hook_signature(secret: &str, body: &[u8]) -> String {
    let mac = hmac(HmacAlgorithm::Sha1, secret.as_bytes(), body);
    format!(
        "sha1={}",
        base64::engine::general_purpose::STANDARD.encode(mac)
    )
}

impl State {
    /// Every registered webhook.
    pub(super) fn webhooks(&self) -> Vec<SimWebhook> {
        let mut out = Vec::new();
        for kind in ["Company", "Contact"] {
            let Some((hooks, fields, _)) = webhook_entities(kind) else {
                continue;
            };
            for (id, record) in self.tables.get(hooks).into_iter().flatten() {
                out.push(SimWebhook {
                    id: *id,
                    entity_type: kind.to_string(),
                    record: record.clone(),
                    fields: self
                        .tables
                        .get(fields)
                        .into_iter()
                        .flatten()
                        .map(|(_, f)| f)
                        .filter(|f| f.get("webhookID").and_then(id_of) == Some(*id))
                        .cloned()
                        .collect(),
                });
            }
        }
        out.sort_by_key(|w| w.id);
        out
    }

    /// The callout of webhook `webhook_id` for `action` on `entity_id`:
    /// headers and raw body. `None` when there is no such webhook.
    pub(super) fn callout(
        &mut self,
        webhook_id: i64,
        action: &str,
        entity_id: i64,
    ) -> Option<Callout> {
        let hook = self.webhooks().into_iter().find(|w| w.id == webhook_id)?;
        let (_, _, watched) = webhook_entities(&hook.entity_type)?;
        let row = self
            .tables
            .get(watched)
            .and_then(|t| t.get(&entity_id))
            .cloned();
        self.callout_for_row(&hook, action, entity_id, row.as_ref())
    }

    /// The callout of `hook` for `action` on record `entity_id` holding
    /// `row` (`None`: gone, no `Fields`).
    fn callout_for_row(
        &mut self,
        hook: &SimWebhook,
        action: &str,
        entity_id: i64,
        row: Option<&Value>,
    ) -> Option<Callout> {
        let (_, _, watched) = webhook_entities(&hook.entity_type)?;
        let def = entity_def(watched)?;
        let mut ids = subscribed_ids(hook, true);
        ids.sort_unstable();
        ids.dedup();
        let mut fields = Vec::new();
        if let Some(row) = row {
            for id in ids {
                if let Some(field) = def.fields.iter().find(|f| f.webhook_id == Some(id)) {
                    let value = row.get(field.name).cloned().unwrap_or(Value::Null);
                    fields.push((field.name.to_string(), dotnet_json(&value)));
                }
            }
        }
        let sequence = self.sequence;
        self.sequence += 1;
        let event_time = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let guid = hook
            .record
            .get("webhookGUID")
            .cloned()
            .unwrap_or(Value::Null);
        let body = [
            ("Action".to_string(), dotnet_json(&json!(action))),
            ("Guid".to_string(), dotnet_json(&guid)),
            (
                "EntityType".to_string(),
                dotnet_json(&json!(hook.entity_type)),
            ),
            ("Id".to_string(), entity_id.to_string()),
            ("Fields".to_string(), ordered_object(&fields)),
            ("EventTime".to_string(), dotnet_json(&json!(event_time))),
            ("SequenceNumber".to_string(), sequence.to_string()),
            ("PersonID".to_string(), seed::OWNER.to_string()),
        ];
        let raw = ordered_object(&body).into_bytes();
        let secret = hook
            .record
            .get("secretKey")
            .and_then(Value::as_str)
            .unwrap_or("");
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("X-Hook-Signature".to_string(), hook_signature(secret, &raw)),
        ];
        Some((headers, raw))
    }

    /// Queues the callouts Autotask would send for `action` on row `id` of
    /// `entity` (`row`: the record after a create or update, before a
    /// delete): to every active, ready webhook of that entity subscribed to
    /// the action, and for an update only when a subscribed field is among
    /// `changed`.
    pub(super) fn queue_callouts(
        &mut self,
        entity: &str,
        action: &str,
        id: i64,
        row: &Value,
        changed: &[&str],
    ) {
        let Some(kind) = entity_def(entity).and_then(|d| d.webhook_type) else {
            return;
        };
        let Some((_, _, watched)) = webhook_entities(kind) else {
            return;
        };
        let Some(def) = entity_def(watched) else {
            return;
        };
        let flag = match action {
            "Create" => "isSubscribedToCreateEvents",
            "Update" => "isSubscribedToUpdateEvents",
            _ => "isSubscribedToDeleteEvents",
        };
        let hooks: Vec<SimWebhook> = self
            .webhooks()
            .into_iter()
            .filter(|w| w.entity_type == kind)
            .filter(|w| {
                ["isActive", "isReady", flag]
                    .iter()
                    .all(|k| w.record.get(*k).and_then(Value::as_bool) == Some(true))
            })
            .collect();
        for hook in hooks {
            if action == "Update" {
                let subscribed = subscribed_ids(&hook, false);
                let hit = def.fields.iter().any(|f| {
                    f.webhook_id.is_some_and(|i| subscribed.contains(&i))
                        && changed.contains(&f.name)
                });
                if !hit {
                    continue;
                }
            }
            let url = hook
                .record
                .get("webhookUrl")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Some((headers, body)) = self.callout_for_row(&hook, action, id, Some(row)) {
                self.outbox.push(QueuedCallout {
                    webhook_id: hook.id,
                    url,
                    headers,
                    body,
                });
            }
        }
    }
}

/// The field ids a webhook subscribes to (with `display_always`, also those
/// it always shows).
fn subscribed_ids(hook: &SimWebhook, display_always: bool) -> Vec<i64> {
    hook.fields
        .iter()
        .filter(|f| {
            f.get("isSubscribedField").and_then(Value::as_bool) == Some(true)
                || (display_always
                    && f.get("isDisplayAlwaysField").and_then(Value::as_bool) == Some(true))
        })
        .filter_map(|f| f.get("fieldID").and_then(id_of))
        .collect()
}

/// A callout Autotask would have POSTed after a change: where to, its
/// headers and its raw body.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedCallout {
    /// The webhook it is for.
    pub webhook_id: i64,
    /// The webhook's `webhookUrl`.
    pub url: String,
    /// `Content-Type` and `X-Hook-Signature`.
    pub headers: Vec<(String, String)>,
    /// The raw body (sign and verify these bytes).
    pub body: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The notes' sample callout (`fixtures/autotask/webhook_callout.json`):
    /// its parsed body, written with Autotask's escaping in its key order,
    /// gives back its raw body byte for byte.
    #[test]
    fn the_sample_callout_body_is_reproduced_byte_for_byte() {
        let sample: Value = serde_json::from_str(include_str!(
            "../../../fixtures/autotask/webhook_callout.json"
        ))
        .unwrap_or(Value::Null);
        let parsed = &sample["parsedBody"];
        let fields: Vec<(String, String)> =
            ["companyName", "companyType", "isActive", "territoryID"]
                .iter()
                .map(|k| ((*k).to_string(), dotnet_json(&parsed["Fields"][*k])))
                .collect();
        let mut members = Vec::new();
        for k in [
            "Action",
            "Guid",
            "EntityType",
            "Id",
            "Fields",
            "EventTime",
            "SequenceNumber",
            "PersonID",
        ] {
            let v = if k == "Fields" {
                ordered_object(&fields)
            } else {
                dotnet_json(&parsed[k])
            };
            members.push((k.to_string(), v));
        }
        assert_eq!(
            ordered_object(&members),
            sample["rawBody"].as_str().unwrap_or("")
        );
    }

    #[test]
    fn strings_escape_like_the_dotnet_serializer() {
        assert_eq!(
            dotnet_json(&json!("a&b<c>d'e+f`g\"h\\i\né")),
            "\"a\\u0026b\\u003Cc\\u003Ed\\u0027e\\u002Bf\\u0060g\\\"h\\\\i\\n\\u00E9\""
        );
        assert_eq!(dotnet_json(&json!("😀")), "\"\\uD83D\\uDE00\"");
    }
}
