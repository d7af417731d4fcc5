//! The object's bytes as an `http_body::Body`: hyper's body from S3, passed on frame by
//! frame, nothing buffered beyond what hyper read.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use crate::transport::StreamGuard;

/// S3 stopped sending the body part way (connection lost, timeout).
#[derive(Debug, thiserror::Error)]
#[error("S3 body failed: {0}")]
pub struct BodyError(String);

/// The body of an object, streamed from S3 as it is read. Dropping it closes the S3
/// connection (unless the body was read to its end, when the connection is reused).
/// The guard counts the download as under way for as long as the body lives.
pub struct ObjectBody(Option<(Incoming, StreamGuard)>);

impl ObjectBody {
    pub(crate) fn new(incoming: Incoming, stream: StreamGuard) -> ObjectBody {
        ObjectBody(Some((incoming, stream)))
    }

    /// An empty body (for HEAD).
    pub fn empty() -> ObjectBody {
        ObjectBody(None)
    }

    fn incoming(&self) -> Option<&Incoming> {
        self.0.as_ref().map(|(incoming, _)| incoming)
    }
}

impl Body for ObjectBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match &mut self.0 {
            None => Poll::Ready(None),
            Some((incoming, _)) => Pin::new(incoming)
                .poll_frame(cx)
                .map_err(|e| BodyError(e.to_string())),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
