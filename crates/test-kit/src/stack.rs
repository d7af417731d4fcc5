//! The whole set: Redis, S3, SSO mock and the proxy, wired together.

use std::path::{Path, PathBuf};

use dev_s3::{S3Config, S3Server, StoredHeaders};
use sso_mock::{MockConfig, OidcMock, SsoMock};

use crate::proxy::Proxy;
use crate::redis_server::{RedisOptions, RedisServer};

pub const BUCKET: &str = "my-bucket";
pub const HEALTHCHECK_KEY: &str = "healthcheck.txt";
pub const S3_ACCESS_KEY: &str = "test-access-key";
pub const S3_SECRET_KEY: &str = "test-secret-key";

pub struct StackBuilder {
    bin: PathBuf,
    sso: MockConfig,
    redis: RedisOptions,
    overrides: Vec<(String, Option<String>)>,
    proxy_port: Option<u16>,
}

impl StackBuilder {
    /// Sets (or overrides) a variable of the proxy.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.overrides.push((name.into(), Some(value.into())));
        self
    }

    /// Leaves a variable of the proxy unset.
    pub fn unset(mut self, name: &str) -> Self {
        self.overrides.push((name.into(), None));
        self
    }

    /// Starts Redis with a password, or TLS.
    pub fn redis(mut self, options: RedisOptions) -> Self {
        self.redis = options;
        self
    }

    /// Changes the SSO mock's behaviour.
    pub fn sso(mut self, f: impl FnOnce(&mut MockConfig)) -> Self {
        f(&mut self.sso);
        self
    }

    /// Signs in through OpenID Connect: the SSO mock is an OpenID Provider too
    /// (changed by `f`), and the proxy runs with `SSO_PROVIDER=oidc` and the mock's URL
    /// as its issuer.
    pub fn oidc(mut self, f: impl FnOnce(&mut OidcMock)) -> Self {
        let mut oidc = OidcMock::default();
        f(&mut oidc);
        self.sso.oidc = Some(oidc);
        self.env("SSO_PROVIDER", "oidc")
    }

    /// The proxy listens on `port` (from [`free_port`](crate::free_port)) rather than a
    /// free port of its own: for a provider that must know the callback URL first.
    pub fn proxy_port(mut self, port: u16) -> Self {
        self.proxy_port = Some(port);
        self
    }

    pub async fn start(self) -> Stack {
        let redis = RedisServer::start_with(self.redis.clone()).await;
        let (s3_root, s3) = start_s3().await;
        let sso = SsoMock::start(self.sso.clone())
            .await
            .expect("start the SSO mock");
        let env = proxy_env(&redis, &s3, &sso, &self.sso, &self.overrides);
        let proxy = match self.proxy_port {
            Some(port) => Proxy::spawn_on_port(&self.bin, port, &env).await,
            None => Proxy::spawn(&self.bin, &env).await,
        };
        Stack {
            proxy,
            sso,
            s3,
            redis,
            env,
            bin: self.bin,
            sso_config: self.sso,
            _s3_root: s3_root,
        }
    }
}

/// The S3 server over a new temporary folder (removed when the first value is dropped),
/// with the test bucket and keys.
pub async fn start_s3() -> (tempfile::TempDir, S3Server) {
    let root = tempfile::tempdir().expect("temp dir for S3");
    let s3 = S3Server::start(s3_config(root.path()))
        .await
        .expect("start the S3 server");
    (root, s3)
}

fn s3_config(root: &Path) -> S3Config {
    let mut config = S3Config::new(root);
    config.access_key = S3_ACCESS_KEY.into();
    config.secret_key = S3_SECRET_KEY.into();
    config.buckets = vec![BUCKET.into()];
    config
}

fn proxy_env(
    redis: &RedisServer,
    s3: &S3Server,
    sso: &SsoMock,
    sso_config: &MockConfig,
    overrides: &[(String, Option<String>)],
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("REDIS_ENDPOINT", redis.url()),
        ("SSO_URL", sso.url()),
        ("SSO_CLIENT_ID", sso_config.client_id.clone()),
        ("SSO_CLIENT_SECRET", sso_config.client_secret.clone()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_S3_BUCKET", BUCKET.into()),
        ("AWS_S3_HEALTHCHECK_KEY", HEALTHCHECK_KEY.into()),
        ("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY.into()),
        ("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY.into()),
        ("S3_USE_LOCAL", "true".into()),
        ("S3_ENDPOINT_URL", s3.endpoint()),
        ("RUST_LOG", "info".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (name, value) in overrides {
        env.retain(|(k, _)| k != name);
        if let Some(value) = value {
            env.push((name.clone(), value.clone()));
        }
    }
    env
}

/// Everything running. Dropping it stops it all.
pub struct Stack {
    pub proxy: Proxy,
    pub sso: SsoMock,
    pub s3: S3Server,
    pub redis: RedisServer,
    /// The variables the proxy was started with (without `PORT`).
    pub env: Vec<(String, String)>,
    bin: PathBuf,
    sso_config: MockConfig,
    _s3_root: tempfile::TempDir,
}

impl Stack {
    /// Stops the S3 server (connections refused from now on).
    pub async fn stop_s3(&mut self) {
        self.s3.stop().await;
    }

    /// Starts the S3 server again on the same port, over the same folder.
    pub async fn restart_s3(&mut self) {
        let port = self.s3.port();
        self.s3.stop().await;
        self.s3 = S3Server::start_on_port(port, s3_config(self._s3_root.path()))
            .await
            .expect("restart the S3 server on its port");
    }

    /// Starts the SSO mock again on the same port, with its original configuration.
    pub async fn restart_sso(&mut self) {
        let port = self.sso.port();
        self.sso.stop().await;
        self.sso = SsoMock::start_on_port(port, self.sso_config.clone())
            .await
            .expect("restart the SSO mock on its port");
    }

    /// `bin`: the proxy binary, `env!("CARGO_BIN_EXE_s3proxy")` in its tests.
    pub fn builder(bin: impl AsRef<Path>) -> StackBuilder {
        StackBuilder {
            bin: bin.as_ref().to_path_buf(),
            sso: MockConfig::default(),
            redis: RedisOptions::default(),
            overrides: Vec::new(),
            proxy_port: None,
        }
    }

    /// Writes an object straight into the bucket's folder.
    pub fn put_object(&self, key: &str, bytes: &[u8]) -> PathBuf {
        crate::put_object(&self.s3, key, bytes)
    }

    /// Writes an object with the headers S3 would keep with it (`Cache-Control`,
    /// `Content-Disposition`...).
    pub fn put_object_with(&self, key: &str, bytes: &[u8], headers: &StoredHeaders) -> PathBuf {
        crate::put_object_with(&self.s3, key, bytes, headers)
    }

    pub fn object_path(&self, key: &str) -> PathBuf {
        self.s3.bucket_dir(BUCKET).join(key)
    }

    /// Starts another proxy process against the same parts, with changed variables.
    pub async fn spawn_proxy(&self, overrides: &[(&str, Option<&str>)]) -> Proxy {
        Proxy::spawn(&self.bin, &self.env_with(overrides)).await
    }

    /// Like [`Stack::spawn_proxy`], with the proxy's log on a pipe
    /// ([`Proxy::take_log_pipe`]).
    pub async fn spawn_proxy_with_log_pipe(&self, overrides: &[(&str, Option<&str>)]) -> Proxy {
        Proxy::spawn_with_log_pipe(&self.bin, &self.env_with(overrides)).await
    }

    fn env_with(&self, overrides: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        for (name, value) in overrides {
            env.retain(|(k, _)| k != name);
            if let Some(value) = value {
                env.push((name.to_string(), value.to_string()));
            }
        }
        env
    }

    pub fn bin(&self) -> &Path {
        &self.bin
    }
}
