//! The Redis store: a deadpool-redis pool with a timeout on every step.

use std::future::Future;
use std::time::Duration;

use deadpool_redis::redis::{self, AsyncConnectionConfig};
use deadpool_redis::{Manager, Pool, Runtime};

use crate::keys::{checked_key, state_key, token_key, CHECKED_VALUE};
use crate::{Session, SessionStore, StoreError, StoreTtls};

/// How to reach Redis.
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://`, `rediss://` or `unix://` URL. May hold a password: never logged.
    pub url: String,
    /// Bound on each operation: waiting for a pooled connection, connecting, and each
    /// command. A dead or frozen Redis is an error within this time.
    pub timeout: Duration,
    /// Most connections held open. Commands are multiplexed, so a few suffice.
    pub pool_size: usize,
    pub ttls: StoreTtls,
}

impl RedisSettings {
    pub fn new(url: impl Into<String>) -> RedisSettings {
        RedisSettings {
            url: url.into(),
            timeout: Duration::from_secs(2),
            pool_size: 16,
            ttls: StoreTtls::default(),
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
            .finish()
    }
}

/// Sessions in Redis. Cloning shares the pool.
#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    ttls: StoreTtls,
    timeout: Duration,
}

impl RedisStore {
    /// Builds the pool; connects lazily, on first use. Fails only on a malformed URL.
    pub fn new(settings: RedisSettings) -> Result<RedisStore, StoreError> {
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout));
        let manager = Manager::new_with_config(settings.url.as_str(), connection)
            // redis's message can quote the URL, password included: keep only its kind.
            .map_err(|e| StoreError::InvalidUrl(format!("{:?}", e.kind())))?;
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
            ttls: settings.ttls,
            timeout: settings.timeout,
        })
    }

    /// Round trip to Redis, to check it is reachable.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(redis::cmd("PING")).await.map(|_: String| ())
    }

    async fn run<T: redis::FromRedisValue>(&self, cmd: impl Runnable) -> Result<T, StoreError> {
        self.bounded(async {
            let mut conn = self.pool.get().await.map_err(pool_error)?;
            cmd.query(&mut conn).await.map_err(redis_error)
        })
        .await
    }

    /// The pool's and the connection's own timeouts cover each step; this outer bound makes
    /// sure the whole operation can never exceed the budget either.
    async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, op)
            .await
            .unwrap_or(Err(StoreError::Timeout(self.timeout)))
    }
}

/// A command or a pipeline.
trait Runnable: Send {
    fn query<T: redis::FromRedisValue>(
        self,
        conn: &mut deadpool_redis::Connection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send;
}

impl Runnable for redis::Cmd {
    async fn query<T: redis::FromRedisValue>(
        self,
        conn: &mut deadpool_redis::Connection,
    ) -> redis::RedisResult<T> {
        self.query_async(conn).await
    }
}

impl Runnable for redis::Pipeline {
    async fn query<T: redis::FromRedisValue>(
        self,
        conn: &mut deadpool_redis::Connection,
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
    StoreError::Command(e.to_string())
}

fn set_ex(key: String, value: &str, ttl: Duration) -> redis::Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(value).arg("EX").arg(ttl.as_secs().max(1));
    cmd
}

impl SessionStore for RedisStore {
    async fn save_state(&self, state: &str, original_url: &str) -> Result<(), StoreError> {
        self.run(set_ex(state_key(state), original_url, self.ttls.state))
            .await
    }

    async fn load_state(&self, state: &str) -> Result<Option<String>, StoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(state_key(state));
        self.run(cmd).await
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
}
