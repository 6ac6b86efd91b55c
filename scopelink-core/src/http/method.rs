//! [`Method`]: the HTTP method of a [`Request`](super::Request), the SDK's
//! own type (the HTTP client library under it is not part of the API).

use std::fmt;

/// An HTTP method. The associated constants name the methods connectors
/// send: `Method::GET`, `Method::POST`, `Method::PUT`, `Method::PATCH`,
/// `Method::DELETE` (and `HEAD`, `OPTIONS`).
///
/// ```
/// use scopelink_core::http::{Method, Request};
///
/// let url = url::Url::parse("https://api.example.com/v1/companies").unwrap();
/// let request = Request::new(Method::GET, url);
/// assert_eq!(request.method, Method::GET);
/// assert_eq!(Method::PATCH.as_str(), "PATCH");
/// assert!(Method::GET.is_idempotent() && !Method::POST.is_idempotent());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Method(reqwest::Method);

impl Method {
    /// `GET`.
    pub const GET: Method = Method(reqwest::Method::GET);
    /// `POST`.
    pub const POST: Method = Method(reqwest::Method::POST);
    /// `PUT`.
    pub const PUT: Method = Method(reqwest::Method::PUT);
    /// `PATCH`.
    pub const PATCH: Method = Method(reqwest::Method::PATCH);
    /// `DELETE`.
    pub const DELETE: Method = Method(reqwest::Method::DELETE);
    /// `HEAD`.
    pub const HEAD: Method = Method(reqwest::Method::HEAD);
    /// `OPTIONS`.
    pub const OPTIONS: Method = Method(reqwest::Method::OPTIONS);

    /// The method's name, e.g. `GET`.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether sending it twice has the effect of sending it once (RFC 9110
    /// section 9.2.2): `GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`. The HTTP
    /// client retries these; others only when marked
    /// [`Request::retry_safe`](super::Request::retry_safe).
    pub fn is_idempotent(&self) -> bool {
        [
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ]
        .contains(self)
    }

    /// The HTTP library's method, for sending.
    pub(crate) fn to_wire(&self) -> reqwest::Method {
        self.0.clone()
    }
}

/// From the `http` crate's method (what `reqwest` and `wiremock` use), so
/// code written against it keeps compiling: [`Request::new`](super::Request::new)
/// takes either.
impl From<http::Method> for Method {
    fn from(method: http::Method) -> Self {
        Method(method)
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
