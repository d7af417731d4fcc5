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

const NOT_FOUND_PAGE: &str = include_str!("pages/not_found.html");

/// A person's browser (it accepts `text/html`) gets a short page saying what happened
/// and what to do instead of an empty 404, 500 or 503, which browsers show as their own
/// "this page isn't working". Other clients keep the empty body. (The 500 and 503 pages
/// are the sign-in gate's, so that both say the same.)
pub fn explained(mut response: HttpResponse, request: &http::request::Parts) -> HttpResponse {
    let page = match response.status() {
        StatusCode::NOT_FOUND if sso_gate::wants_page(request) => NOT_FOUND_PAGE,
        status => match sso_gate::failure_page(status, request) {
            Some(page) => page,
            None => return response,
        },
    };
    *response.body_mut() = ResponseBody::text(page);
    sso_gate::set_page_headers(response.headers_mut());
    response
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
            let page = r.into_body().text_for_tests();
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
