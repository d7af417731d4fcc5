//! Processes: run a probe with a time limit, tell whether a pid lives, stop processes.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::Result;

/// How often waits look again.
pub const POLL: Duration = Duration::from_millis(50);

/// Runs `command` quietly, at most `timeout`; `Err` carries the last line it printed.
pub fn probe(command: &mut Command, timeout: Duration) -> Result<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => sleep(POLL),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {} s", timeout.as_secs()));
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    // Probes print little, so reading after exit cannot fill a pipe and block.
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_end(&mut stderr);
    }
    if status.success() {
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    } else {
        let text = String::from_utf8_lossy(&stderr);
        let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        Err(format!("{status}: {}", last.trim()))
    }
}

/// Whether `pid` is a running process (a zombie, dead but not yet reaped, is not).
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) if std::path::Path::new("/proc/self/stat").exists() => false,
        // No procfs (macOS): signal 0 only checks that the pid exists.
        Err(_) => signal(pid, 0).is_ok(),
    }
}

/// Whether `pid` still runs the program `name`: a pid from an old pid file may
/// have been reused by an unrelated process, which must never be signalled.
pub fn runs(pid: u32, name: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        // The kernel keeps the first 15 bytes of the program name.
        Ok(comm) => comm.trim_end() == name.get(..15).unwrap_or(name),
        // Without procfs there is no cheap check; trust the pid file.
        Err(_) => !std::path::Path::new("/proc/self/stat").exists() && is_alive(pid),
    }
}

/// kill(2).
pub fn signal(pid: u32, signal: i32) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    // SAFETY: kill has no memory effects; a positive pid targets exactly one process.
    if pid > 0 && unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// killpg(2): `signal` to every process of the group `group` leads.
pub fn signal_group(group: u32, signal: i32) {
    let Ok(group) = libc::pid_t::try_from(group) else {
        return;
    };
    // 0 would be xtask's own group, 1 init's.
    if group > 1 {
        // SAFETY: killpg has no memory effects.
        unsafe {
            libc::killpg(group, signal);
        }
    }
}

/// Stops processes: SIGTERM to all, up to `grace` for them to exit, then SIGKILL.
/// Returns the pids of those that did not exit, even after SIGKILL.
pub fn stop(pids: &[u32], grace: Duration) -> Vec<u32> {
    for &pid in pids {
        let _ = signal(pid, libc::SIGTERM);
    }
    if !wait_gone(pids, grace) {
        for &pid in pids.iter().filter(|&&pid| is_alive(pid)) {
            eprintln!(
                "  pid {pid} ignored SIGTERM for {} s: SIGKILL",
                grace.as_secs()
            );
            let _ = signal(pid, libc::SIGKILL);
        }
        wait_gone(pids, Duration::from_secs(2));
    }
    pids.iter().copied().filter(|&pid| is_alive(pid)).collect()
}

/// Waits up to `limit` for every pid to be gone; true when they all are.
fn wait_gone(pids: &[u32], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !pids.iter().any(|&pid| is_alive(pid)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(POLL);
    }
}

/// Makes the child a session leader (setsid), so that it outlives xtask and its
/// terminal's Ctrl-C and hang-up never reach it.
pub fn detach(command: &mut Command) {
    // SAFETY: setsid is async-signal-safe, as code between fork and exec must be.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Asks the kernel to SIGTERM the child when xtask dies, even by SIGKILL, so a
/// foreground stack never outlives its xtask.
pub fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe, as code between fork and exec must be.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_reports_failure_and_timeout() {
        assert!(probe(Command::new("true").arg("x"), Duration::from_secs(5)).is_ok());
        let err = probe(
            Command::new("sh").args(["-c", "echo boom >&2; exit 3"]),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(err.contains("boom"), "{err}");
        let err = probe(Command::new("sleep").arg("5"), Duration::from_millis(200)).unwrap_err();
        assert!(err.contains("no answer"), "{err}");
    }

    #[test]
    fn alive_until_stopped_and_reaped_or_not() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        assert!(is_alive(pid));
        assert!(runs(pid, "sleep"));
        assert!(!runs(pid, "s3proxy"));
        // Not yet reaped: a zombie, which counts as gone.
        assert!(stop(&[pid], Duration::from_secs(5)).is_empty());
        assert!(!is_alive(pid));
        child.wait().unwrap();
        assert!(!is_alive(pid));
    }
}
