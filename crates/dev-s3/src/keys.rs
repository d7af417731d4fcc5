//! Who may sign requests: the configured key pair, and temporary credentials added at
//! run time, each with the session token that must come with it and an expiry — as
//! STS-issued credentials behave on real S3.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use http::HeaderMap;
use s3s::auth::{S3Auth, SecretKey};
use s3s::{s3_error, S3Result};

#[derive(Clone)]
struct Temporary {
    secret_key: String,
    session_token: String,
    expires: SystemTime,
}

/// The keys the server accepts; shared between the auth of s3s and the token check.
#[derive(Clone)]
pub(crate) struct Keys {
    access_key: String,
    secret_key: String,
    temporary: Arc<Mutex<HashMap<String, Temporary>>>,
}

/// Why a request signed with temporary credentials is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// Missing, wrong, or not among the signed headers.
    Invalid,
    Expired,
}

impl Keys {
    pub(crate) fn new(access_key: &str, secret_key: &str) -> Keys {
        Keys {
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            temporary: Arc::default(),
        }
    }

    fn temporary(&self) -> MutexGuard<'_, HashMap<String, Temporary>> {
        self.temporary.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn add_temporary(
        &self,
        access_key: &str,
        secret_key: &str,
        session_token: &str,
        expires: SystemTime,
    ) {
        self.temporary().insert(
            access_key.to_string(),
            Temporary {
                secret_key: secret_key.to_string(),
                session_token: session_token.to_string(),
                expires,
            },
        );
    }

    /// For a request signed with temporary credentials: its `x-amz-security-token` must
    /// be theirs, be signed, and they must not have expired. Other requests pass.
    pub(crate) fn check_token(&self, headers: &HeaderMap) -> Result<(), TokenProblem> {
        let Some(authorization) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Ok(());
        };
        let Some(access_key) =
            field(authorization, "Credential=").and_then(|c| c.split('/').next())
        else {
            return Ok(());
        };
        let Some(temporary) = self.temporary().get(access_key).cloned() else {
            return Ok(());
        };
        let token = headers
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok());
        let signed = field(authorization, "SignedHeaders=")
            .is_some_and(|names| names.split(';').any(|n| n == "x-amz-security-token"));
        if token != Some(temporary.session_token.as_str()) || !signed {
            return Err(TokenProblem::Invalid);
        }
        if SystemTime::now() >= temporary.expires {
            return Err(TokenProblem::Expired);
        }
        Ok(())
    }
}

/// The value of `name` (`Credential=`, `SignedHeaders=`) in a SigV4 `Authorization`.
fn field<'a>(authorization: &'a str, name: &str) -> Option<&'a str> {
    let start = authorization.find(name)? + name.len();
    let rest = &authorization[start..];
    Some(rest.split([',', ' ']).next().unwrap_or(rest))
}

#[async_trait::async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        if access_key == self.access_key {
            return Ok(SecretKey::from(self.secret_key.as_str()));
        }
        match self.temporary().get(access_key) {
            Some(t) => Ok(SecretKey::from(t.secret_key.as_str())),
            None => Err(s3_error!(InvalidAccessKeyId)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn signed(access_key: &str, token: Option<&str>, token_signed: bool) -> HeaderMap {
        let mut h = HeaderMap::new();
        let names = if token_signed {
            "host;x-amz-date;x-amz-security-token"
        } else {
            "host;x-amz-date"
        };
        h.insert(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential={access_key}/20260101/us-east-1/s3/aws4_request, SignedHeaders={names}, Signature=00")
                .parse()
                .unwrap(),
        );
        if let Some(token) = token {
            h.insert("x-amz-security-token", token.parse().unwrap());
        }
        h
    }

    #[test]
    fn temporary_credentials_need_their_own_signed_unexpired_token() {
        let keys = Keys::new("AK", "SK");
        let later = SystemTime::now() + Duration::from_secs(60);
        keys.add_temporary("ASIA1", "secret1", "token1", later);
        keys.add_temporary(
            "ASIA2",
            "secret2",
            "token2",
            SystemTime::now() - Duration::from_secs(1),
        );
        assert_eq!(keys.check_token(&signed("AK", None, false)), Ok(()));
        assert_eq!(
            keys.check_token(&signed("ASIA1", Some("token1"), true)),
            Ok(())
        );
        for (token, token_signed) in [
            (None, true),
            (Some("token2"), true),
            (Some("token1"), false),
        ] {
            assert_eq!(
                keys.check_token(&signed("ASIA1", token, token_signed)),
                Err(TokenProblem::Invalid)
            );
        }
        assert_eq!(
            keys.check_token(&signed("ASIA2", Some("token2"), true)),
            Err(TokenProblem::Expired)
        );
    }
}
