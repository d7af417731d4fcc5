//! An STS endpoint answering `AssumeRoleWithWebIdentity` (what `AWS_ENDPOINT_URL_STS`
//! names), as EKS's IAM roles for service accounts use it: the token file's content and
//! the role ARN come as a form, the credentials go back as STS's XML. Only the expected
//! token and role are honoured; anything else is refused as STS would, and counted.

use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dev_s3::TemporaryCredentials;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response};

use crate::credential_endpoint::{self, Answers, CredentialEndpoint, Issuer};

const TAG: &str = "STS";

/// The role the stand-in lets a web identity assume.
pub const WEB_IDENTITY_ROLE_ARN: &str = "arn:aws:iam::111122223333:role/test-web-identity";

/// Counts, behaviour and life through [`CredentialEndpoint`].
pub struct StsWebIdentity {
    endpoint: CredentialEndpoint,
    expected: Arc<Expected>,
}

struct Expected {
    token: Mutex<String>,
    refused: AtomicUsize,
}

struct Sts(Arc<Expected>);

impl Answers for Sts {
    fn answer(&self, request: &Request<Bytes>, issuer: &Issuer) -> Response<Full<Bytes>> {
        let form: Vec<(String, String)> = form_urlencoded::parse(request.body())
            .into_owned()
            .collect();
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let expected_token = self.0.token.lock().map(|t| t.clone()).unwrap_or_default();
        let refusal = if request.method() != hyper::Method::POST
            || field("Action") != Some("AssumeRoleWithWebIdentity")
        {
            Some((
                400,
                "InvalidAction",
                "only AssumeRoleWithWebIdentity is served",
            ))
        } else if field("RoleArn") != Some(WEB_IDENTITY_ROLE_ARN) {
            Some((403, "AccessDenied", "not the role this identity may assume"))
        } else if field("WebIdentityToken") != Some(expected_token.as_str()) {
            Some((
                400,
                "InvalidIdentityToken",
                "the token is not the one issued",
            ))
        } else if field("RoleSessionName").is_none_or(str::is_empty) {
            Some((400, "ValidationError", "RoleSessionName is required"))
        } else {
            None
        };
        if let Some((status, code, message)) = refusal {
            self.0.refused.fetch_add(1, Ordering::SeqCst);
            return error(status, "Sender", code, message);
        }
        let session = field("RoleSessionName").unwrap_or_default();
        let set = issuer.issue();
        let body = format!(
            r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>{}</AccessKeyId>
      <SecretAccessKey>{}</SecretAccessKey>
      <SessionToken>{}</SessionToken>
      <Expiration>{}</Expiration>
    </Credentials>
    <SubjectFromWebIdentityToken>system:serviceaccount:default:s3proxy</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::111122223333:assumed-role/test-web-identity/{}</Arn>
      <AssumedRoleId>AROATESTWEBIDENTITY:{}</AssumedRoleId>
    </AssumedRoleUser>
    <Provider>oidc.eks.eu-west-2.amazonaws.com/id/TEST</Provider>
    <Audience>sts.amazonaws.com</Audience>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>test-request-{}</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
"#,
            set.access_key,
            set.secret_key,
            set.token,
            set.expiration(),
            xml_text(session),
            xml_text(session),
            set.access_key,
        );
        xml(200, body)
    }

    fn failure(&self) -> Response<Full<Bytes>> {
        error(
            500,
            "Receiver",
            "InternalFailure",
            "the stand-in is failing on purpose",
        )
    }
}

/// STS's error document (the AWS query protocol's).
fn error(status: u16, kind: &str, code: &str, message: &str) -> Response<Full<Bytes>> {
    xml(
        status,
        format!(
            r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>
  <RequestId>test-error</RequestId>
</ErrorResponse>
"#
        ),
    )
}

fn xml(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = credential_endpoint::status(status, "");
    *response.body_mut() = Full::new(Bytes::from(body));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/xml"),
    );
    response
}

/// A value from the request, safe inside an XML element.
fn xml_text(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl StsWebIdentity {
    /// Honours `token` for [`WEB_IDENTITY_ROLE_ARN`], issuing credentials living `life`,
    /// each set registered with `s3`.
    pub async fn start(s3: TemporaryCredentials, life: Duration, token: &str) -> StsWebIdentity {
        let expected = Arc::new(Expected {
            token: Mutex::new(token.to_string()),
            refused: AtomicUsize::new(0),
        });
        let endpoint = CredentialEndpoint::start(s3, life, TAG, Sts(expected.clone())).await;
        StsWebIdentity { endpoint, expected }
    }

    /// The value for `AWS_ENDPOINT_URL_STS`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Honours this token from now on (and no other), as after the token file rotated.
    pub fn expect_token(&self, token: &str) {
        if let Ok(mut expected) = self.expected.token.lock() {
            *expected = token.to_string();
        }
    }

    /// Requests refused: a wrong token, role or action.
    pub fn refused(&self) -> usize {
        self.expected.refused.load(Ordering::SeqCst)
    }

    /// The access key of the `n`th set (from 1).
    pub fn access_key(n: usize) -> String {
        credential_endpoint::access_key(TAG, n)
    }
}

impl Deref for StsWebIdentity {
    type Target = CredentialEndpoint;

    fn deref(&self) -> &CredentialEndpoint {
        &self.endpoint
    }
}
