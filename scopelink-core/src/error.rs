//! Error types. Each says what failed and, where there is one, what to do.
//!
//! No error ever carries a credential: HTTP errors keep the status, the
//! request path (never the query string) and the provider's message.
//!
//! A cause is either in an error's message or in its
//! [`source`](std::error::Error::source), never both, so walking the chain
//! shows each cause once; [`chain`] prints the whole chain as one line.
//!
//! ```
//! use scopelink_core::error::{chain, ConnectorError, SyncError};
//! use scopelink_core::DataType;
//!
//! let err = SyncError::Connector {
//!     data_type: DataType::Companies,
//!     source: ConnectorError::Authentication { message: "the API keys were rejected".into() },
//! };
//! assert_eq!(err.to_string(), "companies sync failed");
//! assert_eq!(
//!     chain(&err),
//!     "companies sync failed: authentication failed: the API keys were rejected"
//! );
//! ```

use crate::connection::ConnectionId;
use crate::model::DataType;
use crate::provider::FeatureCategory;
use std::time::Duration;

/// `e`'s message followed by the message of each of its sources, joined
/// by `": "`; a source whose text an earlier message already holds (as
/// some third-party errors repeat their cause) is left out.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(e);
    while let Some(err) = current {
        let text = err.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = err.source();
    }
    parts.join(": ")
}

/// The transport's own error under an [`HttpError::Connect`] or
/// [`HttpError::Transport`]: the connection, TLS or HTTP-protocol failure
/// as the HTTP stack reported it, with its own chain of causes. It never
/// holds the request's URL (whose query may carry a token).
///
/// ```
/// use scopelink_core::error::{chain, HttpError, TransportCause};
///
/// let err = HttpError::Connect {
///     host: "acme.example.com".into(),
///     source: TransportCause::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
/// };
/// assert_eq!(err.to_string(), "could not reach acme.example.com; check the server address and the network");
/// assert!(chain(&err).ends_with("; check the server address and the network: connection refused"));
/// let Some(HttpError::Connect { source, .. }) = Some(&err) else { unreachable!() };
/// assert_eq!(source.io_error_kind(), Some(std::io::ErrorKind::ConnectionRefused));
/// ```
#[derive(Debug)]
pub struct TransportCause {
    error: Box<dyn std::error::Error + Send + Sync + 'static>,
    /// Skip the outer error's own message (reqwest names a body cut short
    /// "error decoding response body"): show its source's instead.
    skip_outer: bool,
}

impl TransportCause {
    /// A cause from any error (a host's own transport, a test).
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Self {
            error: error.into(),
            skip_outer: false,
        }
    }

    /// `error`, shown from its source on: its own message says less than
    /// its cause, or says something wrong.
    pub(crate) fn from_source_of(
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        let error = error.into();
        let skip_outer = error.source().is_some();
        Self { error, skip_outer }
    }

    /// The first I/O error in the chain's kind (`ConnectionRefused`,
    /// `ConnectionReset`, `TimedOut`...), if there is one.
    pub fn io_error_kind(&self) -> Option<std::io::ErrorKind> {
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(&*self.error);
        while let Some(err) = current {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                return Some(io.kind());
            }
            current = err.source();
        }
        None
    }

    fn shown(&self) -> &(dyn std::error::Error + 'static) {
        match (self.skip_outer, self.error.source()) {
            (true, Some(inner)) => inner,
            _ => &*self.error,
        }
    }
}

impl std::fmt::Display for TransportCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.shown(), f)
    }
}

impl std::error::Error for TransportCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.shown().source()
    }
}

/// A failure of the shared HTTP layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL typed by the user could not be parsed.
    #[error("`{input}` is not a valid URL: {reason}")]
    InvalidUrl {
        /// What was given (credentials stripped).
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// The URL does not use https.
    #[error("`{url}` must use https; plain http and other schemes are refused")]
    InsecureScheme {
        /// The refused URL.
        url: String,
    },
    /// The URL (or a redirect, or a DNS answer) points at a loopback, private,
    /// link-local or unspecified address.
    #[error("`{host}` resolves to a loopback, private or link-local address, which is refused; use a public host name (a host that must reach a local or private server, such as a test simulator, opts in with `HttpConfig::default().with_addresses(AddressPolicy::allow_local())`, which sets `HttpConfig::addresses`)")]
    ForbiddenAddress {
        /// The refused host.
        host: String,
    },
    /// No response within the configured timeout.
    #[error("{method} {path} timed out after {timeout:?}; the host is slow or unreachable")]
    Timeout {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// Timeout in force.
        timeout: Duration,
    },
    /// The host could not be reached (no connection, or the TLS handshake
    /// failed). Retried as transient; the cause (refused, reset, a
    /// certificate error...) is the [`source`](std::error::Error::source).
    #[error("could not reach {host}; check the server address and the network")]
    Connect {
        /// Host that failed.
        host: String,
        /// What the transport reported.
        #[source]
        source: TransportCause,
    },
    /// The provider answered with an error status.
    #[error("{method} {path} failed with HTTP {status}: {message}")]
    Status {
        /// HTTP method.
        method: String,
        /// Request path (no query string).
        path: String,
        /// Status code.
        status: u16,
        /// The provider's own message, when its error body had one.
        message: String,
        /// `Retry-After`, if the provider sent one.
        retry_after: Option<Duration>,
    },
    /// The response body could not be decoded.
    #[error("{method} {path}: the response could not be decoded: {reason}")]
    Decode {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The HTTP client could not be built from its configuration (an
    /// invalid `User-Agent`, no TLS backend).
    #[error("the HTTP client could not be set up: {reason}")]
    Client {
        /// What went wrong.
        reason: String,
    },
    /// A paginated list whose next page is the page just read: following
    /// it would read the same page forever.
    #[error("the provider's next page after page {page} of this list is that same page; stopped instead of reading it again forever (a provider or proxy fault: report it)")]
    RepeatedPage {
        /// The pages read so far, the repeated one included.
        page: u64,
    },
    /// Any other transport failure (a body cut short, a connection lost
    /// mid-exchange, too many redirects). The transport's own error, when
    /// there is one, is the [`source`](std::error::Error::source).
    #[error("{method} {path}: {reason}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// What went wrong, in the SDK's words.
        reason: String,
        /// What the transport reported, if it was the transport.
        #[source]
        source: Option<TransportCause>,
    },
    /// A response body is larger than the configured limit; reading stopped
    /// there. Not retried: the provider would send it again.
    #[error("{method} {path}: the response is larger than the {limit}-byte limit, far more than a page of this provider holds; stopped reading it (a provider or proxy fault; if the data is real, raise `HttpConfig::body_limits` or use a smaller page size)")]
    ResponseTooLarge {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// The limit in force, in bytes.
        limit: u64,
    },
    /// The request did not complete within its overall deadline (attempts
    /// and the waits between them).
    #[error("{method} {path} did not complete within {deadline:?} ({attempts} attempts); the host is slow or unreachable")]
    DeadlineExceeded {
        /// HTTP method.
        method: String,
        /// Request path.
        path: String,
        /// The deadline in force.
        deadline: Duration,
        /// Attempts started.
        attempts: u32,
    },
    /// A paginated list that does not end within the page limit.
    #[error("the list did not end after {limit} pages, more than any real account holds; stopped reading it (a provider or proxy fault: report it, or raise `HttpConfig::pages`)")]
    TooManyPages {
        /// The page limit in force.
        limit: u64,
    },
    /// A page of a list repeats an earlier page of the same walk: the
    /// provider ignores the page asked for.
    #[error("page {page} of this list is the same as page {same_as}: the provider ignores which page is asked for; stopped instead of reading the same data forever (a provider or proxy fault: report it)")]
    DuplicatePage {
        /// The page that repeats (1-based, in reading order).
        page: u64,
        /// The earlier page it repeats.
        same_as: u64,
    },
    /// A list gathered in memory (filter options, lookups) has more items
    /// than the limit.
    #[error("the list has more than {limit} entries, more than any real account holds; stopped reading it (a provider or proxy fault: report it, or raise `HttpConfig::pages`)")]
    TooManyItems {
        /// The item limit in force.
        limit: usize,
    },
}

impl HttpError {
    /// The HTTP status, if the provider answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the provider rejected the credentials (HTTP 401).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }
}

/// A failure reported by a connector.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// The HTTP exchange failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The provider rejected the credentials; the connection needs new ones.
    #[error("authentication failed: {message}")]
    Authentication {
        /// What the provider said and what to fix.
        message: String,
    },
    /// The credentials are valid but lack a permission.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// What the provider said and what to fix.
        message: String,
    },
    /// A setting is wrong (server URL, company id, ...).
    #[error("invalid setting `{field}`: {message}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The provider answered with data that could not be understood.
    #[error("the provider's answer could not be read ({what}): {message}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// Why it failed.
        message: String,
    },
    /// The request asks for something this provider or connector cannot do.
    #[error("not supported: {what}")]
    Unsupported {
        /// What was asked for.
        what: String,
    },
    /// The provider refused the request's content.
    #[error("the provider rejected the request: {message}")]
    Rejected {
        /// The provider's message.
        message: String,
    },
    /// A referenced object does not exist at the provider.
    #[error("{what} was not found at the provider")]
    NotFound {
        /// What was missing.
        what: String,
    },
    /// The provider refused the value of one field (a validation rule, a
    /// value not in a restricted picklist, a required field left empty).
    #[error("the provider refused the value of `{field}` ({code}): {message}")]
    FieldRejected {
        /// The provider's name of the field (`StageName`).
        field: String,
        /// The provider's error code (`FIELD_CUSTOM_VALIDATION_EXCEPTION`).
        code: String,
        /// The provider's message.
        message: String,
    },
    /// The provider's request quota (a daily or rolling allocation) is used
    /// up: waiting seconds does not help, so nothing is retried. The
    /// connection's state is unchanged; sync again once the quota frees up.
    #[error("the provider's API request quota is used up ({message}); nothing was retried: sync again once the allocation frees up (or ask the provider's admin to raise it)")]
    QuotaExhausted {
        /// The provider's message, with the usage figures when known.
        message: String,
    },
}

impl ConnectorError {
    /// Whether the failure means the stored credentials no longer work, so
    /// the connection should move to Connection Error.
    pub fn is_auth_failure(&self) -> bool {
        match self {
            ConnectorError::Authentication { .. } => true,
            ConnectorError::Http(e) => e.is_unauthorized(),
            _ => false,
        }
    }
}

/// An operation was refused for lack of a permission or entitlement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// The caller lacks a connected-apps permission.
    #[error("this needs the `{required}` permission on connected apps; ask an administrator to grant it")]
    MissingPermission {
        /// The permission needed.
        required: crate::access::Permission,
    },
    /// Only site administrators may read the activity log.
    #[error("only site administrators may read the activity log")]
    NotSiteAdmin,
    /// The account is not entitled to the category.
    #[error(
        "the account's plan does not include {category}; upgrade it before enabling this category"
    )]
    NotEntitled {
        /// The category refused.
        category: FeatureCategory,
    },
}

/// A connection lifecycle transition that is not allowed from its state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransitionError {
    /// The transition is not allowed from the current status.
    #[error("cannot {action} a connection that is {from}")]
    Illegal {
        /// The attempted action.
        action: &'static str,
        /// The current status, as shown to users.
        from: String,
    },
    /// The provider cannot serve a requested category.
    #[error("{provider} does not offer {category}")]
    UnsupportedCategory {
        /// The provider's name.
        provider: String,
        /// The category.
        category: FeatureCategory,
    },
    /// A connection needs a name.
    #[error("a connection needs a non-empty name")]
    EmptyName,
    /// A name or setting was refused.
    #[error(transparent)]
    Input(#[from] InputError),
}

/// A connection name or setting that is refused. Messages give sizes and
/// positions, never the refused text itself (it may be megabytes of
/// escape sequences).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The name is longer than the limit.
    #[error("a connection name may have at most {max} characters; this one has {len}")]
    NameTooLong {
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The name holds a control character (NUL, an escape, a line break).
    #[error("a connection name may not contain control characters; character {position} is U+{code:04X}")]
    NameControlCharacter {
        /// The character's position (0-based, in characters).
        position: usize,
        /// Its code point.
        code: u32,
    },
    /// The name holds a bidirectional override or isolate, which can make
    /// it display as something else.
    #[error("a connection name may not contain bidirectional-text controls; character {position} is U+{code:04X}")]
    NameBidiControl {
        /// The character's position (0-based, in characters).
        position: usize,
        /// Its code point.
        code: u32,
    },
    /// The name has no visible character (only spaces and zero-width
    /// characters).
    #[error("a connection name needs at least one visible character")]
    NameInvisible,
    /// Too many settings.
    #[error("a connection may have at most {max} settings; {count} were given")]
    TooManySettings {
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A setting's name is empty, too long, or not made of letters, digits,
    /// `_`, `-` and `.`.
    #[error(
        "setting names must be 1 to {max} ASCII letters, digits, `_`, `-` or `.`; `{key}` is not"
    )]
    InvalidSettingKey {
        /// The refused name (cut to the limit).
        key: String,
        /// The length limit.
        max: usize,
    },
    /// A setting's value is longer than the limit.
    #[error("setting `{key}` may be at most {max} bytes long; its value has {len}")]
    SettingTooLong {
        /// The setting.
        key: String,
        /// The value's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A setting's value holds a control or bidirectional-text character.
    #[error("setting `{key}` may not contain control or bidirectional-text characters; character {position} is U+{code:04X}")]
    SettingControlCharacter {
        /// The setting.
        key: String,
        /// The character's position (0-based, in characters).
        position: usize,
        /// Its code point.
        code: u32,
    },
    /// A port (a `port` setting, or the port of a URL setting) is not in
    /// 1..=65535.
    #[error("setting `{key}` names port `{port}`; a port must be a number from 1 to 65535")]
    InvalidPort {
        /// The setting.
        key: String,
        /// The port given (cut to 16 characters).
        port: String,
    },
}

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such connection.
    #[error("connection {0} does not exist")]
    ConnectionNotFound(ConnectionId),
    /// A sync of this data type is already marked running.
    #[error("a {data_type} sync for connection {connection} is already running; wait for it or force-reset it if it is stuck")]
    AlreadyRunning {
        /// The connection.
        connection: ConnectionId,
        /// The data type.
        data_type: DataType,
    },
    /// The backing store failed.
    #[error("store backend failed: {0}")]
    Backend(String),
    /// The store's database failed; its own error is the source (SQLite's,
    /// for scopelink-store-sqlite), never holding a stored value.
    #[error("the store's database failed ({operation})")]
    Database {
        /// What the store was doing.
        operation: String,
        /// The database's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The connection changed since it was read (another update won the
    /// race); nothing was written. Read it again and redo the change.
    #[error("connection {connection} was changed by someone else (version {found}, expected {expected}); nothing was saved: reload it and try again")]
    VersionConflict {
        /// The connection.
        connection: ConnectionId,
        /// The version the update was based on.
        expected: u64,
        /// The version stored now (0: it no longer exists).
        found: u64,
    },
    /// The connection is disabled: nothing is synced into it.
    #[error("connection {0} is disabled; nothing is written for it until it is enabled")]
    ConnectionDisabled(ConnectionId),
    /// The run no longer holds the running mark of its data type (it was
    /// force-reset, or its lease expired and another run took it over);
    /// nothing was written, so two runs never write at once.
    #[error("the {data_type} sync of connection {connection} no longer holds its running mark (force-reset, or expired and taken over by another run); it stopped without writing")]
    LeaseLost {
        /// The connection.
        connection: ConnectionId,
        /// The data type.
        data_type: DataType,
    },
    /// A stored sync state cannot be read.
    #[error("the stored {data_type} sync state of connection {connection} is damaged ({reason}); force-reset this data type to repair it (its checkpoint and cursor are lost, so the next run is a full sync)")]
    DamagedSyncState {
        /// The connection.
        connection: ConnectionId,
        /// The data type.
        data_type: DataType,
        /// What is wrong with it.
        reason: String,
    },
    /// The file is not a scopelink database (empty, another format, or
    /// another application's database); it was not changed.
    #[error("`{path}` is not a scopelink database: {reason}; point the store at the right file, or move this one away to start a new store")]
    NotADatabase {
        /// The file.
        path: String,
        /// What was found.
        reason: String,
    },
    /// The database file failed its integrity check on open.
    #[error("`{path}` is damaged: {detail}; restore it from a backup")]
    Corrupt {
        /// The file.
        path: String,
        /// The first problem the integrity check found.
        detail: String,
    },
}

/// A root certificate could not be read
/// ([`crate::http::RootCertificate::from_pem`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// A `CERTIFICATE` block could not be decoded.
    #[error("the root certificate is not valid PEM ({reason}); supply the CA's certificate as PEM text (`-----BEGIN CERTIFICATE-----` ...)")]
    Malformed {
        /// What is wrong with it.
        reason: String,
    },
    /// The text holds no `CERTIFICATE` block.
    #[error("the text holds no PEM certificate (no `-----BEGIN CERTIFICATE-----` block); supply the CA's certificate, not its key or a DER file")]
    NoCertificate,
}

/// A vault operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// No secret under the key.
    #[error("no secret is stored under `{0}`; reconnect to store new credentials")]
    NotFound(String),
    /// The stored value is not a credential this version understands.
    #[error("the secret under `{key}` is not readable: {reason}")]
    Corrupt {
        /// The vault key.
        key: String,
        /// Why (never the secret itself).
        reason: String,
    },
    /// The vault backend failed.
    #[error("vault backend failed: {0}")]
    Backend(String),
    /// The key given does not open this vault: its entries were written
    /// under another key. Nothing was read or written.
    #[error("the vault key does not match the key this vault was created with; supply the original key (entries written under another key cannot be read)")]
    WrongKey,
}

/// A scoping project could not be mapped to a PSA plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// Only approved projects can be pushed.
    #[error("project `{project}` is not approved; approve it before pushing it to the PSA")]
    NotApproved {
        /// Project name.
        project: String,
    },
    /// A service names a phase the project does not have.
    #[error("service `{service}` belongs to phase `{phase}`, which the project does not have")]
    UnknownPhase {
        /// Service name.
        service: String,
        /// Phase id.
        phase: String,
    },
    /// A push option is missing or inconsistent.
    #[error("invalid push option `{field}`: {message}")]
    InvalidOption {
        /// The option.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// A webhook request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature header is missing.
    #[error("the webhook has no `{header}` signature header")]
    MissingSignature {
        /// The header expected.
        header: String,
    },
    /// The signature does not match the payload.
    #[error("the webhook signature does not match its body")]
    BadSignature,
    /// The timestamp is outside the accepted window (replay protection).
    #[error("the webhook timestamp is {skew_seconds}s away from now, outside the accepted window")]
    Stale {
        /// Absolute difference from now.
        skew_seconds: i64,
    },
    /// The payload could not be parsed.
    #[error("the webhook payload is malformed: {0}")]
    Malformed(String),
    /// The payload is well formed but names another account, organization
    /// or subscription than the connection's (a misdirected or forged
    /// delivery); refused without applying anything.
    #[error("the webhook is not for this connection: {reason}; refused")]
    NotForThisConnection {
        /// What did not match (ids, never secrets).
        reason: String,
    },
    /// The payload points at a key or resource on a host other than the
    /// connection's own.
    #[error("the webhook refers to `{host}`, which is not this connection's host")]
    ForeignHost {
        /// The refused host.
        host: String,
    },
    /// Fetching the signing key failed.
    #[error("could not fetch the webhook signing key: {0}")]
    KeyFetch(String),
    /// Too many signing keys were fetched for this connection lately (most
    /// likely forged webhooks naming new key ids); the webhook is refused
    /// without a request. Answer the provider with HTTP 429 so it delivers
    /// the webhook again later.
    #[error("too many webhook signing-key fetches for this connection; refused without a request (answer 429 and let the provider retry in {retry_after_seconds}s)")]
    TooManyKeyFetches {
        /// When a fetch is allowed again, in seconds.
        retry_after_seconds: u64,
    },
}

impl WebhookError {
    /// The HTTP status a host should answer the provider's webhook request
    /// with: 401 for a missing or wrong signature, 403 for a delivery meant
    /// for another connection, 400 for a payload that will never be
    /// accepted, and 429 when it may be accepted later (too
    /// many key fetches, or a key that could not be fetched), since
    /// ConnectWise, for one, redelivers only after 404, 409, 419 or 429.
    pub fn response_status(&self) -> u16 {
        match self {
            WebhookError::MissingSignature { .. } | WebhookError::BadSignature => 401,
            WebhookError::TooManyKeyFetches { .. } | WebhookError::KeyFetch(_) => 429,
            WebhookError::Stale { .. }
            | WebhookError::Malformed(_)
            | WebhookError::ForeignHost { .. } => 400,
            WebhookError::NotForThisConnection { .. } => 403,
        }
    }

    /// The `Retry-After` (seconds) to send with a 429, when known.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            WebhookError::TooManyKeyFetches {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }
}

/// A sync run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The connection is disabled; enable it to sync.
    #[error("connection {0} is disabled; enable it before syncing")]
    Disabled(ConnectionId),
    /// The connection has not enabled the category the data type belongs to.
    #[error("connection {connection} has not enabled {category}, which {data_type} sync needs")]
    CategoryNotEnabled {
        /// The connection.
        connection: ConnectionId,
        /// The category.
        category: FeatureCategory,
        /// The data type.
        data_type: DataType,
    },
    /// The connector does not offer a data type.
    #[error("the connector cannot sync {0}")]
    UnsupportedDataType(DataType),
    /// The connection was disabled while the sync ran; the run stopped at
    /// the next page (what was committed before the disable stays, and the
    /// next run after enabling resumes from there).
    #[error("connection {0} was disabled during sync; the run stopped at the disable and wrote nothing after it")]
    DisabledDuringSync(ConnectionId),
    /// The connection was deleted while the sync ran; the run stopped and
    /// wrote nothing after the delete.
    #[error("connection {0} was deleted during sync; the run stopped and wrote nothing after the delete")]
    DeletedDuringSync(ConnectionId),
    /// The connector failed. The cause is in [`std::error::Error::source`],
    /// not in this message; [`chain`] shows both.
    #[error("{data_type} sync failed")]
    Connector {
        /// The data type being synced.
        data_type: DataType,
        /// The cause.
        #[source]
        source: ConnectorError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The caller lacks permission.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The sync's deadline passed while `data_type` was syncing. Every page
    /// committed so far is kept; the next run resumes after the last one.
    #[error("the sync's deadline passed during the {data_type} sync, after {pages} pages of it were committed; the next run resumes from there")]
    DeadlineExceeded {
        /// The data type running when the deadline passed.
        data_type: DataType,
        /// Pages of it committed (this run and any it resumed).
        pages: u64,
    },
}

/// Any scopelink error, for hosts that want one type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`HttpError`].
    #[error(transparent)]
    Http(#[from] HttpError),
    /// See [`ConnectorError`].
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    /// See [`AccessError`].
    #[error(transparent)]
    Access(#[from] AccessError),
    /// See [`TransitionError`].
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
    /// See [`VaultError`].
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// See [`MappingError`].
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// See [`WebhookError`].
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// See [`SyncError`].
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// See [`crate::oauth::OAuthError`].
    #[error(transparent)]
    OAuth(#[from] crate::oauth::OAuthError),
    /// See [`RegistryError`].
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A project push needs a Connected connection.
    #[error("connection {connection} is {status}; it must be Connected to {action}")]
    NotConnected {
        /// The connection.
        connection: ConnectionId,
        /// Its status as shown to users.
        status: String,
        /// What was attempted.
        action: &'static str,
    },
}

/// The [`crate::registry::Registry`] could not turn a connection into its
/// connector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The host links no connector for the connection's provider.
    #[error("no connector for {provider} is linked into this program; add the provider crate's factory to the registry (`Registry::with_provider`)")]
    ProviderNotLinked {
        /// The provider, as users see it.
        provider: String,
    },
    /// The connection is disabled: its credentials are not used.
    #[error("connection {0} is disabled; enable it before using it")]
    Disabled(ConnectionId),
    /// The connection does not have the capability asked for: it has not
    /// enabled the category, or the provider's connector does not implement
    /// it.
    #[error("connection {connection} ({provider}) offers no {capability}: {reason}")]
    MissingCapability {
        /// The connection.
        connection: ConnectionId,
        /// Its provider, as users see it.
        provider: String,
        /// What was asked for (`CRM sync`, `project push`, ...).
        capability: &'static str,
        /// Why: the category is not enabled, or the connector lacks it.
        reason: String,
    },
}
