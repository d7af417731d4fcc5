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

const STATE_EXPIRED_PAGE: &str = include_str!("pages/state_expired.html");
const NOT_FOUND_PAGE: &str = include_str!("pages/not_found.html");
const FAILED_PAGE: &str = include_str!("pages/failed.html");
const UNAVAILABLE_PAGE: &str = include_str!("pages/unavailable.html");

/// `response` with `page` as its body, for a person's browser.
fn with_page(mut response: HttpResponse, page: &'static str) -> HttpResponse {
    *response.body_mut() = ResponseBody::text(page);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.remove(header::CONTENT_LENGTH);
    response
}

/// The callback came with a state we do not know (expired, or never ours).
pub fn state_expired() -> HttpResponse {
    with_page(empty(StatusCode::FORBIDDEN), STATE_EXPIRED_PAGE)
}

/// A person's browser (it accepts `text/html`) gets a short page saying what happened
/// and what to do instead of an empty 404, 500 or 503, which browsers show as their own
/// "this page isn't working". Other clients keep the empty body.
pub fn explained(response: HttpResponse, request: &http::request::Parts) -> HttpResponse {
    let page = match response.status() {
        StatusCode::NOT_FOUND => NOT_FOUND_PAGE,
        StatusCode::INTERNAL_SERVER_ERROR => FAILED_PAGE,
        StatusCode::SERVICE_UNAVAILABLE => UNAVAILABLE_PAGE,
        _ => return response,
    };
    if request.method != http::Method::GET || !accepts_html(&request.headers) {
        return response;
    }
    with_page(response, page)
}

fn accepts_html(headers: &http::HeaderMap) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, accept: Option<&str>) -> http::request::Parts {
        let mut b = http::Request::builder().method(method).uri("/x");
        if let Some(accept) = accept {
            b = b.header(header::ACCEPT, accept);
        }
        b.body(()).unwrap().into_parts().0
    }

    const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    #[test]
    fn browsers_get_a_page_for_404_500_and_503() {
        for (status, phrase) in [
            (StatusCode::NOT_FOUND, "Check the link"),
            (StatusCode::INTERNAL_SERVER_ERROR, "Try again"),
            (StatusCode::SERVICE_UNAVAILABLE, "Try again"),
        ] {
            let r = explained(empty(status), &request("GET", Some(BROWSER)));
            assert_eq!(r.status(), status);
            assert_eq!(
                r.headers()[header::CONTENT_TYPE],
                "text/html; charset=utf-8"
            );
            assert!(http_body::Body::size_hint(r.body()).lower() > 100);
            let page = match status.as_u16() {
                404 => NOT_FOUND_PAGE,
                500 => FAILED_PAGE,
                _ => UNAVAILABLE_PAGE,
            };
            assert!(page.contains(phrase), "{status}");
        }
    }

    #[test]
    fn other_clients_and_statuses_keep_the_empty_body() {
        for (status, method, accept) in [
            (StatusCode::NOT_FOUND, "GET", None),
            (
                StatusCode::NOT_FOUND,
                "GET",
                Some("image/avif,image/webp,*/*"),
            ),
            (StatusCode::NOT_FOUND, "HEAD", Some(BROWSER)),
            (StatusCode::BAD_REQUEST, "GET", Some(BROWSER)),
            (StatusCode::PRECONDITION_FAILED, "GET", Some(BROWSER)),
        ] {
            let r = explained(empty(status), &request(method, accept));
            assert_eq!(http_body::Body::size_hint(r.body()).upper(), Some(0));
            assert!(r.headers().get(header::CONTENT_TYPE).is_none());
        }
    }
}
