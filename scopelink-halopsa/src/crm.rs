//! The [`CrmSource`] capability: filter options, preview counts and record
//! streams of clients (companies), users (contacts) and opportunities.

use crate::client::{self, HaloPsaConnector};
use crate::convert::{self, ACTIVE, INACTIVE};
use crate::wire;
use futures::StreamExt;
use scopelink_core::connector::{CrmSource, PageStream, RecordPage, StreamRequest};
use scopelink_core::filter::{FilterOption, FilterOptions, Preview, SyncFilter};
use scopelink_core::http::Page;
use scopelink_core::model::{DataType, Record};
use scopelink_core::pages::{numbered_record_stream, page_number, record_stream, NumberedPage};
use scopelink_core::{ConnectorError, Rejected};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A CRM page's items converted (records, rejections; filtered ones left
/// out).
fn convert_page(query: &CrmQuery, page: Page<Value>) -> RecordPage {
    let mut out = RecordPage {
        next: page.next,
        ..RecordPage::default()
    };
    for item in page.items {
        match convert_item(query, item) {
            Item::Record(r) => out.records.push(*r),
            Item::Rejected(rejected) => out.rejected.push(rejected),
            Item::Filtered => {}
        }
    }
    out
}

/// One item of a CRM page.
enum Item {
    Record(Box<Record>),
    Rejected(Rejected),
    /// Left out by the company filter.
    Filtered,
}

/// What a CRM stream reads.
#[derive(Clone)]
struct CrmQuery {
    data_type: DataType,
    rel: &'static str,
    keys: &'static [&'static str],
    what: &'static str,
    params: Vec<(String, String)>,
    filter: SyncFilter,
}

/// The status part of a client query: HaloPSA lists only active clients
/// unless asked for inactive ones too.
fn status_params(filter: &SyncFilter) -> Vec<(String, String)> {
    let wants = |name: &str| {
        filter.statuses.is_empty()
            || filter
                .statuses
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(name) || o.id.eq_ignore_ascii_case(name))
    };
    let mut params = Vec::new();
    if wants(INACTIVE) {
        params.push(("includeinactive".to_string(), "true".to_string()));
        if !wants(ACTIVE) {
            params.push(("includeactive".to_string(), "false".to_string()));
        }
    }
    params
}

fn check_filter(filter: &SyncFilter) -> Result<(), ConnectorError> {
    if !filter.territories.is_empty() || !filter.markets.is_empty() {
        return Err(ConnectorError::Unsupported {
            what: "territory and market filters: HaloPSA clients have neither".into(),
        });
    }
    Ok(())
}

fn status_options() -> Vec<FilterOption> {
    vec![
        FilterOption::new("active", ACTIVE),
        FilterOption::new("inactive", INACTIVE),
    ]
}

impl HaloPsaConnector {
    fn crm_query(&self, request: &StreamRequest) -> Result<CrmQuery, ConnectorError> {
        check_filter(&request.filter)?;
        let (rel, keys, what, params): (_, &'static [&'static str], _, _) = match request.data_type
        {
            DataType::Companies => (
                "Client",
                &["clients"],
                "reading clients (GET /api/Client)",
                status_params(&request.filter),
            ),
            DataType::Contacts => (
                "Users",
                &["users"],
                "reading users (GET /api/Users)",
                Vec::new(),
            ),
            DataType::Opportunities => (
                "Opportunities",
                &["tickets", "faults"],
                "reading opportunities (GET /api/Opportunities)",
                request
                    .since
                    .map(|s| vec![("lastupdatefromdate".to_string(), convert::halo_datetime(s))])
                    .unwrap_or_default(),
            ),
            other => {
                return Err(ConnectorError::Unsupported {
                    what: format!("syncing {other} from HaloPSA"),
                })
            }
        };
        Ok(CrmQuery {
            data_type: request.data_type,
            rel,
            keys,
            what,
            params,
            filter: request.filter.clone(),
        })
    }

    async fn crm_page(
        &self,
        query: &CrmQuery,
        token: Option<String>,
    ) -> Result<Page<Value>, ConnectorError> {
        let page_no = match page_number(token.as_deref()) {
            Some(n) => n,
            None => {
                tracing::warn!(
                    ?token,
                    "unreadable HaloPSA page token; starting over at page 1"
                );
                1
            }
        };
        let (items, next) = self
            .get_page(query.rel, &query.params, query.keys, page_no, query.what)
            .await?;
        Ok(Page {
            items,
            next: next.map(|n| n.to_string()),
        })
    }

    /// Page `page_no` of a CRM list, with its last page from `record_count`.
    async fn crm_numbered_page(
        &self,
        query: &CrmQuery,
        page_no: u32,
    ) -> Result<NumberedPage<Value>, ConnectorError> {
        let (items, next, last_page) = self
            .get_numbered_page(query.rel, &query.params, query.keys, page_no, query.what)
            .await?;
        Ok(NumberedPage {
            page: Page {
                items,
                next: next.map(|n| n.to_string()),
            },
            last_page,
        })
    }

    /// Clients matching `filter`'s statuses (and top level, if one),
    /// counted by HaloPSA.
    async fn count_clients(
        &self,
        toplevel: Option<&str>,
        filter: &SyncFilter,
    ) -> Result<u64, ConnectorError> {
        let mut pairs = status_params(filter);
        if let Some(t) = toplevel {
            pairs.push(("toplevel_id".into(), t.to_string()));
        }
        let page_size = "1".to_string();
        let mut q: Vec<(&str, &str)> = vec![
            ("pageinate", "true"),
            ("page_size", &page_size),
            ("page_no", "1"),
        ];
        q.extend(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let what = "counting clients (GET /api/Client)";
        let body = self.get_json("Client", &q, what).await?;
        let list =
            wire::ListReply::parse(body, &["clients"]).ok_or_else(|| ConnectorError::Decode {
                what: what.into(),
                message: "expected a page of clients".into(),
            })?;
        Ok(list.record_count.unwrap_or(list.items.len() as u64))
    }

    /// Every client, active and inactive (for the top-level choices).
    async fn all_clients(&self) -> Result<Vec<convert::ClientRecord>, ConnectorError> {
        let params = vec![("includeinactive".to_string(), "true".to_string())];
        let raw = self
            .get_all(
                "Client",
                &params,
                &["clients"],
                "reading clients (GET /api/Client)",
            )
            .await?;
        Ok(raw
            .into_iter()
            .filter_map(|c| convert::company(c).ok())
            .collect())
    }
}

fn convert_item(query: &CrmQuery, v: Value) -> Item {
    let converted = match query.data_type {
        DataType::Companies => convert::company(v).map(|c| {
            if c.matches(&query.filter) {
                Some(Record::Company(c.company))
            } else {
                None
            }
        }),
        DataType::Contacts => convert::contact(v).map(|c| Some(Record::Contact(c))),
        DataType::Opportunities => convert::opportunity(v).map(|o| Some(Record::Opportunity(o))),
        _ => Ok(None),
    };
    match converted {
        Ok(Some(r)) => Item::Record(Box::new(r)),
        Ok(None) => Item::Filtered,
        Err(rejected) => Item::Rejected(rejected),
    }
}

#[scopelink_core::async_trait]
impl CrmSource for HaloPsaConnector {
    fn data_types(&self) -> BTreeSet<DataType> {
        [
            DataType::Companies,
            DataType::Contacts,
            DataType::Opportunities,
        ]
        .into()
    }

    /// Company types are the top levels found on clients (one full read of
    /// the clients), statuses are Active / Inactive, territories and markets
    /// are empty (HaloPSA has none).
    async fn filter_options(&self) -> Result<FilterOptions, ConnectorError> {
        let mut top_levels = BTreeMap::new();
        for c in self.all_clients().await? {
            if let (Some(id), Some(name)) = (c.toplevel_id, c.company.types.first()) {
                top_levels.entry(id).or_insert_with(|| name.clone());
            }
        }
        Ok(FilterOptions {
            company_types: top_levels
                .into_iter()
                .map(|(id, name)| FilterOption::new(id, name))
                .collect(),
            statuses: status_options(),
            territories: Vec::new(),
            markets: Vec::new(),
        })
    }

    /// HaloPSA's own count (`record_count`) of the matching clients: one
    /// request, or one per chosen top level.
    async fn preview(&self, filter: &SyncFilter) -> Result<Preview, ConnectorError> {
        check_filter(filter)?;
        let mut companies = 0;
        if filter.company_types.is_empty() {
            companies = self.count_clients(None, filter).await?;
        } else {
            let mut ids = BTreeSet::new();
            for t in &filter.company_types {
                if scopelink_core::wire::text_id(&t.id).is_some() {
                    ids.insert(t.id.trim().to_string());
                } else {
                    return Err(ConnectorError::InvalidConfig {
                        field: "company_types",
                        message: format!(
                            "`{}` is not a HaloPSA top level id; choose top levels from the filter options",
                            t.id
                        ),
                    });
                }
            }
            for id in ids {
                companies += self.count_clients(Some(&id), filter).await?;
            }
        }
        Ok(Preview { companies })
    }

    /// Pages of 100, resumable by page number. Clients and users have no
    /// modification time in HaloPSA, so they are read in full every time
    /// (the store reports unchanged ones); opportunities are read from
    /// `since` with `lastupdatefromdate`.
    ///
    /// Runs on the core's record-stream rails: with more than one request
    /// allowed in flight ([`HaloPsaConnector::with_concurrency`]), on
    /// [`numbered_record_stream`] (each reply's `record_count` tells the
    /// last page; pages are fetched and converted several at once and
    /// yielded in page order); otherwise on
    /// [`scopelink_core::pages::record_stream`]: pages are fetched on one
    /// task, one page ahead of another that converts them, one page ahead
    /// of the consumer.
    fn stream(&self, request: StreamRequest) -> PageStream<'_> {
        let query = match self.crm_query(&request) {
            Ok(q) => q,
            Err(e) => return futures::stream::once(async move { Err(e) }).boxed(),
        };
        let start = request.resume_from.clone();
        let convert = {
            let query = query.clone();
            move |page: Page<Value>| Ok(convert_page(&query, page))
        };
        let limits = self
            .http()
            .config()
            .pages
            .unwrap_or(client::DEFAULT_PAGE_LIMITS);
        if let (true, Some(first)) = (self.window.limit().max > 1, page_number(start.as_deref())) {
            let this = self.clone();
            let http = self.http().clone();
            return numbered_record_stream(
                limits,
                self.window.clone(),
                first,
                move || http.throttle_replies(),
                move |n: u32| {
                    let this = this.clone();
                    let query = query.clone();
                    async move { this.crm_numbered_page(&query, n).await }
                },
                convert,
            );
        }
        let this = self.clone();
        let fetch_query = query.clone();
        record_stream(
            limits,
            start,
            move |token| {
                let this = this.clone();
                let query = fetch_query.clone();
                async move { this.crm_page(&query, token).await }
            },
            convert,
        )
    }

    /// `GET /api/Client/{id}`, `/api/Users/{id}` or `/api/Opportunities/{id}`;
    /// `None` when HaloPSA has no such record.
    async fn fetch(
        &self,
        data_type: DataType,
        external_id: &str,
    ) -> Result<Option<Record>, ConnectorError> {
        let Some(id) = scopelink_core::wire::text_id(external_id).filter(|i| *i > 0) else {
            return Ok(None);
        };
        let (rel, what) = match data_type {
            DataType::Companies => ("Client", "reading a client (GET /api/Client/{id})"),
            DataType::Contacts => ("Users", "reading a user (GET /api/Users/{id})"),
            DataType::Opportunities => (
                "Opportunities",
                "reading an opportunity (GET /api/Opportunities/{id})",
            ),
            other => {
                return Err(ConnectorError::Unsupported {
                    what: format!("fetching {other} from HaloPSA"),
                })
            }
        };
        let Some(body) = self.get_one(&format!("{rel}/{id}"), what).await? else {
            return Ok(None);
        };
        let bad = |rejected: Rejected| ConnectorError::Decode {
            what: what.to_string(),
            message: rejected.reason,
        };
        Ok(Some(match data_type {
            DataType::Companies => Record::Company(convert::company(body).map_err(bad)?.company),
            DataType::Contacts => Record::Contact(convert::contact(body).map_err(bad)?),
            _ => Record::Opportunity(convert::opportunity(body).map_err(bad)?),
        }))
    }
}
