//! The ordered concurrent fetch of a list paged by page number: up to the
//! adaptive window's size of page requests in flight, pages yielded strictly
//! in page order.

use crate::concurrency::AdaptiveWindow;
use crate::connector::{PageStream, RecordPage};
use crate::error::{ConnectorError, HttpError};
use crate::http::{fingerprint, read_ahead, Page, PageLimits};
use futures::future::BoxFuture;
use futures::stream::{FuturesOrdered, StreamExt};
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// One page of a list paged by page number, as a connector's fetch reads
/// it: the page (its items and the token of the next page, `None` on the
/// last) and the number of the list's last page where the reply says it
/// (HaloPSA's `record_count`, ConnectWise's `Link: <...>; rel="last"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedPage<T> {
    /// The page.
    pub page: Page<T>,
    /// The number of the list's last page, if the reply tells it.
    pub last_page: Option<u32>,
}

/// What a page's task hands back: the converted page, the fingerprint of
/// its raw items (`None` when it had none), the last page it reported and
/// how long its request took.
struct Fetched {
    page: RecordPage,
    print: Option<u64>,
    last_page: Option<u32>,
    latency: Duration,
}

type Task = BoxFuture<'static, Result<Fetched, ConnectorError>>;

/// A spawned page task, aborted when dropped (a stream dropped mid-run
/// leaves no request behind).
struct Spawned(tokio::task::JoinHandle<Result<Fetched, ConnectorError>>);

impl Future for Spawned {
    type Output = Result<Fetched, ConnectorError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|joined| match joined {
            Ok(out) => out,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(ConnectorError::Http(HttpError::Client {
                reason: "a page request was cancelled".into(),
            })),
        })
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where the walk stands.
struct Walk<F> {
    fetch: F,
    window: AdaptiveWindow,
    throttle: Box<dyn Fn() -> u64 + Send>,
    limits: PageLimits,
    /// The first page of the walk.
    first: u32,
    /// The next page number to request.
    next_to_send: u32,
    /// The page number of the next page to yield.
    next_to_yield: u32,
    /// The last page, as the latest reply said.
    last_page: Option<u32>,
    in_flight: FuturesOrdered<Task>,
    /// Fingerprints of the pages yielded, with their place in the walk.
    seen: HashMap<u64, u64>,
    /// Pages yielded.
    read: u64,
    /// An error to yield next (then the end).
    pending: Option<ConnectorError>,
    done: bool,
}

impl<F> Walk<F> {
    /// Whether page `n` may be requested now: the next page to yield (its
    /// predecessor said it exists), or one the latest reply counts, within
    /// the walk's page limit.
    fn may_send(&self, n: u32) -> bool {
        let within_limit = u64::from(n - self.first) < self.limits.max_pages.max(1);
        let known = n == self.next_to_yield || self.last_page.is_some_and(|last| n <= last);
        within_limit && known
    }
}

/// Builds the record stream of a list paged by page number, fetching up to
/// `window`'s size of pages at once and yielding them strictly in page
/// order, from page `first`.
///
/// `fetch(n)` reads page `n` (its `next` is the checkpoint token the
/// engine stores after committing it, as with [`super::record_stream`]);
/// `convert` turns a page's items into a [`RecordPage`] and runs beside its
/// fetch, on the page's own task. `throttle` counts the connection's 429
/// answers so far ([`crate::http::HttpClient::throttle_replies`]).
///
/// Only the first page is requested alone; once a reply tells the last page
/// (`last_page`), the pages up to it are requested as the window allows,
/// each as soon as one before it answers. A page whose `next` is `None`
/// ends the list: pages after it still in flight are dropped unread, as
/// are those after a failed page (the stream yields the error, then ends).
/// Without a known last page the walk goes one page at a time. Memory is
/// bounded by the window's largest size in pages, plus two the consumer's
/// side holds ([`read_ahead`]).
///
/// The walk is bounded by `limits` as [`crate::http::paginate_with`]'s is:
/// at most `max_pages` pages, and a page that repeats an earlier one (or
/// names itself as next) ends it with an error. The window adapts as
/// [`AdaptiveWindow`] says and never exceeds its limit's `max`. Dropping
/// the stream aborts every request in flight.
pub fn numbered_record_stream<T, F, Fut, C>(
    limits: PageLimits,
    window: AdaptiveWindow,
    first: u32,
    throttle: impl Fn() -> u64 + Send + 'static,
    mut fetch: F,
    convert: C,
) -> PageStream<'static>
where
    T: Hash + Send + 'static,
    F: FnMut(u32) -> Fut + Send + 'static,
    Fut: Future<Output = Result<NumberedPage<T>, ConnectorError>> + Send + 'static,
    C: Fn(Page<T>) -> Result<RecordPage, ConnectorError> + Clone + Send + Sync + 'static,
{
    let first = first.max(1);
    let walk = Walk {
        fetch: move |n: u32| -> Task {
            let convert = convert.clone();
            let job = fetch(n);
            Box::pin(async move {
                let started = Instant::now();
                let numbered = job.await?;
                let latency = started.elapsed();
                let print =
                    (!numbered.page.items.is_empty()).then(|| fingerprint(&numbered.page.items));
                let page = convert(numbered.page)?;
                Ok(Fetched {
                    page,
                    print,
                    last_page: numbered.last_page,
                    latency,
                })
            })
        },
        window,
        throttle: Box::new(throttle),
        limits,
        first,
        next_to_send: first,
        next_to_yield: first,
        last_page: None,
        in_flight: FuturesOrdered::new(),
        seen: HashMap::new(),
        read: 0,
        pending: None,
        done: false,
    };
    let runtime = tokio::runtime::Handle::try_current().ok();
    let pages = futures::stream::unfold(walk, move |mut walk| {
        let runtime = runtime.clone();
        async move {
            if let Some(e) = walk.pending.take() {
                walk.done = true;
                walk.in_flight = FuturesOrdered::new();
                return Some((Err(e), walk));
            }
            if walk.done {
                return None;
            }
            let size = walk.window.size() as usize;
            while walk.in_flight.len() < size && walk.may_send(walk.next_to_send) {
                let task = (walk.fetch)(walk.next_to_send);
                let task: Task = match &runtime {
                    // The task runs in the span of whoever polls the stream
                    // (the sync's data-type span), so its request spans nest there.
                    Some(rt) => Box::pin(Spawned(
                        rt.spawn(tracing::Instrument::in_current_span(task)),
                    )),
                    None => task,
                };
                walk.in_flight.push_back(task);
                walk.next_to_send += 1;
            }
            let fetched = match walk.in_flight.next().await? {
                Ok(fetched) => fetched,
                Err(e) => {
                    walk.done = true;
                    walk.in_flight = FuturesOrdered::new();
                    return Some((Err(e), walk));
                }
            };
            walk.window.answered(fetched.latency, (walk.throttle)());
            walk.read += 1;
            let number = walk.next_to_yield;
            if let Some(print) = fetched.print {
                if let Some(&same_as) = walk.seen.get(&print) {
                    walk.done = true;
                    walk.in_flight = FuturesOrdered::new();
                    let e = HttpError::DuplicatePage {
                        page: walk.read,
                        same_as,
                    };
                    return Some((Err(e.into()), walk));
                }
                walk.seen.insert(print, walk.read);
            }
            if fetched.last_page.is_some() {
                walk.last_page = fetched.last_page;
            }
            let page = fetched.page;
            match &page.next {
                None => {
                    walk.done = true;
                    walk.in_flight = FuturesOrdered::new();
                }
                Some(next) if next.trim() == number.to_string() => {
                    walk.pending = Some(HttpError::RepeatedPage { page: walk.read }.into());
                }
                Some(_) if walk.read >= walk.limits.max_pages.max(1) => {
                    walk.pending = Some(
                        HttpError::TooManyPages {
                            limit: walk.limits.max_pages.max(1),
                        }
                        .into(),
                    );
                }
                Some(_) => walk.next_to_yield = number.saturating_add(1),
            }
            Some((Ok(page), walk))
        }
    })
    .fuse()
    .boxed();
    read_ahead(pages, 1)
}
