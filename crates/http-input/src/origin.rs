//! Where a request was sent to, as the browser saw it: scheme, host, target.

use http::request::Parts;

/// The scheme and host the browser used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub https: bool,
    pub host: String,
}

/// The request's Host is missing or not a plausible host name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadHost;

impl Origin {
    /// Scheme from `X-Forwarded-Proto` (the first hop's), else http; host from `Host`.
    /// A Host with characters no host name has, or that is no URL authority (an
    /// unclosed `[`, a port that is no number), is refused: it ends up in `Location`.
    pub fn of(parts: &Parts) -> Result<Origin, BadHost> {
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .ok_or(BadHost)?;
        if host.is_empty()
            || host.len() > 255
            || !host.bytes().all(is_host_byte)
            || !is_authority(host)
        {
            return Err(BadHost);
        }
        let https = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
        Ok(Origin {
            https,
            host: host.to_string(),
        })
    }

    pub fn scheme(&self) -> &'static str {
        if self.https {
            "https"
        } else {
            "http"
        }
    }

    /// `<scheme>://<host><target>`.
    pub fn url(&self, target: &str) -> String {
        format!("{}://{}{}", self.scheme(), self.host, target)
    }

    /// The OAuth2 callback on this origin.
    pub fn callback_url(&self) -> String {
        self.url(crate::CALLBACK_PATH)
    }
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
}

/// `host[:port]` as a URL's authority: brackets closed, one port at most, and that a
/// number below 65536 (`http`'s parser leaves the port unchecked).
fn is_authority(host: &str) -> bool {
    let Ok(authority) = host.parse::<http::uri::Authority>() else {
        return false;
    };
    match host[authority.host().len()..].strip_prefix(':') {
        None | Some("") => true,
        Some(port) => port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok(),
    }
}

/// The request-target exactly as sent: path, then `?` and the query if the client sent a
/// `?` (even with nothing after it).
pub fn request_target(parts: &Parts) -> &str {
    parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn scheme_follows_x_forwarded_proto() {
        let p = parts("/a", &[("host", "h:8000"), ("x-forwarded-proto", "https")]);
        assert_eq!(Origin::of(&p).unwrap().url("/a"), "https://h:8000/a");
        let p = parts("/a", &[("host", "h"), ("x-forwarded-proto", "HTTPS, http")]);
        assert!(Origin::of(&p).unwrap().https);
        let p = parts("/a", &[("host", "h")]);
        assert_eq!(
            Origin::of(&p).unwrap().callback_url(),
            "http://h/__redirect_from_sso"
        );
    }

    #[test]
    fn absurd_hosts_are_refused() {
        for host in ["", "a b", "evil.com/x", "a\"b", "h@x", &"a".repeat(300)] {
            let p = parts("/a", &[("host", host)]);
            assert_eq!(Origin::of(&p), Err(BadHost), "{host:?}");
        }
        assert_eq!(Origin::of(&parts("/a", &[])), Err(BadHost));
    }

    /// Found by the `origin` fuzz target: hosts of allowed characters that are still no
    /// URL authority made redirect and callback URLs that do not parse.
    #[test]
    fn hosts_that_are_no_authority_are_refused() {
        for host in [
            "[4:080", "[::1", "::1]", "h:abc", "a:b:c", "h:65536", "h:+1",
        ] {
            let p = parts("/a", &[("host", host)]);
            assert_eq!(Origin::of(&p), Err(BadHost), "{host:?}");
        }
        for host in ["[::1]:8080", "[::1]", "h:8000", "example.com", "a_b.c-d"] {
            let p = parts("/a", &[("host", host)]);
            let url = Origin::of(&p).unwrap().callback_url();
            assert!(url.parse::<http::Uri>().is_ok(), "{url:?}");
        }
    }

    #[test]
    fn target_keeps_a_bare_question_mark() {
        assert_eq!(request_target(&parts("/a?", &[])), "/a?");
        assert_eq!(request_target(&parts("/a", &[])), "/a");
        assert_eq!(request_target(&parts("/a?x=1&y", &[])), "/a?x=1&y");
    }
}
