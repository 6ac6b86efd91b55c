//! Answers: Salesforce's error bodies (a JSON array of
//! `{message, errorCode, fields?}`) and the success shapes.

use super::*;

/// An answer: status, extra headers and JSON body (none for 204).
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) body: Option<Value>,
}

impl Reply {
    /// A JSON answer.
    pub(super) fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    /// An empty answer (204 No Content).
    pub(super) fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    /// Salesforce's error body with one error.
    pub(super) fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(status, json!([{"message": message, "errorCode": code}]))
    }

    /// Salesforce's error body naming the fields at fault.
    pub(super) fn field_error(status: u16, code: &str, message: &str, fields: &[&str]) -> Self {
        Self::json(
            status,
            json!([{"message": message, "errorCode": code, "fields": fields}]),
        )
    }

    /// 404 `NOT_FOUND`, "The requested resource does not exist".
    pub(super) fn not_found() -> Self {
        Self::error(404, "NOT_FOUND", "The requested resource does not exist")
    }

    /// 401 `INVALID_SESSION_ID`.
    pub(super) fn invalid_session() -> Self {
        Self::error(401, "INVALID_SESSION_ID", "Session expired or invalid")
    }

    /// 403 `REQUEST_LIMIT_EXCEEDED` (the daily allocation is spent).
    pub(super) fn limit_exceeded() -> Self {
        Self::error(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
    }

    /// An injected failure with the body Salesforce sends for `status`.
    pub(super) fn injected(status: u16) -> Self {
        match status {
            403 => Self::limit_exceeded(),
            401 => Self::invalid_session(),
            503 => Self::error(
                503,
                "SERVER_UNAVAILABLE",
                "Server temporarily unavailable, please try again later.",
            ),
            500 => Self::error(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)",
            ),
            s => Self::error(s, "UNKNOWN_EXCEPTION", &format!("Simulated HTTP {s}.")),
        }
    }
}
