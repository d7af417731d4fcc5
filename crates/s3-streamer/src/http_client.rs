//! The HTTP client under the AWS SDK, tuned for streaming many large bodies at once.
//!
//! The SDK's default client lets hyper grow each connection's read buffer to ~400 KiB
//! when data arrives fast; with a hundred downloads in flight that alone is 40 MiB. Here
//! the buffer is capped, so memory per download stays small, and TCP_NODELAY is set so
//! small responses are not held back.

use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Largest read buffer per S3 connection (hyper's minimum is 8 KiB).
const READ_BUFFER: usize = 64 * 1024;
/// Idle pooled connections are closed after this; S3 closes them at about 20 s anyway.
const POOL_IDLE: Duration = Duration::from_secs(15);

/// A pooled hyper client (rustls, native roots) implementing the SDK's `HttpClient`.
#[derive(Clone, Debug)]
pub(crate) struct LeanHttpClient {
    client: Client<HttpsConnector<TcpConnector>, SdkBody>,
}

impl LeanHttpClient {
    pub(crate) fn shared(connect_timeout: Duration) -> std::io::Result<SharedHttpClient> {
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()?
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE)
            .http1_max_buf_size(READ_BUFFER)
            .build(https);
        Ok(SharedHttpClient::new(LeanHttpClient { client }))
    }
}

impl HttpClient for LeanHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(Connector {
            client: self.client.clone(),
            response_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug)]
struct Connector {
    client: Client<HttpsConnector<TcpConnector>, SdkBody>,
    /// Bound on waiting for the response head; the body is never timed here.
    response_timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        let response_timeout = self.response_timeout;
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(Box::new(e)))?;
            let sent = client.request(request);
            let response = match response_timeout {
                Some(limit) => tokio::time::timeout(limit, sent)
                    .await
                    .map_err(|e| ConnectorError::timeout(Box::new(e)))?,
                None => sent.await,
            }
            .map_err(classify)?;
            let response = response.map(SdkBody::from_body_1_x);
            Response::try_from(response).map_err(|e| ConnectorError::other(Box::new(e), None))
        })
    }
}

fn classify(e: hyper_util::client::legacy::Error) -> ConnectorError {
    // Connection failures are transient (the SDK may retry); anything else is not.
    if e.is_connect() {
        ConnectorError::io(Box::new(e))
    } else {
        ConnectorError::other(Box::new(e), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_the_system_roots() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        assert!(LeanHttpClient::shared(Duration::from_secs(1)).is_ok());
    }
}
