//! Error bodies: the provider's message found in an error body, with the
//! credentials the request carried scrubbed from it.

use super::Request;
use reqwest::StatusCode;
use serde_json::Value;

/// Longest provider message kept in [`HttpError::Status`], in characters.
///
/// [`HttpError::Status`]: crate::error::HttpError::Status
const MESSAGE_LIMIT: usize = 300;

/// At most `limit` characters of `text`, with an ellipsis when cut.
pub(super) fn clip(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// `message` with every credential the request carried replaced by `***`,
/// in every form a server may echo it (see [`crate::scrub::Scrubber`]):
/// some servers echo the request (a form's `client_secret`, the
/// `Authorization` value or the pair behind it) in their error bodies, and
/// the message is logged and shown to users.
pub(super) fn scrub_echoed_secrets(message: String, request: &Request) -> String {
    crate::scrub::Scrubber::for_request(request).scrub(&message)
}

pub(super) fn status_reason(status: StatusCode) -> String {
    status
        .canonical_reason()
        .map_or_else(|| format!("HTTP {}", status.as_u16()), str::to_string)
}

/// The provider's message in an error body: the usual JSON keys
/// (`message`, `Message`, `error_description` (after the OAuth `error`
/// code), `error.message`, `error`, `errors[0]` / `errors[0].message`,
/// `[0].message`, `title` / `detail`), else the body's text; at most 300
/// characters. `None` for an empty body.
pub fn error_message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let message = match serde_json::from_str::<Value>(text) {
        Ok(value) => match json_message(&value) {
            Some(message) => message,
            None if is_empty_json(&value) => return None,
            None => text.to_string(),
        },
        Err(_) => text.to_string(),
    };
    let collapsed = message.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return None;
    }
    Some(clip(&collapsed, MESSAGE_LIMIT))
}

fn is_empty_json(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn non_empty_str(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The message of an `errors` entry: a string or an object's `message`.
fn entry_message(entry: &Value) -> Option<&str> {
    non_empty_str(Some(entry)).or_else(|| {
        non_empty_str(entry.get("message")).or_else(|| non_empty_str(entry.get("Message")))
    })
}

fn json_message(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Array(items) => items.first().and_then(entry_message).map(str::to_string),
        Value::Object(map) => {
            let key = |k: &str| non_empty_str(map.get(k));
            let details: Vec<&str> = map
                .get("errors")
                .and_then(Value::as_array)
                .map(|errors| errors.iter().filter_map(entry_message).take(3).collect())
                .unwrap_or_default();
            if let Some(message) = key("message").or_else(|| key("Message")) {
                let details: Vec<&str> = details.into_iter().filter(|d| *d != message).collect();
                return Some(if details.is_empty() {
                    message.to_string()
                } else {
                    format!("{message} ({})", details.join("; "))
                });
            }
            if let Some(description) = key("error_description") {
                return Some(match key("error") {
                    Some(code) => format!("{code}: {description}"),
                    None => description.to_string(),
                });
            }
            if let Some(message) = map.get("error").and_then(|e| {
                non_empty_str(e.get("message")).or_else(|| non_empty_str(e.get("Message")))
            }) {
                return Some(message.to_string());
            }
            if let Some(code) = key("error") {
                return Some(code.to_string());
            }
            if !details.is_empty() {
                return Some(details.join("; "));
            }
            match (key("title"), key("detail")) {
                (Some(title), Some(detail)) => return Some(format!("{title}: {detail}")),
                (Some(one), None) | (None, Some(one)) => return Some(one.to_string()),
                (None, None) => {}
            }
            // Field-keyed validation errors: {"[0].name": "is required"}.
            if !map.is_empty() && map.len() <= 5 && map.values().all(|v| v.is_string()) {
                let parts: Vec<String> = map
                    .iter()
                    .filter_map(|(k, v)| non_empty_str(Some(v)).map(|v| format!("{k}: {v}")))
                    .collect();
                if !parts.is_empty() {
                    return Some(parts.join("; "));
                }
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Method;
    use super::*;
    use url::Url;

    #[test]
    fn echoed_credentials_are_scrubbed_from_provider_messages() {
        let url = Url::parse("https://h.example/auth/token").unwrap();
        let request = Request::new(Method::POST, url)
            .secret_header(
                "Authorization",
                &secrecy::SecretString::from("Bearer tok-123456"),
            )
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "client-abc"),
                ("client_secret", "s3cr3t-value"),
            ]);
        let scrubbed = scrub_echoed_secrets(
            "bad client_secret=s3cr3t-value for grant_type client_credentials, token tok-123456 (Bearer tok-123456)".into(),
            &request,
        );
        assert_eq!(
            scrubbed,
            "bad client_secret=*** for grant_type client_credentials, token *** (***)"
        );
    }
}
