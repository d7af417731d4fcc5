//! An ECS-style credentials endpoint (what `AWS_CONTAINER_CREDENTIALS_FULL_URI` names):
//! each call issues new temporary credentials that live a short time, and registers them
//! with dev-s3, which then checks their session token and expiry.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dev_s3::TemporaryCredentials;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub struct EcsCredentials {
    addr: SocketAddr,
    issued: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl EcsCredentials {
    /// Issues credentials living `life` and registers each set with `s3`.
    pub async fn start(s3: TemporaryCredentials, life: Duration) -> EcsCredentials {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a port");
        let addr = listener.local_addr().expect("its address");
        let issued = Arc::new(AtomicUsize::new(0));
        let counter = issued.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (s3, counter) = (s3.clone(), counter.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |_request| {
                        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                        let body = issue(&s3, n, life);
                        async move { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body)))) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        EcsCredentials { addr, issued, task }
    }

    /// The value for `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub fn uri(&self) -> String {
        format!("http://{}/v2/credentials/test-task", self.addr)
    }

    /// How many sets were issued so far.
    pub fn issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    /// The access key of the `n`th set (from 1).
    pub fn access_key(n: usize) -> String {
        format!("ASIATEST{n:08}")
    }
}

impl Drop for EcsCredentials {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn issue(s3: &TemporaryCredentials, n: usize, life: Duration) -> String {
    let access_key = EcsCredentials::access_key(n);
    let secret_key = format!("temporary-secret-{n}");
    let token = format!("session-token-{n}");
    let expires = SystemTime::now() + life;
    s3.add(&access_key, &secret_key, &token, expires);
    let expiration = time::OffsetDateTime::from(expires)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    serde_json::json!({
        "AccessKeyId": access_key,
        "SecretAccessKey": secret_key,
        "Token": token,
        "Expiration": expiration,
        "RoleArn": "arn:aws:iam::111122223333:role/test-task",
    })
    .to_string()
}
