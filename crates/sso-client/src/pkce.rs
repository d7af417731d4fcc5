//! PKCE (RFC 7636): a secret per sign-in that binds the code to whoever started it, so
//! an intercepted code is useless without it.

use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

/// RFC 7636 §4.1: the verifier's characters (the URL "unreserved" set).
const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
/// Between the 43 and 128 characters the RFC allows: 64 × log2(66) ≈ 387 bits.
const VERIFIER_LEN: usize = 64;

/// A code verifier: random, per sign-in, kept server-side until the code is exchanged.
#[derive(Clone, PartialEq, Eq)]
pub struct PkceVerifier(String);

impl std::fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PkceVerifier(<redacted>)")
    }
}

impl PkceVerifier {
    /// A fresh verifier from the operating system's CSPRNG (through `rand`'s
    /// `ThreadRng`, a CSPRNG reseeded from it).
    pub fn generate() -> PkceVerifier {
        let mut rng = rand::rng();
        let verifier = (0..VERIFIER_LEN)
            .map(|_| char::from(UNRESERVED[rng.random_range(0..UNRESERVED.len())]))
            .collect();
        PkceVerifier(verifier)
    }

    /// A verifier saved earlier (as [`PkceVerifier::as_str`] gave it).
    pub fn from_saved(verifier: String) -> PkceVerifier {
        PkceVerifier(verifier)
    }

    /// The verifier itself, to save until the code is exchanged. A secret: never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `code_challenge` for `code_challenge_method=S256`: base64url, without padding, of
    /// the verifier's SHA-256.
    pub fn challenge(&self) -> String {
        s256_challenge(&self.0)
    }
}

/// Appends `&code_challenge=…&code_challenge_method=S256` to an authorize URL when the
/// sign-in has a verifier.
pub(crate) fn push_challenge(url: &mut String, pkce: Option<&PkceVerifier>) {
    if let Some(verifier) = pkce {
        // base64url is all unreserved characters: nothing to encode.
        url.push_str("&code_challenge=");
        url.push_str(&verifier.challenge());
        url.push_str("&code_challenge_method=S256");
    }
}

/// The S256 challenge of `verifier` (also what a server computes to check it).
pub fn s256_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b_example() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_long_random_and_unreserved() {
        let a = PkceVerifier::generate();
        let b = PkceVerifier::generate();
        assert_ne!(a, b);
        assert!((43..=128).contains(&a.as_str().len()));
        assert!(a.as_str().bytes().all(|c| UNRESERVED.contains(&c)));
        assert_eq!(a.challenge().len(), 43);
        assert!(!format!("{a:?}").contains(a.as_str()));
    }
}
