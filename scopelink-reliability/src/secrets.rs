//! [`Secrets`]: the strings a secrets-in-logs test must never find in a
//! `Debug` output, an error chain or the captured log, each with a name for
//! the failure message.

use crate::log_capture::LogCapture;
use std::fmt::Debug;

/// The secrets of one flow, each with a name. Deliberately not `Debug`.
#[derive(Default)]
pub struct Secrets(Vec<(String, String)>);

impl Secrets {
    /// No secrets yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The secrets of `pairs` (name, value), each added with [`Secrets::add`].
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut secrets = Self::new();
        for (name, value) in pairs {
            secrets.add(name, value);
        }
        secrets
    }

    /// Adds a secret. Panics on a value under 8 characters: too short to
    /// search for without false alarms.
    pub fn add(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        assert!(value.len() >= 8, "{name} too short to search for");
        self.0.push((name, value));
    }

    /// How many secrets there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Asserts that `text` (what `what` shows) holds no secret; the failure
    /// message names the secret and shows its surroundings with the secret
    /// itself replaced.
    pub fn check(&self, what: &str, text: &str) {
        for (name, secret) in &self.0 {
            assert!(
                !text.contains(secret.as_str()),
                "{what} shows the {name}: …{}…",
                excerpt(text, secret)
            );
        }
    }

    /// [`Secrets::check`] on `value`'s `Debug` output, plain and pretty.
    pub fn check_debug(&self, what: &str, value: &dyn Debug) {
        self.check(what, &format!("{value:?}"));
        self.check(what, &format!("{value:#?}"));
    }

    /// [`Secrets::check`] on an error's message, its `Debug` output and the
    /// message of each of its sources.
    pub fn check_error<E: std::error::Error>(&self, what: &str, e: &E) {
        self.check(what, &e.to_string());
        self.check_debug(what, e);
        let mut source = e.source();
        while let Some(s) = source {
            self.check(what, &s.to_string());
            source = s.source();
        }
    }

    /// Asserts that no line of `capture` shows a secret.
    pub fn check_log(&self, capture: &LogCapture) {
        let needles: Vec<&str> = self.0.iter().map(|(_, s)| s.as_str()).collect();
        let leaked = capture.lines_containing(&needles);
        assert!(
            leaked.is_empty(),
            "{} captured log lines show a secret, e.g. {}",
            leaked.len(),
            leaked.first().map(String::as_str).unwrap_or_default()
        );
    }
}

/// `text` around the first `secret`, with the secret replaced.
fn excerpt(text: &str, secret: &str) -> String {
    let at = text.find(secret).unwrap_or(0);
    let mut start = at.saturating_sub(60);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + secret.len() + 20).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    text[start..end].replace(secret, "<SECRET>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "shows the token: …Bearer <SECRET> sent…")]
    fn a_leak_names_the_secret_and_hides_it() {
        let secrets = Secrets::from_pairs([("token", "tok-123456")]);
        secrets.check("the log", "Bearer tok-123456 sent");
    }

    #[test]
    fn clean_text_passes() {
        let secrets = Secrets::from_pairs([("token", "tok-123456")]);
        secrets.check("the log", "Bearer <redacted> sent");
        secrets.check_debug("a value", &"nothing here");
        assert_eq!(secrets.len(), 1);
    }
}
