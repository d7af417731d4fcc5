//! Key names, shared with the Python service: change nothing here.

/// The value of the "token checked" marker.
pub const CHECKED_VALUE: &str = "checked";

/// The URL a sign-in started from, under its state.
pub fn state_key(state: &str) -> String {
    format!("s3proxy__sso_state__{state}")
}

/// The PKCE verifier of a sign-in (the Python service had none, and never reads it).
pub fn pkce_key(state: &str) -> String {
    format!("s3proxy__sso_pkce__{state}")
}

/// The OpenID Connect nonce of a sign-in (ours only: OpenID Connect mode).
pub fn nonce_key(state: &str) -> String {
    format!("s3proxy__sso_nonce__{state}")
}

/// What every session key (token, marker, profile, ID token) begins with.
pub(crate) const SESSION_KEY_PREFIX: &str = "s3proxy__assets_session_id__";

/// A session's SSO access token.
pub fn token_key(session_id: &str) -> String {
    format!("{SESSION_KEY_PREFIX}{session_id}__sso_token")
}

/// A session's "token checked" marker, alive for the grace period.
pub fn checked_key(session_id: &str) -> String {
    format!("{SESSION_KEY_PREFIX}{session_id}__sso_token_checked")
}

/// The session a token, marker or profile key belongs to (the inverse of [`token_key`],
/// [`checked_key`] and [`profile_key`]: the keys the session cache holds); `None` for
/// any other key, the ID token's among them (the cache never holds it, so its changes
/// drop nothing). Unambiguous: a key ends in at most one of `__sso_token`, `_checked` and
/// `__profile` (none is a suffix of another), so a key names at most one session.
pub(crate) fn session_of_key(key: &[u8]) -> Option<&str> {
    let rest = key.strip_prefix(SESSION_KEY_PREFIX.as_bytes())?;
    let id = rest
        .strip_suffix(b"__sso_token_checked")
        .or_else(|| rest.strip_suffix(b"__sso_token"))
        .or_else(|| rest.strip_suffix(b"__profile"))?;
    std::str::from_utf8(id).ok()
}

/// What the SSO says of the session's person (ours only: kept when access rules or
/// OpenID Connect need it).
pub fn profile_key(session_id: &str) -> String {
    format!("{SESSION_KEY_PREFIX}{session_id}__profile")
}

/// The session's OpenID Connect ID token, for the sign-out's `id_token_hint` (ours only).
pub fn id_token_key(session_id: &str) -> String {
    format!("{SESSION_KEY_PREFIX}{session_id}__id_token")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_match_the_python_service() {
        assert_eq!(state_key("ab12"), "s3proxy__sso_state__ab12");
        assert_eq!(pkce_key("ab12"), "s3proxy__sso_pkce__ab12");
        assert_eq!(
            token_key("X-y_z"),
            "s3proxy__assets_session_id__X-y_z__sso_token"
        );
        assert_eq!(
            checked_key("X-y_z"),
            "s3proxy__assets_session_id__X-y_z__sso_token_checked"
        );
        assert_eq!(nonce_key("ab12"), "s3proxy__sso_nonce__ab12");
        assert_eq!(
            profile_key("X-y_z"),
            "s3proxy__assets_session_id__X-y_z__profile"
        );
        assert_eq!(
            id_token_key("X-y_z"),
            "s3proxy__assets_session_id__X-y_z__id_token"
        );
    }

    #[test]
    fn a_session_key_names_its_session() {
        for id in [
            "X-y_z",
            "a__sso_token",
            "b__sso_token_checked",
            "c__profile",
            "d__id_token",
            "_",
            "",
        ] {
            assert_eq!(session_of_key(token_key(id).as_bytes()), Some(id));
            assert_eq!(session_of_key(checked_key(id).as_bytes()), Some(id));
            assert_eq!(session_of_key(profile_key(id).as_bytes()), Some(id));
            // Not cached: its changes drop no entry.
            assert_eq!(session_of_key(id_token_key(id).as_bytes()), None);
        }
        assert_eq!(session_of_key(state_key("ab").as_bytes()), None);
        assert_eq!(session_of_key(pkce_key("ab").as_bytes()), None);
        assert_eq!(session_of_key(b"s3proxy__assets_session_id__x"), None);
        assert_eq!(session_of_key(b"other__sso_token"), None);
    }
}
