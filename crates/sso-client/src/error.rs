//! What can go wrong, typed so that callers answer each case differently.

/// Why a call to the SSO did not give an answer we can use. Never holds a token or secret.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The client could not be built from its settings (a trusted root that is no
    /// certificate, a URL that cannot be parsed).
    #[error("could not build the HTTP client: {0}")]
    Client(String),
    /// No answer: connection refused or reset, a timeout, TLS failing.
    #[error("SSO unreachable or too slow: {0}")]
    Transport(String),
    /// An answer with a status this call does not expect.
    #[error("SSO answered with unexpected status {0}")]
    Status(u16),
    /// An answer whose body is not what this call expects.
    #[error("SSO answer is not what was expected: {0}")]
    Body(String),
    /// OpenID Connect: the provider's discovery document has not been read yet (the
    /// provider was down, or its document was wrong); sign-ins cannot start.
    #[error("the OpenID provider's discovery has not succeeded yet")]
    NotReady,
    /// OpenID Connect: the discovery document is unusable; names the field.
    #[error("OpenID discovery document: {0}")]
    Discovery(String),
    /// OpenID Connect: the ID token failed this check. The sign-in must be refused
    /// (nothing stored); never a fault of ours or the provider's availability.
    #[error("ID token refused: {check}")]
    IdToken {
        /// The check it failed.
        check: IdTokenCheck,
    },
    /// OpenID Connect: a sign-in was started or finished without its nonce.
    #[error("OpenID sign-in without a nonce")]
    NonceMissing,
}

/// Which verification of an ID token failed (its `Display` is the check's short name,
/// for logs: never a value from the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdTokenCheck {
    /// Not three base64url parts of JSON, or a required claim missing or of the wrong
    /// type.
    Malformed,
    /// `alg` is `none`, an HMAC algorithm, or one we do not accept.
    Algorithm,
    /// No key of the JWKS fits (`kid` unknown even after fetching the JWKS again, or no
    /// single key of the algorithm's type).
    Key,
    /// The signature does not verify with the key.
    Signature,
    /// `iss` is not the discovered issuer.
    Issuer,
    /// `aud` does not contain the client id.
    Audience,
    /// Several audiences (or an `azp`) but `azp` is not the client id.
    AuthorizedParty,
    /// `exp` has passed (60 s leeway).
    Expired,
    /// `iat` is in the future (60 s leeway).
    IssuedInFuture,
    /// `nonce` is not the one of this sign-in.
    Nonce,
    /// The userinfo answer is about another subject than the ID token.
    Subject,
}

impl IdTokenCheck {
    /// The short name logged: the claim or part that failed.
    pub fn name(self) -> &'static str {
        match self {
            IdTokenCheck::Malformed => "format",
            IdTokenCheck::Algorithm => "alg",
            IdTokenCheck::Key => "kid",
            IdTokenCheck::Signature => "signature",
            IdTokenCheck::Issuer => "iss",
            IdTokenCheck::Audience => "aud",
            IdTokenCheck::AuthorizedParty => "azp",
            IdTokenCheck::Expired => "exp",
            IdTokenCheck::IssuedInFuture => "iat",
            IdTokenCheck::Nonce => "nonce",
            IdTokenCheck::Subject => "sub",
        }
    }
}

impl std::fmt::Display for IdTokenCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl SsoError {
    pub(crate) fn transport(e: reqwest::Error) -> SsoError {
        // Without the URL: it is ours, and the error chain says what failed.
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        SsoError::Transport(message)
    }

    pub(crate) fn id_token(check: IdTokenCheck) -> SsoError {
        SsoError::IdToken { check }
    }

    /// The ID token check that failed, when this is such a refusal (the gate answers
    /// it with 403 and the "try the original link again" page).
    pub fn id_token_check(&self) -> Option<IdTokenCheck> {
        match self {
            SsoError::IdToken { check } => Some(*check),
            _ => None,
        }
    }
}

/// The result of asking the SSO something.
#[derive(Debug)]
pub enum Outcome<T> {
    /// The SSO said yes.
    Accepted(T),
    /// The SSO said no, with this status: 401 or 403; in OpenID mode also the token
    /// endpoint's 400 `invalid_grant` (a code used twice, expired, or not issued to us).
    Rejected(u16),
    /// No usable answer.
    Failed(SsoError),
}

impl<T> Outcome<T> {
    /// Applies `f` to an accepted answer's value; a refusal or a failure is passed on
    /// as it is.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Accepted(value) => Outcome::Accepted(f(value)),
            Outcome::Rejected(status) => Outcome::Rejected(status),
            Outcome::Failed(e) => Outcome::Failed(e),
        }
    }
}
