//! State shared by the server's connections: configuration, call counters and
//! the tokens handed out so far.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::MockConfig;
use crate::keys::KeyRing;

/// Shared between the [`SsoMock`](crate::SsoMock) handle and every connection.
pub(crate) type Shared = Arc<Mutex<State>>;

/// The endpoints whose calls are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Authorize,
    Token,
    Me,
    Discovery,
    Jwks,
    Userinfo,
    EndSession,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: MockConfig,
    pub(crate) authorize_calls: usize,
    pub(crate) token_calls: usize,
    pub(crate) me_calls: usize,
    /// Every token handed out by `/o/token/`, oldest first.
    pub(crate) issued: Vec<String>,
    /// PKCE challenges of the authorizations so far; a token request's verifier must
    /// match one of them.
    pub(crate) pkce_challenges: std::collections::HashSet<String>,
    /// Token requests whose PKCE verifier matched.
    pub(crate) pkce_verified: usize,
    /// Index into `config.tokens` of the next token to hand out.
    next_token: usize,
    /// The mock's own root URL without its trailing slash (the default issuer).
    pub(crate) base_url: String,
    /// OpenID mode: the signing keys (`None` until first needed).
    pub(crate) keys: Option<KeyRing>,
    /// OpenID mode: what each outstanding code was issued for (single use).
    pub(crate) grants: HashMap<String, Grant>,
    /// OpenID mode: every ID token handed out, oldest first.
    pub(crate) id_tokens: Vec<String>,
    pub(crate) discovery_calls: usize,
    pub(crate) jwks_calls: usize,
    pub(crate) userinfo_calls: usize,
    pub(crate) end_session_calls: usize,
}

/// An OpenID sign-in between its authorization and its code exchange.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) nonce: Option<String>,
}

impl State {
    pub(crate) fn new(config: MockConfig) -> Self {
        State {
            config,
            authorize_calls: 0,
            token_calls: 0,
            me_calls: 0,
            issued: Vec::new(),
            pkce_challenges: Default::default(),
            pkce_verified: 0,
            next_token: 0,
            base_url: String::new(),
            keys: None,
            grants: HashMap::new(),
            id_tokens: Vec::new(),
            discovery_calls: 0,
            jwks_calls: 0,
            userinfo_calls: 0,
            end_session_calls: 0,
        }
    }

    /// The issuer of the OpenID mode: configured, or the mock's own URL.
    pub(crate) fn issuer(&self) -> String {
        self.config
            .oidc
            .as_ref()
            .and_then(|o| o.issuer.clone())
            .unwrap_or_else(|| self.base_url.clone())
    }

    /// The path of a request as the endpoints know it: in the OpenID mode, an issuer
    /// with a path (`http://host/realms/staff`) has its endpoints under that path too,
    /// and both are served.
    pub(crate) fn local_path<'a>(&self, path: &'a str) -> &'a str {
        if self.config.oidc.is_none() {
            return path;
        }
        let issuer = self.issuer();
        let prefix = issuer
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("")
            .trim_end_matches('/');
        match path.strip_prefix(prefix) {
            Some(rest) if !prefix.is_empty() && rest.starts_with('/') => rest,
            _ => path,
        }
    }

    /// The signing keys, generated on first use.
    pub(crate) fn keys(&mut self) -> Result<KeyRing, String> {
        if let Some(keys) = &self.keys {
            return Ok(keys.clone());
        }
        let keys = KeyRing::initial()?;
        self.keys = Some(keys.clone());
        Ok(keys)
    }

    pub(crate) fn count(&mut self, endpoint: Endpoint) {
        let counter = match endpoint {
            Endpoint::Authorize => &mut self.authorize_calls,
            Endpoint::Token => &mut self.token_calls,
            Endpoint::Me => &mut self.me_calls,
            Endpoint::Discovery => &mut self.discovery_calls,
            Endpoint::Jwks => &mut self.jwks_calls,
            Endpoint::Userinfo => &mut self.userinfo_calls,
            Endpoint::EndSession => &mut self.end_session_calls,
        };
        *counter += 1;
    }

    /// The next access token, recorded as issued.
    pub(crate) fn issue_token(&mut self) -> String {
        let tokens = &self.config.tokens;
        let token = if tokens.is_empty() {
            format!("mock-token-{}-{}", self.issued.len() + 1, random_string())
        } else {
            // Past the end the last token repeats, so a test that logs in more
            // often than it listed tokens still gets a known one.
            let index = self.next_token.min(tokens.len() - 1);
            self.next_token = self.next_token.saturating_add(1);
            tokens[index].clone()
        };
        self.issued.push(token.clone());
        token
    }

    /// Whether `/api/v1/user/me/` accepts `token`.
    pub(crate) fn accepts(&self, token: &str) -> bool {
        match &self.config.me_accepted_tokens {
            Some(list) => list.iter().any(|t| t == token),
            None => {
                self.issued.iter().any(|t| t == token)
                    || self.config.tokens.iter().any(|t| t == token)
            }
        }
    }
}

/// Locks the state. A panic while it was held (only possible in a closure
/// given to [`SsoMock::update`](crate::SsoMock::update)) leaves nothing
/// half-written that matters to a mock, so poisoning is ignored rather than
/// turning every later request into a panic.
pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// 32 hex characters that differ on every call: good enough to make tokens
/// and codes unique and unguessable in tests. Not for real secrets.
pub fn random_string() -> String {
    // A counter guarantees uniqueness within the process; `RandomState` (seeded
    // from the OS) and the clock make values differ between processes, without
    // pulling in a random number crate.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut halves = [0u64; 2];
    for (i, half) in halves.iter_mut().enumerate() {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(n);
        hasher.write_u128(nanos);
        hasher.write_usize(i);
        *half = hasher.finish();
    }
    format!("{:016x}{:016x}", halves[0], halves[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_order_then_last_repeats() {
        let mut state = State::new(MockConfig {
            tokens: vec!["a".into(), "b".into()],
            ..MockConfig::default()
        });
        let got: Vec<String> = (0..4).map(|_| state.issue_token()).collect();
        assert_eq!(got, ["a", "b", "b", "b"]);
        assert_eq!(state.issued, got);
    }

    #[test]
    fn empty_token_list_gives_unique_tokens() {
        let mut state = State::new(MockConfig {
            tokens: Vec::new(),
            ..MockConfig::default()
        });
        let a = state.issue_token();
        let b = state.issue_token();
        assert!(a.starts_with("mock-token-1-"), "{a}");
        assert!(b.starts_with("mock-token-2-"), "{b}");
        assert_ne!(a, b);
        assert!(state.accepts(&a) && state.accepts(&b));
        assert!(!state.accepts("mock-token-3-x"));
    }

    #[test]
    fn accepted_list_overrides_issued_tokens() {
        let mut state = State::new(MockConfig::default());
        let issued = state.issue_token();
        assert!(state.accepts(&issued));
        state.config.me_accepted_tokens = Some(vec!["other".into()]);
        assert!(!state.accepts(&issued));
        assert!(state.accepts("other"));
    }

    #[test]
    fn configured_tokens_accepted_before_issue() {
        let state = State::new(MockConfig::default());
        assert!(state.accepts("test-token"));
        assert!(!state.accepts(""));
    }

    #[test]
    fn issuer_paths_prefix_the_endpoints() {
        let mut state = State::new(MockConfig::default());
        state.base_url = "http://127.0.0.1:9".into();
        assert_eq!(state.local_path("/realm/o/token/"), "/realm/o/token/");
        state.config.oidc = Some(crate::OidcMock::default());
        assert_eq!(state.local_path("/o/token/"), "/o/token/");
        state.config.oidc = Some(crate::OidcMock {
            issuer: Some("https://id.example.com/realm/".into()),
            ..Default::default()
        });
        assert_eq!(state.local_path("/realm/o/token/"), "/o/token/");
        assert_eq!(state.local_path("/o/token/"), "/o/token/");
        assert_eq!(state.local_path("/realmx/o/token/"), "/realmx/o/token/");
    }

    #[test]
    fn random_strings_differ() {
        let a = random_string();
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_string());
    }
}
