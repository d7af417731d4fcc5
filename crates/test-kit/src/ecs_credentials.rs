//! An ECS-style credentials endpoint (what `AWS_CONTAINER_CREDENTIALS_FULL_URI` names):
//! each call issues new temporary credentials that live a short time, and registers them
//! with dev-s3, which then checks their session token and expiry.

use std::ops::Deref;
use std::time::Duration;

use dev_s3::TemporaryCredentials;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response};

use crate::credential_endpoint::{self, Answers, CredentialEndpoint, Issuer};

const TAG: &str = "ECS";

/// Counts, behaviour and life through [`CredentialEndpoint`].
pub struct EcsCredentials(CredentialEndpoint);

struct Ecs;

impl Answers for Ecs {
    fn answer(&self, _request: &Request<Bytes>, issuer: &Issuer) -> Response<Full<Bytes>> {
        let set = issuer.issue();
        let body = serde_json::json!({
            "AccessKeyId": set.access_key,
            "SecretAccessKey": set.secret_key,
            "Token": set.token,
            "Expiration": set.expiration(),
            "RoleArn": "arn:aws:iam::111122223333:role/test-task",
        });
        Response::new(Full::new(Bytes::from(body.to_string())))
    }

    fn failure(&self) -> Response<Full<Bytes>> {
        credential_endpoint::status(
            500,
            r#"{"code":"InternalError","message":"stand-in failing"}"#,
        )
    }
}

impl EcsCredentials {
    /// Issues credentials living `life` and registers each set with `s3`.
    pub async fn start(s3: TemporaryCredentials, life: Duration) -> EcsCredentials {
        EcsCredentials(CredentialEndpoint::start(s3, life, TAG, Ecs).await)
    }

    /// The value for `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub fn uri(&self) -> String {
        format!("http://{}/v2/credentials/test-task", self.addr())
    }

    /// The access key of the `n`th set (from 1).
    pub fn access_key(n: usize) -> String {
        credential_endpoint::access_key(TAG, n)
    }
}

impl Deref for EcsCredentials {
    type Target = CredentialEndpoint;

    fn deref(&self) -> &CredentialEndpoint {
        &self.0
    }
}
