//! How the gate behaves.

use http_input::SameSite;

use crate::binding::StateBinding;
use crate::rules::AccessRules;

/// How the gate behaves; a service fills it from its own configuration.
#[derive(Debug, Clone)]
pub struct GateSettings {
    /// Forces the session cookie's `SameSite`; `None`: `None` on https, `Lax` on http.
    pub cookie_samesite: Option<SameSite>,
    /// PKCE (RFC 7636, S256) on every sign-in. Off for an SSO that refuses unknown
    /// parameters, or while instances that do not know PKCE finish sign-ins started here.
    pub pkce: bool,
    /// Paths served without sign-in, each compared, percent-decoded and without its
    /// leading `/`, for exact equality with the request's (a health check's object, say).
    pub public_paths: Vec<String>,
    /// `Some`: a sign-in completes only in the browser that began it (a cookie per
    /// sign-in); `None`: any client with the callback URL completes it, as the Python
    /// service allowed.
    pub bind_state: Option<StateBinding>,
    /// Who may read which paths; the default allows everyone who signs in (and then no
    /// profile is fetched or kept, unless the provider is OpenID Connect).
    pub access_rules: AccessRules,
    /// Where `/__sign_out` sends the browser once the session is gone (the SSO's own
    /// sign-out page, say); `None`: a "you are signed out" page. With an OpenID provider
    /// that has an `end_session_endpoint`, the browser goes there, with this as its
    /// `post_logout_redirect_uri`.
    pub sign_out_redirect: Option<String>,
}

impl Default for GateSettings {
    fn default() -> GateSettings {
        GateSettings {
            cookie_samesite: None,
            pkce: true,
            public_paths: Vec::new(),
            bind_state: None,
            access_rules: AccessRules::default(),
            sign_out_redirect: None,
        }
    }
}
