//! [`Headers`]: the header map of a [`Request`](super::Request) or
//! [`Response`](super::Response), the SDK's own type, with text accessors,
//! case-insensitive names and `Debug` output that hides credentials.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use std::fmt;

/// Header names that carry credentials even when the connector did not mark
/// them sensitive (matched case-insensitively as substrings).
pub(crate) const CREDENTIAL_HEADER_HINTS: &[&str] = &[
    "auth",
    "token",
    "secret",
    "key",
    "password",
    "passwd",
    "cookie",
    "session",
    "signature",
    "credential",
    "code",
];

fn looks_like_credential(name: &HeaderName) -> bool {
    let name = name.as_str();
    CREDENTIAL_HEADER_HINTS
        .iter()
        .any(|hint| name.contains(hint))
}

/// A header name or value that HTTP does not allow (a name with spaces or
/// separators, a value with a line break or a control character), so it
/// was not added. The value is not shown: it may be a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("header `{name}` was not added: its {part} is not allowed in HTTP (line breaks, control characters, or separators in a name); check where it came from")]
#[non_exhaustive]
pub struct InvalidHeader {
    /// The header's name as given (with any character HTTP refuses shown
    /// escaped).
    pub name: String,
    /// `"name"` or `"value"`: which of the two was refused.
    pub part: &'static str,
}

/// HTTP headers: names compared case-insensitively, a name may repeat
/// (`Link`, `Set-Cookie`), values read as text.
///
/// Values of credentials are marked sensitive ([`Headers::insert_secret`],
/// and any name that looks like one: `Authorization`, `*token*`, `*key*`,
/// `*secret*`, `*signature*`...); `Debug` output shows `<redacted>` in
/// their place.
///
/// ```
/// use scopelink_core::http::Headers;
///
/// let mut headers = Headers::new();
/// headers.insert("Retry-After", "3")?;
/// headers.append("Link", r#"<https://a.example/p?page=2>; rel="next""#)?;
/// headers.insert("ApiIntegrationCode", "ABC123")?;
///
/// assert_eq!(headers.get("retry-after"), Some("3"));
/// assert_eq!(headers.get_all("LINK").count(), 1);
/// assert!(headers.is_sensitive("apiintegrationcode"));
/// assert!(!format!("{headers:?}").contains("ABC123"));
/// assert!(headers.insert("X-Bad", "line\nbreak").is_err());
/// # Ok::<(), scopelink_core::http::InvalidHeader>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(HeaderMap);

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first value of `name` (any case) as text, if there is one and
    /// it is visible ASCII (a value with other bytes reads as absent; see
    /// [`Headers::get_bytes`]).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first value of `name` (any case) as raw bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(HeaderValue::as_bytes)
    }

    /// Every value of `name` (any case) that is text, in the order
    /// received.
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .get_all(name)
            .into_iter()
            .filter_map(|v| v.to_str().ok())
    }

    /// Whether there is a header named `name` (any case).
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Each name once, lower-case, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.keys().map(HeaderName::as_str)
    }

    /// The number of values (a repeated name counts each time).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a value of `name` is hidden from `Debug` output: marked
    /// sensitive, or named like a credential.
    pub fn is_sensitive(&self, name: &str) -> bool {
        let Ok(parsed) = HeaderName::from_bytes(name.as_bytes()) else {
            return false;
        };
        looks_like_credential(&parsed)
            || self
                .0
                .get_all(&parsed)
                .into_iter()
                .any(HeaderValue::is_sensitive)
    }

    /// Sets `name` to `value`, replacing any earlier values of that name.
    /// A credential-like name's value is marked sensitive.
    pub fn insert(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), InvalidHeader> {
        let (name, value) = parse(name, value.as_ref(), false)?;
        self.0.insert(name, value);
        Ok(())
    }

    /// Adds a value of `name`, keeping earlier ones (a repeated `Link`).
    pub fn append(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), InvalidHeader> {
        let (name, value) = parse(name, value.as_ref(), false)?;
        self.0.append(name, value);
        Ok(())
    }

    /// Sets `name` to a credential, marked sensitive whatever its name.
    pub fn insert_secret(
        &mut self,
        name: &str,
        value: &secrecy::SecretString,
    ) -> Result<(), InvalidHeader> {
        let (name, value) = parse(name, value.expose_secret().as_bytes(), true)?;
        self.0.insert(name, value);
        Ok(())
    }

    /// Removes every value of `name`; whether there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        self.0.remove(name).is_some()
    }

    /// Removes every header.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub(crate) fn from_map(map: HeaderMap) -> Self {
        Self(map)
    }

    pub(crate) fn map(&self) -> &HeaderMap {
        &self.0
    }

    pub(crate) fn map_mut(&mut self) -> &mut HeaderMap {
        &mut self.0
    }
}

/// A name and value HTTP allows; the value marked sensitive when asked or
/// when the name looks like a credential.
fn parse(
    name: &str,
    value: &[u8],
    sensitive: bool,
) -> Result<(HeaderName, HeaderValue), InvalidHeader> {
    let refused = |part| InvalidHeader {
        name: name.escape_debug().to_string(),
        part,
    };
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| refused("name"))?;
    let mut value = HeaderValue::from_bytes(value).map_err(|_| refused("value"))?;
    if sensitive || looks_like_credential(&name) {
        value.set_sensitive(true);
    }
    Ok((name, value))
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.0 {
            if value.is_sensitive() || looks_like_credential(name) {
                map.entry(&name.as_str(), &"<redacted>");
            } else {
                map.entry(&name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn names_are_case_insensitive_and_values_repeat() {
        let mut h = Headers::new();
        h.append("Link", "<a>; rel=next").unwrap();
        h.append("link", "<b>; rel=last").unwrap();
        assert_eq!(
            h.get_all("LINK").collect::<Vec<_>>(),
            ["<a>; rel=next", "<b>; rel=last"]
        );
        assert_eq!(h.len(), 2);
        assert_eq!(h.names().collect::<Vec<_>>(), ["link"]);
        h.insert("Link", "<c>").unwrap();
        assert_eq!(h.get_all("link").collect::<Vec<_>>(), ["<c>"]);
        assert!(h.remove("LINK"));
        assert!(!h.remove("link"));
        assert!(h.is_empty());
    }

    #[test]
    fn bad_names_and_values_are_typed_errors_that_hide_the_value() {
        let mut h = Headers::new();
        let e = h.insert("X-Token", "abc\r\nInjected: 1").unwrap_err();
        assert_eq!(e.part, "value");
        assert!(!e.to_string().contains("abc"), "{e}");
        let e = h.insert("bad name", "v").unwrap_err();
        assert_eq!(e.part, "name");
        assert!(h.is_empty());
    }

    #[test]
    fn secrets_and_credential_names_never_show_in_debug() {
        let mut h = Headers::new();
        h.insert_secret("X-Custom", &SecretString::from("s3cr3t".to_string()))
            .unwrap();
        h.insert("Authorization", "Basic dXNlcjpwYXNz").unwrap();
        h.insert("Accept", "application/json").unwrap();
        let debug = format!("{h:?}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("dXNlcjpwYXNz"),
            "{debug}"
        );
        assert!(debug.contains("application/json"), "{debug}");
        assert!(h.is_sensitive("x-custom") && h.is_sensitive("authorization"));
        assert!(!h.is_sensitive("accept"));
        assert_eq!(h.get("x-custom"), Some("s3cr3t"));
    }

    #[test]
    fn non_text_values_read_as_bytes_only() {
        let mut h = Headers::new();
        h.insert("X-Raw", [0x80u8, b'a']).unwrap();
        assert_eq!(h.get("x-raw"), None);
        assert_eq!(h.get_bytes("x-raw"), Some(&[0x80u8, b'a'][..]));
        assert!(h.contains("X-RAW"));
    }
}
