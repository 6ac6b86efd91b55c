//! The traits a provider crate implements, one per capability.

use crate::error::{ConnectorError, WebhookError};
use crate::filter::{FilterOptions, Preview, SyncFilter};
use crate::mapping::{PlannedMilestone, PlannedTask, PsaPlan};
use crate::model::{DataType, Record};
use crate::provider::{FeatureCategory, Provider};
use crate::webhook::{WebhookEvent, WebhookRequest};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures::stream::BoxStream;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Every connector: who it is and whether its credentials work.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The provider it talks to.
    fn provider(&self) -> Provider;

    /// The categories this connector implements.
    fn capabilities(&self) -> BTreeSet<FeatureCategory>;

    /// Makes the provider's cheapest authenticated call. An error says what
    /// the user must fix.
    async fn test_connection(&self) -> Result<(), ConnectorError>;
}

/// One page of records from a provider.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordPage {
    /// The records, as converted from the provider's payload, all of the
    /// requested data type.
    pub records: Vec<Record>,
    /// Records of the page that could not be converted, each with its
    /// provider id if known and the reason. The engine counts and logs them
    /// as skipped.
    pub rejected: Vec<crate::wire::Rejected>,
    /// Where the next page starts; `None` on the last page. The engine
    /// checkpoints it, so it must be enough to resume from.
    pub next: Option<String>,
}

/// What to stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRequest {
    /// The data type.
    pub data_type: DataType,
    /// The company filter (connectors apply it to companies, and may use it
    /// to narrow dependent types).
    pub filter: SyncFilter,
    /// Only records changed at or after this time (incremental sync).
    pub since: Option<DateTime<Utc>>,
    /// Resume at this page token (from [`RecordPage::next`]).
    pub resume_from: Option<String>,
}

/// A stream of pages.
pub type PageStream<'a> = BoxStream<'a, Result<RecordPage, ConnectorError>>;

/// A source of CRM records (and configurations and catalog items where the
/// provider has them).
#[async_trait]
pub trait CrmSource: Send + Sync {
    /// The data types this source can stream.
    fn data_types(&self) -> BTreeSet<DataType>;

    /// The filter choices the provider offers.
    async fn filter_options(&self) -> Result<FilterOptions, ConnectorError>;

    /// How many companies `filter` matches.
    async fn preview(&self, filter: &SyncFilter) -> Result<Preview, ConnectorError>;

    /// Streams pages of records of `request.data_type`, page by page, in
    /// constant memory. The engine checks a page's records (their
    /// companies) while it stores the page before, so a stream must not mix
    /// data types: companies are a run of their own, before the types that
    /// need them.
    fn stream(&self, request: StreamRequest) -> PageStream<'_>;

    /// Fetches one record (webhooks that carry only an id).
    async fn fetch(
        &self,
        data_type: DataType,
        external_id: &str,
    ) -> Result<Option<Record>, ConnectorError>;
}

/// An id and a name from a PSA, for the push form's pickers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupItem {
    /// The PSA's id.
    pub id: String,
    /// The name users see.
    pub name: String,
}

/// What the push form offers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushLookups {
    /// Companies (clients).
    pub companies: Vec<LookupItem>,
    /// Project statuses.
    pub statuses: Vec<LookupItem>,
    /// Priorities.
    pub priorities: Vec<LookupItem>,
    /// Anything else the provider's push needs (boards, ticket types, ...),
    /// by name.
    pub extra: std::collections::BTreeMap<String, Vec<LookupItem>>,
}

/// Where a task goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskTarget<'a> {
    /// The PSA project id.
    pub project_id: &'a str,
    /// The PSA milestone (phase) id.
    pub milestone_id: &'a str,
    /// The parent task, for project tasks under a service task.
    pub parent_task_id: Option<&'a str>,
}

/// A task of a pushed project and the milestone (phase) it belongs in, for
/// [`PsaProjects::place_tasks`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPlacement {
    /// The task's PSA id.
    pub task_id: String,
    /// The PSA id of the milestone its phase became.
    pub milestone_id: String,
}

/// Creating projects in a PSA. The core's push driver calls these one object
/// at a time and stores a link after each, so a push that fails halfway
/// resumes without duplicates.
#[async_trait]
pub trait PsaProjects: Send + Sync {
    /// Reads the push form's pickers.
    async fn push_lookups(&self) -> Result<PushLookups, ConnectorError>;

    /// Creates the project; returns its PSA id.
    async fn create_project(&self, plan: &PsaPlan) -> Result<String, ConnectorError>;

    /// Creates a milestone (phase) in the project; returns its PSA id.
    async fn create_milestone(
        &self,
        plan: &PsaPlan,
        project_id: &str,
        milestone: &PlannedMilestone,
    ) -> Result<String, ConnectorError>;

    /// Creates a task; returns its PSA id.
    async fn create_task(
        &self,
        plan: &PsaPlan,
        target: TaskTarget<'_>,
        task: &PlannedTask,
    ) -> Result<String, ConnectorError>;

    /// Puts the project's tasks in their milestones, for a PSA where a task
    /// joins a milestone in a write of its own, and checks that they are
    /// there. The push driver calls it once every object of a push exists,
    /// with every task linked to the project so far (this push's, and those
    /// of earlier, interrupted or resubmitted pushes), so a push that failed
    /// before or during this step is completed by pushing again. It must be
    /// safe to call again with the same tasks. The default does nothing:
    /// the milestone was given when the task was created.
    async fn place_tasks(
        &self,
        project_id: &str,
        tasks: &[TaskPlacement],
    ) -> Result<(), ConnectorError> {
        let _ = (project_id, tasks);
        Ok(())
    }
}

/// The opportunity fields scopelink writes back. `None` leaves a field as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpportunityUpdate {
    /// Expected value.
    pub value: Option<Decimal>,
    /// Win probability in percent (0-100).
    pub probability: Option<Decimal>,
    /// Stage: the provider's stage id or name.
    pub stage: Option<String>,
    /// Expected close date.
    pub close_date: Option<NaiveDate>,
    /// The primary contact's provider id.
    pub contact_id: Option<String>,
}

impl OpportunityUpdate {
    /// Whether nothing would be written.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Writing scoping results back to a CRM opportunity.
#[async_trait]
pub trait OpportunityWriteBack: Send + Sync {
    /// Writes the given fields to opportunity `external_id`.
    async fn update_opportunity(
        &self,
        external_id: &str,
        update: &OpportunityUpdate,
    ) -> Result<(), ConnectorError>;
}

/// A document to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRequest {
    /// Envelope subject / e-mail subject.
    pub subject: String,
    /// File name of the document.
    pub document_name: String,
    /// The document (PDF) bytes.
    pub document: Vec<u8>,
    /// Signers, in routing order.
    pub signers: Vec<Signer>,
}

/// A signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

/// The state of a signature request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EnvelopeStatus {
    /// Created, not sent.
    Created,
    /// Sent to signers.
    Sent,
    /// Opened by a signer.
    Delivered,
    /// Everyone signed.
    Completed,
    /// A signer declined.
    Declined,
    /// Voided by the sender.
    Voided,
}

/// Sending documents for signature.
#[async_trait]
pub trait ESignature: Send + Sync {
    /// Sends a document; returns the envelope id.
    async fn send(&self, request: &SignatureRequest) -> Result<String, ConnectorError>;
    /// The envelope's status.
    async fn status(&self, envelope_id: &str) -> Result<EnvelopeStatus, ConnectorError>;
    /// The signed (combined) document.
    async fn download(&self, envelope_id: &str) -> Result<Vec<u8>, ConnectorError>;
    /// Voids an envelope.
    async fn void(&self, envelope_id: &str, reason: &str) -> Result<(), ConnectorError>;
}

/// A drive or folder in the directory picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageFolder {
    /// The provider's id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Parent folder id, `None` at a drive's root.
    pub parent_id: Option<String>,
    /// Drive id.
    pub drive_id: Option<String>,
}

/// A stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// The provider's id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Folder id.
    pub folder_id: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Cloud file storage.
#[async_trait]
pub trait FileStorage: Send + Sync {
    /// Drives (top-level of the picker).
    async fn drives(&self) -> Result<Vec<StorageFolder>, ConnectorError>;
    /// Folders under `parent` (a drive's root when `None`).
    async fn folders(
        &self,
        drive_id: &str,
        parent: Option<&str>,
    ) -> Result<Vec<StorageFolder>, ConnectorError>;
    /// Uploads into `folder_id`; returns the stored file.
    async fn upload(
        &self,
        folder_id: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<StoredFile, ConnectorError>;
    /// Files changed since `since`.
    async fn changed_files(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<StoredFile>, ConnectorError>;
    /// Downloads a file.
    async fn download(&self, file_id: &str) -> Result<Vec<u8>, ConnectorError>;
}

/// Turning a provider's webhook request into normalized events.
#[async_trait]
pub trait WebhookReceiver: Send + Sync {
    /// Verifies the request's signature and parses it.
    async fn receive(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>, WebhookError>;
}
