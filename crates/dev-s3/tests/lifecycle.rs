//! The switches tests of the proxy use: hang, throttle, stop and restart.

mod common;

use common::*;

use dev_s3::{S3Config, S3Server};

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[tokio::test]
async fn hang_leaves_requests_unanswered() {
    let f = Fixture::new().await;
    f.server.set_hang(true);
    let get = f.client.get_object().bucket(BUCKET).key(HELLO_KEY).send();
    assert!(tokio::time::timeout(Duration::from_millis(500), get)
        .await
        .is_err());
    // It did reach the server.
    assert_eq!(f.server.request_count(), 1);

    f.server.set_hang(false);
    f.client
        .get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn throttle_slows_downloads() {
    let f = Fixture::new().await;
    let data = vec![7u8; 64 * 1024];
    f.write("big.bin", &data);

    f.server.set_throttle(Some(64 * 1024));
    let started = Instant::now();
    let out = f
        .client
        .get_object()
        .bucket(BUCKET)
        .key("big.bin")
        .send()
        .await
        .unwrap();
    let body = out.body.collect().await.unwrap().into_bytes();
    let took = started.elapsed();
    assert_eq!(body.len(), data.len());
    assert!(took >= Duration::from_millis(500), "took {took:?}");

    f.server.set_throttle(None);
    let started = Instant::now();
    let out = f
        .client
        .get_object()
        .bucket(BUCKET)
        .key("big.bin")
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn throttle_from_config() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = S3Config::new(dir.path());
    config.throttle_bytes_per_sec = Some(20 * 1024);
    let server = S3Server::start(config).await.unwrap();
    std::fs::write(
        server.bucket_dir(BUCKET).join("f.bin"),
        vec![0u8; 10 * 1024],
    )
    .unwrap();

    let c = client(
        &server.endpoint(),
        "test-access-key",
        "test-secret-key",
        "us-east-1",
    );
    let started = Instant::now();
    let out = c
        .get_object()
        .bucket(BUCKET)
        .key("f.bin")
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_refuses_and_closes_then_restart_on_the_same_port() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = S3Server::start(S3Config::new(dir.path())).await.unwrap();
    let addr = server.addr();
    assert_eq!(
        server.endpoint(),
        format!("http://127.0.0.1:{}", server.port())
    );

    // A connection that is open, mid-request, when the server stops.
    let mut open = TcpStream::connect(addr).unwrap();
    open.write_all(b"GET /my-bucket/x HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    server.stop().await;
    let mut buf = [0u8; 16];
    match open.read(&mut buf) {
        Ok(n) => assert_eq!(n, 0, "expected the connection closed"),
        Err(err) => assert_ne!(err.kind(), ErrorKind::WouldBlock, "connection left open"),
    }
    let err = TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    // Stopping twice is harmless.
    server.stop().await;

    let again = S3Server::start_on_port(addr.port(), S3Config::new(dir.path()))
        .await
        .unwrap();
    assert_eq!(again.addr(), addr);
    std::fs::write(again.bucket_dir(BUCKET).join(HELLO_KEY), HELLO).unwrap();
    let c = client(
        &again.endpoint(),
        "test-access-key",
        "test-secret-key",
        "us-east-1",
    );
    c.get_object()
        .bucket(BUCKET)
        .key(HELLO_KEY)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn drop_closes_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(S3Config::new(dir.path())).await.unwrap();
    let addr = server.addr();
    drop(server);
    // Abort takes effect when the runtime next polls the task.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        TcpStream::connect(addr).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
}
