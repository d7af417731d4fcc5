//! How the gate behaves.

use http_input::SameSite;

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
}

impl Default for GateSettings {
    fn default() -> GateSettings {
        GateSettings {
            cookie_samesite: None,
            pkce: true,
            public_paths: Vec::new(),
        }
    }
}
