//! The origin the browser used, from `Host` and `X-Forwarded-Proto`.
//!
//! Input: the Host value, then optionally `\n` and the X-Forwarded-Proto value; an
//! input that starts with `\n` sends no Host header at all.
//!
//! Properties: an accepted origin yields URLs (a target's and the OAuth callback) with
//! no CR, LF, space or `"`, that parse as an `http::Uri` with the origin's scheme and
//! host (its port, if any, a number below 65536), that are valid `Location` values, and
//! that the origin recognises as its own (the login callback's same-origin check).
#![no_main]

use http::{HeaderValue, Request, Uri};
use http_input::{Origin, CALLBACK_PATH};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (host, proto) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let mut request = Request::builder().uri("/a?b=c");
    if !host.is_empty() {
        let Ok(host) = HeaderValue::from_bytes(host) else {
            return;
        };
        request = request.header(http::header::HOST, host);
    }
    if let Some(proto) = proto {
        let Ok(proto) = HeaderValue::from_bytes(proto) else {
            return;
        };
        request = request.header("x-forwarded-proto", proto);
    }
    let (parts, ()) = request.body(()).expect("a valid request").into_parts();
    let Ok(origin) = Origin::of(&parts) else {
        return;
    };
    assert!(!origin.host.is_empty());
    for url in [origin.url("/x"), origin.callback_url()] {
        assert!(!url.contains(['\r', '\n', ' ', '"']), "{data:?} -> {url:?}");
        let uri: Uri = url
            .parse()
            .unwrap_or_else(|e| panic!("{data:?} -> {url:?} is no URI: {e}"));
        assert_eq!(uri.scheme_str(), Some(origin.scheme()), "{url:?}");
        assert_eq!(
            uri.authority().map(|a| a.as_str()),
            Some(origin.host.as_str()),
            "{url:?}"
        );
        // A port, if any, is a number a browser can connect to.
        let authority = uri.authority().expect("an authority");
        match authority.as_str()[authority.host().len()..].strip_prefix(':') {
            None | Some("") => {}
            Some(port) => assert!(
                port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok(),
                "{url:?}"
            ),
        }
        HeaderValue::from_str(&url).expect("a valid Location value");
        assert!(origin.is_origin_of(&url), "{data:?} -> {url:?}");
    }
    assert!(origin.callback_url().ends_with(CALLBACK_PATH));
});
