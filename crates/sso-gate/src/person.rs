//! Who a signed-in request comes from.

use sso_client::Profile;

/// Put in the extensions of every request the gate lets through with a session: who is
/// asking. Its `Debug` never shows the session id (it is as good as a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    pub(crate) session_id: String,
    pub(crate) profile: Option<Profile>,
}

impl Person {
    /// The session's id (the value of its cookie): a secret, never to be logged.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// What the SSO says of the person — emails, groups — when the gate keeps it (access
    /// rules are configured, or the provider is OpenID Connect); `None` otherwise.
    pub fn profile(&self) -> Option<&Profile> {
        self.profile.as_ref()
    }

    /// The person's first email, when a profile is kept and has one.
    pub fn email(&self) -> Option<&str> {
        self.profile.as_ref()?.emails.first().map(String::as_str)
    }
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("session_id", &"<redacted>")
            .field("profile", &self.profile)
            .finish()
    }
}
