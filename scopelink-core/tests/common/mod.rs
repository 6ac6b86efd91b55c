//! Shared fakes for the integration tests: a connector whose connection test
//! is scripted, an in-memory CRM source with pages, resume tokens and
//! injectable failures, and a PSA that records every creation.
#![allow(dead_code)]

#[allow(unused_imports)]
pub use scopelink_testkit::fake_crm::{Failure, FakeCrm};

use chrono::{DateTime, Duration, TimeZone, Utc};
use scopelink_core::access::Access;
use scopelink_core::connector::{Connector, PsaProjects, PushLookups, TaskTarget};
use scopelink_core::mapping::{PlannedMilestone, PlannedTask, PsaPlan};
use scopelink_core::model::{Company, Contact, Opportunity, Record};
use scopelink_core::secret::{ApiKeyPair, Credentials};
use scopelink_core::{
    async_trait, Connection, ConnectorError, FeatureCategory, HttpError, NewConnection, Provider,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

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
    NewConnection::new(provider, "Acme CRM", credentials())
        .categories(categories.iter().copied())
        .settings(BTreeMap::from([(
            "server".to_string(),
            "https://na.example.com".to_string(),
        )]))
}

/// A store, a vault and the connection service over them.
pub use scopelink_testkit::host::MemoryEnv as Env;

/// What the core tests add to [`Env`].
#[allow(async_fn_in_trait)]
pub trait EnvExt {
    /// Creates a connection and tests it successfully: it is Connected.
    async fn connected(&self, provider: Provider, categories: &[FeatureCategory]) -> Connection;
}

impl EnvExt for Env {
    async fn connected(&self, provider: Provider, categories: &[FeatureCategory]) -> Connection {
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
