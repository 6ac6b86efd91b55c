//! Settings, host normalization, the OAuth2 client-credentials token, the
//! HTTP calls and the mapping of HaloPSA's failures to typed errors.

use crate::settings::HaloPsaSettings;
use crate::token::{TokenCache, TokenEndpoint};
use crate::wire::ListReply;
use scopelink_core::base_url::{BaseUrlRules, PathRule};
use scopelink_core::concurrency::{AdaptiveWindow, Concurrency, ConcurrencyLimit};
use scopelink_core::error_hints::{is_web_page, ErrorHints};
use scopelink_core::http::{
    BodyLimits, HttpClient, HttpConfig, Method, Page, PageLimits, RateLimit, Request, Response,
    ThrottlePolicy,
};
use scopelink_core::pages::{collect_all, page_number};
use scopelink_core::secret::ClientCredentials;
use scopelink_core::{ConnectorError, FeatureCategory, HttpError, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// The client-side request budget used when [`HttpConfig::rate_limit`] is
/// `None`: 250 requests per 5 minutes.
///
/// HaloPSA publishes no figure. Hosted tenants have been seen answering 429
/// "Rate Limit Reached - 300 Requests per rolling 5 minute window" (some
/// reports say 450, so 300 is the safe reading). The core's limiter is a
/// sliding window, so with this budget any rolling 5 minutes holds at most
/// 250 requests: 50 below the observed limit, which is per instance and so
/// shared with the tenant's other integrations. A burst of up to 250 (a
/// large push, the push form's lookups) goes out without waiting; a long
/// sync settles at 0.83 requests per second. Hosts whose tenant runs other
/// busy integrations, or knows its own limit, set their own.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit {
    requests: 250,
    per: Duration::from_secs(300),
};

/// How a 429 is waited out when [`HttpConfig::throttle`] is `None`: 5 s,
/// doubling to at most 60 s a wait (5, 10, 20, 40, 60, 60, 60, 60 s), at
/// most 6 minutes in all per request.
///
/// HaloPSA's limit is a rolling 5-minute window shared by the tenant's
/// integrations, and its 429 carries no `Retry-After` (one is honoured if
/// sent): the window frees up as the oldest requests age out of it, so
/// seconds-long waits are needed, and a request refused for more than a
/// whole window (315 s of waiting) means the tenant is saturated: it fails
/// with the 429.
pub const DEFAULT_THROTTLE: ThrottlePolicy = ThrottlePolicy {
    retry: true,
    first_wait: Duration::from_secs(5),
    max_wait: Duration::from_secs(60),
    max_total_wait: Duration::from_secs(360),
    max_retries: 10,
    quota_markers: &[],
};

/// Response body limits used when [`HttpConfig::body_limits`] is `None`:
/// 16 MiB for a page (100 records, the largest page HaloPSA serves, are
/// well under 1 MiB even with long notes), 64 KiB of an error body.
pub(crate) const DEFAULT_BODY_LIMITS: BodyLimits = BodyLimits {
    success: 16 * 1024 * 1024,
    error: 64 * 1024,
};

/// Page requests a record read keeps in flight under
/// [`Concurrency::Auto`]: at most 4, starting at 1 (the window grows only
/// while pages are slow to come, see [`AdaptiveWindow`]). HaloPSA publishes no
/// concurrency limit, only its rolling window of requests (see
/// [`DEFAULT_RATE_LIMIT`], which still paces every request): a few pages
/// in flight cut a read's wall time where latency, not the window, is the
/// bound, without sending more requests in all. Every list reply carries
/// `record_count`, so the pages after the first can be asked for at once.
pub const CONCURRENCY_LIMIT: ConcurrencyLimit = ConcurrencyLimit::new(4, 1);

/// The page size of list calls (HaloPSA's documented maximum).
pub(crate) const PAGE_SIZE: u32 = 100;

/// The bounds of a page walk when [`HttpConfig::pages`] is `None`: 50,000
/// pages of 100, [`PageLimits::PLAUSIBLE_RECORDS`].
pub(crate) const DEFAULT_PAGE_LIMITS: PageLimits =
    PageLimits::for_records(PageLimits::PLAUSIBLE_RECORDS, PAGE_SIZE);

/// Where the fix-it messages send the user for credentials.
pub(crate) const API_SETTINGS: &str = "HaloPSA > Configuration > Integrations > HaloPSA API";

pub(crate) struct Inner {
    pub(crate) http: HttpClient,
    /// `https://host` (plus any path prefix), no trailing slash.
    pub(crate) base: String,
    pub(crate) tenant: Option<String>,
    pub(crate) project_type: Option<i64>,
    pub(crate) task_type: Option<i64>,
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) tokens: TokenCache,
    /// The token endpoint found through `GET /api/authinfo`.
    pub(crate) discovered: Mutex<Option<TokenEndpoint>>,
    /// The name of the agent the application logs in as, once known.
    pub(crate) agent: Mutex<Option<String>>,
}

/// The HaloPSA connector: CRM (clients, users, opportunities) and PSA
/// (projects with milestones and tasks). Cheap to clone; clones share the
/// HTTP client, rate limiter and token.
#[derive(Clone)]
pub struct HaloPsaConnector {
    pub(crate) inner: Arc<Inner>,
    /// Page requests in flight for record reads (shared by clones).
    pub(crate) window: AdaptiveWindow,
}

impl std::fmt::Debug for HaloPsaConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaloPsaConnector")
            .field("base", &self.inner.base)
            .field("tenant", &self.inner.tenant)
            .field("client_id", &self.inner.client_id)
            .field("project_ticket_type_id", &self.inner.project_type)
            .field("task_ticket_type_id", &self.inner.task_type)
            .finish_non_exhaustive()
    }
}

/// Parses a HaloPSA id typed into a setting or chosen on a form.
pub(crate) fn parse_id(field: &'static str, value: &str) -> Result<i64, ConnectorError> {
    scopelink_core::wire::text_id(value)
        .filter(|id| *id > 0)
        .ok_or_else(|| ConnectorError::InvalidConfig {
            field,
            message: format!(
                "`{value}` is not a HaloPSA id (a positive whole number); pick it from the lists read from HaloPSA"
            ),
        })
}

pub(crate) fn invalid_host(message: String) -> ConnectorError {
    ConnectorError::InvalidConfig {
        field: "host",
        message,
    }
}

/// The web address field: the instance may live under a path, and a pasted
/// `/api` or `/auth` endpoint is dropped.
const ADDRESS: BaseUrlRules = BaseUrlRules {
    field: "host",
    address: "your HaloPSA web address",
    example: "yourcompany.halopsa.com",
    path: PathRule::Prefix {
        strip: &["/api", "/auth"],
    },
};

/// Turns what the user typed into the base URL ([`BaseUrlRules::normalize`]
/// under the client's address policy), without a trailing slash.
fn normalize_host(http: &HttpClient, input: &str) -> Result<String, ConnectorError> {
    let url = ADDRESS.normalize(input, http.config().addresses)?;
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// HaloPSA's fixes for refused calls, which name the agent the API
/// application logs in as.
pub(crate) struct HaloHints {
    fix_credentials: String,
    fix_permission: String,
}

impl HaloHints {
    /// The hints for the core mapping.
    pub(crate) fn get(&self) -> ErrorHints<'_> {
        ErrorHints {
            provider: "HaloPSA",
            credentials: "the access token",
            fix_credentials: &self.fix_credentials,
            fix_permission: &self.fix_permission,
            address: &ADDRESS,
        }
    }
}

/// The OAuth error code in a token endpoint's message, if any.
pub(crate) fn oauth_code(message: &str) -> Option<&'static str> {
    [
        "invalid_client",
        "unauthorized_client",
        "invalid_scope",
        "unsupported_grant_type",
        "invalid_grant",
        "invalid_request",
    ]
    .into_iter()
    .find(|code| message.contains(code))
}

impl HaloPsaConnector {
    /// A connector for `settings`, authenticating with `credentials`.
    ///
    /// [`DEFAULT_RATE_LIMIT`] applies when `http.rate_limit` is `None`.
    /// Fails with [`ConnectorError::InvalidConfig`] when the host is not a
    /// usable address (see [`scopelink_core::http::validate_url`]) or a
    /// ticket type id is not a number, and when the client id is empty.
    pub fn new(
        settings: HaloPsaSettings,
        credentials: ClientCredentials,
        mut http: HttpConfig,
    ) -> Result<Self, ConnectorError> {
        if http.rate_limit.is_none() {
            http.rate_limit = Some(DEFAULT_RATE_LIMIT);
        }
        http.throttle.get_or_insert(DEFAULT_THROTTLE);
        http.body_limits.get_or_insert(DEFAULT_BODY_LIMITS);
        http.pages.get_or_insert(DEFAULT_PAGE_LIMITS);
        let http = HttpClient::new(http)?;
        let base = normalize_host(&http, &settings.host)?;
        let opt_id = |field: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| parse_id(field, v))
                .transpose()
        };
        let project_type = opt_id("project_ticket_type_id", &settings.project_ticket_type_id)?;
        let task_type = opt_id("task_ticket_type_id", &settings.task_ticket_type_id)?;
        if credentials.client_id.is_empty() {
            return Err(ConnectorError::InvalidConfig {
                field: "client_id",
                message: format!("enter the client ID of the API application ({API_SETTINGS})"),
            });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                tenant: settings
                    .tenant
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty()),
                project_type,
                task_type,
                client_id: credentials.client_id,
                client_secret: credentials.client_secret,
                tokens: TokenCache::default(),
                discovered: Mutex::new(None),
                agent: Mutex::new(None),
            }),
            window: AdaptiveWindow::new(CONCURRENCY_LIMIT),
        })
    }

    /// Sets how many page requests a record read keeps in flight (default
    /// [`Concurrency::Auto`]: [`CONCURRENCY_LIMIT`]), never more than
    /// [`CONCURRENCY_LIMIT`]'s `max`. Pages are still committed one at a
    /// time, in order. `Concurrency::UpTo(1)` reads one page at a time.
    pub fn with_concurrency(mut self, concurrency: Concurrency) -> Self {
        self.window = AdaptiveWindow::new(concurrency.resolve(CONCURRENCY_LIMIT));
        self
    }

    /// The window of page requests in flight record reads run under (its
    /// current size and what it did so far).
    pub fn concurrency(&self) -> &AdaptiveWindow {
        &self.window
    }

    /// The HTTP client (for request counts and its configuration).
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// The normalized base URL, e.g. `https://companyxyz.halopsa.com`.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    pub(crate) fn project_type(&self) -> Result<i64, ConnectorError> {
        self.inner
            .project_type
            .ok_or_else(|| ConnectorError::InvalidConfig {
                field: "project_ticket_type_id",
                message: "choose the HaloPSA ticket type used for projects (one with milestones enabled) before pushing projects".into(),
            })
    }

    pub(crate) fn task_type(&self) -> Result<i64, ConnectorError> {
        match self.inner.task_type {
            Some(t) => Ok(t),
            None => self.project_type(),
        }
    }

    pub(crate) fn url(&self, rel: &str) -> Result<Url, ConnectorError> {
        let joined = format!("{}/{}", self.inner.base, rel.trim_start_matches('/'));
        Url::parse(&joined).map_err(|e| invalid_host(format!("`{joined}` is not a valid URL: {e}")))
    }

    pub(crate) fn lock<'a, T>(m: &'a Mutex<T>) -> std::sync::MutexGuard<'a, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn remember_agent(&self, name: Option<String>) {
        *Self::lock(&self.inner.agent) = name;
    }

    fn agent_label(&self) -> String {
        match Self::lock(&self.inner.agent).as_deref() {
            Some(name) => format!("the agent `{name}` that the API application logs in as"),
            None => "the agent that the API application logs in as".to_string(),
        }
    }

    // ----- API calls -----

    /// What a HaloPSA user checks when a call fails.
    pub(crate) fn hints(&self) -> HaloHints {
        let agent = self.agent_label();
        HaloHints {
            fix_credentials: format!(
                "a fresh token was refused too; check that the API application is active and {agent} is enabled ({API_SETTINGS} > Applications)"
            ),
            fix_permission: format!(
                "{agent} or the API application lacks the permission; grant it on the application's Permissions tab ({API_SETTINGS} > Applications) and on the agent's roles"
            ),
        }
    }

    /// Maps a failed API call to the error the user can act on.
    pub(crate) fn api_error(&self, e: HttpError, what: &str) -> ConnectorError {
        self.hints().get().map(e, what)
    }

    /// Sends an API call with the bearer token. A 401 drops the token and
    /// retries once with a new one (the request was refused before it was
    /// processed, so this is safe even for POST).
    pub(crate) async fn send(
        &self,
        method: Method,
        rel: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        what: &str,
    ) -> Result<Response, ConnectorError> {
        let url = self.url(&format!("api/{rel}"))?;
        let mut refreshed = false;
        loop {
            let token = self.token().await?;
            let bearer = SecretString::from(format!("Bearer {}", token.secret.expose_secret()));
            let mut req = Request::new(method.clone(), url.clone())
                .query(query)
                .header("Accept", "application/json")
                .secret_header("Authorization", &bearer);
            if let Some(body) = body {
                req = req.json(body);
            }
            match self.inner.http.send(req).await {
                Ok(resp) => return Ok(resp),
                Err(e) if e.is_unauthorized() && !refreshed => {
                    tracing::debug!("HaloPSA rejected the access token; refreshing it once");
                    self.inner.tokens.invalidate(token.generation);
                    refreshed = true;
                }
                Err(e) => return Err(self.api_error(e, what)),
            }
        }
    }

    /// Decodes an API reply as JSON; a web page means the host is wrong.
    pub(crate) fn json(&self, resp: &Response, what: &str) -> Result<Value, ConnectorError> {
        if is_web_page(resp) {
            return Err(self.hints().get().web_page(&self.inner.base, what));
        }
        serde_json::from_slice(&resp.body).map_err(|e| ConnectorError::Decode {
            what: what.to_string(),
            message: e.to_string(),
        })
    }

    /// `GET` returning JSON.
    pub(crate) async fn get_json(
        &self,
        rel: &str,
        query: &[(&str, &str)],
        what: &str,
    ) -> Result<Value, ConnectorError> {
        let resp = self.send(Method::GET, rel, query, None, what).await?;
        self.json(&resp, what)
    }

    /// `GET` of one object; `None` when HaloPSA says it does not exist.
    pub(crate) async fn get_one(
        &self,
        rel: &str,
        what: &str,
    ) -> Result<Option<Value>, ConnectorError> {
        match self.get_json(rel, &[], what).await {
            Ok(Value::Object(map)) => {
                // A missing record has come back as an empty object or id 0.
                let id = map.get("id").and_then(crate::wire::value_id);
                Ok(id.filter(|id| *id > 0).map(|_| Value::Object(map)))
            }
            Ok(Value::Null) => Ok(None),
            Ok(_) => Err(ConnectorError::Decode {
                what: what.to_string(),
                message: "expected a single object".into(),
            }),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST` of a JSON body (HaloPSA creates and updates with POST; never
    /// retried by the runtime, as a retry could create a duplicate).
    pub(crate) async fn post_json(
        &self,
        rel: &str,
        body: &Value,
        what: &str,
    ) -> Result<Value, ConnectorError> {
        let resp = self.send(Method::POST, rel, &[], Some(body), what).await?;
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        self.json(&resp, what)
    }

    /// A list that is not paged (a bare array, or a wrapper).
    pub(crate) async fn get_list(
        &self,
        rel: &str,
        query: &[(&str, &str)],
        keys: &[&str],
        what: &str,
    ) -> Result<Vec<Value>, ConnectorError> {
        let body = self.get_json(rel, query, what).await?;
        ListReply::parse(body, keys)
            .map(|l| l.items)
            .ok_or_else(|| ConnectorError::Decode {
                what: what.to_string(),
                message: "expected a list".into(),
            })
    }

    /// One page of a paged list (`pageinate=true&page_size=100&page_no=N`).
    pub(crate) async fn get_page(
        &self,
        rel: &str,
        query: &[(String, String)],
        keys: &[&str],
        page_no: u32,
        what: &str,
    ) -> Result<(Vec<Value>, Option<u32>), ConnectorError> {
        self.get_numbered_page(rel, query, keys, page_no, what)
            .await
            .map(|(items, next, _)| (items, next))
    }

    /// [`Self::get_page`], with the number of the list's last page where
    /// the reply counts its records (`record_count`).
    pub(crate) async fn get_numbered_page(
        &self,
        rel: &str,
        query: &[(String, String)],
        keys: &[&str],
        page_no: u32,
        what: &str,
    ) -> Result<(Vec<Value>, Option<u32>, Option<u32>), ConnectorError> {
        let page_no_s = page_no.to_string();
        let page_size_s = PAGE_SIZE.to_string();
        let mut pairs: Vec<(&str, &str)> = vec![
            ("pageinate", "true"),
            ("page_size", &page_size_s),
            ("page_no", &page_no_s),
        ];
        pairs.extend(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let body = self.get_json(rel, &pairs, what).await?;
        let list = ListReply::parse(body, keys).ok_or_else(|| ConnectorError::Decode {
            what: what.to_string(),
            message: "expected a page of results".into(),
        })?;
        let next = next_page(page_no, PAGE_SIZE, list.items.len(), list.record_count);
        let last = list.record_count.map(|total| {
            u32::try_from(total.div_ceil(u64::from(PAGE_SIZE)).max(1)).unwrap_or(u32::MAX)
        });
        Ok((list.items, next, last))
    }

    /// Every item of a paged list.
    pub(crate) async fn get_all(
        &self,
        rel: &str,
        query: &[(String, String)],
        keys: &[&str],
        what: &str,
    ) -> Result<Vec<Value>, ConnectorError> {
        let limits = self
            .inner
            .http
            .config()
            .pages
            .unwrap_or(DEFAULT_PAGE_LIMITS);
        let fetch = |token: Option<String>| async move {
            let page_no = page_number(token.as_deref()).unwrap_or(1);
            let (items, next) = self.get_page(rel, query, keys, page_no, what).await?;
            Ok::<_, ConnectorError>(Page {
                items,
                next: next.map(|n| n.to_string()),
            })
        };
        collect_all(limits, fetch, Ok).await
    }
}

/// The page after `page_no`, or `None` when the walk is done: the page was
/// empty, `record_count` items have been seen, or (without a count) the page
/// was short. A reply larger than the page size means paging was ignored and
/// everything came at once.
pub(crate) fn next_page(
    page_no: u32,
    page_size: u32,
    got: usize,
    record_count: Option<u64>,
) -> Option<u32> {
    if got == 0 || got > page_size as usize || page_no >= 1_000_000 {
        return None;
    }
    match record_count {
        Some(total) => {
            let seen = u64::from(page_no.saturating_sub(1)) * u64::from(page_size) + got as u64;
            (seen < total).then_some(page_no + 1)
        }
        None => (got == page_size as usize).then_some(page_no + 1),
    }
}

// ----- the Connector capability -----

#[scopelink_core::async_trait]
impl scopelink_core::connector::Connector for HaloPsaConnector {
    fn provider(&self) -> Provider {
        Provider::HaloPsa
    }

    fn capabilities(&self) -> BTreeSet<FeatureCategory> {
        [FeatureCategory::Crm, FeatureCategory::Psa].into()
    }

    /// Obtains a token and reads `GET /api/Agent/me`, the agent the API
    /// application logs in as. Failures say what to fix: the host
    /// ([`ConnectorError::InvalidConfig`] `host`), the client id / secret or
    /// an inactive application ([`ConnectorError::Authentication`]), or a
    /// missing permission ([`ConnectorError::PermissionDenied`]).
    async fn test_connection(&self) -> Result<(), ConnectorError> {
        let what = "reading the API agent (GET /api/Agent/me)";
        let body = match self.get_json("Agent/me", &[], what).await {
            Ok(body) => body,
            Err(ConnectorError::NotFound { .. }) => {
                return Err(ConnectorError::InvalidConfig {
                    field: "host",
                    message: format!(
                        "{} issued a token but has no /api/Agent/me; check that the address is your HaloPSA web address",
                        self.base_url()
                    ),
                })
            }
            Err(e) => return Err(e),
        };
        let agent: crate::wire::Agent =
            serde_json::from_value(body).map_err(|e| ConnectorError::Decode {
                what: what.into(),
                message: e.to_string(),
            })?;
        let name = agent.name.clone().filter(|n| !n.trim().is_empty());
        self.remember_agent(name.clone());
        if agent.isdisabled.unwrap_or(false) {
            return Err(ConnectorError::Authentication {
                message: format!(
                    "the agent `{}` that the HaloPSA API application logs in as is disabled; enable it, or choose another agent for the application in HaloPSA > Configuration > Integrations > HaloPSA API",
                    name.unwrap_or_else(|| "?".into())
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scopelink_core::error_hints::readable_message;
    use scopelink_core::http::AddressPolicy;

    fn client(policy: AddressPolicy) -> HttpClient {
        HttpClient::new(HttpConfig::default().with_addresses(policy)).unwrap()
    }

    #[test]
    fn paging_stops_where_it_should() {
        assert_eq!(next_page(1, 3, 3, Some(5)), Some(2));
        assert_eq!(next_page(2, 3, 2, Some(5)), None);
        assert_eq!(next_page(1, 3, 3, Some(3)), None);
        assert_eq!(next_page(1, 3, 0, Some(5)), None);
        assert_eq!(next_page(1, 3, 3, None), Some(2));
        assert_eq!(next_page(2, 3, 1, None), None);
        // Paging ignored: everything came at once.
        assert_eq!(next_page(1, 3, 7, Some(7)), None);
        // A bogus page number does not underflow.
        assert_eq!(next_page(0, 3, 3, Some(10)), Some(1));
    }

    #[test]
    fn provider_messages_are_made_readable() {
        assert_eq!(
            readable_message(include_str!("../../fixtures/halopsa/error_400.json")),
            "Please select a Customer before saving this Ticket."
        );
        assert_eq!(
            readable_message(include_str!(
                "../../fixtures/halopsa/error_400_validation.json"
            )),
            "[0].tickettype_id: The ticket type 999 does not exist."
        );
        assert_eq!(
            readable_message(include_str!("../../fixtures/halopsa/error_429.json")),
            "Rate Limit Reached - 300 Requests per rolling 5 minute window"
        );
        assert_eq!(readable_message(" plain text "), "plain text");
        assert_eq!(readable_message("{}"), "{}");
        assert!(readable_message(&"x".repeat(2000)).len() < 600);
    }

    #[test]
    fn settings_round_trip_through_a_map() {
        let s = HaloPsaSettings {
            host: "acme.halopsa.com".into(),
            tenant: Some("acme".into()),
            project_ticket_type_id: Some("3".into()),
            task_ticket_type_id: None,
        };
        assert_eq!(HaloPsaSettings::from_map(&s.to_map()).unwrap(), s);
    }

    #[test]
    fn ids_must_be_positive_numbers() {
        assert_eq!(parse_id("company_id", "12").unwrap(), 12);
        assert_eq!(parse_id("company_id", "12.0").unwrap(), 12);
        for bad in ["", "abc", "-1", "0", "1.5"] {
            assert!(matches!(
                parse_id("company_id", bad),
                Err(ConnectorError::InvalidConfig {
                    field: "company_id",
                    ..
                })
            ));
        }
    }

    #[test]
    fn oauth_codes_are_found_in_raw_or_extracted_messages() {
        assert_eq!(oauth_code("invalid_client"), Some("invalid_client"));
        assert_eq!(
            oauth_code(r#"{"error":"unauthorized_client"}"#),
            Some("unauthorized_client")
        );
        assert_eq!(oauth_code("nope"), None);
    }

    // Needs the core HTTP runtime (validate_url).
    #[test]
    fn hosts_are_normalized() {
        let public = client(AddressPolicy::public_only());
        for (input, want) in [
            ("companyxyz.halopsa.com", "https://companyxyz.halopsa.com"),
            (
                " https://companyxyz.halopsa.com/ ",
                "https://companyxyz.halopsa.com",
            ),
            (
                "https://companyxyz.halopsa.com/api",
                "https://companyxyz.halopsa.com",
            ),
            (
                "https://companyxyz.halopsa.com/API/",
                "https://companyxyz.halopsa.com",
            ),
            (
                "companyxyz.halopsa.com/auth",
                "https://companyxyz.halopsa.com",
            ),
            (
                "https://halo.example.com/halo/?x=1#y",
                "https://halo.example.com/halo",
            ),
        ] {
            assert_eq!(normalize_host(&public, input).unwrap(), want, "{input}");
        }
        for bad in [
            "",
            "   ",
            "http://companyxyz.halopsa.com",
            "https://127.0.0.1",
            "https://10.0.0.1",
        ] {
            assert!(
                matches!(
                    normalize_host(&public, bad),
                    Err(ConnectorError::InvalidConfig { field: "host", .. })
                ),
                "{bad}"
            );
        }
        let local = client(AddressPolicy::allow_local());
        assert_eq!(
            normalize_host(&local, "http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
    }
}
