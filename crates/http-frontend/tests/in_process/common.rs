//! The harness: the app built in the test's own process, as the binary builds it
//! (`bins/s3proxy/src/parts.rs`), in front of the in-process S3 server and SSO mock, with
//! the in-memory session store (or, for the tests of the key names shared with the
//! Python service, a real `redis-server`).
//!
//! ```ignore
//! let stack = frontend().start().await;
//! stack.put_object("hello.txt", b"hi");
//! let page = Browser::new().get(&stack.proxy.url("/hello.txt")).await;
//! assert_eq!(page.body, b"hi");
//! ```
#![allow(dead_code)]

use std::io;
use std::panic::Location;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};

use dev_s3::S3Server;
use http_frontend::{App, FrontendSettings};
use s3_streamer::{S3Settings, S3Streamer, StaticKeys};
use session_store::{
    AnyStore, LoginState, MemoryStore, RedisSettings, RedisStore, Session, SessionStore,
    StoreError, StoreTtls,
};
use sso_client::{OidcSettings, Provider, SsoClient, SsoSettings};
use sso_mock::{MockConfig, OidcMock, SsoMock};
use test_kit::{
    Browser, RedisServer, StoredHeaders, BUCKET, HEALTHCHECK_KEY, S3_ACCESS_KEY, S3_SECRET_KEY,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What to change before [`FrontendBuilder::start`].
pub struct FrontendBuilder {
    frontend: FrontendSettings,
    s3: Box<dyn FnOnce(&mut S3Settings) + Send>,
    sso: MockConfig,
    redis: bool,
    ttls: StoreTtls,
}

pub fn frontend() -> FrontendBuilder {
    FrontendBuilder {
        frontend: FrontendSettings::new(HEALTHCHECK_KEY),
        s3: Box::new(|_| {}),
        sso: MockConfig::default(),
        redis: false,
        ttls: StoreTtls::default(),
    }
}

impl FrontendBuilder {
    /// Changes the frontend's settings (what the binary maps `COOKIE_SAMESITE`,
    /// `CONTENT_SECURITY_POLICY`, `SSO_PKCE`... onto).
    pub fn settings(mut self, f: impl FnOnce(&mut FrontendSettings)) -> Self {
        f(&mut self.frontend);
        self
    }

    /// Changes the S3 client's settings (`key_prefix`, ...).
    pub fn s3(mut self, f: impl FnOnce(&mut S3Settings) + Send + 'static) -> Self {
        self.s3 = Box::new(f);
        self
    }

    /// Changes the SSO mock's behaviour.
    pub fn sso(mut self, f: impl FnOnce(&mut MockConfig)) -> Self {
        f(&mut self.sso);
        self
    }

    /// The SSO mock as an OpenID Provider (changed by `f`), and the app configured for
    /// OpenID Connect with the mock's URL as its issuer.
    pub fn oidc(mut self, f: impl FnOnce(&mut OidcMock)) -> Self {
        let mut oidc = OidcMock::default();
        f(&mut oidc);
        self.sso.oidc = Some(oidc);
        self
    }

    /// The session store's TTLs (the grace period is `checked`).
    pub fn ttls(mut self, ttls: StoreTtls) -> Self {
        self.ttls = ttls;
        self
    }

    /// Sessions in a real `redis-server` (for the key names and TTLs shared with the
    /// Python service) instead of in memory.
    pub fn redis(mut self) -> Self {
        self.redis = true;
        self
    }

    pub async fn start(self) -> Frontend {
        catch_server_panics();
        let redis = if self.redis {
            Some(RedisServer::start().await)
        } else {
            None
        };
        let (s3_root, s3) = test_kit::start_s3().await;
        let sso = SsoMock::start(self.sso.clone())
            .await
            .expect("start the SSO mock");

        // As `parts.rs` builds them from the configuration.
        let inner = match &redis {
            Some(redis) => {
                let mut settings = RedisSettings::new(redis.url());
                settings.ttls = self.ttls;
                AnyStore::Redis(RedisStore::new(settings).expect("a Redis store"))
            }
            None => AnyStore::Memory(MemoryStore::new(self.ttls)),
        };
        let store = WatchedStore {
            inner,
            counts: Arc::default(),
        };
        let mut sso_settings = SsoSettings::new(
            sso.url(),
            sso.url(),
            self.sso.client_id.clone(),
            self.sso.client_secret.clone(),
        );
        if self.sso.oidc.is_some() {
            sso_settings.provider = Provider::Oidc(OidcSettings::default());
        }
        let sso_client = SsoClient::new(sso_settings).expect("an SSO client");
        // The binary reads the provider in the background; here the first attempt is
        // awaited so that tests start with it read (unless the mock is down on purpose),
        // and a provider that is down is retried in the background, as in the binary.
        if sso_client.is_oidc() && sso_client.discover().await.is_err() {
            sso_client.spawn_discovery();
        }
        let mut s3_settings = S3Settings::new("us-east-1", BUCKET);
        s3_settings.endpoint = Some(s3.endpoint());
        s3_settings.static_keys = Some(StaticKeys {
            access_key_id: S3_ACCESS_KEY.into(),
            secret_access_key: S3_SECRET_KEY.into(),
        });
        (self.s3)(&mut s3_settings);
        let streamer = S3Streamer::new(s3_settings).await.expect("an S3 client");
        let app = App::new(store.clone(), sso_client, streamer, self.frontend);
        let metrics = app.metrics().clone();

        let listener = http_frontend::bind(0).await.expect("listen");
        let port = listener.local_addr().expect("a local address").port();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(http_frontend::serve(listener, app, async {
            let _ = stopped.await;
        }));
        Frontend {
            proxy: Listening { port },
            metrics,
            store,
            redis,
            stop: Some(stop),
            server: Some(server),
            sso,
            s3,
            _s3_root: s3_root,
        }
    }
}

/// Where the app listens.
pub struct Listening {
    port: u16,
}

impl Listening {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }
}

/// The app serving on a loopback port, and the parts behind it. Dropping it stops the
/// server and then the parts.
pub struct Frontend {
    pub proxy: Listening,
    /// The app's metrics.
    pub metrics: Arc<http_frontend::Metrics>,
    /// The app's session store, counting what was written to it.
    pub store: WatchedStore,
    redis: Option<RedisServer>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<io::Result<()>>>,
    pub sso: SsoMock,
    pub s3: S3Server,
    _s3_root: tempfile::TempDir,
}

impl Frontend {
    /// The `redis-server` of a harness started with [`FrontendBuilder::redis`].
    pub fn redis(&self) -> &RedisServer {
        self.redis
            .as_ref()
            .expect("started without Redis: use frontend().redis()")
    }

    /// Shuts the server down as the binary does on SIGTERM and waits for it to return.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task")
                .expect("the server's result");
        }
    }

    /// Writes an object straight into the bucket's folder.
    pub fn put_object(&self, key: &str, bytes: &[u8]) -> PathBuf {
        test_kit::put_object(&self.s3, key, bytes)
    }

    /// Writes an object with the headers S3 would keep with it.
    pub fn put_object_with(&self, key: &str, bytes: &[u8], headers: &StoredHeaders) -> PathBuf {
        test_kit::put_object_with(&self.s3, key, bytes, headers)
    }

    /// Fails the test if code outside the tests (the server, its parts) panicked in this
    /// process: a panic in a connection task only ends that connection, quietly.
    pub fn assert_no_panic(&self) {
        let panics = SERVER_PANICS.lock().unwrap_or_else(|p| p.into_inner());
        assert!(panics.is_empty(), "the server panicked: {panics:#?}");
    }
}

impl Drop for Frontend {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Writes made to the store, by kind.
#[derive(Default)]
struct Counts {
    states: AtomicUsize,
    sessions: AtomicUsize,
    checks: AtomicUsize,
    profiles: AtomicUsize,
}

/// The app's store ([`MemoryStore`] or [`RedisStore`]), counting writes: with the memory
/// store, "nothing was stored" cannot be read from Redis.
#[derive(Clone)]
pub struct WatchedStore {
    inner: AnyStore,
    counts: Arc<Counts>,
}

impl WatchedStore {
    /// Login states saved.
    pub fn states_saved(&self) -> usize {
        self.counts.states.load(Ordering::SeqCst)
    }

    /// Sessions saved.
    pub fn sessions_saved(&self) -> usize {
        self.counts.sessions.load(Ordering::SeqCst)
    }

    /// Profiles saved (at sign-in and at token re-checks).
    pub fn profiles_saved(&self) -> usize {
        self.counts.profiles.load(Ordering::SeqCst)
    }

    /// Every write: states, sessions, "checked" markers, profiles.
    pub fn writes(&self) -> usize {
        self.states_saved()
            + self.sessions_saved()
            + self.counts.checks.load(Ordering::SeqCst)
            + self.profiles_saved()
    }

    /// A login state as the app will read it.
    pub async fn login_state(&self, state: &str) -> Option<LoginState> {
        self.inner.load_state(state).await.expect("the store")
    }
}

impl SessionStore for WatchedStore {
    async fn save_state(&self, state: &str, login: &LoginState) -> Result<(), StoreError> {
        self.counts.states.fetch_add(1, Ordering::SeqCst);
        self.inner.save_state(state, login).await
    }

    async fn load_state(&self, state: &str) -> Result<Option<LoginState>, StoreError> {
        self.inner.load_state(state).await
    }

    async fn save_session(&self, session_id: &str, token: &str) -> Result<(), StoreError> {
        self.counts.sessions.fetch_add(1, Ordering::SeqCst);
        self.inner.save_session(session_id, token).await
    }

    async fn load_session(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
        self.inner.load_session(session_id).await
    }

    async fn mark_checked(&self, session_id: &str) -> Result<(), StoreError> {
        self.counts.checks.fetch_add(1, Ordering::SeqCst);
        self.inner.mark_checked(session_id).await
    }

    async fn save_profile(
        &self,
        session_id: &str,
        profile: &str,
        id_token: Option<&str>,
    ) -> Result<(), StoreError> {
        self.counts.profiles.fetch_add(1, Ordering::SeqCst);
        self.inner.save_profile(session_id, profile, id_token).await
    }

    async fn load_session_with_profile(
        &self,
        session_id: &str,
    ) -> Result<Option<(Session, Option<String>)>, StoreError> {
        self.inner.load_session_with_profile(session_id).await
    }

    async fn load_id_token(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        self.inner.load_id_token(session_id).await
    }

    async fn delete_session(&self, session_id: &str) -> Result<(), StoreError> {
        self.inner.delete_session(session_id).await
    }
}

/// Panics outside test code (file and line), recorded by [`catch_server_panics`].
static SERVER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records every panic raised outside the test code (this test binary, test-kit, and the
/// in-process S3 server and SSO mock); the default hook still prints it.
fn catch_server_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(location) = info.location() {
                if !in_test_code(location) {
                    SERVER_PANICS
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(format!("{location}: {info}"));
                }
            }
            previous(info);
        }));
    });
}

fn in_test_code(location: &Location<'_>) -> bool {
    let file = location.file();
    ["/tests/", "test-kit", "sso-mock", "dev-s3"]
        .iter()
        .any(|part| file.contains(part))
}

/// Signs `browser` in (through a request for a missing object) and returns the session
/// cookie as a `Cookie` header value.
pub async fn login(stack: &Frontend, browser: &Browser) -> String {
    test_kit::login_at(&stack.proxy.url(""), browser).await
}
