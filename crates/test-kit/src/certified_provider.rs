//! A certified OpenID Provider the service was not written for: node-oidc-provider, run
//! by the harness in `testdata/oidc-provider` on a free loopback port (one person, two
//! confidential clients, its development login and consent pages, RP-initiated logout).
//!
//! Needs Node.js and the harness's packages (`npm ci --prefix testdata/oidc-provider`,
//! which `cargo xtask test` runs); without them the test fails saying so.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Its clients, whose ID tokens are signed RS256 and ES256.
pub const CERTIFIED_CLIENTS: [&str; 2] = ["s3proxy-rs256", "s3proxy-es256"];

/// What the harness's person is called by the provider (any login name signs in).
pub const CERTIFIED_EMAIL: &str = "ada.lovelace@example.org";

/// The harness's person's groups (claim `groups`, scope `groups`).
pub const CERTIFIED_GROUPS: [&str; 2] = ["analytical-engine", "finance"];

/// node-oidc-provider takes a few seconds to load on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

const INSTALL: &str = "install it from the workspace root with `npm ci --prefix \
                       testdata/oidc-provider` (Node.js 20 or later and npm: `apt-get \
                       install -y nodejs npm`); `cargo xtask test` does this itself";

/// The provider process; killed when dropped. Its standard error is shown only when the
/// test failed.
pub struct CertifiedProvider {
    child: Child,
    issuer: String,
    stderr: Arc<Mutex<String>>,
}

/// The harness's folder.
pub fn certified_provider_harness() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/oidc-provider")
}

impl CertifiedProvider {
    /// Starts it with both clients registered for `callback` (their redirect URI) and
    /// `signed_out` (their post-logout redirect URI), with `client_secret`; returns once
    /// it accepts connections.
    pub async fn start(callback: &str, signed_out: &str, client_secret: &str) -> CertifiedProvider {
        let dir = certified_provider_harness();
        match Command::new("node").arg("--version").output() {
            Ok(out) if out.status.success() => {}
            _ => panic!("node is not installed: the certified OpenID Provider needs it; {INSTALL}"),
        }
        assert!(
            dir.join("node_modules/oidc-provider/package.json").exists(),
            "the harness's oidc-provider package is missing in {}: {INSTALL}",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(&dir)
            .env("CALLBACK", callback)
            .env("SIGNED_OUT", signed_out)
            .env("CLIENT_SECRET", client_secret)
            // It exits when this pipe closes, even if this process is killed.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("node's stderr");
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            if let Ok(mut all) = collected.lock() {
                all.push_str(&text);
            }
        });
        let stdout = child.stdout.take().expect("node's stdout");
        let (ready, issuer) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("READY ") {
                    let _ = ready.send(issuer.to_owned());
                }
            }
        });
        let mut provider = CertifiedProvider {
            child,
            issuer: String::new(),
            stderr,
        };
        // Waited for on tokio's clock: the test's in-process servers keep answering, and
        // a journey's time limit can still stop it.
        let deadline = Instant::now() + START_TIMEOUT;
        provider.issuer = loop {
            match issuer.try_recv() {
                Ok(issuer) => break issuer,
                Err(mpsc::TryRecvError::Disconnected) => panic!(
                    "node-oidc-provider exited at start:\n{}",
                    provider.stderr_text()
                ),
                Err(mpsc::TryRecvError::Empty) => {}
            }
            assert!(
                Instant::now() < deadline,
                "node-oidc-provider did not start within {START_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        provider
    }

    /// Its issuer, `http://127.0.0.1:<port>` (no trailing slash).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn stderr_text(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for CertifiedProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // The reader thread has what the process wrote before it was killed.
            std::thread::sleep(Duration::from_millis(100));
            eprintln!("node-oidc-provider's stderr:\n{}", self.stderr_text());
        }
    }
}
