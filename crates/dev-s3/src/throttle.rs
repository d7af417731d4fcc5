//! Slow response bodies, for testing what the proxy does with slow downloads.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

/// Passes `inner` through, at most `bytes_per_sec` when set: data is cut into
/// pieces of a tenth of a second's worth, each followed by the pause it costs.
pub struct ThrottledBody<B> {
    inner: B,
    bytes_per_sec: Option<u64>,
    /// Data read from `inner` and not sent yet.
    pending: Bytes,
    /// The pause owed for the last piece sent.
    pause: Option<Pin<Box<Sleep>>>,
}

impl<B> ThrottledBody<B> {
    /// Wraps `inner`; `None` or `Some(0)` means no limit.
    pub fn new(inner: B, bytes_per_sec: Option<u64>) -> Self {
        Self {
            inner,
            bytes_per_sec: bytes_per_sec.filter(|&rate| rate > 0),
            pending: Bytes::new(),
            pause: None,
        }
    }
}

impl<B> Body for ThrottledBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        let Some(rate) = this.bytes_per_sec else {
            return Pin::new(&mut this.inner).poll_frame(cx);
        };
        if let Some(pause) = this.pause.as_mut() {
            ready!(pause.as_mut().poll(cx));
            this.pause = None;
        }
        while this.pending.is_empty() {
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.pending = data,
                    Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                },
                other => return Poll::Ready(other),
            }
        }
        let piece_len = usize::try_from(rate / 10)
            .unwrap_or(usize::MAX)
            .clamp(1, this.pending.len());
        let piece = this.pending.split_to(piece_len);
        let cost = Duration::from_secs_f64(piece.len() as f64 / rate as f64);
        this.pause = Some(Box::pin(tokio::time::sleep(cost)));
        Poll::Ready(Some(Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        // Bytes already taken from `inner` are still to come from us.
        let buffered = self.pending.len() as u64;
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + buffered);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + buffered);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Instant;

    /// A body that yields one frame with all of `data`.
    struct Once(Option<Bytes>);

    impl Body for Once {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.take().map(|data| Ok(Frame::data(data))))
        }
    }

    async fn drain(mut body: ThrottledBody<Once>) -> Vec<usize> {
        let mut sizes = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            sizes.push(frame.unwrap().into_data().unwrap().len());
        }
        sizes
    }

    #[tokio::test]
    async fn unlimited_passes_through() {
        let body = ThrottledBody::new(Once(Some(Bytes::from(vec![0; 1000]))), None);
        assert_eq!(drain(body).await, vec![1000]);
    }

    #[tokio::test]
    async fn limited_cuts_and_paces() {
        let started = Instant::now();
        let body = ThrottledBody::new(Once(Some(Bytes::from(vec![0; 1000]))), Some(2000));
        assert_eq!(drain(body).await, vec![200; 5]);
        // Four pauses of 0.1 s come before the last piece.
        assert!(started.elapsed() >= Duration::from_millis(400));
    }
}
