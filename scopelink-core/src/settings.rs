//! A connection's settings as a provider's serde type.
//!
//! A [`Connection`](crate::Connection) keeps its non-secret settings as
//! text keys and values. Each connector declares its settings as a serde
//! type (`<Provider>Settings`: its field names are the keys) and reads and
//! writes it through [`read()`] and [`write()`], so no connector hand-writes
//! key lookups.
//!
//! Fields are text (`String`, `Option<String>`): the map holds text, and a
//! connector parses an id or number where it uses it, with an error that
//! names the setting. Reading trims every value and treats a blank one as
//! absent, so an
//! `Option` field is `None` and a field with a serde default takes it; keys
//! the type does not name (such as a detected API base stored beside the
//! typed settings) are ignored. Writing leaves out `None` fields.

use crate::error::ConnectorError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Reads settings of type `T` from a connection's settings map. A missing
/// required field (one without a serde default) or a value that does not
/// fit its field is a [`ConnectorError::InvalidConfig`] on `settings`
/// naming the field.
pub fn read<T: DeserializeOwned>(map: &BTreeMap<String, String>) -> Result<T, ConnectorError> {
    let object: Map<String, Value> = map
        .iter()
        .map(|(k, v)| (k, v.trim()))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), Value::String(v.to_string())))
        .collect();
    serde_json::from_value(Value::Object(object)).map_err(|e| ConnectorError::InvalidConfig {
        field: "settings",
        message: format!(
            "the connection's settings could not be read: {e}; correct them in the connection form"
        ),
    })
}

/// Writes settings into a connection's settings map: text fields as they
/// are, numbers and flags as their JSON text, `None` fields left out. A
/// type that does not serialize to an object of fields writes nothing.
pub fn write<T: Serialize>(settings: &T) -> BTreeMap<String, String> {
    let Ok(Value::Object(object)) = serde_json::to_value(settings) else {
        return BTreeMap::new();
    };
    object
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::Null => None,
            Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct DemoSettings {
        host: String,
        tenant: Option<String>,
        board_id: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    struct Required {
        host: String,
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_are_trimmed_blanks_absent_unknown_keys_ignored() {
        let s: DemoSettings = read(&map(&[
            ("host", " acme.example.com "),
            ("tenant", "  "),
            ("api_base", "https://x.example/"),
        ]))
        .unwrap();
        assert_eq!(
            s,
            DemoSettings {
                host: "acme.example.com".into(),
                tenant: None,
                board_id: None,
            }
        );
        let empty: DemoSettings = read(&BTreeMap::new()).unwrap();
        assert_eq!(empty, DemoSettings::default());
    }

    #[test]
    fn a_value_that_does_not_fit_is_a_typed_error() {
        let err = read::<Required>(&map(&[("host", "  ")])).unwrap_err();
        let ConnectorError::InvalidConfig { field, message } = err else {
            panic!("{err:?}")
        };
        assert_eq!(field, "settings");
        assert!(message.contains("missing field `host`"), "{message}");
        let ok: Required = read(&map(&[("host", "h")])).unwrap();
        assert_eq!(ok.host, "h");
    }

    #[test]
    fn writing_leaves_out_none_and_reads_back() {
        let s = DemoSettings {
            host: "acme.example.com".into(),
            tenant: Some("t1".into()),
            board_id: None,
        };
        let written = write(&s);
        assert_eq!(
            written,
            map(&[("host", "acme.example.com"), ("tenant", "t1")])
        );
        assert_eq!(read::<DemoSettings>(&written).unwrap(), s);
        assert!(write(&7).is_empty());
    }
}
