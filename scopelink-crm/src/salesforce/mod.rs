//! The Salesforce connector, over the REST API.
//!
//! Linked into a [`Registry`](scopelink_core::Registry) with
//! [`SalesforceProvider`] (the host's connected app), signed in through the
//! core's OAuth flow, then synced; here against the testkit's Salesforce
//! simulator, whose login page the test follows as a browser would (in
//! production the user's browser does, and `HttpConfig::default()` refuses
//! loopback addresses):
//!
//! ```
//! use scopelink_core::http::{AddressPolicy, HttpClient, HttpConfig};
//! use scopelink_core::oauth::{Callback, OAuthFlow};
//! use scopelink_core::secret::{ClientCredentials, Credentials};
//! use scopelink_core::store::PendingAuthorizationStore;
//! use scopelink_core::{DataType, FeatureCategory, NewConnection, Provider, Registry, SyncRequest};
//! use scopelink_crm::salesforce::{SalesforceProvider, SalesforceSettings};
//! use scopelink_testkit::host::MemoryEnv;
//! use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};
//! use std::sync::Arc;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = SalesforceSimConfig::default();
//! let sim = SalesforceSim::start(app.clone()).await;
//! let env = MemoryEnv::new();
//! let http = HttpConfig::default().with_addresses(AddressPolicy::allow_local());
//! let salesforce = SalesforceProvider::new(
//!     &app.client_id,
//!     Some(app.client_secret.clone().into()),
//!     &app.redirect_uri,
//! );
//!
//! // The connection form: the login host (login.salesforce.com,
//! // test.salesforce.com or a My Domain host).
//! let settings = SalesforceSettings::new(sim.login_url());
//! let client = salesforce.oauth_client(&settings, http.addresses)?;
//! let registry = Registry::new(env.connections.clone())
//!     .with_http(http.clone())
//!     .with_provider(salesforce);
//! let credentials = Credentials::ClientCredentials(ClientCredentials::new(
//!     &app.client_id,
//!     &app.client_secret,
//! ));
//! let new = NewConnection::new(Provider::Salesforce, "Acme Salesforce", credentials)
//!     .category(FeatureCategory::Crm)
//!     .settings(settings.to_map());
//! let connection = registry.create(&env.access, new).await?;
//!
//! // Sign-in: authorization code with PKCE; the callback records the
//! // instance the API calls go to.
//! let pending = env.store.clone() as Arc<dyn PendingAuthorizationStore>;
//! let flow = OAuthFlow::new(env.connections.clone(), pending, HttpClient::new(http)?, client);
//! let start = flow.start(&env.access, &connection.id).await?;
//! let back = sim.follow(start.url.as_str()).ok_or("the login page did not redirect")?;
//! flow.complete(&env.access, &Callback::from_url(&back.parse()?)).await?;
//!
//! // Test (reads /limits), then sync.
//! assert!(registry.test(&env.access, &connection.id).await?.is_connected());
//! let request = SyncRequest::all().data_types([DataType::Companies, DataType::Contacts]);
//! let report = registry.sync(&env.access, &connection.id, &request, None).await?;
//! let accounts = report.counts(DataType::Companies).ok_or("no companies run")?;
//! assert_eq!(accounts.created as usize, sim.accounts().len());
//! # Ok(()) }
//! ```
//!
//! - **Connect**: the OAuth 2.0 web-server flow with PKCE through the
//!   core's [`scopelink_core::oauth::OAuthFlow`], at
//!   `login.salesforce.com` (production), `test.salesforce.com` (sandbox)
//!   or the org's My Domain ([`SalesforceSettings::oauth_client`]; other
//!   hosts are refused). The token response's `instance_url` and `id` are
//!   recorded as the connection's `oauth.instance_url` and `oauth.id`, and
//!   every API call goes to that instance. (A refresh answer's
//!   `instance_url` is kept with the tokens by the core; the connector
//!   reads the instance from the settings, so a host rebuilds it after a
//!   reconnect.) Salesforce tokens carry no
//!   lifetime: a 401 `INVALID_SESSION_ID` refreshes the session once
//!   through the core ([`scopelink_core::oauth::OAuthSession`]) and the
//!   call is sent again.
//! - **API version**: configurable (`api_version`), else the newest the
//!   org lists at `GET /services/data/`.
//! - **Test connection**: `GET /limits`; the daily API usage
//!   ([`SalesforceConnector::limits`]).
//! - **Sync**: SOQL with only the fields used, `Sforce-Query-Options:
//!   batchSize`, `nextRecordsUrl` paging (on the instance only),
//!   incremental on `SystemModstamp` (an unquoted datetime literal; string
//!   values escaped, so a quote in a filter value cannot change the query),
//!   deletions from `/sobjects/{Type}/deleted/`
//!   ([`SalesforceConnector::deleted_since`]) applied as deletes through
//!   the engine ([`SalesforceConnector::apply_deletions`], which returns
//!   where the next window starts). A resumed run whose checkpointed query
//!   cursor Salesforce has closed reads the query again from the start. Filters from describe metadata: Account `Type` (company
//!   types), `Industry` (markets), and the Account picklists the host names
//!   as status and territory fields; the preview is a `SELECT COUNT()`.
//! - **Write-back**: `Amount`, `Probability` (sent with `StageName`, so
//!   the stage's default does not replace it), `StageName`, `CloseDate` in
//!   one `PATCH` (204); the primary contact through
//!   `OpportunityContactRole` (created or marked `IsPrimary`). Refused
//!   values (`FIELD_CUSTOM_VALIDATION_EXCEPTION`,
//!   `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`, ...) are
//!   [`scopelink_core::ConnectorError::FieldRejected`] naming the field.
//! - **Limits**: `Sforce-Limit-Info` is read on every response
//!   ([`SalesforceConnector::api_usage`]); 403 `REQUEST_LIMIT_EXCEEDED`
//!   stops the run with [`scopelink_core::ConnectorError::QuotaExhausted`]
//!   (not retried: the allocation is a rolling 24 hours; the connection's
//!   state is not changed).
//! - **Real-time**: Outbound Messages (SOAP, no HMAC: the org id and the
//!   action are checked; the reply is `<Ack>true</Ack>`) through
//!   [`OutboundMessages`]; Change Data Capture needs the Pub/Sub API (gRPC)
//!   or CometD and is not built in. Polling (incremental sync and
//!   deletions) stays the default. See [`OutboundMessages`]' module docs.
//!
//! ## Crate shape
//!
//! The provider-crate shape (see `scopelink-connectwise`), inside this
//! module: `settings.rs` ([`SalesforceSettings`], login and instance host
//! checks), `client.rs` ([`SalesforceConnector`]: session, version, limit
//! header, error bodies, `Connector`), `wire.rs`, `convert.rs`, `crm.rs`
//! (`CrmSource`, deletions), `writeback.rs` (`OpportunityWriteBack`), and
//! the extras `soql.rs` (the query grammar and literal escaping) and
//! `limits.rs` ([`ApiUsage`]), `outbound.rs` (Outbound Message receipt,
//! the `WebhookReceiver`), `provider.rs` ([`SalesforceProvider`], the
//! registry factory: it holds the connected app and builds the OAuth
//! session of each connection).
#![forbid(unsafe_code)]

mod client;
mod convert;
mod crm;
mod limits;
mod outbound;
mod provider;
mod settings;
mod soql;
mod wire;
mod writeback;

pub use client::{SalesforceConnector, BATCH_SIZES, FALLBACK_API_VERSION, MIN_API_VERSION};
pub use convert::{parse_datetime, soql_datetime};
pub use crm::{Deletions, QUERY_OPTIONS_HEADER};
pub use limits::{ApiUsage, LIMIT_HEADER};
pub use outbound::{
    OutboundMessages, ACK_RESPONSE, MAX_MESSAGE_BYTES, MAX_NOTIFICATIONS, OUTBOUND_NAMESPACE,
};
pub use provider::SalesforceProvider;
pub use settings::{
    is_record_id, SalesforceSettings, PRODUCTION_LOGIN, SALESFORCE_DOMAINS, SANDBOX_LOGIN, SCOPES,
};
pub use soql::{is_field_name, quote as soql_string};
pub use writeback::{patch_body, PRIMARY_CONTACT_ROLE};

/// What the fuzz targets and property tests feed hostile bytes to. Not
/// part of the supported API.
#[doc(hidden)]
pub mod fuzz {
    pub use crate::salesforce::convert::{convert, AccountRoles};
    pub use crate::salesforce::outbound::OutboundMessages;
    pub use crate::salesforce::soql::{count_accounts, select, FilterFields};

    /// The serde types of Salesforce's JSON.
    pub mod wire {
        pub use crate::salesforce::wire::*;
    }
}
