//! Ports and readiness, from the launcher, with the waiting done on tokio's clock so that
//! the in-process servers of the same test keep answering meanwhile.

use std::time::{Duration, Instant};

use launcher::Process;

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    launcher::free_port().unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until `process` is ready; panics, with the end of its log, when it exits first
/// or is not ready within `limit`. Returns the time from its start.
pub(crate) async fn ready(process: &mut Process, limit: Duration) -> Duration {
    let deadline = Instant::now() + limit;
    loop {
        match process.poll_ready() {
            Ok(true) => return process.spawned().elapsed(),
            Ok(false) if Instant::now() < deadline => {}
            Ok(false) => panic!("{}", process.not_ready(limit)),
            Err(e) => panic!("{e}"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
