//! Streaming an object from S3 to the client.

use std::sync::Arc;

use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use http_input::IfRange;
use s3_streamer::{FetchError, Method, ObjectRequest};
use session_store::SessionStore;

use crate::app::App;
use crate::body::ResponseBody;
use crate::conn_state::ConnState;
use crate::report::{failed, Dependency};
use crate::responses::{empty, HttpResponse};

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

impl<S: SessionStore> App<S> {
    pub(crate) async fn proxy(
        &self,
        parts: &Parts,
        method: Method,
        key: &str,
        conn: &Arc<ConnState>,
    ) -> HttpResponse {
        let (request, if_range) = object_request(parts, method, key);
        let mut fetched = self.s3_fetch(request).await;
        if let (Err(FetchError::PreconditionFailed), Some(whole)) = (&fetched, if_range) {
            // The object changed since the client got its part: send all of it (200).
            fetched = self.s3_fetch(whole).await;
        }
        match fetched {
            Ok(object) => {
                let body = match method {
                    Method::Get => ResponseBody::object(object.body, conn.body_started()),
                    Method::Head => ResponseBody::empty(),
                };
                let mut response = Response::new(body);
                *response.status_mut() = object.status;
                *response.headers_mut() = object.headers;
                let headers = response.headers_mut();
                nosniff(headers);
                private_unless_told(headers);
                if let Some(policy) = &self.settings().content_security_policy {
                    headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
                }
                response
            }
            Err(e) => self.fetch_failed(e, key),
        }
    }

    fn fetch_failed(&self, error: FetchError, key: &str) -> HttpResponse {
        let mut response = empty(error.status());
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
            FetchError::Failed(cause) => {
                return failed(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Dependency::S3,
                    format!(
                        "S3 request for {:?} failed: {cause}",
                        self.s3().full_key(key)
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

/// The S3 request for a client's request: its `Range` and preconditions. S3 ignores
/// `If-Range`, so it is mapped onto a precondition S3 does check (`If-Match` for a tag,
/// `If-Unmodified-Since` for a date); the second value is then the request to make
/// instead when that precondition fails: the whole object, without it.
fn object_request(
    parts: &Parts,
    method: Method,
    key: &str,
) -> (ObjectRequest, Option<ObjectRequest>) {
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
    let whole = ObjectRequest {
        range: None,
        ..request.clone()
    };
    match http_input::if_range(h) {
        None => (request, None),
        Some(IfRange::Tag(tag)) if request.if_match.is_none() => {
            request.if_match = Some(tag);
            (request, Some(whole))
        }
        Some(IfRange::Date(date)) if request.if_unmodified_since.is_none() => {
            request.if_unmodified_since = Some(date);
            (request, Some(whole))
        }
        // A weak tag or a bad value, or one that would clash with the client's own
        // precondition: ignoring the range (200 with everything) is always correct.
        Some(_) => (whole, None),
    }
}
