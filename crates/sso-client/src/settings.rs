//! Where the provider is, which kind it is, and who we are to it.

use std::time::Duration;

/// Where the SSO is and who we are to it.
#[derive(Clone)]
pub struct SsoSettings {
    /// Root URL the browser is sent to, ending with `/`. With [`Provider::Oidc`]: the
    /// issuer (`SSO_URL`), whose discovery document is read.
    pub browser_url: String,
    /// Root URL this service calls (token and user endpoints), ending with `/`. With
    /// [`Provider::Oidc`], only its origin counts: every call whose URL has the issuer's
    /// origin (discovery, token, JWKS, userinfo) goes to this origin instead, same path.
    pub internal_url: String,
    /// This service's OAuth2 client id.
    pub client_id: String,
    /// This service's OAuth2 client secret. Never printed.
    pub client_secret: String,
    /// Bound on each whole call to the SSO.
    pub timeout: Duration,
    /// Bound on establishing a connection.
    pub connect_timeout: Duration,
    /// DER certificates of the authorities to trust for https; `None`: the system's.
    pub tls_roots: Option<Vec<Vec<u8>>>,
    /// Which protocol the provider speaks; the staff SSO unless changed.
    pub provider: Provider,
}

/// The kind of provider (`SSO_PROVIDER`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Provider {
    /// The organisation's SSO: `o/authorize/`, `o/token/` and `api/v1/user/me/` under
    /// the root URLs, scope `read write`.
    #[default]
    StaffSso,
    /// Any OpenID Connect provider, found through its discovery document.
    Oidc(OidcSettings),
}

/// What only OpenID Connect needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcSettings {
    /// `OIDC_SCOPES`, in order; `openid` is put first when it is missing.
    pub scopes: Vec<String>,
    /// `OIDC_GROUPS_CLAIM`: the claim holding the person's groups, a list of strings.
    pub groups_claim: String,
    /// An ID token signed with a key the cached JWKS lacks makes the JWKS be fetched
    /// again, at most this often (a rotation then works without a restart).
    pub jwks_refetch_interval: Duration,
    /// Discovery that failed is tried again after 1 s, then twice as long each time up
    /// to this.
    pub discovery_retry_max: Duration,
}

impl Default for OidcSettings {
    fn default() -> Self {
        OidcSettings {
            scopes: ["openid", "email", "profile"].map(String::from).to_vec(),
            groups_claim: "groups".into(),
            jwks_refetch_interval: Duration::from_secs(60),
            // With a call bounded by the SSO timeout, a provider that comes up is used
            // within about 15 s + that timeout.
            discovery_retry_max: Duration::from_secs(15),
        }
    }
}

impl OidcSettings {
    /// The `scope` parameter: the scopes separated by spaces, `openid` first when the
    /// list lacks it.
    pub fn scope_parameter(&self) -> String {
        let mut scopes: Vec<&str> = self
            .scopes
            .iter()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect();
        if !scopes.contains(&"openid") {
            scopes.insert(0, "openid");
        }
        scopes.join(" ")
    }
}

impl SsoSettings {
    /// Settings with the default timeouts (10 s per call, 3 s to connect), for the staff
    /// SSO. Root URLs get a trailing `/` when they lack one.
    pub fn new(
        browser_url: impl Into<String>,
        internal_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> SsoSettings {
        SsoSettings {
            browser_url: with_slash(browser_url.into()),
            internal_url: with_slash(internal_url.into()),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            tls_roots: None,
            provider: Provider::StaffSso,
        }
    }
}

fn with_slash(mut url: String) -> String {
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

impl std::fmt::Debug for SsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSettings")
            .field("browser_url", &self.browser_url)
            .field("internal_url", &self.internal_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("provider", &self.provider)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openid_is_always_asked_for() {
        let mut oidc = OidcSettings::default();
        assert_eq!(oidc.scope_parameter(), "openid email profile");
        oidc.scopes = vec!["email".into(), "groups".into()];
        assert_eq!(oidc.scope_parameter(), "openid email groups");
        oidc.scopes = vec!["profile".into(), "openid".into()];
        assert_eq!(oidc.scope_parameter(), "profile openid");
        oidc.scopes = Vec::new();
        assert_eq!(oidc.scope_parameter(), "openid");
    }
}
