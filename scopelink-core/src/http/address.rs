//! Which hosts a client may reach: URL checks for user-typed base URLs,
//! the resolver that drops refused addresses, and the redirect policy.

use super::error_body::clip;
use super::MAX_REDIRECTS;
use crate::error::HttpError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use url::{Host, Url};

/// Which hosts a client may reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Allow plain http and loopback addresses (127.0.0.0/8, ::1). For tests
    /// and examples that run simulators on loopback. Off by default.
    pub allow_loopback: bool,
    /// Allow private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
    /// (169.254/16, fe80::/10) and unspecified addresses. Off by default.
    pub allow_private: bool,
}

impl AddressPolicy {
    /// The default: public https hosts only.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Loopback (and plain http) allowed, private ranges still refused: what
    /// tests and examples against local simulators use.
    pub fn allow_local() -> Self {
        Self {
            allow_loopback: true,
            allow_private: false,
        }
    }

    /// Whether `ip` may be reached under this policy.
    ///
    /// Loopback needs `allow_loopback`; every other address that is not
    /// globally routable (private, shared, link-local, unspecified,
    /// documentation, benchmarking, multicast, reserved, unique-local, and
    /// IPv6 forms embedding such an IPv4 address: IPv4-mapped, NAT64, 6to4)
    /// needs `allow_private`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        match classify(ip) {
            Reach::Global => true,
            Reach::Loopback => self.allow_loopback,
            Reach::Local => self.allow_private,
        }
    }

    /// Whether `scheme` may be used: https always, http only with
    /// `allow_loopback`.
    fn permits_scheme(&self, scheme: &str) -> bool {
        scheme == "https" || (scheme == "http" && self.allow_loopback)
    }
}

/// How far an address reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Globally routable.
    Global,
    /// This machine.
    Loopback,
    /// Private, link-local, unspecified or otherwise not global.
    Local,
}

fn classify(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    if a == 127 {
        return Reach::Loopback;
    }
    let local = a == 0 // "this network", including 0.0.0.0
        || a == 10
        || (a == 100 && (64..=127).contains(&b)) // shared address space
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..=31).contains(&b))
        || (a == 192 && b == 0 && (c == 0 || c == 2)) // IETF protocol, documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    if local {
        Reach::Local
    } else {
        Reach::Global
    }
}

fn classify_v6(ip: Ipv6Addr) -> Reach {
    if ip.is_loopback() {
        return Reach::Loopback;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        match classify_v4(Ipv4Addr::new(a, b, c, d)) {
            Reach::Global => Reach::Global,
            _ => Reach::Local,
        }
    };
    if s[..6] == [0; 6] {
        // Unspecified and the deprecated IPv4-compatible addresses.
        return Reach::Local;
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        // NAT64 well-known prefix: the gateway connects to the IPv4 address.
        return embedded_v4(s[6], s[7]);
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address is in the second and third groups.
        return embedded_v4(s[1], s[2]);
    }
    let local = (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64
        || (s[0] == 0x100 && s[1..4] == [0; 3]) // discard-only
        || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00; // multicast
    if local {
        Reach::Local
    } else {
        Reach::Global
    }
}

/// Parses and checks a URL typed by a user against `policy`: https only
/// (http only with `allow_loopback`), no literal IP the policy refuses, no
/// user info. Does not resolve names (the client checks them when it
/// connects).
pub fn validate_url(input: &str, policy: AddressPolicy) -> Result<Url, HttpError> {
    let input = input.trim();
    let url = Url::parse(input).map_err(|e| HttpError::InvalidUrl {
        input: redact_input(input),
        reason: e.to_string(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HttpError::InvalidUrl {
            input: redact_input(input),
            reason: "a user name or password in the URL is not allowed; enter credentials in the connection settings".into(),
        });
    }
    if !policy.permits_scheme(url.scheme()) {
        return Err(HttpError::InsecureScheme {
            url: display_url(&url),
        });
    }
    if url.host().is_none() {
        return Err(HttpError::InvalidUrl {
            input: redact_input(input),
            reason: "it has no host name".into(),
        });
    }
    check_target(&url, policy)?;
    Ok(url)
}

/// Checks the scheme and, for a literal IP host, the address of `url`.
/// Host names are checked by the resolver when the client connects.
pub(super) fn check_target(url: &Url, policy: AddressPolicy) -> Result<(), HttpError> {
    if !policy.permits_scheme(url.scheme()) {
        return Err(HttpError::InsecureScheme {
            url: display_url(url),
        });
    }
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(_)) | None => return Ok(()),
    };
    if policy.permits(ip) {
        Ok(())
    } else {
        Err(HttpError::ForbiddenAddress {
            host: url.host_str().unwrap_or_default().to_string(),
        })
    }
}

/// `url` without user info, query or fragment, for error messages.
pub(super) fn display_url(url: &Url) -> String {
    if url.cannot_be_a_base() {
        return format!("{}:…", url.scheme());
    }
    let mut shown = url.clone();
    // Both only fail for URLs that cannot have user info, which is fine.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    let had_query = shown.query().is_some();
    shown.set_query(None);
    shown.set_fragment(None);
    let mut text = shown.to_string();
    if had_query {
        text.push_str("?…");
    }
    text
}

/// A user-typed URL with any user info, query and fragment removed, for
/// error messages about URLs that may not even parse.
fn redact_input(input: &str) -> String {
    let (prefix, rest) = match input.find("//") {
        Some(i) => input.split_at(i + 2),
        None => ("", input),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("***@{}", &authority[at + 1..]),
        None => authority.to_string(),
    };
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let mut shown = format!("{prefix}{authority}{}", &tail[..path_end]);
    if path_end < tail.len() {
        shown.push('…');
    }
    clip(&shown, 200)
}

/// A refusal raised inside reqwest (by the resolver or the redirect
/// policy), found again in the error's source chain.
#[derive(Debug)]
pub(super) enum Refusal {
    /// The address is refused by the policy.
    Address { host: String },
    /// The scheme is refused by the policy.
    Scheme { url: String },
    /// Too many redirects.
    RedirectLimit,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Address { host } => write!(f, "`{host}` is a refused address"),
            Refusal::Scheme { url } => write!(f, "`{url}` uses a refused scheme"),
            Refusal::RedirectLimit => write!(f, "more than {MAX_REDIRECTS} redirects"),
        }
    }
}

impl std::error::Error for Refusal {}

impl From<HttpError> for Refusal {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::InsecureScheme { url } => Refusal::Scheme { url },
            HttpError::ForbiddenAddress { host } => Refusal::Address { host },
            other => Refusal::Address {
                host: other.to_string(),
            },
        }
    }
}

/// Resolves host names with tokio and keeps only the addresses the policy
/// permits.
pub(super) struct PolicyResolver {
    pub(super) policy: AddressPolicy,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(resolve_permitted(name.as_str().to_string(), self.policy))
    }
}

async fn resolve_permitted(
    host: String,
    policy: AddressPolicy,
) -> Result<reqwest::dns::Addrs, BoxError> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
    let permitted: Vec<SocketAddr> = found
        .iter()
        .copied()
        .filter(|addr| policy.permits(addr.ip()))
        .collect();
    if permitted.is_empty() && !found.is_empty() {
        tracing::warn!(host = %host, "refusing a host name that resolves only to refused addresses");
        return Err(Box::new(Refusal::Address { host }));
    }
    Ok(Box::new(permitted.into_iter()))
}

/// The redirect policy: at most [`MAX_REDIRECTS`], each target checked like
/// the request's own URL.
pub(super) fn redirect_policy(policy: AddressPolicy) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        // `previous` starts with the original URL.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(Refusal::RedirectLimit);
        }
        match check_target(attempt.url(), policy) {
            Ok(()) => attempt.follow(),
            Err(e) => {
                tracing::warn!(error = %e, "refusing a redirect");
                attempt.error(Refusal::from(e))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        let refused_without_private = [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "ff02::1",
        ];
        for ip in refused_without_private {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!AddressPolicy::allow_local().permits(ip), "{ip}");
            assert!(
                AddressPolicy {
                    allow_loopback: false,
                    allow_private: true
                }
                .permits(ip),
                "{ip}"
            );
        }
        for ip in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!AddressPolicy::public_only().permits(ip), "{ip}");
            assert!(AddressPolicy::allow_local().permits(ip), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "::ffff:1.1.1.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(AddressPolicy::public_only().permits(ip), "{ip}");
        }
    }

    #[test]
    fn input_redaction_drops_user_info_and_query() {
        assert_eq!(
            redact_input("https://bob:hunter2@example.com/a?token=x"),
            "https://***@example.com/a…"
        );
        assert_eq!(redact_input("bob:hunter2@host/x"), "***@host/x");
        assert_eq!(redact_input("https://example.com"), "https://example.com");
    }
}
