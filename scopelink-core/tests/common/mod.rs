//! Shared fakes for the integration tests: a connector whose connection test
//! is scripted, an in-memory CRM source with pages, resume tokens and
//! injectable failures, and a PSA that records every creation.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::StreamExt;
use scopelink_core::access::Access;
use scopelink_core::activity::ActivityKind;
use scopelink_core::connector::{
    Connector, CrmSource, PageStream, PsaProjects, PushLookups, RecordPage, StreamRequest,
    TaskTarget,
};
use scopelink_core::filter::{FilterOptions, Preview, SyncFilter};
use scopelink_core::mapping::{PlannedMilestone, PlannedTask, PsaPlan};
use scopelink_core::model::{Company, Contact, DataType, Opportunity, Record};
use scopelink_core::secret::{ApiKeyPair, Credentials, InMemoryVault};
use scopelink_core::{
    async_trait, Connection, ConnectionId, Connections, ConnectorError, FeatureCategory, HttpError,
    MemoryStore, NewConnection, Provider,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The private key used by [`credentials`]; it must never show up anywhere.
pub const SECRET: &str = "sk-live-TOP-SECRET-0042";
/// The private key used by [`other_credentials`].
pub const OTHER_SECRET: &str = "sk-live-ROTATED-SECRET-0043";

/// A fixed instant plus `minutes`, so cursors are predictable.
pub fn ts(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(minutes)
}

/// ConnectWise keys holding [`SECRET`].
pub fn credentials() -> Credentials {
    Credentials::ApiKeyPair(ApiKeyPair::new("acme", "pub-key-1", SECRET))
}

/// ConnectWise keys holding [`OTHER_SECRET`].
pub fn other_credentials() -> Credentials {
    Credentials::ApiKeyPair(ApiKeyPair::new("acme", "pub-key-2", OTHER_SECRET))
}

/// A new-connection form for `provider` with `categories`.
pub fn new_connection(provider: Provider, categories: &[FeatureCategory]) -> NewConnection {
    NewConnection {
        provider,
        name: "Acme CRM".into(),
        categories: categories.iter().copied().collect(),
        credentials: credentials(),
        settings: BTreeMap::from([("server".to_string(), "https://na.example.com".to_string())]),
    }
}

/// A store, a vault and the connection service over them.
pub struct Env {
    /// The store.
    pub store: Arc<MemoryStore>,
    /// The vault.
    pub vault: Arc<InMemoryVault>,
    /// The service.
    pub connections: Connections,
}

impl Env {
    /// An empty environment.
    pub fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let vault = Arc::new(InMemoryVault::new());
        let connections = Connections::new(store.clone(), vault.clone());
        Self {
            store,
            vault,
            connections,
        }
    }

    /// Creates a connection and tests it successfully: it is Connected.
    pub async fn connected(
        &self,
        provider: Provider,
        categories: &[FeatureCategory],
    ) -> Connection {
        let c = self
            .connections
            .create(&Access::full(), new_connection(provider, categories))
            .await
            .expect("create");
        self.connections
            .test(&Access::full(), &c.id, &FakeConnector::ok())
            .await
            .expect("test")
    }

    /// The activity kinds of a connection, oldest first.
    pub async fn kinds(&self, id: &ConnectionId) -> Vec<ActivityKind> {
        let mut entries = self
            .connections
            .activity(&Access::full(), Some(id), usize::MAX)
            .await
            .expect("activity");
        entries.reverse();
        entries.into_iter().map(|e| e.kind).collect()
    }
}

/// A connector whose `test_connection` answer is set by the test.
pub struct FakeConnector {
    failure: Mutex<Option<String>>,
    calls: AtomicUsize,
}

impl FakeConnector {
    /// Tests succeed.
    pub fn ok() -> Self {
        Self {
            failure: Mutex::new(None),
            calls: AtomicUsize::new(0),
        }
    }

    /// Tests fail with an authentication error carrying `message`.
    pub fn failing(message: &str) -> Self {
        let c = Self::ok();
        c.fail_with(message);
        c
    }

    /// From now on, tests fail with `message`.
    pub fn fail_with(&self, message: &str) {
        *self.failure.lock().unwrap() = Some(message.to_string());
    }

    /// From now on, tests succeed.
    pub fn succeed(&self) {
        *self.failure.lock().unwrap() = None;
    }

    /// How many times `test_connection` was called.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Connector for FakeConnector {
    fn provider(&self) -> Provider {
        Provider::ConnectWiseManage
    }

    fn capabilities(&self) -> BTreeSet<FeatureCategory> {
        Provider::ConnectWiseManage.categories()
    }

    async fn test_connection(&self) -> Result<(), ConnectorError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match self.failure.lock().unwrap().clone() {
            None => Ok(()),
            Some(message) => Err(ConnectorError::Authentication { message }),
        }
    }
}

/// A company updated at `ts(minute)`.
pub fn company(id: &str, minute: i64) -> Record {
    Record::Company(Company {
        external_id: id.into(),
        name: format!("Company {id}"),
        updated_at: Some(ts(minute)),
        ..Company::default()
    })
}

/// A contact of `company` updated at `ts(minute)`.
pub fn contact(id: &str, company: Option<&str>, minute: i64) -> Record {
    Record::Contact(Contact {
        external_id: id.into(),
        company_external_id: company.map(Into::into),
        first_name: Some(format!("First {id}")),
        last_name: Some("Doe".into()),
        updated_at: Some(ts(minute)),
        ..Contact::default()
    })
}

/// An opportunity of `company` updated at `ts(minute)`.
pub fn opportunity(id: &str, company: Option<&str>, minute: i64) -> Record {
    Record::Opportunity(Opportunity {
        external_id: id.into(),
        company_external_id: company.map(Into::into),
        name: format!("Deal {id}"),
        updated_at: Some(ts(minute)),
        ..Opportunity::default()
    })
}

/// How [`FakeCrm`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 503 from the provider.
    Unavailable,
    /// The provider rejected the credentials.
    Auth,
    /// HTTP 401 from the provider.
    Unauthorized,
}

impl Failure {
    fn error(self) -> ConnectorError {
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
}

/// A CRM source over in-memory records. Pages hold `page_size` records,
/// ordered by (updated_at, id); page tokens are page indexes; `since` keeps
/// records updated at or after it.
pub struct FakeCrm {
    page_size: usize,
    state: Mutex<CrmState>,
}

impl FakeCrm {
    /// An empty source.
    pub fn new(page_size: usize) -> Self {
        Self {
            page_size,
            state: Mutex::new(CrmState::default()),
        }
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
                return Err(failure.error());
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
        [
            DataType::Companies,
            DataType::Contacts,
            DataType::Opportunities,
        ]
        .into_iter()
        .collect()
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
        let mut records: Vec<Record> = {
            let mut s = self.state.lock().unwrap();
            s.requests.push(request.clone());
            s.records.get(&data_type).cloned().unwrap_or_default()
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
        futures::stream::iter(start..pages.len())
            .map(move |i| self.page(data_type, i, &pages))
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

/// One creation made through [`FakePsa`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PsaCall {
    /// `create_project`, `create_milestone` or `create_task`.
    pub op: &'static str,
    /// The name sent.
    pub name: String,
    /// The project it went into.
    pub project_id: Option<String>,
    /// The milestone it went into.
    pub milestone_id: Option<String>,
    /// The parent task.
    pub parent_id: Option<String>,
    /// The id assigned.
    pub id: String,
}

#[derive(Default)]
struct PsaState {
    calls: Vec<PsaCall>,
    attempts: usize,
    fail_on: Option<usize>,
    /// From this attempt on, every creation is refused: bad credentials.
    reject_from: Option<usize>,
    next: BTreeMap<&'static str, usize>,
}

/// A PSA that records every creation and assigns ids `P1`, `M1`, `T1`, ...
pub struct FakePsa {
    state: Mutex<PsaState>,
}

impl FakePsa {
    /// A PSA that never fails.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(PsaState::default()),
        }
    }

    /// The `n`th creation attempt from now on (1-based) fails, once.
    pub fn fail_on(&self, n: usize) {
        let mut s = self.state.lock().unwrap();
        s.fail_on = Some(s.attempts + n);
    }

    /// From the `n`th creation attempt on (1-based), the PSA rejects the
    /// credentials.
    pub fn reject_credentials_from(&self, n: usize) {
        let mut s = self.state.lock().unwrap();
        s.reject_from = Some(s.attempts + n);
    }

    /// Every successful creation, in order.
    pub fn calls(&self) -> Vec<PsaCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Forgets the recorded calls (ids keep counting).
    pub fn take_calls(&self) -> Vec<PsaCall> {
        std::mem::take(&mut self.state.lock().unwrap().calls)
    }

    fn create(
        &self,
        op: &'static str,
        prefix: &'static str,
        name: &str,
        project_id: Option<&str>,
        milestone_id: Option<&str>,
        parent_id: Option<&str>,
    ) -> Result<String, ConnectorError> {
        let mut s = self.state.lock().unwrap();
        s.attempts += 1;
        if s.reject_from.is_some_and(|from| s.attempts >= from) {
            return Err(ConnectorError::Authentication {
                message: "the API member's keys were revoked".into(),
            });
        }
        if s.fail_on == Some(s.attempts) {
            s.fail_on = None;
            return Err(ConnectorError::Http(HttpError::Status {
                method: "POST".into(),
                path: "/project/projects".into(),
                status: 500,
                message: format!("internal error creating {name}"),
                retry_after: None,
            }));
        }
        let n = s.next.entry(prefix).or_insert(0);
        *n += 1;
        let id = format!("{prefix}{n}");
        s.calls.push(PsaCall {
            op,
            name: name.to_string(),
            project_id: project_id.map(Into::into),
            milestone_id: milestone_id.map(Into::into),
            parent_id: parent_id.map(Into::into),
            id: id.clone(),
        });
        Ok(id)
    }
}

#[async_trait]
impl PsaProjects for FakePsa {
    async fn push_lookups(&self) -> Result<PushLookups, ConnectorError> {
        Ok(PushLookups::default())
    }

    async fn create_project(&self, plan: &PsaPlan) -> Result<String, ConnectorError> {
        self.create("create_project", "P", &plan.project_name, None, None, None)
    }

    async fn create_milestone(
        &self,
        _plan: &PsaPlan,
        project_id: &str,
        milestone: &PlannedMilestone,
    ) -> Result<String, ConnectorError> {
        self.create(
            "create_milestone",
            "M",
            &milestone.name,
            Some(project_id),
            None,
            None,
        )
    }

    async fn create_task(
        &self,
        _plan: &PsaPlan,
        target: TaskTarget<'_>,
        task: &PlannedTask,
    ) -> Result<String, ConnectorError> {
        self.create(
            "create_task",
            "T",
            &task.name,
            Some(target.project_id),
            Some(target.milestone_id),
            target.parent_task_id,
        )
    }
}
