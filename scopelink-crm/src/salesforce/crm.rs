//! The [`CrmSource`] capability: filter options from describe metadata,
//! the preview count, record streams over SOQL with `nextRecordsUrl`
//! paging, single-record fetches, and deletions read from the `deleted`
//! resource.

use super::client::{SalesforceConnector, DEFAULT_PAGE_LIMITS};
use super::convert::{self, AccountRoles};
use super::settings::is_record_id;
use super::soql::{self, FilterFields};
use super::wire;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use scopelink_core::connector::{CrmSource, PageStream, RecordPage, StreamRequest};
use scopelink_core::filter::{FilterOption, FilterOptions, Preview, SyncFilter};
use scopelink_core::http::{Method, Page};
use scopelink_core::model::{DataType, Record};
use scopelink_core::pages::{record_stream, same_origin};
use scopelink_core::webhook::{WebhookAction, WebhookEvent};
use scopelink_core::ConnectorError;
use serde_json::Value;
use std::collections::BTreeSet;
use url::Url;

/// The header that sets a query's page size.
pub const QUERY_OPTIONS_HEADER: &str = "Sforce-Query-Options";

impl SalesforceConnector {
    /// The host-named Account picklists, checked.
    pub(crate) fn filter_fields(&self) -> Result<FilterFields, ConnectorError> {
        let s = self.settings();
        let check = |setting: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| soql::field_name(setting, v))
                .transpose()
        };
        Ok(FilterFields {
            status: check("status_field", &s.status_field)?,
            territory: check("territory_field", &s.territory_field)?,
        })
    }

    fn roles(fields: &FilterFields) -> AccountRoles {
        AccountRoles {
            status_field: fields.status.clone(),
            territory_field: fields.territory.clone(),
        }
    }

    /// Runs a SOQL query's first page (`GET .../query?q=`), with the batch
    /// size header when one is set.
    pub(crate) async fn query(
        &self,
        soql: &str,
        what: &str,
    ) -> Result<wire::QueryResponse, ConnectorError> {
        let mut url = self.api_url("query").await?;
        url.query_pairs_mut().append_pair("q", soql);
        self.query_at(url, what).await
    }

    /// Reads one query page at `url` (a first page or a next-records URL).
    async fn query_at(&self, url: Url, what: &str) -> Result<wire::QueryResponse, ConnectorError> {
        let batch = self.inner.batch_size.map(|n| format!("batchSize={n}"));
        let headers: Vec<(&str, &str)> = batch
            .as_deref()
            .map(|b| vec![(QUERY_OPTIONS_HEADER, b)])
            .unwrap_or_default();
        let resp = self
            .send_with(Method::GET, url, None, &headers, what)
            .await?;
        self.decode(&resp, what)
    }

    /// The next page's URL: `nextRecordsUrl` on the instance, refused when
    /// it points anywhere else.
    fn next_url(&self, next: &str) -> Result<Url, ConnectorError> {
        // Joined as given: an absolute or scheme-relative (`//host/...`)
        // URL names its own host, and is refused below.
        let url = self
            .instance_url()
            .join(next.trim())
            .map_err(|_| ConnectorError::Decode {
                what: "a query page's nextRecordsUrl".into(),
                message: "not a path on the instance".into(),
            })?;
        if !same_origin(self.instance_url(), &url) {
            return Err(ConnectorError::Decode {
                what: "a query page's nextRecordsUrl".into(),
                message: format!(
                    "it points at {}, not at the org's instance; not followed",
                    url.host_str().unwrap_or("another host")
                ),
            });
        }
        Ok(url)
    }

    async fn record_page(
        &self,
        soql: String,
        what: String,
        token: Option<String>,
    ) -> Result<Page<Value>, ConnectorError> {
        let page = match token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => self.query(&soql, &what).await?,
            Some(token) => {
                let url = self.next_url(token)?;
                match self.query_at(url, &what).await {
                    Ok(page) => page,
                    // A checkpoint's query cursor that Salesforce closed
                    // (idle for 15 minutes, or more than 10 open): the
                    // query starts again; rows already stored come back
                    // unchanged, none is lost.
                    Err(e) if is_expired_locator(&e) => {
                        tracing::info!("the checkpointed query cursor expired; reading the query again from its first page");
                        self.query(&soql, &what).await?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let next = match (page.done, page.next_records_url.as_deref()) {
            (false, Some(next)) => Some(self.next_url(next)?.to_string()),
            (false, None) => {
                return Err(ConnectorError::Decode {
                    what,
                    message: "a page that is not the last has no nextRecordsUrl".into(),
                })
            }
            (true, _) => None,
        };
        Ok(Page {
            items: page.records,
            next,
        })
    }

    /// Deletions of `data_type` between `start` and `end` (`GET
    /// /sobjects/{Type}/deleted/?start=&end=`; Salesforce keeps them about
    /// 30 days, and refuses a `start` older than that with
    /// `INVALID_REPLICATION_DATE`), as [`WebhookAction::Deleted`] events for
    /// [`scopelink_core::SyncEngine::apply_webhook`], which checks each
    /// with [`CrmSource::fetch`] (a deleted record answers 404
    /// `ENTITY_IS_DELETED`) and deletes it from the store. Each event's id
    /// is the record id and deletion time, so applying the same window
    /// twice deletes nothing twice.
    ///
    /// Salesforce counts whole minutes and answers up to
    /// `latestDateCovered` (never past now): start the next window there
    /// ([`Deletions::covered_until`]); an `end` in the future is fine.
    pub async fn deleted_since(
        &self,
        data_type: DataType,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Deletions, ConnectorError> {
        let Some(object) = soql::object(data_type) else {
            return Err(ConnectorError::Unsupported {
                what: format!("reading deleted {data_type} from Salesforce"),
            });
        };
        let mut url = self.api_url(&format!("sobjects/{object}/deleted/")).await?;
        let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string();
        url.query_pairs_mut()
            .append_pair("start", &stamp(start))
            .append_pair("end", &stamp(end));
        let what = format!("reading deleted {object} records");
        let resp = self.send(Method::GET, url, None, &what).await?;
        let deleted: wire::Deleted = self.decode(&resp, &what)?;
        let covered_until = deleted
            .latest_date_covered
            .as_deref()
            .and_then(convert::parse_datetime);
        let events = deleted
            .deleted_records
            .into_iter()
            .filter(|d| is_record_id(&d.id))
            .map(|d| WebhookEvent {
                data_type,
                event_id: Some(format!(
                    "deleted:{}:{}",
                    d.id,
                    d.deleted_date.as_deref().unwrap_or_default()
                )),
                external_id: d.id,
                action: WebhookAction::Deleted,
                record: None,
            })
            .collect();
        Ok(Deletions {
            events,
            covered_until,
        })
    }
}

impl SalesforceConnector {
    /// Reads the deletions of Accounts, Contacts and Opportunities between
    /// `start` and `end` ([`SalesforceConnector::deleted_since`]) and
    /// applies them through `engine` (each checked with a fetch, so a
    /// record Salesforce still has, or one deleted before, is skipped).
    /// Returns the counts and where the next window starts: the earliest
    /// `latestDateCovered` of the three answers (keep it beside the
    /// connection, e.g. in its settings).
    pub async fn apply_deletions(
        &self,
        engine: &scopelink_core::SyncEngine,
        connection: &scopelink_core::ConnectionId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<(scopelink_core::sync::SyncCounts, Option<DateTime<Utc>>), scopelink_core::SyncError>
    {
        let mut counts = scopelink_core::sync::SyncCounts::default();
        let mut covered: Option<DateTime<Utc>> = None;
        for data_type in [
            DataType::Companies,
            DataType::Contacts,
            DataType::Opportunities,
        ] {
            let deletions = self
                .deleted_since(data_type, start, end)
                .await
                .map_err(|source| scopelink_core::SyncError::Connector { data_type, source })?;
            covered = match (covered, deletions.covered_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let applied = engine
                .apply_webhook(connection, self, deletions.events)
                .await?;
            counts.deleted += applied.deleted;
            counts.skipped += applied.skipped;
        }
        Ok((counts, covered))
    }
}

/// Deletions read from Salesforce (see
/// [`SalesforceConnector::deleted_since`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deletions {
    /// One [`WebhookAction::Deleted`] event per deleted record, for
    /// [`scopelink_core::SyncEngine::apply_webhook`].
    pub events: Vec<WebhookEvent>,
    /// `latestDateCovered`: where the next window starts.
    pub covered_until: Option<DateTime<Utc>>,
}

/// Whether a query-more failed because its cursor is gone
/// (`INVALID_QUERY_LOCATOR`).
fn is_expired_locator(e: &ConnectorError) -> bool {
    matches!(e, ConnectorError::Rejected { message } | ConnectorError::NotFound { what: message }
        if message.contains("INVALID_QUERY_LOCATOR"))
}

/// The active values of a describe's picklist field `name`.
fn picklist(describe: &wire::Describe, name: &str) -> Vec<FilterOption> {
    describe
        .fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .map(|f| {
            f.picklist_values
                .iter()
                .filter(|v| v.active != Some(false))
                .filter_map(|v| {
                    let value = v.value.clone()?;
                    let label = v.label.clone().unwrap_or_else(|| value.clone());
                    Some(FilterOption::new(value, label))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl CrmSource for SalesforceConnector {
    fn data_types(&self) -> BTreeSet<DataType> {
        BTreeSet::from([
            DataType::Companies,
            DataType::Contacts,
            DataType::Opportunities,
        ])
    }

    /// `GET /sobjects/Account/describe`: the active values of `Type`
    /// (company types), `Industry` (markets) and the host-named status and
    /// territory picklists.
    async fn filter_options(&self) -> Result<FilterOptions, ConnectorError> {
        let fields = self.filter_fields()?;
        let url = self.api_url("sobjects/Account/describe").await?;
        let what = "reading the Account fields (describe)";
        let resp = self.send(Method::GET, url, None, what).await?;
        let describe: wire::Describe = self.decode(&resp, what)?;
        Ok(FilterOptions {
            company_types: picklist(&describe, "Type"),
            markets: picklist(&describe, "Industry"),
            statuses: fields
                .status
                .as_deref()
                .map(|f| picklist(&describe, f))
                .unwrap_or_default(),
            territories: fields
                .territory
                .as_deref()
                .map(|f| picklist(&describe, f))
                .unwrap_or_default(),
        })
    }

    /// `SELECT COUNT() FROM Account WHERE ...`: one call, no rows.
    async fn preview(&self, filter: &SyncFilter) -> Result<Preview, ConnectorError> {
        let q = soql::count_accounts(filter, &self.filter_fields()?)?;
        let page = self
            .query(&q, "counting the Accounts the filter matches")
            .await?;
        Ok(Preview {
            companies: page.total_size,
        })
    }

    /// One SOQL query per data type with only the fields used, the company
    /// filter (contacts and opportunities through their `Account.`
    /// fields), `SystemModstamp >= since` (unquoted datetime literal) and
    /// `ORDER BY SystemModstamp ASC`; then `nextRecordsUrl` page after
    /// page, on the instance only. The page token checkpointed is the next
    /// page's URL; when Salesforce has closed that cursor by the time a run
    /// resumes (`INVALID_QUERY_LOCATOR`), the query is read again from its
    /// first page.
    fn stream(&self, request: StreamRequest) -> PageStream<'_> {
        let prepared = self.filter_fields().and_then(|fields| {
            let q = soql::select(request.data_type, &request.filter, &fields, request.since)?;
            Ok((q, fields))
        });
        let (q, fields) = match prepared {
            Ok(p) => p,
            Err(e) => return futures::stream::once(async move { Err(e) }).boxed(),
        };
        let data_type = request.data_type;
        let roles = Self::roles(&fields);
        let what = format!(
            "reading {} records",
            soql::object(data_type).unwrap_or_default()
        );
        let this = self.clone();
        let limits = self.http().config().pages.unwrap_or(DEFAULT_PAGE_LIMITS);
        record_stream(
            limits,
            request.resume_from.clone(),
            move |token| {
                let this = this.clone();
                let (q, what) = (q.clone(), what.clone());
                async move { this.record_page(q, what, token).await }
            },
            move |page: Page<Value>| {
                let mut out = RecordPage {
                    next: page.next,
                    ..RecordPage::default()
                };
                for row in page.items {
                    match convert::convert(data_type, row, &roles) {
                        Ok(record) => out.records.push(record),
                        Err(rejected) => out.rejected.push(rejected),
                    }
                }
                Ok(out)
            },
        )
    }

    /// `GET /sobjects/{Type}/{id}?fields=...`; `None` when Salesforce has
    /// no such record (404 `NOT_FOUND` or `ENTITY_IS_DELETED`) or the id is
    /// not a Salesforce id.
    async fn fetch(
        &self,
        data_type: DataType,
        external_id: &str,
    ) -> Result<Option<Record>, ConnectorError> {
        let Some(object) = soql::object(data_type) else {
            return Err(ConnectorError::Unsupported {
                what: format!("fetching {data_type} from Salesforce"),
            });
        };
        if !is_record_id(external_id) {
            return Ok(None);
        }
        let fields = self.filter_fields()?;
        let mut url = self
            .api_url(&format!("sobjects/{object}/{external_id}"))
            .await?;
        url.query_pairs_mut()
            .append_pair("fields", &soql::fields(data_type, &fields).join(","));
        let what = format!("reading {object} {external_id}");
        let resp = match self.send(Method::GET, url, None, &what).await {
            Ok(resp) => resp,
            Err(ConnectorError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let row: Value = self.decode(&resp, &what)?;
        convert::convert(data_type, row, &Self::roles(&fields))
            .map(Some)
            .map_err(|r| ConnectorError::Decode {
                what,
                message: r.reason,
            })
    }
}
