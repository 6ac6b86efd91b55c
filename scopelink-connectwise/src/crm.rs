//! The [`CrmSource`] capability: filter options, the company count and
//! record streams (companies, contacts, opportunities, configurations,
//! catalog items), and single-record fetches for webhooks.

use crate::client::{data_type_path, ConnectWiseConnector};
use crate::conditions::{self, build_child_conditions, build_conditions};
use crate::{convert, push, wire};
use async_trait::async_trait;
use futures::StreamExt;
use scopelink_core::connector::{CrmSource, PageStream, StreamRequest};
use scopelink_core::error::ConnectorError;
use scopelink_core::filter::{FilterOption, FilterOptions, Preview, SyncFilter};
use scopelink_core::model::{DataType, Record};
use std::collections::BTreeSet;

fn options(items: Vec<wire::IdName>) -> Vec<FilterOption> {
    items
        .into_iter()
        .filter_map(|i| {
            Some(FilterOption::new(
                i.id?.to_string(),
                wire::non_blank(i.name.as_deref())?,
            ))
        })
        .collect()
}

fn by_id() -> Vec<(String, String)> {
    vec![("orderBy".into(), "id asc".into())]
}

/// The query of a company count or stream for `filter` and `since`.
fn company_query(
    filter: &SyncFilter,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> Vec<(String, String)> {
    let mut query = Vec::new();
    let conditions = build_conditions(filter, since);
    if !conditions.is_empty() {
        query.push(("conditions".to_string(), conditions));
    }
    let child = build_child_conditions(filter);
    if !child.is_empty() {
        query.push(("childConditions".to_string(), child));
    }
    query
}

#[async_trait]
impl CrmSource for ConnectWiseConnector {
    fn data_types(&self) -> BTreeSet<DataType> {
        DataType::SYNC_ORDER.into_iter().collect()
    }

    /// Company types, company statuses, territories (`/system/locations`)
    /// and markets (`/company/marketDescriptions`), with their ids.
    async fn filter_options(&self) -> Result<FilterOptions, ConnectorError> {
        let (types, statuses, territories, markets) = futures::try_join!(
            self.get_all::<wire::IdName>(
                "company/companies/types",
                by_id(),
                "listing company types"
            ),
            self.get_all::<wire::IdName>(
                "company/companies/statuses",
                by_id(),
                "listing company statuses"
            ),
            self.get_all::<wire::IdName>("system/locations", by_id(), "listing territories"),
            self.get_all::<wire::IdName>("company/marketDescriptions", by_id(), "listing markets"),
        )?;
        Ok(FilterOptions {
            company_types: options(types),
            statuses: options(statuses),
            territories: options(territories),
            markets: options(markets),
        })
    }

    /// `GET /company/companies/count` with the filter's conditions.
    async fn preview(&self, filter: &SyncFilter) -> Result<Preview, ConnectorError> {
        let mut url = self.endpoint(&["company", "companies", "count"]);
        {
            let query = company_query(filter, None);
            if !query.is_empty() {
                let mut q = url.query_pairs_mut();
                for (k, v) in &query {
                    q.append_pair(k, v);
                }
            }
        }
        let count: wire::Count = self.get_json(url, "counting companies").await?;
        let companies = count.count.ok_or_else(|| ConnectorError::Decode {
            what: "company count".into(),
            message: "the answer has no count".into(),
        })?;
        Ok(Preview { companies })
    }

    /// Companies are filtered server-side; contacts, opportunities and
    /// configurations stream whole (the engine skips records of companies it
    /// does not hold); every type is restricted to `lastUpdated >= since`
    /// on incremental runs.
    fn stream(&self, request: StreamRequest) -> PageStream<'_> {
        let Some(path) = data_type_path(request.data_type) else {
            let what = format!("syncing {} from ConnectWise", request.data_type);
            return futures::stream::once(async move { Err(ConnectorError::Unsupported { what }) })
                .boxed();
        };
        let mut query = by_id();
        if request.data_type == DataType::Companies {
            query.extend(company_query(&request.filter, request.since));
        } else if let Some(since) = request.since {
            query.push(("conditions".into(), conditions::since_condition(since)));
        }
        self.record_pages(request.data_type, path, query, request.resume_from)
    }

    /// `GET /{path}/{id}`; `None` when ConnectWise has no such record.
    async fn fetch(
        &self,
        data_type: DataType,
        external_id: &str,
    ) -> Result<Option<Record>, ConnectorError> {
        let path = data_type_path(data_type).ok_or_else(|| ConnectorError::Unsupported {
            what: format!("fetching {data_type} from ConnectWise"),
        })?;
        let Some(id) = push::parse_id(external_id) else {
            return Ok(None);
        };
        let value: serde_json::Value = match self
            .get_json(
                self.record_url(path, &id.to_string()),
                &format!("reading {data_type} {id}"),
            )
            .await
        {
            Ok(v) => v,
            Err(ConnectorError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if value.is_null() {
            return Ok(None);
        }
        convert::convert(data_type, value)
            .map(Some)
            .map_err(|rejected| ConnectorError::Decode {
                what: format!("{data_type} {id}"),
                message: rejected.reason,
            })
    }
}
