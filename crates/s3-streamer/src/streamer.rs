//! The streamer: one signed request per fetch, on our own pooled client.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, StatusCode};
use http_body_util::Empty;

use crate::answer::{failure, pass_through};
use crate::body::ObjectBody;
use crate::credentials::{Signing, Timing};
use crate::error::FetchError;
use crate::location::Location;
use crate::request::{Method, ObjectRequest, ObjectResponse};
use crate::settings::S3Settings;
use crate::signing::Signer;
use crate::transport::Transport;

/// Reads objects of one bucket. Cheap to clone: clones share connections and credentials.
#[derive(Clone, Debug)]
pub struct S3Streamer {
    bucket: String,
    location: Location,
    key_prefix: String,
    signing: Signing,
    signer: Signer,
    transport: Transport,
}

impl S3Streamer {
    /// Resolves the bucket's endpoint and sets up credentials (the default chain is
    /// asked on the first request, each load bounded by half the response timeout, at
    /// most 5 s) and connection pools.
    pub async fn new(settings: S3Settings) -> Result<S3Streamer, FetchError> {
        let location = Location::resolve(
            &settings.region,
            &settings.bucket,
            settings.endpoint.as_deref(),
        )
        .await?;
        let signing = match &settings.static_keys {
            Some(keys) => Signing::static_keys(&keys.access_key_id, &keys.secret_access_key),
            None => {
                let timing = Timing::for_response_timeout(settings.response_timeout);
                Signing::default_chain(&settings.region, settings.connect_timeout, timing).await?
            }
        };
        let transport = Transport::new(
            settings.connect_timeout,
            settings.response_timeout,
            settings.tls_roots.as_deref(),
        )?;
        Ok(S3Streamer {
            bucket: settings.bucket,
            location,
            key_prefix: settings.key_prefix,
            signing,
            signer: Signer::new(&settings.region),
            transport,
        })
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
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
        match self.send(request, &key).await {
            Err(FetchError::RangeNotSatisfiable { size: None }) => {
                Err(FetchError::RangeNotSatisfiable {
                    size: self.size_of(&key).await,
                })
            }
            other => other,
        }
    }

    async fn send(&self, request: &ObjectRequest, key: &str) -> Result<ObjectResponse, FetchError> {
        let url = self.location.object_url(key);
        let identity = self.signing.identity().await?;
        let method = match request.method {
            Method::Get => http::Method::GET,
            Method::Head => http::Method::HEAD,
        };
        let build = || {
            let mut signed = Request::builder()
                .method(method.clone())
                .uri(&url)
                .body(Empty::<Bytes>::new())
                .map_err(|e| FetchError::Failed(format!("S3 request for {key:?}: {e}")))?;
            add_conditions(signed.headers_mut(), request);
            self.signer
                .sign(&identity, method.as_str(), &url, signed.headers_mut())?;
            for (name, value) in &request.unsigned_headers {
                signed.headers_mut().insert(name, value.clone());
            }
            Ok(signed)
        };
        let (response, stream, deadline) = self.transport.send(build).await?;
        let status = response.status();
        if status != StatusCode::OK && status != StatusCode::PARTIAL_CONTENT {
            return Err(failure(response, &format!("{method} {key:?}"), deadline).await);
        }
        let headers = pass_through(&response);
        let body = match request.method {
            Method::Get => ObjectBody::new(response.into_body(), stream),
            Method::Head => ObjectBody::empty(),
        };
        Ok(ObjectResponse {
            status,
            headers,
            body,
        })
    }

    /// The object's size, for `Content-Range: bytes */<size>` on a 416 when S3 gave none.
    async fn size_of(&self, key: &str) -> Option<u64> {
        let head = ObjectRequest::new(Method::Head, key);
        let response = self.send(&head, key).await.ok()?;
        response
            .headers
            .get(header::CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }
}

/// `Range` and the preconditions, as headers S3 reads.
fn add_conditions(headers: &mut http::HeaderMap, r: &ObjectRequest) {
    let mut put = |name: header::HeaderName, value: &str| {
        // A value that is no header value (the client's `Range` was checked, tags are
        // passed as sent) is left out rather than failing the request.
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    if let Some(range) = &r.range {
        put(header::RANGE, range);
    }
    if let Some(tag) = &r.if_match {
        put(header::IF_MATCH, tag);
    }
    if let Some(tag) = &r.if_none_match {
        put(header::IF_NONE_MATCH, tag);
    }
    if let Some(date) = r.if_modified_since {
        put(header::IF_MODIFIED_SINCE, &httpdate::fmt_http_date(date));
    }
    if let Some(date) = r.if_unmodified_since {
        put(header::IF_UNMODIFIED_SINCE, &httpdate::fmt_http_date(date));
    }
}
