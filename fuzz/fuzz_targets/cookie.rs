//! The session cookie: reading it from a `Cookie` header, writing it with `Set-Cookie`.
//!
//! Properties: a session id read from any header is non-empty, at most 256 characters of
//! `[A-Za-z0-9_-]`; the `Set-Cookie` built from such an id has no CR or LF, is a valid
//! header value, and gives the same id back when sent as a cookie.
#![no_main]

use std::time::{Duration, SystemTime};

use http::{header, HeaderMap, HeaderValue};
use http_input::{session_id, set_cookie, SameSite, SESSION_COOKIE};
use libfuzzer_sys::fuzz_target;

/// Latest `now` tried: well before httpdate's limit (year 9999) once the cookie's 9 h
/// lifetime is added; the real `now` is the clock.
const LATEST: u64 = 250_000_000_000;

fn plausible(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::COOKIE, value);
    let Some(id) = session_id(&headers) else {
        return;
    };
    assert!(plausible(&id), "{data:?} -> {id:?}");

    // The writing side, for an id that passed the reading side.
    let seed = data
        .iter()
        .fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let https = seed & 1 == 1;
    let forced = match (seed >> 1) % 4 {
        0 => None,
        1 => Some(SameSite::None),
        2 => Some(SameSite::Lax),
        _ => Some(SameSite::Strict),
    };
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs((seed >> 3) % LATEST);
    let cookie = set_cookie(&id, https, forced, now);
    assert!(
        !cookie.contains('\r') && !cookie.contains('\n'),
        "{cookie:?}"
    );
    let cookie_value = HeaderValue::from_str(&cookie).expect("Set-Cookie is a valid header value");
    assert!(
        cookie.starts_with(&format!("{SESSION_COOKIE}={id}; ")),
        "{cookie:?}"
    );

    // What the browser sends back (the first pair of Set-Cookie) names the same session.
    let pair = cookie.split(';').next().unwrap_or_default();
    let mut back = HeaderMap::new();
    back.insert(header::COOKIE, HeaderValue::from_str(pair).unwrap());
    assert_eq!(
        session_id(&back).as_deref(),
        Some(id.as_str()),
        "{cookie_value:?}"
    );
});
