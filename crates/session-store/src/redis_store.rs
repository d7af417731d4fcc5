//! The Redis store: one shared multiplexed connection, taken from a deadpool-redis pool,
//! with a timeout on every step.
//!
//! A multiplexed connection pipelines the commands of concurrent requests on one socket,
//! so every operation uses the same one (a cheap clone). It is not checked out of the
//! pool per operation: deadpool-redis checks a connection on each checkout with an extra
//! `UNWATCH`+`PING` round trip, which doubled Redis's work and the session check's
//! latency. A connection that fails or times out is forgotten, and the next operation
//! gets a fresh one from the pool, so a restarted Redis is picked up by itself.
//!
//! With the session cache on (`cache_entries` above zero), session reads go through
//! [`crate::cache`] instead: from memory when it holds the session, else on its own
//! tracking connection. Every other operation stays on the shared connection; the
//! instance's own session writes drop the session's entry, and any error drops them all.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{self, AsyncConnectionConfig, ConnectionAddr, IntoConnectionInfo};
use deadpool_redis::{Manager, Pool, Runtime};

use crate::cache::link::{Endpoint, Target};
use crate::cache::SessionCache;
use crate::keys::{
    checked_key, id_token_key, nonce_key, pkce_key, profile_key, state_key, token_key,
    CHECKED_VALUE,
};
use crate::{CacheLookup, LoginState, Session, SessionStore, StoreError, StoreTtls};

/// How to reach Redis.
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://`, `rediss://` or `unix://` URL. May hold a password: never logged.
    pub url: String,
    /// Bound on each operation: waiting for a pooled connection, connecting, and each
    /// command. A dead or frozen Redis is an error within this time.
    pub timeout: Duration,
    /// Most connections the pool opens. Operations share one multiplexed connection;
    /// more are opened only while replacing a failed one.
    pub pool_size: usize,
    /// How long each kind of key lives.
    pub ttls: StoreTtls,
    /// For `rediss://`: DER certificates of the authorities to trust; `None`: the
    /// system's (as rustls-native-certs finds them).
    pub tls_roots: Option<Vec<Vec<u8>>>,
    /// Most sessions the instance's session cache holds (client-side caching with
    /// invalidation from Redis); 0: no cache, every session read is a round trip.
    pub cache_entries: usize,
}

impl RedisSettings {
    /// The settings for the Redis at `url`, with the service's defaults (a 2 s timeout,
    /// 16 connections at most, the default TTLs, the system's roots, a session cache of
    /// 100,000 entries).
    pub fn new(url: impl Into<String>) -> RedisSettings {
        RedisSettings {
            url: url.into(),
            timeout: Duration::from_secs(2),
            pool_size: 16,
            ttls: StoreTtls::default(),
            tls_roots: None,
            cache_entries: 100_000,
        }
    }
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("pool_size", &self.pool_size)
            .field("ttls", &self.ttls)
            .field("tls_roots", &self.tls_roots.as_ref().map(Vec::len))
            .field("cache_entries", &self.cache_entries)
            .finish()
    }
}

/// Sessions in Redis. Cloning shares the connection.
#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    shared: Arc<Shared>,
    ttls: StoreTtls,
    timeout: Duration,
    cache: Option<Arc<SessionCache>>,
}

/// The connection all operations use, numbered so that an operation whose connection
/// failed forgets that one, never a newer one another operation has just opened.
#[derive(Default)]
struct Shared {
    current: Mutex<Option<(u64, MultiplexedConnection)>>,
    next_number: AtomicU64,
}

impl Shared {
    fn get(&self) -> Option<(u64, MultiplexedConnection)> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Installs `connection` unless another operation installed one meanwhile; returns
    /// the one to use.
    fn install(&self, connection: MultiplexedConnection) -> (u64, MultiplexedConnection) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = current.as_ref() {
            return existing.clone();
        }
        let number = self.next_number.fetch_add(1, Ordering::Relaxed);
        *current = Some((number, connection.clone()));
        (number, connection)
    }

    fn forget(&self, number: u64) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_some_and(|(n, _)| *n == number) {
            *current = None;
        }
    }
}

impl RedisStore {
    /// Builds the pool; connects lazily, on first use. Fails only on a malformed URL.
    pub fn new(settings: RedisSettings) -> Result<RedisStore, StoreError> {
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout));
        // redis's messages can quote the URL, password included: keep only their kind.
        let invalid = |e: redis::RedisError| StoreError::InvalidUrl(format!("{:?}", e.kind()));
        let manager = match &settings.tls_roots {
            Some(roots) if settings.url.starts_with("rediss:") => {
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem_bundle(roots)),
                };
                // The connection info carries the TLS settings into the pool's manager.
                let client = redis::Client::build_with_tls(settings.url.as_str(), certificates)
                    .map_err(invalid)?;
                Manager::new_with_config(client.get_connection_info().clone(), connection)
            }
            _ => Manager::new_with_config(settings.url.as_str(), connection),
        }
        .map_err(invalid)?;
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(settings.timeout))
            .create_timeout(Some(settings.timeout))
            .recycle_timeout(Some(settings.timeout))
            .build()
            .map_err(|e| StoreError::InvalidUrl(e.to_string()))?;
        let cache = match settings.cache_entries {
            0 => None,
            entries => tracking_endpoint(&settings)
                .map(|endpoint| SessionCache::new(endpoint, entries, settings.timeout)),
        };
        if let Some(cache) = &cache {
            // Connects now when there is a runtime, else on first use.
            cache.start();
        }
        Ok(RedisStore {
            pool,
            shared: Arc::new(Shared::default()),
            ttls: settings.ttls,
            timeout: settings.timeout,
            cache,
        })
    }

    /// Round trip to Redis, to check it is reachable.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(redis::cmd("PING")).await.map(|_: String| ())
    }

    /// The pool's and the connection's own timeouts cover each step; the outer bound here
    /// makes sure the whole operation can never exceed the budget either. A connection
    /// that failed or timed out is forgotten (a frozen Redis may have left it stuck).
    async fn run<T: redis::FromRedisValue>(&self, cmd: impl Runnable) -> Result<T, StoreError> {
        let mut used = None;
        let result = tokio::time::timeout(self.timeout, async {
            let (number, mut conn) = self.connection().await?;
            used = Some(number);
            cmd.query(&mut conn).await.map_err(redis_error)
        })
        .await
        .unwrap_or(Err(StoreError::Timeout(self.timeout)));
        if let (Some(number), Err(StoreError::Unavailable(_) | StoreError::Timeout(_))) =
            (used, &result)
        {
            self.shared.forget(number);
        }
        if let Err(e) = &result {
            self.drop_cache(e);
        }
        result
    }

    /// Any error of Redis drops every cached session, until tracking is on again.
    fn drop_cache(&self, e: &StoreError) {
        if let Some(cache) = &self.cache {
            cache.drop_all(&format!("a Redis operation failed: {e}"));
        }
    }

    /// A session and its profile read on the cache's tracking connection (which leaves an
    /// entry); `None` without a cache or when it is off: the caller reads Redis itself.
    async fn read_through_cache(
        &self,
        session_id: &str,
    ) -> Option<Result<Option<(Session, Option<String>)>, StoreError>> {
        let result = self.cache.as_ref()?.read(session_id).await?;
        if let Err(e) = &result {
            self.drop_cache(e);
        }
        Some(result)
    }

    /// This instance changed a session's keys: its cache entry goes.
    fn forget_session(&self, session_id: &str) {
        if let Some(cache) = &self.cache {
            cache.forget(session_id);
        }
    }

    /// The shared connection, opened (through the pool, with its timeouts) when there is none.
    async fn connection(&self) -> Result<(u64, MultiplexedConnection), StoreError> {
        if let Some(current) = self.shared.get() {
            return Ok(current);
        }
        // Boxed: the pool's future is kilobytes, and every operation's future would carry
        // that space for a step taken only when the connection is (re)opened.
        let pooled = Box::pin(self.pool.get()).await.map_err(pool_error)?;
        Ok(self
            .shared
            .install(deadpool_redis::Connection::take(pooled)))
    }
}

/// Where the session cache's tracking connection goes: the URL's server, credentials and
/// database, over TLS with the same roots as the shared connection. `None` (no cache,
/// said once in the log) for what it cannot do the same way.
fn tracking_endpoint(settings: &RedisSettings) -> Option<Endpoint> {
    let info = settings.url.as_str().into_connection_info().ok()?;
    let target = match info.addr() {
        ConnectionAddr::Tcp(host, port) => Target::Tcp {
            host: host.clone(),
            port: *port,
        },
        ConnectionAddr::TcpTls {
            host,
            port,
            insecure: false,
            ..
        } => Target::Tls {
            host: host.clone(),
            port: *port,
            config: tls_config(settings.tls_roots.as_deref()),
        },
        ConnectionAddr::TcpTls { insecure: true, .. } => {
            log::warn!("no session cache: the Redis URL turns certificate checks off");
            return None;
        }
        ConnectionAddr::Unix(path) => Target::Unix(path.clone()),
        _ => {
            log::warn!("no session cache: a Redis address of a kind it does not know");
            return None;
        }
    };
    let redis = info.redis_settings();
    Some(Endpoint {
        target,
        username: redis.username().map(str::to_owned),
        password: redis.password().map(str::to_owned),
        db: redis.db(),
    })
}

/// rustls trusting `roots` (DER), or the system's when `None`, as the Redis client does.
fn tls_config(roots: Option<&[Vec<u8>]>) -> Arc<rustls::ClientConfig> {
    let mut store = rustls::RootCertStore::empty();
    match roots {
        Some(ders) => {
            for der in ders {
                let _ = store.add(rustls::pki_types::CertificateDer::from(der.clone()));
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = store.add(cert);
            }
        }
    }
    Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

/// DER certificates as one PEM bundle, the form the Redis client takes them in.
fn pem_bundle(ders: &[Vec<u8>]) -> Vec<u8> {
    use base64::Engine;
    let mut pem = String::new();
    for der in ders {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

/// A command or a pipeline.
trait Runnable: Send {
    fn query<T: redis::FromRedisValue>(
        self,
        conn: &mut MultiplexedConnection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send;
}

impl Runnable for redis::Cmd {
    async fn query<T: redis::FromRedisValue>(
        self,
        conn: &mut MultiplexedConnection,
    ) -> redis::RedisResult<T> {
        self.query_async(conn).await
    }
}

impl Runnable for redis::Pipeline {
    async fn query<T: redis::FromRedisValue>(
        self,
        conn: &mut MultiplexedConnection,
    ) -> redis::RedisResult<T> {
        self.query_async(conn).await
    }
}

fn pool_error(e: deadpool_redis::PoolError) -> StoreError {
    match e {
        deadpool_redis::PoolError::Backend(e) => redis_error(e),
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn redis_error(e: redis::RedisError) -> StoreError {
    if e.is_timeout() {
        return StoreError::Unavailable("timed out".into());
    }
    if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
        return StoreError::Unavailable(e.to_string());
    }
    if let Some(code) = failover_code(&e) {
        return StoreError::Unavailable(format!(
            "{code}: this server is not a usable primary now (failover?)"
        ));
    }
    StoreError::Command(e.to_string())
}

/// What a failover looks like to a client: the old primary, now a replica, refuses
/// writes (`READONLY`), and a replica resyncing answers `LOADING` or `MASTERDOWN`. Such
/// an error makes the connection be dropped, so the next command connects anew — and
/// resolves the endpoint's name again, which now points at the new primary.
fn failover_code(e: &redis::RedisError) -> Option<&'static str> {
    use redis::{ErrorKind, ServerErrorKind};
    match e.kind() {
        ErrorKind::Server(ServerErrorKind::ReadOnly) => return Some("READONLY"),
        ErrorKind::Server(ServerErrorKind::BusyLoading) => return Some("LOADING"),
        ErrorKind::Server(ServerErrorKind::MasterDown) => return Some("MASTERDOWN"),
        _ => {}
    }
    // Inside MULTI/EXEC the refusals come back wrapped in an aborted transaction, named
    // in its text (as `ReadOnly`, `BusyLoading`...).
    let text = e.to_string().to_ascii_uppercase();
    ["READONLY", "LOADING", "MASTERDOWN"]
        .into_iter()
        .find(|code| text.contains(code))
}

fn set_ex(key: String, value: &str, ttl: Duration) -> redis::Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(value).arg("EX").arg(ttl.as_secs().max(1));
    cmd
}

impl SessionStore for RedisStore {
    async fn save_state(&self, state: &str, login: &LoginState) -> Result<(), StoreError> {
        let url = set_ex(state_key(state), &login.original_url, self.ttls.state);
        if login.pkce_verifier.is_none() && login.nonce.is_none() {
            return self.run(url).await;
        }
        let mut pipe = redis::pipe();
        pipe.atomic().add_command(url).ignore();
        if let Some(verifier) = &login.pkce_verifier {
            pipe.add_command(set_ex(pkce_key(state), verifier, self.ttls.state))
                .ignore();
        }
        if let Some(nonce) = &login.nonce {
            pipe.add_command(set_ex(nonce_key(state), nonce, self.ttls.state))
                .ignore();
        }
        self.run(pipe).await
    }

    async fn load_state(&self, state: &str) -> Result<Option<LoginState>, StoreError> {
        let mut cmd = redis::cmd("MGET");
        cmd.arg(state_key(state))
            .arg(pkce_key(state))
            .arg(nonce_key(state));
        let (url, verifier, nonce): (Option<String>, Option<String>, Option<String>) =
            self.run(cmd).await?;
        Ok(url.map(|original_url| LoginState {
            original_url,
            pkce_verifier: verifier,
            nonce,
        }))
    }

    async fn save_session(&self, session_id: &str, token: &str) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .add_command(set_ex(token_key(session_id), token, self.ttls.token))
            .ignore();
        if !self.ttls.checked.is_zero() {
            pipe.add_command(set_ex(
                checked_key(session_id),
                CHECKED_VALUE,
                self.ttls.checked,
            ))
            .ignore();
        }
        let result = self.run(pipe).await;
        self.forget_session(session_id);
        result
    }

    async fn load_session(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
        if let Some(result) = self.read_through_cache(session_id).await {
            return result.map(|loaded| loaded.map(|(session, _profile)| session));
        }
        let mut cmd = redis::cmd("MGET");
        cmd.arg(token_key(session_id)).arg(checked_key(session_id));
        let (token, checked): (Option<String>, Option<String>) = self.run(cmd).await?;
        Ok(token.map(|token| Session {
            token,
            checked: checked.is_some(),
        }))
    }

    async fn mark_checked(&self, session_id: &str) -> Result<(), StoreError> {
        if self.ttls.checked.is_zero() {
            return Ok(());
        }
        let result = self
            .run(set_ex(
                checked_key(session_id),
                CHECKED_VALUE,
                self.ttls.checked,
            ))
            .await;
        self.forget_session(session_id);
        result
    }

    fn cached_session(&self, session_id: &str) -> CacheLookup {
        self.cached_session_with_profile(session_id)
            .map(|(session, _profile)| session)
    }

    fn cached_session_with_profile(
        &self,
        session_id: &str,
    ) -> CacheLookup<(Session, Option<String>)> {
        match &self.cache {
            Some(cache) => cache.lookup(session_id),
            None => CacheLookup::Uncached,
        }
    }

    fn report_invalidations(&self, report: Box<dyn Fn(u64) + Send + Sync>) {
        if let Some(cache) = &self.cache {
            cache.report_invalidations(report);
        }
    }

    async fn save_profile(
        &self,
        session_id: &str,
        profile: &str,
        id_token: Option<&str>,
    ) -> Result<(), StoreError> {
        let profile = set_ex(profile_key(session_id), profile, self.ttls.token);
        let result = match id_token {
            None => self.run(profile).await,
            Some(id_token) => {
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .add_command(profile)
                    .ignore()
                    .add_command(set_ex(id_token_key(session_id), id_token, self.ttls.token))
                    .ignore();
                self.run(pipe).await
            }
        };
        // The cache holds the profile: the entry goes (Redis's invalidation follows).
        self.forget_session(session_id);
        result
    }

    async fn load_session_with_profile(
        &self,
        session_id: &str,
    ) -> Result<Option<(Session, Option<String>)>, StoreError> {
        if let Some(result) = self.read_through_cache(session_id).await {
            return result;
        }
        let mut cmd = redis::cmd("MGET");
        cmd.arg(token_key(session_id))
            .arg(checked_key(session_id))
            .arg(profile_key(session_id));
        let (token, checked, profile): (Option<String>, Option<String>, Option<String>) =
            self.run(cmd).await?;
        Ok(token.map(|token| {
            let session = Session {
                token,
                checked: checked.is_some(),
            };
            (session, profile)
        }))
    }

    async fn load_id_token(&self, session_id: &str) -> Result<Option<String>, StoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(id_token_key(session_id));
        self.run(cmd).await
    }

    async fn delete_session(&self, session_id: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(token_key(session_id))
            .arg(checked_key(session_id))
            .arg(profile_key(session_id))
            .arg(id_token_key(session_id));
        let result = self.run(cmd).await.map(|_: i64| ());
        // This instance's own sign-out: gone from its cache at once, whatever Redis says.
        self.forget_session(session_id);
        result
    }
}
