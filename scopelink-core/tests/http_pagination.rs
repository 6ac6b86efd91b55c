//! `paginate` over the three pagination styles providers use (page number,
//! `Link: rel="next"`, cursor in the body), against wiremock, and its
//! stopping rules.

use futures::StreamExt;
use scopelink_core::error::ConnectorError;
use scopelink_core::http::{
    paginate, AddressPolicy, HttpClient, HttpConfig, Method, Page, Request, RetryPolicy,
};
use scopelink_core::HttpError;
use serde::Deserialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use url::Url;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client() -> HttpClient {
    HttpClient::new(
        HttpConfig::default()
            .with_timeout(Duration::from_secs(10))
            .with_retry(RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(100),
            })
            .with_addresses(AddressPolicy::allow_local()),
    )
    .unwrap()
}

/// Drains a page stream into its items, failing on the first error.
async fn collect<T>(
    mut pages: futures::stream::BoxStream<'_, Result<Page<T>, HttpError>>,
) -> Vec<T> {
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        items.extend(page.unwrap().items);
    }
    items
}

async fn requests_to(server: &MockServer, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

#[derive(Deserialize)]
struct Numbered {
    items: Vec<u32>,
    total_pages: u32,
}

#[tokio::test]
async fn page_number_pagination() {
    let server = MockServer::start().await;
    for (page, items) in [(1, vec![1, 2]), (2, vec![3, 4]), (3, vec![5])] {
        Mock::given(method("GET"))
            .and(path("/companies"))
            .and(query_param("page", page.to_string()))
            .and(query_param("pageSize", "2"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"items": items, "total_pages": 3})),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let http = client();
    let base = Url::parse(&format!("{}/companies", server.uri())).unwrap();
    let pages = paginate(None, |token: Option<String>| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let page: u32 = token.as_deref().unwrap_or("1").parse().unwrap_or(1);
            let resp = http
                .send(
                    Request::new(Method::GET, base)
                        .query(&[("page", page.to_string().as_str()), ("pageSize", "2")]),
                )
                .await?;
            let body: Numbered = resp.json()?;
            Ok(Page {
                items: body.items,
                next: (page < body.total_pages).then(|| (page + 1).to_string()),
            })
        }
    });
    assert_eq!(collect(pages).await, vec![1, 2, 3, 4, 5]);
    assert_eq!(requests_to(&server, "/companies").await, 3);
    assert_eq!(http.requests_sent(), 3);
}

#[tokio::test]
async fn next_link_pagination() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(path("/contacts"))
        .and(query_param_is_missing("page"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "Link",
                    format!(r#"<{uri}/contacts?page=2>; rel="next", <{uri}/contacts?page=3>; rel="last""#)
                        .as_str(),
                )
                .set_body_json(serde_json::json!(["a", "b"])),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/contacts"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                // Relative, unquoted, after another link.
                .insert_header(
                    "Link",
                    r#"</contacts?page=1>; rel=prev, </contacts?page=3>; rel=next"#,
                )
                .set_body_json(serde_json::json!(["c", "d"])),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/contacts"))
        .and(query_param("page", "3"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Link", r#"</contacts?page=2>; rel="prev""#)
                .set_body_json(serde_json::json!(["e"])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let http = client();
    let first = format!("{uri}/contacts");
    let pages = paginate(Some(first), |token: Option<String>| {
        let http = http.clone();
        async move {
            let target = token.unwrap_or_default();
            let url = Url::parse(&target).map_err(|e| HttpError::InvalidUrl {
                input: target.clone(),
                reason: e.to_string(),
            })?;
            let resp = http.send(Request::new(Method::GET, url)).await?;
            Ok(Page {
                items: resp.json::<Vec<String>>()?,
                next: resp.next_link().map(String::from),
            })
        }
    });
    assert_eq!(collect(pages).await, vec!["a", "b", "c", "d", "e"]);
    assert_eq!(requests_to(&server, "/contacts").await, 3);
}

#[derive(Deserialize)]
struct Cursored {
    data: Vec<String>,
    next_cursor: Option<String>,
}

#[tokio::test]
async fn cursor_pagination() {
    let server = MockServer::start().await;
    Mock::given(path("/deals"))
        .and(query_param_is_missing("cursor"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"data": ["d1", "d2"], "next_cursor": "c2=="})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/deals"))
        .and(query_param("cursor", "c2=="))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"data": ["d3"], "next_cursor": "c3 &x"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/deals"))
        .and(query_param("cursor", "c3 &x"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"data": ["d4", "d5"], "next_cursor": null})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let http = client();
    let base = Url::parse(&format!("{}/deals", server.uri())).unwrap();
    let pages = paginate(None, |cursor: Option<String>| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let mut req = Request::new(Method::GET, base);
            if let Some(cursor) = &cursor {
                req = req.query(&[("cursor", cursor.as_str())]);
            }
            let body: Cursored = http.send(req).await?.json()?;
            Ok(Page {
                items: body.data,
                next: body.next_cursor,
            })
        }
    });
    assert_eq!(collect(pages).await, vec!["d1", "d2", "d3", "d4", "d5"]);
    assert_eq!(requests_to(&server, "/deals").await, 3);
}

#[tokio::test]
async fn pagination_stops_after_the_first_error() {
    let server = MockServer::start().await;
    Mock::given(path("/p"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([1])))
        .mount(&server)
        .await;
    Mock::given(path("/p"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"message": "bad page"})),
        )
        .mount(&server)
        .await;
    let http = client();
    let base = Url::parse(&format!("{}/p", server.uri())).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut pages = paginate(None, |token: Option<String>| {
        let http = http.clone();
        let base = base.clone();
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let page = token.unwrap_or_else(|| "1".into());
            let resp = http
                .send(Request::new(Method::GET, base).query(&[("page", page.as_str())]))
                .await?;
            let next: u32 = page.parse().unwrap_or(1) + 1;
            // Always claims there is a next page.
            Ok::<_, HttpError>(Page {
                items: resp.json::<Vec<u32>>()?,
                next: Some(next.to_string()),
            })
        }
    });
    assert_eq!(pages.next().await.unwrap().unwrap().items, vec![1]);
    let err = pages.next().await.unwrap().unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("bad page"), "{err}");
    assert!(pages.next().await.is_none());
    assert!(pages.next().await.is_none());
    drop(pages);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(requests_to(&server, "/p").await, 2);
}

#[tokio::test]
async fn paginate_starts_at_the_given_token_and_ends_on_a_last_page() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let pages: Vec<Result<Page<u8>, HttpError>> = paginate(Some("resume-7".into()), move |token| {
        log.lock().unwrap().push(token.clone());
        async move {
            Ok(Page {
                items: vec![7],
                next: None,
            })
        }
    })
    .collect()
    .await;
    assert_eq!(pages.len(), 1);
    assert_eq!(*seen.lock().unwrap(), vec![Some("resume-7".to_string())]);

    // A first page that is also the last, empty.
    let pages: Vec<Result<Page<u8>, HttpError>> = paginate(None, |_| async {
        Ok(Page {
            items: vec![],
            next: None,
        })
    })
    .collect()
    .await;
    assert_eq!(pages.len(), 1);
    assert_eq!(
        pages[0].as_ref().unwrap(),
        &Page {
            items: vec![],
            next: None
        }
    );
}

#[tokio::test]
async fn a_next_token_naming_the_page_just_read_ends_with_a_typed_error() {
    // Page 1 says page 2 is next; page 2 says page 2 is next, forever.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let mut pages = paginate(None, move |token: Option<String>| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let n: u8 = token.as_deref().unwrap_or("1").parse().unwrap();
            Ok::<_, HttpError>(Page {
                items: vec![n],
                next: Some("2".to_string()),
            })
        }
    });
    assert_eq!(pages.next().await.unwrap().unwrap().items, [1]);
    assert_eq!(pages.next().await.unwrap().unwrap().items, [2]);
    let err = pages.next().await.unwrap().unwrap_err();
    assert!(
        matches!(err, HttpError::RepeatedPage { page: 2 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("after page 2"), "{err}");
    assert!(pages.next().await.is_none());
    assert!(pages.next().await.is_none());
    assert_eq!(calls.load(Ordering::SeqCst), 2, "page 2 was read once");

    // The same through a connector's error type.
    let pages: Vec<Result<Page<u8>, ConnectorError>> = paginate(Some("7".into()), |_| async {
        Ok(Page {
            items: vec![7],
            next: Some("7".to_string()),
        })
    })
    .collect()
    .await;
    assert_eq!(pages.len(), 2);
    assert!(matches!(
        pages[1],
        Err(ConnectorError::Http(HttpError::RepeatedPage { page: 1 }))
    ));
}

mod read_ahead {
    use futures::stream::{self, StreamExt};
    use scopelink_core::http::read_ahead;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn yields_every_item_in_order() {
        let items: Vec<u32> = read_ahead(stream::iter(0..100u32).boxed(), 1)
            .collect()
            .await;
        assert_eq!(items, (0..100).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn works_on_a_current_thread_runtime() {
        let items: Vec<u32> = read_ahead(stream::iter([1u32, 2, 3]).boxed(), 1)
            .collect()
            .await;
        assert_eq!(items, [1, 2, 3]);
    }

    #[test]
    fn outside_a_runtime_the_stream_is_used_as_is() {
        let items: Vec<u32> =
            futures::executor::block_on(read_ahead(stream::iter([7u32]).boxed(), 1).collect());
        assert_eq!(items, [7]);
    }

    /// Signals when dropped (the producer's stream went away).
    struct Dropped(Arc<tokio::sync::Notify>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.notify_one();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_consumer_stops_the_producer() {
        let dropped = Arc::new(tokio::sync::Notify::new());
        let guard = Dropped(dropped.clone());
        // One item, then a page that never comes (a hung request).
        let source = stream::iter([1u32])
            .chain(stream::once(async move {
                let _guard = guard;
                futures::future::pending::<u32>().await
            }))
            .boxed();
        let mut ahead = read_ahead(source, 1);
        assert_eq!(ahead.next().await, Some(1));
        drop(ahead);
        // The abort runs on the runtime; allow it ample time on a busy
        // machine (the wait ends as soon as the fetch is dropped).
        let stopped = tokio::time::timeout(Duration::from_secs(10), dropped.notified()).await;
        assert!(
            stopped.is_ok(),
            "the hung fetch was dropped with its consumer"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_in_the_producer_reaches_the_consumer_instead_of_a_silent_end() {
        let source = stream::iter([Some(1u32), None])
            .map(|item| item.expect("the producer panics on the second item"))
            .boxed();
        let consumer = tokio::spawn(async move { read_ahead(source, 1).collect::<Vec<_>>().await });
        let outcome = consumer.await;
        assert!(
            outcome.as_ref().is_err_and(|e| e.is_panic()),
            "the stream must not just end after item 1: {outcome:?}"
        );
    }
}

mod stop_after_error {
    use futures::stream::{self, StreamExt};
    use scopelink_core::http::stop_after_error;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn yields_the_first_error_and_pulls_nothing_after_it() {
        let pulled = AtomicU32::new(0);
        let source = stream::iter([Ok(1u32), Ok(2), Err("bad page"), Ok(4), Err("later")])
            .inspect(|_| {
                pulled.fetch_add(1, Ordering::SeqCst);
            })
            .boxed();
        let items: Vec<Result<u32, &str>> = stop_after_error(source).collect().await;
        assert_eq!(items, [Ok(1), Ok(2), Err("bad page")]);
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            3,
            "nothing pulled past the error"
        );
    }

    #[tokio::test]
    async fn a_stream_without_errors_passes_whole_and_stays_ended() {
        let mut s = stop_after_error(stream::iter([Ok::<u32, ()>(1), Ok(2)]).boxed());
        assert_eq!(s.next().await, Some(Ok(1)));
        assert_eq!(s.next().await, Some(Ok(2)));
        assert_eq!(s.next().await, None);
        assert_eq!(s.next().await, None);
    }
}
