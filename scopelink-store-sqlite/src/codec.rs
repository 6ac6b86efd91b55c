//! How values are written to and read from columns.

use crate::db::DbError;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Display;

/// A timestamp as fixed-width RFC 3339 text (nanoseconds, `Z`), so text
/// order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Reads a timestamp written by [`ts`]; `what` names the row for the error.
pub(crate) fn parse_ts(text: &str, what: impl Display) -> Result<DateTime<Utc>, DbError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| DbError::new(format!("{what} has an unreadable timestamp: {e}")))
}

/// A value as JSON text.
pub(crate) fn to_json<T: Serialize + ?Sized>(
    value: &T,
    what: impl Display,
) -> Result<String, DbError> {
    serde_json::to_string(value).map_err(|e| DbError::new(format!("cannot encode {what}: {e}")))
}

/// A value from JSON text; a row that does not parse is an error naming the
/// row (serde's message gives the position and expected shape).
pub(crate) fn from_json<T: DeserializeOwned>(text: &str, what: impl Display) -> Result<T, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::new(format!("{what} is not readable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn timestamps_are_fixed_width_and_round_trip() {
        let a = Utc.timestamp_opt(1_700_000_000, 5).unwrap();
        let b = Utc.timestamp_opt(1_700_000_000, 400_000_000).unwrap();
        let c = Utc.timestamp_opt(1_700_000_001, 0).unwrap();
        let (ta, tb, tc) = (ts(a), ts(b), ts(c));
        assert_eq!(ta.len(), tb.len());
        assert_eq!(tb.len(), tc.len());
        assert!(ta < tb && tb < tc, "{ta} {tb} {tc}");
        assert_eq!(parse_ts(&ta, "row").unwrap(), a);
        assert_eq!(parse_ts(&tb, "row").unwrap(), b);
    }

    #[test]
    fn bad_values_are_errors_naming_the_row() {
        let err = parse_ts("yesterday", "activity entry 3").unwrap_err();
        assert!(err.text().starts_with("activity entry 3"), "{err}");
        let err = from_json::<Vec<u8>>("{not json", "the record x").unwrap_err();
        assert!(
            err.text().starts_with("the record x is not readable"),
            "{err}"
        );
    }
}
