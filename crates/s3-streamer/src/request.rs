//! What is asked of S3 and what comes back.

use std::time::SystemTime;

use http::{HeaderMap, StatusCode};

use crate::body::ObjectBody;

/// GET streams the body; HEAD asks for the headers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GetObject: the headers and the body.
    Get,
    /// HeadObject: the headers only.
    Head,
}

/// One object request: the key (decoded, without the configured prefix) and the client's
/// headers that S3 should see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRequest {
    /// GET or HEAD.
    pub method: Method,
    /// The key, percent-decoded, without the configured prefix.
    pub key: String,
    /// The client's `Range` (see `http_input::usable_range` for which are worth sending).
    pub range: Option<String>,
    /// The client's `If-None-Match`.
    pub if_none_match: Option<String>,
    /// The client's `If-Match`.
    pub if_match: Option<String>,
    /// The client's `If-Modified-Since`.
    pub if_modified_since: Option<SystemTime>,
    /// The client's `If-Unmodified-Since`.
    pub if_unmodified_since: Option<SystemTime>,
    /// Added after signing, so outside the signature: trace headers
    /// (`X-Amzn-Trace-Id`, `traceparent`), which S3 reads to join a trace.
    pub unsigned_headers: HeaderMap,
}

impl ObjectRequest {
    /// A request for `key` without a range or conditions.
    pub fn new(method: Method, key: impl Into<String>) -> ObjectRequest {
        ObjectRequest {
            method,
            key: key.into(),
            range: None,
            if_none_match: None,
            if_match: None,
            if_modified_since: None,
            if_unmodified_since: None,
            unsigned_headers: HeaderMap::new(),
        }
    }
}

/// Headers passed from S3 to the client when S3 sends them.
pub const PASS_THROUGH_HEADERS: [&str; 11] = [
    "accept-ranges",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "content-length",
    "content-range",
    "content-type",
    "etag",
    "expires",
    "last-modified",
];

/// An object (or part of one) ready to send.
pub struct ObjectResponse {
    /// 200, or 206 for a range.
    pub status: StatusCode,
    /// Only headers of [`PASS_THROUGH_HEADERS`].
    pub headers: HeaderMap,
    /// Empty for HEAD.
    pub body: ObjectBody,
}
