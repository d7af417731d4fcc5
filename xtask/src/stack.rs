//! The running parts of the local stack: start one and wait until it is ready, watch
//! them in the foreground, stop them all.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::pidfile::{self, Entry};
use crate::workspace::{dev_dir, relative};
use crate::{http, ports, procs, signals, Result};

/// How long a part may take to become ready once its binary is built.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// How long parts get to exit on SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How to tell that a part is ready.
pub enum Ready {
    /// It accepts TCP connections on its port.
    Accepts,
    /// It answers `PING` with `+PONG` (Redis).
    Pong,
    /// It answers an HTTP GET of this URL, whatever the status.
    Answers(String),
}

struct Part {
    name: &'static str,
    port: u16,
    child: Child,
    log: Option<PathBuf>,
}

/// What `up` started, in start order.
pub struct Stack {
    detached: bool,
    parts: Vec<Part>,
}

impl Stack {
    /// `detached`: parts get their own session, write to `.dev/logs/<name>.log`, and
    /// are listed in `.dev/pids`. Otherwise they die with xtask and their output is
    /// shown here, each line prefixed with the part's name.
    pub fn new(detached: bool) -> Stack {
        Stack {
            detached,
            parts: Vec::new(),
        }
    }

    /// Starts `command` as part `name` and waits until it is `ready`. Returns the
    /// HTTP status when `ready` is [`Ready::Answers`].
    pub fn start(
        &mut self,
        name: &'static str,
        port: u16,
        mut command: Command,
        ready: Ready,
    ) -> Result<Option<u16>> {
        command.stdin(Stdio::null());
        let log = if self.detached {
            let path = dev_dir().join("logs").join(format!("{name}.log"));
            let file = File::create(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            let copy = file
                .try_clone()
                .map_err(|e| format!("cannot share {}: {e}", path.display()))?;
            command.stdout(file).stderr(copy);
            procs::detach(&mut command);
            Some(path)
        } else {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            procs::die_with_parent(&mut command);
            None
        };
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", command.get_program()))?;
        if !self.detached {
            forward_output(name, &mut child);
        }
        self.parts.push(Part {
            name,
            port,
            child,
            log,
        });
        if self.detached {
            // At once, so that `down` finds it even if xtask is killed while waiting.
            pidfile::write(&self.entries())?;
        }
        self.wait_ready(ready)
    }

    fn wait_ready(&mut self, ready: Ready) -> Result<Option<u16>> {
        let Some(part) = self.parts.last_mut() else {
            return Ok(None);
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if signals::stop_requested() {
                return Err(format!("interrupted while waiting for {}", part.name));
            }
            if let Ok(Some(status)) = part.child.try_wait() {
                return Err(format!(
                    "{} exited ({status}) before it was ready{}",
                    part.name,
                    log_tail(part.log.as_deref())
                ));
            }
            match &ready {
                Ready::Accepts if ports::accepts(part.port) => return Ok(None),
                Ready::Pong if pongs(part.port) => return Ok(None),
                Ready::Answers(url) => {
                    if let Ok(response) = http::get(url, &[]) {
                        return Ok(Some(response.status));
                    }
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not become ready on port {} within {} s{}",
                    part.name,
                    part.port,
                    READY_TIMEOUT.as_secs(),
                    log_tail(part.log.as_deref())
                ));
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// The pid file's lines for the parts started so far.
    pub fn entries(&self) -> Vec<Entry> {
        self.parts
            .iter()
            .map(|p| Entry {
                name: p.name.to_owned(),
                pid: p.child.id(),
                port: p.port,
            })
            .collect()
    }

    /// Foreground: returns `Ok` on Ctrl-C (or SIGTERM/SIGHUP), `Err` when a part
    /// exits by itself.
    pub fn watch(&mut self) -> Result<()> {
        loop {
            if signals::stop_requested() {
                println!("\nstopping the local stack...");
                return Ok(());
            }
            for part in &mut self.parts {
                if let Ok(Some(status)) = part.child.try_wait() {
                    // A terminal's Ctrl-C reaches the parts too, which may exit first.
                    if signals::stop_requested() {
                        break;
                    }
                    return Err(format!(
                        "{} exited by itself ({status}); stopping the rest",
                        part.name
                    ));
                }
            }
            sleep(procs::POLL);
        }
    }

    /// Stops every part (SIGTERM, then SIGKILL after the grace period) and reaps them.
    pub fn stop(&mut self) {
        let pids: Vec<u32> = self.parts.iter().map(|p| p.child.id()).collect();
        let survivors = procs::stop(&pids, STOP_GRACE);
        for part in &mut self.parts {
            // Reaped only when gone: a survivor must not block us here.
            if !survivors.contains(&part.child.id()) {
                let _ = part.child.wait();
            }
        }
        for part in self.parts.drain(..) {
            if survivors.contains(&part.child.id()) {
                eprintln!(
                    "warning: {} (pid {}) could not be stopped",
                    part.name,
                    part.child.id()
                );
            } else {
                println!("  stopped {}", part.name);
            }
        }
        if self.detached {
            if let Err(e) = pidfile::remove() {
                eprintln!("warning: {e}");
            }
        }
    }

    /// Detached: leaves the parts running for `down` (dropping a `Child` neither
    /// kills nor waits for it).
    pub fn leave_running(mut self) {
        self.parts.clear();
    }
}

/// Copies a foreground part's output to ours, each line prefixed with its name.
fn forward_output(name: &'static str, child: &mut Child) {
    fn copy(name: &'static str, from: impl Read + Send + 'static, to_stderr: bool) {
        std::thread::spawn(move || {
            let mut reader = BufReader::new(from);
            let mut line = Vec::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                let text = String::from_utf8_lossy(&line);
                let text = format!("[{name}] {}\n", text.trim_end());
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
        copy(name, out, false);
    }
    if let Some(err) = child.stderr.take() {
        copy(name, err, true);
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

/// The last lines of a part's log, to show with its failure.
fn log_tail(log: Option<&Path>) -> String {
    let Some(path) = log else {
        return " (its output is above)".into();
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n    ");
    format!("; the end of {}:\n    {tail}", relative(path))
}
