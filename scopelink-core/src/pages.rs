//! The rails every connector's list reads run on: one record-stream builder
//! (fetch a page, convert it to a [`RecordPage`], pipelined on two tasks)
//! and one collect-all, for page-number, cursor and next-URL paging alike;
//! plus the reading of page tokens and the one check that a next URL stays
//! on the API's own origin.
//!
//! A page token is what [`Page::next`] holds and what a sync checkpoints:
//! a page number (`"3"`), a cursor, or a next URL. The fetch function reads
//! it (with [`page_number`] / [`PageToken::read`]) and answers with the page's
//! items and the next token.
//!
//! Lists paged by page number whose replies tell the last page can be read
//! with several requests in flight, yielded in page order
//! ([`numbered_record_stream`], under a
//! [`crate::concurrency::AdaptiveWindow`]); the others keep one request in
//! flight ([`record_stream`]).

mod numbered;

pub use numbered::{numbered_record_stream, NumberedPage};

use crate::connector::{PageStream, RecordPage};
use crate::error::ConnectorError;
use crate::http::{paginate_with, read_ahead, stop_after_error, Page, PageLimits};
use futures::stream::StreamExt;
use std::future::Future;
use std::hash::Hash;
use url::Url;

/// Builds the record stream of a list: `fetch` reads the page at a token
/// (`start` first, `None` for the list's first page) and returns its items
/// and the next token; `convert` turns a page's items into a
/// [`RecordPage`] (whose `next` is the page's).
///
/// The walk is bounded by `limits` (page limit, repeated and duplicate
/// pages refused, see [`paginate_with`]). Pages are fetched on one task, one
/// page ahead of a second task that converts them, one page ahead of the
/// consumer (see [`read_ahead`]): the next request goes out while a page is
/// converted and the one before it is stored. At most three pages are
/// fetched past the one the consumer holds. The stream ends after its
/// first error: nothing past a failed page is fetched or converted, and
/// dropping the stream aborts both tasks.
pub fn record_stream<T, F, Fut, C>(
    limits: PageLimits,
    start: Option<String>,
    fetch: F,
    mut convert: C,
) -> PageStream<'static>
where
    T: Hash + Send + 'static,
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page<T>, ConnectorError>> + Send + 'static,
    C: FnMut(Page<T>) -> Result<RecordPage, ConnectorError> + Send + 'static,
{
    let raw = paginate_with(limits, start, fetch);
    let pages = read_ahead(raw, 1).map(move |page| page.and_then(&mut convert));
    read_ahead(stop_after_error(pages.boxed()), 1)
}

/// Every item of a list, gathered in memory, for lists that are small in
/// any real account (filter choices, the push form's lookups): `fetch`
/// reads the page at a token as for [`record_stream`], `decode` turns a
/// page's raw items into items. Bounded by `limits` (pages, and
/// `max_collected_items` items: more fail with
/// [`crate::error::HttpError::TooManyItems`] as soon as the page that
/// passes the limit arrives). The first error ends the walk.
pub async fn collect_all<R, T, E, F, Fut, D>(
    limits: PageLimits,
    fetch: F,
    mut decode: D,
) -> Result<Vec<T>, E>
where
    R: Hash + Send,
    E: From<crate::error::HttpError> + Send,
    F: FnMut(Option<String>) -> Fut + Send,
    Fut: Future<Output = Result<Page<R>, E>> + Send,
    D: FnMut(Vec<R>) -> Result<Vec<T>, E>,
{
    let mut pages = paginate_with(limits, None, fetch);
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        all.extend(decode(page?.items)?);
        limits.check_collected(all.len())?;
    }
    Ok(all)
}

/// The page number a page-number token asks for: `None` or an empty token
/// is page 1; `Some(n)` for a number `n >= 1`; `None` for anything else
/// (the caller decides whether that is an error or a fresh start).
pub fn page_number(token: Option<&str>) -> Option<u32> {
    match token.map(str::trim) {
        None | Some("") => Some(1),
        Some(t) => t.parse::<u32>().ok().filter(|n| *n >= 1),
    }
}

/// A page token, read.
///
/// ```
/// use scopelink_core::pages::{page_number, PageToken};
/// use url::Url;
///
/// let base = Url::parse("https://acme.halopsa.com/api/").unwrap();
/// assert_eq!(page_number(None), Some(1));
/// assert_eq!(PageToken::read(Some("3"), &base), Some(PageToken::Number(3)));
/// let next = "https://acme.halopsa.com/api/Client?page_no=2";
/// assert_eq!(
///     PageToken::read(Some(next), &base),
///     Some(PageToken::NextUrl(Url::parse(next).unwrap()))
/// );
/// // A checkpoint or a link never sends a request to another origin.
/// assert_eq!(PageToken::read(Some("https://evil.example/api/Client"), &base), None);
/// assert_eq!(PageToken::read(Some("0"), &base), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageToken {
    /// A page number (1 for the first page).
    Number(u32),
    /// A next URL on the API's own origin (see [`same_origin`]).
    NextUrl(Url),
}

impl PageToken {
    /// Reads a token of a list paged by page number or by next URL: a page
    /// number (none or empty: page 1), else an absolute URL on `base`'s
    /// origin. `None` for anything else, a URL on another origin included:
    /// a checkpoint or a provider's link never sends a request elsewhere.
    pub fn read(token: Option<&str>, base: &Url) -> Option<Self> {
        if let Some(n) = page_number(token) {
            return Some(PageToken::Number(n));
        }
        next_url(base, token?.trim()).map(PageToken::NextUrl)
    }
}

/// Whether `url` has `base`'s scheme, host and port (the port a scheme
/// implies counted as given): where a next URL may be followed.
pub fn same_origin(base: &Url, url: &Url) -> bool {
    url.scheme() == base.scheme()
        && url.host_str().map(str::to_ascii_lowercase)
            == base.host_str().map(str::to_ascii_lowercase)
        && url.port_or_known_default() == base.port_or_known_default()
}

/// `link` as a URL to follow: an absolute URL on `base`'s origin (see
/// [`same_origin`]); `None` otherwise.
pub fn next_url(base: &Url, link: &str) -> Option<Url> {
    Url::parse(link).ok().filter(|url| same_origin(base, url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::HttpError;

    #[test]
    fn next_urls_are_followed_only_on_the_api_origin() {
        let base = Url::parse("https://api.example.com/v4_6_release/apis/3.0/").unwrap();
        let followed = [
            "https://api.example.com/v4_6_release/apis/3.0/company/companies?page=2",
            "https://API.example.com:443/other/path?page=3",
        ];
        for link in followed {
            assert!(next_url(&base, link).is_some(), "{link}");
        }
        let refused = [
            "http://api.example.com/v4_6_release/apis/3.0/company/companies?page=2",
            "https://api.example.com:8443/v4_6_release/apis/3.0/company/companies",
            "https://evil.example.net/v4_6_release/apis/3.0/company/companies",
            "https://api.example.com.evil.net/x",
            "/v4_6_release/apis/3.0/company/companies?page=2",
            "not a url",
            "file:///etc/passwd",
        ];
        for link in refused {
            assert!(next_url(&base, link).is_none(), "{link}");
        }
    }

    #[test]
    fn page_tokens_read_numbers_and_own_links() {
        let base = Url::parse("http://127.0.0.1:8080/api/").unwrap();
        assert_eq!(PageToken::read(None, &base), Some(PageToken::Number(1)));
        assert_eq!(
            PageToken::read(Some(" "), &base),
            Some(PageToken::Number(1))
        );
        assert_eq!(
            PageToken::read(Some("7"), &base),
            Some(PageToken::Number(7))
        );
        assert_eq!(PageToken::read(Some("0"), &base), None);
        assert_eq!(PageToken::read(Some("-2"), &base), None);
        assert_eq!(
            PageToken::read(Some("http://127.0.0.1:8080/api/x?page=2"), &base),
            Some(PageToken::NextUrl(
                Url::parse("http://127.0.0.1:8080/api/x?page=2").unwrap()
            ))
        );
        assert_eq!(
            PageToken::read(Some("http://127.0.0.1:9090/api/x?page=2"), &base),
            None
        );
    }

    fn numbered(
        limit: u32,
    ) -> impl FnMut(Option<String>) -> futures::future::Ready<Result<Page<u32>, ConnectorError>>
    {
        move |token| {
            let n = page_number(token.as_deref()).unwrap_or(1);
            futures::future::ready(Ok(Page {
                items: vec![n * 10, n * 10 + 1],
                next: (n < limit).then(|| (n + 1).to_string()),
            }))
        }
    }

    #[tokio::test]
    async fn record_stream_converts_pages_in_order_and_keeps_tokens() {
        let mut stream = record_stream(
            PageLimits::DEFAULT,
            Some("2".into()),
            numbered(4),
            |page: Page<u32>| {
                Ok(RecordPage {
                    records: Vec::new(),
                    rejected: page
                        .items
                        .iter()
                        .map(|i| crate::wire::Rejected {
                            id: Some(i.to_string()),
                            reason: "seen".to_string(),
                        })
                        .collect(),
                    next: page.next,
                })
            },
        );
        let mut seen = Vec::new();
        while let Some(page) = stream.next().await {
            let page = page.unwrap();
            seen.push((
                page.rejected
                    .iter()
                    .map(|r| r.id.clone().unwrap())
                    .collect::<Vec<_>>(),
                page.next,
            ));
        }
        assert_eq!(
            seen,
            vec![
                (
                    vec!["20".to_string(), "21".to_string()],
                    Some("3".to_string())
                ),
                (
                    vec!["30".to_string(), "31".to_string()],
                    Some("4".to_string())
                ),
                (vec!["40".to_string(), "41".to_string()], None),
            ]
        );
    }

    #[tokio::test]
    async fn record_stream_stops_after_a_page_fails_to_convert() {
        let mut stream = record_stream(
            PageLimits::DEFAULT,
            None,
            numbered(100),
            |page: Page<u32>| {
                if page.items[0] == 20 {
                    return Err(ConnectorError::Decode {
                        what: "page 2".into(),
                        message: "broken".into(),
                    });
                }
                Ok(RecordPage {
                    next: page.next,
                    ..RecordPage::default()
                })
            },
        );
        assert_eq!(
            stream.next().await.unwrap().unwrap().next.as_deref(),
            Some("2")
        );
        assert!(matches!(
            stream.next().await,
            Some(Err(ConnectorError::Decode { .. }))
        ));
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn collect_all_decodes_every_page_under_the_item_limit() {
        let all: Vec<String> = collect_all(PageLimits::DEFAULT, numbered(3), |items| {
            Ok::<_, ConnectorError>(items.into_iter().map(|i| i.to_string()).collect())
        })
        .await
        .unwrap();
        assert_eq!(all, ["10", "11", "20", "21", "30", "31"]);

        let limits = PageLimits {
            max_collected_items: 3,
            ..PageLimits::DEFAULT
        };
        let too_many = collect_all(limits, numbered(3), Ok::<_, ConnectorError>).await;
        assert!(
            matches!(
                too_many,
                Err(ConnectorError::Http(HttpError::TooManyItems { limit: 3 }))
            ),
            "{too_many:?}"
        );
    }
}
