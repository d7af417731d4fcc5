//! The cached sessions: at most `capacity`, least recently used first out, each gone at
//! its keys' expiry.

use std::time::Instant;

use lru::LruCache;

use crate::Session;

struct Entry {
    token: Box<str>,
    checked: bool,
    /// Most sessions have none (no access rules, no OpenID Connect): then it costs the
    /// entry one (fat) pointer, nothing on the heap.
    profile: Option<Box<str>>,
    expires: Option<Instant>,
}

pub(crate) struct Entries {
    map: LruCache<Box<str>, Entry>,
    capacity: usize,
}

impl Entries {
    /// Nothing is allocated up front: a cache that stays small costs little.
    pub fn new(capacity: usize) -> Entries {
        Entries {
            map: LruCache::unbounded(),
            capacity,
        }
    }

    /// The session and its profile, unless absent or expired (an expired entry is
    /// removed).
    pub fn get(&mut self, session_id: &str, now: Instant) -> Option<(Session, Option<String>)> {
        let entry = self.map.get(session_id)?;
        if entry.expires.is_some_and(|expires| expires <= now) {
            self.map.pop(session_id);
            return None;
        }
        let session = Session {
            token: entry.token.to_string(),
            checked: entry.checked,
        };
        Some((session, entry.profile.as_deref().map(str::to_owned)))
    }

    pub fn insert(
        &mut self,
        session_id: &str,
        session: &Session,
        profile: Option<&str>,
        expires: Option<Instant>,
    ) {
        if self.capacity == 0 {
            return;
        }
        if self.map.len() >= self.capacity && self.map.peek(session_id).is_none() {
            self.map.pop_lru();
        }
        self.map.put(
            session_id.into(),
            Entry {
                token: session.token.as_str().into(),
                checked: session.checked,
                profile: profile.map(Into::into),
                expires,
            },
        );
    }

    /// Whether there was an entry.
    pub fn remove(&mut self, session_id: &str) -> bool {
        self.map.pop(session_id).is_some()
    }

    /// How many entries there were.
    pub fn clear(&mut self) -> usize {
        let n = self.map.len();
        self.map.clear();
        n
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn session(token: &str) -> Session {
        Session {
            token: token.into(),
            checked: true,
        }
    }

    #[test]
    fn bounded_least_recently_used_first_out() {
        let mut entries = Entries::new(2);
        let now = Instant::now();
        entries.insert("a", &session("1"), None, None);
        entries.insert("b", &session("2"), None, None);
        assert!(entries.get("a", now).is_some());
        entries.insert("c", &session("3"), None, None);
        assert_eq!(entries.len(), 2);
        assert!(
            entries.get("b", now).is_none(),
            "b was the least recently used"
        );
        assert_eq!(
            entries.get("a", now).map(|(s, _)| s.token),
            Some("1".into())
        );
        // Replacing an entry evicts nothing.
        entries.insert("a", &session("4"), None, None);
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries.get("c", now).map(|(s, _)| s.token),
            Some("3".into())
        );
    }

    #[test]
    fn an_entry_is_gone_at_its_deadline() {
        let mut entries = Entries::new(10);
        let now = Instant::now();
        entries.insert("a", &session("1"), None, Some(now + Duration::from_secs(1)));
        assert!(entries.get("a", now).is_some());
        assert!(entries.get("a", now + Duration::from_secs(1)).is_none());
        assert_eq!(entries.len(), 0, "the expired entry was removed");
    }

    #[test]
    fn an_entry_keeps_its_profile() {
        let mut entries = Entries::new(10);
        let now = Instant::now();
        entries.insert("a", &session("1"), Some("{}"), None);
        entries.insert("b", &session("2"), None, None);
        assert_eq!(
            entries.get("a", now),
            Some((session("1"), Some("{}".into())))
        );
        assert_eq!(entries.get("b", now), Some((session("2"), None)));
    }

    #[test]
    fn no_capacity_keeps_nothing() {
        let mut entries = Entries::new(0);
        entries.insert("a", &session("1"), None, None);
        assert_eq!(entries.len(), 0);
    }
}
