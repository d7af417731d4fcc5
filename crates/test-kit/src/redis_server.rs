//! A real `redis-server` process, started by the launcher.

use std::time::Duration;

use launcher::{Lifetime, Output, Process, Ready, RedisArgs, TlsFiles};

use crate::ports::{free_port, ready};
use crate::TestCa;

/// The name the session store gives its tracking connection (`CLIENT SETNAME`).
const TRACKING_CONNECTION_NAME: &str = "s3proxy-session-cache";

const INSTALL_HINT: &str = "redis-server is needed by these tests and was not found on PATH: \
     install it with `apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis`";

/// How the server is reached: a password (`--requirepass`), TLS only; and commands it
/// lacks.
#[derive(Clone, Default)]
pub struct RedisOptions {
    pub password: Option<String>,
    /// TLS with this CA's server certificate, and no plain port.
    pub tls: Option<std::sync::Arc<TestCa>>,
    /// Commands renamed away, e.g. `CLIENT`: a server that refuses client-side caching.
    pub disabled_commands: Vec<String>,
}

pub struct RedisServer {
    port: u16,
    process: Option<Process>,
    dir: tempfile::TempDir,
    options: RedisOptions,
}

impl RedisServer {
    /// Starts `redis-server` on a free port, without persistence.
    pub async fn start() -> RedisServer {
        RedisServer::start_with(RedisOptions::default()).await
    }

    /// Starts `redis-server` with a password, or TLS, or both.
    pub async fn start_with(options: RedisOptions) -> RedisServer {
        let dir = tempfile::tempdir().expect("temp dir for redis");
        let mut server = RedisServer {
            port: free_port(),
            process: None,
            dir,
            options,
        };
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        let args = RedisArgs {
            password: self.options.password.clone(),
            tls: self.options.tls.as_ref().map(|ca| TlsFiles {
                cert: ca.server_cert_file(),
                key: ca.server_key_file(),
                ca: ca.ca_file(),
            }),
            disabled_commands: self.options.disabled_commands.clone(),
        };
        // Ready when it accepts connections: a `PING` would show in the command
        // statistics that some tests read.
        let spec = launcher::redis_server(self.port, self.dir.path(), &args).ready(Ready::Accepts);
        let log = Output::File(self.dir.path().join("redis.log"));
        let process = Process::spawn(spec, log, Lifetime::Owned)
            .unwrap_or_else(|e| panic!("{INSTALL_HINT} ({e})"));
        ready(self.process.insert(process), Duration::from_secs(10)).await;
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL a client uses: `rediss://` with TLS, with the password when there is one.
    pub fn url(&self) -> String {
        let scheme = if self.options.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        let auth = match &self.options.password {
            Some(password) => format!(":{password}@"),
            None => String::new(),
        };
        format!("{scheme}://{auth}127.0.0.1:{}/0", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Process::pid)
    }

    /// Kills the process (like a crash).
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }

    /// Starts it again on the same port, empty.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    /// A client connection, for setting up or inspecting keys.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        let client = match &self.options.tls {
            None => redis::Client::open(self.url()),
            Some(ca) => redis::Client::build_with_tls(
                self.url(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(std::fs::read(ca.ca_file()).expect("read the test CA")),
                },
            ),
        };
        client
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect to the test redis")
    }

    /// Any command, its answer read as `T`.
    pub async fn query<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        let mut c = self.connection().await;
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        cmd.query_async(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    /// Ids of the connections of other clients (not the one asking): the code under
    /// test's, since the helpers here close theirs after each call. The session cache's
    /// tracking connections are left out ([`RedisServer::tracking_client_ids`]).
    pub async fn client_ids(&self) -> Vec<u64> {
        self.clients()
            .await
            .into_iter()
            .filter(|(_, name)| name != TRACKING_CONNECTION_NAME)
            .map(|(id, _)| id)
            .collect()
    }

    /// Ids of the session cache's tracking connections (by their name).
    pub async fn tracking_client_ids(&self) -> Vec<u64> {
        self.clients()
            .await
            .into_iter()
            .filter(|(_, name)| name == TRACKING_CONNECTION_NAME)
            .map(|(id, _)| id)
            .collect()
    }

    /// Every other client's id and name.
    async fn clients(&self) -> Vec<(u64, String)> {
        let list: String = self.query(&["CLIENT", "LIST"]).await;
        list.lines()
            .filter(|l| !l.contains("cmd=client|list"))
            .filter_map(|l| {
                let field = |name: &str| {
                    l.split(' ')
                        .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                        .map(str::to_owned)
                };
                Some((field("id")?.parse().ok()?, field("name")?))
            })
            .collect()
    }

    /// Makes this server a replica of a primary that is not there, as an old primary is
    /// after a failover: reads still work, writes answer `READONLY`.
    pub async fn demote(&self) {
        let nowhere = free_port().to_string();
        let _: String = self.query(&["REPLICAOF", "127.0.0.1", &nowhere]).await;
    }

    /// Makes it a primary again.
    pub async fn promote(&self) {
        let _: String = self.query(&["REPLICAOF", "NO", "ONE"]).await;
    }

    /// `FLUSHALL`, then a `PING` on the same connection: Redis writes a flush's
    /// invalidation to tracking clients just after acknowledging the flush, and the
    /// `PING`'s answer comes from a later pass, once it is out (docs/operations.md). A
    /// test acting on the bare acknowledgement would race the proxy's session cache.
    pub async fn flushall(&self) {
        let mut c = self.connection().await;
        let _: () = redis::cmd("FLUSHALL")
            .query_async(&mut c)
            .await
            .expect("FLUSHALL");
        let _: String = redis::cmd("PING").query_async(&mut c).await.expect("PING");
    }

    pub async fn set(&self, key: &str, value: &str, ttl_secs: u64) {
        let mut c = self.connection().await;
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("EX")
            .arg(ttl_secs)
            .query_async(&mut c)
            .await
            .expect("SET");
    }

    pub async fn get(&self, key: &str) -> Option<String> {
        let mut c = self.connection().await;
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut c)
            .await
            .expect("GET")
    }

    pub async fn ttl(&self, key: &str) -> i64 {
        let mut c = self.connection().await;
        redis::cmd("TTL")
            .arg(key)
            .query_async(&mut c)
            .await
            .expect("TTL")
    }

    pub async fn keys(&self, pattern: &str) -> Vec<String> {
        let mut c = self.connection().await;
        redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut c)
            .await
            .expect("KEYS")
    }
}
