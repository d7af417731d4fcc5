//! The OpenID Provider mode's signing keys: generated with aws-lc-rs, published as a
//! JWK Set, and used to sign ID tokens (compact JWS, RFC 7515).

use std::sync::{Arc, OnceLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::config::SigningAlg;
use crate::state::random_string;

/// One generation of keys: RSA (2048 bits), EC P-256 and Ed25519, each with its `kid`.
#[derive(Clone)]
pub(crate) struct KeyRing {
    rsa: Arc<Named<RsaKeyPair>>,
    ec: Arc<Named<EcdsaKeyPair>>,
    ed: Arc<Named<Ed25519KeyPair>>,
}

struct Named<K> {
    kid: String,
    key: K,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("rsa", &self.rsa.kid)
            .field("ec", &self.ec.kid)
            .field("ed", &self.ed.kid)
            .finish()
    }
}

impl KeyRing {
    /// The process's first generation: RSA key generation takes a while, and mocks
    /// started by the same test process may share it (each rotation is new).
    pub(crate) fn initial() -> Result<KeyRing, String> {
        static INITIAL: OnceLock<Result<KeyRing, String>> = OnceLock::new();
        INITIAL.get_or_init(KeyRing::generate).clone()
    }

    /// A new generation, every `kid` new.
    pub(crate) fn generate() -> Result<KeyRing, String> {
        let suffix = &random_string()[..8];
        let failed = |what: &str| format!("cannot generate the {what} key");
        Ok(KeyRing {
            rsa: Arc::new(Named {
                kid: format!("rsa-{suffix}"),
                key: RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| failed("RSA"))?,
            }),
            ec: Arc::new(Named {
                kid: format!("ec-{suffix}"),
                key: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| failed("EC"))?,
            }),
            ed: Arc::new(Named {
                kid: format!("ed-{suffix}"),
                key: Ed25519KeyPair::generate().map_err(|_| failed("Ed25519"))?,
            }),
        })
    }

    /// The public keys as a JWK Set.
    pub(crate) fn jwks(&self) -> Value {
        let rsa = RsaPublicKeyComponents::<Vec<u8>>::from(self.rsa.key.public_key());
        // The EC public key is the uncompressed point: 0x04, x, y.
        let point = self.ec.key.public_key().as_ref();
        let (x, y) = point[1..].split_at(32);
        json!({ "keys": [
            {
                "kty": "RSA", "use": "sig", "kid": self.rsa.kid,
                "n": b64(&rsa.n), "e": b64(&rsa.e),
            },
            {
                "kty": "EC", "use": "sig", "kid": self.ec.kid, "alg": "ES256",
                "crv": "P-256", "x": b64(x), "y": b64(y),
            },
            {
                "kty": "OKP", "use": "sig", "kid": self.ed.kid, "alg": "EdDSA",
                "crv": "Ed25519", "x": b64(self.ed.key.public_key().as_ref()),
            },
        ]})
    }

    /// The `kid` of the key that signs with `alg`.
    pub(crate) fn kid(&self, alg: SigningAlg) -> &str {
        match alg {
            SigningAlg::Rs256 | SigningAlg::Ps256 => &self.rsa.kid,
            SigningAlg::Es256 => &self.ec.kid,
            SigningAlg::EdDsa => &self.ed.kid,
        }
    }

    /// The signature of `input` (the JWS signing input) with `alg`'s key.
    pub(crate) fn sign(&self, alg: SigningAlg, input: &[u8]) -> Result<Vec<u8>, String> {
        let rng = SystemRandom::new();
        let failed = |_| format!("signing with {} failed", alg.name());
        match alg {
            SigningAlg::Rs256 | SigningAlg::Ps256 => {
                let padding = match alg {
                    SigningAlg::Rs256 => &RSA_PKCS1_SHA256,
                    _ => &RSA_PSS_SHA256,
                };
                let mut signature = vec![0; self.rsa.key.public_modulus_len()];
                self.rsa
                    .key
                    .sign(padding, &rng, input, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
            SigningAlg::Es256 => Ok(self
                .ec
                .key
                .sign(&rng, input)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            SigningAlg::EdDsa => Ok(self.ed.key.sign(input).as_ref().to_vec()),
        }
    }
}

/// A compact JWS of `claims` with `header`, signed by `sign` (given the signing input).
pub(crate) fn compact(
    header: &Value,
    claims: &Value,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<String, String> {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes())?;
    Ok(format!("{input}.{}", b64(&signature)))
}

/// An HMAC-SHA256 with `secret` as the key: what a client that trusted `alg: HS256`
/// would check, with its own client secret.
pub(crate) fn hmac_sha256(secret: &[u8], input: &[u8]) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{
        UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ED25519, RSA_PKCS1_2048_8192_SHA256,
        RSA_PSS_2048_8192_SHA256,
    };

    fn unb64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    /// What the JWKS publishes verifies what the keys sign.
    #[test]
    fn published_keys_verify_signatures() {
        let ring = KeyRing::initial().unwrap();
        let jwks = ring.jwks();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 3);
        let message = b"header.payload";

        let rsa = RsaPublicKeyComponents {
            n: unb64(keys[0]["n"].as_str().unwrap()),
            e: unb64(keys[0]["e"].as_str().unwrap()),
        };
        for (alg, params) in [
            (SigningAlg::Rs256, &RSA_PKCS1_2048_8192_SHA256),
            (SigningAlg::Ps256, &RSA_PSS_2048_8192_SHA256),
        ] {
            let signature = ring.sign(alg, message).unwrap();
            rsa.verify(params, message, &signature).unwrap();
            assert!(rsa.verify(params, b"other", &signature).is_err());
        }

        let mut point = vec![4u8];
        point.extend(unb64(keys[1]["x"].as_str().unwrap()));
        point.extend(unb64(keys[1]["y"].as_str().unwrap()));
        let signature = ring.sign(SigningAlg::Es256, message).unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(message, &signature)
            .unwrap();

        let ed = unb64(keys[2]["x"].as_str().unwrap());
        let signature = ring.sign(SigningAlg::EdDsa, message).unwrap();
        UnparsedPublicKey::new(&ED25519, &ed)
            .verify(message, &signature)
            .unwrap();
    }

    #[test]
    fn generations_differ() {
        let a = KeyRing::initial().unwrap();
        let b = KeyRing::generate().unwrap();
        assert_ne!(a.kid(SigningAlg::Rs256), b.kid(SigningAlg::Rs256));
        assert_ne!(a.jwks()["keys"][0]["n"], b.jwks()["keys"][0]["n"]);
        assert_eq!(a.kid(SigningAlg::Ps256), a.kid(SigningAlg::Rs256));
    }

    #[test]
    fn compact_serialization() {
        let jws = compact(&json!({"alg": "x"}), &json!({"a": 1}), |input| {
            assert_eq!(input, b"eyJhbGciOiJ4In0.eyJhIjoxfQ");
            Ok(b"sig".to_vec())
        })
        .unwrap();
        assert_eq!(jws, "eyJhbGciOiJ4In0.eyJhIjoxfQ.c2ln");
    }
}
