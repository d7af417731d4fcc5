//! Streaming an object from S3 to the client.

use std::sync::Arc;

use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Response};
use s3_streamer::{FetchError, Method, ObjectRequest};
use session_store::SessionStore;

use crate::app::App;
use crate::body::ResponseBody;
use crate::range;
use crate::responses::{empty, HttpResponse};
use crate::tracking::ConnActivity;

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn nosniff(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

impl<S: SessionStore> App<S> {
    pub(crate) async fn proxy(
        &self,
        parts: &Parts,
        method: Method,
        key: &str,
        activity: &Arc<ConnActivity>,
    ) -> HttpResponse {
        let h = &parts.headers;
        let mut request = ObjectRequest::new(method, key);
        request.range = h
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(range::usable)
            .map(str::to_string);
        request.if_none_match = header_text(h, header::IF_NONE_MATCH);
        request.if_match = header_text(h, header::IF_MATCH);
        request.if_modified_since = header_text(h, header::IF_MODIFIED_SINCE);
        request.if_unmodified_since = header_text(h, header::IF_UNMODIFIED_SINCE);

        match self.s3().fetch(&request).await {
            Ok(object) => {
                let body = match method {
                    Method::Get => ResponseBody::object(object.body, activity.body_started()),
                    Method::Head => ResponseBody::empty(),
                };
                let mut response = Response::new(body);
                *response.status_mut() = object.status;
                *response.headers_mut() = object.headers;
                nosniff(response.headers_mut());
                response
            }
            Err(e) => self.fetch_failed(e, key),
        }
    }

    fn fetch_failed(&self, error: FetchError, key: &str) -> HttpResponse {
        let mut response = empty(error.status());
        match error {
            FetchError::NotModified { headers } => *response.headers_mut() = headers,
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
