//! The S3 client and the GetObject/HeadObject calls.

use std::time::Duration;

use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::body::ObjectBody;
use crate::error::FetchError;
use crate::http_client::LeanHttpClient;
use crate::request::{Method, ObjectRequest, ObjectResponse};

/// Static credentials. `Debug` hides the secret.
#[derive(Clone)]
pub struct StaticKeys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKeys")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Which bucket, where, and how to reach it.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub region: String,
    pub bucket: String,
    /// Prepended to every key with a `/`; empty for none. No leading or trailing `/`.
    pub key_prefix: String,
    /// `None`: the default AWS credential chain (env, profile, web identity, ECS, IMDSv2).
    pub static_keys: Option<StaticKeys>,
    /// A custom endpoint (MinIO, a local server), addressed path-style.
    pub endpoint: Option<String>,
    pub connect_timeout: Duration,
    /// Bound on waiting for S3's response headers (not on streaming the body).
    pub response_timeout: Duration,
}

impl S3Settings {
    pub fn new(region: impl Into<String>, bucket: impl Into<String>) -> S3Settings {
        S3Settings {
            region: region.into(),
            bucket: bucket.into(),
            key_prefix: String::new(),
            static_keys: None,
            endpoint: None,
            connect_timeout: Duration::from_secs(3),
            response_timeout: Duration::from_secs(10),
        }
    }
}

/// Reads objects of one bucket. Cheap to clone: clones share connections.
#[derive(Clone, Debug)]
pub struct S3Streamer {
    client: aws_sdk_s3::Client,
    bucket: String,
    key_prefix: String,
}

impl S3Streamer {
    /// Builds the client. Credentials are resolved lazily, on the first request.
    pub async fn new(settings: S3Settings) -> Result<S3Streamer, FetchError> {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.response_timeout)
            .operation_timeout(settings.response_timeout)
            .build();
        let http_client = LeanHttpClient::shared(settings.connect_timeout)
            .map_err(|e| FetchError::Failed(format!("cannot load the system's CA roots: {e}")))?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .http_client(http_client)
            .timeout_config(timeouts);
        if let Some(keys) = &settings.static_keys {
            loader = loader.credentials_provider(Credentials::new(
                keys.access_key_id.clone(),
                keys.secret_access_key.clone(),
                None,
                None,
                "s3proxy-static-keys",
            ));
        }
        if let Some(endpoint) = &settings.endpoint {
            loader = loader.endpoint_url(endpoint.clone());
        }
        let shared = loader.load().await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.endpoint.is_some())
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .build();
        Ok(S3Streamer {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: settings.bucket,
            key_prefix: settings.key_prefix,
        })
    }

    /// The key in the bucket for a key relative to the prefix.
    pub fn full_key(&self, key: &str) -> String {
        if self.key_prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{}", self.key_prefix, key)
        }
    }

    /// Fetches an object (GET) or its headers (HEAD).
    pub async fn fetch(&self, request: &ObjectRequest) -> Result<ObjectResponse, FetchError> {
        let key = self.full_key(&request.key);
        let result = match request.method {
            Method::Get => self.get(&key, request).await,
            Method::Head => self.head(&key, request).await,
        };
        match result {
            Err(FetchError::RangeNotSatisfiable { size: None }) => {
                Err(FetchError::RangeNotSatisfiable {
                    size: self.size_of(&key).await,
                })
            }
            other => other,
        }
    }

    async fn get(&self, key: &str, r: &ObjectRequest) -> Result<ObjectResponse, FetchError> {
        let output = with_request!(self.client.get_object(), &self.bucket, key, r)
            .send()
            .await
            .map_err(classify)?;
        let headers = pass_through!(output);
        Ok(ObjectResponse {
            status: status_of(output.content_range()),
            headers,
            body: ObjectBody::new(output.body.into_inner()),
        })
    }

    async fn head(&self, key: &str, r: &ObjectRequest) -> Result<ObjectResponse, FetchError> {
        let output = with_request!(self.client.head_object(), &self.bucket, key, r)
            .send()
            .await
            .map_err(classify)?;
        Ok(ObjectResponse {
            status: status_of(output.content_range()),
            headers: pass_through!(output),
            body: ObjectBody::empty(),
        })
    }

    /// The object's size, for `Content-Range: bytes */<size>` on a 416 when S3 gave none.
    async fn size_of(&self, key: &str) -> Option<u64> {
        let output = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        u64::try_from(output.content_length()?).ok()
    }
}

fn status_of(content_range: Option<&str>) -> StatusCode {
    // The SDK does not expose the status: a Content-Range means S3 answered 206.
    if content_range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    }
}

/// Bucket, key, range and preconditions on a GetObject or HeadObject builder (the two
/// are distinct types with the same setters).
macro_rules! with_request {
    ($builder:expr, $bucket:expr, $key:expr, $r:expr) => {{
        let r: &ObjectRequest = $r;
        $builder
            .bucket($bucket)
            .key($key)
            .set_range(r.range.clone())
            .set_if_none_match(r.if_none_match.clone())
            .set_if_match(r.if_match.clone())
            .set_if_modified_since(r.if_modified_since.map(DateTime::from))
            .set_if_unmodified_since(r.if_unmodified_since.map(DateTime::from))
    }};
}
use with_request;

/// The pass-through headers of a GetObject or HeadObject output (same getters on both).
macro_rules! pass_through {
    ($output:expr) => {{
        let o = &$output;
        let mut headers = HeaderMap::new();
        let last_modified = o.last_modified().and_then(|d| d.fmt(Format::HttpDate).ok());
        let content_length = o.content_length().map(|n| n.to_string());
        for (name, value) in [
            ("accept-ranges", o.accept_ranges()),
            ("cache-control", o.cache_control()),
            ("content-disposition", o.content_disposition()),
            ("content-encoding", o.content_encoding()),
            ("content-language", o.content_language()),
            ("content-length", content_length.as_deref()),
            ("content-range", o.content_range()),
            ("content-type", o.content_type()),
            ("etag", o.e_tag()),
            ("expires", o.expires_string()),
            ("last-modified", last_modified.as_deref()),
        ] {
            insert(&mut headers, name, value);
        }
        headers
    }};
}
use pass_through;

fn insert(headers: &mut HeaderMap, name: &'static str, value: Option<&str>) {
    // A value that is not a valid header value (S3 metadata can hold anything) is dropped
    // rather than failing the whole response.
    if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

/// Maps an SDK error onto what the client should be told; details stay in the message.
fn classify<E>(err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let Some(raw) = err.raw_response() else {
        return FetchError::Failed(DisplayErrorContext(&err).to_string());
    };
    let status = raw.status().as_u16();
    let code = err.code();
    match (status, code) {
        (_, Some("NoSuchBucket")) => FetchError::Failed(DisplayErrorContext(&err).to_string()),
        (404, _) | (_, Some("NoSuchKey")) => FetchError::NotFound,
        (304, _) => {
            let mut headers = HeaderMap::new();
            for name in ["etag", "last-modified", "cache-control", "expires"] {
                insert(&mut headers, name, raw.headers().get(name));
            }
            FetchError::NotModified { headers }
        }
        (412, _) => FetchError::PreconditionFailed,
        (416, _) | (_, Some("InvalidRange")) => FetchError::RangeNotSatisfiable {
            size: raw
                .headers()
                .get("content-range")
                .and_then(|v| v.strip_prefix("bytes */"))
                .and_then(|n| n.trim().parse().ok()),
        },
        _ => FetchError::Failed(DisplayErrorContext(&err).to_string()),
    }
}
