//! nginx in the benchmark's two roles, each its own process with its own prefix: the
//! fast backend (the bucket folder served path-style, over http and https), and a plain
//! reverse proxy in front of it (what a mature proxy achieves on this machine, with no
//! authentication and no signing).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use devstack::Result;
use launcher::{Ready, Spec};

use super::tls::TestCa;

/// How to run this machine's nginx.
pub struct Nginx {
    program: PathBuf,
    /// Optional modules with temp paths to redirect (a "light" build may lack some).
    modules: Vec<&'static str>,
    /// `-e` (the error log before the configuration is read) came with nginx 1.19.5.
    takes_error_log_option: bool,
}

/// The backend's ports: plain http, and https with the test CA's certificate.
pub struct BackendPorts {
    pub http: u16,
    pub https: u16,
}

/// The reverse proxy's ports: to the backend's http port, and to its https port.
pub struct ReverseProxyPorts {
    pub to_http: u16,
    pub to_https: u16,
}

impl Nginx {
    pub fn probe(program: &Path) -> Nginx {
        let modules_output = version_output(program, "-V");
        let modules = ["fastcgi", "uwsgi", "scgi", "proxy"]
            .into_iter()
            .filter(|module| !modules_output.contains(&format!("--without-http_{module}_module")))
            .collect();
        let version: Vec<u32> = version_output(program, "-v")
            .split("nginx/")
            .nth(1)
            .unwrap_or("")
            .split(|c: char| !c.is_ascii_digit())
            .take(3)
            .map(|n| n.parse().unwrap_or(0))
            .collect();
        Nginx {
            program: program.to_path_buf(),
            modules,
            takes_error_log_option: version >= vec![1, 19, 5],
        }
    }

    /// The backend, serving `data` path-style (`/my-bucket/<key>` is
    /// `<data>/my-bucket/<key>`) with sendfile and ranges, in `prefix`.
    pub fn backend(
        &self,
        prefix: &Path,
        data: &Path,
        ports: &BackendPorts,
        ca: &TestCa,
    ) -> Result<Spec> {
        let config = format!(
            "{head}    server {{
        listen 127.0.0.1:{http} reuseport backlog=4096;
        root {data};
        location / {{
        }}
    }}
    server {{
        listen 127.0.0.1:{https} ssl reuseport backlog=4096;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_session_cache shared:tls:1m;
        root {data};
        location / {{
        }}
    }}
}}
",
            head = self.head(prefix),
            http = ports.http,
            https = ports.https,
            data = data.display(),
            cert = ca.cert_file.display(),
            key = ca.key_file.display(),
        );
        self.spec("nginx", prefix, ports.http, &config)
    }

    /// The reverse proxy: `proxy_pass` to the backend with upstream keep-alive and
    /// proxy buffering on (nginx's defaults otherwise), verifying the backend's https
    /// certificate against the test CA.
    pub fn reverse_proxy(
        &self,
        prefix: &Path,
        ports: &ReverseProxyPorts,
        backend: &BackendPorts,
        ca: &TestCa,
    ) -> Result<Spec> {
        let location = |upstream: &str, tls: &str| {
            format!(
                "        location / {{
            proxy_pass {upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_buffering on;
{tls}        }}
"
            )
        };
        let tls = format!(
            "            proxy_ssl_trusted_certificate {ca};
            proxy_ssl_verify on;
            proxy_ssl_name localhost;
            proxy_ssl_session_reuse on;
",
            ca = ca.ca_file.display()
        );
        let config = format!(
            "{head}    upstream backend {{
        server 127.0.0.1:{http};
        keepalive 64;
    }}
    upstream backend_tls {{
        server 127.0.0.1:{https};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{to_http} reuseport backlog=4096;
{plain}    }}
    server {{
        listen 127.0.0.1:{to_https} reuseport backlog=4096;
{secure}    }}
}}
",
            head = self.head(prefix),
            http = backend.http,
            https = backend.https,
            to_http = ports.to_http,
            to_https = ports.to_https,
            plain = location("http://backend", ""),
            secure = location("https://backend_tls", &tls),
        );
        self.spec("nginx-proxy", prefix, ports.to_http, &config)
    }

    /// Writes `config` as `prefix/nginx.conf` and returns how to run it.
    fn spec(&self, name: &str, prefix: &Path, port: u16, config: &str) -> Result<Spec> {
        let tmp = prefix.join("tmp");
        std::fs::create_dir_all(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let conf = prefix.join("nginx.conf");
        std::fs::write(&conf, config)
            .map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        let mut spec = Spec::new(name, &self.program, port, Ready::Accepts)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&conf);
        if self.takes_error_log_option {
            // Otherwise it first tries the packaged log file, which may not be writable.
            spec = spec.arg("-e").arg(prefix.join("error.log"));
        }
        Ok(spec)
    }

    /// What both roles share: `daemon off`, two workers, their own pid file, error log
    /// and temp paths; no access log; keep-alive as long as the run.
    fn head(&self, prefix: &Path) -> String {
        let p = prefix.display();
        // As root, workers would otherwise switch to `nobody`, who may not read the data.
        // SAFETY: geteuid has no side effects.
        let user = if unsafe { libc::geteuid() } == 0 {
            "user root;\n"
        } else {
            ""
        };
        let mut temp_paths = format!("    client_body_temp_path {p}/tmp/client_body;\n");
        for module in &self.modules {
            temp_paths.push_str(&format!("    {module}_temp_path {p}/tmp/{module};\n"));
        }
        format!(
            "# Written by `cargo xtask bench`; rewritten on every run.
{user}daemon off;
master_process on;
worker_processes 2;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    sendfile on;
    # Not tcp_nopush: with sendfile it corks keep-alive responses, and a 64 KiB range
    # then waits for the client's delayed ACK (40 ms per request instead of 0.1).
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    default_type application/octet-stream;
{temp_paths}"
        )
    }
}

fn version_output(program: &Path, flag: &str) -> String {
    Command::new(program)
        .arg(flag)
        .stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nginx() -> Nginx {
        Nginx {
            program: "nginx".into(),
            modules: vec!["proxy"],
            takes_error_log_option: true,
        }
    }

    fn ca() -> TestCa {
        TestCa {
            ca_file: "/b/tls/ca.pem".into(),
            cert_file: "/b/tls/server.pem".into(),
            key_file: "/b/tls/server.key".into(),
        }
    }

    #[test]
    fn configurations() {
        let dir = std::env::temp_dir().join(format!("xtask-nginx-{}", std::process::id()));
        let backend = BackendPorts {
            http: 8123,
            https: 8124,
        };
        nginx()
            .backend(&dir.join("backend"), Path::new("/b/data"), &backend, &ca())
            .unwrap();
        let config = std::fs::read_to_string(dir.join("backend/nginx.conf")).unwrap();
        assert!(config.contains("listen 127.0.0.1:8123 reuseport"));
        assert!(config.contains("listen 127.0.0.1:8124 ssl"));
        assert!(config.contains("root /b/data;"));
        assert!(config.contains("ssl_certificate /b/tls/server.pem;"));
        assert!(config.contains("daemon off;"));

        let ports = ReverseProxyPorts {
            to_http: 9001,
            to_https: 9002,
        };
        nginx()
            .reverse_proxy(&dir.join("proxy"), &ports, &backend, &ca())
            .unwrap();
        let config = std::fs::read_to_string(dir.join("proxy/nginx.conf")).unwrap();
        assert!(config.contains("server 127.0.0.1:8123;\n        keepalive 64;"));
        assert!(config.contains("proxy_pass https://backend_tls;"));
        assert!(config.contains("proxy_ssl_trusted_certificate /b/tls/ca.pem;"));
        assert!(config.contains("proxy_buffering on;"));
        assert!(config.contains(&format!(
            "proxy_temp_path {}/tmp/proxy;",
            dir.join("proxy").display()
        )));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
