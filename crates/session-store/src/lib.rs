//! Login states and SSO sessions of s3proxy, kept in Redis or in memory.
//!
//! The key names are those of the Python service s3proxy replaces, byte for byte, so a
//! deployment can switch implementation without logging anyone out:
//!
//! | key | value | TTL |
//! |---|---|---|
//! | `s3proxy__sso_state__<state>` | the URL the user first asked for | 60 s |
//! | `s3proxy__sso_pkce__<state>` | the sign-in's PKCE verifier (ours only) | 60 s |
//! | `s3proxy__assets_session_id__<id>__sso_token` | the SSO access token | 36000 s |
//! | `s3proxy__assets_session_id__<id>__sso_token_checked` | `checked` | the grace period |
//!
//! Three more keys are ours only, written only when a service asks for what they hold:
//!
//! | key | value | TTL |
//! |---|---|---|
//! | `s3proxy__sso_nonce__<state>` | the sign-in's OpenID Connect nonce | 60 s |
//! | `s3proxy__assets_session_id__<id>__profile` | the person's profile (the caller's JSON) | 36000 s |
//! | `s3proxy__assets_session_id__<id>__id_token` | the OpenID Connect ID token | 36000 s |
//!
//! [`RedisStore`] sends every operation on one shared multiplexed connection (opened
//! through a deadpool-redis pool); every step (connecting, each command) has a timeout, so
//! a dead Redis is an error within [`RedisSettings::timeout`], and a failed connection is
//! replaced by itself when Redis returns.
//! [`MemoryStore`] keeps the same data in process, for a single instance. [`AnyStore`]
//! picks one at run time. All three implement [`SessionStore`].
//!
//! ```
//! use session_store::{LoginState, MemoryStore, SessionStore, StoreTtls};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = MemoryStore::new(StoreTtls::default());
//! let login = LoginState::new("http://localhost:8000/video.mp4", Some("verifier".into()));
//! store.save_state("abc", &login).await.unwrap();
//! assert_eq!(store.load_state("abc").await.unwrap(), Some(login));
//!
//! store.save_session("session-id", "access-token").await.unwrap();
//! let session = store.load_session("session-id").await.unwrap().unwrap();
//! assert_eq!(session.token, "access-token");
//! assert!(session.checked);
//! # });
//! ```

#![warn(missing_docs)]

// The README's examples are compiled (and run, but for `no_run`) with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

mod any;
mod cache;
mod keys;
mod memory;
mod redis_store;

use std::future::Future;
use std::time::Duration;

pub use any::AnyStore;
pub use cache::CONNECTION_NAME as TRACKING_CONNECTION_NAME;
pub use keys::{
    checked_key, id_token_key, nonce_key, pkce_key, profile_key, state_key, token_key,
    CHECKED_VALUE,
};
pub use memory::MemoryStore;
pub use redis_store::{RedisSettings, RedisStore};

/// A failure to reach or use the store. Never holds a key or a value (they are secrets).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not one Redis can be reached at (never the URL itself: it may hold a password).
    #[error("invalid Redis URL: {0}")]
    InvalidUrl(String),
    /// Redis could not be reached, or is not a usable primary now.
    #[error("Redis unavailable: {0}")]
    Unavailable(String),
    /// An operation took longer than the settings allow.
    #[error("Redis command timed out after {0:?}")]
    Timeout(Duration),
    /// Redis answered with an error, or with something unexpected.
    #[error("Redis command failed: {0}")]
    Command(String),
}

/// How long each kind of key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreTtls {
    /// A login state: 60 s.
    pub state: Duration,
    /// The SSO token of a session: 36000 s (10 h).
    pub token: Duration,
    /// The "token checked" marker: the grace period (default 3600 s). Zero means the
    /// marker is never set, so every request checks the token with the SSO.
    pub checked: Duration,
}

impl Default for StoreTtls {
    fn default() -> Self {
        StoreTtls {
            state: Duration::from_secs(60),
            token: Duration::from_secs(36000),
            checked: Duration::from_secs(3600),
        }
    }
}

/// A sign-in in progress, saved under its state until the SSO sends the browser back.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginState {
    /// The URL the user first asked for, byte for byte.
    pub original_url: String,
    /// The PKCE verifier; `None` for a sign-in without PKCE (also one the Python service
    /// started).
    pub pkce_verifier: Option<String>,
    /// The OpenID Connect nonce; `None` for the staff SSO.
    pub nonce: Option<String>,
}

impl LoginState {
    /// A sign-in that started at `original_url`, without a nonce.
    pub fn new(original_url: impl Into<String>, pkce_verifier: Option<String>) -> LoginState {
        LoginState {
            original_url: original_url.into(),
            pkce_verifier,
            nonce: None,
        }
    }

    /// The same sign-in, with an OpenID Connect nonce kept beside it.
    pub fn with_nonce(mut self, nonce: Option<String>) -> LoginState {
        self.nonce = nonce;
        self
    }
}

impl std::fmt::Debug for LoginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginState")
            .field("original_url", &self.original_url)
            .field(
                "pkce_verifier",
                &self.pkce_verifier.as_ref().map(|_| "<redacted>"),
            )
            .field("nonce", &self.nonce.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What a session holds.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The SSO's access token. Never printed.
    pub token: String,
    /// The token was confirmed by the SSO within the grace period.
    pub checked: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("token", &"<redacted>")
            .field("checked", &self.checked)
            .finish()
    }
}

/// What this instance's session cache says of a session, from memory alone: `T` is
/// what a hit holds, the [`Session`] ([`SessionStore::cached_session`]) or the session
/// and its profile ([`SessionStore::cached_session_with_profile`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLookup<T = Session> {
    /// Held, and Redis has not said it changed: no round trip needed.
    Hit(T),
    /// Not held (or expired): read it with [`SessionStore::load_session`] (or
    /// [`SessionStore::load_session_with_profile`]), which caches it.
    Miss,
    /// The cache is configured but off now (tracking lost, not yet re-established):
    /// every read goes to Redis.
    Off,
    /// This store keeps no cache (in memory, turned off, or a server that refuses
    /// client-side caching).
    Uncached,
}

impl<T> CacheLookup<T> {
    /// The same answer, with `f` applied to what a hit holds.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> CacheLookup<U> {
        match self {
            CacheLookup::Hit(held) => CacheLookup::Hit(f(held)),
            CacheLookup::Miss => CacheLookup::Miss,
            CacheLookup::Off => CacheLookup::Off,
            CacheLookup::Uncached => CacheLookup::Uncached,
        }
    }
}

/// The operations of the login flow on the session store.
pub trait SessionStore: Send + Sync {
    /// Remembers a sign-in (the URL it started from, its PKCE verifier) under its state,
    /// for the state TTL, in one round trip.
    fn save_state(
        &self,
        state: &str,
        login: &LoginState,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The sign-in saved under `state`, if it has not expired, in one round trip. The
    /// state stays valid (the same callback may be used again until it expires).
    fn load_state(
        &self,
        state: &str,
    ) -> impl Future<Output = Result<Option<LoginState>, StoreError>> + Send;

    /// Stores a new session's token and marks it checked, in one round trip.
    fn save_session(
        &self,
        session_id: &str,
        token: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The token and the checked marker of a session, read together in one round trip;
    /// `None` when the session has no token.
    fn load_session(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Records that the SSO has just confirmed the session's token.
    fn mark_checked(&self, session_id: &str)
        -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps what the SSO says of the session's person (`profile`, the caller's own
    /// encoding) and, when given, its OpenID Connect ID token, for the token's TTL, in one
    /// round trip.
    fn save_profile(
        &self,
        session_id: &str,
        profile: &str,
        id_token: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// [`load_session`](SessionStore::load_session) and the session's profile, read
    /// together in one round trip (and cached together, when the store has a cache).
    fn load_session_with_profile(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<Option<(Session, Option<String>)>, StoreError>> + Send;

    /// The session's OpenID Connect ID token, if one was kept.
    fn load_id_token(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Deletes every key of a session (sign-out), in one round trip. A session that is
    /// gone already is no error.
    fn delete_session(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session from this instance's cache, without a round trip (invalidations that
    /// have reached the instance are applied first). Without a cache: `Uncached`.
    fn cached_session(&self, _session_id: &str) -> CacheLookup {
        CacheLookup::Uncached
    }

    /// [`cached_session`](SessionStore::cached_session) with the session's profile (the
    /// cache holds both), for [`load_session_with_profile`]'s callers.
    ///
    /// [`load_session_with_profile`]: SessionStore::load_session_with_profile
    fn cached_session_with_profile(
        &self,
        _session_id: &str,
    ) -> CacheLookup<(Session, Option<String>)> {
        CacheLookup::Uncached
    }

    /// Has `report` called with the number of cached sessions each invalidation from
    /// Redis drops (for a metric). Without a cache it is never called.
    fn report_invalidations(&self, _report: Box<dyn Fn(u64) + Send + Sync>) {}
}
