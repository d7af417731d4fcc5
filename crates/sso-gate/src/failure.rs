//! Answers caused by something the service depends on failing (5xx).

use bytes::Bytes;
use http::{Response, StatusCode};

/// Carried by every 5xx response the gate makes (as a response extension), so that the
/// service around it can report each failure once, naming its cause.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What failed: `redis` (the session store), `sso`, or whatever a service names its
    /// own dependencies.
    pub dependency: &'static str,
    /// For the log and error reports; never holds a secret (the errors it comes from
    /// do not).
    pub message: String,
}

/// The session store failed.
pub const STORE: &str = "redis";
/// The SSO failed.
pub const SSO: &str = "sso";

/// An empty `status` response caused by `dependency` failing: logs the failure and tags
/// the response with it.
pub fn failed(status: StatusCode, dependency: &'static str, message: String) -> Response<Bytes> {
    log::error!("{message}");
    let mut response = crate::pages::empty(status);
    response.extensions_mut().insert(Failure {
        dependency,
        message,
    });
    response
}
