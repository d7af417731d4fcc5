//! The proxy binary as a child process, started by the launcher.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use launcher::{Lifetime, Output, Process, Ready, Spec};

use crate::ports::{free_port, ready};

/// A running `s3proxy` process; killed when dropped. Its stderr (the log) goes to a file.
pub struct Proxy {
    port: u16,
    process: Process,
    log_path: PathBuf,
    _dir: tempfile::TempDir,
}

/// Variables the child may inherit; everything else is cleared so that the host's AWS
/// or Redis settings cannot leak into a test.
const INHERITED: [&str; 3] = ["PATH", "HOME", "TMPDIR"];

/// How long the proxy may take to accept connections.
const START_LIMIT: Duration = Duration::from_secs(20);

impl Proxy {
    /// Starts the binary with `env` plus `PORT`, and waits until it accepts connections.
    pub async fn spawn(bin: &Path, env: &[(String, String)]) -> Proxy {
        Proxy::spawn_logging(bin, free_port(), env, false).await
    }

    /// Like [`Proxy::spawn`], listening on `port` (one from [`free_port`]): for a
    /// provider that must be told the proxy's callback URL before the proxy starts.
    pub async fn spawn_on_port(bin: &Path, port: u16, env: &[(String, String)]) -> Proxy {
        Proxy::spawn_logging(bin, port, env, false).await
    }

    /// Like [`Proxy::spawn`], with the log on a pipe: take it with
    /// [`Proxy::take_log_pipe`] (and [`Proxy::logs`] is empty).
    pub async fn spawn_with_log_pipe(bin: &Path, env: &[(String, String)]) -> Proxy {
        Proxy::spawn_logging(bin, free_port(), env, true).await
    }

    /// The read end of the log pipe of a proxy started with a pipe.
    pub fn take_log_pipe(&mut self) -> Option<std::process::ChildStderr> {
        self.process.take_stderr()
    }

    async fn spawn_logging(bin: &Path, port: u16, env: &[(String, String)], pipe: bool) -> Proxy {
        let env = env.iter().filter(|(k, _)| k != "PORT").map(|(k, v)| (k, v));
        let spec = launcher::s3proxy(bin, port).env_only(&INHERITED).envs(env);
        let dir = tempfile::tempdir().expect("temp dir");
        let log_path = dir.path().join("proxy.log");
        let output = if pipe {
            Output::StderrPipe
        } else {
            Output::File(log_path.clone())
        };
        let process =
            Process::spawn(spec, output, Lifetime::Owned).unwrap_or_else(|e| panic!("{e}"));
        let mut proxy = Proxy {
            port,
            process,
            log_path,
            _dir: dir,
        };
        ready(&mut proxy.process, START_LIMIT).await;
        proxy
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
        // Not `launcher::s3proxy`: these runs choose their own `PORT`, or none.
        let spec = Spec::new("s3proxy", bin, 0, Ready::Accepts)
            .env_only(&INHERITED)
            .envs(env.iter().map(|(k, v)| (k, v)));
        let mut process = Process::spawn(spec, Output::File(log_path.clone()), Lifetime::Owned)
            .unwrap_or_else(|e| panic!("{e}"));
        let status = process.wait_exit(within, Duration::from_millis(5));
        let elapsed = process.spawned().elapsed();
        // Killed here when still running, before its log is read.
        drop(process);
        let logs = std::fs::read_to_string(&log_path).unwrap_or_default();
        (status, logs, elapsed)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
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
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Open file descriptors of the process (from /proc).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Resident memory now and at its peak, in KiB (VmRSS, VmHWM from /proc).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
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
            if let Some(status) = self.process.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
