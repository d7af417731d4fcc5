//! Small fixed responses.

use http::{header, HeaderValue, Response, StatusCode};

use crate::body::ResponseBody;

pub type HttpResponse = Response<ResponseBody>;

pub fn empty(status: StatusCode) -> HttpResponse {
    let mut r = Response::new(ResponseBody::empty());
    *r.status_mut() = status;
    r
}

/// `response`, and the connection closed after it.
pub fn closing(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

pub fn method_not_allowed() -> HttpResponse {
    let mut r = empty(StatusCode::METHOD_NOT_ALLOWED);
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    r
}

/// A 302 that no cache keeps (login redirects differ per request).
pub fn redirect(location: HeaderValue) -> HttpResponse {
    let mut r = empty(StatusCode::FOUND);
    r.headers_mut().insert(header::LOCATION, location);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

const STATE_EXPIRED_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Sign-in took too long</title></head>\n<body>\n<h1>Sign-in took too long</h1>\n<p>Signing in may have taken too long, or the link you followed has already been used up. Please try the original link again.</p>\n</body>\n</html>\n";

/// The callback came with a state we do not know (expired, or never ours).
pub fn state_expired() -> HttpResponse {
    let mut r = Response::new(ResponseBody::text(STATE_EXPIRED_PAGE));
    *r.status_mut() = StatusCode::FORBIDDEN;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
