//! The [`CrmSource`] capability: filter options from picklists, the
//! company count, record streams (companies, contacts, opportunities,
//! configuration items, products) through the query API, and single-record
//! reads for webhooks.

use crate::client::{AutotaskConnector, MAX_RECORDS};
use crate::convert::{self, entity};
use crate::picklists::Picklists;
use crate::query::{self, company_filter, everything, query_body, since_filter};
use async_trait::async_trait;
use futures::StreamExt;
use scopelink_core::connector::{CrmSource, PageStream, RecordPage, StreamRequest};
use scopelink_core::error::ConnectorError;
use scopelink_core::filter::{FilterOption, FilterOptions, Preview, SyncFilter};
use scopelink_core::model::{DataType, Record};
use scopelink_core::pages::record_stream;
use std::collections::BTreeSet;
use std::sync::Arc;

fn options(lists: &Picklists, field: &str) -> Vec<FilterOption> {
    lists
        .entries(field)
        .iter()
        .filter(|e| e.is_active)
        .map(|e| FilterOption::new(e.value.clone(), e.label.clone()))
        .collect()
}

impl AutotaskConnector {
    /// The picklists a data type's records are labelled with; a failure
    /// to read them leaves the values unlabelled rather than failing the
    /// sync (the record reads themselves report a real failure).
    async fn labels_for(&self, entity: &'static str) -> Arc<Picklists> {
        match self.picklists(entity).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(entity, error = %e, "picklists unavailable; syncing values without labels");
                Arc::new(Picklists::default())
            }
        }
    }

    /// The record stream of one data type, on the core's rails: a page is
    /// converted while the next one is fetched.
    fn records(
        &self,
        data_type: DataType,
        entity: &'static str,
        lists: Arc<Picklists>,
        body: serde_json::Value,
        start: Option<String>,
    ) -> PageStream<'static> {
        let what = format!("reading {data_type} (POST {entity}/query)");
        let this = self.clone();
        let fetch_what = what.clone();
        let body = Arc::new(body);
        let limits = self.http().config().pages.unwrap_or_else(|| {
            scopelink_core::http::PageLimits::for_records(
                scopelink_core::http::PageLimits::PLAUSIBLE_RECORDS,
                MAX_RECORDS,
            )
        });
        record_stream(
            limits,
            start,
            move |token| {
                let this = this.clone();
                let body = body.clone();
                let what = fetch_what.clone();
                async move { this.query_page(entity, &body, token, &what).await }
            },
            move |page| {
                let converted =
                    convert::convert_page(data_type, &page.items, &lists).map_err(|e| {
                        ConnectorError::Decode {
                            what: what.clone(),
                            message: e.to_string(),
                        }
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
            },
        )
    }
}

#[async_trait]
impl CrmSource for AutotaskConnector {
    fn data_types(&self) -> BTreeSet<DataType> {
        DataType::SYNC_ORDER.into_iter().collect()
    }

    /// Company types, territories and market segments from the picklists of
    /// `Companies/entityInformation/fields` (active entries, ids are the
    /// picklist values); statuses are Active / Inactive (`isActive`).
    async fn filter_options(&self) -> Result<FilterOptions, ConnectorError> {
        let lists = self.picklists("Companies").await?;
        Ok(FilterOptions {
            company_types: options(&lists, "companyType"),
            statuses: query::status_options(),
            territories: options(&lists, "territoryID"),
            markets: options(&lists, "marketSegmentID"),
        })
    }

    /// `POST Companies/query/count` with the filter's JSON items.
    async fn preview(&self, filter: &SyncFilter) -> Result<Preview, ConnectorError> {
        let companies = self
            .count(
                "Companies",
                serde_json::Value::Array(company_filter(filter, None)),
            )
            .await?;
        Ok(Preview { companies })
    }

    /// `POST {Entity}/query` with `MaxRecords` 500, the fields the records
    /// need (`IncludeFields`) and a JSON filter: companies by the sync
    /// filter, every type but products by its change time on incremental
    /// runs (companies also by `createDate`); pages follow `pageDetails.nextPageUrl` (the same body posted
    /// to it), which is also the resume token.
    fn stream(&self, request: StreamRequest) -> PageStream<'_> {
        let Some((entity, include)) = entity(request.data_type) else {
            let what = format!("syncing {} from Autotask", request.data_type);
            return futures::stream::once(async move { Err(ConnectorError::Unsupported { what }) })
                .boxed();
        };
        let filter = if request.data_type == DataType::Companies {
            company_filter(&request.filter, request.since)
        } else {
            vec![since_filter(request.data_type, request.since).unwrap_or_else(everything)]
        };
        let body = query_body(MAX_RECORDS, include, filter);
        let this = self.clone();
        let data_type = request.data_type;
        let start = request.resume_from;
        futures::stream::once(async move {
            let lists = this.labels_for(entity).await;
            this.records(data_type, entity, lists, body, start)
        })
        .flatten()
        .boxed()
    }

    /// `GET {Entity}/{id}`; `None` when Autotask has no such record.
    async fn fetch(
        &self,
        data_type: DataType,
        external_id: &str,
    ) -> Result<Option<Record>, ConnectorError> {
        let (entity, _) = entity(data_type).ok_or_else(|| ConnectorError::Unsupported {
            what: format!("fetching {data_type} from Autotask"),
        })?;
        let Some(id) = scopelink_core::wire::text_id(external_id).filter(|i| *i > 0) else {
            return Ok(None);
        };
        let Some(value) = self.get_item(entity, id).await? else {
            return Ok(None);
        };
        let lists = self.labels_for(entity).await;
        convert::convert_json(data_type, &value.to_string(), &lists)
            .map(Some)
            .map_err(|rejected| ConnectorError::Decode {
                what: format!("{data_type} {id}"),
                message: rejected.reason,
            })
    }
}
