//! What the mock answers: the knobs a test turns.

/// Behaviour of a running [`SsoMock`](crate::SsoMock).
///
/// Every field can be changed while the mock runs with
/// [`SsoMock::update`](crate::SsoMock::update); requests already being answered
/// keep what they read when they arrived.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// The only `client_id` accepted by `/o/authorize/` and `/o/token/`.
    pub client_id: String,
    /// The only `client_secret` accepted by `/o/token/`.
    pub client_secret: String,
    /// Handed out by `/o/authorize/` and the only code `/o/token/` accepts.
    pub code: String,
    /// Access tokens handed out by `/o/token/`, in order; the last one repeats
    /// once they are used up. Empty: a fresh unique token per exchange.
    pub tokens: Vec<String>,
    /// `true`: `GET /o/authorize/` shows a "Sign in" page and only the form's
    /// POST redirects back. `false`: `GET /o/authorize/` redirects at once.
    pub login_page: bool,
    /// The signed-in person, reported by `/api/v1/user/me/`.
    pub user_email: String,
    /// `Some(status)`: `/o/token/` answers that status with an empty body,
    /// whatever the request (simulates a failing SSO).
    pub token_status: Option<u16>,
    /// `Some(list)`: `/api/v1/user/me/` accepts exactly these tokens.
    /// `None`: it accepts tokens this mock issued and those in [`tokens`](Self::tokens).
    pub me_accepted_tokens: Option<Vec<String>>,
    /// Status `/api/v1/user/me/` answers for an accepted token (the user JSON
    /// is sent only with 200).
    pub me_status: u16,
    /// Status of the token endpoint's refusals (wrong code, client or secret); default
    /// 401, and some SSOs answer 403.
    pub reject_status: u16,
    /// `true`: every request is read but never answered, until the mock stops
    /// (to test the caller's timeouts).
    pub hang: bool,
    /// Every answer waits this long first (a slow SSO; zero: none).
    pub delay: std::time::Duration,
    /// `true`: `/o/token/` refuses a request without a PKCE `code_verifier`. (One that
    /// has a verifier must always match a challenge sent to `/o/authorize/`.)
    pub require_pkce: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            client_id: "test-client-id".into(),
            client_secret: "test-client-secret".into(),
            code: "test-code".into(),
            tokens: vec!["test-token".into()],
            login_page: false,
            user_email: "test.user@example.com".into(),
            token_status: None,
            me_accepted_tokens: None,
            me_status: 200,
            reject_status: 401,
            hang: false,
            delay: std::time::Duration::ZERO,
            require_pkce: false,
        }
    }
}
