//! The gate's answers: empty ones, redirects, and short pages for a person's browser.

use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};

const STATE_EXPIRED_PAGE: &str = include_str!("pages/state_expired.html");
const FAILED_PAGE: &str = include_str!("pages/failed.html");
const UNAVAILABLE_PAGE: &str = include_str!("pages/unavailable.html");
const SIGN_IN_FAILED_PAGE: &str = include_str!("pages/sign_in_failed.html");
const SIGNED_OUT_PAGE: &str = include_str!("pages/signed_out.html");
const ACCESS_DENIED_PAGE: &str = include_str!("pages/access_denied.html");

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
    page(StatusCode::FORBIDDEN, STATE_EXPIRED_PAGE)
}

/// The ID token the provider sent failed verification: the sign-in is refused.
pub(crate) fn sign_in_failed() -> Response<Bytes> {
    page(StatusCode::FORBIDDEN, SIGN_IN_FAILED_PAGE)
}

/// After sign-out, when there is nowhere else to go.
pub(crate) fn signed_out() -> Response<Bytes> {
    page(StatusCode::OK, SIGNED_OUT_PAGE)
}

/// The access rules refuse the signed-in person: a page naming whom they are signed in
/// as (HTML-escaped), with a link to sign out, for browsers; one line of text otherwise.
/// Never cached, never a redirect (which could loop).
pub(crate) fn access_denied(request: &Parts, email: Option<&str>) -> Response<Bytes> {
    let who = email.unwrap_or("someone whose email the sign-in did not give");
    let mut r = empty(StatusCode::FORBIDDEN);
    if wants_page(request) {
        let html = ACCESS_DENIED_PAGE.replace("{who}", &html_escape(who));
        *r.body_mut() = Bytes::from(html);
        set_page_headers(r.headers_mut());
    } else {
        *r.body_mut() = Bytes::from(format!(
            "Forbidden: signed in as {who}, who may not read this. Sign out: /__sign_out\n"
        ));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

fn page(status: StatusCode, html: &'static str) -> Response<Bytes> {
    let mut r = empty(status);
    *r.body_mut() = Bytes::from_static(html.as_bytes());
    set_page_headers(r.headers_mut());
    r
}

fn html_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
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
    fn the_access_denied_page_names_the_person_escaped_and_links_to_sign_out() {
        let r = access_denied(&request("GET", Some(BROWSER)), Some("<b>o'neil</b>@x.com"));
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        let html = std::str::from_utf8(r.body()).unwrap();
        assert!(
            html.contains("&lt;b&gt;o&#39;neil&lt;/b&gt;@x.com"),
            "{html}"
        );
        assert!(!html.contains("<b>o'neil"));
        assert!(html.contains(r#"href="/__sign_out""#));
        let r = access_denied(&request("GET", None), Some("a@x.com"));
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert!(std::str::from_utf8(r.body()).unwrap().contains("a@x.com"));
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
