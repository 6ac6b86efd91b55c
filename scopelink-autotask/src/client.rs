//! Settings, zone discovery, the authentication headers, the HTTP calls
//! (queries, counts, reads, writes, metadata) and the mapping of Autotask's
//! failures to errors that say what to fix.

use crate::picklists::Picklists;
use crate::settings::AutotaskSettings;
use crate::wire;
use scopelink_core::base_url::{BaseUrlRules, PathRule};
use scopelink_core::error::{ConnectorError, HttpError};
use scopelink_core::error_hints::{is_web_page, ErrorHints};
use scopelink_core::http::{
    BodyLimits, HttpClient, HttpConfig, Method, Page, PageLimits, RateLimit, Request, Response,
    ThrottlePolicy,
};
use scopelink_core::in_flight::InFlightLimit;
use scopelink_core::pages::{same_origin, PageToken};
use scopelink_core::secret::ApiUserSecret;
use scopelink_core::{FeatureCategory, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use url::Url;

/// Where the zone of an API user is looked up when the settings name no
/// other host: any Autotask zone answers `zoneInformation`.
pub const DEFAULT_ZONE_LOOKUP_URL: &str = "https://webservices.autotask.net/ATServicesRest/";

/// The REST API version path under the zone's root.
pub const API_VERSION: &str = "v1.0";

/// The largest page a query returns (`MaxRecords` 1-500), used for every
/// list read.
pub const MAX_RECORDS: u32 = 500;

/// Requests of one connection in flight at once: Autotask refuses a fourth
/// concurrent request per API tracking identifier and endpoint (the thread
/// limit of integrations created since 2023.1).
pub const MAX_THREADS: usize = 3;

/// The client-side request budget used when [`HttpConfig::rate_limit`] is
/// `None`: 5,000 requests per rolling hour.
///
/// Autotask allows 10,000 requests per rolling hour per database, shared by
/// every integration of the tenant, and adds latency to each call once half
/// of it is used; this connector keeps to that half.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit {
    requests: 5_000,
    per: Duration::from_secs(3_600),
};

/// How a 429 (Autotask's refusal past its thresholds) is waited out when
/// [`HttpConfig::throttle`] is `None`: `Retry-After` when sent, else 2 s
/// doubling to at most 60 s a wait, at most 5 minutes in all per request.
/// Autotask's thread-limit refusals that come with another status are
/// retried the same way by the connector (see [`THREAD_LIMIT_MARKERS`]).
pub const DEFAULT_THROTTLE: ThrottlePolicy = ThrottlePolicy {
    retry: true,
    first_wait: Duration::from_secs(2),
    max_wait: Duration::from_secs(60),
    max_total_wait: Duration::from_secs(300),
    max_retries: 8,
    quota_markers: &[],
};

/// Texts of Autotask's refusals for exceeding its thread or request
/// thresholds, which some tenants send with a status other than 429
/// (compared case-insensitively): such a refusal is waited out like a 429.
pub const THREAD_LIMIT_MARKERS: &[&str] = &["thread threshold", "threshold of", "itgenatr005"];

/// Response body limits used when [`HttpConfig::body_limits`] is `None`:
/// 32 MiB for a page (500 records with user-defined fields run to a few
/// MiB), 64 KiB of an error body.
pub(crate) const DEFAULT_BODY_LIMITS: BodyLimits = BodyLimits {
    success: 32 * 1024 * 1024,
    error: 64 * 1024,
};

/// Where the fix-it messages send the user for the API user.
pub(crate) const API_USER_SETTINGS: &str = "Autotask > Admin > Account Settings & Users > Resources/Users, the API user (security level API User (API-only))";

/// The zone URL field: the REST root, a pasted `/v1.0` dropped.
pub(crate) const ZONE_ADDRESS: BaseUrlRules = BaseUrlRules {
    field: "zone_url",
    address: "the zone's REST address",
    example: "webservices5.autotask.net/ATServicesRest/",
    path: PathRule::Prefix { strip: &["/v1.0"] },
};

/// The zone lookup field.
pub(crate) const LOOKUP_ADDRESS: BaseUrlRules = BaseUrlRules {
    field: "zone_lookup_url",
    address: "an Autotask web services address",
    example: "webservices.autotask.net",
    path: PathRule::Prefix {
        strip: &["/v1.0", "/v1.0/zoneInformation"],
    },
};

/// What an Autotask user checks when a call fails.
pub(crate) const HINTS: ErrorHints<'static> = ErrorHints {
    provider: "Autotask",
    credentials: "the API user's secret",
    fix_credentials: "check the API user's user name and secret (Admin > Resources/Users > the API user > Security > Generate Secret)",
    fix_permission: "the API user's security level lacks this permission; grant it in Admin > Security Levels (API User (API-only))",
    address: &ZONE_ADDRESS,
};

/// The usage of the database's hourly request threshold, from
/// `GET ThresholdInformation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdInformation {
    /// Requests the database may make per timeframe (10,000).
    pub threshold: u64,
    /// The timeframe, in minutes (60).
    pub timeframe_minutes: u64,
    /// Requests made in the current timeframe, by every integration.
    pub used: u64,
}

impl ThresholdInformation {
    /// The share of the threshold used, in percent (0-100, more when over).
    pub fn percent_used(&self) -> u64 {
        (self.used.saturating_mul(100))
            .checked_div(self.threshold)
            .unwrap_or(0)
    }
}

pub(crate) struct Inner {
    pub(crate) http: HttpClient,
    /// The zone's REST root, with a trailing slash.
    pub(crate) zone_url: Url,
    /// `{zone_url}v1.0/`.
    pub(crate) api_base: Url,
    pub(crate) settings: AutotaskSettings,
    pub(crate) username: String,
    secret: SecretString,
    integration_code: SecretString,
    threads: InFlightLimit,
    picklists: Mutex<HashMap<&'static str, Arc<Picklists>>>,
}

/// The Autotask connector: CRM (companies, contacts, opportunities,
/// configuration items, products) and PSA (projects with phases and
/// tasks), opportunity write-back and webhooks. Cheap to clone; clones share
/// the HTTP client, its rate limit, the thread limit and the picklist cache.
#[derive(Clone)]
pub struct AutotaskConnector {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for AutotaskConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutotaskConnector")
            .field("zone_url", &self.inner.zone_url.as_str())
            .field("username", &self.inner.username)
            .finish_non_exhaustive()
    }
}

fn config_error(field: &'static str, message: impl Into<String>) -> ConnectorError {
    ConnectorError::InvalidConfig {
        field,
        message: message.into(),
    }
}

/// `http` with Autotask's defaults where it sets none.
fn with_defaults(mut http: HttpConfig) -> HttpConfig {
    http.rate_limit.get_or_insert(DEFAULT_RATE_LIMIT);
    http.throttle.get_or_insert(DEFAULT_THROTTLE);
    http.body_limits.get_or_insert(DEFAULT_BODY_LIMITS);
    http.pages.get_or_insert(PageLimits::for_records(
        PageLimits::PLAUSIBLE_RECORDS,
        MAX_RECORDS,
    ));
    http
}

/// A REST root typed or discovered: the address rules applied, `/ATServicesRest`
/// added when only a host was given, and a trailing slash.
fn rest_root(rules: &BaseUrlRules, input: &str, http: &HttpClient) -> Result<Url, ConnectorError> {
    let mut url = rules.normalize(input, http.config().addresses)?;
    let path = url.path().trim_end_matches('/').to_string();
    if path.is_empty() {
        url.set_path("/ATServicesRest/");
    } else {
        url.set_path(&format!("{path}/"));
    }
    Ok(url)
}

/// Checks the credentials before any call: each missing part is an error
/// naming it.
fn check_credentials(credentials: &ApiUserSecret) -> Result<(), ConnectorError> {
    if credentials.username.is_empty() {
        return Err(config_error(
            "username",
            format!("enter the user name of the Autotask API user ({API_USER_SETTINGS})"),
        ));
    }
    if credentials.integration_code.expose_secret().is_empty() {
        return Err(config_error(
            "integration_code",
            "enter the API tracking identifier: Autotask requires it on every call (the API user's Security tab > API Tracking Identifier)",
        ));
    }
    if credentials.secret.expose_secret().is_empty() {
        return Err(ConnectorError::Authentication {
            message: format!(
                "the API user's secret is empty; enter it ({API_USER_SETTINGS} > Security)"
            ),
        });
    }
    Ok(())
}

/// Checks what [`AutotaskConnector::connect`] would before its first
/// request, without any network call: the credentials, and the typed zone
/// and lookup addresses under `http`'s address policy.
pub(crate) fn check(
    settings: &AutotaskSettings,
    credentials: &ApiUserSecret,
    http: &HttpConfig,
) -> Result<(), ConnectorError> {
    check_credentials(credentials)?;
    let typed = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if let Some(zone) = typed(&settings.zone_url) {
        ZONE_ADDRESS.normalize(&zone, http.addresses)?;
    }
    if let Some(lookup) = typed(&settings.zone_lookup_url) {
        LOOKUP_ADDRESS.normalize(&lookup, http.addresses)?;
    }
    Ok(())
}

/// Whether an error message is one of Autotask's threshold refusals.
pub(crate) fn is_threshold_refusal(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    THREAD_LIMIT_MARKERS.iter().any(|m| lower.contains(m))
}

impl AutotaskConnector {
    /// Discovers the API user's zone with
    /// `GET {lookup}/v1.0/zoneInformation?user={username}` (unless the
    /// settings already hold a [`AutotaskSettings::zone_url`]), then builds
    /// the connector. No credential is sent to the lookup.
    ///
    /// Failures name what to fix: `username` (Autotask knows no such API
    /// user), `integration_code` / `username` (missing), `zone_lookup_url`
    /// or `zone_url` (unreachable, refused by the address policy, not
    /// Autotask).
    pub async fn connect(
        settings: AutotaskSettings,
        credentials: ApiUserSecret,
        http: HttpConfig,
    ) -> Result<Self, ConnectorError> {
        check_credentials(&credentials)?;
        let client = HttpClient::new(with_defaults(http))?;
        let zone = match settings.zone_url.as_deref().map(str::trim) {
            Some(zone) if !zone.is_empty() => rest_root(&ZONE_ADDRESS, zone, &client)?,
            _ => discover_zone(&client, &settings, &credentials.username).await?,
        };
        Ok(Self::build(client, zone, settings, credentials))
    }

    /// Builds with a known zone URL (the REST root kept under
    /// [`ZONE_URL_SETTING`](crate::ZONE_URL_SETTING)), without any request.
    pub fn with_zone_url(
        zone_url: &str,
        settings: AutotaskSettings,
        credentials: ApiUserSecret,
        http: HttpConfig,
    ) -> Result<Self, ConnectorError> {
        check_credentials(&credentials)?;
        let client = HttpClient::new(with_defaults(http))?;
        let zone = rest_root(&ZONE_ADDRESS, zone_url, &client)?;
        Ok(Self::build(client, zone, settings, credentials))
    }

    fn build(
        http: HttpClient,
        zone_url: Url,
        mut settings: AutotaskSettings,
        credentials: ApiUserSecret,
    ) -> Self {
        let api_base = zone_url
            .join(&format!("{API_VERSION}/"))
            .unwrap_or_else(|_| zone_url.clone());
        settings.zone_url = Some(zone_url.to_string());
        Self {
            inner: Arc::new(Inner {
                http,
                zone_url,
                api_base,
                settings,
                username: credentials.username,
                secret: credentials.secret,
                integration_code: credentials.integration_code,
                threads: InFlightLimit::new(MAX_THREADS),
                picklists: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The zone's REST root (`https://webservices5.autotask.net/ATServicesRest/`):
    /// store it under [`ZONE_URL_SETTING`](crate::ZONE_URL_SETTING) to skip
    /// the lookup next time.
    pub fn zone_url(&self) -> &Url {
        &self.inner.zone_url
    }

    /// The API base, `{zone_url}v1.0/`.
    pub fn api_base(&self) -> &Url {
        &self.inner.api_base
    }

    /// The settings, with the zone URL in use.
    pub fn settings(&self) -> &AutotaskSettings {
        &self.inner.settings
    }

    /// The HTTP client (for request counts and its configuration).
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// `{api_base}{segments...}` (each segment percent-encoded).
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.api_base.clone();
        if let Ok(mut s) = url.path_segments_mut() {
            s.pop_if_empty();
            for segment in segments {
                s.push(segment);
            }
        }
        url
    }

    /// A request with Autotask's authentication headers.
    pub(crate) fn request(&self, method: Method, url: Url) -> Request {
        Request::new(method, url)
            .header("UserName", &self.inner.username)
            .secret_header("Secret", &self.inner.secret)
            .secret_header("ApiIntegrationCode", &self.inner.integration_code)
            .header("Accept", "application/json")
    }

    /// Maps a failed call to the error the user can act on: Autotask
    /// answers an unknown user or a bad tracking identifier with a 500.
    pub(crate) fn api_error(&self, e: HttpError, what: &str) -> ConnectorError {
        if let HttpError::Status {
            status: 500,
            message,
            ..
        } = &e
        {
            let lower = message.to_ascii_lowercase();
            if lower.contains("integrationcode")
                || lower.contains("integration code")
                || lower.contains("tracking identifier")
            {
                return ConnectorError::Authentication {
                    message: format!(
                        "Autotask refused the API tracking identifier while {what} ({message}); enter the tracking identifier of this integration (the API user's Security tab > API Tracking Identifier)"
                    ),
                };
            }
            let names_user = lower.contains("username")
                || lower.contains("user name")
                || lower.contains("api user");
            let refuses = lower.contains("not a known")
                || lower.contains("unknown")
                || lower.contains("not found")
                || lower.contains("does not exist")
                || lower.contains("invalid");
            if lower.contains("authenticat") || (names_user && refuses) {
                return ConnectorError::Authentication {
                    message: format!(
                        "Autotask does not accept the API user `{}` while {what} ({message}); check the user name ({API_USER_SETTINGS})",
                        self.inner.username
                    ),
                };
            }
            if lower.contains("adequate permissions") {
                return ConnectorError::PermissionDenied {
                    message: format!(
                        "Autotask refused {what} ({message}); {}",
                        HINTS.fix_permission
                    ),
                };
            }
        }
        HINTS.map(e, what)
    }

    /// Sends an authenticated request within the thread limit; Autotask's
    /// threshold refusals that come without a 429 are waited out under the
    /// throttle policy.
    pub(crate) async fn send(
        &self,
        request: Request,
        what: &str,
    ) -> Result<Response, ConnectorError> {
        let policy = self
            .inner
            .http
            .config()
            .throttle
            .unwrap_or(DEFAULT_THROTTLE);
        let mut refused = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            let outcome = self
                .inner
                .threads
                .run(self.inner.http.send(request.clone()))
                .await;
            match outcome {
                Ok(response) => return Ok(response),
                Err(HttpError::Status {
                    status,
                    ref message,
                    retry_after,
                    ..
                }) if status != 429 && is_threshold_refusal(message) => {
                    refused += 1;
                    match policy.wait(refused, waited, retry_after) {
                        Some(wait) => {
                            tracing::warn!(
                                status,
                                refused,
                                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                                "Autotask threshold refusal; waiting"
                            );
                            tokio::time::sleep(wait).await;
                            waited += wait;
                        }
                        None => {
                            return Err(self.api_error(outcome.unwrap_err(), what));
                        }
                    }
                }
                Err(e) => return Err(self.api_error(e, what)),
            }
        }
    }

    /// Decodes a JSON reply; a web page means the zone URL is wrong.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        response: &Response,
        what: &str,
    ) -> Result<T, ConnectorError> {
        if is_web_page(response) {
            return Err(HINTS.web_page(self.inner.zone_url.host_str().unwrap_or_default(), what));
        }
        serde_json::from_slice(&response.body).map_err(|e| ConnectorError::Decode {
            what: what.to_string(),
            message: e.to_string(),
        })
    }

    /// `GET` of a JSON document.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        what: &str,
    ) -> Result<T, ConnectorError> {
        let response = self.send(self.request(Method::GET, url), what).await?;
        self.decode(&response, what)
    }

    /// `POST`/`PATCH` of a JSON body; its reply decoded. Writes are not
    /// resent after a failure that may have been processed (a 429 is).
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: &Value,
        retry_safe: bool,
        what: &str,
    ) -> Result<T, ConnectorError> {
        let request = self.request(method, url).json(body).retry_safe(retry_safe);
        let response = self.send(request, what).await?;
        self.decode(&response, what)
    }

    /// Creates a record by `POST {path}`; returns its `itemId`.
    pub(crate) async fn create(
        &self,
        segments: &[&str],
        body: &Value,
        what: &str,
    ) -> Result<i64, ConnectorError> {
        let reply: wire::WriteReply = self
            .send_json(Method::POST, self.endpoint(segments), body, false, what)
            .await?;
        reply
            .item_id
            .filter(|id| *id > 0)
            .ok_or_else(|| ConnectorError::Decode {
                what: what.to_string(),
                message: "the answer has no itemId".into(),
            })
    }

    /// Whether `url` is on the API's origin and under its path.
    pub(crate) fn own_url(&self, url: &Url) -> bool {
        let base = &self.inner.api_base;
        same_origin(base, url)
            && url
                .path()
                .to_ascii_lowercase()
                .starts_with(&base.path().to_ascii_lowercase())
    }

    /// One page of `POST {entity}/query` with `body`, or of its
    /// `nextPageUrl` (`token`), posted the same body. The page's bytes are
    /// kept undecoded; the next URL is read from `pageDetails`.
    pub(crate) async fn query_page(
        &self,
        entity: &str,
        body: &Value,
        token: Option<String>,
        what: &str,
    ) -> Result<Page<u8>, ConnectorError> {
        let url = match token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => self.endpoint(&[entity, "query"]),
            Some(t) => match PageToken::read(Some(t), &self.inner.api_base) {
                Some(PageToken::NextUrl(url)) if self.own_url(&url) => url,
                _ => {
                    return Err(ConnectorError::Decode {
                        what: "page token".into(),
                        message: format!("`{t}` is not a next-page URL on {}", self.inner.api_base),
                    })
                }
            },
        };
        // A query reads; resending it is safe.
        let request = self.request(Method::POST, url).json(body).retry_safe(true);
        let response = self.send(request, what).await?;
        if is_web_page(&response) {
            return Err(HINTS.web_page(self.inner.zone_url.host_str().unwrap_or_default(), what));
        }
        let page: wire::QueryPage<'_> =
            serde_json::from_slice(&response.body).map_err(|e| ConnectorError::Decode {
                what: what.to_string(),
                message: e.to_string(),
            })?;
        let next = if page.items.is_empty() {
            None
        } else {
            page.page_details
                .and_then(|d| d.next_page_url)
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
        };
        if let Some(next) = &next {
            let followable = Url::parse(next).ok().is_some_and(|u| self.own_url(&u));
            if !followable {
                return Err(ConnectorError::Decode {
                    what: what.to_string(),
                    message: format!(
                        "the next page is on another server ({}); only {} is followed",
                        Url::parse(next)
                            .ok()
                            .and_then(|u| u.host_str().map(str::to_string))
                            .unwrap_or_else(|| "an unreadable address".into()),
                        self.inner.api_base
                    ),
                });
            }
        }
        Ok(Page {
            items: response.body,
            next,
        })
    }

    /// `POST {entity}/query/count` with `filter`.
    pub(crate) async fn count(&self, entity: &str, filter: Value) -> Result<u64, ConnectorError> {
        let what = format!("counting {entity}");
        let reply: wire::QueryCount = self
            .send_json(
                Method::POST,
                self.endpoint(&[entity, "query", "count"]),
                &serde_json::json!({ "filter": filter }),
                true,
                &what,
            )
            .await?;
        reply
            .query_count
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| ConnectorError::Decode {
                what,
                message: "the answer has no queryCount".into(),
            })
    }

    /// `GET {entity}/{id}`; `None` when Autotask has no such record.
    pub(crate) async fn get_item(
        &self,
        entity: &str,
        id: i64,
    ) -> Result<Option<Value>, ConnectorError> {
        let what = format!("reading {entity} {id}");
        match self
            .get_json::<wire::ItemReply>(self.endpoint(&[entity, &id.to_string()]), &what)
            .await
        {
            Ok(reply) => Ok(reply.item.filter(|v| !v.is_null())),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The picklists of `entity` from `{entity}/entityInformation/fields`,
    /// read once per connector.
    pub(crate) async fn picklists(
        &self,
        entity: &'static str,
    ) -> Result<Arc<Picklists>, ConnectorError> {
        if let Some(p) = self
            .inner
            .picklists
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(entity)
        {
            return Ok(p.clone());
        }
        let reply: wire::FieldsReply = self
            .get_json(
                self.endpoint(&[entity, "entityInformation", "fields"]),
                &format!("reading the fields of {entity}"),
            )
            .await?;
        let picklists = Arc::new(Picklists::from_fields(reply.fields));
        self.inner
            .picklists
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(entity, picklists.clone());
        Ok(picklists)
    }

    /// The database's request threshold and its use this hour
    /// (`GET ThresholdInformation`), for a host to show usage. The call
    /// itself counts towards the threshold.
    pub async fn threshold_information(&self) -> Result<ThresholdInformation, ConnectorError> {
        let what = "reading the request threshold (GET ThresholdInformation)";
        let reply: wire::ThresholdReply = self
            .get_json(self.endpoint(&["ThresholdInformation"]), what)
            .await?;
        let num = |v: Option<i64>| v.and_then(|n| u64::try_from(n).ok());
        match (
            num(reply.external_request_threshold),
            num(reply.current_timeframe_request_count),
        ) {
            (Some(threshold), Some(used)) => Ok(ThresholdInformation {
                threshold,
                timeframe_minutes: num(reply.request_threshold_timeframe).unwrap_or(60),
                used,
            }),
            _ => Err(ConnectorError::Decode {
                what: what.into(),
                message:
                    "the answer has no externalRequestThreshold or currentTimeframeRequestCount"
                        .into(),
            }),
        }
    }
}

/// `GET {lookup}v1.0/zoneInformation?user=`: the zone's REST root, checked
/// against the client's address policy.
async fn discover_zone(
    http: &HttpClient,
    settings: &AutotaskSettings,
    username: &str,
) -> Result<Url, ConnectorError> {
    let lookup_input = settings
        .zone_lookup_url
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_ZONE_LOOKUP_URL);
    let lookup = rest_root(&LOOKUP_ADDRESS, lookup_input, http)?;
    let mut url = lookup
        .join(&format!("{API_VERSION}/zoneInformation"))
        .map_err(|e| LOOKUP_ADDRESS.error(e))?;
    url.query_pairs_mut().append_pair("user", username);
    let host = lookup.host_str().unwrap_or_default().to_string();
    let lookup_hints = ErrorHints {
        address: &LOOKUP_ADDRESS,
        ..HINTS
    };
    let what = "looking up the API user's zone (GET zoneInformation)";
    let response = http
        .send(Request::new(Method::GET, url).header("Accept", "application/json"))
        .await
        .map_err(|e| match e {
            HttpError::Status {
                status: 500 | 404 | 400,
                message,
                ..
            } => config_error(
                "username",
                format!(
                    "Autotask knows no API user `{username}` ({message}); enter the user name of the API user, as shown in {API_USER_SETTINGS}"
                ),
            ),
            e @ HttpError::Status { .. } => lookup_hints.map(e, what),
            other => lookup_hints.unreachable(&host, other),
        })?;
    if is_web_page(&response) {
        return Err(lookup_hints.web_page(&host, what));
    }
    let zone: wire::ZoneInformation =
        serde_json::from_slice(&response.body).map_err(|e| ConnectorError::Decode {
            what: what.into(),
            message: e.to_string(),
        })?;
    let zone_url = zone
        .url
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            config_error(
                "username",
                format!("Autotask returned no zone for the API user `{username}`; check the user name ({API_USER_SETTINGS})"),
            )
        })?;
    let root = rest_root(&ZONE_ADDRESS, &zone_url, http)?;
    tracing::debug!(zone = %root, zone_name = zone.zone_name.as_deref().unwrap_or(""), "Autotask zone discovered");
    Ok(root)
}

// ----- the Connector capability -----

#[scopelink_core::async_trait]
impl scopelink_core::connector::Connector for AutotaskConnector {
    fn provider(&self) -> Provider {
        Provider::Autotask
    }

    fn capabilities(&self) -> BTreeSet<FeatureCategory> {
        [
            FeatureCategory::Crm,
            FeatureCategory::Psa,
            FeatureCategory::Products,
        ]
        .into()
    }

    /// Reads `GET ThresholdInformation`, Autotask's cheapest authenticated
    /// call. Failures say what to fix: the secret or user
    /// ([`ConnectorError::Authentication`]), the tracking identifier
    /// ([`ConnectorError::Authentication`] naming it), the zone URL
    /// ([`ConnectorError::InvalidConfig`] `zone_url`).
    async fn test_connection(&self) -> Result<(), ConnectorError> {
        let host = self
            .inner
            .zone_url
            .host_str()
            .unwrap_or_default()
            .to_string();
        match self.threshold_information().await {
            Ok(_) => Ok(()),
            Err(ConnectorError::Http(e)) if !matches!(e, HttpError::Status { .. }) => {
                Err(HINTS.unreachable(&host, e))
            }
            Err(ConnectorError::NotFound { .. }) => Err(config_error(
                "zone_url",
                format!(
                    "the Autotask API was not found at {}; clear the zone URL so the zone is looked up again",
                    self.inner.api_base
                ),
            )),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopelink_core::http::AddressPolicy;

    fn client(policy: AddressPolicy) -> HttpClient {
        HttpClient::new(HttpConfig::default().with_addresses(policy)).unwrap()
    }

    #[test]
    fn zone_urls_are_normalized_to_the_rest_root() {
        let public = client(AddressPolicy::public_only());
        for (input, want) in [
            (
                "https://webservices3.autotask.net/ATServicesRest/",
                "https://webservices3.autotask.net/ATServicesRest/",
            ),
            (
                "webservices3.autotask.net",
                "https://webservices3.autotask.net/ATServicesRest/",
            ),
            (
                "https://webservices3.autotask.net/ATServicesRest/V1.0/",
                "https://webservices3.autotask.net/ATServicesRest/",
            ),
        ] {
            assert_eq!(
                rest_root(&ZONE_ADDRESS, input, &public).unwrap().as_str(),
                want,
                "{input}"
            );
        }
        for bad in [
            "",
            "http://webservices3.autotask.net/ATServicesRest/",
            "https://127.0.0.1/ATServicesRest/",
            "https://192.168.1.10/",
        ] {
            assert!(
                matches!(
                    rest_root(&ZONE_ADDRESS, bad, &public),
                    Err(ConnectorError::InvalidConfig {
                        field: "zone_url",
                        ..
                    })
                ),
                "{bad}"
            );
        }
        let local = client(AddressPolicy::allow_local());
        assert_eq!(
            rest_root(
                &ZONE_ADDRESS,
                "http://127.0.0.1:8080/ATServicesRest",
                &local
            )
            .unwrap()
            .as_str(),
            "http://127.0.0.1:8080/ATServicesRest/"
        );
    }

    #[test]
    fn missing_credentials_name_what_to_enter() {
        let e = check_credentials(&ApiUserSecret::new("", "s", "c")).unwrap_err();
        assert!(matches!(
            e,
            ConnectorError::InvalidConfig {
                field: "username",
                ..
            }
        ));
        let e = check_credentials(&ApiUserSecret::new("u", "s", " ")).unwrap_err();
        assert!(
            matches!(e, ConnectorError::InvalidConfig { field: "integration_code", ref message } if message.contains("tracking identifier"))
        );
        let e = check_credentials(&ApiUserSecret::new("u", "", "c")).unwrap_err();
        assert!(matches!(e, ConnectorError::Authentication { .. }));
        assert!(check_credentials(&ApiUserSecret::new("u", "s", "c")).is_ok());
    }

    #[test]
    fn only_credential_500s_are_authentication_failures() {
        let at = AutotaskConnector::with_zone_url(
            "https://webservices3.autotask.net/ATServicesRest/",
            AutotaskSettings::default(),
            ApiUserSecret::new("api@example.test", "s", "c"),
            HttpConfig::default(),
        )
        .unwrap();
        let status = |code: u16, message: &str| HttpError::Status {
            method: "POST".into(),
            path: "/x".into(),
            status: code,
            message: message.into(),
            retry_after: None,
        };
        for auth in [
            "Unable to authenticate: the UserName is not a known API user.",
            "IntegrationCode is invalid.",
            "The API tracking identifier is missing.",
        ] {
            let e = at.api_error(status(500, auth), "reading");
            assert!(e.is_auth_failure(), "{auth}: {e:?}");
        }
        for other in [
            "When assigning a Resource, you must assign both a assignedResourceID and assignedResourceRoleID.",
            "The resource is invalid for this role.",
            "Value does not reference an existing entity for taskType . ",
        ] {
            let e = at.api_error(status(500, other), "creating a task");
            assert!(!e.is_auth_failure(), "{other}: {e:?}");
            assert!(e.to_string().contains(other.trim()), "{e}");
        }
        let e = at.api_error(
            status(500, "The logged in Resource does not have the adequate permissions to update this entity type."),
            "updating",
        );
        assert!(
            matches!(e, ConnectorError::PermissionDenied { .. }),
            "{e:?}"
        );
    }

    #[test]
    fn threshold_refusals_are_recognized() {
        assert!(is_threshold_refusal(
            "The thread threshold of 3 threads has been exceeded."
        ));
        assert!(is_threshold_refusal("ITGENATR005: too many requests"));
        assert!(!is_threshold_refusal(
            "Value does not reference an existing entity"
        ));
        let info = ThresholdInformation {
            threshold: 10_000,
            timeframe_minutes: 60,
            used: 1_873,
        };
        assert_eq!(info.percent_used(), 18);
    }
}
