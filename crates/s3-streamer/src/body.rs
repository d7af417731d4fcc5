//! The object's bytes as an `http_body::Body`.

use std::pin::Pin;
use std::task::{Context, Poll};

use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// S3 stopped sending the body part way (connection lost, timeout).
#[derive(Debug, thiserror::Error)]
#[error("S3 body failed: {0}")]
pub struct BodyError(String);

/// The body of an object, streamed from S3 as it is read.
pub struct ObjectBody(SdkBody);

impl ObjectBody {
    pub(crate) fn new(body: SdkBody) -> ObjectBody {
        ObjectBody(body)
    }

    /// An empty body (for HEAD).
    pub fn empty() -> ObjectBody {
        ObjectBody(SdkBody::empty())
    }
}

impl Body for ObjectBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        Pin::new(&mut self.0)
            .poll_frame(cx)
            .map_err(|e| BodyError(error_chain(e.as_ref())))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        Body::size_hint(&self.0)
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}
