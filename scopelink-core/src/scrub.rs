//! Credentials scrubbed out of provider messages.
//!
//! Some servers echo what they were sent in their error bodies: the
//! `Authorization` value, the decoded `company+public:private` pair behind
//! it, a form's `client_secret`. A provider's message becomes an error, a
//! log line, a Connection Error reason and an activity entry, so every
//! credential the request carried is replaced by [`REDACTED`] first, in
//! each form a server might write it (as sent, decoded from Basic auth,
//! base64, URL-encoded, JSON-escaped), whatever its length. The HTTP
//! runtime does this for every provider message it keeps
//! ([`crate::error::HttpError::Status`]).
//!
//! # Example
//!
//! ```
//! use scopelink_core::scrub::{Scrubber, REDACTED};
//!
//! let mut scrubber = Scrubber::new();
//! scrubber.add("s3cr3t value");
//! // As sent, and URL-encoded, as a server may echo a form field.
//! let echoed = "invalid client_secret 's3cr3t value' (client_secret=s3cr3t+value)";
//! let shown = scrubber.scrub(echoed);
//! assert!(!shown.contains("s3cr3t"), "{shown}");
//! assert_eq!(shown.matches(REDACTED).count(), 2);
//! ```

use crate::http::Request;
use crate::secret::Credentials;
use base64::Engine as _;
use secrecy::ExposeSecret;
use std::fmt;

/// What a credential is replaced with.
pub const REDACTED: &str = "***";

/// The secrets to scrub out of text, in every form they may be echoed.
#[derive(Clone, Default)]
pub struct Scrubber {
    /// Every form of every secret, longest first once [`Self::scrub`] runs.
    forms: Vec<String>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrubber")
            .field("forms", &self.forms.len())
            .finish()
    }
}

/// Whether a header, form field or query parameter name looks like it
/// carries a credential.
fn credential_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name != "grant_type"
        && crate::http::CREDENTIAL_HEADER_HINTS
            .iter()
            .any(|h| name.contains(h))
}

impl Scrubber {
    /// A scrubber of nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret (empty ones are ignored) in each form a server may
    /// echo it: as is, URL-encoded (`+` or `%20` for spaces),
    /// JSON-escaped, base64 (standard and URL-safe, padded or not) and
    /// with its whitespace collapsed.
    pub fn add(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let mut forms = vec![secret.to_string()];
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        forms.push(form.replace('+', "%20"));
        forms.push(form);
        if let Ok(json) = serde_json::to_string(secret) {
            forms.push(json[1..json.len() - 1].to_string());
        }
        for engine in [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            forms.push(engine.encode(secret.as_bytes()));
        }
        forms.push(secret.split_whitespace().collect::<Vec<_>>().join(" "));
        for f in forms {
            if !f.is_empty() && !self.forms.contains(&f) {
                self.forms.push(f);
            }
        }
    }

    /// Adds the credentials of an `Authorization`-style value: the value,
    /// the part after its scheme, and for `Basic` the decoded `user:pass`,
    /// the password, and each `suffix:pass` of a user made of `+`-joined
    /// parts (ConnectWise's `company+public:private` gives
    /// `public:private`). The user name alone is not a secret.
    pub fn add_authorization(&mut self, value: &str) {
        self.add(value.trim());
        let Some((scheme, rest)) = value.trim().split_once(' ') else {
            return;
        };
        let rest = rest.trim();
        self.add(rest);
        if !scheme.eq_ignore_ascii_case("basic") {
            return;
        }
        let Some(pair) = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        else {
            return;
        };
        self.add(&pair);
        if let Some((user, pass)) = pair.split_once(':') {
            self.add(pass);
            let mut suffix = user;
            while let Some((_, tail)) = suffix.split_once('+') {
                self.add(&format!("{tail}:{pass}"));
                suffix = tail;
            }
        }
    }

    /// A scrubber of every credential `request` carries: values of
    /// sensitive or credential-like headers (see
    /// [`Self::add_authorization`]), credential-like fields of a form or
    /// JSON object body, credential-like query parameters, and a password
    /// in the URL.
    pub fn for_request(request: &Request) -> Self {
        let mut s = Self::new();
        for (name, value) in request.headers.map() {
            if value.is_sensitive() || credential_name(name.as_str()) {
                if let Ok(v) = value.to_str() {
                    s.add_authorization(v);
                }
            }
        }
        for (k, v) in request.url.query_pairs() {
            if credential_name(&k) {
                s.add(&v);
            }
        }
        if let Some(password) = request.url.password() {
            s.add(password);
        }
        if let Some(body) = &request.body {
            let content_type = request
                .headers
                .get("content-type")
                .unwrap_or_default()
                .to_ascii_lowercase();
            if content_type.starts_with("application/x-www-form-urlencoded") {
                for (k, v) in url::form_urlencoded::parse(body) {
                    if credential_name(&k) {
                        s.add(&v);
                    }
                }
            } else if content_type.contains("json") {
                if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
                    for (k, v) in map {
                        if let (true, Some(v)) = (credential_name(&k), v.as_str()) {
                            s.add(v);
                        }
                    }
                }
            }
        }
        s
    }

    /// A scrubber of every secret field of `credentials` and each
    /// combination a client sends them in (ConnectWise's Basic
    /// `company+public:private`, a client id and secret as Basic auth,
    /// `Bearer` tokens, Autotask's `user:secret`). For text that did not
    /// come from one request (a reason assembled elsewhere).
    pub fn for_credentials(credentials: &Credentials) -> Self {
        let basic = |user: &str, pass: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
            )
        };
        let mut s = Self::new();
        match credentials {
            Credentials::ApiKeyPair(k) => s.add_authorization(&basic(
                &format!("{}+{}", k.company_id, k.public_key),
                k.private_key.expose_secret(),
            )),
            Credentials::ApiUserSecret(k) => {
                s.add_authorization(&basic(&k.username, k.secret.expose_secret()));
                s.add(k.integration_code.expose_secret());
            }
            Credentials::ClientCredentials(c) => {
                s.add_authorization(&basic(&c.client_id, c.client_secret.expose_secret()))
            }
            Credentials::OAuth(t) => {
                s.add_authorization(&format!("Bearer {}", t.access_token.expose_secret()));
                if let Some(r) = &t.refresh_token {
                    s.add(r.expose_secret());
                }
            }
            Credentials::ApiToken(t) => {
                s.add_authorization(&format!("Bearer {}", t.token.expose_secret()))
            }
        }
        s
    }

    /// `text` with every form of every secret replaced by [`REDACTED`],
    /// longest first (so a secret containing another goes whole). A text
    /// cut off with `…` that ends in the start of a secret has that start
    /// replaced too.
    pub fn scrub(&self, text: &str) -> String {
        if self.forms.is_empty() {
            return text.to_string();
        }
        let mut forms: Vec<&str> = self.forms.iter().map(String::as_str).collect();
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let mut out = text.to_string();
        for f in &forms {
            if out.contains(f) {
                out = out.replace(f, REDACTED);
            }
        }
        if let Some(body) = out.strip_suffix('…') {
            let cut = forms.iter().find_map(|f| {
                (1..f.len())
                    .rev()
                    .filter(|&n| f.is_char_boundary(n))
                    .find(|&n| body.ends_with(&f[..n]))
                    .map(|n| body.len() - n)
            });
            if let Some(at) = cut {
                out = format!("{}{REDACTED}…", &body[..at]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;
    use secrecy::SecretString;
    use url::Url;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn basic_auth_pairs_and_parts_in_every_form() {
        let pair = "acme+pub123:Zq8#x";
        let mut s = Scrubber::new();
        s.add_authorization(&format!("Basic {}", b64(pair)));
        for echoed in [
            pair.to_string(),
            "Zq8#x".to_string(),
            "pub123:Zq8#x".to_string(),
            b64(pair),
            format!("Basic {}", b64(pair)),
            "acme%2Bpub123%3AZq8%23x".to_string(),
            "Zq8%23x".to_string(),
        ] {
            let text = format!("bad credentials <{echoed}> for company acme");
            assert_eq!(
                s.scrub(&text),
                "bad credentials <***> for company acme",
                "{echoed}"
            );
        }
        // The user name alone is not a secret.
        assert_eq!(s.scrub("user acme+pub123"), "user acme+pub123");
    }

    #[test]
    fn short_secrets_and_json_escapes() {
        let mut s = Scrubber::new();
        s.add("k\"1");
        assert_eq!(
            s.scrub(r#"{"key":"k\"1"} or k"1"#),
            r#"{"key":"***"} or ***"#
        );
        s.add("");
        assert_eq!(s.scrub("nothing"), "nothing");
    }

    #[test]
    fn a_cut_off_secret_is_scrubbed_too() {
        let mut s = Scrubber::new();
        s.add("Pv7rK2mQ9xWb4tLs");
        assert_eq!(s.scrub("echo: Pv7rK2m…"), "echo: ***…");
        assert_eq!(s.scrub("plain text…"), "plain text…");
    }

    #[test]
    fn every_secret_field_of_stored_credentials() {
        use crate::secret::{ApiKeyPair, ClientCredentials};
        let cw = Scrubber::for_credentials(&Credentials::ApiKeyPair(ApiKeyPair::new(
            "acme", "pub123", "Zq8#x",
        )));
        assert_eq!(
            cw.scrub(&format!(
                "acme+pub123:Zq8#x / Zq8#x / {} / acme",
                b64("acme+pub123:Zq8#x")
            )),
            "*** / *** / *** / acme"
        );
        let cc = Scrubber::for_credentials(&Credentials::ClientCredentials(
            ClientCredentials::new("client-abc", "s3cr3t"),
        ));
        assert_eq!(
            cc.scrub("client-abc:s3cr3t s3cr3t client-abc"),
            "*** *** client-abc"
        );
    }

    #[test]
    fn every_credential_of_a_request() {
        let url = Url::parse("https://u:pw-in-url@h.example/x?api_key=q-key&page=2").unwrap();
        let request = Request::new(Method::POST, url)
            .secret_header("X-Custom", &SecretString::from("custom-secret"))
            .header("ApiIntegrationCode", "integration-code")
            .header("clientId", "not-a-secret")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "client-abc"),
                ("client_secret", "s3"),
            ]);
        let s = Scrubber::for_request(&request);
        assert_eq!(
            s.scrub("custom-secret integration-code q-key pw-in-url s3 not-a-secret client_credentials page"),
            "*** *** *** *** *** not-a-secret client_credentials page"
        );
        let json = Request::new(Method::POST, Url::parse("https://h.example/t").unwrap())
            .json(&serde_json::json!({"password": "hunter2", "name": "bob"}));
        assert_eq!(Scrubber::for_request(&json).scrub("hunter2 bob"), "*** bob");
        assert!(!format!("{s:?}").contains("custom-secret"));
    }
}
