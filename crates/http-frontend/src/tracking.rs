//! The access log line of a response.

use std::net::IpAddr;
use std::time::Instant;

/// One access log line, written when the response is finished (or abandoned), so it can
/// give the bytes sent and the full duration. Holds the path only: queries can carry an
/// authorization code.
pub struct AccessLog {
    /// The client as the trusted balancer saw it (see `FORWARDED_HOPS`).
    pub client: IpAddr,
    pub method: http::Method,
    pub path: String,
    pub status: u16,
    pub bytes: u64,
    pub started: Instant,
    pub complete: bool,
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        log::info!(
            target: "access",
            "{} {} {} {} {} bytes {:.1} ms{}",
            self.client,
            self.method,
            self.path.escape_debug(),
            self.status,
            self.bytes,
            self.started.elapsed().as_secs_f64() * 1000.0,
            if self.complete { "" } else { " (incomplete)" },
        );
    }
}
