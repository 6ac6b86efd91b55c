//! One fake CRM source for the engine tests of core, the stores and the
//! reliability suite: in-memory records in pages, resume tokens, and
//! injectable failures and hangs.

use futures::StreamExt;
use scopelink_core::connector::{CrmSource, PageStream, RecordPage, StreamRequest};
use scopelink_core::filter::{FilterOptions, Preview, SyncFilter};
use scopelink_core::model::{DataType, Record};
use scopelink_core::{async_trait, ConnectorError, HttpError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use tokio::sync::Notify;

/// How [`FakeCrm`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 503 from the provider.
    Unavailable,
    /// The provider rejected the credentials.
    Auth,
    /// HTTP 401 from the provider.
    Unauthorized,
    /// The page could not be decoded.
    Decode,
}

impl Failure {
    fn error(self, data_type: DataType, index: usize) -> ConnectorError {
        match self {
            Failure::Unavailable => ConnectorError::Http(HttpError::Status {
                method: "GET".into(),
                path: "/companies".into(),
                status: 503,
                message: "service unavailable".into(),
                retry_after: None,
            }),
            Failure::Auth => ConnectorError::Authentication {
                message: "the API key was revoked".into(),
            },
            Failure::Unauthorized => ConnectorError::Http(HttpError::Status {
                method: "GET".into(),
                path: "/companies".into(),
                status: 401,
                message: "invalid token".into(),
                retry_after: None,
            }),
            Failure::Decode => ConnectorError::Decode {
                what: format!("{data_type} page {index}"),
                message: "simulated failure".into(),
            },
        }
    }
}

#[derive(Default)]
struct CrmState {
    records: BTreeMap<DataType, Vec<Record>>,
    /// (data type, page index, failure): fail once when that page is asked for.
    fail: Option<(DataType, usize, Failure)>,
    requests: Vec<StreamRequest>,
    served: Vec<(DataType, usize)>,
    failed: Vec<(DataType, usize)>,
    fetches: Vec<(DataType, String)>,
    /// (data type, page index): the next stream of that type never yields
    /// that page.
    hang: Option<(DataType, usize)>,
}

/// A CRM source over in-memory records. Pages hold `page_size` records,
/// ordered by (updated_at, id); page tokens are page indexes; `since` keeps
/// records updated at or after it.
pub struct FakeCrm {
    page_size: usize,
    data_types: BTreeSet<DataType>,
    state: Mutex<CrmState>,
    /// Signalled when a stream waits on a hanging page.
    hung: Arc<Notify>,
}

impl FakeCrm {
    /// An empty source.
    pub fn new(page_size: usize) -> Self {
        Self {
            page_size,
            data_types: [
                DataType::Companies,
                DataType::Contacts,
                DataType::Opportunities,
            ]
            .into_iter()
            .collect(),
            state: Mutex::new(CrmState::default()),
            hung: Arc::new(Notify::new()),
        }
    }

    /// The same source serving only `data_types`.
    pub fn with_data_types(mut self, data_types: impl IntoIterator<Item = DataType>) -> Self {
        self.data_types = data_types.into_iter().collect();
        self
    }

    /// The next stream of `data_type` serves the pages before `page` and
    /// then never yields: a provider that stops answering (the process
    /// dies waiting). [`FakeCrm::hung`] is signalled when that happens.
    pub fn hang_at(&self, data_type: DataType, page: usize) {
        self.state.lock().unwrap().hang = Some((data_type, page));
    }

    /// Waits until a stream reaches the page set by [`FakeCrm::hang_at`].
    pub async fn hung(&self) {
        self.hung.notified().await;
    }

    /// Adds or replaces a record (by type and id).
    pub fn put(&self, record: Record) {
        let mut s = self.state.lock().unwrap();
        let list = s.records.entry(record.data_type()).or_default();
        match list
            .iter_mut()
            .find(|r| r.external_id() == record.external_id())
        {
            Some(existing) => *existing = record,
            None => list.push(record),
        }
    }

    /// Removes a record (the provider deleted it); returns whether it
    /// existed.
    pub fn remove(&self, data_type: DataType, external_id: &str) -> bool {
        let mut s = self.state.lock().unwrap();
        let list = s.records.entry(data_type).or_default();
        let before = list.len();
        list.retain(|r| r.external_id() != external_id);
        list.len() != before
    }

    /// Adds or replaces several records.
    pub fn put_all(&self, records: impl IntoIterator<Item = Record>) {
        for r in records {
            self.put(r);
        }
    }

    /// The next request for page `page` of `data_type` fails once.
    pub fn fail_once_at(&self, data_type: DataType, page: usize, failure: Failure) {
        self.state.lock().unwrap().fail = Some((data_type, page, failure));
    }

    /// Every stream request, in order.
    pub fn requests(&self) -> Vec<StreamRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Every page served successfully, in order.
    pub fn served(&self) -> Vec<(DataType, usize)> {
        self.state.lock().unwrap().served.clone()
    }

    /// Every page request that was failed on purpose.
    pub fn failed(&self) -> Vec<(DataType, usize)> {
        self.state.lock().unwrap().failed.clone()
    }

    /// Every `fetch` call.
    pub fn fetches(&self) -> Vec<(DataType, String)> {
        self.state.lock().unwrap().fetches.clone()
    }

    fn page(
        &self,
        data_type: DataType,
        index: usize,
        pages: &[Vec<Record>],
    ) -> Result<RecordPage, ConnectorError> {
        let mut s = self.state.lock().unwrap();
        if let Some((t, p, failure)) = s.fail {
            if t == data_type && p == index {
                s.fail = None;
                s.failed.push((data_type, index));
                return Err(failure.error(data_type, index));
            }
        }
        s.served.push((data_type, index));
        Ok(RecordPage {
            records: pages[index].clone(),
            rejected: vec![],
            next: (index + 1 < pages.len()).then(|| (index + 1).to_string()),
        })
    }
}

#[async_trait]
impl CrmSource for FakeCrm {
    fn data_types(&self) -> BTreeSet<DataType> {
        self.data_types.clone()
    }

    async fn filter_options(&self) -> Result<FilterOptions, ConnectorError> {
        Ok(FilterOptions::default())
    }

    async fn preview(&self, _filter: &SyncFilter) -> Result<Preview, ConnectorError> {
        Err(ConnectorError::Unsupported {
            what: "preview".into(),
        })
    }

    fn stream(&self, request: StreamRequest) -> PageStream<'_> {
        let data_type = request.data_type;
        let (mut records, hang) = {
            let mut s = self.state.lock().unwrap();
            s.requests.push(request.clone());
            let hang = match s.hang {
                Some((t, page)) if t == data_type => s.hang.take().map(|_| page),
                _ => None,
            };
            (s.records.get(&data_type).cloned().unwrap_or_default(), hang)
        };
        if let Some(since) = request.since {
            records.retain(|r| r.updated_at().is_some_and(|at| at >= since));
        }
        records.sort_by(|a, b| {
            (a.updated_at(), a.external_id()).cmp(&(b.updated_at(), b.external_id()))
        });
        let pages: Vec<Vec<Record>> = records
            .chunks(self.page_size)
            .map(<[Record]>::to_vec)
            .collect();
        let start = request
            .resume_from
            .as_deref()
            .map(|t| t.parse::<usize>().expect("page token is a page index"))
            .unwrap_or(0);
        let hang = hang.filter(|&p| p >= start && p < pages.len());
        let Some(hang) = hang else {
            return futures::stream::iter(start..pages.len())
                .map(move |i| self.page(data_type, i, &pages))
                .boxed();
        };
        let hung = Arc::clone(&self.hung);
        // Every page before the hanging one is served (and so committed)
        // before the engine polls for it.
        futures::stream::iter(start..hang)
            .map(move |i| self.page(data_type, i, &pages))
            .chain(futures::stream::poll_fn(move |_| {
                hung.notify_one();
                Poll::Pending
            }))
            .boxed()
    }

    async fn fetch(
        &self,
        data_type: DataType,
        external_id: &str,
    ) -> Result<Option<Record>, ConnectorError> {
        let mut s = self.state.lock().unwrap();
        s.fetches.push((data_type, external_id.to_string()));
        Ok(s.records
            .get(&data_type)
            .and_then(|l| l.iter().find(|r| r.external_id() == external_id))
            .cloned())
    }
}
