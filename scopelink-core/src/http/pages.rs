//! Page walks: "fetch page N / follow next link / follow cursor" as one
//! bounded stream of pages, running a stream ahead of its consumer, and
//! reading RFC 8288 `Link` headers.

use super::Headers;
use super::PageLimits;
use crate::error::HttpError;
use futures::stream::{BoxStream, StreamExt};
use reqwest::header::LINK;
use std::future::Future;

/// One page from [`paginate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// The token of the next page (a page number, a next link or a cursor);
    /// `None` on the last page.
    pub next: Option<String>,
}

/// Where a page walk stands.
enum Cursor<F, E> {
    /// Fetch the page at this token next.
    Fetch(Option<String>, F, Walked),
    /// Yield this error, then end.
    Fail(E),
    /// The last page or an error was yielded.
    Done,
}

/// What a page walk has read so far.
struct Walked {
    /// Pages read.
    read: u64,
    /// The most pages to read.
    max_pages: u64,
    /// Each page's fingerprint and its number, when pages are compared.
    seen: Option<std::collections::HashMap<u64, u64>>,
}

/// Items of a page sampled at each end for its fingerprint.
const FINGERPRINT_SAMPLE: usize = 4096;

/// A page's fingerprint: its length and the items at both ends (up to
/// [`FINGERPRINT_SAMPLE`] each), so pages of bytes cost a few KiB of hashing
/// and pages of records are hashed whole. Two different pages of one list
/// differ in their first records.
pub(crate) fn fingerprint<T: std::hash::Hash>(items: &[T]) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    let n = items.len().min(FINGERPRINT_SAMPLE);
    items.len().hash(&mut hasher);
    items[..n].hash(&mut hasher);
    items[items.len() - n..].hash(&mut hasher);
    hasher.finish()
}

/// Turns a "fetch the page at this token" function into a stream of pages.
/// `start` is the first token (`None` for the first page). The stream ends
/// after a page whose `next` is `None`, and stops after the first error.
/// Page number, next-link and cursor pagination differ only in what the
/// token holds and how `fetch` uses it.
///
/// A page whose `next` is the token it was fetched with is yielded, then
/// [`HttpError::RepeatedPage`] ends the stream: following it would read
/// that page forever. After [`PageLimits::DEFAULT`]'s `max_pages` pages,
/// [`HttpError::TooManyPages`] ends it. [`paginate_with`] also stops on a
/// page that repeats an earlier one, with the connection's limits.
///
/// The stream is fused: polling it after its end keeps returning `None`.
pub fn paginate<'a, T, E, F, Fut>(
    start: Option<String>,
    fetch: F,
) -> BoxStream<'a, Result<Page<T>, E>>
where
    T: Send + 'a,
    E: From<HttpError> + Send + 'a,
    F: FnMut(Option<String>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>, E>> + Send + 'a,
{
    walk(start, fetch, PageLimits::DEFAULT.max_pages, None)
}

/// [`paginate`] with `limits` (take them from
/// [`super::HttpConfig::pages`]), which also compares each page with those
/// before it: a page that repeats an earlier one (a provider that ignores
/// the page asked for, answering every request with the same full page) is
/// not yielded; [`HttpError::DuplicatePage`] ends the stream instead.
pub fn paginate_with<'a, T, E, F, Fut>(
    limits: PageLimits,
    start: Option<String>,
    fetch: F,
) -> BoxStream<'a, Result<Page<T>, E>>
where
    T: std::hash::Hash + Send + 'a,
    E: From<HttpError> + Send + 'a,
    F: FnMut(Option<String>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>, E>> + Send + 'a,
{
    walk(start, fetch, limits.max_pages, Some(fingerprint::<T>))
}

fn walk<'a, T, E, F, Fut>(
    start: Option<String>,
    fetch: F,
    max_pages: u64,
    fingerprint: Option<fn(&[T]) -> u64>,
) -> BoxStream<'a, Result<Page<T>, E>>
where
    T: Send + 'a,
    E: From<HttpError> + Send + 'a,
    F: FnMut(Option<String>) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>, E>> + Send + 'a,
{
    let walked = Walked {
        read: 0,
        max_pages: max_pages.max(1),
        seen: fingerprint.map(|_| std::collections::HashMap::new()),
    };
    futures::stream::unfold(
        Cursor::Fetch(start, fetch, walked),
        move |cursor| async move {
            let (token, mut fetch, mut walked) = match cursor {
                Cursor::Fetch(token, fetch, walked) => (token, fetch, walked),
                Cursor::Fail(e) => return Some((Err(e), Cursor::Done)),
                Cursor::Done => return None,
            };
            match fetch(token.clone()).await {
                Ok(page) => {
                    walked.read += 1;
                    let read = walked.read;
                    if let (Some(seen), Some(fingerprint)) = (&mut walked.seen, fingerprint) {
                        // An empty page repeats nothing: it ends the list.
                        if !page.items.is_empty() {
                            let print = fingerprint(&page.items);
                            if let Some(&same_as) = seen.get(&print) {
                                let e = HttpError::DuplicatePage {
                                    page: read,
                                    same_as,
                                };
                                return Some((Err(e.into()), Cursor::Done));
                            }
                            seen.insert(print, read);
                        }
                    }
                    let next = match page.next.clone() {
                        Some(next) if Some(&next) == token.as_ref() => {
                            Cursor::Fail(HttpError::RepeatedPage { page: read }.into())
                        }
                        Some(_) if read >= walked.max_pages => Cursor::Fail(
                            HttpError::TooManyPages {
                                limit: walked.max_pages,
                            }
                            .into(),
                        ),
                        Some(next) => Cursor::Fetch(Some(next), fetch, walked),
                        None => Cursor::Done,
                    };
                    Some((Ok(page), next))
                }
                Err(e) => Some((Err(e), Cursor::Done)),
            }
        },
    )
    .fuse()
    .boxed()
}

/// Every item of `pages`, gathered in memory, for lists that are small in
/// any real account (filter options, the push form's lookups): more than
/// `limits.max_collected_items` items fail with [`HttpError::TooManyItems`]
/// as soon as the page that passes the limit arrives. The first error ends
/// the walk.
pub async fn collect_pages<T, E>(
    mut pages: BoxStream<'_, Result<Page<T>, E>>,
    limits: PageLimits,
) -> Result<Vec<T>, E>
where
    E: From<HttpError>,
{
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        all.extend(page?.items);
        limits.check_collected(all.len())?;
    }
    Ok(all)
}

/// Drives `stream` on its own tokio task, up to `depth` items ahead of the
/// consumer, so fetching and decoding the next pages runs in parallel with
/// whatever the consumer does with the current one (storing it). Memory
/// stays bounded: at most `depth` items wait, plus the one in the making.
///
/// Dropping the returned stream aborts the task (an in-flight request is
/// dropped with it). A panic in the producer is re-raised in the consumer,
/// so the end of the stream always means the end of the data. Outside a
/// tokio runtime the stream is returned unchanged.
pub fn read_ahead<T: Send + 'static>(
    stream: BoxStream<'static, T>,
    depth: usize,
) -> BoxStream<'static, T> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return stream;
    };
    let (tx, rx) = tokio::sync::mpsc::channel(depth.max(1));
    // The task runs in the caller's span (a sync's data type), so the
    // requests it sends are traced under it.
    let span = tracing::Span::current();
    let task = runtime.spawn(tracing::Instrument::instrument(
        async move {
            let mut stream = stream;
            while let Some(item) = stream.next().await {
                if tx.send(item).await.is_err() {
                    break;
                }
            }
        },
        span,
    ));
    let producer = Producer(Some(task));
    futures::stream::unfold((rx, producer), |(mut rx, mut producer)| async move {
        if let Some(item) = rx.recv().await {
            return Some((item, (rx, producer)));
        }
        // The channel closed: the producer ended. Only a panic is not the
        // end of the data; re-raise it here, where it would have happened
        // without the read-ahead.
        if let Some(task) = producer.0.take() {
            if let Err(e) = task.await {
                if e.is_panic() {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
        None
    })
    .fuse()
    .boxed()
}

/// Ends `stream` after its first error (which it yields), as [`paginate`]
/// does: for stages after a paginated stream, so that nothing past a failed
/// page is worked on.
pub fn stop_after_error<'a, T: Send + 'a, E: Send + 'a>(
    stream: BoxStream<'a, Result<T, E>>,
) -> BoxStream<'a, Result<T, E>> {
    // The stream is dropped with the error, before it is polled again.
    futures::stream::unfold(Some(stream), |stream| async move {
        let mut stream = stream?;
        let item = stream.next().await?;
        let rest = item.is_ok().then_some(stream);
        Some((item, rest))
    })
    .fuse()
    .boxed()
}

/// The task behind [`read_ahead`], aborted when its consumer goes away.
struct Producer(Option<tokio::task::JoinHandle<()>>);

impl Drop for Producer {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// The URL of `rel="next"` in an RFC 8288 `Link` header, if any.
///
/// Every `Link` header is read; each may hold several comma-separated
/// links, whose `rel` may be quoted or not and may list several relation
/// types. The target is returned as written (it may be relative; see
/// [`Response::next_link`](super::Response::next_link)).
pub fn next_link(headers: &Headers) -> Option<String> {
    rel_link(headers, "next")
}

/// The URL of the link with relation type `rel` (`"last"`, `"prev"`...) in
/// an RFC 8288 `Link` header, if any, read as [`next_link`] reads `next`.
pub fn rel_link(headers: &Headers, rel: &str) -> Option<String> {
    headers.map().get_all(LINK).iter().find_map(|value| {
        let value = String::from_utf8_lossy(value.as_bytes());
        parse_links(&value)
            .into_iter()
            .find(|link| link.rels.iter().any(|r| r.eq_ignore_ascii_case(rel)))
            .map(|link| link.target)
    })
}

/// One link of a `Link` header.
struct Link {
    target: String,
    rels: Vec<String>,
}

/// A cursor over a header value.
struct Scanner<'a> {
    rest: &'a str,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<char> {
        self.rest.chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let ch = self.peek()?;
        self.rest = &self.rest[ch.len_utf8()..];
        Some(ch)
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let end = self
            .rest
            .find(|c: char| !keep(c))
            .unwrap_or(self.rest.len());
        let (taken, rest) = self.rest.split_at(end);
        self.rest = rest;
        taken
    }

    fn skip_ws(&mut self) {
        self.take_while(char::is_whitespace);
    }

    /// A quoted string (the opening quote is next), unescaped.
    fn quoted(&mut self) -> String {
        self.bump();
        let mut out = String::new();
        while let Some(ch) = self.bump() {
            match ch {
                '"' => break,
                '\\' => {
                    if let Some(escaped) = self.bump() {
                        out.push(escaped);
                    }
                }
                other => out.push(other),
            }
        }
        out
    }

    /// Skips to the next top-level `,` or `;` (not consuming it), stepping
    /// over quoted strings.
    fn skip_junk(&mut self) {
        while let Some(ch) = self.peek() {
            match ch {
                ',' | ';' => return,
                '"' => {
                    self.quoted();
                }
                _ => {
                    self.bump();
                }
            }
        }
    }
}

fn parse_links(value: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut s = Scanner { rest: value };
    loop {
        s.take_while(|c| c.is_whitespace() || c == ',');
        match s.bump() {
            None => break,
            Some('<') => {}
            Some(_) => {
                // Not a link: skip to the next one.
                while !matches!(s.peek(), None | Some(',')) {
                    s.skip_junk();
                    if s.peek() == Some(';') {
                        s.bump();
                    }
                }
                continue;
            }
        }
        let target = s.take_while(|c| c != '>').trim().to_string();
        if s.bump().is_none() {
            break; // unterminated target
        }
        let mut rel: Option<String> = None;
        loop {
            s.skip_ws();
            match s.peek() {
                Some(';') => {
                    s.bump();
                }
                None | Some(',') => break,
                Some(_) => {
                    s.skip_junk();
                    continue;
                }
            }
            s.skip_ws();
            let name = s
                .take_while(|c| !c.is_whitespace() && !matches!(c, '=' | ';' | ','))
                .to_string();
            s.skip_ws();
            let param = if s.peek() == Some('=') {
                s.bump();
                s.skip_ws();
                if s.peek() == Some('"') {
                    s.quoted()
                } else {
                    s.take_while(|c| !c.is_whitespace() && !matches!(c, ';' | ','))
                        .to_string()
                }
            } else {
                String::new()
            };
            // Only the first `rel` counts (RFC 8288, 3.3).
            if rel.is_none() && name.eq_ignore_ascii_case("rel") {
                rel = Some(param);
            }
        }
        links.push(Link {
            target,
            rels: rel
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
        });
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_fingerprints_tell_pages_apart_by_their_ends() {
        let page = |first: u8| -> Vec<u8> {
            (0..10_000u32)
                .map(|i| first.wrapping_add(i as u8))
                .collect()
        };
        assert_eq!(fingerprint(&page(1)), fingerprint(&page(1)));
        assert_ne!(fingerprint(&page(1)), fingerprint(&page(2)));
        assert_ne!(fingerprint(&page(1)[..9_999]), fingerprint(&page(1)));
        assert_ne!(fingerprint::<u8>(&[]), fingerprint(&[0u8]));
    }
}
