//! Replies and errors.

use super::*;

pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
    pub(super) headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(super) fn json(status: u16, v: &Value) -> Self {
        Self {
            status,
            body: v.to_string().into_bytes(),
            headers: Vec::new(),
        }
    }

    pub(super) fn raw(status: u16, body: String) -> Self {
        Self {
            status,
            body: body.into_bytes(),
            headers: Vec::new(),
        }
    }

    pub(super) fn header(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.headers.push((k, v.into()));
        self
    }
}

pub(super) fn error(status: u16, code: &str, message: impl Into<String>) -> Reply {
    Reply::json(status, &json!({"code": code, "message": message.into()}))
}

pub(super) fn not_endpoint() -> Reply {
    error(404, "ConnectWiseApi", "The endpoint does not exist.")
}

pub(super) fn not_found(label: &str, id: impl std::fmt::Display) -> Reply {
    error(404, "NotFound", format!("{label} {id} not found"))
}

pub(super) fn method_not_allowed(method: &str) -> Reply {
    error(
        405,
        "ConnectWiseApi",
        format!("The requested resource does not support http method '{method}'."),
    )
}

/// One item of a validation error: (code, field, message).
pub(super) type Problem = (&'static str, String, String);

pub(super) fn invalid(resource: &str, problems: Vec<Problem>) -> Reply {
    let errors: Vec<Value> = problems
        .into_iter()
        .map(|(code, field, message)| {
            json!({"code": code, "message": message, "resource": resource, "field": field})
        })
        .collect();
    Reply::json(
        400,
        &json!({
            "code": "InvalidObject",
            "message": format!("{resource} object is invalid"),
            "errors": errors,
        }),
    )
}

pub(super) fn bad_request(message: impl Into<String>) -> Reply {
    error(400, "InvalidObject", message)
}
