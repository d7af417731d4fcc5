//! `SSO_URL_INTERNAL` in OpenID mode: the provider's URLs on the issuer's origin are
//! called on the internal origin instead, same path and query.

use url::{Position, Url};

use crate::error::SsoError;

/// Replaces the issuer's origin with the internal one.
#[derive(Clone, Debug)]
pub(crate) struct Rewrite {
    from: url::Origin,
    /// `scheme://host[:port]`.
    to: String,
}

impl Rewrite {
    /// `issuer_url` is `SSO_URL`, `internal_url` is `SSO_URL_INTERNAL` (or `SSO_URL`);
    /// only their origins count.
    pub(crate) fn new(issuer_url: &str, internal_url: &str) -> Result<Rewrite, String> {
        let parse = |name: &str, url: &str| {
            Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                .ok_or_else(|| format!("the {name} is not an absolute http(s) URL"))
        };
        let issuer = parse("issuer URL", issuer_url)?;
        let internal = parse("internal URL", internal_url)?;
        Ok(Rewrite {
            from: issuer.origin(),
            to: internal.origin().ascii_serialization(),
        })
    }

    /// `url`, on the internal origin when it is on the issuer's.
    pub(crate) fn apply(&self, url: &str) -> Result<String, SsoError> {
        let parsed =
            Url::parse(url).map_err(|_| SsoError::Discovery("an endpoint is not a URL".into()))?;
        if parsed.origin() != self.from {
            return Ok(parsed.into());
        }
        Ok(format!("{}{}", self.to, &parsed[Position::BeforePath..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_issuers_origin_moves() {
        let r = Rewrite::new(
            "https://id.example.com/realms/staff/",
            "http://keycloak:8080/ignored/path/",
        )
        .unwrap();
        assert_eq!(
            r.apply("https://id.example.com/realms/staff/protocol/token?x=1")
                .unwrap(),
            "http://keycloak:8080/realms/staff/protocol/token?x=1"
        );
        // Default ports are the same origin, spelled or not.
        assert_eq!(
            r.apply("https://id.example.com:443/certs").unwrap(),
            "http://keycloak:8080/certs"
        );
        for elsewhere in [
            "https://keys.example.com/certs",
            "http://id.example.com/certs",
            "https://id.example.com:8443/certs",
        ] {
            assert_eq!(r.apply(elsewhere).unwrap(), elsewhere);
        }
    }

    #[test]
    fn without_an_internal_url_nothing_moves() {
        let r = Rewrite::new("http://127.0.0.1:9/", "http://127.0.0.1:9/").unwrap();
        assert_eq!(
            r.apply("http://127.0.0.1:9/o/token/").unwrap(),
            "http://127.0.0.1:9/o/token/"
        );
    }

    #[test]
    fn bad_urls_are_errors() {
        assert!(Rewrite::new("not a url", "http://a/").is_err());
        assert!(Rewrite::new("http://a/", "ftp://b/").is_err());
        let r = Rewrite::new("http://a/", "http://b/").unwrap();
        assert!(r.apply("/relative").is_err());
    }
}
