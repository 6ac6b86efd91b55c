//! What the client trusts and how it leaves the host: extra root
//! certificates, and the proxy a host may opt into.
//!
//! Which built-in roots are trusted is a cargo feature of scopelink-core:
//! `rustls-webpki-roots` (the default: Mozilla's roots compiled in) or
//! `rustls-native-roots` (the operating system's store, read when a client
//! is built). [`RootCertificate`] adds a private CA on top of either, e.g.
//! for an on-premise PSA whose certificate an internal CA signed.

use crate::error::CertificateError;
use std::fmt;
use url::Url;

/// One or more root certificates the client trusts besides the built-in
/// roots, read from PEM (`-----BEGIN CERTIFICATE-----` blocks; other
/// blocks, such as keys, are ignored). Add it with
/// [`HttpConfig::with_root_certificate`](super::HttpConfig::with_root_certificate).
#[derive(Clone)]
pub struct RootCertificate {
    certificates: Vec<reqwest::Certificate>,
}

impl RootCertificate {
    /// Reads every certificate of `pem` (one certificate or a bundle).
    /// Fails with [`CertificateError::Malformed`] when a certificate block
    /// cannot be decoded, and [`CertificateError::NoCertificate`] when
    /// there is none.
    pub fn from_pem(pem: &[u8]) -> Result<Self, CertificateError> {
        let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            CertificateError::Malformed {
                reason: crate::error::chain(&e),
            }
        })?;
        if certificates.is_empty() {
            return Err(CertificateError::NoCertificate);
        }
        Ok(Self { certificates })
    }

    /// How many certificates it holds.
    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    /// Whether it holds none (never true for one read by [`Self::from_pem`]).
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }

    pub(crate) fn certificates(&self) -> &[reqwest::Certificate] {
        &self.certificates
    }
}

impl fmt::Debug for RootCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootCertificate")
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

/// The proxy every request goes through, when the host opts into one with
/// [`HttpConfig::with_proxy`](super::HttpConfig::with_proxy).
///
/// Proxies are off by default, environment variables (`HTTPS_PROXY`,
/// `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`) included, because of SSRF: the
/// address policy checks the addresses a host name resolves to, and
/// through a proxy the proxy resolves them instead, so a user-typed name
/// that points at a private address would be reached. With a proxy, the
/// policy still refuses literal loopback/private IP addresses in URLs and
/// plain http, but cannot see where a host name leads; the proxy must
/// enforce that itself. The proxy is the host's own setting and is not
/// checked against the policy when named by IP address; named by host
/// name, its addresses must be ones the policy permits.
///
/// `Debug` shows its scheme, host and port, never a user name or password
/// in the URL (which are sent to the proxy as Basic credentials).
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    url: Url,
}

impl Proxy {
    /// A proxy at `url` (`http://host:port` or `https://host:port`).
    pub fn new(url: Url) -> Self {
        Self { url }
    }

    /// The proxy's URL, credentials included.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The proxy's origin, for messages: scheme, host and port only.
    pub fn origin(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{}://{host}:{port}", self.url.scheme()),
            None => format!("{}://{host}", self.url.scheme()),
        }
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Proxy").field(&self.origin()).finish()
    }
}
