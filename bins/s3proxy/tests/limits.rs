//! SPEC §6: timeouts and limits hold against slow or stuck peers.

mod common;

use std::time::{Duration, Instant};

use common::{login, stack};
use test_kit::{pattern, raw_get, Browser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the peer closes; the bytes read and when it closed.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<(usize, Instant)> {
    let mut total = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some((total, Instant::now())),
            Ok(Ok(n)) => total += n,
        }
    }
}

#[tokio::test]
async fn a_slowloris_client_is_cut_while_others_are_served() {
    let stack = stack().env("HEADER_READ_TIMEOUT", "2").start().await;
    stack.put_object("healthcheck.txt", b"OK");
    let mut slow = TcpStream::connect(("127.0.0.1", stack.proxy.port()))
        .await
        .unwrap();
    let started = Instant::now();
    let port = stack.proxy.port();
    let dripper = tokio::spawn(async move {
        for byte in b"GET /healthcheck.txt HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa"
        {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        read_until_closed(&mut slow, Duration::from_secs(10)).await
    });
    // Meanwhile everyone else is served promptly.
    for _ in 0..5 {
        let asked = Instant::now();
        let r = raw_get(port, "GET /healthcheck.txt HTTP/1.1", &[]).await;
        assert_eq!(r.status, 200);
        assert!(asked.elapsed() < Duration::from_millis(500));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let closed = dripper
        .await
        .unwrap()
        .expect("slow client never disconnected");
    let after = closed.1 - started;
    assert!(
        after >= Duration::from_millis(1800),
        "cut too early: {after:?}"
    );
    assert!(after < Duration::from_secs(4), "cut too late: {after:?}");
}

#[tokio::test]
async fn an_oversized_header_block_is_refused_and_the_process_stays_up() {
    let stack = stack().start().await;
    stack.put_object("healthcheck.txt", b"OK");
    let huge = "a".repeat(100 * 1024);
    let request = format!(
        "GET /healthcheck.txt HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\nConnection: close\r\n\r\n"
    );
    let r = test_kit::raw_exchange(stack.proxy.port(), request.as_bytes()).await;
    assert!(r.status == 431 || r.status == 400, "{}", r.status);
    let many: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    let request =
        format!("GET /healthcheck.txt HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n");
    let r = test_kit::raw_exchange(stack.proxy.port(), request.as_bytes()).await;
    assert!(r.status == 431 || r.status == 400, "{}", r.status);
    let ok = raw_get(stack.proxy.port(), "GET /healthcheck.txt HTTP/1.1", &[]).await;
    assert_eq!(ok.status, 200);
}

/// Every request that needs Redis fails within 3 s. A session in the session cache may
/// be served meanwhile (a frozen Redis changes nothing), until the cache's `PING` goes
/// unanswered (`REDIS_TIMEOUT` 2 s, one a second) and the cache is off: from then on that
/// session's requests need Redis too.
#[tokio::test]
async fn a_frozen_redis_is_a_503_within_3_seconds_then_recovers() {
    let stack = stack().start().await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let pid = stack.redis.pid().unwrap().to_string();
    let signal = |s: &str| {
        std::process::Command::new("kill")
            .args([s, &pid])
            .status()
            .unwrap();
    };
    signal("-STOP");
    let frozen = Instant::now();
    // Anonymous: the sign-in's state cannot be saved.
    let started = Instant::now();
    let r = raw_get(stack.proxy.port(), "GET /x.txt HTTP/1.1", &[]).await;
    let elapsed = started.elapsed();
    assert!(r.status == 503, "{}", r.status);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // Signed in: served from the cache at first, then, once the cache is off, a 503
    // within 3 s; never a hang.
    let r = loop {
        let started = Instant::now();
        let r = raw_get(
            stack.proxy.port(),
            "GET /x.txt HTTP/1.1",
            &[("Cookie", &cookie)],
        )
        .await;
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        if r.status != 200 || frozen.elapsed() > Duration::from_secs(10) {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    signal("-CONT");
    assert!(r.status == 503 || r.status == 500, "{}", r.status);
    let r = raw_get(
        stack.proxy.port(),
        "GET /x.txt HTTP/1.1",
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", stack.proxy.logs());
}

#[tokio::test]
async fn an_s3_that_never_answers_is_a_500_within_the_s3_timeout() {
    let stack = stack().env("S3_TIMEOUT", "1").start().await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    stack.s3.set_hang(true);
    let started = Instant::now();
    let r = raw_get(
        stack.proxy.port(),
        "GET /x.txt HTTP/1.1",
        &[("Cookie", &cookie)],
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(r.status, 500);
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
}

#[tokio::test]
async fn a_slow_but_steady_body_is_never_cut() {
    let stack = stack()
        .env("S3_TIMEOUT", "1")
        .env("CLIENT_IDLE_TIMEOUT", "1")
        .start()
        .await;
    let content = pattern(3 << 19);
    stack.put_object("slow.bin", &content);
    let browser = Browser::new();
    login(&stack, &browser).await;
    stack.s3.set_throttle(Some(512 * 1024));
    let started = Instant::now();
    let page = browser.get(&stack.proxy.url("/slow.bin")).await;
    assert!(
        started.elapsed() > Duration::from_millis(2500),
        "not slow: {:?}",
        started.elapsed()
    );
    assert_eq!(page.status, 200);
    assert!(
        page.body == content,
        "body cut or corrupted: {} bytes",
        page.body.len()
    );
}

#[tokio::test]
async fn a_client_that_reads_nothing_is_disconnected_and_its_s3_stream_released() {
    let stack = stack().env("CLIENT_IDLE_TIMEOUT", "1").start().await;
    let size = 32 << 20;
    stack.put_object("big.bin", &pattern(size));
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let baseline = stack.proxy.open_fds();

    let mut stuck = TcpStream::connect(("127.0.0.1", stack.proxy.port()))
        .await
        .unwrap();
    let request = format!("GET /big.bin HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n");
    stuck.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        stack.proxy.open_fds() > baseline,
        "the download did not start"
    );
    // Read nothing for well over the idle timeout, then see what arrived.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stuck.read_to_end(&mut received))
        .await
        .expect("connection still open")
        .expect("the connection was reset: bytes sent were lost");
    let head = received
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    let body = received.len() - head;
    assert!(body < size, "the whole object arrived: not cut");
    // The access line counts the bytes that went out, not those taken from S3: exactly
    // what the client got, since the proxy closes after handing them to the kernel.
    let line = common::access_lines(&stack.proxy, "/big.bin", 1).await;
    assert_eq!(
        line.first()
            .map(|l| l.contains(&format!(" 200 {body} bytes ")) && l.contains("(incomplete)")),
        Some(true),
        "{line:?}, {body} body bytes received"
    );
    assert!(
        stack
            .proxy
            .logs_with("client read nothing")
            .await
            .contains("client read nothing"),
        "{}",
        stack.proxy.logs()
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    while stack.proxy.open_fds() > baseline && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        stack.proxy.open_fds() <= baseline,
        "S3 connection not released"
    );
}
