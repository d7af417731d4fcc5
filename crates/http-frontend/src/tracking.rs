//! The access log line of a response.

use std::net::IpAddr;
use std::time::Instant;

use http::{Method, Uri};

/// What the access log line of a response needs, gathered only when the line would be
/// written (`access` at `info` level): with the log filtered out it costs nothing.
/// Written when the response is finished (or abandoned), so it can give the bytes sent
/// and the full duration. The path only: a query can carry an authorization code.
pub struct AccessLog {
    /// The client as the trusted balancer saw it (see `FORWARDED_HOPS`).
    pub client: IpAddr,
    pub method: Method,
    /// The request's URI (a cheap shared copy); only its path is written.
    pub uri: Uri,
    pub status: u16,
    pub started: Instant,
}

impl AccessLog {
    pub fn enabled() -> bool {
        log::log_enabled!(target: "access", log::Level::Info)
    }

    pub fn write(&self, bytes: u64, complete: bool) {
        log::info!(
            target: "access",
            "{} {} {} {} {} bytes {:.1} ms{}",
            self.client,
            self.method,
            self.uri.path().escape_debug(),
            self.status,
            bytes,
            self.started.elapsed().as_secs_f64() * 1000.0,
            if complete { "" } else { " (incomplete)" },
        );
    }
}
