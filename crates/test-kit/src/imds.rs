//! An EC2 instance metadata service, version 2 only (what
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT` names), as an instance with `HttpTokens=required`
//! serves it: a session token from `PUT /latest/api/token` must come with every `GET`,
//! else 401; the instance role's name, then its credentials (each call a new set). Every
//! request is recorded with how its token was, so a test can assert the protocol.

use std::collections::HashSet;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dev_s3::TemporaryCredentials;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response};

use crate::credential_endpoint::{self, lock, status, Answers, CredentialEndpoint, Issuer};

const TAG: &str = "IMDS";
const TOKEN_TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";

/// The instance role's name.
pub const INSTANCE_ROLE: &str = "test-instance-role";

/// How a request's session token was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImdsToken {
    /// The request was the `PUT` that issued one.
    Issued,
    /// It carried one that was issued.
    Valid,
    /// It carried none (refused with 401).
    Missing,
    /// It carried one that was never issued (refused with 401).
    Unknown,
}

/// One request the stand-in answered (hung or failed requests are only counted).
#[derive(Debug, Clone)]
pub struct ImdsRequest {
    pub method: String,
    pub path: String,
    pub token: ImdsToken,
}

/// Counts, behaviour and life through [`CredentialEndpoint`].
pub struct Imds {
    endpoint: CredentialEndpoint,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    tokens: Mutex<HashSet<String>>,
    requests: Mutex<Vec<ImdsRequest>>,
}

struct Metadata(Arc<Shared>);

impl Metadata {
    fn record(&self, request: &Request<Bytes>, token: ImdsToken) {
        lock(&self.0.requests).push(ImdsRequest {
            method: request.method().to_string(),
            path: request.uri().path().to_string(),
            token,
        });
    }

    fn issue_token(&self, request: &Request<Bytes>) -> Response<Full<Bytes>> {
        let ttl = request
            .headers()
            .get(TOKEN_TTL_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|ttl| (1..=21_600).contains(ttl));
        let Some(ttl) = ttl else {
            return status(400, "a token TTL of 1 to 21600 seconds is required");
        };
        let token = {
            let mut tokens = lock(&self.0.tokens);
            let token = format!("imds-session-token-{}", tokens.len() + 1);
            tokens.insert(token.clone());
            token
        };
        self.record(request, ImdsToken::Issued);
        let mut response = status(200, &token);
        if let Ok(value) = HeaderValue::from_str(&ttl.to_string()) {
            response.headers_mut().insert(TOKEN_TTL_HEADER, value);
        }
        response
    }
}

impl Answers for Metadata {
    fn answer(&self, request: &Request<Bytes>, issuer: &Issuer) -> Response<Full<Bytes>> {
        let path = request.uri().path();
        if request.method() == Method::PUT && path == "/latest/api/token" {
            return self.issue_token(request);
        }
        let token = match request.headers().get(TOKEN_HEADER) {
            None => ImdsToken::Missing,
            Some(v) => match v.to_str() {
                Ok(t) if lock(&self.0.tokens).contains(t) => ImdsToken::Valid,
                _ => ImdsToken::Unknown,
            },
        };
        self.record(request, token);
        if token != ImdsToken::Valid {
            return status(401, "");
        }
        if request.method() != Method::GET {
            return status(405, "");
        }
        match path.strip_prefix(CREDENTIALS_PATH) {
            Some("") => status(200, INSTANCE_ROLE),
            Some(INSTANCE_ROLE) => {
                let set = issuer.issue();
                let body = serde_json::json!({
                    "Code": "Success",
                    "LastUpdated": set.expiration(),
                    "Type": "AWS-HMAC",
                    "AccessKeyId": set.access_key,
                    "SecretAccessKey": set.secret_key,
                    "Token": set.token,
                    "Expiration": set.expiration(),
                });
                status(200, &body.to_string())
            }
            _ => status(404, ""),
        }
    }

    fn failure(&self) -> Response<Full<Bytes>> {
        status(500, "")
    }
}

impl Imds {
    /// Issues credentials living `life` for [`INSTANCE_ROLE`], each set registered
    /// with `s3`.
    pub async fn start(s3: TemporaryCredentials, life: Duration) -> Imds {
        let shared = Arc::new(Shared::default());
        let endpoint = CredentialEndpoint::start(s3, life, TAG, Metadata(shared.clone())).await;
        Imds { endpoint, shared }
    }

    /// The value for `AWS_EC2_METADATA_SERVICE_ENDPOINT`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<ImdsRequest> {
        lock(&self.shared.requests).clone()
    }

    /// The access key of the `n`th set (from 1).
    pub fn access_key(n: usize) -> String {
        credential_endpoint::access_key(TAG, n)
    }
}

impl Deref for Imds {
    type Target = CredentialEndpoint;

    fn deref(&self) -> &CredentialEndpoint {
        &self.endpoint
    }
}
