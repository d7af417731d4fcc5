//! A short command run to its end, with a time limit.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::{spawn_error, Result, POLL};

/// Runs `command` quietly, at most `timeout`; `Err` carries the last line it printed.
pub fn probe(command: &mut Command, timeout: Duration) -> Result<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error("a probe", command, &e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_failure_and_timeout() {
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
}
