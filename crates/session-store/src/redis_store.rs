//! The Redis store: one shared multiplexed connection, taken from a deadpool-redis pool,
//! with a timeout on every step.
//!
//! A multiplexed connection pipelines the commands of concurrent requests on one socket,
//! so every operation uses the same one (a cheap clone). It is not checked out of the
//! pool per operation: deadpool-redis checks a connection on each checkout with an extra
//! `UNWATCH`+`PING` round trip, which doubled Redis's work and the session check's
//! latency. A connection that fails or times out is forgotten, and the next operation
//! gets a fresh one from the pool, so a restarted Redis is picked up by itself.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{self, AsyncConnectionConfig};
use deadpool_redis::{Manager, Pool, Runtime};

use crate::keys::{
    checked_key, id_token_key, nonce_key, pkce_key, profile_key, state_key, token_key,
    CHECKED_VALUE,
};
use crate::{LoginState, Session, SessionStore, StoreError, StoreTtls};

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
    pub ttls: StoreTtls,
    /// For `rediss://`: DER certificates of the authorities to trust; `None`: the
    /// system's (as rustls-native-certs finds them).
    pub tls_roots: Option<Vec<Vec<u8>>>,
}

impl RedisSettings {
    pub fn new(url: impl Into<String>) -> RedisSettings {
        RedisSettings {
            url: url.into(),
            timeout: Duration::from_secs(2),
            pool_size: 16,
            ttls: StoreTtls::default(),
            tls_roots: None,
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
        Ok(RedisStore {
            pool,
            shared: Arc::new(Shared::default()),
            ttls: settings.ttls,
            timeout: settings.timeout,
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
        result
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
        self.run(pipe).await
    }

    async fn load_session(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
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
        self.run(set_ex(
            checked_key(session_id),
            CHECKED_VALUE,
            self.ttls.checked,
        ))
        .await
    }

    async fn save_profile(
        &self,
        session_id: &str,
        profile: &str,
        id_token: Option<&str>,
    ) -> Result<(), StoreError> {
        let profile = set_ex(profile_key(session_id), profile, self.ttls.token);
        let Some(id_token) = id_token else {
            return self.run(profile).await;
        };
        let mut pipe = redis::pipe();
        pipe.atomic()
            .add_command(profile)
            .ignore()
            .add_command(set_ex(id_token_key(session_id), id_token, self.ttls.token))
            .ignore();
        self.run(pipe).await
    }

    async fn load_session_with_profile(
        &self,
        session_id: &str,
    ) -> Result<Option<(Session, Option<String>)>, StoreError> {
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
        self.run(cmd).await.map(|_: i64| ())
    }
}
