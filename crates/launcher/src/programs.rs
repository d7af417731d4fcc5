//! How each program of the stack is started: its command line and readiness, written
//! once for `up`, the benchmark and the tests.

use std::path::{Path, PathBuf};

use crate::{Ready, Spec};

/// A Redis server's TLS files (PEM).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// How clients reach a Redis server beyond a plain port.
#[derive(Clone, Debug, Default)]
pub struct RedisArgs {
    /// `--requirepass`.
    pub password: Option<String>,
    /// TLS on the port, and no plain port at all.
    pub tls: Option<TlsFiles>,
    /// Commands renamed away (`--rename-command NAME ""`): a server without them, as some
    /// managed services and proxies are.
    pub disabled_commands: Vec<String>,
}

/// `redis-server` on 127.0.0.1:`port`, writing nothing to disk (sessions here are
/// throw-away) and keeping its working files in `dir`. Ready when it answers `PING`;
/// with a password or TLS, when it accepts connections.
pub fn redis_server(port: u16, dir: &Path, args: &RedisArgs) -> Spec {
    let plain = args.password.is_none() && args.tls.is_none();
    let ready = if plain { Ready::Pong } else { Ready::Accepts };
    let mut spec = Spec::new("redis-server", "redis-server", port, ready);
    spec = match &args.tls {
        None => spec.args(["--port", &port.to_string()]),
        Some(tls) => spec
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .arg("--tls-cert-file")
            .arg(&tls.cert)
            .arg("--tls-key-file")
            .arg(&tls.key)
            .arg("--tls-ca-cert-file")
            .arg(&tls.ca)
            .args(["--tls-auth-clients", "no"]),
    };
    if let Some(password) = &args.password {
        spec = spec.args(["--requirepass", password]);
    }
    for command in &args.disabled_commands {
        spec = spec.args(["--rename-command", command, ""]);
    }
    spec.args(["--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
}

/// The `dev-s3` binary `bin` on 127.0.0.1:`port`, serving `root/<bucket>/` as `bucket`
/// with these keys. Ready when it accepts connections.
pub fn dev_s3(
    bin: &Path,
    port: u16,
    root: &Path,
    bucket: &str,
    access_key: &str,
    secret_key: &str,
) -> Spec {
    Spec::new("dev-s3", bin, port, Ready::Accepts)
        .arg("--root")
        .arg(root)
        .args(["--port", &port.to_string(), "--bucket", bucket])
        .args(["--access-key", access_key])
        .args(["--secret-key", secret_key])
}

/// The SSO mock's settings on its command line.
#[derive(Clone, Debug)]
pub struct SsoMockArgs<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    /// `false`: `--auto-approve`, the login returns at once without a Sign in page.
    pub sign_in_page: bool,
}

/// The `sso-mock` binary `bin` on 127.0.0.1:`port`. Ready when it accepts connections.
pub fn sso_mock(bin: &Path, port: u16, args: &SsoMockArgs) -> Spec {
    let spec = Spec::new("sso-mock", bin, port, Ready::Accepts)
        .args(["--port", &port.to_string()])
        .args(["--client-id", args.client_id])
        .args(["--client-secret", args.client_secret]);
    if args.sign_in_page {
        spec
    } else {
        spec.arg("--auto-approve")
    }
}

/// The proxy binary `bin` listening on `port` (`PORT`; the rest of its configuration is
/// the caller's environment). Ready when it accepts connections.
pub fn s3proxy(bin: &Path, port: u16) -> Spec {
    Spec::new("s3proxy", bin, port, Ready::Accepts).env("PORT", port.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(spec: &Spec) -> String {
        format!("{spec:?}")
    }

    #[test]
    fn command_lines() {
        let plain = redis_server(6400, Path::new("/d"), &RedisArgs::default());
        assert!(line(&plain).contains(r#""--port" "6400" "--bind" "127.0.0.1""#));
        let tls = redis_server(
            6401,
            Path::new("/d"),
            &RedisArgs {
                password: Some("pw".into()),
                tls: Some(TlsFiles {
                    cert: "/c".into(),
                    key: "/k".into(),
                    ca: "/a".into(),
                }),
                disabled_commands: vec!["CLIENT".into()],
            },
        );
        assert!(line(&tls).contains(r#""--port" "0" "--tls-port" "6401""#));
        assert!(line(&tls).contains(r#""--requirepass" "pw""#));
        assert!(line(&tls).contains(r#""--rename-command" "CLIENT" """#));

        let page = SsoMockArgs {
            client_id: "id",
            client_secret: "secret",
            sign_in_page: true,
        };
        assert!(!line(&sso_mock(Path::new("sso-mock"), 8081, &page)).contains("--auto-approve"));
        let auto = SsoMockArgs {
            sign_in_page: false,
            ..page
        };
        assert!(line(&sso_mock(Path::new("sso-mock"), 8081, &auto)).contains("--auto-approve"));

        let s3 = dev_s3(Path::new("dev-s3"), 9000, Path::new("/s3"), "b", "k", "s");
        assert!(line(&s3).contains(r#""--bucket" "b" "--access-key" "k" "--secret-key" "s""#));
        assert!(line(&s3proxy(Path::new("s3proxy"), 8000)).contains(r#""PORT""#));
    }
}
