//! A store chosen at run time.

use crate::{CacheLookup, LoginState, MemoryStore, RedisStore, Session, SessionStore, StoreError};

/// Either store, picked from configuration (`memory://` or a Redis URL).
#[derive(Clone)]
pub enum AnyStore {
    /// Sessions in Redis, shared by every instance.
    Redis(RedisStore),
    /// Sessions in this process (`memory://`).
    Memory(MemoryStore),
}

impl SessionStore for AnyStore {
    async fn save_state(&self, state: &str, login: &LoginState) -> Result<(), StoreError> {
        match self {
            AnyStore::Redis(s) => s.save_state(state, login).await,
            AnyStore::Memory(s) => s.save_state(state, login).await,
        }
    }

    async fn load_state(&self, state: &str) -> Result<Option<LoginState>, StoreError> {
        match self {
            AnyStore::Redis(s) => s.load_state(state).await,
            AnyStore::Memory(s) => s.load_state(state).await,
        }
    }

    async fn save_session(&self, session_id: &str, token: &str) -> Result<(), StoreError> {
        match self {
            AnyStore::Redis(s) => s.save_session(session_id, token).await,
            AnyStore::Memory(s) => s.save_session(session_id, token).await,
        }
    }

    async fn load_session(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
        match self {
            AnyStore::Redis(s) => s.load_session(session_id).await,
            AnyStore::Memory(s) => s.load_session(session_id).await,
        }
    }

    async fn mark_checked(&self, session_id: &str) -> Result<(), StoreError> {
        match self {
            AnyStore::Redis(s) => s.mark_checked(session_id).await,
            AnyStore::Memory(s) => s.mark_checked(session_id).await,
        }
    }

    async fn save_profile(
        &self,
        session_id: &str,
        profile: &str,
        id_token: Option<&str>,
    ) -> Result<(), StoreError> {
        match self {
            AnyStore::Redis(s) => s.save_profile(session_id, profile, id_token).await,
            AnyStore::Memory(s) => s.save_profile(session_id, profile, id_token).await,
        }
    }

    async fn load_session_with_profile(
        &self,
        session_id: &str,
    ) -> Result<Option<(Session, Option<String>)>, StoreError> {
        match self {
            AnyStore::Redis(s) => s.load_session_with_profile(session_id).await,
            AnyStore::Memory(s) => s.load_session_with_profile(session_id).await,
        }
    }

    async fn load_id_token(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        match self {
            AnyStore::Redis(s) => s.load_id_token(session_id).await,
            AnyStore::Memory(s) => s.load_id_token(session_id).await,
        }
    }

    async fn delete_session(&self, session_id: &str) -> Result<(), StoreError> {
        match self {
            AnyStore::Redis(s) => s.delete_session(session_id).await,
            AnyStore::Memory(s) => s.delete_session(session_id).await,
        }
    }

    fn cached_session(&self, session_id: &str) -> CacheLookup {
        match self {
            AnyStore::Redis(s) => s.cached_session(session_id),
            AnyStore::Memory(s) => s.cached_session(session_id),
        }
    }

    fn cached_session_with_profile(
        &self,
        session_id: &str,
    ) -> CacheLookup<(Session, Option<String>)> {
        match self {
            AnyStore::Redis(s) => s.cached_session_with_profile(session_id),
            AnyStore::Memory(s) => s.cached_session_with_profile(session_id),
        }
    }

    fn report_invalidations(&self, report: Box<dyn Fn(u64) + Send + Sync>) {
        match self {
            AnyStore::Redis(s) => s.report_invalidations(report),
            AnyStore::Memory(s) => s.report_invalidations(report),
        }
    }
}
