//! Who a signed-in request comes from.

/// Put in the extensions of every request the gate lets through with a session: who is
/// asking. Its `Debug` never shows the session id (it is as good as a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    pub(crate) session_id: String,
}

impl Person {
    /// The session's id (the value of its cookie): a secret, never to be logged.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("session_id", &"<redacted>")
            .finish()
    }
}
