//! Values that must never reach a log line: their `Debug` never shows them.

use base64::Engine;
use rand::RngCore;

/// Whether `a` and `b` are equal, in a time that does not depend on where they differ
/// (only on their lengths): for comparing a secret with what a request brought.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An OAuth2 access token. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(pub String);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// An OpenID Connect ID token as the provider sent it (a JWS, verified before it is
/// handed out), kept for `id_token_hint` at sign-out. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct IdToken(pub String);

impl std::fmt::Debug for IdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdToken(<redacted>)")
    }
}

/// 32 bytes: as much as the state.
const NONCE_BYTES: usize = 32;

/// An OpenID Connect `nonce`: random, per sign-in, kept server-side with the state, and
/// required in the ID token that ends that sign-in (a token replayed from another
/// sign-in is refused). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Nonce(String);

impl std::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonce(<redacted>)")
    }
}

impl Nonce {
    /// A fresh nonce from the operating system's CSPRNG (through `rand`'s `ThreadRng`):
    /// 32 bytes, base64url without padding (43 characters, nothing to encode in a URL).
    pub fn generate() -> Nonce {
        let mut bytes = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Nonce(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A nonce saved earlier (as [`Nonce::as_str`] gave it).
    pub fn from_saved(nonce: String) -> Nonce {
        Nonce(nonce)
    }

    /// The nonce itself, to save with the sign-in's state. Never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_random_and_url_safe() {
        let a = Nonce::generate();
        let b = Nonce::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert!(a
            .as_str()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(Nonce::from_saved(a.as_str().to_owned()), a);
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let nonce = Nonce::generate();
        assert!(!format!("{nonce:?}").contains(nonce.as_str()));
        assert_eq!(
            format!("{:?}", IdToken("eyJ.secret.part".into())),
            "IdToken(<redacted>)"
        );
        assert_eq!(
            format!("{:?}", AccessToken("tok".into())),
            "AccessToken(<redacted>)"
        );
    }
}
