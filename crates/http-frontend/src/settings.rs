//! The frontend's own settings.

use std::time::Duration;

use http_input::SameSite;

/// How the HTTP frontend behaves; the binary fills it from the configuration.
#[derive(Debug, Clone)]
pub struct FrontendSettings {
    /// Served without login: the key exactly (before the prefix is applied).
    pub healthcheck_key: String,
    /// Forces the session cookie's `SameSite`; `None`: `None` on https, `Lax` on http.
    pub cookie_samesite: Option<SameSite>,
    /// A client must send its whole request head within this (slowloris).
    pub header_read_timeout: Duration,
    /// Largest request head accepted; larger gets 431.
    pub max_header_bytes: usize,
    /// A client that reads nothing of a body for this long is disconnected.
    pub client_idle_timeout: Duration,
    /// After shutdown starts, responses in flight get this long to finish.
    pub shutdown_timeout: Duration,
}

impl FrontendSettings {
    pub fn new(healthcheck_key: impl Into<String>) -> FrontendSettings {
        FrontendSettings {
            healthcheck_key: healthcheck_key.into(),
            cookie_samesite: None,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 32 * 1024,
            client_idle_timeout: Duration::from_secs(300),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}
