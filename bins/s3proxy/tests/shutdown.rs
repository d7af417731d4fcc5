//! SPEC §6: SIGTERM and SIGINT, with the real binary and real signals.

mod common;

use std::time::{Duration, Instant};

use common::{login, pattern, stack};
use test_kit::Browser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends one keep-alive GET on `stream` and reads its whole response (Content-Length).
async fn keep_alive_get(stream: &mut TcpStream, target: &str) -> (u16, Vec<u8>) {
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("response in time")
            .unwrap();
        assert!(n > 0, "connection closed before a full response");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = test_kit::RawResponse::status_and_length(&buf[..end]);
            if buf.len() >= end + 4 + head.1 {
                return (head.0, buf[end + 4..end + 4 + head.1].to_vec());
            }
        }
    }
}

#[tokio::test]
async fn sigterm_lets_a_slow_download_finish_and_refuses_new_connections() {
    let mut stack = stack().env("SHUTDOWN_TIMEOUT", "30").start().await;
    let content = pattern(1 << 20);
    stack.put_object("slow.bin", &content);
    stack.put_object("healthcheck.txt", b"OK");
    let browser = Browser::new();
    login(&stack, &browser).await;
    // An open keep-alive connection, used once before the signal.
    let mut kept = TcpStream::connect(("127.0.0.1", stack.proxy.port()))
        .await
        .unwrap();
    assert_eq!(keep_alive_get(&mut kept, "/healthcheck.txt").await.0, 200);

    stack.s3.set_throttle(Some(512 * 1024));
    let mut download = browser
        .client()
        .get(stack.proxy.url("/slow.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let mut got = download.chunk().await.unwrap().unwrap().to_vec();

    stack.proxy.signal("TERM");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stack.proxy.signal("TERM");
    let refused = TcpStream::connect(("127.0.0.1", stack.proxy.port())).await;
    assert!(
        refused.is_err(),
        "a new connection was accepted after SIGTERM"
    );
    // The already-open connection is still served while the download runs.
    let (status, body) = keep_alive_get(&mut kept, "/healthcheck.txt").await;
    assert_eq!((status, body.as_slice()), (200, &b"OK"[..]));

    while let Some(chunk) = download.chunk().await.unwrap() {
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got.len(), content.len());
    assert!(got == content, "download corrupted");
    let exited = stack.proxy.wait_exit(Duration::from_secs(3)).await;
    assert_eq!(
        exited.and_then(|s| s.code()),
        Some(0),
        "{}",
        stack.proxy.logs()
    );
}

#[tokio::test]
async fn idle_process_exits_0_promptly_on_sigterm_and_sigint() {
    for signal in ["TERM", "INT"] {
        let mut stack = stack().start().await;
        // A keep-alive connection doing nothing must not hold the exit up.
        let _idle = TcpStream::connect(("127.0.0.1", stack.proxy.port()))
            .await
            .unwrap();
        let started = Instant::now();
        stack.proxy.signal(signal);
        let exited = stack.proxy.wait_exit(Duration::from_secs(5)).await;
        assert_eq!(exited.and_then(|s| s.code()), Some(0), "SIG{signal}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "SIG{signal}: {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_client_that_never_reads_cannot_hold_the_exit_past_the_timeout() {
    let mut stack = stack().env("SHUTDOWN_TIMEOUT", "2").start().await;
    stack.put_object("big.bin", &pattern(32 << 20));
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let mut stuck = TcpStream::connect(("127.0.0.1", stack.proxy.port()))
        .await
        .unwrap();
    let request = format!("GET /big.bin HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n");
    stuck.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    stack.proxy.signal("TERM");
    let exited = stack.proxy.wait_exit(Duration::from_secs(6)).await;
    let elapsed = started.elapsed();
    assert!(exited.is_some(), "still running 6 s after SIGTERM");
    assert!(
        elapsed >= Duration::from_millis(1900),
        "cut too early: {elapsed:?}"
    );
    assert!(
        elapsed <= Duration::from_secs(3),
        "SHUTDOWN_TIMEOUT + 1 s exceeded: {elapsed:?}"
    );
    assert!(stack.proxy.logs().contains("shutdown timeout reached"));
}
