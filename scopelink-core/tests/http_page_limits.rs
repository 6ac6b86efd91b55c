//! Page walks are bounded: [`paginate_with`] stops at the page limit and on
//! a page that repeats an earlier one (the provider ignores the page asked
//! for), [`paginate`] at the default page limit, and [`collect_pages`] at the
//! item limit. Pages before the stop are yielded; nothing after it is
//! fetched.

use futures::StreamExt;
use scopelink_core::http::{collect_pages, paginate, paginate_with, Page, PageLimits};
use scopelink_core::{ConnectorError, HttpError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const LIMITS: PageLimits = PageLimits {
    max_pages: 5,
    max_collected_items: 7,
};

/// A fetch that answers page `n` with `items(n)` and always names `n + 1`
/// next, counting its calls.
fn endless(
    calls: Arc<AtomicU64>,
    items: fn(u64) -> Vec<u32>,
) -> impl FnMut(Option<String>) -> futures::future::Ready<Result<Page<u32>, HttpError>> {
    move |token| {
        calls.fetch_add(1, Ordering::SeqCst);
        let n: u64 = token.as_deref().unwrap_or("1").parse().unwrap();
        futures::future::ready(Ok(Page {
            items: items(n),
            next: Some((n + 1).to_string()),
        }))
    }
}

#[tokio::test]
async fn a_walk_of_new_pages_stops_at_the_page_limit() {
    let calls = Arc::new(AtomicU64::new(0));
    let pages: Vec<_> = paginate_with(LIMITS, None, endless(calls.clone(), |n| vec![n as u32]))
        .collect()
        .await;
    assert_eq!(pages.len(), 6);
    for (i, page) in pages[..5].iter().enumerate() {
        assert_eq!(page.as_ref().unwrap().items, vec![i as u32 + 1]);
    }
    assert!(matches!(
        pages[5],
        Err(HttpError::TooManyPages { limit: 5 })
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 5, "page 6 was never fetched");
}

#[tokio::test]
async fn a_page_that_repeats_the_one_before_ends_the_walk_unyielded() {
    let calls = Arc::new(AtomicU64::new(0));
    let pages: Vec<_> = paginate_with(LIMITS, None, endless(calls.clone(), |_| vec![1, 2, 3]))
        .collect()
        .await;
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].as_ref().unwrap().items, vec![1, 2, 3]);
    let err = pages[1].as_ref().unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::DuplicatePage {
                page: 2,
                same_as: 1
            }
        ),
        "{err:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_cycle_of_pages_is_caught_too() {
    // A, B, A, ...: the third page repeats the first.
    let calls = Arc::new(AtomicU64::new(0));
    let pages: Vec<Result<Page<u32>, ConnectorError>> = paginate_with(LIMITS, None, {
        let calls = calls.clone();
        move |token: Option<String>| {
            calls.fetch_add(1, Ordering::SeqCst);
            let n: u32 = token.as_deref().unwrap_or("1").parse().unwrap();
            async move {
                Ok(Page {
                    items: vec![n % 2],
                    next: Some((n + 1).to_string()),
                })
            }
        }
    })
    .collect()
    .await;
    assert_eq!(pages.len(), 3);
    assert!(matches!(
        pages[2],
        Err(ConnectorError::Http(HttpError::DuplicatePage {
            page: 3,
            same_as: 1
        }))
    ));
}

#[tokio::test]
async fn empty_pages_and_a_normal_last_page_are_not_repeats() {
    // Two empty pages in a row (a provider that pages past filtered-out
    // records) then a last page.
    let pages: Vec<_> = paginate_with(LIMITS, None, |token: Option<String>| {
        let n: u32 = token.as_deref().unwrap_or("1").parse().unwrap();
        async move {
            Ok::<_, HttpError>(Page {
                items: if n == 3 { vec![9] } else { Vec::new() },
                next: (n < 3).then(|| (n + 1).to_string()),
            })
        }
    })
    .collect()
    .await;
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(Result::is_ok));
}

#[tokio::test]
async fn paginate_stops_at_the_default_page_limit() {
    let calls = Arc::new(AtomicU64::new(0));
    let mut pages = paginate(None, endless(calls.clone(), |n| vec![n as u32]));
    let mut read = 0u64;
    let err = loop {
        match pages.next().await.expect("the walk ends with an error") {
            Ok(_) => read += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(read, PageLimits::DEFAULT.max_pages);
    assert!(
        matches!(err, HttpError::TooManyPages { limit } if limit == PageLimits::DEFAULT.max_pages)
    );
    assert!(pages.next().await.is_none());
    assert_eq!(calls.load(Ordering::SeqCst), PageLimits::DEFAULT.max_pages);
}

#[tokio::test]
async fn collect_pages_stops_at_the_item_limit() {
    let calls = Arc::new(AtomicU64::new(0));
    let pages = paginate_with(
        PageLimits {
            max_pages: 1_000,
            ..LIMITS
        },
        None,
        endless(calls.clone(), |n| {
            vec![n as u32; 3]
                .into_iter()
                .enumerate()
                .map(|(i, v)| v * 10 + i as u32)
                .collect()
        }),
    );
    let err = collect_pages(pages, LIMITS).await.unwrap_err();
    assert!(
        matches!(err, HttpError::TooManyItems { limit: 7 }),
        "{err:?}"
    );
    // 3 pages of 3 pass 7 items; no fourth page is fetched.
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // Within the limit: every item, in order.
    let few = paginate_with(LIMITS, None, |token: Option<String>| {
        let n: u32 = token.as_deref().unwrap_or("1").parse().unwrap();
        async move {
            Ok::<_, HttpError>(Page {
                items: vec![n, n + 10],
                next: (n < 3).then(|| (n + 1).to_string()),
            })
        }
    });
    assert_eq!(
        collect_pages(few, LIMITS).await.unwrap(),
        vec![1, 11, 2, 12, 3, 13]
    );
}
