//! The metrics endpoint: `GET /metrics` on a listener of its own, never on the service's
//! port (whose paths are object keys). Its requests are not counted in the metrics.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use s3proxy_metrics::{Metrics, CONTENT_TYPE};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

/// Scrapers send small requests and read promptly; anything slower is dropped.
const SCRAPE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn answer<B>(request: &Request<B>, metrics: &Metrics) -> Response<Full<Bytes>> {
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => (StatusCode::OK, metrics.render()),
        _ => (StatusCode::NOT_FOUND, String::new()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if status == StatusCode::OK {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    }
    response
}

/// Serves `metrics` on `listener` until `shutdown` resolves; then stops accepting and
/// closes its connections.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                let metrics = metrics.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| {
                        let response = answer(&request, &metrics);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(SCRAPE_TIMEOUT)
                        .serve_connection(TokioIo::new(stream), service);
                    let _ = tokio::time::timeout(SCRAPE_TIMEOUT, connection).await;
                });
            }
        }
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}
