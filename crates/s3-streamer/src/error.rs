//! S3's answers that are not an object.

use http::{HeaderMap, StatusCode};

/// Why no object is sent. [`FetchError::status`] is the status to answer the client with.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No object has this key.
    #[error("no such key")]
    NotFound,
    /// The client's copy is current (`If-None-Match`, `If-Modified-Since`).
    #[error("not modified")]
    NotModified {
        /// S3's `ETag`, `Last-Modified`, `Cache-Control` and `Expires`, for the 304.
        headers: HeaderMap,
    },
    /// `If-Match` or `If-Unmodified-Since` failed.
    #[error("precondition failed")]
    PreconditionFailed,
    /// The range starts past the end; `size` is the object's size when known.
    #[error("range not satisfiable")]
    RangeNotSatisfiable {
        /// The object's size, from S3's `Content-Range` (`bytes */<size>`).
        size: Option<u64>,
    },
    /// Anything else: access denied, bad credentials, S3 down, a timeout. The message is
    /// for the log, never for the client.
    #[error("{0}")]
    Failed(String),
    /// S3 could not be asked: no usable AWS credentials (the credential source failed
    /// or gave no answer in time, or failed moments ago). Passing: a 503. The message is
    /// for the log.
    #[error("{0}")]
    NoCredentials(String),
}

impl FetchError {
    /// The status a proxy answers with: 404, 304, 412, 416, 500 or 503.
    pub fn status(&self) -> StatusCode {
        match self {
            FetchError::NotFound => StatusCode::NOT_FOUND,
            FetchError::NotModified { .. } => StatusCode::NOT_MODIFIED,
            FetchError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            FetchError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            FetchError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
            FetchError::NoCredentials(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}
