//! The proxy binary as a child process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::ports::{free_port, wait_for_port};

/// A running `s3proxy` process; killed when dropped. Its stderr (the log) goes to a file.
pub struct Proxy {
    port: u16,
    child: Child,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

/// Variables the child may inherit; everything else is cleared so that the host's AWS
/// or Redis settings cannot leak into a test.
const INHERITED: [&str; 3] = ["PATH", "HOME", "TMPDIR"];

/// Where the proxy's stderr (its log) goes.
enum LogTo<'a> {
    File(&'a Path),
    /// A pipe the test reads, or leaves unread to see what a stuck log does.
    Pipe,
}

fn command(bin: &Path, env: &[(String, String)], log: LogTo<'_>) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_clear();
    for name in INHERITED {
        if let Ok(v) = std::env::var(name) {
            cmd.env(name, v);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let stderr = match log {
        LogTo::File(path) => Stdio::from(std::fs::File::create(path).expect("proxy log file")),
        LogTo::Pipe => Stdio::piped(),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    cmd
}

impl Proxy {
    /// Starts the binary with `env` plus `PORT`, and waits until it accepts connections.
    pub async fn spawn(bin: &Path, env: &[(String, String)]) -> Proxy {
        Proxy::spawn_logging(bin, env, false).await
    }

    /// Like [`Proxy::spawn`], with the log on a pipe: take it with
    /// [`Proxy::take_log_pipe`] (and [`Proxy::logs`] is empty).
    pub async fn spawn_with_log_pipe(bin: &Path, env: &[(String, String)]) -> Proxy {
        Proxy::spawn_logging(bin, env, true).await
    }

    /// The read end of the log pipe of a proxy started with a pipe.
    pub fn take_log_pipe(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }

    async fn spawn_logging(bin: &Path, env: &[(String, String)], pipe: bool) -> Proxy {
        let port = free_port();
        let mut env = env.to_vec();
        env.retain(|(k, _)| k != "PORT");
        env.push(("PORT".into(), port.to_string()));
        let dir = tempfile::tempdir().expect("temp dir");
        let log_path = dir.path().join("proxy.log");
        let log = if pipe {
            LogTo::Pipe
        } else {
            LogTo::File(&log_path)
        };
        let child = command(bin, &env, log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let mut proxy = Proxy {
            port,
            child,
            log_path,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = proxy.child.try_wait() {
                panic!("s3proxy exited at start ({status}):\n{}", proxy.logs());
            }
            if wait_for_port(port, Duration::from_millis(50)).await {
                return proxy;
            }
        }
        panic!(
            "s3proxy did not listen on {port} within 20 s:\n{}",
            proxy.logs()
        );
    }

    /// Runs the binary to its exit (for start-up errors); `None` if it is still running
    /// after `within` (it is then killed).
    pub fn run_to_exit(
        bin: &Path,
        env: &[(String, String)],
        within: Duration,
    ) -> (Option<ExitStatus>, String, Duration) {
        let dir = tempfile::tempdir().expect("temp dir");
        let log_path = dir.path().join("proxy.log");
        let started = Instant::now();
        let mut child = command(bin, env, LogTo::File(&log_path))
            .spawn()
            .expect("run s3proxy");
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break Some(status);
            }
            if started.elapsed() > within {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = started.elapsed();
        let logs = std::fs::read_to_string(&log_path).unwrap_or_default();
        (status, logs, elapsed)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// Everything the proxy logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The log once it holds `needle`, or as it is after 3 s: lines reach the log
    /// through a writer thread, a moment after what they tell of.
    pub async fn logs_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let logs = self.logs();
            if logs.contains(needle) || Instant::now() > deadline {
                return logs;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends a signal by name (`TERM`, `INT`, `STOP`, ...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Open file descriptors of the process (from /proc).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Resident memory now and at its peak, in KiB (VmRSS, VmHWM from /proc).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Waits for the process to exit; `None` if it is still running after `within`.
    pub async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
