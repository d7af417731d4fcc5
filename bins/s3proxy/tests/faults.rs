//! Faults and recovery: each part goes down and comes back; the proxy answers 5xx
//! quickly meanwhile and recovers by itself.

mod common;

use std::time::{Duration, Instant};

use common::{login, stack};
use test_kit::{pattern, raw_get, Browser, RawResponse, Stack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn get(stack: &Stack, cookie: &str, target: &str) -> (RawResponse, Duration) {
    let started = Instant::now();
    let r = raw_get(
        stack.proxy.port(),
        &format!("GET {target} HTTP/1.1"),
        &[("Cookie", cookie)],
    )
    .await;
    (r, started.elapsed())
}

#[tokio::test]
async fn redis_killed_and_restarted() {
    let mut stack = stack().start().await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    stack.redis.kill();
    let (r, took) = get(&stack, &cookie, "/x.txt").await;
    assert_eq!(r.status, 503);
    assert!(took < Duration::from_secs(3), "refusal took {took:?}");
    println!("Redis down: 503 in {took:?}");

    let restarted = Instant::now();
    stack.redis.restart().await;
    // The restarted Redis is empty: the session is gone, so a transparent new login.
    let page = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200, "{}", stack.proxy.logs());
    assert_eq!(page.redirects.len(), 3);
    println!(
        "Redis back: served again {:?} after the restart",
        restarted.elapsed()
    );
}

#[tokio::test]
async fn s3_stopped_and_restarted() {
    let mut stack = stack().start().await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    stack.stop_s3().await;
    let (r, took) = get(&stack, &cookie, "/x.txt").await;
    assert_eq!(r.status, 500);
    assert!(took < Duration::from_secs(3), "{took:?}");
    println!("S3 down: 500 in {took:?}");
    stack.restart_s3().await;
    let restarted = Instant::now();
    let (r, _) = get(&stack, &cookie, "/x.txt").await;
    assert_eq!(r.status, 200, "{}", stack.proxy.logs());
    assert_eq!(r.body, b"x");
    println!(
        "S3 back: served {:?} after the restart",
        restarted.elapsed()
    );
}

#[tokio::test]
async fn sso_down_and_back() {
    let mut stack = stack()
        .env("SSO_TOKEN_CHECK_GRACE_PERIOD", "1")
        .start()
        .await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    stack.sso.stop().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (r, took) = get(&stack, &cookie, "/x.txt").await;
    assert_eq!(r.status, 500);
    assert!(took < Duration::from_secs(3), "{took:?}");
    stack.restart_sso().await;
    let (r, _) = get(&stack, &cookie, "/x.txt").await;
    assert_eq!(r.status, 200, "{}", stack.proxy.logs());
    // New logins work again too.
    let fresh = Browser::new().get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(fresh.status, 200);
}

#[tokio::test]
async fn aborted_downloads_release_everything() {
    let stack = stack().start().await;
    let size = 4 << 20;
    stack.put_object("big.bin", &pattern(size));
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    // Warm up pools and allocator with a few complete downloads.
    for _ in 0..3 {
        let (r, _) = get(&stack, &cookie, "/big.bin").await;
        assert_eq!(r.body.len(), size);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let fds_before = stack.proxy.open_fds();
    let (rss_before, _) = stack.proxy.memory_kib();

    for _ in 0..200 {
        let mut s = TcpStream::connect(("127.0.0.1", stack.proxy.port()))
            .await
            .unwrap();
        let request = format!("GET /big.bin HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n");
        s.write_all(request.as_bytes()).await.unwrap();
        let mut buf = [0u8; 16 * 1024];
        let mut read = 0;
        while read < 64 * 1024 {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0);
            read += n;
        }
        drop(s);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while stack.proxy.open_fds() > fds_before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fds_after = stack.proxy.open_fds();
    let (rss_after, peak) = stack.proxy.memory_kib();
    println!(
        "200 aborted downloads: fds {fds_before} -> {fds_after}, RSS {rss_before} KiB -> {rss_after} KiB (peak {peak} KiB)"
    );
    assert!(
        fds_after <= fds_before,
        "fds leaked: {fds_before} -> {fds_after}"
    );
    assert!(
        rss_after <= rss_before + 8 * 1024,
        "memory not back near baseline: {rss_before} -> {rss_after} KiB"
    );
    // And the service is fine.
    let (r, _) = get(&stack, &cookie, "/big.bin").await;
    assert_eq!(r.body.len(), size);
}
