//! Key names, shared with the Python service: change nothing here.

/// The value of the "token checked" marker.
pub const CHECKED_VALUE: &str = "checked";

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

pub fn token_key(session_id: &str) -> String {
    format!("s3proxy__assets_session_id__{session_id}__sso_token")
}

pub fn checked_key(session_id: &str) -> String {
    format!("s3proxy__assets_session_id__{session_id}__sso_token_checked")
}

/// What the SSO says of the session's person (ours only: kept when access rules or
/// OpenID Connect need it).
pub fn profile_key(session_id: &str) -> String {
    format!("s3proxy__assets_session_id__{session_id}__profile")
}

/// The session's OpenID Connect ID token, for the sign-out's `id_token_hint` (ours only).
pub fn id_token_key(session_id: &str) -> String {
    format!("s3proxy__assets_session_id__{session_id}__id_token")
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
}
