//! The wiremock plumbing: one catch-all mock whose responder locks the
//! simulator's state, lets it answer, and keeps the log and the counters.

use super::{FaultQueue, Load, RequestLog};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// What every simulator keeps besides its data: injected faults, the
/// request log and the time spent answering.
#[derive(Debug, Default)]
pub(crate) struct SimLayer {
    /// Failures to inject.
    pub(crate) faults: FaultQueue,
    /// Every request received.
    pub(crate) log: RequestLog,
    /// Latency and the cap on requests in flight.
    pub(crate) load: Load,
    /// Time spent answering (routing, filtering and rendering; injected
    /// latency excluded).
    pub(crate) busy: Duration,
}

/// A simulator's state: answers one request at a time.
pub(crate) trait Simulate: Send + 'static {
    /// The answer to `req`: its status and the response.
    fn answer(&mut self, req: &Request) -> (u16, ResponseTemplate);
    /// The shared layer this state holds.
    fn layer(&mut self) -> &mut SimLayer;
    /// The provider's answer to `req` when the cap on requests in flight is
    /// reached (its 429), or `None` when `req` is not subject to the cap.
    fn over_limit(&mut self, _req: &Request) -> Option<ResponseTemplate> {
        Some(ResponseTemplate::new(429))
    }
}

/// Locks a simulator's state, also after a panic elsewhere.
pub(crate) fn lock<S>(state: &Mutex<S>) -> MutexGuard<'_, S> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Responder<S> {
    state: Arc<Mutex<S>>,
}

impl<S: Simulate> Respond for Responder<S> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let started = Instant::now();
        let mut st = lock(&self.state);
        if st.layer().load.full(started) {
            if let Some(refusal) = st.over_limit(request) {
                let layer = st.layer();
                layer.load.refused();
                layer.log.record(request, 429);
                layer.busy += started.elapsed();
                return refusal;
            }
        }
        st.layer().load.begin();
        let (status, mut template) = st.answer(request);
        let layer = st.layer();
        if let Some(delay) = layer.load.admit(started) {
            template = template.set_delay(delay);
        }
        layer.log.record(request, status);
        layer.busy += started.elapsed();
        template
    }
}

/// Mounts `state` on `server` as the answer to every request.
pub(crate) async fn mount<S: Simulate>(server: &MockServer, state: &Arc<Mutex<S>>) {
    Mock::given(any())
        .respond_with(Responder {
            state: state.clone(),
        })
        .mount(server)
        .await;
}
