//! What goes to Sentry: one error event per 5xx answer, naming the dependency that
//! failed, and (when tracing is on) a transaction per request. Nothing here reads a
//! cookie, a query string or a header: the event holds the method, the path and the
//! failure, and that is all.
//!
//! Sending is the Sentry client's business (a background thread); without a client
//! (`SENTRY_DSN` unset) capturing does nothing.

use http::{header, HeaderName, Request, StatusCode};
use sentry_core::protocol::{self, Event, Level, SpanStatus};
use sentry_core::{Transaction, TransactionContext};
pub use sso_gate::Failure;

use crate::responses::HttpResponse;

/// S3 failed.
pub const S3: &str = "s3";

/// An empty `status` response caused by `dependency` failing; logs the failure and
/// tags the response so exactly one Sentry event is sent for it (the gate tags its own
/// failures the same way).
pub fn failed(status: StatusCode, dependency: &'static str, message: String) -> HttpResponse {
    log::error!("{message}");
    let mut response = crate::responses::empty(status);
    response.extensions_mut().insert(Failure {
        dependency,
        message,
    });
    response
}

/// The request's URL without its query (which can hold a code and a state): scheme and
/// host from its head, `http://unknown` when they cannot be told.
pub(crate) fn url_without_query<B>(request: &Request<B>) -> String {
    let path = request.uri().path();
    match http_input::Origin::of_head(request.headers(), request.uri()) {
        Ok(origin) => origin.url(path),
        Err(_) => format!("http://unknown{path}"),
    }
}

/// The route a request's path takes, as a name that does not grow with keys: the
/// sign-in callback's path, else `/{key}`.
pub(crate) fn route_name(path: &str) -> &'static str {
    if path == http_input::CALLBACK_PATH {
        http_input::CALLBACK_PATH
    } else {
        "/{key}"
    }
}

/// The request as Sentry sees it: method and URL without the query, nothing else.
fn request_of<B>(request: &Request<B>) -> protocol::Request {
    protocol::Request {
        method: Some(request.method().to_string()),
        url: url_without_query(request).parse().ok(),
        ..Default::default()
    }
}

/// What an error event says of a request, kept while the request itself goes on to be
/// answered: its method, URI, and the two headers its origin is made of.
pub struct EventRequest(Request<()>);

impl EventRequest {
    pub fn of<B>(request: &Request<B>) -> EventRequest {
        let mut copy = Request::new(());
        *copy.method_mut() = request.method().clone();
        *copy.uri_mut() = request.uri().clone();
        for name in [header::HOST, HeaderName::from_static("x-forwarded-proto")] {
            if let Some(value) = request.headers().get(&name) {
                copy.headers_mut().insert(name, value.clone());
            }
        }
        EventRequest(copy)
    }
}

/// Sends one error event for a 5xx `status`.
pub fn capture(request: &EventRequest, status: StatusCode, failure: Option<&Failure>) {
    let (dependency, message) = match failure {
        Some(f) => (f.dependency, f.message.as_str()),
        None => ("proxy", "a server error without a recorded cause"),
    };
    let event = Event {
        level: Level::Error,
        message: Some(format!("{dependency} failed: {message}")),
        logger: Some("s3proxy".into()),
        request: Some(request_of(&request.0)),
        tags: [
            ("dependency".to_string(), dependency.to_string()),
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
    pub fn start<B>(request: &Request<B>) -> RequestTransaction {
        let route = route_name(request.uri().path());
        let name = format!("{} {route}", request.method());
        let transaction =
            sentry_core::start_transaction(TransactionContext::new(&name, "http.server"));
        transaction.set_request(request_of(request));
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
