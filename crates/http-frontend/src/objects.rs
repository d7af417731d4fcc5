//! The service behind the sign-in gate: a request's path as an object key, the object
//! streamed from S3.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::request::Parts;
use http::{HeaderValue, Method as HttpMethod, Request, StatusCode};
use http_input::{decode_path, guard};
use request_trace::{subsegment, Call};
use s3_streamer::{FetchError, Method, ObjectRequest, ObjectResponse, S3Streamer};
use s3proxy_metrics::{Metrics, Outcome, Upstream};
use tower_service::Service;

use crate::conn_state::ConnState;
use crate::responses::{empty, explained, HttpResponse};

/// What every connection's object service shares.
pub(crate) struct Shared {
    pub(crate) s3: S3Streamer,
    pub(crate) content_security_policy: Option<HeaderValue>,
    pub(crate) metrics: Arc<Metrics>,
}

/// The object service of one client connection (whose clocks a streamed body moves).
#[derive(Clone)]
pub(crate) struct Objects {
    pub(crate) shared: Arc<Shared>,
    pub(crate) conn: Arc<ConnState>,
}

impl<B> Service<Request<B>> for Objects {
    type Response = HttpResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let this = self.clone();
        let (parts, _body) = request.into_parts();
        Box::pin(async move { Ok(this.answer(parts).await) })
    }
}

impl Objects {
    async fn answer(&self, parts: Parts) -> HttpResponse {
        // `App::route` answered 405 to anything but GET and HEAD.
        let method = if parts.method == HttpMethod::HEAD {
            Method::Head
        } else {
            Method::Get
        };
        let Ok(key) = decode_path(parts.uri.path()) else {
            return empty(StatusCode::BAD_REQUEST);
        };
        let response = match guard(&key) {
            Ok(key) => self.proxy(&parts, method, key).await,
            Err(_) => empty(StatusCode::NOT_FOUND),
        };
        explained(response, &parts)
    }

    /// An object request, to S3's response head, timed; 304, 404, 412 and 416 are
    /// answers. Traced as a subsegment of the request's trace when one is in scope, and
    /// then carrying the trace's headers, so that S3's own segment joins the trace.
    pub(crate) async fn s3_fetch(
        &self,
        request: &mut ObjectRequest,
    ) -> Result<ObjectResponse, FetchError> {
        let started = Instant::now();
        let s3 = &self.shared.s3;
        let operation = match request.method {
            Method::Get => "GetObject",
            Method::Head => "HeadObject",
        };
        let trace = subsegment(Call::S3 {
            operation,
            bucket: s3.bucket(),
        });
        let headers = trace.propagation_headers();
        // The trace's headers go on this call alone, set in place rather than on a copy
        // of the whole request; the caller gets its request back as it was.
        let untraced = (!headers.is_empty())
            .then(|| std::mem::replace(&mut request.unsigned_headers, headers));
        let result = s3.fetch(request).await;
        if let Some(untraced) = untraced {
            request.unsigned_headers = untraced;
        }
        trace.end(match &result {
            Ok(object) => request_trace::Outcome::Status(object.status.as_u16()),
            Err(FetchError::Failed(_) | FetchError::NoCredentials(_)) => {
                request_trace::Outcome::Failed
            }
            Err(answer) => request_trace::Outcome::Status(answer.status().as_u16()),
        });
        let outcome = match result {
            Err(FetchError::Failed(_) | FetchError::NoCredentials(_)) => Outcome::Error,
            _ => Outcome::Ok,
        };
        self.shared
            .metrics
            .upstream(Upstream::S3, outcome, started.elapsed());
        result
    }
}
