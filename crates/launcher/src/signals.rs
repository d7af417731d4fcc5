//! Processes by pid: whether one lives, whether it is still ours, signalling and stopping
//! them, and the two ways a child may be tied to (or cut from) its launcher.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::POLL;

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

/// kill(2) to exactly one process.
pub(crate) fn signal(pid: u32, signal: i32) -> std::io::Result<()> {
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
    // 0 would be our own group, 1 init's.
    if group > 1 {
        // SAFETY: killpg has no memory effects.
        unsafe {
            libc::killpg(group, signal);
        }
    }
}

/// Stops processes that are not our children (those of a pid file): SIGTERM to all, up
/// to `grace` for them to exit, then SIGKILL. Returns the pids still alive after that.
pub fn stop_pids(pids: &[u32], grace: Duration) -> Vec<u32> {
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

/// Makes the child a session leader (setsid), so that it outlives its launcher and the
/// terminal's Ctrl-C and hang-up never reach it.
pub(crate) fn detach(command: &mut Command) {
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

/// Asks the kernel to SIGTERM the child when its launcher dies, even by SIGKILL, so that
/// nothing outlives a launcher that was not told to leave it running.
pub(crate) fn die_with_parent(command: &mut Command) {
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
    fn alive_until_stopped_and_reaped_or_not() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        assert!(is_alive(pid));
        assert!(runs(pid, "sleep"));
        assert!(!runs(pid, "s3proxy"));
        // Not yet reaped: a zombie, which counts as gone.
        assert!(stop_pids(&[pid], Duration::from_secs(5)).is_empty());
        assert!(!is_alive(pid));
        child.wait().unwrap();
        assert!(!is_alive(pid));
    }
}
