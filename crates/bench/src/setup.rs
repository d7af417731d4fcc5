//! The benchmark's world: the tools it needs, its objects, nginx as the fast backend,
//! Redis and the SSO mock (all three in one launcher [`Group`]), and the proxy itself,
//! which is restarted on its own (start-up time, peak memory from a fresh process).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use devstack::devenv::{self, DevEnv, PROXY_VARIABLES};
use devstack::workspace::{binary, on_path, relative, target_dir};
use devstack::{http, signals, Result, STOP_GRACE};
use launcher::{Group, Lifetime, Output, Process, Spec, SsoMockArgs};
use reqwest::StatusCode;

use super::nginx::{BackendPorts, Nginx, ReverseProxyPorts};
use super::tls::TestCa;

/// What to run to get the tools the benchmark needs (Debian and Ubuntu).
pub const INSTALL_HINT: &str = "apt-get install -y nginx-light wrk redis-server openssl";

/// The proxy's bucket (the folder of that name in the data folder).
pub const BUCKET: &str = "my-bucket";

/// How long the proxy, or a service, may take to accept connections before the run fails.
const START_LIMIT: Duration = Duration::from_secs(20);

/// `target/bench/`: data, configuration, logs and results.
pub fn bench_dir() -> PathBuf {
    target_dir().join("bench")
}

/// nginx, wrk, redis-server and openssl must be installed; returns how to run nginx (Debian puts
/// it in /usr/sbin, which is not on every user's PATH).
pub fn check_tools() -> Result<PathBuf> {
    let nginx = if on_path("nginx") {
        Some(PathBuf::from("nginx"))
    } else {
        Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file())
    };
    let mut missing = Vec::new();
    if nginx.is_none() {
        missing.push("nginx");
    }
    for tool in ["wrk", "redis-server", "openssl"] {
        if !on_path(tool) {
            missing.push(tool);
        }
    }
    match nginx {
        Some(nginx) if missing.is_empty() => Ok(nginx),
        _ => Err(format!(
            "the benchmark needs {} (missing here). Install them with `{INSTALL_HINT}` \
             (Debian/Ubuntu, as root)",
            missing.join(", ")
        )),
    }
}

/// An object of the bucket.
#[derive(Clone, Debug)]
pub struct Object {
    pub key: String,
    pub size: u64,
}

impl Object {
    pub fn new(size: u64) -> Object {
        Object {
            key: format!("bench-{}.bin", size_name(size)),
            size,
        }
    }

    /// `64 MiB`.
    pub fn label(&self) -> String {
        let name = size_name(self.size);
        match name.find(|c: char| c.is_ascii_alphabetic()) {
            Some(i) => format!("{} {}", &name[..i], &name[i..]),
            None => name,
        }
    }
}

/// `1KiB`, `64MiB`, `1GiB`.
fn size_name(size: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if size >= unit && size.is_multiple_of(unit) {
            return format!("{}{name}", size / unit);
        }
    }
    format!("{size}B")
}

/// Writes each object into `<data>/my-bucket/` unless a file of the right size is
/// there already. The bytes are a pseudo-random pattern, not zeros: nothing on the way
/// can take a shortcut over them.
pub fn ensure_objects(data: &Path, objects: &[&Object]) -> Result<()> {
    let bucket = data.join(BUCKET);
    std::fs::create_dir_all(&bucket)
        .map_err(|e| format!("cannot create {}: {e}", bucket.display()))?;
    // Something for the proxy's healthcheck key, so that it is a real object too.
    let health = bucket.join("healthcheck.txt");
    if !health.exists() {
        std::fs::write(&health, "OK\n")
            .map_err(|e| format!("cannot write {}: {e}", health.display()))?;
    }
    let pattern = pattern(1 << 20);
    for object in objects {
        let path = bucket.join(&object.key);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == object.size) {
            continue;
        }
        println!("bench: writing {} ({} bytes)", relative(&path), object.size);
        let partial = path.with_extension("partial");
        let mut file = File::create(&partial)
            .map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
        let mut left = object.size;
        while left > 0 {
            let n = left.min(pattern.len() as u64) as usize;
            file.write_all(&pattern[..n])
                .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
            left -= n as u64;
        }
        drop(file);
        // Renamed only once complete, so an interrupted write is never taken for the object.
        std::fs::rename(&partial, &path)
            .map_err(|e| format!("cannot rename {}: {e}", partial.display()))?;
    }
    Ok(())
}

/// `len` bytes of xorshift output, never a run of zeros.
fn pattern(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// nginx (the backend and the reverse proxy), Redis and the SSO mock; stopped when
/// dropped, also on error.
pub struct Services {
    group: Group,
    pub backend: BackendPorts,
    pub nginx_pid: u32,
    pub nginx_proxy: ReverseProxyPorts,
    pub nginx_proxy_pid: u32,
    /// The CA that signed the backend's https certificate.
    pub ca: TestCa,
    pub redis_port: u16,
    pub sso_port: u16,
}

impl Services {
    /// Starts them, the SSO mock from the build of `profile`; their output goes to
    /// `dir/logs/<name>.log`.
    pub fn start(nginx: &Path, dir: &Path, profile: &str) -> Result<Services> {
        for sub in ["logs", "redis"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        }
        let logs = dir.join("logs");
        let mut services = Services {
            group: Group::new(),
            backend: BackendPorts {
                http: launcher::free_port()?,
                https: launcher::free_port()?,
            },
            nginx_pid: 0,
            nginx_proxy: ReverseProxyPorts {
                to_http: launcher::free_port()?,
                to_https: launcher::free_port()?,
            },
            nginx_proxy_pid: 0,
            ca: TestCa::create(&dir.join("tls"))?,
            redis_port: launcher::free_port()?,
            sso_port: launcher::free_port()?,
        };

        let nginx = Nginx::probe(nginx);
        let backend = nginx.backend(
            &dir.join("nginx"),
            &dir.join("data"),
            &services.backend,
            &services.ca,
        )?;
        services.nginx_pid = services.start_one(backend, &logs)?;
        let reverse_proxy = nginx.reverse_proxy(
            &dir.join("nginx-proxy"),
            &services.nginx_proxy,
            &services.backend,
            &services.ca,
        )?;
        services.nginx_proxy_pid = services.start_one(reverse_proxy, &logs)?;

        let redis =
            launcher::redis_server(services.redis_port, &dir.join("redis"), &Default::default());
        services.start_one(redis, &logs)?;

        let args = SsoMockArgs {
            client_id: devenv::default("SSO_CLIENT_ID"),
            client_secret: devenv::default("SSO_CLIENT_SECRET"),
            // Signs in at once: the benchmark measures the proxy, not a login page.
            sign_in_page: false,
        };
        let sso = launcher::sso_mock(&binary("sso-mock", profile), services.sso_port, &args)
            .env("RUST_LOG", "warn");
        services.start_one(sso, &logs)?;
        Ok(services)
    }

    /// Starts `spec`, logging to `logs/<name>.log`, and waits until it is ready; returns
    /// its pid.
    fn start_one(&mut self, spec: Spec, logs: &Path) -> Result<u32> {
        let log = Output::File(logs.join(format!("{}.log", spec.name())));
        let process = self
            .group
            .push(Process::spawn(spec, log, Lifetime::WithParent)?);
        process.wait_ready(START_LIMIT, launcher::POLL, signals::stop_requested)?;
        Ok(process.pid())
    }

    /// The proxy's environment: the local stack's defaults, pointed at these services.
    pub fn proxy_env(&self, rust_log: &str) -> Vec<(String, String)> {
        let mut env = DevEnv::defaults();
        env.set("AWS_S3_BUCKET", BUCKET);
        env.set("S3_USE_LOCAL", "true");
        env.set(
            "S3_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", self.backend.http),
        );
        env.set(
            "REDIS_ENDPOINT",
            format!("redis://127.0.0.1:{}/0", self.redis_port),
        );
        env.set("SSO_URL", format!("http://127.0.0.1:{}/", self.sso_port));
        env.set("RUST_LOG", rust_log);
        env.vars()
            .filter(|(name, _)| *name != "PORT")
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// [`Services::proxy_env`] with the backend's https port as the S3 endpoint, its CA
    /// trusted through `SSL_CERT_FILE`.
    pub fn proxy_env_https(&self, rust_log: &str) -> Vec<(String, String)> {
        let mut env = self.proxy_env(rust_log);
        env.retain(|(name, _)| name != "S3_ENDPOINT_URL" && name != "SSL_CERT_FILE");
        env.push((
            "S3_ENDPOINT_URL".into(),
            format!("https://localhost:{}", self.backend.https),
        ));
        env.push((
            "SSL_CERT_FILE".into(),
            self.ca.ca_file.display().to_string(),
        ));
        env
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        for name in self.group.stop(STOP_GRACE) {
            eprintln!("warning: {name} could not be stopped");
        }
    }
}

/// The proxy, run by the benchmark itself so that it can be restarted; stopped when dropped.
pub struct Proxy {
    process: Process,
    pub port: u16,
    pub pid: u32,
    /// From spawning the process to its first accepted connection.
    pub start_time: Duration,
}

impl Proxy {
    /// Starts the binary `bin` with `env` on a free port, its output appended to `log`,
    /// and waits until it accepts connections.
    pub fn start(bin: &Path, env: &[(String, String)], log: &Path) -> Result<Proxy> {
        let port = launcher::free_port()?;
        // Only the benchmark's settings: none of the shell's values of the proxy's variables.
        let shell_values = PROXY_VARIABLES.iter().filter(|name| **name != "PORT");
        let spec = launcher::s3proxy(bin, port)
            .env_remove(shell_values)
            .envs(env.iter().map(|(k, v)| (k, v)));
        let mut process = Process::spawn(
            spec,
            Output::Append(log.to_path_buf()),
            Lifetime::WithParent,
        )?;
        // A look every millisecond: the time to the first accepted connection is measured.
        let start_time = process.wait_ready(
            START_LIMIT,
            Duration::from_millis(1),
            signals::stop_requested,
        )?;
        Ok(Proxy {
            port,
            pid: process.pid(),
            process,
            start_time,
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if !self.process.stop(STOP_GRACE) {
            eprintln!("warning: s3proxy (pid {}) could not be stopped", self.pid);
        }
    }
}

/// Signs in through the SSO mock (which approves at once) as a browser would, and
/// checks that the session then gets `key`; returns the `assets_session_id=…` pair.
pub fn login(proxy_port: u16, key: &str) -> Result<String> {
    let client = http::client()?;
    let url = format!("http://127.0.0.1:{proxy_port}/{key}");
    let anonymous = http::get(&client, &url, None)?;
    let authorize = http::redirect(&anonymous, "sign-in: the anonymous request")?;
    let approved = http::get(&client, &authorize, None)?;
    let callback = http::redirect(&approved, "sign-in: the SSO mock's authorize")?;
    let signed_in = http::get(&client, &callback, None)?;
    http::redirect(&signed_in, "sign-in: the callback")?;
    let cookie = http::session_cookie(&signed_in)?;
    let object = http::get(&client, &url, Some(&cookie))?;
    if object.status() != StatusCode::OK {
        return Err(format!(
            "signed in, but GET {url} answered {} (is the backend serving the bucket?)",
            object.status()
        ));
    }
    Ok(cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_patterns() {
        assert_eq!(Object::new(1 << 30).key, "bench-1GiB.bin");
        assert_eq!(Object::new(64 << 20).label(), "64 MiB");
        assert_eq!(Object::new(1024).label(), "1 KiB");
        let bytes = pattern(1000);
        assert_eq!(bytes.len(), 1000);
        assert!(bytes.windows(8).all(|w| w != [0; 8]));
    }
}
