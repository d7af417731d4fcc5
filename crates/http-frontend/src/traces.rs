//! A request's X-Ray segment / OpenTelemetry span: begun from its head, ended at the
//! response head. Calls made meanwhile are children through `request_trace`'s
//! task-local, opened by the gate (Redis, the SSO) and the object service (S3).

use std::net::IpAddr;

use http::{header, Request};
use http_body::Body;
use request_trace::{RequestInfo, RequestTrace, Tracer, XRAY_HEADER};

use crate::report;
use crate::responses::HttpResponse;

/// The trace of a request: the URL without its query (which can hold a code and a
/// state), the client as the access log names it.
pub fn begin<B>(tracer: &Tracer, request: &Request<B>, client_ip: IpAddr) -> RequestTrace {
    let url = || report::url_without_query(request);
    tracer.begin(RequestInfo {
        headers: request.headers(),
        method: request.method().as_str(),
        url: &url,
        route: report::route_name(request.uri().path()),
        client_ip,
    })
}

/// Ends it with the response's status and length, and answers with its
/// `X-Amzn-Trace-Id`.
pub fn finish(trace: RequestTrace, response: &mut HttpResponse) {
    if let Some(value) = trace.response_header() {
        response.headers_mut().insert(XRAY_HEADER, value);
    }
    let length = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .or_else(|| response.body().size_hint().exact());
    trace.finish(response.status().as_u16(), length);
}
