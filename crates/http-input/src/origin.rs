//! Where a request was sent to, as the browser saw it: scheme, host, target.

use http::request::Parts;
use http::uri::Authority;

/// The scheme and host the browser used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Whether the browser used https (as the balancer in front says).
    pub https: bool,
    /// The `Host` header as sent: a host name, maybe with a port.
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
        Origin::of_head(&parts.headers, &parts.uri)
    }

    /// [`Origin::of`] a request's headers and URI.
    pub fn of_head(headers: &http::HeaderMap, uri: &http::Uri) -> Result<Origin, BadHost> {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .ok_or(BadHost)?;
        if host.is_empty()
            || host.len() > 255
            || !host.bytes().all(is_host_byte)
            || !is_authority(host)
        {
            return Err(BadHost);
        }
        let https = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
        Ok(Origin {
            https,
            host: host.to_string(),
        })
    }

    /// `https` or `http`.
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

    /// Whether `url`, an absolute URL, is on this origin: the same scheme and the same
    /// host name (ASCII case-insensitive). The login callback redirects only there, so a
    /// state minted with a forged `Host` cannot send a victim's fresh sign-in to another
    /// site. The port is not compared: a name's ports are all one site's, and clients
    /// differ on writing it (the Python service's own suite signs in at `localhost:8080`
    /// and calls back with `Host: localhost`).
    pub fn is_origin_of(&self, url: &str) -> bool {
        let Ok(uri) = url.parse::<http::Uri>() else {
            return false;
        };
        let https = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            _ => return false,
        };
        let (Some(theirs), Ok(ours)) = (uri.authority(), self.host.parse::<Authority>()) else {
            return false;
        };
        https == self.https
            && is_authority(theirs.as_str())
            && theirs.host().eq_ignore_ascii_case(ours.host())
    }
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
}

/// `host[:port]` as a URL's authority: brackets closed, one port at most, and that a
/// number below 65536 (`http`'s parser leaves the port unchecked).
fn is_authority(host: &str) -> bool {
    let Ok(authority) = host.parse::<Authority>() else {
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
    fn same_origin_means_scheme_and_host_name() {
        let origin = |host: &str, proto: &str| {
            Origin::of(&parts(
                "/a",
                &[("host", host), ("x-forwarded-proto", proto)],
            ))
            .unwrap()
        };
        let plain = origin("Assets.Example.com", "http");
        assert!(plain.is_origin_of("http://assets.example.com/a?x=1"));
        assert!(plain.is_origin_of("http://ASSETS.example.com:80/a"));
        assert!(plain.is_origin_of("HTTP://assets.example.com"));
        // Ports are not compared (issue 16): a sign-in begun at `:8080` ends at the name.
        assert!(plain.is_origin_of("http://assets.example.com:8080/a"));
        for other in [
            "https://assets.example.com/a",
            "http://evil.example.com/a",
            "http://evil.example.com:80/a",
            "http://assets.example.com.evil.com/a",
            "http://assets.example.com:99999/a",
            "http://assets.example.com:x/a",
            "http://evil.com\\@assets.example.com/a",
            "//assets.example.com/a",
            "/a",
            "javascript:alert(1)",
            "",
        ] {
            assert!(!plain.is_origin_of(other), "{other:?}");
        }
        let tls = origin("assets.example.com:443", "https");
        assert!(tls.is_origin_of("https://assets.example.com/a"));
        assert!(!tls.is_origin_of("http://assets.example.com:443/a"));
        let local = origin("localhost", "http");
        assert!(local.is_origin_of("http://localhost:8080/x?"));
        assert!(local.is_origin_of("http://LocalHost:8000/x"));
        assert!(!local.is_origin_of("http://127.0.0.1:8080/x"));
        let v6 = origin("[::1]:8000", "http");
        assert!(v6.is_origin_of("http://[::1]:8000/x"));
        assert!(v6.is_origin_of("http://[::1]/x"));
        assert!(!v6.is_origin_of("http://[::2]:8000/x"));
    }

    #[test]
    fn target_keeps_a_bare_question_mark() {
        assert_eq!(request_target(&parts("/a?", &[])), "/a?");
        assert_eq!(request_target(&parts("/a", &[])), "/a");
        assert_eq!(request_target(&parts("/a?x=1&y", &[])), "/a?x=1&y");
    }
}
