//! The proxy's environment for the local stack: the local defaults, overridden by `.env`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::Result;

/// The local stack's settings. `.env.example` holds exactly these (a test checks it),
/// so `cp .env.example .env` changes nothing. `REDIS_ENDPOINT` is not here: `up`
/// fills it with its own redis-server's URL, or `memory://` when there is none.
pub const DEFAULTS: &[(&str, &str)] = &[
    ("PORT", "8000"),
    ("SSO_URL", "http://localhost:8081/"),
    ("SSO_CLIENT_ID", "s3proxy-local"),
    ("SSO_CLIENT_SECRET", "s3proxy-local-secret"),
    ("AWS_DEFAULT_REGION", "eu-west-2"),
    ("AWS_S3_BUCKET", "my-bucket"),
    ("AWS_S3_HEALTHCHECK_KEY", "healthcheck.txt"),
    ("AWS_ACCESS_KEY_ID", "s3proxy-local"),
    ("AWS_SECRET_ACCESS_KEY", "s3proxy-local-secret"),
    ("S3_USE_LOCAL", "true"),
    ("S3_ENDPOINT_URL", "http://127.0.0.1:9000"),
    ("RUST_LOG", "info"),
];

/// Every variable the proxy reads. The shell's values of these are not passed on:
/// real AWS keys or a production `VCAP_SERVICES` in a developer's shell must not
/// silently reach the local stack.
pub const PROXY_VARIABLES: &[&str] = &[
    "PORT",
    "VCAP_SERVICES",
    "REDIS_ENDPOINT",
    "SSO_URL",
    "SSO_URL_INTERNAL",
    "SSO_CLIENT_ID",
    "SSO_CLIENT_SECRET",
    "SSO_TOKEN_CHECK_GRACE_PERIOD",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_S3_BUCKET",
    "AWS_S3_HEALTHCHECK_KEY",
    "KEY_PREFIX",
    "S3_USE_LOCAL",
    "S3_ENDPOINT_URL",
    "COOKIE_SAMESITE",
    "SHUTDOWN_TIMEOUT",
    "CLIENT_IDLE_TIMEOUT",
    "RUST_LOG",
];

/// The proxy's variables, and which of them `.env` set.
#[derive(Debug, Clone)]
pub struct DevEnv {
    vars: BTreeMap<String, String>,
    from_file: Vec<String>,
}

impl DevEnv {
    /// The local defaults alone.
    pub fn defaults() -> DevEnv {
        DevEnv {
            vars: DEFAULTS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            from_file: Vec::new(),
        }
    }

    /// The defaults, then `env_file`'s values over them when the file exists.
    pub fn load(env_file: Option<&Path>) -> Result<DevEnv> {
        let mut env = DevEnv::defaults();
        let Some(path) = env_file.filter(|p| p.exists()) else {
            return Ok(env);
        };
        let shown = crate::workspace::relative(path);
        let entries =
            dotenvy::from_path_iter(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        for entry in entries {
            let (key, value) = entry.map_err(|e| format!("{shown}: {e}"))?;
            if !env.from_file.contains(&key) {
                env.from_file.push(key.clone());
            }
            env.vars.insert(key, value);
        }
        Ok(env)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.vars.insert(key.to_owned(), value.into());
    }

    /// The names `.env` set (never their values: some are secrets).
    pub fn set_by_env_file(&self) -> &[String] {
        &self.from_file
    }

    /// The names `.env` set to something other than the local default.
    pub fn overrides(&self) -> Vec<&str> {
        self.from_file
            .iter()
            .filter(|key| self.get(key) != Some(default(key)))
            .map(String::as_str)
            .collect()
    }

    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `get`, falling back to the local default when unset or empty.
    pub fn get_or_default(&self, key: &str) -> &str {
        match self.get(key) {
            Some(value) if !value.is_empty() => value,
            _ => default(key),
        }
    }

    /// `PORT` as a number.
    pub fn proxy_port(&self) -> Result<u16> {
        let port = self.get_or_default("PORT");
        port.trim()
            .parse()
            .map_err(|_| format!("PORT is not a port number: {port:?}"))
    }

    /// The port of a local S3 server to start, when the proxy is set to use one on
    /// this machine.
    pub fn local_s3_port(&self) -> Option<u16> {
        let use_local = matches!(self.get("S3_USE_LOCAL"), Some("1" | "true" | "True"));
        use_local
            .then(|| self.get("S3_ENDPOINT_URL").and_then(loopback_port))
            .flatten()
    }

    /// The port of an SSO mock to start, when the proxy's SSO is on this machine.
    pub fn local_sso_port(&self) -> Option<u16> {
        self.get("SSO_URL").and_then(loopback_port)
    }

    /// Whether `.env` names a Redis of its own (then `up` starts none).
    pub fn has_own_redis(&self) -> bool {
        ["REDIS_ENDPOINT", "VCAP_SERVICES"]
            .iter()
            .any(|key| self.from_file.iter().any(|k| k == key))
    }

    /// The bucket, and the key prefix under which the proxy reads objects
    /// (`AWS_S3_BUCKET`'s path part, then `KEY_PREFIX`).
    pub fn bucket_and_prefix(&self) -> (String, String) {
        let bucket = self.get_or_default("AWS_S3_BUCKET");
        let (name, path) = bucket.split_once('/').unwrap_or((bucket, ""));
        let prefix: Vec<&str> = path
            .split('/')
            .chain(self.get("KEY_PREFIX").unwrap_or("").split('/'))
            .filter(|part| !part.is_empty())
            .collect();
        (name.to_owned(), prefix.join("/"))
    }
}

/// The local default of `key` ("" for a variable without one).
pub fn default(key: &str) -> &'static str {
    DEFAULTS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("", |(_, v)| v)
}

/// The port of an `http://` URL whose host is this machine (`localhost`,
/// `127.0.0.1` or `[::1]`) and that names its port; `None` for anything else.
pub fn loopback_port(url: &str) -> Option<u16> {
    let rest = url.trim().strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (host, port) = authority.rsplit_once(':')?;
    let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    local.then(|| port.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn env_example_equals_the_local_defaults() {
        let example = crate::workspace::root().join(".env.example");
        let vars: BTreeMap<String, String> = dotenvy::from_path_iter(&example)
            .unwrap()
            .map(|entry| entry.unwrap())
            .collect();
        let defaults: BTreeMap<String, String> = DEFAULTS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(vars, defaults, "`.env.example` and devenv::DEFAULTS differ");
        // Every variable is at least mentioned, commented out when it keeps its default.
        let text = std::fs::read_to_string(&example).unwrap();
        for name in PROXY_VARIABLES {
            assert!(text.contains(&format!("{name}=")), "{name} missing");
        }
    }

    #[test]
    fn compose_proxy_uses_the_local_defaults() {
        let compose = crate::workspace::root().join("compose/compose.yaml");
        let text = std::fs::read_to_string(compose).unwrap();
        // Inside the compose network, S3 is MinIO's service name instead of 127.0.0.1.
        for (key, value) in DEFAULTS.iter().filter(|(k, _)| *k != "S3_ENDPOINT_URL") {
            let plain = format!("      {key}: {value}\n");
            let quoted = format!("      {key}: \"{value}\"\n");
            assert!(
                text.contains(&plain) || text.contains(&quoted),
                "compose.yaml's proxy lacks {key}: {value}"
            );
        }
    }

    #[test]
    fn env_file_overrides_defaults() {
        let mut file = temp_env_file();
        writeln!(
            file.1,
            "# a comment\nPORT=8100\nAWS_S3_BUCKET=my-bucket\nexport SSO_URL=\"https://sso.example.com/\"\nREDIS_ENDPOINT=redis://127.0.0.1:6390/0\n"
        )
        .unwrap();
        let env = DevEnv::load(Some(&file.0)).unwrap();
        std::fs::remove_file(&file.0).unwrap();
        assert_eq!(env.proxy_port(), Ok(8100));
        assert_eq!(env.local_sso_port(), None);
        assert_eq!(env.local_s3_port(), Some(9000));
        assert!(env.has_own_redis());
        assert_eq!(env.get("AWS_S3_BUCKET"), Some("my-bucket"));
        assert_eq!(
            env.set_by_env_file(),
            ["PORT", "AWS_S3_BUCKET", "SSO_URL", "REDIS_ENDPOINT"]
        );
        assert_eq!(env.overrides(), ["PORT", "SSO_URL", "REDIS_ENDPOINT"]);
    }

    #[test]
    fn missing_env_file_means_defaults() {
        let env = DevEnv::load(Some(Path::new("/nonexistent/.env"))).unwrap();
        assert_eq!(env.proxy_port(), Ok(8000));
        assert_eq!(env.local_sso_port(), Some(8081));
        assert_eq!(env.local_s3_port(), Some(9000));
        assert!(!env.has_own_redis());
    }

    #[test]
    fn bucket_prefix_and_urls() {
        let mut env = DevEnv::defaults();
        assert_eq!(env.bucket_and_prefix(), ("my-bucket".into(), "".into()));
        env.set("AWS_S3_BUCKET", "b/some/path/");
        env.set("KEY_PREFIX", "more");
        assert_eq!(
            env.bucket_and_prefix(),
            ("b".into(), "some/path/more".into())
        );
        assert_eq!(loopback_port("http://127.0.0.1:9000"), Some(9000));
        assert_eq!(loopback_port("http://localhost:8081/"), Some(8081));
        assert_eq!(loopback_port("http://[::1]:81/x"), Some(81));
        assert_eq!(loopback_port("http://localhost/"), None);
        assert_eq!(loopback_port("https://sso.example.com:443/"), None);
        env.set("S3_USE_LOCAL", "false");
        assert_eq!(env.local_s3_port(), None);
    }

    /// A file of this test process's own (no tempfile crate here).
    fn temp_env_file() -> (std::path::PathBuf, std::fs::File) {
        let path = std::env::temp_dir().join(format!("xtask-devenv-{}.env", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        (path, file)
    }
}
