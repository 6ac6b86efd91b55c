//! The activity log: what happened to each connection, for site admins.

use crate::access::Access;
use crate::connection::ConnectionId;
use crate::error::{Error, StoreError};
use crate::model::DataType;
use crate::sync::SyncCounts;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What an activity entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActivityKind {
    /// The connection was created.
    Created,
    /// Its name or categories changed.
    Edited,
    /// Its status changed.
    StatusChanged {
        /// Old status label.
        from: String,
        /// New status label.
        to: String,
        /// The reason, for Connection Error.
        reason: Option<String>,
    },
    /// New credentials were stored and the old ones removed.
    Reconnected,
    /// The connection was deleted.
    Deleted,
    /// A sync run started.
    SyncStarted {
        /// Data type.
        data_type: DataType,
        /// Whether it resumes an interrupted run.
        resumed: bool,
    },
    /// A sync run completed.
    SyncCompleted {
        /// Data type.
        data_type: DataType,
        /// What it did.
        counts: SyncCounts,
    },
    /// A sync run failed.
    SyncFailed {
        /// Data type.
        data_type: DataType,
        /// Why.
        reason: String,
    },
    /// A running sync was force-reset.
    SyncReset {
        /// Data type.
        data_type: DataType,
    },
    /// A record was skipped.
    RecordSkipped {
        /// Data type.
        data_type: DataType,
        /// The provider's id of the record.
        external_id: String,
        /// Why it was skipped.
        reason: String,
    },
    /// A webhook event was applied.
    WebhookApplied {
        /// Data type.
        data_type: DataType,
        /// The provider's id of the record.
        external_id: String,
        /// Added, updated or deleted.
        action: String,
    },
    /// A project was pushed to the PSA.
    ProjectPushed {
        /// The scoping project id.
        scoping_project_id: String,
        /// The PSA project id.
        psa_project_id: String,
        /// How many PSA objects were created.
        created: usize,
    },
    /// A project push failed halfway (links of what was created are stored).
    ProjectPushFailed {
        /// The scoping project id.
        scoping_project_id: String,
        /// Why.
        reason: String,
    },
}

/// One entry of the activity log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The connection.
    pub connection_id: ConnectionId,
    /// What happened.
    pub kind: ActivityKind,
}

impl ActivityEntry {
    /// An entry stamped now.
    pub fn now(connection_id: &ConnectionId, kind: ActivityKind) -> Self {
        Self {
            at: Utc::now(),
            connection_id: connection_id.clone(),
            kind,
        }
    }
}

/// Where activity entries go; part of the host's store.
#[async_trait]
pub trait ActivityLog: Send + Sync {
    /// Appends an entry.
    async fn append(&self, entry: ActivityEntry) -> Result<(), StoreError>;
    /// The newest `limit` entries, newest first, of one connection or all.
    async fn entries(
        &self,
        connection: Option<&ConnectionId>,
        limit: usize,
    ) -> Result<Vec<ActivityEntry>, StoreError>;
}

/// Reads the activity log on behalf of `access`: site admins only.
pub async fn read_activity(
    access: &Access,
    log: &dyn ActivityLog,
    connection: Option<&ConnectionId>,
    limit: usize,
) -> Result<Vec<ActivityEntry>, Error> {
    access.require_site_admin()?;
    Ok(log.entries(connection, limit).await?)
}
