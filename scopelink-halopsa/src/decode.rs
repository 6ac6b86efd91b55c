//! The decoders of HaloPSA replies, public so the reliability suite's
//! property tests and fuzz targets can feed them arbitrary bytes. The
//! connector uses the same code: list pages go through [`records`],
//! token replies through [`token_reply`].

use crate::convert;
use crate::token::DEFAULT_LIFETIME;
use crate::wire::{ListReply, TokenResponse};
use scopelink_core::model::{DataType, Record};
use scopelink_core::ConnectorError;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::time::Duration;

/// The records of a HaloPSA list reply (a bare array, or a wrapper such as
/// `{"record_count": 2, "clients": [...]}`) for `data_type` (companies from
/// clients, contacts from users, opportunities from tickets). Items that do
/// not convert come back as rejected (provider id if known, reason); a body
/// that is not a list at all is a [`ConnectorError::Decode`].
#[allow(clippy::type_complexity)]
pub fn records(
    data_type: DataType,
    body: &[u8],
) -> Result<(Vec<Record>, Vec<(Option<String>, String)>), ConnectorError> {
    let keys: &[&str] = match data_type {
        DataType::Companies => &["clients"],
        DataType::Contacts => &["users"],
        DataType::Opportunities => &["tickets", "faults"],
        other => {
            return Err(ConnectorError::Unsupported {
                what: format!("{other} from HaloPSA"),
            })
        }
    };
    let what = format!("a HaloPSA {data_type} page");
    let value: Value = serde_json::from_slice(body).map_err(|e| ConnectorError::Decode {
        what: what.clone(),
        message: e.to_string(),
    })?;
    let list = ListReply::parse(value, keys).ok_or_else(|| ConnectorError::Decode {
        what,
        message: "expected a list".into(),
    })?;
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    for item in list.items {
        let converted = match data_type {
            DataType::Companies => convert::company(item).map(|c| Record::Company(c.company)),
            DataType::Contacts => convert::contact(item).map(Record::Contact),
            _ => convert::opportunity(item).map(Record::Opportunity),
        };
        match converted {
            Ok(r) => records.push(r),
            Err(e) => rejected.push(e),
        }
    }
    Ok((records, rejected))
}

/// The access token and its lifetime from a `POST /auth/token` reply;
/// `None` when the body is not a token reply (no JSON object, no non-blank
/// `access_token`). A missing, non-positive or unreadable `expires_in`
/// gives the default lifetime; a longer one than 30 days is capped.
pub fn token_reply(body: &[u8]) -> Option<(SecretString, Duration)> {
    let token: TokenResponse = serde_json::from_slice(body).ok()?;
    let secret = token
        .access_token
        .filter(|t| !t.expose_secret().trim().is_empty())?;
    let lifetime = token
        .expires_in
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s.min(30.0 * 86_400.0)).ok())
        .unwrap_or(DEFAULT_LIFETIME);
    Some((secret, lifetime))
}
