//! What the gate tells the service around it: sign-ins, token checks and the time its
//! calls to the session store and the SSO took, for metrics. The gate itself keeps no
//! metrics; a service plugs its own in.

use std::time::Duration;

/// Where a sign-in got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginStage {
    /// Sent to the SSO.
    Started,
    /// A session was created.
    Completed,
    /// Unknown state, code refused, or the exchange failed.
    Failed,
}

/// What the SSO said of a session's token at its re-check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// The token is still good: the session goes on.
    Accepted,
    /// The SSO refused the token (401 or 403): the person signs in again.
    Rejected,
    /// No usable answer from the SSO: the request is answered 500.
    Failed,
}

/// Where a signed-in request's session was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLookup {
    /// In the store's own cache: no round trip.
    Hit,
    /// Not cached: read from the store (and cached).
    Miss,
    /// The store's cache is off for now: read from the store.
    Off,
}

/// A service the gate calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// The session store.
    Store,
    /// The SSO (token exchange, checks, profile).
    Sso,
}

/// Receives the gate's events. Every method has an empty default; each is called on the
/// request path, so an implementation must be quick and must not block.
pub trait Observer: Send + Sync + 'static {
    /// A sign-in reached `stage`.
    fn login(&self, _stage: LoginStage) {}
    /// A session's token was checked with the SSO again.
    fn token_check(&self, _result: TokenCheck) {}
    /// A session was looked up in the store's cache (stores without one report nothing).
    fn session_lookup(&self, _lookup: SessionLookup) {}
    /// The access rules refused a signed-in person.
    fn access_denied(&self) {}
    /// A session was ended at `/__sign_out` (or there was none to end).
    fn signed_out(&self) {}
    /// A call to `upstream` took `elapsed`; `ok` is any answer the gate can use (the
    /// SSO's 401 and 403 included), not `ok` a timeout, network failure or bad answer.
    fn upstream(&self, _upstream: Upstream, _ok: bool, _elapsed: Duration) {}
}

/// Observes nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {}
