//! Settings, authentication, API base discovery, the HTTP calls and the
//! mapping of HTTP failures to errors that say what to fix.

use crate::convert::convert_page;
use crate::settings::ConnectWiseSettings;
use crate::site::ConnectWiseSite;
use base64::Engine as _;
use scopelink_core::base_url::{BaseUrlRules, PathRule};
use scopelink_core::concurrency::{AdaptiveWindow, Concurrency, ConcurrencyLimit};
use scopelink_core::connector::{PageStream, RecordPage};
use scopelink_core::error::{ConnectorError, HttpError};
use scopelink_core::error_hints::ErrorHints;
use scopelink_core::http::{
    next_link, rel_link, validate_url, AddressPolicy, BodyLimits, HttpClient, HttpConfig, Method,
    Page, PageLimits, Request, Response,
};
use scopelink_core::model::DataType;
use scopelink_core::pages::{
    collect_all, numbered_record_stream, record_stream, same_origin, NumberedPage, PageToken,
};
use scopelink_core::secret::ApiKeyPair;
use scopelink_core::wire::decode_array;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use url::Url;

/// The API version pinned in the `Accept` header when none is configured.
pub const DEFAULT_API_VERSION: &str = "2025.1";
/// The largest page ConnectWise serves (and the default page size).
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Page requests a record read keeps in flight under
/// [`Concurrency::Auto`]: at most 6, starting at 1 (the window grows only
/// while pages are slow to come, see
/// [`AdaptiveWindow`]). ConnectWise publishes
/// no concurrency quota; its Developer Guide ("Rate Limiting") says it
/// answers 429 with `Retry-After` and that more than about 1,000 requests
/// a minute will likely be throttled: 6 pages of 1,000 records in flight,
/// each taking a few hundred milliseconds, stay under that. Lists are read
/// concurrently only when their replies carry navigable paging's
/// `Link: <...>; rel="last"`.
pub const CONCURRENCY_LIMIT: ConcurrencyLimit = ConcurrencyLimit::new(6, 1);
/// Response body limits used when [`HttpConfig::body_limits`] is `None`:
/// 32 MiB for a page (a full page of 1,000 records with custom fields runs
/// to a few MiB), 64 KiB of an error body (ConnectWise's are under 1 KiB).
pub(crate) const DEFAULT_BODY_LIMITS: BodyLimits = BodyLimits {
    success: 32 * 1024 * 1024,
    error: 64 * 1024,
};

/// `http` with the ConnectWise defaults where it sets none.
fn with_defaults(mut http: HttpConfig) -> HttpConfig {
    http.body_limits.get_or_insert(DEFAULT_BODY_LIMITS);
    http
}

/// The bounds of a page walk: the host's, else as many pages of
/// `page_size` as hold [`PageLimits::PLAUSIBLE_RECORDS`] (5,000 pages of
/// 1,000).
fn page_limits(http: &HttpClient, page_size: u32) -> PageLimits {
    http.config().pages.unwrap_or(PageLimits::for_records(
        PageLimits::PLAUSIBLE_RECORDS,
        page_size,
    ))
}

fn config_error(field: &'static str, message: impl Into<String>) -> ConnectorError {
    ConnectorError::InvalidConfig {
        field,
        message: message.into(),
    }
}

/// The server address field: the base is the site's root.
pub(crate) const ADDRESS: BaseUrlRules = BaseUrlRules {
    field: "server_url",
    address: "only the server address",
    example: "na.myconnectwise.net",
    path: PathRule::Root,
};

/// What a ConnectWise user checks when a call fails.
pub(crate) const HINTS: ErrorHints<'static> = ErrorHints {
    provider: "ConnectWise",
    credentials: "the API keys",
    fix_credentials: "check the public and private keys and the company id",
    fix_permission:
        "the API member's security role lacks this permission: grant it in System > Security Roles",
    address: &ADDRESS,
};

/// Normalizes a user-typed server address to `scheme://host[:port]/`.
///
/// A missing scheme means `https://`; any path, query or fragment (a pasted
/// `/v4_6_release/apis/3.0/` API path, a `/login` page) is dropped. The
/// result is checked with the core's [`validate_url`] under `policy` (https
/// only, no private addresses unless the policy allows them); see
/// [`BaseUrlRules::normalize`].
pub fn normalize_server_url(input: &str, policy: AddressPolicy) -> Result<Url, ConnectorError> {
    ADDRESS.normalize(input, policy)
}

fn valid_codebase(codebase: &str) -> Option<&str> {
    let c = codebase.trim().trim_matches('/');
    let ok = !c.is_empty()
        && !c.contains("..")
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    ok.then_some(c)
}

fn valid_api_version(version: &str) -> bool {
    !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// Discovers the API base: `GET {login site}/login/companyinfo/{companyId}`
/// (no authentication) answers the `Codebase`; the API base is
/// `{api host}/{Codebase}apis/3.0` with the API host derived from the
/// address the user typed by the Developer Guide's rule (see
/// [`ConnectWiseSite::api_url`]). The answer names no host, and none it
/// might carry is followed: the keys only go to the site the user named.
async fn discover_api_base(
    http: &HttpClient,
    site: &ConnectWiseSite,
    company_id: &str,
    client_id: &str,
) -> Result<Url, ConnectorError> {
    let server = site.login_url();
    let mut url = server.clone();
    url.path_segments_mut()
        .map_err(|_| config_error("server_url", "the server address cannot have a path"))?
        .pop_if_empty()
        .extend(["login", "companyinfo", company_id]);
    let mut request = Request::new(Method::GET, url).header("Accept", "application/json");
    if !client_id.is_empty() {
        request = request.header("clientId", client_id);
    }
    let host = server.host_str().unwrap_or_default().to_string();
    let response = http.send(request).await.map_err(|e| match e {
        HttpError::Status { status: 404, .. } => config_error(
            "server_url",
            format!(
                "{host} has no ConnectWise company-info page (HTTP 404); enter only the server address, such as na.myconnectwise.net, without any path, and check the company id"
            ),
        ),
        HttpError::Status {
            status, message, ..
        } => config_error(
            "server_url",
            format!(
                "{host} refused the ConnectWise company-info request (HTTP {status}: {message}); check the server address"
            ),
        ),
        other => HINTS.unreachable(&host, other),
    })?;
    let body = String::from_utf8_lossy(&response.body);
    let body = body.trim();
    if body.is_empty() || body == "null" || body == "{}" {
        return Err(unknown_company(company_id));
    }
    let info: crate::wire::CompanyInfo = match serde_json::from_str(body) {
        Ok(info) => info,
        Err(_) if body.starts_with('<') => {
            return Err(HINTS.web_page(&host, "the company-info request"))
        }
        Err(e) => {
            return Err(config_error(
                "server_url",
                format!(
                "{host} did not answer like a ConnectWise server ({e}); check the server address"
            ),
            ))
        }
    };
    let Some(codebase) = info.codebase.as_deref().filter(|c| !c.trim().is_empty()) else {
        return Err(unknown_company(company_id));
    };
    let codebase = valid_codebase(codebase).ok_or_else(|| ConnectorError::Decode {
        what: "company information".into(),
        message: format!("the codebase `{codebase}` is not a path segment"),
    })?;
    let api_base = site.api_base(codebase);
    validate_url(api_base.as_str(), http.config().addresses).map_err(|e| {
        config_error(
            "server_url",
            format!("the ConnectWise API address {api_base} is refused: {e}"),
        )
    })
}

fn unknown_company(company_id: &str) -> ConnectorError {
    config_error(
        "company_id",
        format!(
            "ConnectWise does not know the company id `{company_id}`; enter the company id you log in to ConnectWise with (not the company name)"
        ),
    )
}

/// The checks every connector build makes, without any network call: the
/// clientId, company id and keys present, the API version well-formed.
/// Returns the API version to pin.
pub(crate) fn check<'a>(
    settings: &'a ConnectWiseSettings,
    keys: &ApiKeyPair,
) -> Result<&'a str, ConnectorError> {
    if settings.client_id.trim().is_empty() {
        return Err(config_error(
            "client_id",
            "the ConnectWise clientId of this integration is missing; ConnectWise requires it on every call",
        ));
    }
    settings.records_per_page()?;
    if keys.company_id.is_empty() {
        return Err(config_error(
            "company_id",
            "enter the company id you log in to ConnectWise with",
        ));
    }
    if keys.public_key.is_empty() || keys.private_key.expose_secret().is_empty() {
        return Err(ConnectorError::Authentication {
            message: "the public or private key is empty; check the public and private keys and the company id".into(),
        });
    }
    let version = settings
        .api_version
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_API_VERSION);
    if !valid_api_version(version) {
        return Err(config_error(
            "api_version",
            format!("`{version}` is not a ConnectWise API version such as {DEFAULT_API_VERSION}"),
        ));
    }
    Ok(version)
}

/// A page as it came: `items` holds the response body's bytes, undecoded.
type RawPage = Page<u8>;

/// Whether a body is an empty JSON array (`[]`, whitespace allowed).
fn is_empty_array(body: &[u8]) -> bool {
    let inner = body.trim_ascii();
    inner.first() == Some(&b'[')
        && inner.last() == Some(&b']')
        && inner[1..inner.len() - 1].trim_ascii().is_empty()
}

pub(crate) struct Inner {
    pub(crate) http: HttpClient,
    pub(crate) api_base: Url,
    /// The login site (`https://na.myconnectwise.net/`).
    pub(crate) server: Option<Url>,
    /// The site the user named (login host, API host, region).
    pub(crate) site: Option<ConnectWiseSite>,
    pub(crate) settings: ConnectWiseSettings,
    pub(crate) company_id: String,
    authorization: SecretString,
    accept: String,
    pub(crate) signing_keys: Arc<crate::callback_key::SigningKeys>,
}

/// The ConnectWise Manage connector. Cheap to clone (clones share the HTTP
/// client, its rate limiter and the signing-key cache).
#[derive(Clone)]
pub struct ConnectWiseConnector {
    pub(crate) inner: Arc<Inner>,
    pub(crate) page_size: u32,
    /// Page requests in flight for record reads (shared by clones).
    pub(crate) window: AdaptiveWindow,
}

impl fmt::Debug for ConnectWiseConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectWiseConnector")
            .field("api_base", &self.inner.api_base.as_str())
            .field("company_id", &self.inner.company_id)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

impl ConnectWiseConnector {
    /// Discovers the API base via `GET {login site}/login/companyinfo/{companyId}`
    /// (the codebase) and the API host derived from the typed address
    /// ([`ConnectWiseSite::api_url`]), then builds the connector.
    ///
    /// Failures name the setting to fix: `server_url` (unreachable, not a
    /// ConnectWise server, a refused address), `company_id` (unknown company).
    pub async fn connect(
        settings: ConnectWiseSettings,
        keys: ApiKeyPair,
        http: HttpConfig,
    ) -> Result<Self, ConnectorError> {
        let http = with_defaults(http);
        let client = HttpClient::new(http)?;
        let site = ConnectWiseSite::parse(&settings.server_url, client.config().addresses)?;
        if keys.company_id.is_empty() {
            return Err(config_error(
                "company_id",
                "enter the company id you log in to ConnectWise with",
            ));
        }
        let api_base =
            discover_api_base(&client, &site, &keys.company_id, settings.client_id.trim()).await?;
        tracing::debug!(api_base = %api_base, "ConnectWise API base discovered");
        Self::build(client, api_base, Some(site), settings, keys)
    }

    /// Builds with a cached API base (stored on the connection's settings
    /// under [`API_BASE_SETTING`](crate::API_BASE_SETTING)) — no discovery request.
    pub fn with_api_base(
        api_base: Url,
        settings: ConnectWiseSettings,
        keys: ApiKeyPair,
        http: HttpConfig,
    ) -> Result<Self, ConnectorError> {
        let http = with_defaults(http);
        let client = HttpClient::new(http)?;
        let mut api_base = validate_url(api_base.as_str(), client.config().addresses)
            .map_err(|e| config_error("api_base", e.to_string()))?;
        api_base.set_query(None);
        api_base.set_fragment(None);
        let site = ConnectWiseSite::parse(&settings.server_url, client.config().addresses).ok();
        Self::build(client, api_base, site, settings, keys)
    }

    fn build(
        http: HttpClient,
        mut api_base: Url,
        site: Option<ConnectWiseSite>,
        settings: ConnectWiseSettings,
        keys: ApiKeyPair,
    ) -> Result<Self, ConnectorError> {
        if let Ok(mut segments) = api_base.path_segments_mut() {
            segments.pop_if_empty();
        }
        let version = check(&settings, &keys)?;
        let page_size = settings.records_per_page()?;
        // Held as secrets so the plain text is zeroized when dropped.
        let credentials = SecretString::from(format!(
            "{}+{}:{}",
            keys.company_id,
            keys.public_key,
            keys.private_key.expose_secret()
        ));
        let authorization = SecretString::from(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(credentials.expose_secret().as_bytes())
        ));
        let signing_keys = crate::callback_key::SigningKeys::shared(&api_base, &keys.company_id);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                api_base,
                server: site.as_ref().map(|s| s.login_url().clone()),
                site,
                accept: format!("application/vnd.connectwise.com+json; version={version}"),
                company_id: keys.company_id.clone(),
                settings,
                authorization,
                signing_keys,
            }),
            page_size,
            window: AdaptiveWindow::new(CONCURRENCY_LIMIT),
        })
    }

    /// Sets the page size of list requests (1..=1000; default the
    /// settings' [`ConnectWiseSettings::page_size`], else 1000).
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        self
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

    /// The API base (`https://api-na.myconnectwise.net/v2025_1/apis/3.0`);
    /// store it under [`API_BASE_SETTING`](crate::API_BASE_SETTING) to skip discovery next time.
    pub fn api_base(&self) -> &Url {
        &self.inner.api_base
    }

    /// The ConnectWise site the user named: its login host, API host and
    /// cloud region ([`ConnectWiseSite::region`]); `None` when the settings'
    /// `server_url` does not parse (a connector built from a cached API
    /// base only).
    pub fn site(&self) -> Option<&ConnectWiseSite> {
        self.inner.site.as_ref()
    }

    /// The HTTP client (for request counting in benchmarks).
    pub fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// The settings the connector was built with.
    pub fn settings(&self) -> &ConnectWiseSettings {
        &self.inner.settings
    }

    /// The page size of list requests.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// `{api_base}/{segments...}` (each segment percent-encoded).
    pub(crate) fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.api_base.clone();
        if let Ok(mut s) = url.path_segments_mut() {
            s.pop_if_empty();
            for segment in segments {
                for part in segment.split('/').filter(|p| !p.is_empty()) {
                    s.push(part);
                }
            }
        }
        url
    }

    /// `{api_base}/{path}/{id}` with `id` as one encoded segment.
    pub(crate) fn record_url(&self, path: &str, id: &str) -> Url {
        let mut url = self.endpoint(&[path]);
        if let Ok(mut s) = url.path_segments_mut() {
            s.push(id);
        }
        url
    }

    /// An authenticated request.
    pub(crate) fn request(&self, method: Method, url: Url) -> Request {
        Request::new(method, url)
            .secret_header("Authorization", &self.inner.authorization)
            .header("clientId", self.inner.settings.client_id.trim())
            .header("Accept", &self.inner.accept)
    }

    /// Sends an authenticated request, mapping failures.
    pub(crate) async fn send(
        &self,
        request: Request,
        what: &str,
    ) -> Result<Response, ConnectorError> {
        self.inner
            .http
            .send(request)
            .await
            .map_err(|e| HINTS.map(e, what))
    }

    /// Decodes a response body.
    pub(crate) fn decode<T: DeserializeOwned>(
        response: &Response,
        what: &str,
    ) -> Result<T, ConnectorError> {
        serde_json::from_slice(&response.body).map_err(|e| ConnectorError::Decode {
            what: what.to_string(),
            message: e.to_string(),
        })
    }

    /// GETs and decodes one JSON document.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        what: &str,
    ) -> Result<T, ConnectorError> {
        let response = self.send(self.request(Method::GET, url), what).await?;
        Self::decode(&response, what)
    }

    /// Sends a JSON body (POST or PATCH) and decodes the answer.
    pub(crate) async fn send_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: &B,
        retry_safe: bool,
        what: &str,
    ) -> Result<T, ConnectorError> {
        let request = self.request(method, url).json(body).retry_safe(retry_safe);
        let response = self.send(request, what).await?;
        Self::decode(&response, what)
    }

    /// Whether `url` is on the API's own origin (the core's one check, see
    /// [`same_origin`]) and under its path.
    pub(crate) fn own_url(&self, url: &Url) -> bool {
        let base = &self.inner.api_base;
        same_origin(base, url) && url.path().starts_with(base.path())
    }

    /// The URL of page `page` of a list.
    fn list_url(&self, path: &str, query: &[(String, String)], page: u32) -> Url {
        let mut url = self.endpoint(&[path]);
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
            q.append_pair("pageSize", &self.page_size.to_string());
            q.append_pair("page", &page.to_string());
        }
        url
    }

    /// Fetches one page of a list, without decoding it. `token` is `None`
    /// (first page), a page number, or a next link from a `Link` header.
    /// The next page is found from the `Link` header where there is one, so
    /// the page's items need not be decoded first: the next request can go
    /// out while this page is decoded elsewhere. Only without a usable link
    /// are the items counted (a full page means there may be another).
    async fn fetch_raw_page(
        &self,
        path: &str,
        query: &[(String, String)],
        token: Option<String>,
        what: &str,
    ) -> Result<RawPage, ConnectorError> {
        self.fetch_numbered_page(path, query, token, what)
            .await
            .map(|numbered| numbered.page)
    }

    /// [`Self::fetch_raw_page`], with the number of the list's last page
    /// where the reply's `Link` header names one (`rel="last"`, navigable
    /// paging).
    async fn fetch_numbered_page(
        &self,
        path: &str,
        query: &[(String, String)],
        token: Option<String>,
        what: &str,
    ) -> Result<NumberedPage<u8>, ConnectorError> {
        let read = PageToken::read(token.as_deref(), &self.inner.api_base);
        let (url, page) = match read {
            Some(PageToken::Number(n)) => (self.list_url(path, query, n), n),
            Some(PageToken::NextUrl(url)) if self.own_url(&url) => {
                let page = page_param(&url).unwrap_or(1);
                (url, page)
            }
            _ => {
                return Err(ConnectorError::Decode {
                    what: "page token".into(),
                    message: format!(
                        "`{}` is neither a page number nor a link on {}",
                        token.as_deref().unwrap_or_default().trim(),
                        self.inner.api_base
                    ),
                })
            }
        };
        let current = url.clone();
        let response = self.send(self.request(Method::GET, url), what).await?;
        let body = &response.body;
        // Whether the page was full, counted only when needed.
        let full = || -> Result<bool, ConnectorError> {
            let items: Vec<serde::de::IgnoredAny> =
                serde_json::from_slice(body).map_err(|e| ConnectorError::Decode {
                    what: what.to_string(),
                    message: e.to_string(),
                })?;
            Ok(items.len() >= self.page_size as usize)
        };
        let next_page = || page.saturating_add(1).to_string();
        let next = if is_empty_array(body) {
            None
        } else if let Some(link) = next_link(&response.headers) {
            match Url::parse(&link) {
                Ok(u) if u == current => None,
                Ok(u) if self.own_url(&u) => Some(u.to_string()),
                // A next link on another host (a proxy's view of the API):
                // continue by page number on our own base.
                Ok(u) => Some(page_param(&u).map_or_else(next_page, |n| n.to_string())),
                Err(_) => full()?.then(next_page),
            }
        } else if response.header("link").is_some() {
            // A Link header without rel="next": the last page.
            None
        } else {
            full()?.then(next_page)
        };
        let last_page = rel_link(&response.headers, "last")
            .and_then(|link| Url::parse(&link).ok())
            .and_then(|u| page_param(&u));
        Ok(NumberedPage {
            page: Page {
                items: response.body,
                next,
            },
            last_page,
        })
    }

    /// The page number a record read starting at `token` starts from, when
    /// it can be read by page number: no token, a page number, or a link to
    /// a page of this very list (as the `Link` headers checkpointed name
    /// them). `None` for anything else (a forward-only `pageId` link).
    fn start_page(
        &self,
        path: &str,
        query: &[(String, String)],
        token: Option<&str>,
    ) -> Option<u32> {
        match PageToken::read(token, &self.inner.api_base)? {
            PageToken::Number(n) => Some(n),
            PageToken::NextUrl(url) => {
                let n = page_param(&url)?;
                let ours = self.list_url(path, query, n);
                // The same list: the same path and query, in any order.
                let pairs = |u: &Url| {
                    let mut pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
                    pairs.sort();
                    pairs
                };
                (url.path() == ours.path() && pairs(&url) == pairs(&ours)).then_some(n)
            }
            _ => None,
        }
    }

    /// Every item of a list, decoded as `T` (items that do not decode are
    /// skipped with a warning), gathered by the core's [`collect_all`].
    pub(crate) async fn get_all<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &'static str,
        query: Vec<(String, String)>,
        what: &str,
    ) -> Result<Vec<T>, ConnectorError> {
        let query = &query;
        collect_all(
            page_limits(&self.inner.http, self.page_size),
            move |token| async move { self.fetch_raw_page(path, query, token, what).await },
            |body: Vec<u8>| {
                let items = decode_array::<T>(&body, what).map_err(|e| ConnectorError::Decode {
                    what: what.to_string(),
                    message: e.to_string(),
                })?;
                Ok(items
                    .into_iter()
                    .filter_map(|item| match item {
                        Ok(t) => Some(t),
                        Err(e) => {
                            tracing::warn!(%path, error = %e.reason, "skipping an unreadable item");
                            None
                        }
                    })
                    .collect())
            },
        )
        .await
    }

    /// Streams converted records of `data_type` from `path` on the core's
    /// record-stream rails. With more than one request allowed in flight
    /// ([`Self::with_concurrency`]) and a page-number start, on
    /// [`numbered_record_stream`]: once a reply names the last page, up to
    /// the window's size of pages are fetched and converted at once and
    /// yielded in page order. Otherwise on [`record_stream`]: pages are
    /// fetched undecoded on one task, one page ahead of another that
    /// decodes and converts them, one page ahead of the consumer.
    pub(crate) fn record_pages(
        &self,
        data_type: DataType,
        path: &'static str,
        query: Vec<(String, String)>,
        start: Option<String>,
    ) -> PageStream<'static> {
        let what = format!("reading {data_type}");
        let convert = {
            let what = what.clone();
            move |page: RawPage| convert_raw(data_type, &what, page)
        };
        let start_page = self.start_page(path, &query, start.as_deref());
        if let (true, Some(first)) = (self.window.limit().max > 1, start_page) {
            let this = self.clone();
            let http = self.inner.http.clone();
            return numbered_record_stream(
                page_limits(&self.inner.http, self.page_size),
                self.window.clone(),
                first,
                move || http.throttle_replies(),
                move |n: u32| {
                    let this = this.clone();
                    let query = query.clone();
                    let what = what.clone();
                    async move {
                        this.fetch_numbered_page(path, &query, Some(n.to_string()), &what)
                            .await
                    }
                },
                convert,
            );
        }
        let this = self.clone();
        let fetch_what = what.clone();
        record_stream(
            page_limits(&self.inner.http, self.page_size),
            start,
            move |token| {
                let this = this.clone();
                let query = query.clone();
                let what = fetch_what.clone();
                async move { this.fetch_raw_page(path, &query, token, &what).await }
            },
            convert,
        )
    }

    /// `test_connection`: `GET /system/info`, with failures that say what to fix.
    pub(crate) async fn system_info(&self) -> Result<crate::wire::SystemInfo, ConnectorError> {
        let url = self.endpoint(&["system", "info"]);
        let host = self
            .inner
            .api_base
            .host_str()
            .unwrap_or_default()
            .to_string();
        let response = self
            .inner
            .http
            .send(self.request(Method::GET, url))
            .await
            .map_err(|e| match e {
                HttpError::Status { status: 404, message, .. } => config_error(
                    "server_url",
                    format!(
                        "the ConnectWise API was not found at {} ({message}); enter only the server address, such as na.myconnectwise.net, and reconnect (on ConnectWise cloud a 404 here can also mean the keys are wrong)",
                        self.inner.api_base
                    ),
                ),
                HttpError::Status { status: 403, message, .. } => ConnectorError::PermissionDenied {
                    message: format!(
                        "ConnectWise refused to read system information ({message}); the API member's security role lacks permission: give it a security role with access to System (System > Security Roles)"
                    ),
                },
                e @ HttpError::Status { .. } => HINTS.map(e, "reading system information"),
                other => HINTS.unreachable(&host, other),
            })?;
        Self::decode(&response, "system information").map_err(|_| {
            config_error(
                "server_url",
                format!("{host} did not answer like the ConnectWise API; enter only the server address, such as na.myconnectwise.net"),
            )
        })
    }
}

/// A raw page of `data_type` decoded and converted into a [`RecordPage`].
fn convert_raw(
    data_type: DataType,
    what: &str,
    page: RawPage,
) -> Result<RecordPage, ConnectorError> {
    let converted = convert_page(data_type, &page.items).map_err(|e| ConnectorError::Decode {
        what: what.to_string(),
        message: e.to_string(),
    })?;
    let mut records = Vec::with_capacity(converted.len());
    let mut rejected = Vec::new();
    for item in converted {
        match item {
            Ok(r) => records.push(r),
            Err(e) => rejected.push(e),
        }
    }
    Ok(RecordPage {
        records,
        rejected,
        next: page.next,
    })
}

fn page_param(url: &Url) -> Option<u32> {
    url.query_pairs()
        .find(|(k, _)| k.eq_ignore_ascii_case("page"))
        .and_then(|(_, v)| v.parse().ok())
}

/// The list path of a data type.
pub(crate) fn data_type_path(data_type: DataType) -> Option<&'static str> {
    Some(match data_type {
        DataType::Companies => "company/companies",
        DataType::Contacts => "company/contacts",
        DataType::Opportunities => "sales/opportunities",
        DataType::Configurations => "company/configurations",
        DataType::CatalogItems => "procurement/catalog",
        _ => return None,
    })
}

// ----- the Connector capability -----

#[async_trait::async_trait]
impl scopelink_core::connector::Connector for ConnectWiseConnector {
    fn provider(&self) -> scopelink_core::provider::Provider {
        scopelink_core::provider::Provider::ConnectWiseManage
    }

    fn capabilities(
        &self,
    ) -> std::collections::BTreeSet<scopelink_core::provider::FeatureCategory> {
        [
            scopelink_core::provider::FeatureCategory::Crm,
            scopelink_core::provider::FeatureCategory::Psa,
            scopelink_core::provider::FeatureCategory::Products,
        ]
        .into()
    }

    /// `GET /system/info`. Failures say what to fix: `server_url`
    /// (unreachable, not the ConnectWise API), bad keys (401), a security
    /// role lacking permission (403).
    async fn test_connection(&self) -> Result<(), ConnectorError> {
        self.system_info().await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_normalize_to_scheme_and_host() {
        let p = AddressPolicy::public_only();
        for input in [
            "na.myconnectwise.net",
            " https://na.myconnectwise.net ",
            "https://na.myconnectwise.net/",
            "https://na.myconnectwise.net/v4_6_release/apis/3.0/",
            "na.myconnectwise.net/v4_6_release/ConnectWise.aspx?x=1#y",
        ] {
            assert_eq!(
                normalize_server_url(input, p).unwrap().as_str(),
                "https://na.myconnectwise.net/",
                "{input}"
            );
        }
        assert_eq!(
            normalize_server_url("https://api-na.myconnectwise.net/v4_6_release/apis/3.0/", p)
                .unwrap()
                .as_str(),
            "https://api-na.myconnectwise.net/"
        );
        for bad in ["", "http://na.myconnectwise.net", "https://127.0.0.1"] {
            assert!(matches!(
                normalize_server_url(bad, p),
                Err(ConnectorError::InvalidConfig {
                    field: "server_url",
                    ..
                })
            ));
        }
        assert_eq!(
            normalize_server_url(
                "http://127.0.0.1:8080/v4_6_release/apis/3.0",
                AddressPolicy::allow_local()
            )
            .unwrap()
            .as_str(),
            "http://127.0.0.1:8080/"
        );
    }

    #[test]
    fn codebase_and_version_checks() {
        assert_eq!(valid_codebase("v2025_1/"), Some("v2025_1"));
        assert_eq!(valid_codebase("/v4_6_release/"), Some("v4_6_release"));
        assert_eq!(valid_codebase("../x/"), None);
        assert_eq!(valid_codebase("a/b"), None);
        assert!(valid_api_version("2025.1"));
        assert!(!valid_api_version("2025.1, application/json"));
    }
}
