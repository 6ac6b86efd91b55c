//! [`SalesforceConnector`]: the session's bearer token on every call to the
//! org's instance, the API version, the limit header, Salesforce's error
//! bodies as typed errors, and the `Connector` impl.

use super::limits::{ApiUsage, LIMIT_HEADER};
use super::settings::{SalesforceSettings, SCOPES};
use super::wire;
use scopelink_core::base_url::{BaseUrlRules, PathRule};
use scopelink_core::connector::Connector;
use scopelink_core::error_hints::{is_web_page, ErrorHints};
use scopelink_core::http::{HttpClient, Method, PageLimits, Request, Response};
use scopelink_core::oauth::OAuthSession;
use scopelink_core::{ConnectorError, Error, FeatureCategory, HttpError, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use url::Url;

/// The API version used when the org's version list cannot be read and
/// none is configured (Winter '24, the version simple-salesforce pins).
pub const FALLBACK_API_VERSION: &str = "59.0";

/// The oldest API version the connector works with: `Opportunity.ContactId`
/// (the primary contact) exists from 46.0.
pub const MIN_API_VERSION: f64 = 46.0;

/// Query page sizes Salesforce accepts in `Sforce-Query-Options`.
pub const BATCH_SIZES: std::ops::RangeInclusive<u32> = 200..=2000;

/// The bounds of a page walk when `HttpConfig::pages` is `None`: pages of
/// 200 (the smallest batch) for [`PageLimits::PLAUSIBLE_RECORDS`].
pub(crate) const DEFAULT_PAGE_LIMITS: PageLimits =
    PageLimits::for_records(PageLimits::PLAUSIBLE_RECORDS, 200);

/// The address field named when the instance is wrong.
const ADDRESS: BaseUrlRules = BaseUrlRules {
    field: "oauth.instance_url",
    address: "the instance Salesforce sign-in returned (connect again)",
    example: "acme.my.salesforce.com",
    path: PathRule::Root,
};

/// What a Salesforce user checks when a call fails.
const HINTS: ErrorHints<'static> = ErrorHints {
    provider: "Salesforce",
    credentials: "the session",
    fix_credentials: "a refreshed session was refused too; connect the connection through Salesforce sign-in again (the user may be frozen, or the connected app's access revoked)",
    fix_permission: "give the connecting user's profile or permission set API Enabled and read/edit access to Accounts, Contacts, Opportunities and Opportunity Contact Roles (Setup > Users > Profiles)",
    address: &ADDRESS,
};

/// Error codes that name a field the provider refused.
const FIELD_CODES: [&str; 8] = [
    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "REQUIRED_FIELD_MISSING",
    "FIELD_INTEGRITY_EXCEPTION",
    "STRING_TOO_LONG",
    "INVALID_FIELD_FOR_INSERT_UPDATE",
    "NUMBER_OUTSIDE_VALID_RANGE",
    "INVALID_TYPE_ON_FIELD_IN_RECORD",
];

pub(crate) struct Inner {
    pub(crate) http: HttpClient,
    pub(crate) session: OAuthSession,
    pub(crate) settings: SalesforceSettings,
    /// `https://acme.my.salesforce.com/`.
    pub(crate) instance: Url,
    pub(crate) batch_size: Option<u32>,
    /// The configured or discovered API version (`59.0`).
    pub(crate) version: Mutex<Option<String>>,
    pub(crate) usage: Mutex<Option<ApiUsage>>,
}

/// The Salesforce connector: CRM records (Accounts as companies, Contacts,
/// Opportunities) in, opportunity updates out. Cheap to clone; clones
/// share the HTTP client, the OAuth session and the last API usage seen.
#[derive(Clone)]
pub struct SalesforceConnector {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for SalesforceConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceConnector")
            .field("instance", &self.inner.instance.as_str())
            .field("api_version", &*lock(&self.inner.version))
            .field("session", &self.inner.session)
            .finish_non_exhaustive()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Maps a failure to get a token to the error the user acts on.
pub(crate) fn token_error(e: Error) -> ConnectorError {
    match e {
        Error::OAuth(o) => match o {
            scopelink_core::oauth::OAuthError::Http(h) => ConnectorError::Http(h),
            other => ConnectorError::Authentication {
                message: format!("Salesforce sign-in: {other}"),
            },
        },
        Error::Connector(c) => c,
        Error::Http(h) => ConnectorError::Http(h),
        other => ConnectorError::Authentication {
            message: format!("the connection's Salesforce session could not be read: {other}"),
        },
    }
}

/// Reads a version text (`59.0`) as a number.
fn version_number(v: &str) -> Option<f64> {
    let v = v.trim().trim_start_matches(['v', 'V']);
    let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
    if major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !minor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    format!("{major}.{minor}").parse().ok()
}

/// The newest version in `GET /services/data/`'s answer.
pub(crate) fn newest_version(versions: &[wire::ApiVersion]) -> Option<String> {
    versions
        .iter()
        .filter_map(|v| {
            let text = v.version.as_deref()?;
            Some((version_number(text)?, text.trim().to_string()))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, text)| text)
}

/// A failed call's error entries, read from its body.
pub(crate) fn api_errors(body: &[u8]) -> Vec<wire::ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        Ok(v @ Value::Object(_)) => serde_json::from_value(v).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// The API version (`NN.0`) and batch size the settings ask for, checked
/// without any request: `None` for each left empty.
pub(crate) fn version_and_batch(
    settings: &SalesforceSettings,
) -> Result<(Option<String>, Option<u32>), ConnectorError> {
    let version = match settings.api_version.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => match version_number(v) {
            Some(n) if n >= MIN_API_VERSION => Some(format!("{n:.1}")),
            _ => {
                return Err(ConnectorError::InvalidConfig {
                    field: SalesforceSettings::API_VERSION,
                    message: format!("`{v}` is not a usable Salesforce API version; enter one such as 59.0 (46.0 or newer), or leave it empty for the newest the org offers"),
                })
            }
        },
    };
    let batch_size = match settings.batch_size.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(b) => match b.parse::<u32>() {
            Ok(n) if BATCH_SIZES.contains(&n) => Some(n),
            _ => {
                return Err(ConnectorError::InvalidConfig {
                    field: SalesforceSettings::BATCH_SIZE,
                    message: format!("`{b}` is not a batch size Salesforce accepts; enter a number from 200 to 2000, or leave it empty"),
                })
            }
        },
    };
    Ok((version, batch_size))
}

impl SalesforceConnector {
    /// A connector for the authorized connection whose `settings` are
    /// given, authenticating through `session` (the core's OAuth session
    /// of the same connection; refreshes are single-flight across clones),
    /// sending through `http`.
    ///
    /// Fails with [`ConnectorError::InvalidConfig`] when the instance URL is
    /// missing (never authorized) or not a Salesforce host the client's
    /// address policy allows, or when the API version or batch size is not
    /// usable.
    pub fn new(
        settings: SalesforceSettings,
        session: OAuthSession,
        http: HttpClient,
    ) -> Result<Self, ConnectorError> {
        let instance = settings.instance(http.config().addresses)?;
        let (version, batch_size) = version_and_batch(&settings)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                session,
                settings,
                instance,
                batch_size,
                version: Mutex::new(version),
                usage: Mutex::new(None),
            }),
        })
    }

    /// [`SalesforceConnector::new`] with the settings read from
    /// `connection` (what a connector registry calls).
    pub fn from_connection(
        connection: &scopelink_core::Connection,
        session: OAuthSession,
        http: HttpClient,
    ) -> Result<Self, ConnectorError> {
        if connection.provider != Provider::Salesforce {
            return Err(ConnectorError::InvalidConfig {
                field: "provider",
                message: format!(
                    "connection {} is a {:?} connection, not a Salesforce one",
                    connection.id, connection.provider
                ),
            });
        }
        Self::new(
            SalesforceSettings::from_map(&connection.settings)?,
            session,
            http,
        )
    }

    /// The HTTP client (for request counts and its configuration).
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// The settings it was built from.
    pub fn settings(&self) -> &SalesforceSettings {
        &self.inner.settings
    }

    /// The instance every call goes to.
    pub fn instance_url(&self) -> &Url {
        &self.inner.instance
    }

    /// The API usage of the last response that reported it (every response
    /// carries `Sforce-Limit-Info`), if any call was made yet.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        *lock(&self.inner.usage)
    }

    /// The REST API version in use: the configured one, else the newest
    /// the org lists at `GET /services/data/` (read once, then kept), else
    /// [`FALLBACK_API_VERSION`] when the list cannot be read.
    pub async fn api_version(&self) -> Result<String, ConnectorError> {
        if let Some(v) = lock(&self.inner.version).clone() {
            return Ok(v);
        }
        let url = self.url("services/data/")?;
        let resp = self
            .send(Method::GET, url, None, "listing the org's API versions")
            .await?;
        let versions: Vec<wire::ApiVersion> = self.decode(&resp, "the API version list")?;
        let version = newest_version(&versions)
            .filter(|v| version_number(v).is_some_and(|n| n >= MIN_API_VERSION))
            .ok_or_else(|| ConnectorError::Decode {
                what: "the API version list (GET /services/data/)".into(),
                message: format!(
                    "it lists no version {MIN_API_VERSION:.1} or newer; set api_version"
                ),
            })?;
        *lock(&self.inner.version) = Some(version.clone());
        Ok(version)
    }

    /// `{instance}/{rel}`.
    pub(crate) fn url(&self, rel: &str) -> Result<Url, ConnectorError> {
        self.inner
            .instance
            .join(rel.trim_start_matches('/'))
            .map_err(|e| ConnectorError::InvalidConfig {
                field: SalesforceSettings::INSTANCE_URL,
                message: format!("the instance URL cannot take `{rel}`: {e}"),
            })
    }

    /// `{instance}/services/data/v{version}/{rel}`.
    pub(crate) async fn api_url(&self, rel: &str) -> Result<Url, ConnectorError> {
        let version = self.api_version().await?;
        self.url(&format!(
            "services/data/v{version}/{}",
            rel.trim_start_matches('/')
        ))
    }

    fn record_usage(&self, resp: &Response) {
        if let Some(usage) = resp.header(LIMIT_HEADER).and_then(ApiUsage::parse) {
            *lock(&self.inner.usage) = Some(usage);
        }
    }

    /// Sends one call with the session's bearer token. Every answer's
    /// `Sforce-Limit-Info` is recorded. A 401 (`INVALID_SESSION_ID`: the
    /// session expired; Salesforce tokens carry no lifetime) reports the
    /// token to the session and is sent once more with a refreshed one (a
    /// 401 is refused before it is processed, so this is safe for PATCH and
    /// POST). Failures come back as typed errors (see [`Self::failure`]).
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Response, ConnectorError> {
        self.send_with(method, url, body, &[], what).await
    }

    /// [`Self::send`] with extra headers.
    pub(crate) async fn send_with(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        what: &str,
    ) -> Result<Response, ConnectorError> {
        let mut refreshed = false;
        loop {
            let token = self
                .inner
                .session
                .access_token()
                .await
                .map_err(token_error)?;
            let bearer = SecretString::from(format!("Bearer {}", token.secret.expose_secret()));
            let mut req = Request::new(method.clone(), url.clone())
                .header("Accept", "application/json")
                .secret_header("Authorization", &bearer)
                .keep_client_errors(true);
            for (name, value) in headers {
                req = req.header(name, value);
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            let resp = match self.inner.http.send(req).await {
                Ok(resp) => resp,
                Err(e) => return Err(self.http_failure(e, what)),
            };
            self.record_usage(&resp);
            if resp.is_success() {
                return Ok(resp);
            }
            if resp.status == 401 && !refreshed {
                tracing::debug!(
                    "Salesforce refused the session (INVALID_SESSION_ID); refreshing it once"
                );
                self.inner.session.rejected(&token);
                refreshed = true;
                continue;
            }
            return Err(self.failure(&resp, &method, what));
        }
    }

    fn http_failure(&self, e: HttpError, what: &str) -> ConnectorError {
        match e.status() {
            Some(_) => HINTS.map(e, what),
            None => HINTS.unreachable(self.inner.instance.host_str().unwrap_or_default(), e),
        }
    }

    /// A client error (4xx) as the typed error the user acts on:
    /// `REQUEST_LIMIT_EXCEEDED` is [`ConnectorError::QuotaExhausted`] (with
    /// the usage when known), field errors are
    /// [`ConnectorError::FieldRejected`] naming the field, the rest goes
    /// through the core's one mapping with the code beside the message.
    pub(crate) fn failure(&self, resp: &Response, method: &Method, what: &str) -> ConnectorError {
        let errors = api_errors(&resp.body);
        let first = errors.first().cloned().unwrap_or_default();
        let code = first.error_code.clone().unwrap_or_default();
        let message = first.message.clone().unwrap_or_default();
        if code == "REQUEST_LIMIT_EXCEEDED" {
            let usage = self
                .api_usage()
                .map(|u| format!("; {u}"))
                .unwrap_or_default();
            return ConnectorError::QuotaExhausted {
                message: format!("Salesforce refused {what}: {message}{usage}"),
            };
        }
        if resp.status == 400 && FIELD_CODES.contains(&code.as_str()) {
            let field = if first.fields.is_empty() {
                "(the record: the rule names no field)".to_string()
            } else {
                first.fields.join(", ")
            };
            return ConnectorError::FieldRejected {
                field,
                code,
                message,
            };
        }
        let said = match (code.is_empty(), message.is_empty()) {
            (true, true) => String::new(),
            (true, false) => message,
            (false, true) => code,
            (false, false) => format!("{code}: {message}"),
        };
        HINTS.map(
            HttpError::Status {
                method: method.as_str().to_string(),
                path: resp.url.path().to_string(),
                status: resp.status,
                message: said,
                retry_after: None,
            },
            what,
        )
    }

    /// Decodes a JSON answer; a web page means the instance is wrong.
    pub(crate) fn decode<T: serde::de::DeserializeOwned>(
        &self,
        resp: &Response,
        what: &str,
    ) -> Result<T, ConnectorError> {
        if is_web_page(resp) {
            return Err(HINTS.web_page(self.inner.instance.host_str().unwrap_or_default(), what));
        }
        serde_json::from_slice(&resp.body).map_err(|e| ConnectorError::Decode {
            what: what.to_string(),
            message: format!(
                "line {}, column {}: {}",
                e.line(),
                e.column(),
                e.classify_str()
            ),
        })
    }

    /// `GET /limits`: the daily API allocation and what is left of it.
    pub async fn limits(&self) -> Result<ApiUsage, ConnectorError> {
        let url = self.api_url("limits").await?;
        let resp = self
            .send(Method::GET, url, None, "reading the org's limits")
            .await?;
        let limits: wire::Limits = self.decode(&resp, "the org's limits")?;
        let daily = limits.daily_api_requests.unwrap_or_default();
        match (daily.max, daily.remaining) {
            (Some(max), Some(remaining)) => Ok(ApiUsage {
                used: max.saturating_sub(remaining),
                max,
            }),
            _ => self.api_usage().ok_or_else(|| ConnectorError::Decode {
                what: "the org's limits (GET /limits)".into(),
                message: "no DailyApiRequests".into(),
            }),
        }
    }
}

trait ClassifyStr {
    fn classify_str(&self) -> &'static str;
}

impl ClassifyStr for serde_json::Error {
    fn classify_str(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

#[async_trait::async_trait]
impl Connector for SalesforceConnector {
    fn provider(&self) -> Provider {
        Provider::Salesforce
    }

    fn capabilities(&self) -> BTreeSet<FeatureCategory> {
        BTreeSet::from([FeatureCategory::Crm])
    }

    /// Reads `GET /limits` (one call, after the version list on first use)
    /// and logs the daily API usage; see [`SalesforceConnector::limits`]
    /// for the figures.
    async fn test_connection(&self) -> Result<(), ConnectorError> {
        let usage = match self.limits().await {
            Err(ConnectorError::NotFound { .. }) if self.inner.settings.api_version.is_some() => {
                let version = lock(&self.inner.version).clone().unwrap_or_default();
                return Err(ConnectorError::InvalidConfig {
                    field: SalesforceSettings::API_VERSION,
                    message: format!("this org does not offer REST API version {version}; choose one it lists, or leave the setting empty for the newest"),
                });
            }
            other => other?,
        };
        tracing::info!(used = usage.used, max = usage.max, scopes = ?SCOPES, "Salesforce connection works");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_listed_version_is_chosen_numerically() {
        let list: Vec<wire::ApiVersion> = serde_json::from_str(
            r#"[{"version":"9.0","url":"/services/data/v9.0"},{"version":"59.0"},{"version":"62.0"},{"version":"bogus"},{"label":"no version"}]"#,
        )
        .unwrap();
        assert_eq!(newest_version(&list).as_deref(), Some("62.0"));
        assert_eq!(version_number("v60.0"), Some(60.0));
        assert_eq!(version_number("sixty"), None);
    }

    #[test]
    fn error_bodies_are_read_as_arrays_of_codes() {
        let e = api_errors(
            br#"[{"message":"Close Date: You must enter a value","errorCode":"REQUIRED_FIELD_MISSING","fields":["CloseDate"]}]"#,
        );
        assert_eq!(e[0].error_code.as_deref(), Some("REQUIRED_FIELD_MISSING"));
        assert_eq!(e[0].fields, vec!["CloseDate"]);
        assert!(api_errors(b"<html>").is_empty());
    }
}
