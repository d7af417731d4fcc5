//! The session cookie: reading it from requests, writing it on login.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The cookie's name, shared with the Python service.
pub const SESSION_COOKIE: &str = "assets_session_id";

/// The browser keeps the cookie 9 h (the server keeps the session 10 h).
pub const SESSION_COOKIE_MAX_AGE: Duration = Duration::from_secs(9 * 3600);

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=None` (with `Secure`): sent on cross-site requests too.
    None,
    /// `SameSite=Lax`: sent on top-level navigations from other sites.
    Lax,
    /// `SameSite=Strict`: sent only on requests from the same site.
    Strict,
}

/// The session id from the request's cookies, if it has one that could be ours: ids are
/// URL-safe base64, so anything else is ignored (and never reaches the store).
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE).filter(|v| is_plausible_id(v))
}

/// The value of the first cookie called `name` in the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

fn is_plausible_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 256
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The `Set-Cookie` value for a new session. Behind https the cookie is `Secure;
/// SameSite=None` so it travels on cross-site sub-requests (objects embedded in other
/// sites); on plain http browsers refuse `None`, so `Lax`. `forced` overrides.
pub fn set_cookie(id: &str, https: bool, forced: Option<SameSite>, now: SystemTime) -> String {
    let expires = httpdate::fmt_http_date(now + SESSION_COOKIE_MAX_AGE);
    let value = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; Path=/; Max-Age={}; Expires={expires}",
        SESSION_COOKIE_MAX_AGE.as_secs()
    );
    with_site_attributes(value, https, forced)
}

/// The `Set-Cookie` value that removes the session cookie (sign-out): the attributes it
/// was set with, expired.
pub fn clear_cookie(https: bool, forced: Option<SameSite>) -> String {
    let value = format!(
        "{SESSION_COOKIE}=; HttpOnly; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
    with_site_attributes(value, https, forced)
}

fn with_site_attributes(mut value: String, https: bool, forced: Option<SameSite>) -> String {
    let same_site = forced.unwrap_or(if https { SameSite::None } else { SameSite::Lax });
    // SameSite=None is only accepted with Secure.
    if https || same_site == SameSite::None {
        value.push_str("; Secure");
    }
    value.push_str(match same_site {
        SameSite::None => "; SameSite=None",
        SameSite::Lax => "; SameSite=Lax",
        SameSite::Strict => "; SameSite=Strict",
    });
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(http::header::COOKIE, c.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_cleared_cookie_has_the_attributes_it_was_set_with() {
        assert_eq!(
            clear_cookie(true, None),
            "assets_session_id=; HttpOnly; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 \
             00:00:00 GMT; Secure; SameSite=None"
        );
        assert!(clear_cookie(false, None).ends_with("GMT; SameSite=Lax"));
        assert!(clear_cookie(false, Some(SameSite::Strict)).ends_with("GMT; SameSite=Strict"));
    }

    #[test]
    fn finds_the_session_among_other_cookies() {
        let h = headers(&["a=1; assets_session_id=abc-_DEF; b=2"]);
        assert_eq!(session_id(&h).as_deref(), Some("abc-_DEF"));
        let h = headers(&["a=1", "assets_session_id=xyz"]);
        assert_eq!(session_id(&h).as_deref(), Some("xyz"));
    }

    #[test]
    fn garbage_cookies_mean_no_session() {
        for c in [
            "assets_session_id=",
            "assets_session_id=a b",
            "assets_session_id=a*b",
            "assets_session_id=\"quoted\"",
            ";;;===",
            "no-equals-sign",
        ] {
            assert_eq!(session_id(&headers(&[c])), None, "{c}");
        }
        assert_eq!(session_id(&HeaderMap::new()), None);
    }

    #[test]
    fn cookie_attributes_follow_the_scheme() {
        let now = SystemTime::UNIX_EPOCH;
        let http = set_cookie("id", false, None, now);
        assert_eq!(
            http,
            "assets_session_id=id; HttpOnly; Path=/; Max-Age=32400; \
             Expires=Thu, 01 Jan 1970 09:00:00 GMT; SameSite=Lax"
        );
        let https = set_cookie("id", true, None, now);
        assert!(https.ends_with("; Secure; SameSite=None"), "{https}");
        let strict = set_cookie("id", true, Some(SameSite::Strict), now);
        assert!(strict.ends_with("; Secure; SameSite=Strict"), "{strict}");
        let none_on_http = set_cookie("id", false, Some(SameSite::None), now);
        assert!(none_on_http.ends_with("; Secure; SameSite=None"));
    }
}
