//! The ID token's checks (OpenID Connect Core 1.0 §3.1.3.7): its form and algorithm
//! first, then its signature, and only then what it claims.

use std::str::FromStr;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::{Map, Value};

use crate::error::IdTokenCheck;
use crate::secrets::constant_time_eq;

/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub(crate) const LEEWAY: u64 = 60;

/// base64url, with or without padding (JWS never pads, but tolerance costs nothing).
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An ID token split into its parts, its header read and its algorithm accepted; not
/// yet verified.
pub(crate) struct Unverified<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    /// `header.payload`, what the signature covers.
    signing_input: &'a str,
    payload: &'a str,
    signature: &'a str,
}

/// What the claims must say.
pub(crate) struct Expected<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) nonce: &'a str,
    /// Seconds since the Unix epoch.
    pub(crate) now: u64,
}

/// Splits the compact JWS and reads its header. Only asymmetric algorithms pass: `none`
/// would need no key, and with HMAC the "key" would be the client secret, which makes
/// the token forgeable by anyone who has it (and by confusion attacks, by anyone with
/// the provider's public key).
pub(crate) fn read(token: &str) -> Result<Unverified<'_>, IdTokenCheck> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenCheck::Malformed);
    };
    let header = decode_object(header)?;
    // A critical extension we do not understand must make us refuse (RFC 7515 §4.1.11).
    if header.contains_key("crit") {
        return Err(IdTokenCheck::Malformed);
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(IdTokenCheck::Algorithm)?;
    let alg = Algorithm::from_str(alg).map_err(|_| IdTokenCheck::Algorithm)?;
    if alg.family() == AlgorithmFamily::Hmac {
        return Err(IdTokenCheck::Algorithm);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(IdTokenCheck::Malformed),
    };
    let signing_input = &token[..token.len() - signature.len() - 1];
    Ok(Unverified {
        alg,
        kid,
        signing_input,
        payload,
        signature,
    })
}

impl Unverified<'_> {
    /// Verifies the signature with `key`, then the claims; returns the claims.
    pub(crate) fn verify(
        &self,
        key: &DecodingKey,
        expected: &Expected,
    ) -> Result<Map<String, Value>, IdTokenCheck> {
        let signed = jsonwebtoken::crypto::verify(
            self.signature,
            self.signing_input.as_bytes(),
            key,
            self.alg,
        );
        if !matches!(signed, Ok(true)) {
            return Err(IdTokenCheck::Signature);
        }
        let claims = decode_object(self.payload)?;
        check_claims(&claims, expected)?;
        Ok(claims)
    }
}

fn check_claims(claims: &Map<String, Value>, expected: &Expected) -> Result<(), IdTokenCheck> {
    if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
        return Err(IdTokenCheck::Issuer);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(IdTokenCheck::Audience);
    }
    let azp = claims.get("azp");
    let several = matches!(claims.get("aud"), Some(Value::Array(a)) if a.len() > 1);
    if (several || azp.is_some()) && azp.and_then(Value::as_str) != Some(expected.client_id) {
        return Err(IdTokenCheck::AuthorizedParty);
    }
    let exp = seconds(claims.get("exp")).ok_or(IdTokenCheck::Expired)?;
    if exp + LEEWAY as f64 <= expected.now as f64 {
        return Err(IdTokenCheck::Expired);
    }
    let iat = seconds(claims.get("iat")).ok_or(IdTokenCheck::IssuedInFuture)?;
    if iat > (expected.now + LEEWAY) as f64 {
        return Err(IdTokenCheck::IssuedInFuture);
    }
    let nonce = claims.get("nonce").and_then(Value::as_str);
    if !nonce.is_some_and(|n| constant_time_eq(n.as_bytes(), expected.nonce.as_bytes())) {
        return Err(IdTokenCheck::Nonce);
    }
    let sub = claims.get("sub").and_then(Value::as_str);
    if sub.is_none_or(str::is_empty) {
        return Err(IdTokenCheck::Subject);
    }
    Ok(())
}

/// A NumericDate (seconds, possibly fractional).
fn seconds(value: Option<&Value>) -> Option<f64> {
    value?.as_f64().filter(|s| s.is_finite())
}

fn decode_object(part: &str) -> Result<Map<String, Value>, IdTokenCheck> {
    let bytes = B64URL.decode(part).map_err(|_| IdTokenCheck::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(IdTokenCheck::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn part(value: &Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token(header: Value) -> String {
        format!("{}.{}.c2ln", part(&header), part(&json!({"sub": "x"})))
    }

    #[test]
    fn only_asymmetric_algorithms_are_read() {
        for alg in [
            "none", "None", "HS256", "HS384", "HS512", "RS1", "ES512", "",
        ] {
            let t = token(json!({"alg": alg, "kid": "k"}));
            assert_eq!(read(&t).err(), Some(IdTokenCheck::Algorithm), "{alg}");
        }
        assert_eq!(
            read(&token(json!({"kid": "k"}))).err(),
            Some(IdTokenCheck::Algorithm)
        );
        for alg in [
            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
        ] {
            let t = token(json!({"alg": alg, "kid": "k"}));
            let read = read(&t).unwrap();
            assert_eq!(read.kid.as_deref(), Some("k"));
        }
    }

    #[test]
    fn malformed_tokens() {
        for t in [
            "",
            "a.b",
            "a.b.c.d",
            "!!!.e30.c2ln",
            "bm90IGpzb24.e30.c2ln",
            &token(json!({"alg": "RS256", "crit": ["exp"]})),
            &token(json!({"alg": "RS256", "kid": 5})),
        ] {
            assert_eq!(read(t).err(), Some(IdTokenCheck::Malformed), "{t}");
        }
    }

    #[test]
    fn the_signing_input_is_header_dot_payload() {
        let t = token(json!({"alg": "RS256"}));
        let read = read(&t).unwrap();
        assert_eq!(format!("{}.c2ln", read.signing_input), t);
        assert_eq!(read.signature, "c2ln");
    }

    const NOW: u64 = 1_800_000_000;

    fn claims() -> Map<String, Value> {
        match json!({
            "iss": "https://id.example.com",
            "aud": "client",
            "sub": "person",
            "exp": NOW + 300,
            "iat": NOW,
            "nonce": "n-1",
        }) {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn check(edit: impl FnOnce(&mut Map<String, Value>)) -> Result<(), IdTokenCheck> {
        let mut c = claims();
        edit(&mut c);
        check_claims(
            &c,
            &Expected {
                issuer: "https://id.example.com",
                client_id: "client",
                nonce: "n-1",
                now: NOW,
            },
        )
    }

    #[test]
    fn good_claims_pass() {
        assert_eq!(check(|_| {}), Ok(()));
        assert_eq!(
            check(|c| {
                c.insert("aud".into(), json!(["client"]));
            }),
            Ok(())
        );
        assert_eq!(
            check(|c| {
                c.insert("aud".into(), json!(["other", "client"]));
                c.insert("azp".into(), json!("client"));
            }),
            Ok(())
        );
        // Within the leeway either way.
        assert_eq!(
            check(|c| {
                c.insert("exp".into(), json!(NOW - 59));
            }),
            Ok(())
        );
        assert_eq!(
            check(|c| {
                c.insert("iat".into(), json!(NOW + 60));
            }),
            Ok(())
        );
        assert_eq!(
            check(|c| {
                c.insert("exp".into(), json!(NOW as f64 + 0.5));
            }),
            Ok(())
        );
    }

    #[test]
    fn each_claim_is_checked() {
        type Edit = Box<dyn FnOnce(&mut Map<String, Value>)>;
        let cases: Vec<(IdTokenCheck, Edit)> = vec![
            (
                IdTokenCheck::Issuer,
                Box::new(|c| {
                    c.insert("iss".into(), json!("https://id.example.com/"));
                }),
            ),
            (
                IdTokenCheck::Issuer,
                Box::new(|c| {
                    c.remove("iss");
                }),
            ),
            (
                IdTokenCheck::Audience,
                Box::new(|c| {
                    c.insert("aud".into(), json!("other"));
                }),
            ),
            (
                IdTokenCheck::Audience,
                Box::new(|c| {
                    c.insert("aud".into(), json!(["other"]));
                }),
            ),
            (
                IdTokenCheck::Audience,
                Box::new(|c| {
                    c.remove("aud");
                }),
            ),
            (
                IdTokenCheck::AuthorizedParty,
                Box::new(|c| {
                    c.insert("aud".into(), json!(["client", "other"]));
                }),
            ),
            (
                IdTokenCheck::AuthorizedParty,
                Box::new(|c| {
                    c.insert("aud".into(), json!(["client", "other"]));
                    c.insert("azp".into(), json!("other"));
                }),
            ),
            (
                IdTokenCheck::AuthorizedParty,
                Box::new(|c| {
                    c.insert("azp".into(), json!("other"));
                }),
            ),
            (
                IdTokenCheck::Expired,
                Box::new(|c| {
                    c.insert("exp".into(), json!(NOW - 60));
                }),
            ),
            (
                IdTokenCheck::Expired,
                Box::new(|c| {
                    c.insert("exp".into(), json!("soon"));
                }),
            ),
            (
                IdTokenCheck::Expired,
                Box::new(|c| {
                    c.remove("exp");
                }),
            ),
            (
                IdTokenCheck::IssuedInFuture,
                Box::new(|c| {
                    c.insert("iat".into(), json!(NOW + 61));
                }),
            ),
            (
                IdTokenCheck::IssuedInFuture,
                Box::new(|c| {
                    c.remove("iat");
                }),
            ),
            (
                IdTokenCheck::Nonce,
                Box::new(|c| {
                    c.insert("nonce".into(), json!("n-2"));
                }),
            ),
            (
                IdTokenCheck::Nonce,
                Box::new(|c| {
                    c.insert("nonce".into(), json!("n-"));
                }),
            ),
            (
                IdTokenCheck::Nonce,
                Box::new(|c| {
                    c.remove("nonce");
                }),
            ),
            (
                IdTokenCheck::Subject,
                Box::new(|c| {
                    c.insert("sub".into(), json!(""));
                }),
            ),
            (
                IdTokenCheck::Subject,
                Box::new(|c| {
                    c.remove("sub");
                }),
            ),
        ];
        for (i, (expected, edit)) in cases.into_iter().enumerate() {
            assert_eq!(check(edit), Err(expected), "case {i}");
        }
    }
}
