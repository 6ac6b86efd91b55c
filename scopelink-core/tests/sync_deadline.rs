//! A sync's optional deadline ([`SyncRequest::deadline`]): a source whose
//! pages never end (slow or instant) is stopped once it passes, with a typed
//! error; every page committed before stays committed, with a checkpoint the
//! next run resumes from; a deadline already past fetches nothing.

mod common;

use async_trait::async_trait;
use common::*;
use futures::StreamExt;
use scopelink_core::access::Access;
use scopelink_core::activity::ActivityKind;
use scopelink_core::connector::{CrmSource, PageStream, RecordPage, StreamRequest};
use scopelink_core::filter::{FilterOptions, Preview, SyncFilter};
use scopelink_core::model::{DataType, Record};
use scopelink_core::store::{RecordStore, SyncStateStore};
use scopelink_core::sync::RunStatus;
use scopelink_core::{
    ConnectorError, FeatureCategory, Provider, SyncEngine, SyncError, SyncRequest,
};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Companies, two a page, for ever; each page after `delay`.
struct Endless {
    delay: Duration,
    served: AtomicU64,
}

impl Endless {
    fn new(delay: Duration) -> Self {
        Self {
            delay,
            served: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl CrmSource for Endless {
    fn data_types(&self) -> BTreeSet<DataType> {
        [DataType::Companies].into_iter().collect()
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
        let first: u64 = request
            .resume_from
            .as_deref()
            .map_or(0, |t| t.parse().expect("a page index"));
        futures::stream::iter(first..)
            .then(move |page| async move {
                if !self.delay.is_zero() {
                    tokio::time::sleep(self.delay).await;
                }
                self.served.fetch_add(1, Ordering::SeqCst);
                Ok(RecordPage {
                    records: vec![
                        company(&format!("c{}", page * 2), 1),
                        company(&format!("c{}", page * 2 + 1), 1),
                    ],
                    rejected: vec![],
                    next: Some((page + 1).to_string()),
                })
            })
            .boxed()
    }

    async fn fetch(
        &self,
        _data_type: DataType,
        _external_id: &str,
    ) -> Result<Option<Record>, ConnectorError> {
        Ok(None)
    }
}

fn request(limit: Duration) -> SyncRequest {
    SyncRequest::all()
        .data_types(vec![DataType::Companies])
        .with_time_limit(limit)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_endless_source_is_stopped_at_the_deadline_keeping_its_pages() {
    let env = Env::new();
    let conn = env
        .connected(Provider::HubSpot, &[FeatureCategory::Crm])
        .await;
    let engine = SyncEngine::new(env.connections.clone());
    let source = Endless::new(Duration::from_millis(40));
    let started = Instant::now();
    let err = engine
        .run(
            &Access::full(),
            &conn.id,
            &source,
            &request(Duration::from_millis(500)),
            None,
        )
        .await
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(500));
    let SyncError::DeadlineExceeded { data_type, pages } = err else {
        panic!("expected DeadlineExceeded, got {err:?}");
    };
    assert_eq!(data_type, DataType::Companies);
    assert!(pages >= 1, "some pages came before the deadline");
    // Every committed page is stored; at most the page in the making when
    // the deadline passed was fetched and dropped.
    let stored = env
        .store
        .count_records(&conn.id, DataType::Companies)
        .await
        .unwrap();
    assert_eq!(stored, pages * 2);
    let served = source.served.load(Ordering::SeqCst);
    assert!(
        (pages..=pages + 2).contains(&served),
        "{served} served, {pages} committed"
    );
    let state = env
        .store
        .sync_state(&conn.id, DataType::Companies)
        .await
        .unwrap();
    let checkpoint = state.checkpoint.expect("a checkpoint");
    assert_eq!(checkpoint.pages, pages);
    assert_eq!(checkpoint.page_token, Some(pages.to_string()));
    assert!(matches!(state.status, RunStatus::Failed { .. }));
    let kinds = env.kinds(&conn.id).await;
    assert!(
        kinds.iter().any(|k| matches!(k, ActivityKind::SyncFailed { reason, .. } if reason.contains("deadline passed"))),
        "{kinds:?}"
    );

    // The next run resumes after the last committed page.
    let resumed = Endless::new(Duration::from_millis(40));
    let err = engine
        .run(
            &Access::full(),
            &conn.id,
            &resumed,
            &request(Duration::from_millis(200)),
            None,
        )
        .await
        .unwrap_err();
    let SyncError::DeadlineExceeded { pages: total, .. } = err else {
        panic!("expected DeadlineExceeded, got {err:?}");
    };
    assert!(total >= pages);
    let stored = env
        .store
        .count_records(&conn.id, DataType::Companies)
        .await
        .unwrap();
    assert_eq!(stored, total * 2, "no page stored twice, none skipped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_whose_pages_are_always_ready_is_stopped_too() {
    let env = Env::new();
    let conn = env
        .connected(Provider::HubSpot, &[FeatureCategory::Crm])
        .await;
    let engine = SyncEngine::new(env.connections.clone());
    let source = Endless::new(Duration::ZERO);
    let err = engine
        .run(
            &Access::full(),
            &conn.id,
            &source,
            &request(Duration::from_millis(200)),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, SyncError::DeadlineExceeded { pages, .. } if pages > 0),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_deadline_already_past_fetches_nothing() {
    let env = Env::new();
    let conn = env
        .connected(Provider::HubSpot, &[FeatureCategory::Crm])
        .await;
    let engine = SyncEngine::new(env.connections.clone());
    let source = Endless::new(Duration::ZERO);
    let err = engine
        .run(
            &Access::full(),
            &conn.id,
            &source,
            &request(Duration::ZERO),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::DeadlineExceeded {
                data_type: DataType::Companies,
                pages: 0
            }
        ),
        "{err:?}"
    );
    assert_eq!(source.served.load(Ordering::SeqCst), 0);
    // Without a deadline nothing stops it early: the first pages arrive.
    let mut stream = source.stream(StreamRequest {
        data_type: DataType::Companies,
        filter: SyncFilter::default(),
        since: None,
        resume_from: None,
    });
    assert!(stream.next().await.unwrap().is_ok());
}
