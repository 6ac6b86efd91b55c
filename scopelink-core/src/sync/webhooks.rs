//! Webhook events applied through the sync engine's upsert path, refusing
//! replays and out-of-order deliveries (see [`SyncEngine::apply_webhook`]).

use super::{SyncCounts, SyncEngine};
use crate::activity::ActivityKind;
use crate::connection::ConnectionId;
use crate::connector::CrmSource;
use crate::error::{ConnectorError, SyncError};
use crate::model::Record;
use crate::store::UpsertOutcome;
use crate::webhook::{WebhookAction, WebhookEvent};
use chrono::{DateTime, Utc};

impl SyncEngine {
    /// Applies webhook events through the same upsert path as a sync:
    /// deletions delete, other events upsert the record (fetched from
    /// `source` when the payload did not carry it), and records whose company
    /// is not synced are skipped with the reason.
    ///
    /// Replays and out-of-order deliveries change nothing (each is counted
    /// as skipped, with the reason in the activity log):
    /// - an event whose provider id ([`WebhookEvent::event_id`]) this engine
    ///   already applied is not applied again;
    /// - a record is never replaced by a copy the provider changed earlier
    ///   than the stored one; a copy with no change time, or one with the
    ///   stored time but other contents, is fetched from the provider, whose
    ///   current copy is applied instead;
    /// - a record the store does not hold is fetched from the provider
    ///   before it is stored (one request per new record), so a replayed
    ///   "added" or "updated" cannot bring back a record the provider
    ///   deleted; the provider's current copy is stored;
    /// - a deletion is checked with `source` first: a record the provider
    ///   still has is kept (a source that cannot fetch the type, answering
    ///   [`ConnectorError::Unsupported`], is taken at its word).
    ///
    /// An event that fails (the provider could not be asked) is not
    /// remembered as applied, so the provider's redelivery is applied.
    pub async fn apply_webhook(
        &self,
        connection: &ConnectionId,
        source: &dyn CrmSource,
        events: Vec<WebhookEvent>,
    ) -> Result<SyncCounts, SyncError> {
        self.enabled_connection(connection).await?;
        let mut counts = SyncCounts::default();
        let conn_key = connection.to_string();
        for event in events {
            let data_type = event.data_type;
            let external_id = event.external_id.clone();
            let action = event.action;
            let claimed = event.event_id.clone();
            let outcome = match claimed.as_deref() {
                Some(id) if !self.seen.claim(&conn_key, id) => Ok(EventOutcome::Skipped(format!(
                    "event {id} was already applied (a replayed or redelivered webhook)"
                ))),
                _ => self.apply_event(connection, source, event).await,
            };
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    if let Some(id) = claimed.as_deref() {
                        self.seen.release(&conn_key, id);
                    }
                    return Err(e);
                }
            };
            match outcome {
                EventOutcome::Skipped(reason) => {
                    counts.skipped += 1;
                    self.log(
                        connection,
                        ActivityKind::RecordSkipped {
                            data_type,
                            external_id,
                            reason,
                        },
                    )
                    .await?;
                    continue;
                }
                EventOutcome::Upserted(o) => counts.add_outcome(o),
                EventOutcome::Deleted(existed) => counts.deleted += u64::from(existed),
            }
            self.log(
                connection,
                ActivityKind::WebhookApplied {
                    data_type,
                    external_id,
                    action: action.as_str().into(),
                },
            )
            .await?;
        }
        Ok(counts)
    }

    /// Applies one event (see [`Self::apply_webhook`]).
    async fn apply_event(
        &self,
        connection: &ConnectionId,
        source: &dyn CrmSource,
        event: WebhookEvent,
    ) -> Result<EventOutcome, SyncError> {
        let data_type = event.data_type;
        let id = event.external_id.as_str();
        let fetch = |why: &'static str| async move {
            tracing::debug!(%data_type, external_id = id, why, "fetching a webhook's record");
            source
                .fetch(data_type, id)
                .await
                .map_err(|source| SyncError::Connector { data_type, source })
        };
        const GONE: &str = "the provider no longer has it";
        if event.action == WebhookAction::Deleted {
            return match source.fetch(data_type, id).await {
                Ok(Some(_)) => Ok(EventOutcome::Skipped(
                    "a deletion event, but the provider still has the record (a replayed or misdirected webhook); it is kept"
                        .into(),
                )),
                Ok(None) | Err(ConnectorError::Unsupported { .. }) => Ok(
                    EventOutcome::Deleted(self.store().delete_record(connection, data_type, id).await?),
                ),
                Err(source) => Err(SyncError::Connector { data_type, source }),
            };
        }
        // A carried record of another type or id is not this event's.
        let carried = event
            .record
            .filter(|r| r.data_type() == data_type && r.external_id() == id);
        let (mut record, mut fetched) = match carried {
            Some(r) => (r, false),
            None => match fetch("not carried").await? {
                Some(r) => (r, true),
                None => return Ok(EventOutcome::Skipped(GONE.into())),
            },
        };
        if let Some(reason) = self.skip_check(connection, &record).await? {
            return Ok(EventOutcome::Skipped(reason));
        }
        let stored = self.store().record(connection, data_type, id).await?;
        loop {
            match order_against(&record, stored.as_ref()) {
                Order::Apply => break,
                Order::Older { copy, stored } => {
                    return Ok(EventOutcome::Skipped(format!(
                        "the webhook's copy (changed {copy}) is older than the stored one (changed {stored}): a replayed or out-of-order webhook"
                    )))
                }
                Order::Ask if fetched => break,
                Order::Ask => {
                    record = match fetch("cannot be ordered").await? {
                        Some(r) => r,
                        None => return Ok(EventOutcome::Skipped(GONE.into())),
                    };
                    fetched = true;
                    if let Some(reason) = self.skip_check(connection, &record).await? {
                        return Ok(EventOutcome::Skipped(reason));
                    }
                }
            }
        }
        Ok(EventOutcome::Upserted(
            self.store().upsert_record(connection, record).await?,
        ))
    }
}

/// What one webhook event came to.
enum EventOutcome {
    Upserted(UpsertOutcome),
    /// Deleted; whether the store had it.
    Deleted(bool),
    Skipped(String),
}

/// Whether a webhook's copy of a record may replace the stored one.
#[derive(Debug, PartialEq, Eq)]
enum Order {
    /// Newer, or the same.
    Apply,
    /// Changed before the stored copy: refused.
    Older {
        copy: DateTime<Utc>,
        stored: DateTime<Utc>,
    },
    /// Cannot be ordered (nothing stored, no change time, or the stored
    /// time with other contents): ask the provider for its current copy.
    Ask,
}

fn order_against(copy: &Record, stored: Option<&Record>) -> Order {
    // Nothing stored to compare with: the provider confirms the record
    // (a replayed "added" must not bring back a record it deleted).
    let Some(stored) = stored else {
        return Order::Ask;
    };
    match (copy.updated_at(), stored.updated_at()) {
        (Some(c), Some(s)) if c < s => Order::Older { copy: c, stored: s },
        (Some(c), Some(s)) if c == s && copy != stored => Order::Ask,
        (Some(_), _) => Order::Apply,
        (None, _) if copy == stored => Order::Apply,
        (None, _) => Order::Ask,
    }
}
