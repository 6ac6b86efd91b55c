//! The ordered concurrent page fetch (`pages::numbered_record_stream`):
//! several pages in flight, yielded strictly in page order, never more in
//! flight than the window allows; the first error or the last page ends
//! it; without a known last page, and for cursor lists
//! (`pages::record_stream`), one request at a time.

use futures::StreamExt;
use scopelink_core::concurrency::{AdaptiveWindow, ConcurrencyLimit};
use scopelink_core::connector::RecordPage;
use scopelink_core::error::{ConnectorError, HttpError};
use scopelink_core::http::{Page, PageLimits};
use scopelink_core::pages::{numbered_record_stream, record_stream, NumberedPage};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Requests in flight now and at most, and every page number asked for.
#[derive(Default)]
struct Probe {
    now: AtomicU64,
    max: AtomicU64,
    asked: Mutex<Vec<u32>>,
}

impl Probe {
    fn enter(&self, n: u32) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        self.asked.lock().unwrap().push(n);
    }
    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
    fn max(&self) -> u64 {
        self.max.load(Ordering::SeqCst)
    }
    fn asked(&self) -> Vec<u32> {
        let mut asked = self.asked.lock().unwrap().clone();
        asked.sort_unstable();
        asked
    }
}

/// A list of `pages` pages of one item each (the page's number); later
/// pages answer sooner, so they finish out of order. `last_page` is what
/// each reply says about the list's end; `fail_at` fails that page.
fn list(
    probe: Arc<Probe>,
    pages: u32,
    last_page: Option<u32>,
    fail_at: Option<u32>,
) -> impl FnMut(u32) -> futures::future::BoxFuture<'static, Result<NumberedPage<u32>, ConnectorError>>
       + Send
       + 'static {
    move |n: u32| {
        let probe = probe.clone();
        Box::pin(async move {
            probe.enter(n);
            let wait = 5 + 3 * u64::from(pages.saturating_sub(n) % 7);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            probe.leave();
            if fail_at == Some(n) {
                return Err(ConnectorError::Http(HttpError::Client {
                    reason: format!("page {n} failed"),
                }));
            }
            Ok(NumberedPage {
                page: Page {
                    items: vec![n],
                    next: (n < pages).then(|| (n + 1).to_string()),
                },
                last_page,
            })
        })
    }
}

fn convert(page: Page<u32>) -> Result<RecordPage, ConnectorError> {
    // The page's number rides in its rejected list's reason, to read the
    // yield order back.
    Ok(RecordPage {
        records: Vec::new(),
        rejected: page
            .items
            .iter()
            .map(|n| scopelink_core::Rejected::new(Some(n.to_string()), format!("page {n}")))
            .collect(),
        next: page.next,
    })
}

fn page_of(page: &RecordPage) -> u32 {
    page.rejected[0].id.as_deref().unwrap().parse().unwrap()
}

const LIMITS: PageLimits = PageLimits::DEFAULT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_come_in_page_order_with_several_in_flight() {
    let probe = Arc::new(Probe::default());
    let window = AdaptiveWindow::new(ConcurrencyLimit::new(4, 2)).growing_at(Duration::ZERO);
    let stream = numbered_record_stream(
        LIMITS,
        window.clone(),
        1,
        || 0,
        list(probe.clone(), 20, Some(20), None),
        convert,
    );
    let pages: Vec<RecordPage> = stream.map(Result::unwrap).collect().await;
    let order: Vec<u32> = pages.iter().map(page_of).collect();
    assert_eq!(order, (1..=20).collect::<Vec<_>>());
    let tokens: Vec<Option<String>> = pages.iter().map(|p| p.next.clone()).collect();
    let expected: Vec<Option<String>> = (2..=20)
        .map(|n| Some(n.to_string()))
        .chain([None])
        .collect();
    assert_eq!(tokens, expected, "each page's checkpoint is its own next");
    assert_eq!(
        probe.asked(),
        (1..=20).collect::<Vec<_>>(),
        "each page once"
    );
    assert!(probe.max() > 1, "pages overlapped: {}", probe.max());
    assert!(probe.max() <= 4, "never above the max: {}", probe.max());
    assert_eq!(window.size(), 4, "clean windows grew it to the max");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_walk_starts_at_its_page_and_asks_for_none_before() {
    let probe = Arc::new(Probe::default());
    let window = AdaptiveWindow::new(ConcurrencyLimit::new(4, 4)).growing_at(Duration::ZERO);
    let stream = numbered_record_stream(
        LIMITS,
        window,
        7,
        || 0,
        list(probe.clone(), 12, Some(12), None),
        convert,
    );
    let order: Vec<u32> = stream.map(|p| page_of(&p.unwrap())).collect().await;
    assert_eq!(order, (7..=12).collect::<Vec<_>>());
    assert_eq!(probe.asked(), (7..=12).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_page_ends_the_stream_after_the_pages_before_it() {
    let probe = Arc::new(Probe::default());
    let window = AdaptiveWindow::new(ConcurrencyLimit::new(4, 4)).growing_at(Duration::ZERO);
    let stream = numbered_record_stream(
        LIMITS,
        window,
        1,
        || 0,
        list(probe.clone(), 20, Some(20), Some(5)),
        convert,
    );
    let items: Vec<Result<RecordPage, ConnectorError>> = stream.collect().await;
    assert_eq!(items.len(), 5, "four pages, then the error, then the end");
    let order: Vec<u32> = items[..4]
        .iter()
        .map(|p| page_of(p.as_ref().unwrap()))
        .collect();
    assert_eq!(order, [1, 2, 3, 4]);
    assert!(
        matches!(&items[4], Err(ConnectorError::Http(HttpError::Client { reason })) if reason == "page 5 failed"),
        "{:?}",
        items[4].as_ref().err()
    );
    // Nothing past the window was asked for.
    assert!(
        probe.asked().iter().all(|n| *n <= 5 + 4),
        "{:?}",
        probe.asked()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_without_a_next_ends_the_list_whatever_the_count_said() {
    let probe = Arc::new(Probe::default());
    let window = AdaptiveWindow::new(ConcurrencyLimit::new(4, 4)).growing_at(Duration::ZERO);
    // The count says 10 pages; the list has shrunk to 3.
    let stream = numbered_record_stream(
        LIMITS,
        window,
        1,
        || 0,
        list(probe.clone(), 3, Some(10), None),
        convert,
    );
    let pages: Vec<RecordPage> = stream.map(Result::unwrap).collect().await;
    assert_eq!(pages.iter().map(page_of).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(pages.last().unwrap().next, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_known_last_page_one_request_at_a_time() {
    let probe = Arc::new(Probe::default());
    let window = AdaptiveWindow::new(ConcurrencyLimit::new(6, 6)).growing_at(Duration::ZERO);
    let stream = numbered_record_stream(
        LIMITS,
        window,
        1,
        || 0,
        list(probe.clone(), 8, None, None),
        convert,
    );
    let pages: Vec<RecordPage> = stream.map(Result::unwrap).collect().await;
    assert_eq!(pages.len(), 8);
    assert_eq!(probe.max(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_limit_holds_with_pages_in_flight() {
    let probe = Arc::new(Probe::default());
    let window = AdaptiveWindow::new(ConcurrencyLimit::new(4, 4)).growing_at(Duration::ZERO);
    let limits = PageLimits {
        max_pages: 5,
        ..PageLimits::DEFAULT
    };
    let stream = numbered_record_stream(
        limits,
        window,
        1,
        || 0,
        list(probe.clone(), 20, Some(20), None),
        convert,
    );
    let items: Vec<Result<RecordPage, ConnectorError>> = stream.collect().await;
    assert_eq!(items.len(), 6);
    assert!(matches!(
        items[5],
        Err(ConnectorError::Http(HttpError::TooManyPages { limit: 5 }))
    ));
    assert!(probe.asked().iter().all(|n| *n <= 5), "{:?}", probe.asked());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_replies_shrink_the_window_and_it_never_exceeds_the_max() {
    let probe = Arc::new(Probe::default());
    let window = AdaptiveWindow::new(ConcurrencyLimit::new(5, 5));
    // Every page answered after page 4 brings a new 429 (as if retried).
    let throttled = Arc::new(AtomicU64::new(0));
    let count = throttled.clone();
    let inner = list(probe.clone(), 30, Some(30), None);
    let fetch = {
        let mut inner = inner;
        move |n: u32| {
            if n > 4 {
                count.fetch_add(1, Ordering::SeqCst);
            }
            inner(n)
        }
    };
    let signal = throttled.clone();
    let stream = numbered_record_stream(
        LIMITS,
        window.clone(),
        1,
        move || signal.load(Ordering::SeqCst),
        fetch,
        convert,
    );
    let order: Vec<u32> = stream.map(|p| page_of(&p.unwrap())).collect().await;
    assert_eq!(order, (1..=30).collect::<Vec<_>>());
    let stats = window.stats();
    assert!(stats.throttle_decreases >= 2, "{stats:?}");
    assert_eq!(window.size(), 1, "halved down to one: {stats:?}");
    assert!(probe.max() <= 5, "{}", probe.max());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_lists_keep_one_request_in_flight() {
    let probe = Arc::new(Probe::default());
    let fetcher = probe.clone();
    let stream = record_stream(
        LIMITS,
        None,
        move |token: Option<String>| {
            let probe = fetcher.clone();
            async move {
                let n: u32 = token
                    .as_deref()
                    .map_or(1, |t| t.trim_start_matches("cursor-").parse().unwrap());
                probe.enter(n);
                tokio::time::sleep(Duration::from_millis(3)).await;
                probe.leave();
                Ok::<_, ConnectorError>(Page {
                    items: vec![n],
                    next: (n < 12).then(|| format!("cursor-{}", n + 1)),
                })
            }
        },
        |page: Page<u32>| convert(page),
    );
    let pages: Vec<RecordPage> = stream.map(Result::unwrap).collect().await;
    assert_eq!(
        pages.iter().map(page_of).collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>()
    );
    assert_eq!(probe.max(), 1);
}
