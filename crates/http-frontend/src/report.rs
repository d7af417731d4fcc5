//! What goes to Sentry: one error event per 5xx answer, naming the dependency that
//! failed, and (when tracing is on) a transaction per request. Nothing here reads a
//! cookie, a query string or a header: the event holds the method, the path and the
//! failure, and that is all.
//!
//! Sending is the Sentry client's business (a background thread); without a client
//! (`SENTRY_DSN` unset) capturing does nothing.

use http::request::Parts;
use http::StatusCode;
use sentry_core::protocol::{self, Event, Level, SpanStatus};
use sentry_core::{Transaction, TransactionContext};

use crate::responses::HttpResponse;

/// What a 5xx answer was caused by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    S3,
    Redis,
    Sso,
    /// The proxy itself (nothing outside failed).
    Proxy,
}

impl Dependency {
    pub fn name(self) -> &'static str {
        match self {
            Dependency::S3 => "s3",
            Dependency::Redis => "redis",
            Dependency::Sso => "sso",
            Dependency::Proxy => "proxy",
        }
    }
}

/// Carried by a 5xx response (as an extension) to where it is reported.
#[derive(Debug, Clone)]
pub struct Failure {
    pub dependency: Dependency,
    /// For the log and Sentry; never holds a secret (the errors it comes from do not).
    pub message: String,
}

/// An empty `status` response caused by `dependency` failing; logs the failure and
/// tags the response so exactly one Sentry event is sent for it.
pub fn failed(status: StatusCode, dependency: Dependency, message: String) -> HttpResponse {
    log::error!("{message}");
    let mut response = crate::responses::empty(status);
    response.extensions_mut().insert(Failure {
        dependency,
        message,
    });
    response
}

/// The request as Sentry sees it: method and URL without the query (which can hold a
/// code and a state), nothing else.
fn request_of(parts: &Parts) -> protocol::Request {
    let path = parts.uri.path();
    let url = match http_input::Origin::of(parts) {
        Ok(origin) => origin.url(path),
        Err(_) => format!("http://unknown{path}"),
    };
    protocol::Request {
        method: Some(parts.method.to_string()),
        url: url.parse().ok(),
        ..Default::default()
    }
}

/// Sends one error event for a 5xx `status`.
pub fn capture(parts: &Parts, status: StatusCode, failure: Option<&Failure>) {
    let (dependency, message) = match failure {
        Some(f) => (f.dependency, f.message.as_str()),
        None => (Dependency::Proxy, "a server error without a recorded cause"),
    };
    let event = Event {
        level: Level::Error,
        message: Some(format!("{} failed: {message}", dependency.name())),
        logger: Some("s3proxy".into()),
        request: Some(request_of(parts)),
        tags: [
            ("dependency".to_string(), dependency.name().to_string()),
            ("status".to_string(), status.as_u16().to_string()),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    sentry_core::capture_event(event);
}

/// A request's performance transaction, named after its route (not its key).
pub struct RequestTransaction(Transaction);

impl RequestTransaction {
    pub fn start(parts: &Parts) -> RequestTransaction {
        let route = if parts.uri.path() == http_input::CALLBACK_PATH {
            http_input::CALLBACK_PATH
        } else {
            "/{key}"
        };
        let name = format!("{} {route}", parts.method);
        let transaction =
            sentry_core::start_transaction(TransactionContext::new(&name, "http.server"));
        transaction.set_request(request_of(parts));
        RequestTransaction(transaction)
    }

    /// Ends it at the response head.
    pub fn finish(self, response: &HttpResponse) {
        let status = response.status();
        self.0.set_status(match status.as_u16() {
            s if s < 400 => SpanStatus::Ok,
            404 => SpanStatus::NotFound,
            401 | 403 => SpanStatus::PermissionDenied,
            s if s < 500 => SpanStatus::InvalidArgument,
            503 => SpanStatus::Unavailable,
            _ => SpanStatus::InternalError,
        });
        self.0.set_tag("http.status_code", status.as_u16());
        self.0.finish();
    }
}
