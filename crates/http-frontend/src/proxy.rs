//! Streaming an object from S3 to the client.

use crate::body::ResponseBody;
use crate::objects::Objects;
use crate::report::{failed, S3};
use crate::responses::{empty, HttpResponse};
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use http_input::IfRange;
use s3_streamer::{FetchError, Method, ObjectRequest, ObjectResponse};

fn nosniff(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// Every object is served to a signed-in user: unless S3 says otherwise, no shared
/// cache (a corporate proxy, a CDN) may keep a copy for others.
fn private_unless_told(headers: &mut HeaderMap) {
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    }
}

impl Objects {
    pub(crate) async fn proxy(&self, parts: &Parts, method: Method, key: &str) -> HttpResponse {
        let (mut request, if_range) = object_request(parts, method, key);
        let fetched = self.s3_fetch(&mut request).await;
        let fetched = match if_range {
            None => fetched,
            Some(if_range) => self.unless_changed(fetched, &if_range, &request).await,
        };
        match fetched {
            Ok(object) => {
                let body = match method {
                    Method::Get => ResponseBody::object(object.body, self.conn.body_started()),
                    Method::Head => ResponseBody::empty(),
                };
                let mut response = Response::new(body);
                *response.status_mut() = object.status;
                *response.headers_mut() = object.headers;
                let headers = response.headers_mut();
                nosniff(headers);
                private_unless_told(headers);
                if let Some(policy) = &self.shared.content_security_policy {
                    headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
                }
                response
            }
            Err(e) => self.fetch_failed(e, key),
        }
    }

    /// `If-Range` (RFC 9110 §13.1.5), which S3 ignores: the range only if the object is
    /// still the one the client has part of — judged on S3's own answer, so the client's
    /// other preconditions reach S3 untouched. Otherwise the whole object (200).
    async fn unless_changed(
        &self,
        fetched: Result<ObjectResponse, FetchError>,
        if_range: &IfRange,
        request: &ObjectRequest,
    ) -> Result<ObjectResponse, FetchError> {
        // Built only when S3's answer calls for the whole object.
        let whole = || ObjectRequest {
            range: None,
            ..request.clone()
        };
        match fetched {
            Ok(part)
                if part.status == StatusCode::PARTIAL_CONTENT
                    && !if_range.matches(&part.headers) =>
            {
                // A part of another version: let its S3 connection go before asking again.
                drop(part);
                self.s3_fetch(&mut whole()).await
            }
            // Past the end of this object, or of another one whose whole the client wants.
            Err(FetchError::RangeNotSatisfiable { size }) => {
                match self.s3_fetch(&mut whole()).await {
                    Ok(object) if if_range.matches(&object.headers) => {
                        Err(FetchError::RangeNotSatisfiable { size })
                    }
                    other => other,
                }
            }
            other => other,
        }
    }

    fn fetch_failed(&self, error: FetchError, key: &str) -> HttpResponse {
        // 500 for S3's failures, 503 while no credentials can be had.
        let status = error.status();
        let mut response = empty(status);
        match error {
            FetchError::NotModified { headers } => {
                *response.headers_mut() = headers;
                private_unless_told(response.headers_mut());
            }
            FetchError::RangeNotSatisfiable { size: Some(size) } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, v);
                }
            }
            FetchError::Failed(cause) | FetchError::NoCredentials(cause) => {
                return failed(
                    status,
                    S3,
                    format!(
                        "S3 request for {:?} failed: {cause}",
                        self.shared.s3.full_key(key)
                    ),
                );
            }
            FetchError::NotFound
            | FetchError::PreconditionFailed
            | FetchError::RangeNotSatisfiable { size: None } => {}
        }
        nosniff(response.headers_mut());
        response
    }
}

/// The S3 request for a client's request: its `Range` and preconditions, as sent. S3
/// ignores `If-Range`; a usable one is returned beside it, for `App::unless_changed` to
/// hold S3's answer to. A weak tag or a bad value can never validate a range: then the
/// range is dropped (200 with everything is always correct).
fn object_request(parts: &Parts, method: Method, key: &str) -> (ObjectRequest, Option<IfRange>) {
    let h = &parts.headers;
    let conditions = http_input::conditions(h);
    let mut request = ObjectRequest::new(method, key);
    request.range = h
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(http_input::usable_range)
        .map(str::to_string);
    request.if_none_match = conditions.if_none_match;
    request.if_match = conditions.if_match;
    request.if_modified_since = conditions.if_modified_since;
    request.if_unmodified_since = conditions.if_unmodified_since;
    if request.range.is_none() {
        // If-Range without Range means nothing.
        return (request, None);
    }
    match http_input::if_range(h) {
        Some(IfRange::Unusable) => {
            request.range = None;
            (request, None)
        }
        if_range => (request, if_range),
    }
}
