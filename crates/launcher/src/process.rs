//! One started process: what to run, where its output goes, when it is ready, stopping it.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::pidfile::Entry;
use crate::signals::{detach, die_with_parent};
use crate::{ports, spawn_error, Result};

/// How to tell that a process is ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ready {
    /// It accepts TCP connections on 127.0.0.1 at its port.
    Accepts,
    /// It answers `PING` with `+PONG` there (a plain Redis without a password).
    Pong,
}

/// Where a process's stdout and stderr go.
#[derive(Clone, Debug)]
pub enum Output {
    /// Both into this file, replacing what it held.
    File(PathBuf),
    /// Both appended to this file (one log across restarts).
    Append(PathBuf),
    /// Copied to our own stdout and stderr, each line prefixed with `[name]`.
    Prefixed,
    /// stderr on a pipe ([`Process::take_stderr`]); stdout discarded.
    StderrPipe,
}

/// How a process is tied to its launcher. Whatever the lifetime, dropping the
/// [`Process`] kills it, unless it was [released](Process::release).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// Killed when its [`Process`] is dropped, and nothing more.
    Owned,
    /// Also sent SIGTERM by the kernel when the launching process dies, even by SIGKILL.
    WithParent,
    /// In a session of its own: the terminal's Ctrl-C and hang-up never reach it, and it
    /// may outlive its launcher once released (`up --detach`).
    Detached,
}

/// What to start: a program of the stack, its port and how to tell it is ready.
#[derive(Debug)]
pub struct Spec {
    name: String,
    port: u16,
    ready: Ready,
    /// Program, arguments and folder; the environment is kept apart below, so that
    /// [`Spec::env_only`] may come after variables are set without dropping them.
    command: Command,
    /// `Some`: the only variables of ours the child inherits.
    inherited: Option<Vec<String>>,
    /// Set (`Some`) or removed (`None`), in order.
    vars: Vec<(OsString, Option<OsString>)>,
}

impl Spec {
    /// `program` as the process `name` (what logs, errors and pid files call it; the
    /// pid file's check compares it with the running program's name).
    pub fn new(name: &str, program: impl AsRef<OsStr>, port: u16, ready: Ready) -> Spec {
        Spec {
            name: name.to_owned(),
            port,
            ready,
            command: Command::new(program),
            inherited: None,
            vars: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Spec {
        self.command.arg(arg);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Spec {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Spec {
        let value = Some(value.as_ref().to_owned());
        self.vars.push((key.as_ref().to_owned(), value));
        self
    }

    pub fn envs<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Spec
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (key, value) in vars {
            self = self.env(key, value);
        }
        self
    }

    /// Drops these variables of ours from the child's environment.
    pub fn env_remove<S: AsRef<OsStr>>(mut self, names: impl IntoIterator<Item = S>) -> Spec {
        for name in names {
            self.vars.push((name.as_ref().to_owned(), None));
        }
        self
    }

    /// The child inherits only these variables of ours (and those set on the spec).
    pub fn env_only(mut self, inherited: &[&str]) -> Spec {
        self.inherited = Some(inherited.iter().map(|s| s.to_string()).collect());
        self
    }

    /// Another way to tell that it is ready.
    pub fn ready(mut self, ready: Ready) -> Spec {
        self.ready = ready;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The command, its environment applied.
    fn into_command(self) -> (String, u16, Ready, Command) {
        let Spec {
            name,
            port,
            ready,
            mut command,
            inherited,
            vars,
        } = self;
        if let Some(inherited) = inherited {
            command.env_clear();
            for name in inherited {
                if let Some(value) = std::env::var_os(&name) {
                    command.env(name, value);
                }
            }
        }
        for (key, value) in vars {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        (name, port, ready, command)
    }
}

/// A started process. Dropping it kills it (SIGKILL) and reaps it, unless it was
/// [released](Process::release); [`stop`](Process::stop) is the gentle way.
#[derive(Debug)]
pub struct Process {
    name: String,
    port: u16,
    ready: Ready,
    child: Child,
    log: Option<PathBuf>,
    spawned: Instant,
    exited: Option<ExitStatus>,
    released: bool,
}

impl Process {
    /// Starts `spec`. A failure names the program and the folder it was run in.
    pub fn spawn(spec: Spec, output: Output, lifetime: Lifetime) -> Result<Process> {
        let (name, port, ready, mut command) = spec.into_command();
        command.stdin(Stdio::null());
        let log = match &output {
            Output::File(path) | Output::Append(path) => {
                let append = matches!(output, Output::Append(_));
                let file = File::options()
                    .create(true)
                    .write(true)
                    .append(append)
                    .truncate(!append)
                    .open(path)
                    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                let copy = file
                    .try_clone()
                    .map_err(|e| format!("cannot share {}: {e}", path.display()))?;
                command.stdout(file).stderr(copy);
                Some(path.clone())
            }
            Output::Prefixed => {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
                None
            }
            Output::StderrPipe => {
                command.stdout(Stdio::null()).stderr(Stdio::piped());
                None
            }
        };
        match lifetime {
            Lifetime::Owned => {}
            Lifetime::WithParent => die_with_parent(&mut command),
            Lifetime::Detached => detach(&mut command),
        }
        let spawned = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| spawn_error(&name, &command, &e))?;
        if matches!(output, Output::Prefixed) {
            forward_output(&name, &mut child);
        }
        Ok(Process {
            name,
            port,
            ready,
            child,
            log,
            spawned,
            exited: None,
            released: false,
        })
    }

    /// One look: `Ok(true)` once ready, `Ok(false)` not yet, `Err` when it has exited
    /// (with the end of its log, when it has one).
    pub fn poll_ready(&mut self) -> Result<bool> {
        if let Some(status) = self.try_wait() {
            return Err(format!(
                "{} exited ({status}) before it was ready{}",
                self.name,
                self.log_tail()
            ));
        }
        Ok(match self.ready {
            Ready::Accepts => ports::accepts(self.port),
            Ready::Pong => pongs(self.port),
        })
    }

    /// Waits until ready, looking every `every`; `Err` when it exits, when `limit` has
    /// passed since it was started, or when `interrupted()` says so. Returns the time
    /// from spawning it to the look that found it ready.
    pub fn wait_ready(
        &mut self,
        limit: Duration,
        every: Duration,
        interrupted: impl Fn() -> bool,
    ) -> Result<Duration> {
        loop {
            if interrupted() {
                return Err(format!("interrupted while waiting for {}", self.name));
            }
            if self.poll_ready()? {
                return Ok(self.spawned.elapsed());
            }
            if self.spawned.elapsed() >= limit {
                return Err(self.not_ready(limit));
            }
            sleep(every);
        }
    }

    /// The error of a process not ready after `limit` (for callers that wait their own way).
    pub fn not_ready(&self, limit: Duration) -> String {
        format!(
            "{} did not become ready on port {} within {} s{}",
            self.name,
            self.port,
            limit.as_secs(),
            self.log_tail()
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// When it was started.
    pub fn spawned(&self) -> Instant {
        self.spawned
    }

    /// The read end of the stderr pipe of [`Output::StderrPipe`] (once).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// Its exit status once it has exited (reaping it), `None` while it runs.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// Waits up to `limit` for it to exit by itself; `None` if it still runs.
    pub fn wait_exit(&mut self, limit: Duration, every: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            sleep(every);
        }
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL; true when it is gone and reaped.
    pub fn stop(&mut self, grace: Duration) -> bool {
        crate::Group::stop_all(std::slice::from_mut(self), grace).is_empty()
    }

    /// SIGKILL, at once (a crash), and reaped.
    pub fn kill(&mut self) {
        if self.try_wait().is_none() {
            let _ = self.child.kill();
            self.exited = self.child.wait().ok();
        }
    }

    /// Its line of a pid file.
    pub fn entry(&self) -> Entry {
        Entry {
            name: self.name.clone(),
            pid: self.pid(),
            port: self.port,
        }
    }

    /// Leaves it running beyond this value (for `up --detach`); returns its pid file line.
    pub fn release(mut self) -> Entry {
        self.released = true;
        self.entry()
    }

    /// The last lines of its log, to show with its failure.
    fn log_tail(&self) -> String {
        let Some(path) = &self.log else {
            return " (its output is above)".into();
        };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n    ");
        format!("; the end of {}:\n    {tail}", path.display())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if !self.released {
            self.kill();
        }
    }
}

/// Copies a process's output to ours, each line prefixed with its name.
fn forward_output(name: &str, child: &mut Child) {
    fn copy(prefix: String, from: impl Read + Send + 'static, to_stderr: bool) {
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from);
            let mut line = Vec::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                let text = String::from_utf8_lossy(&line);
                let text = format!("{prefix} {}\n", text.trim_end());
                // A closed stdout (e.g. `| head`) must not kill the thread with a panic.
                let _ = if to_stderr {
                    std::io::stderr().write_all(text.as_bytes())
                } else {
                    std::io::stdout().write_all(text.as_bytes())
                };
                line.clear();
            }
        });
    }
    if let Some(out) = child.stdout.take() {
        copy(format!("[{name}]"), out, false);
    }
    if let Some(err) = child.stderr.take() {
        copy(format!("[{name}]"), err, true);
    }
}

/// Whether a Redis server on `port` answers `PING`.
fn pongs(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let mut reply = [0u8; 7];
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .and_then(|()| stream.write_all(b"PING\r\n"))
        .and_then(|()| stream.read_exact(&mut reply))
        .is_ok_and(|()| reply == *b"+PONG\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn temp_log(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("launcher-{name}-{}.log", std::process::id()))
    }

    #[test]
    fn ready_once_it_listens_and_stopped_by_sigterm() {
        // A port nobody listens on until the "server" (a shell waiting first) would;
        // here a listener of ours stands for it, opened after the spawn.
        let port = crate::free_port().unwrap();
        let log = temp_log("ready");
        let spec = Spec::new("sleep", "sleep", port, Ready::Accepts).arg("30");
        let mut process = Process::spawn(spec, Output::File(log.clone()), Lifetime::Owned).unwrap();
        assert!(!process.poll_ready().unwrap());
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
        let waited = process
            .wait_ready(Duration::from_secs(5), Duration::from_millis(5), || false)
            .unwrap();
        assert!(waited < Duration::from_secs(5));
        drop(listener);
        assert!(process.stop(Duration::from_secs(5)));
        assert!(process.try_wait().is_some());
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn an_early_exit_shows_the_end_of_the_log() {
        let log = temp_log("exit");
        let spec = Spec::new("sh", "sh", crate::free_port().unwrap(), Ready::Accepts)
            .args(["-c", "echo 'bad configuration' >&2; exit 2"]);
        let mut process = Process::spawn(spec, Output::File(log.clone()), Lifetime::Owned).unwrap();
        let err = process
            .wait_ready(Duration::from_secs(5), Duration::from_millis(5), || false)
            .unwrap_err();
        assert!(
            err.starts_with("sh exited (exit status: 2) before it was ready"),
            "{err}"
        );
        assert!(err.contains("bad configuration"), "{err}");
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn a_timeout_and_an_interruption_are_errors() {
        let spec = Spec::new("sleep", "sleep", crate::free_port().unwrap(), Ready::Pong).arg("30");
        let mut process = Process::spawn(spec, Output::StderrPipe, Lifetime::Owned).unwrap();
        let err = process
            .wait_ready(Duration::from_millis(100), Duration::from_millis(5), || {
                false
            })
            .unwrap_err();
        assert!(err.contains("did not become ready"), "{err}");
        let err = process
            .wait_ready(Duration::from_secs(5), Duration::from_millis(5), || true)
            .unwrap_err();
        assert!(err.contains("interrupted"), "{err}");
        let pid = process.pid();
        drop(process);
        assert!(!crate::is_alive(pid), "dropping it kills it");
    }

    #[test]
    fn released_processes_keep_running() {
        let spec = Spec::new("sleep", "sleep", 0, Ready::Accepts).arg("30");
        let process = Process::spawn(spec, Output::StderrPipe, Lifetime::Detached).unwrap();
        let entry = process.release();
        assert!(crate::is_alive(entry.pid));
        assert!(crate::stop_pids(&[entry.pid], Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn environment_only_as_asked() {
        std::env::set_var("LAUNCHER_TEST_KEPT", "kept");
        std::env::set_var("LAUNCHER_TEST_DROPPED", "dropped");
        let log = temp_log("env");
        let spec = Spec::new("sh", "sh", 0, Ready::Accepts)
            .env("LAUNCHER_TEST_SET", "set")
            .env_only(&["LAUNCHER_TEST_KEPT", "PATH"])
            .args([
                "-c",
                "echo $LAUNCHER_TEST_SET $LAUNCHER_TEST_KEPT x$LAUNCHER_TEST_DROPPED",
            ]);
        let mut process = Process::spawn(spec, Output::File(log.clone()), Lifetime::Owned).unwrap();
        assert!(process
            .wait_exit(Duration::from_secs(5), Duration::from_millis(5))
            .is_some());
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "set kept x\n");
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn a_missing_program_is_named() {
        let spec = Spec::new("dev-s3", "/nonexistent/dev-s3", 0, Ready::Accepts);
        let err = Process::spawn(spec, Output::StderrPipe, Lifetime::Owned).unwrap_err();
        assert!(err.contains("/nonexistent/dev-s3 does not exist"), "{err}");
    }
}
