//! The body of every response: empty, a small fixed text, or an object streamed from S3.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use s3_streamer::{BodyError, ObjectBody};

use s3proxy_metrics::InFlightGuard;

use crate::conn_state::{AnsweringGuard, Delivery, StreamingGuard};
use crate::tracking::AccessLog;

enum Content {
    Empty,
    Full(Option<Bytes>),
    Object(ObjectBody, StreamingGuard),
}

/// A response body that also finishes the response's bookkeeping: the access log line,
/// the metrics, the connection's idle clock. hyper drops it once it has taken the last
/// bytes, before they are written: the bookkeeping then waits until they reach the kernel
/// (see `conn_state`), and a connection closed first logs the response as incomplete,
/// with the bytes that did go out.
pub struct ResponseBody {
    content: Content,
    /// Body bytes handed to hyper so far.
    bytes: u64,
    /// The body reached its end (a stream cut short leaves this false).
    complete: bool,
    log: Option<AccessLog>,
    /// Set by [`ResponseBody::track`]; held until the body is done or dropped.
    guards: Option<(InFlightGuard, AnsweringGuard)>,
}

impl ResponseBody {
    pub fn empty() -> ResponseBody {
        ResponseBody::new(Content::Empty)
    }

    pub fn text(text: &'static str) -> ResponseBody {
        ResponseBody::new(Content::Full(Some(Bytes::from_static(text.as_bytes()))))
    }

    pub fn object(body: ObjectBody, streaming: StreamingGuard) -> ResponseBody {
        ResponseBody::new(Content::Object(body, streaming))
    }

    /// The text of a fixed body (empty for the others).
    #[cfg(test)]
    pub(crate) fn text_for_tests(&self) -> String {
        match &self.content {
            Content::Full(Some(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        }
    }

    fn new(content: Content) -> ResponseBody {
        // Fixed bodies cannot fail part way; only a stream has to reach its end.
        let complete = !matches!(content, Content::Object(..));
        ResponseBody {
            content,
            bytes: 0,
            complete,
            log: None,
            guards: None,
        }
    }

    pub(crate) fn track(
        &mut self,
        log: Option<AccessLog>,
        inflight: InFlightGuard,
        answering: AnsweringGuard,
    ) {
        self.log = log;
        self.guards = Some((inflight, answering));
    }
}

/// The sign-in gate's answers: empty, or a fixed page.
impl From<Bytes> for ResponseBody {
    fn from(bytes: Bytes) -> ResponseBody {
        if bytes.is_empty() {
            ResponseBody::empty()
        } else {
            ResponseBody::new(Content::Full(Some(bytes)))
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        let Some((inflight, answering)) = self.guards.take() else {
            return;
        };
        let log = self.log.take();
        let finish = move |sent: u64, whole: bool| {
            inflight.body_sent(sent);
            if let Some(log) = &log {
                log.write(sent, whole);
            }
        };
        let bytes = self.bytes;
        if self.complete {
            answering.after_flush(Box::new(move |delivery| match delivery {
                Delivery::Whole => finish(bytes, true),
                Delivery::Cut { held } => finish(bytes.saturating_sub(held), false),
            }));
        } else {
            // Cut short (by S3, or the connection closing): nothing more goes out.
            finish(bytes.saturating_sub(answering.held()), false);
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        let polled = match &mut this.content {
            Content::Empty => Poll::Ready(None),
            Content::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Content::Object(body, streaming) => {
                let polled = Pin::new(body).poll_frame(cx);
                if polled.is_ready() {
                    streaming.progress();
                }
                polled
            }
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.bytes += data.len() as u64;
                    if let Some((_, answering)) = &this.guards {
                        answering.queued(data.len() as u64);
                    }
                }
                // hyper stops polling once Content-Length bytes are out, so the end
                // of a sized body is seen here rather than as a final `None`.
                if this.is_end_stream() {
                    this.complete = true;
                }
            }
            Poll::Ready(Some(Err(e))) => log::warn!("S3 body failed mid-stream: {e}"),
            Poll::Ready(None) => this.complete = true,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.content {
            Content::Empty => true,
            Content::Full(bytes) => bytes.is_none(),
            Content::Object(body, _) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.content {
            Content::Empty => SizeHint::with_exact(0),
            Content::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Content::Object(body, _) => body.size_hint(),
        }
    }
}
