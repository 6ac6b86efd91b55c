//! The decoders of HaloPSA replies, reached through the crate's hidden
//! `fuzz` module so the reliability suite's property tests and fuzz targets
//! can feed them arbitrary bytes. The connector uses the same code: token
//! replies go through [`token_reply`]; list pages are read by [`records`]
//! with the same list reader and record conversions the connector's
//! streams use.

use crate::convert;
use crate::token::DEFAULT_LIFETIME;
use crate::wire::{ListReply, TokenResponse};
use scopelink_core::model::{DataType, Record};
use scopelink_core::{ConnectorError, Rejected};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::time::Duration;

/// The records of a HaloPSA list reply (a bare array, or a wrapper such as
/// `{"record_count": 2, "clients": [...]}`) for `data_type` (companies from
/// clients, contacts from users, opportunities from tickets). Items that do
/// not convert come back as [`Rejected`] (provider id if known, reason); a body
/// that is not a list at all is a [`ConnectorError::Decode`].
pub fn records(
    data_type: DataType,
    body: &[u8],
) -> Result<(Vec<Record>, Vec<Rejected>), ConnectorError> {
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
/// `access_token`). A missing, non-positive, sub-nanosecond or unreadable
/// `expires_in` gives the default lifetime; a longer one than 30 days is
/// capped.
pub fn token_reply(body: &[u8]) -> Option<(SecretString, Duration)> {
    let token: TokenResponse = serde_json::from_slice(body).ok()?;
    let secret = token
        .access_token
        .filter(|t| !t.expose_secret().trim().is_empty())?;
    let lifetime = token
        .expires_in
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s.min(30.0 * 86_400.0)).ok())
        // A positive value below a nanosecond (1e-308) rounds to zero: a
        // token that would be refetched on every call.
        .filter(|d| !d.is_zero())
        .unwrap_or(DEFAULT_LIFETIME);
    Some((secret, lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_lifetimes() {
        let life = |body: &str| token_reply(body.as_bytes()).map(|(_, d)| d);
        assert_eq!(
            life(r#"{"access_token":"t","expires_in":3600}"#),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            life(r#"{"access_token":"t","expires_in":1e-308}"#),
            Some(DEFAULT_LIFETIME)
        );
        assert_eq!(
            life(r#"{"access_token":"t","expires_in":-1}"#),
            Some(DEFAULT_LIFETIME)
        );
        assert_eq!(
            life(r#"{"access_token":"t","expires_in":1e308}"#),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(life(r#"{"access_token":" "}"#), None);
        assert_eq!(life("<html>"), None);
    }

    #[test]
    fn records_of_a_wrapper_and_a_bare_array() {
        let (ok, bad) = records(
            DataType::Companies,
            br#"{"clients":[{"id":1,"name":"A"},{"id":0}]}"#,
        )
        .unwrap();
        assert_eq!((ok.len(), bad.len()), (1, 1));
        let (ok, _) = records(
            DataType::Contacts,
            br#"[{"id":4,"name":"Ann Lee","client_id":1}]"#,
        )
        .unwrap();
        assert_eq!(ok.len(), 1);
        assert!(records(DataType::Opportunities, b"{}").is_err());
        assert!(records(DataType::CatalogItems, b"[]").is_err());
    }
}
