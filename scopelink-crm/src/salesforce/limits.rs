//! Salesforce's API request allocation: the `Sforce-Limit-Info` header read
//! on every response, and what `GET /limits` reports.
//!
//! Every REST response carries `Sforce-Limit-Info: api-usage=25/5000`
//! (possibly followed by `; per-app-api-usage=17/250(appName=x)`): requests
//! used in the rolling 24 hours, of the org's allocation. Once the
//! allocation is used up, calls fail with HTTP 403 `REQUEST_LIMIT_EXCEEDED`
//! and no `Retry-After`; the connector stops with
//! [`scopelink_core::ConnectorError::QuotaExhausted`] and retries nothing.

use std::fmt;

/// The header every REST response carries.
pub const LIMIT_HEADER: &str = "Sforce-Limit-Info";

/// Requests used of the org's rolling 24-hour allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    /// Requests used.
    pub used: u64,
    /// The allocation.
    pub max: u64,
}

impl ApiUsage {
    /// Requests left (zero when over).
    pub fn remaining(&self) -> u64 {
        self.max.saturating_sub(self.used)
    }

    /// Reads the `api-usage=used/max` part of a `Sforce-Limit-Info` value.
    /// `None` when it is missing or not two whole numbers.
    pub fn parse(header: &str) -> Option<ApiUsage> {
        header.split(';').find_map(|part| {
            let (key, value) = part.split_once('=')?;
            if !key.trim().eq_ignore_ascii_case("api-usage") {
                return None;
            }
            let (used, max) = value.trim().split_once('/')?;
            Some(ApiUsage {
                used: used.trim().parse().ok()?,
                max: max.trim().parse().ok()?,
            })
        })
    }
}

impl fmt::Display for ApiUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} daily API requests used", self.used, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_info_headers_are_read() {
        assert_eq!(
            ApiUsage::parse("api-usage=25/5000"),
            Some(ApiUsage {
                used: 25,
                max: 5000
            })
        );
        assert_eq!(
            ApiUsage::parse("api-usage=18/5000; per-app-api-usage=17/250(appName=sample)"),
            Some(ApiUsage {
                used: 18,
                max: 5000
            })
        );
        assert_eq!(
            ApiUsage::parse("per-app-api-usage=17/250(appName=x); api-usage=3/15000"),
            Some(ApiUsage {
                used: 3,
                max: 15000
            })
        );
        for bad in [
            "",
            "api-usage=",
            "api-usage=a/b",
            "api-usage=5",
            "usage=1/2",
        ] {
            assert_eq!(ApiUsage::parse(bad), None, "{bad}");
        }
        let u = ApiUsage {
            used: 5001,
            max: 5000,
        };
        assert_eq!(u.remaining(), 0);
        assert_eq!(u.to_string(), "5001 of 5000 daily API requests used");
    }
}
