//! An in-process store with TTLs, for `memory://` (one instance only).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::keys::{
    checked_key, id_token_key, nonce_key, pkce_key, profile_key, state_key, token_key,
    CHECKED_VALUE,
};
use crate::{LoginState, Session, SessionStore, StoreError, StoreTtls};

/// Entries expire like Redis keys. Expired entries are swept on writes, so memory stays
/// bounded by what is live.
#[derive(Clone, Default)]
pub struct MemoryStore {
    ttls: StoreTtls,
    entries: Arc<Mutex<Entries>>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<String, (String, Instant)>,
    writes_since_sweep: usize,
}

const SWEEP_EVERY: usize = 1024;

impl Entries {
    fn get(&self, key: &str) -> Option<String> {
        self.map
            .get(key)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(v, _)| v.clone())
    }

    fn set(&mut self, key: String, value: &str, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        self.writes_since_sweep += 1;
        if self.writes_since_sweep >= SWEEP_EVERY {
            let now = Instant::now();
            self.map.retain(|_, (_, expires)| *expires > now);
            self.writes_since_sweep = 0;
        }
        self.map
            .insert(key, (value.to_string(), Instant::now() + ttl));
    }
}

impl MemoryStore {
    /// An empty store whose keys live as long as `ttls` say.
    pub fn new(ttls: StoreTtls) -> MemoryStore {
        MemoryStore {
            ttls,
            entries: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the map inconsistent (each operation
        // is one insert or lookup), so a poisoned lock is safe to reuse.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SessionStore for MemoryStore {
    async fn save_state(&self, state: &str, login: &LoginState) -> Result<(), StoreError> {
        let mut entries = self.lock();
        entries.set(state_key(state), &login.original_url, self.ttls.state);
        if let Some(verifier) = &login.pkce_verifier {
            entries.set(pkce_key(state), verifier, self.ttls.state);
        }
        if let Some(nonce) = &login.nonce {
            entries.set(nonce_key(state), nonce, self.ttls.state);
        }
        Ok(())
    }

    async fn load_state(&self, state: &str) -> Result<Option<LoginState>, StoreError> {
        let entries = self.lock();
        Ok(entries
            .get(&state_key(state))
            .map(|original_url| LoginState {
                original_url,
                pkce_verifier: entries.get(&pkce_key(state)),
                nonce: entries.get(&nonce_key(state)),
            }))
    }

    async fn save_session(&self, session_id: &str, token: &str) -> Result<(), StoreError> {
        let mut entries = self.lock();
        entries.set(token_key(session_id), token, self.ttls.token);
        entries.set(checked_key(session_id), CHECKED_VALUE, self.ttls.checked);
        Ok(())
    }

    async fn load_session(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
        let entries = self.lock();
        Ok(entries.get(&token_key(session_id)).map(|token| Session {
            token,
            checked: entries.get(&checked_key(session_id)).is_some(),
        }))
    }

    async fn mark_checked(&self, session_id: &str) -> Result<(), StoreError> {
        self.lock()
            .set(checked_key(session_id), CHECKED_VALUE, self.ttls.checked);
        Ok(())
    }

    async fn save_profile(
        &self,
        session_id: &str,
        profile: &str,
        id_token: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut entries = self.lock();
        entries.set(profile_key(session_id), profile, self.ttls.token);
        if let Some(id_token) = id_token {
            entries.set(id_token_key(session_id), id_token, self.ttls.token);
        }
        Ok(())
    }

    async fn load_session_with_profile(
        &self,
        session_id: &str,
    ) -> Result<Option<(Session, Option<String>)>, StoreError> {
        let entries = self.lock();
        Ok(entries.get(&token_key(session_id)).map(|token| {
            let session = Session {
                token,
                checked: entries.get(&checked_key(session_id)).is_some(),
            };
            (session, entries.get(&profile_key(session_id)))
        }))
    }

    async fn load_id_token(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.lock().get(&id_token_key(session_id)))
    }

    async fn delete_session(&self, session_id: &str) -> Result<(), StoreError> {
        let mut entries = self.lock();
        for key in [
            token_key(session_id),
            checked_key(session_id),
            profile_key(session_id),
            id_token_key(session_id),
        ] {
            entries.map.remove(&key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ttls(secs_ms: u64) -> StoreTtls {
        StoreTtls {
            state: Duration::from_millis(secs_ms),
            token: Duration::from_millis(secs_ms * 2),
            checked: Duration::from_millis(secs_ms),
        }
    }

    #[tokio::test]
    async fn entries_expire() {
        let store = MemoryStore::new(ttls(50));
        store
            .save_state("s", &LoginState::new("http://x/", None))
            .await
            .unwrap();
        store.save_session("id", "tok").await.unwrap();
        assert!(store.load_state("s").await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(70)).await;
        assert_eq!(store.load_state("s").await.unwrap(), None);
        let session = store.load_session("id").await.unwrap().unwrap();
        assert!(!session.checked, "marker outlived its TTL");
        store.mark_checked("id").await.unwrap();
        assert!(store.load_session("id").await.unwrap().unwrap().checked);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(store.load_session("id").await.unwrap(), None);
    }

    #[tokio::test]
    async fn zero_grace_period_never_marks_checked() {
        let store = MemoryStore::new(StoreTtls {
            checked: Duration::ZERO,
            ..StoreTtls::default()
        });
        store.save_session("id", "tok").await.unwrap();
        assert!(!store.load_session("id").await.unwrap().unwrap().checked);
    }
}
