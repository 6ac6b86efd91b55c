//! PKCE (RFC 7636, S256) verifiers and challenges, and OAuth `state`
//! values, from the OS CSPRNG.

use super::OAuthError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

fn random_urlsafe(bytes: usize) -> Result<String, OAuthError> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| OAuthError::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// A new code verifier: 32 random bytes, base64url (43 characters, within
/// RFC 7636's 43..=128 of the unreserved set).
pub fn new_verifier() -> Result<SecretString, OAuthError> {
    random_urlsafe(32).map(SecretString::from)
}

/// A new `state`: 32 random bytes, base64url.
pub fn new_state() -> Result<String, OAuthError> {
    random_urlsafe(32)
}

/// The S256 code challenge of `verifier`:
/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
///
/// ```
/// use scopelink_core::oauth::{challenge_s256, new_state, new_verifier};
/// use secrecy::ExposeSecret;
///
/// // RFC 7636, appendix B.
/// assert_eq!(
///     challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
///     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
/// );
/// let verifier = new_verifier()?;
/// assert_eq!(verifier.expose_secret().len(), 43);
/// assert_ne!(new_state()?, new_state()?);
/// # Ok::<(), scopelink_core::oauth::OAuthError>(())
/// ```
pub fn challenge_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn oauth_pkce_rfc7636_appendix_b_vector() {
        assert_eq!(
            challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn oauth_pkce_verifiers_are_fresh_and_well_formed() {
        let a = new_verifier().unwrap();
        let b = new_verifier().unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 43);
        assert!(a
            .expose_secret()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(new_state().unwrap(), new_state().unwrap());
    }
}
