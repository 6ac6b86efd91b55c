//! Gates that hold an operation at a chosen point until the test lets it
//! go, so a race (a disable, a delete, a reset, a second run) can be played
//! at exactly that point: [`GatedSource`] holds a sync before one of its
//! pages, [`GatedConnector`] holds a connection test before it reaches the
//! provider.

use futures::StreamExt;
use scopelink_core::async_trait;
use scopelink_core::connector::{CrmSource, PageStream, StreamRequest};
use scopelink_core::filter::{FilterOptions, Preview, SyncFilter};
use scopelink_core::model::{DataType, Record};
use scopelink_core::provider::{FeatureCategory, Provider};
use scopelink_core::ConnectorError;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// One hold point: the operation signals when it reaches it and waits there
/// until released. It holds once; later passes go straight through.
#[derive(Debug, Default)]
pub struct Gate {
    reached: Notify,
    released: Notify,
    used: AtomicBool,
}

impl Gate {
    /// A new, closed gate.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Waits until the operation is held at the gate.
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Lets the held operation go on.
    pub fn release(&self) {
        self.released.notify_one();
    }

    /// Called by the operation: holds it here the first time.
    async fn pass(&self) {
        if !self.used.swap(true, Ordering::SeqCst) {
            self.reached.notify_one();
            self.released.notified().await;
        }
    }
}

/// A [`CrmSource`] that streams `inner`'s pages but holds the stream at its
/// gate before handing over page `before_page` (1-based) of a stream; one
/// past the last page holds it before it reports its end.
pub struct GatedSource<'a> {
    inner: &'a dyn CrmSource,
    before_page: u64,
    gate: Arc<Gate>,
}

impl<'a> GatedSource<'a> {
    /// `inner` held by `gate` before page `before_page` of a stream.
    pub fn new(inner: &'a dyn CrmSource, before_page: u64, gate: Arc<Gate>) -> Self {
        Self {
            inner,
            before_page,
            gate,
        }
    }
}

#[async_trait]
impl CrmSource for GatedSource<'_> {
    fn data_types(&self) -> BTreeSet<DataType> {
        self.inner.data_types()
    }

    async fn filter_options(&self) -> Result<FilterOptions, ConnectorError> {
        self.inner.filter_options().await
    }

    async fn preview(&self, filter: &SyncFilter) -> Result<Preview, ConnectorError> {
        self.inner.preview(filter).await
    }

    fn stream(&self, request: StreamRequest) -> PageStream<'_> {
        let hold = self.before_page;
        let gate = Arc::clone(&self.gate);
        // (inner stream, answers so far): the end counts as an answer.
        futures::stream::unfold(
            (self.inner.stream(request), 0u64),
            move |(mut inner, answers)| {
                let gate = Arc::clone(&gate);
                async move {
                    let item = inner.next().await;
                    let answers = answers + 1;
                    if answers == hold {
                        gate.pass().await;
                    }
                    item.map(|page| (page, (inner, answers)))
                }
            },
        )
        .boxed()
    }

    async fn fetch(
        &self,
        data_type: DataType,
        external_id: &str,
    ) -> Result<Option<Record>, ConnectorError> {
        self.inner.fetch(data_type, external_id).await
    }
}

/// A [`scopelink_core::connector::Connector`] whose connection test is held
/// at its gate before it calls `inner`'s.
pub struct GatedConnector<'a> {
    inner: &'a dyn scopelink_core::connector::Connector,
    gate: Arc<Gate>,
}

impl<'a> GatedConnector<'a> {
    /// `inner`, its test held by `gate`.
    pub fn new(inner: &'a dyn scopelink_core::connector::Connector, gate: Arc<Gate>) -> Self {
        Self { inner, gate }
    }
}

#[async_trait]
impl scopelink_core::connector::Connector for GatedConnector<'_> {
    fn provider(&self) -> Provider {
        self.inner.provider()
    }

    fn capabilities(&self) -> BTreeSet<FeatureCategory> {
        self.inner.capabilities()
    }

    async fn test_connection(&self) -> Result<(), ConnectorError> {
        self.gate.pass().await;
        self.inner.test_connection().await
    }
}
