//! The pooled HTTP client S3 requests go out on (hyper, rustls).
//!
//! Two pools with different read buffers: while few downloads run, connections read up
//! to 512 KiB at a time (fewer system calls and wake-ups per byte); once many run, new
//! requests use connections capped at 64 KiB, so memory per download stays small.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::Instant;

use crate::error::FetchError;

const LARGE_READ_BUFFER: usize = 512 * 1024;
const SMALL_READ_BUFFER: usize = 64 * 1024;
/// Downloads under way below which new requests get the large read buffer.
const LARGE_BUFFER_STREAMS: usize = 8;
/// Idle pooled connections are closed after this; S3 closes them at about 20 s anyway.
const POOL_IDLE: Duration = Duration::from_secs(15);

type HyperClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

#[derive(Clone)]
pub(crate) struct Transport {
    large: HyperClient,
    small: HyperClient,
    streams: Arc<AtomicUsize>,
    response_timeout: Duration,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("streams", &self.streams.load(Ordering::Relaxed))
            .field("response_timeout", &self.response_timeout)
            .finish()
    }
}

/// Counts a download under way until dropped (with the body).
pub(crate) struct StreamGuard(Arc<AtomicUsize>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn https_connector(
    connect_timeout: Duration,
    tls_roots: Option<&[Vec<u8>]>,
) -> Result<HttpsConnector<HttpConnector>, FetchError> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(connect_timeout));
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match tls_roots {
        None => builder
            .with_native_roots()
            .map_err(|e| FetchError::Failed(format!("cannot load the system's CA roots: {e}")))?,
        Some(roots) => {
            let mut store = rustls::RootCertStore::empty();
            for der in roots {
                store
                    .add(der.clone().into())
                    .map_err(|e| FetchError::Failed(format!("a trusted root is unusable: {e}")))?;
            }
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| FetchError::Failed(format!("TLS set-up: {e}")))?
                .with_root_certificates(store)
                .with_no_client_auth();
            builder.with_tls_config(config)
        }
    };
    Ok(builder.https_or_http().enable_http1().wrap_connector(tcp))
}

fn client(connector: HttpsConnector<HttpConnector>, read_buffer: usize) -> HyperClient {
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .http1_max_buf_size(read_buffer)
        .build(connector)
}

impl Transport {
    pub(crate) fn new(
        connect_timeout: Duration,
        response_timeout: Duration,
        tls_roots: Option<&[Vec<u8>]>,
    ) -> Result<Transport, FetchError> {
        let connector = https_connector(connect_timeout, tls_roots)?;
        Ok(Transport {
            large: client(connector.clone(), LARGE_READ_BUFFER),
            small: client(connector, SMALL_READ_BUFFER),
            streams: Arc::new(AtomicUsize::new(0)),
            response_timeout,
        })
    }

    /// Sends the request `build` makes and waits for the response head, within the
    /// response timeout. A pooled connection that S3 closed while it sat idle shows only
    /// once used: then the request is made again, once, on a new connection (GET and
    /// HEAD are idempotent).
    ///
    /// The request counts as a download under way from now until the guard drops (keep
    /// it with the body), so a burst of requests sees itself and gets small buffers.
    /// The last value is when the response timeout ends: what is read of an error body
    /// must be read by then.
    pub(crate) async fn send(
        &self,
        build: impl Fn() -> Result<Request<Empty<Bytes>>, FetchError>,
    ) -> Result<(Response<Incoming>, StreamGuard, Instant), FetchError> {
        let deadline = Instant::now() + self.response_timeout;
        let under_way = self.streams.fetch_add(1, Ordering::Relaxed);
        let guard = StreamGuard(self.streams.clone());
        let client = if under_way < LARGE_BUFFER_STREAMS {
            &self.large
        } else {
            &self.small
        };
        let attempts = async {
            match client.request(build()?).await {
                Err(e) if is_stale_connection(&e) => {
                    log::debug!("a pooled S3 connection was closed: sending again");
                    client.request(build()?).await.map_err(transport_error)
                }
                other => other.map_err(transport_error),
            }
        };
        let response = tokio::time::timeout_at(deadline, attempts)
            .await
            .unwrap_or_else(|_| {
                Err(FetchError::Failed(format!(
                    "S3 did not answer within {:?}",
                    self.response_timeout
                )))
            })?;
        Ok((response, guard, deadline))
    }
}

/// The connection died before an answer came, without a connect error: it was a pooled
/// one the server had closed (or reset) meanwhile.
fn is_stale_connection(e: &hyper_util::client::legacy::Error) -> bool {
    if e.is_connect() {
        return false;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                return true;
            }
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                return true;
            }
        }
        source = s.source();
    }
    false
}

fn transport_error(e: hyper_util::client::legacy::Error) -> FetchError {
    let mut message = format!("S3 unreachable: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    FetchError::Failed(message)
}
