//! The gate's answers: empty ones, redirects, and short pages for a person's browser.

use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};

const STATE_EXPIRED_PAGE: &str = include_str!("pages/state_expired.html");
const FAILED_PAGE: &str = include_str!("pages/failed.html");
const UNAVAILABLE_PAGE: &str = include_str!("pages/unavailable.html");

pub(crate) fn empty(status: StatusCode) -> Response<Bytes> {
    let mut r = Response::new(Bytes::new());
    *r.status_mut() = status;
    r
}

/// A 302 that no cache keeps (sign-in redirects differ per request).
pub(crate) fn redirect(location: HeaderValue) -> Response<Bytes> {
    let mut r = empty(StatusCode::FOUND);
    r.headers_mut().insert(header::LOCATION, location);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The callback came with a state we do not know (expired, or never ours).
pub(crate) fn state_expired() -> Response<Bytes> {
    let mut r = empty(StatusCode::FORBIDDEN);
    *r.body_mut() = Bytes::from_static(STATE_EXPIRED_PAGE.as_bytes());
    set_page_headers(r.headers_mut());
    r
}

/// The headers of an HTML page no cache keeps; call with the page as the body.
pub fn set_page_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.remove(header::CONTENT_LENGTH);
}

/// The page a person's browser gets instead of an empty 500 or 503 (which browsers show
/// as their own "this page isn't working"): a short text saying what happened and to try
/// again. `None` for other statuses, for methods other than GET and for clients that do
/// not accept `text/html`, which keep the empty body.
pub fn failure_page(status: StatusCode, request: &Parts) -> Option<&'static str> {
    let page = match status {
        StatusCode::INTERNAL_SERVER_ERROR => FAILED_PAGE,
        StatusCode::SERVICE_UNAVAILABLE => UNAVAILABLE_PAGE,
        _ => return None,
    };
    wants_page(request).then_some(page)
}

/// A GET from a client that accepts `text/html`: a person's browser.
pub fn wants_page(request: &Parts) -> bool {
    request.method == http::Method::GET && accepts_html(&request.headers)
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/html"))
        })
}

/// `response` with the failure page its status calls for, when the request wants one.
pub(crate) fn explained(mut response: Response<Bytes>, request: &Parts) -> Response<Bytes> {
    if let Some(page) = failure_page(response.status(), request) {
        *response.body_mut() = Bytes::from_static(page.as_bytes());
        set_page_headers(response.headers_mut());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, accept: Option<&str>) -> Parts {
        let mut b = http::Request::builder().method(method).uri("/x");
        if let Some(accept) = accept {
            b = b.header(header::ACCEPT, accept);
        }
        b.body(()).unwrap().into_parts().0
    }

    const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    #[test]
    fn browsers_get_a_page_for_500_and_503() {
        for status in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            let r = explained(empty(status), &request("GET", Some(BROWSER)));
            assert_eq!(r.status(), status);
            assert_eq!(
                r.headers()[header::CONTENT_TYPE],
                "text/html; charset=utf-8"
            );
            assert!(std::str::from_utf8(r.body()).unwrap().contains("Try again"));
        }
    }

    #[test]
    fn other_clients_and_statuses_keep_the_empty_body() {
        for (status, method, accept) in [
            (StatusCode::INTERNAL_SERVER_ERROR, "GET", None),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "GET",
                Some("image/avif,image/webp,*/*"),
            ),
            (StatusCode::SERVICE_UNAVAILABLE, "HEAD", Some(BROWSER)),
            (StatusCode::BAD_REQUEST, "GET", Some(BROWSER)),
        ] {
            let r = explained(empty(status), &request(method, accept));
            assert!(r.body().is_empty());
            assert!(r.headers().get(header::CONTENT_TYPE).is_none());
        }
    }

    #[test]
    fn the_state_expired_page_says_what_to_do() {
        let r = state_expired();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(std::str::from_utf8(r.body())
            .unwrap()
            .contains("Please try the original link again."));
    }
}
