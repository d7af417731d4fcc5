//! The provider's signing keys (a JWK Set, RFC 7517), and which of them verifies a
//! given ID token.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::error::SsoError;

/// The usable signature keys of a JWK Set. Keys we cannot use (encryption keys,
/// symmetric keys, unknown types or curves) are left out, not an error: providers
/// publish them beside their signing keys.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeySet {
    keys: Vec<Key>,
}

#[derive(Clone, Debug)]
struct Key {
    kid: Option<String>,
    /// The `alg` the key is declared for, if any (then it is used for nothing else).
    alg: Option<String>,
    kind: Kind,
    key: DecodingKey,
}

/// The key's type, as far as choosing an algorithm goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl Kind {
    fn of(alg: Algorithm) -> Option<Kind> {
        match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => Some(Kind::Rsa),
            Algorithm::ES256 => Some(Kind::P256),
            Algorithm::ES384 => Some(Kind::P384),
            Algorithm::EdDSA => Some(Kind::Ed25519),
            _ => None,
        }
    }
}

impl KeySet {
    /// Reads a JWK Set document.
    pub(crate) fn parse(body: &[u8]) -> Result<KeySet, SsoError> {
        let keys = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(mut set)) => match set.remove("keys") {
                Some(Value::Array(keys)) => keys,
                _ => return Err(SsoError::Body("JWKS without a keys list".into())),
            },
            _ => return Err(SsoError::Body("JWKS is not a JSON object".into())),
        };
        Ok(KeySet {
            keys: keys.into_iter().filter_map(usable).collect(),
        })
    }

    /// The key to verify a token signed with `alg`: the one named `kid`, or without a
    /// `kid` the only key of that type. Either way its type must fit `alg`, and its own
    /// `alg`, when it declares one, must be `alg`.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Option<&DecodingKey> {
        let kind = Kind::of(alg)?;
        let name = alg_name(alg);
        let mut fitting = self.keys.iter().filter(|k| {
            k.kind == kind
                && k.alg.as_deref().is_none_or(|declared| declared == name)
                && kid.is_none_or(|kid| k.kid.as_deref() == Some(kid))
        });
        let first = fitting.next()?;
        // Without a kid, two candidates would be a guess; with one, the kid decides.
        if kid.is_none() && fitting.next().is_some() {
            return None;
        }
        Some(&first.key)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.keys.len()
    }
}

/// The key of one JWK, when it is a public signature key we can verify with.
fn usable(value: Value) -> Option<Key> {
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let kid = text("kid");
    let alg = text("alg");
    let jwk: Jwk = serde_json::from_value(value).ok()?;
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Kind::Rsa,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Kind::P256,
            EllipticCurve::P384 => Kind::P384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => Kind::Ed25519,
        // Symmetric keys would let anyone holding them sign; never ours to trust.
        _ => return None,
    };
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(Key {
        kid,
        alg,
        kind,
        key,
    })
}

/// The JOSE name of an algorithm (`RS256`...), as JWKs and headers write it.
pub(crate) fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Public values of real keys (from RFC 7517 appendix A.1, and RFC 8037 §A.2).
    const RSA_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    const EC_X: &str = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
    const EC_Y: &str = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn set(keys: Value) -> KeySet {
        KeySet::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    fn rsa(kid: &str) -> Value {
        json!({"kty": "RSA", "kid": kid, "use": "sig", "n": RSA_N, "e": "AQAB"})
    }

    fn ec(kid: &str) -> Value {
        json!({"kty": "EC", "kid": kid, "crv": "P-256", "x": EC_X, "y": EC_Y})
    }

    #[test]
    fn by_kid_and_type() {
        let keys = set(json!([rsa("r1"), rsa("r2"), ec("e1")]));
        assert!(keys.select(Some("r2"), Algorithm::RS256).is_some());
        assert!(keys.select(Some("r2"), Algorithm::PS512).is_some());
        assert!(keys.select(Some("e1"), Algorithm::ES256).is_some());
        // A kid of another type, or a curve that is not the algorithm's.
        assert!(keys.select(Some("e1"), Algorithm::RS256).is_none());
        assert!(keys.select(Some("e1"), Algorithm::ES384).is_none());
        assert!(keys.select(Some("r9"), Algorithm::RS256).is_none());
    }

    #[test]
    fn without_kid_only_a_single_candidate() {
        let keys = set(json!([rsa("r1"), ec("e1")]));
        assert!(keys.select(None, Algorithm::RS256).is_some());
        assert!(keys.select(None, Algorithm::ES256).is_some());
        assert!(keys.select(None, Algorithm::EdDSA).is_none());
        let keys = set(json!([rsa("r1"), rsa("r2")]));
        assert!(keys.select(None, Algorithm::RS256).is_none());
    }

    #[test]
    fn declared_alg_binds_the_key() {
        let mut key = rsa("r1");
        key["alg"] = json!("PS256");
        let keys = set(json!([key]));
        assert!(keys.select(Some("r1"), Algorithm::PS256).is_some());
        assert!(keys.select(Some("r1"), Algorithm::RS256).is_none());
    }

    #[test]
    fn unusable_keys_are_left_out() {
        let mut enc = rsa("enc");
        enc["use"] = json!("enc");
        let keys = set(json!([
            enc,
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "p521", "crv": "P-521", "x": EC_X, "y": EC_Y},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": ED_X},
            {"kty": "weird", "kid": "w"},
            "not an object",
            rsa("ok"),
        ]));
        assert_eq!(keys.len(), 2);
        assert!(keys.select(Some("h"), Algorithm::HS256).is_none());
        assert!(keys.select(Some("ed"), Algorithm::EdDSA).is_some());
        assert!(keys.select(Some("enc"), Algorithm::RS256).is_none());
    }

    #[test]
    fn documents_without_keys_are_errors() {
        assert!(KeySet::parse(b"{}").is_err());
        assert!(KeySet::parse(b"not json").is_err());
        assert!(KeySet::parse(br#"{"keys": {}}"#).is_err());
        assert_eq!(KeySet::parse(br#"{"keys": []}"#).unwrap().len(), 0);
    }
}
