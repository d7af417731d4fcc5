//! Binding a sign-in to the browser that began it (`SSO_BIND_STATE`).
//!
//! Without it, anyone holding a callback URL within the state's minute completes that
//! sign-in (the Python service allowed it on purpose). With it, beginning a sign-in also
//! sets a short-lived cookie named after the state, whose value only this service can
//! compute (a keyed hash of the state), and the callback refuses a state whose cookie
//! the browser did not bring. Each sign-in has a cookie of its own, so parallel sign-ins
//! in one browser keep working.

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::Sha256;
use sso_client::constant_time_eq;

/// Characters of the state in the cookie's name: enough to tell parallel sign-ins apart.
const NAME_STATE_CHARS: usize = 16;

/// The key of the binding cookies' values. Every instance of a service must use the same
/// key (s3proxy derives it from the SSO client secret). `Debug` hides it.
#[derive(Clone)]
pub struct StateBinding {
    key: Vec<u8>,
}

impl std::fmt::Debug for StateBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateBinding(<redacted>)")
    }
}

impl StateBinding {
    /// A binding keyed with `key` (the same on every instance).
    pub fn new(key: impl Into<Vec<u8>>) -> StateBinding {
        StateBinding { key: key.into() }
    }

    fn name(state: &str) -> String {
        let short = state.get(..NAME_STATE_CHARS).unwrap_or(state);
        format!("s3proxy_sign_in_{short}")
    }

    fn value(&self, state: &str) -> String {
        // Any key length is accepted by HMAC.
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(b"s3proxy sign-in binding\0");
        mac.update(state.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The `Set-Cookie` that binds `state` to this browser, for the state's `ttl_secs`.
    pub(crate) fn set_cookie(&self, state: &str, https: bool, ttl_secs: u64) -> String {
        format!(
            "{}={}; HttpOnly; Path={}; Max-Age={ttl_secs}; SameSite=Lax{}",
            Self::name(state),
            self.value(state),
            http_input::CALLBACK_PATH,
            if https { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` that removes the binding once the sign-in completed.
    pub(crate) fn clear_cookie(&self, state: &str, https: bool) -> String {
        format!(
            "{}=; HttpOnly; Path={}; Max-Age=0; SameSite=Lax{}",
            Self::name(state),
            http_input::CALLBACK_PATH,
            if https { "; Secure" } else { "" }
        )
    }

    /// Whether the request brought the cookie that `state`'s sign-in set.
    pub(crate) fn is_bound(&self, headers: &HeaderMap, state: &str) -> bool {
        http_input::cookie_value(headers, &Self::name(state))
            .is_some_and(|value| constant_time_eq(value.as_bytes(), self.value(state).as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie_header(set_cookie: &str) -> HeaderMap {
        let pair = set_cookie.split(';').next().unwrap();
        let mut h = HeaderMap::new();
        h.insert(http::header::COOKIE, pair.parse().unwrap());
        h
    }

    const STATE: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_cookie_a_sign_in_sets_binds_it() {
        let binding = StateBinding::new("secret");
        let set = binding.set_cookie(STATE, true, 60);
        assert!(
            set.starts_with("s3proxy_sign_in_0123456789abcdef="),
            "{set}"
        );
        assert!(set.contains("Path=/__redirect_from_sso; Max-Age=60; SameSite=Lax; Secure"));
        assert!(binding.is_bound(&cookie_header(&set), STATE));
    }

    #[test]
    fn another_state_another_key_or_no_cookie_is_not_bound() {
        let binding = StateBinding::new("secret");
        let set = binding.set_cookie(STATE, false, 60);
        let other_state = STATE.replace("ef0123", "ef0124");
        assert!(!binding.is_bound(&cookie_header(&set), &other_state));
        assert!(!StateBinding::new("other").is_bound(&cookie_header(&set), STATE));
        assert!(!binding.is_bound(&HeaderMap::new(), STATE));
        // The name alone, which anyone with the callback URL knows, is not enough.
        let forged = cookie_header("s3proxy_sign_in_0123456789abcdef=1");
        assert!(!binding.is_bound(&forged, STATE));
    }
}
