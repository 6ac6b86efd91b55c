//! The sync engine: pulls records from a [`CrmSource`] into the host's store.
//!
//! Data types run in dependency order (companies first). Each page is
//! committed together with a checkpoint, so a run that dies halfway resumes
//! where it stopped; the cursor (newest provider modification time seen)
//! advances only when a run completes, so the next run asks only for
//! changes.

use crate::access::{Access, Permission};
use crate::activity::{ActivityEntry, ActivityKind};
use crate::connection::{Connection, ConnectionId};
use crate::connections::Connections;
use crate::connector::RecordPage;
use crate::connector::{CrmSource, PageStream, StreamRequest};
use crate::error::{Error, StoreError, SyncError};
use crate::filter::SyncFilter;
use crate::model::{DataType, Record, MAX_FIELD_BYTES};
use crate::store::{Store, UpsertOutcome};
use crate::webhook::SeenEvents;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracing::Instrument;

mod webhooks;

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCounts {
    /// New records.
    pub created: u64,
    /// Changed records.
    pub updated: u64,
    /// Records that were already up to date.
    pub unchanged: u64,
    /// Records skipped (with a reason in the activity log).
    pub skipped: u64,
    /// Records deleted (webhooks).
    pub deleted: u64,
}

impl SyncCounts {
    /// Adds one upsert outcome.
    pub fn add_outcome(&mut self, outcome: UpsertOutcome) {
        match outcome {
            UpsertOutcome::Created => self.created += 1,
            UpsertOutcome::Updated => self.updated += 1,
            UpsertOutcome::Unchanged => self.unchanged += 1,
        }
    }

    /// Records seen in all.
    pub fn total(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.skipped + self.deleted
    }
}

/// Whether a data type's sync is running.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunStatus {
    /// Not running.
    #[default]
    Idle,
    /// Marked running since `started_at`: a lease held by the run `owner`
    /// until `expires_at`, renewed at every page it commits. A lease that
    /// expired belongs to a run that died; the next run takes it over.
    Running {
        /// When the run started.
        started_at: DateTime<Utc>,
        /// The run holding the mark (empty for marks written before
        /// leases existed).
        #[serde(default)]
        owner: String,
        /// When the mark lapses unless renewed (marks written before leases
        /// existed count as lapsed).
        #[serde(default = "lapsed")]
        expires_at: DateTime<Utc>,
    },
    /// The last run failed.
    Failed {
        /// When.
        at: DateTime<Utc>,
        /// Why.
        reason: String,
    },
}

fn lapsed() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH
}

impl RunStatus {
    /// Whether a live run holds the mark at `now` (marked running, its
    /// lease not expired).
    pub fn is_live_at(&self, now: DateTime<Utc>) -> bool {
        matches!(self, RunStatus::Running { expires_at, .. } if *expires_at > now)
    }
}

/// The running mark a run asks for or holds: its owner (a random id per
/// run), the time it acts at, and until when the mark is its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLease {
    /// The run's id.
    pub owner: String,
    /// The time of the request (begin, or the page being committed).
    pub now: DateTime<Utc>,
    /// Until when the mark is held unless renewed.
    pub expires_at: DateTime<Utc>,
}

impl RunLease {
    /// A lease for a new run, with a fresh random owner id, from `now` for
    /// `duration`.
    pub fn new(now: DateTime<Utc>, duration: chrono::Duration) -> Self {
        Self {
            owner: format!("run_{:032x}", fastrand::u128(..)),
            now,
            expires_at: now + duration,
        }
    }

    /// The same run's lease renewed from `now` for `duration`.
    pub fn renewed(&self, now: DateTime<Utc>, duration: chrono::Duration) -> Self {
        Self {
            owner: self.owner.clone(),
            now,
            expires_at: now + duration,
        }
    }
}

/// Where an interrupted run resumes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The `since` the run was started with (kept for the resumed run).
    pub since: Option<DateTime<Utc>>,
    /// The next page to fetch; `None` once the last page is committed.
    pub page_token: Option<String>,
    /// The newest modification time committed so far.
    pub high_water: Option<DateTime<Utc>>,
    /// Counts so far, including the page committed with this checkpoint.
    pub counts: SyncCounts,
    /// Pages committed so far.
    pub pages: u64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// Every page was committed.
    Completed {
        /// The new cursor.
        cursor: Option<DateTime<Utc>>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The run stopped on an error; the checkpoint stays.
    Failed {
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
}

/// The sync state of one connection and data type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// Running or not.
    pub status: RunStatus,
    /// Newest modification time seen by the last completed run.
    pub cursor: Option<DateTime<Utc>>,
    /// The checkpoint of an interrupted run.
    pub checkpoint: Option<Checkpoint>,
    /// When the last run completed.
    pub last_completed: Option<DateTime<Utc>>,
}

impl SyncState {
    /// Takes the running mark for `lease` (for store implementations, in
    /// the same atomic step as reading and writing the state): refused with
    /// [`StoreError::AlreadyRunning`] while another run's lease is live; a
    /// lapsed lease is taken over. Returns the state as it was before.
    pub fn begin(
        &mut self,
        connection: &ConnectionId,
        data_type: DataType,
        lease: &RunLease,
    ) -> Result<SyncState, StoreError> {
        if self.status.is_live_at(lease.now) {
            return Err(StoreError::AlreadyRunning {
                connection: connection.clone(),
                data_type,
            });
        }
        let before = self.clone();
        self.status = RunStatus::Running {
            started_at: lease.now,
            owner: lease.owner.clone(),
            expires_at: lease.expires_at,
        };
        Ok(before)
    }

    /// Succeeds when `lease`'s run holds the mark (for store
    /// implementations, before a commit or the end of a run writes
    /// anything): else [`StoreError::LeaseLost`]. A run whose lease lapsed
    /// but that nobody took over still holds it.
    pub fn check_lease(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        lease: &RunLease,
    ) -> Result<(), StoreError> {
        match &self.status {
            RunStatus::Running { owner, .. } if *owner == lease.owner => Ok(()),
            _ => Err(StoreError::LeaseLost {
                connection: connection.clone(),
                data_type,
            }),
        }
    }

    /// Extends the held mark to `lease.expires_at` (after
    /// [`SyncState::check_lease`]).
    pub fn renew(&mut self, lease: &RunLease) {
        if let RunStatus::Running { expires_at, .. } = &mut self.status {
            *expires_at = lease.expires_at;
        }
    }

    /// Commits one page (for store implementations, in the same atomic step
    /// as reading and writing the state): refused with
    /// [`StoreError::LeaseLost`] before `write` runs when `lease`'s run no
    /// longer holds the mark; else runs `write` (which upserts the page's
    /// records and returns one outcome per record), stores `checkpoint`
    /// with those outcomes counted and renews the lease. When `write`
    /// fails the state is left as it was, and the store must drop whatever
    /// `write` did (roll its transaction back).
    pub fn commit_page(
        &mut self,
        connection: &ConnectionId,
        data_type: DataType,
        lease: &RunLease,
        checkpoint: &Checkpoint,
        write: impl FnOnce() -> Result<Vec<UpsertOutcome>, StoreError>,
    ) -> Result<Vec<UpsertOutcome>, StoreError> {
        self.check_lease(connection, data_type, lease)?;
        let outcomes = write()?;
        self.checkpoint = Some(checkpoint.with_outcomes(&outcomes));
        self.renew(lease);
        Ok(outcomes)
    }

    /// Ends the run holding `lease` (for store implementations, in the
    /// same atomic step as reading and writing the state): refused with
    /// [`StoreError::LeaseLost`], changing nothing, when the run no longer
    /// holds the mark; else applies `end` ([`SyncState::apply_end`]).
    pub fn finish(
        &mut self,
        connection: &ConnectionId,
        data_type: DataType,
        lease: &RunLease,
        end: RunEnd,
    ) -> Result<(), StoreError> {
        self.check_lease(connection, data_type, lease)?;
        self.apply_end(end);
        Ok(())
    }

    /// Clears the running mark whoever holds it (for store
    /// implementations of [`crate::store::SyncStateStore::force_reset`]).
    /// The checkpoint and cursor stay, so the next run resumes where the
    /// stuck one stopped; the run that held the mark loses it and is
    /// refused at its next commit.
    pub fn force_reset(&mut self) {
        self.status = RunStatus::Idle;
    }

    /// Applies the end of a run, without checking the lease (stores call
    /// [`SyncState::finish`], which checks it first).
    pub fn apply_end(&mut self, end: RunEnd) {
        match end {
            RunEnd::Completed { cursor, at } => {
                self.status = RunStatus::Idle;
                self.cursor = match (self.cursor, cursor) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                self.checkpoint = None;
                self.last_completed = Some(at);
            }
            RunEnd::Failed { reason, at } => {
                self.status = RunStatus::Failed { at, reason };
            }
        }
    }
}

/// A progress report, sent after every page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// The data type running.
    pub data_type: DataType,
    /// Counts so far for this data type.
    pub counts: SyncCounts,
    /// Pages committed so far.
    pub pages: u64,
    /// Whether the data type is done.
    pub finished: bool,
}

/// What to sync. Build it with [`SyncRequest::all`] and the builder
/// methods (the struct is `#[non_exhaustive]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncRequest {
    /// Data types; run in dependency order whatever the order given. Empty
    /// means every type the source offers and the connection has enabled.
    pub data_types: Vec<DataType>,
    /// The company filter.
    pub filter: SyncFilter,
    /// Ignore the cursor and fetch everything.
    pub full: bool,
    /// When the whole sync must stop (see [`SyncRequest::with_time_limit`]):
    /// once it has passed, the page being fetched is abandoned, pages
    /// already fetched are committed, and the run fails with
    /// [`SyncError::DeadlineExceeded`]; the next run resumes after the last
    /// committed page. `None`: no deadline.
    pub deadline: Option<std::time::Instant>,
}

impl SyncRequest {
    /// Every data type the source offers and the connection has enabled,
    /// unfiltered, incremental, with no deadline.
    ///
    /// ```
    /// use scopelink_core::model::DataType;
    /// use scopelink_core::SyncRequest;
    ///
    /// let request = SyncRequest::all()
    ///     .data_types([DataType::Companies, DataType::Contacts])
    ///     .full()
    ///     .with_time_limit(std::time::Duration::from_secs(600));
    /// assert_eq!(request.data_types, [DataType::Companies, DataType::Contacts]);
    /// assert!(request.full && request.deadline.is_some());
    /// ```
    pub fn all() -> Self {
        Self::default()
    }

    /// Only these data types (run in dependency order whatever the order
    /// given).
    pub fn data_types(mut self, data_types: impl IntoIterator<Item = DataType>) -> Self {
        self.data_types = data_types.into_iter().collect();
        self
    }

    /// With this company filter.
    pub fn filter(mut self, filter: SyncFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Ignoring the cursors: everything is fetched again.
    pub fn full(mut self) -> Self {
        self.full = true;
        self
    }

    /// Stopping at `deadline` (see [`SyncRequest::deadline`](#structfield.deadline)).
    pub fn until(mut self, deadline: std::time::Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// This request with a deadline `limit` from now, for every data type
    /// it runs together.
    pub fn with_time_limit(mut self, limit: std::time::Duration) -> Self {
        self.deadline = std::time::Instant::now().checked_add(limit);
        self
    }
}

/// What a whole sync did, per data type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Counts per data type, in the order run.
    pub per_type: Vec<(DataType, SyncCounts)>,
}

impl SyncReport {
    /// The counts of one type.
    pub fn counts(&self, data_type: DataType) -> Option<SyncCounts> {
        self.per_type
            .iter()
            .find(|(t, _)| *t == data_type)
            .map(|(_, c)| *c)
    }
}

/// A progress callback.
pub type ProgressFn<'a> = &'a (dyn Fn(&SyncProgress) + Send + Sync);

/// A fetched page with its skip reasons, or why it could not be had.
type CheckedPage = Result<(RecordPage, Vec<Option<String>>), SyncError>;

/// The sync's deadline passed before the next page arrived.
struct Overdue;

/// Tells `progress` (if any) where the run of `data_type` stands.
fn report(
    progress: Option<ProgressFn<'_>>,
    data_type: DataType,
    checkpoint: &Checkpoint,
    finished: bool,
) {
    if let Some(p) = progress {
        p(&SyncProgress {
            data_type,
            counts: checkpoint.counts,
            pages: checkpoint.pages,
            finished,
        });
    }
}

/// The clock the engine reads (injectable, so tests can move past a lease).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How long a run's running mark lasts unless renewed by a page commit:
/// the default of [`SyncEngine::with_lease_duration`].
pub const DEFAULT_LEASE: std::time::Duration = std::time::Duration::from_secs(300);

/// The sync engine. Cheap to clone.
#[derive(Clone)]
pub struct SyncEngine {
    connections: Connections,
    leases: Leases,
    /// Webhook event ids applied (replays and redeliveries are skipped).
    seen: Arc<SeenEvents>,
}

/// How the engine times the running marks it takes.
#[derive(Clone)]
struct Leases {
    clock: Clock,
    duration: chrono::Duration,
}

impl Leases {
    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    fn begin(&self) -> RunLease {
        RunLease::new(self.now(), self.duration)
    }

    fn renew(&self, lease: &RunLease) -> RunLease {
        lease.renewed(self.now(), self.duration)
    }
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("lease_duration", &self.leases.duration)
            .finish_non_exhaustive()
    }
}

/// What a store refusal in the middle of a run means for the run: the
/// connection was disabled or deleted since the run began.
fn stopped(connection: &ConnectionId, err: StoreError) -> SyncError {
    match err {
        StoreError::ConnectionDisabled(_) => SyncError::DisabledDuringSync(connection.clone()),
        StoreError::ConnectionNotFound(_) => SyncError::DeletedDuringSync(connection.clone()),
        other => SyncError::Store(other),
    }
}

fn skip_reason(store_has_company: bool, company: Option<&str>) -> Option<String> {
    match (company, store_has_company) {
        (None, _) => Some("it belongs to no company".to_string()),
        (Some(id), false) => Some(format!(
            "its company {id} is not synced (filtered out, or not synced yet)"
        )),
        (Some(_), true) => None,
    }
}

impl SyncEngine {
    /// An engine over the connection service (and through it, the store).
    pub fn new(connections: Connections) -> Self {
        Self {
            connections,
            seen: Arc::new(SeenEvents::new()),
            leases: Leases {
                clock: Arc::new(Utc::now),
                duration: chrono::Duration::from_std(DEFAULT_LEASE)
                    .unwrap_or(chrono::Duration::MAX),
            },
        }
    }

    /// This engine with running marks that last `duration` unless a page
    /// commit renews them (default [`DEFAULT_LEASE`]): longer than the
    /// slowest page the provider takes, so a live run never lapses; a run
    /// that died lapses after it and the next run takes over.
    pub fn with_lease_duration(mut self, duration: std::time::Duration) -> Self {
        self.leases.duration =
            chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
        self
    }

    /// This engine reading the time from `clock` (tests move it past a
    /// lease instead of sleeping).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.leases.clock = clock;
        self
    }

    fn store(&self) -> &Arc<dyn Store> {
        self.connections.store()
    }

    async fn log(&self, id: &ConnectionId, kind: ActivityKind) -> Result<(), StoreError> {
        self.store().append(ActivityEntry::now(id, kind)).await
    }

    async fn enabled_connection(&self, id: &ConnectionId) -> Result<Connection, SyncError> {
        let c = self
            .store()
            .connection(id)
            .await?
            .ok_or_else(|| StoreError::ConnectionNotFound(id.clone()))?;
        if !c.is_enabled() {
            return Err(SyncError::Disabled(id.clone()));
        }
        Ok(c)
    }

    /// Why a record cannot be stored, if it cannot.
    async fn skip_check(
        &self,
        id: &ConnectionId,
        record: &Record,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .skip_checks(id, std::slice::from_ref(record))
            .await?
            .pop()
            .flatten())
    }

    /// Why each record cannot be stored, if it cannot, one answer per
    /// record: the companies the records belong to are looked up in one
    /// store call.
    async fn skip_checks(
        &self,
        id: &ConnectionId,
        records: &[Record],
    ) -> Result<Vec<Option<String>>, StoreError> {
        let mut reasons: Vec<Option<String>> = records
            .iter()
            .map(|record| {
                let (field, len) = record.longest_field()?;
                (len > MAX_FIELD_BYTES).then(|| {
                    format!(
                        "its {field} is {len} bytes long, more than the {MAX_FIELD_BYTES}-byte limit"
                    )
                })
            })
            .collect();
        // (record index, company id) of the records that need a company.
        let mut asks: Vec<usize> = Vec::new();
        let mut companies: Vec<String> = Vec::new();
        for (i, record) in records.iter().enumerate() {
            if reasons[i].is_some() || !record.data_type().needs_company() {
                continue;
            }
            match record.company_external_id() {
                Some(c) => {
                    asks.push(i);
                    companies.push(c.to_string());
                }
                None => reasons[i] = skip_reason(false, None),
            }
        }
        if !companies.is_empty() {
            let found = self
                .store()
                .contains_records(id, DataType::Companies, &companies)
                .await?;
            for ((i, company), has) in asks.into_iter().zip(&companies).zip(found) {
                reasons[i] = skip_reason(has, Some(company));
            }
        }
        Ok(reasons)
    }

    /// Runs a sync of `connection` from `source` (needs Manage).
    ///
    /// Traced as one `sync_run` span (fields `connection`, `provider`,
    /// `full`) holding a `sync_data_type` span per data type (`connection`,
    /// `provider`, `data_type`), which holds the connector's `http_request`
    /// spans.
    pub async fn run(
        &self,
        access: &Access,
        connection: &ConnectionId,
        source: &dyn CrmSource,
        request: &SyncRequest,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<SyncReport, SyncError> {
        let span = tracing::info_span!(
            "sync_run",
            connection = %connection,
            provider = tracing::field::Empty,
            full = request.full,
        );
        self.run_traced(access, connection, source, request, progress)
            .instrument(span)
            .await
    }

    /// [`SyncEngine::run`] inside its span.
    async fn run_traced(
        &self,
        access: &Access,
        connection: &ConnectionId,
        source: &dyn CrmSource,
        request: &SyncRequest,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<SyncReport, SyncError> {
        access.require(Permission::Manage)?;
        let conn = self.enabled_connection(connection).await?;
        tracing::Span::current().record("provider", tracing::field::display(&conn.provider));
        let offered = source.data_types();
        let types = if request.data_types.is_empty() {
            DataType::in_sync_order(
                &offered
                    .iter()
                    .copied()
                    .filter(|t| conn.categories.contains(&t.category()))
                    .collect::<Vec<_>>(),
            )
        } else {
            DataType::in_sync_order(&request.data_types)
        };
        // Check every type before syncing any, so a refused request
        // changes nothing.
        for &data_type in &types {
            if !offered.contains(&data_type) {
                return Err(SyncError::UnsupportedDataType(data_type));
            }
            if !conn.categories.contains(&data_type.category()) {
                return Err(SyncError::CategoryNotEnabled {
                    connection: connection.clone(),
                    category: data_type.category(),
                    data_type,
                });
            }
            // A type marked running (another run, or one killed halfway
            // that needs a force reset) refuses the request up front rather
            // than after the types before it were synced again. The mark is
            // taken atomically per type when its run begins.
            let state = self.store().sync_state(connection, data_type).await?;
            if state.status.is_live_at(self.leases.now()) {
                return Err(SyncError::Store(StoreError::AlreadyRunning {
                    connection: connection.clone(),
                    data_type,
                }));
            }
        }
        let mut report = SyncReport::default();
        for data_type in types {
            let span = tracing::info_span!(
                "sync_data_type",
                connection = %connection,
                provider = %conn.provider,
                data_type = %data_type,
            );
            let counts = self
                .run_type(connection, source, data_type, request, progress)
                .instrument(span)
                .await?;
            report.per_type.push((data_type, counts));
        }
        self.connections
            .record_synced(connection)
            .await
            .map_err(|e| match e {
                Error::Store(s) => stopped(connection, s),
                // The only refused transition: disabled after the last page.
                Error::Transition(_) => SyncError::DisabledDuringSync(connection.clone()),
                other => SyncError::Store(StoreError::Backend(other.to_string())),
            })?;
        Ok(report)
    }

    async fn run_type(
        &self,
        connection: &ConnectionId,
        source: &dyn CrmSource,
        data_type: DataType,
        request: &SyncRequest,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<SyncCounts, SyncError> {
        let lease = self.leases.begin();
        let before = self
            .store()
            .begin_run(connection, data_type, &lease)
            .await
            .map_err(|e| stopped(connection, e))?;
        let resumed = before.checkpoint.is_some();
        let mut checkpoint = before.checkpoint.clone().unwrap_or_else(|| Checkpoint {
            since: if request.full { None } else { before.cursor },
            ..Checkpoint::default()
        });
        self.log(connection, ActivityKind::SyncStarted { data_type, resumed })
            .await?;
        tracing::info!(%connection, %data_type, resumed, since = ?checkpoint.since, "sync started");

        let result = self
            .pages(
                connection,
                source,
                data_type,
                request,
                &mut checkpoint,
                &lease,
                progress,
            )
            .await;
        match result {
            Ok(()) => {
                let cursor = checkpoint.high_water;
                self.store()
                    .finish_run(
                        connection,
                        data_type,
                        &lease,
                        RunEnd::Completed {
                            cursor,
                            at: self.leases.now(),
                        },
                    )
                    .await?;
                self.log(
                    connection,
                    ActivityKind::SyncCompleted {
                        data_type,
                        counts: checkpoint.counts,
                    },
                )
                .await?;
                report(progress, data_type, &checkpoint, true);
                tracing::info!(%connection, %data_type, counts = ?checkpoint.counts, "sync completed");
                Ok(checkpoint.counts)
            }
            Err(err) => {
                // The message with its causes: what the activity log and a
                // Connection Error show.
                let reason = crate::error::chain(&err);
                tracing::warn!(%connection, %data_type, %reason, "sync failed");
                // Best effort: the original error matters more than a
                // failure to record it.
                let _ = self
                    .store()
                    .finish_run(
                        connection,
                        data_type,
                        &lease,
                        RunEnd::Failed {
                            reason: reason.clone(),
                            at: self.leases.now(),
                        },
                    )
                    .await;
                if matches!(err, SyncError::DeletedDuringSync(_)) {
                    // Nothing more is recorded for a deleted connection.
                    return Err(err);
                }
                let _ = self
                    .log(
                        connection,
                        ActivityKind::SyncFailed {
                            data_type,
                            reason: reason.clone(),
                        },
                    )
                    .await;
                if let SyncError::Connector { source, .. } = &err {
                    if source.is_auth_failure() {
                        let _ = self.connections.record_error(connection, &reason).await;
                    }
                }
                Err(err)
            }
        }
    }

    // The run's lease joined its context; bundling them is left for when
    // the run path is next reshaped, to keep this change small.
    #[allow(clippy::too_many_arguments)]
    async fn pages(
        &self,
        connection: &ConnectionId,
        source: &dyn CrmSource,
        data_type: DataType,
        request: &SyncRequest,
        checkpoint: &mut Checkpoint,
        lease: &RunLease,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<(), SyncError> {
        // A run that died after committing its last page (but before it was
        // finished) has nothing left to fetch; streaming again from the
        // start would count every record a second time.
        if checkpoint.pages > 0 && checkpoint.page_token.is_none() {
            return Ok(());
        }
        let mut stream = source.stream(StreamRequest {
            data_type,
            filter: request.filter.clone(),
            since: checkpoint.since,
            resume_from: checkpoint.page_token.clone(),
        });
        // One page of read-ahead: the next page is requested and checked
        // (its records' companies looked up) while the current one is
        // committed, so the provider prepares it, it travels and the store
        // answers the lookups while this one is written. Checks only read
        // companies, which an earlier type stored, never the page being
        // committed. At most two pages are in memory; the checkpoint still
        // moves page by page.
        let deadline = request.deadline;
        let mut current = self
            .next_in_time(deadline, connection, data_type, &mut stream)
            .await;
        while let Some(checked) = current {
            let (page, reasons) = match checked {
                Ok(checked) => checked,
                Err(Overdue) => {
                    return Err(SyncError::DeadlineExceeded {
                        data_type,
                        pages: checkpoint.pages,
                    })
                }
            }?;
            // Only the fetch is bounded by the deadline: a commit, once
            // begun, always ends, so nothing is lost or half written.
            let (following, committed) = futures::join!(
                self.next_in_time(deadline, connection, data_type, &mut stream),
                self.commit(connection, data_type, page, reasons, checkpoint, lease, progress)
            );
            committed?;
            current = following;
        }
        Ok(())
    }

    /// [`Self::next_checked`], abandoned with `Err(Overdue)` when
    /// `deadline` passes first.
    async fn next_in_time(
        &self,
        deadline: Option<std::time::Instant>,
        connection: &ConnectionId,
        data_type: DataType,
        stream: &mut PageStream<'_>,
    ) -> Option<Result<CheckedPage, Overdue>> {
        let next = self.next_checked(connection, data_type, stream);
        match deadline {
            None => next.await.map(Ok),
            // Checked first: a source whose pages are always ready at once
            // would otherwise never let the timer fire.
            Some(at) if std::time::Instant::now() >= at => Some(Err(Overdue)),
            Some(at) => {
                match tokio::time::timeout_at(tokio::time::Instant::from_std(at), next).await {
                    Ok(next) => next.map(Ok),
                    Err(_) => Some(Err(Overdue)),
                }
            }
        }
    }

    /// The stream's next page with its skip checks, or the end.
    async fn next_checked(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        stream: &mut PageStream<'_>,
    ) -> Option<CheckedPage> {
        let page = match stream.next().await? {
            Ok(page) => page,
            Err(source) => return Some(Err(SyncError::Connector { data_type, source })),
        };
        Some(
            self.skip_checks(connection, &page.records)
                .await
                .map(|reasons| (page, reasons))
                .map_err(SyncError::from),
        )
    }

    /// Stores and logs one checked page (`reasons`: why each record is
    /// skipped, if it is), and moves the checkpoint past it.
    // The run's lease joined its context; bundling them is left for when
    // the run path is next reshaped, to keep this change small.
    #[allow(clippy::too_many_arguments)]
    async fn commit(
        &self,
        connection: &ConnectionId,
        data_type: DataType,
        page: RecordPage,
        reasons: Vec<Option<String>>,
        checkpoint: &mut Checkpoint,
        lease: &RunLease,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<(), SyncError> {
        let mut next = checkpoint.clone();
        next.page_token = page.next.clone();
        next.pages += 1;
        let mut keep = Vec::with_capacity(page.records.len());
        let mut skipped = Vec::new();
        for rejected in page.rejected {
            let id = rejected.id.unwrap_or_else(|| "(no id)".into());
            skipped.push((id, rejected.reason));
        }
        for (record, reason) in page.records.into_iter().zip(reasons) {
            if let Some(at) = record.updated_at() {
                next.high_water = Some(next.high_water.map_or(at, |h| h.max(at)));
            }
            match reason {
                Some(reason) => skipped.push((record.external_id().to_string(), reason)),
                None => keep.push(record),
            }
        }
        next.counts.skipped += skipped.len() as u64;
        // The store adds this page's upsert outcomes to the checkpoint's
        // counts as it commits them (see `Checkpoint::with_outcomes`).
        // The store checks, with the write, that this run still holds the
        // mark and the connection is still enabled, and renews the mark.
        let outcomes = self
            .store()
            .commit_page(
                connection,
                data_type,
                keep,
                &next,
                &self.leases.renew(lease),
            )
            .await
            .map_err(|e| stopped(connection, e))?;
        *checkpoint = next.with_outcomes(&outcomes);
        for (external_id, reason) in skipped {
            self.log(
                connection,
                ActivityKind::RecordSkipped {
                    data_type,
                    external_id,
                    reason,
                },
            )
            .await?;
        }
        report(progress, data_type, checkpoint, false);
        Ok(())
    }

    /// Clears a run stuck in "running" (needs Manage). The checkpoint stays,
    /// so the next run resumes where the stuck one stopped.
    pub async fn force_reset(
        &self,
        access: &Access,
        connection: &ConnectionId,
        data_type: DataType,
    ) -> Result<(), SyncError> {
        access.require(Permission::Manage)?;
        self.store().force_reset(connection, data_type).await?;
        self.log(connection, ActivityKind::SyncReset { data_type })
            .await?;
        Ok(())
    }
}

impl Checkpoint {
    /// This checkpoint with a page's upsert outcomes added to its counts.
    /// Stores call it inside [`crate::store::SyncStateStore::commit_page`].
    pub fn with_outcomes(&self, outcomes: &[UpsertOutcome]) -> Checkpoint {
        let mut c = self.clone();
        for o in outcomes {
            c.counts.add_outcome(*o);
        }
        c
    }
}
