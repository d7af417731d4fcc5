//! Streaming an object from S3 to the client.

use std::sync::Arc;

use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Response};
use s3_streamer::{FetchError, Method, ObjectRequest};
use session_store::SessionStore;

use crate::app::App;
use crate::body::ResponseBody;
use crate::conn_state::ConnState;
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

        match self.s3().fetch(&request).await {
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
                log::error!(
                    "S3 request for {:?} failed: {cause}",
                    self.s3().full_key(key)
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
