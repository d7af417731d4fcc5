//! Hardening for life behind a load balancer: Redis failovers, slow logs, bursts of token
//! checks, the client address in the log and error pages when a dependency fails. The
//! route and header cases (same-origin sign-ins, 414, odd targets, bodies on GET,
//! `Cache-Control`, CSP) are tested in process: `crates/http-frontend/tests/in_process`.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{login, stack};
use test_kit::{get_on, query_param, raw_get, Browser};
use tokio::net::TcpStream;

/// After the grace period, a page's twenty parallel requests cause one call to the SSO.
#[tokio::test]
async fn concurrent_requests_of_a_session_share_one_token_check() {
    let stack = stack()
        .env("SSO_TOKEN_CHECK_GRACE_PERIOD", "1")
        .start()
        .await;
    for i in 0..20 {
        stack.put_object(&format!("img/{i}.png"), b"png");
    }
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    stack.sso.update(|c| c.delay = Duration::from_millis(400));
    let before = stack.sso.me_calls();
    let port = stack.proxy.port();
    let requests = (0..20).map(|i| {
        let cookie = cookie.clone();
        tokio::spawn(async move {
            raw_get(
                port,
                &format!("GET /img/{i}.png HTTP/1.1"),
                &[("Cookie", &cookie)],
            )
            .await
            .status
        })
    });
    for request in requests.collect::<Vec<_>>() {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(
        stack.sso.me_calls() - before,
        1,
        "one check for one session"
    );
}

#[tokio::test]
async fn concurrent_requests_share_a_rejection_too() {
    let stack = stack()
        .env("SSO_TOKEN_CHECK_GRACE_PERIOD", "1")
        .start()
        .await;
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    stack.sso.update(|c| {
        c.delay = Duration::from_millis(400);
        c.me_accepted_tokens = Some(Vec::new());
    });
    let before = stack.sso.me_calls();
    let port = stack.proxy.port();
    let requests: Vec<_> = (0..10)
        .map(|i| {
            let cookie = cookie.clone();
            tokio::spawn(async move {
                raw_get(
                    port,
                    &format!("GET /{i}.png HTTP/1.1"),
                    &[("Cookie", &cookie)],
                )
                .await
            })
        })
        .collect();
    for request in requests {
        let r = request.await.unwrap();
        assert_eq!(r.status, 302, "each goes to sign in again");
        assert!(query_param(r.header("location").unwrap(), "state").is_some());
    }
    assert_eq!(stack.sso.me_calls() - before, 1);
}

/// An ElastiCache failover: the primary the proxy is connected to becomes a replica.
/// Writes then fail (503, never a hang), reads still serve signed-in users, and once a
/// primary is back the proxy recovers within 2 s, without a restart.
#[tokio::test]
async fn a_redis_failover_is_503_for_writes_and_recovers_by_itself() {
    let stack = stack().start().await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let port = stack.proxy.port();

    stack.redis.demote().await;
    let anonymous = raw_get(port, "GET /x.txt HTTP/1.1", &[]).await;
    assert_eq!(anonymous.status, 503);
    let signed_in = raw_get(port, "GET /x.txt HTTP/1.1", &[("Cookie", &cookie)]).await;
    assert_eq!(signed_in.status, 200, "{}", stack.proxy.logs());
    assert!(
        stack.proxy.logs_with("READONLY").await.contains("READONLY"),
        "{}",
        stack.proxy.logs()
    );

    stack.redis.promote().await;
    let promoted = Instant::now();
    loop {
        let r = raw_get(port, "GET /x.txt HTTP/1.1", &[]).await;
        if r.status == 302 {
            break;
        }
        assert!(
            promoted.elapsed() < Duration::from_secs(2),
            "still {} 2 s after the promotion",
            r.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A full stderr pipe (a log driver that fell behind) must not stall the server: lines
/// are dropped, requests keep being answered, and the log says how many were lost.
#[tokio::test]
async fn a_stuck_log_pipe_never_stalls_requests() {
    let stack = stack().start().await;
    stack.put_object("healthcheck.txt", b"OK");
    let mut proxy = stack
        .spawn_proxy_with_log_pipe(&[("RUST_LOG", Some("info"))])
        .await;
    let mut log = proxy.take_log_pipe().expect("a log pipe");
    let mut conn = TcpStream::connect(("127.0.0.1", proxy.port()))
        .await
        .unwrap();
    let started = Instant::now();
    // Far more access lines than the pipe (64 KiB) and the queue hold together.
    for i in 0..6000 {
        let r = get_on(&mut conn, "/healthcheck.txt", &[]).await;
        assert_eq!(r.status, 200, "request {i}");
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(60),
        "6000 requests took {took:?}"
    );

    // Read the log now: the writer catches up and reports what it dropped.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = log.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while !text.contains("log line(s) dropped") {
        assert!(Instant::now() < deadline, "no report of dropped lines");
        let _ = get_on(&mut conn, "/healthcheck.txt", &[]).await;
        while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(50)) {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test]
async fn the_access_line_names_the_client_the_balancer_saw() {
    let stack = stack().start().await;
    stack.put_object("healthcheck.txt", b"OK");
    let port = stack.proxy.port();
    let forwarded = [("X-Forwarded-For", "6.6.6.6, 10.1.2.3")];
    raw_get(port, "GET /healthcheck.txt?first HTTP/1.1", &forwarded).await;
    let ignoring = stack.spawn_proxy(&[("FORWARDED_HOPS", Some("0"))]).await;
    raw_get(ignoring.port(), "GET /healthcheck.txt HTTP/1.1", &forwarded).await;
    let two_hops = stack.spawn_proxy(&[("FORWARDED_HOPS", Some("2"))]).await;
    raw_get(two_hops.port(), "GET /healthcheck.txt HTTP/1.1", &forwarded).await;

    let line = |logs: String| {
        logs.lines()
            .find(|l| l.contains("GET /healthcheck.txt 200"))
            .unwrap_or_else(|| panic!("no access line in {logs}"))
            .to_string()
    };
    let done = "GET /healthcheck.txt 200";
    let (first, second, third) = tokio::join!(
        stack.proxy.logs_with(done),
        ignoring.logs_with(done),
        two_hops.logs_with(done)
    );
    assert!(line(first).contains("] 10.1.2.3 GET"));
    assert!(line(second).contains("] 127.0.0.1 GET"));
    // The leftmost entry is only trusted when that many balancers are declared.
    assert!(line(third).contains("] 6.6.6.6 GET"));
}

/// A person's browser gets a page that says what happened instead of an empty error
/// (which browsers show as their own "this page isn't working"); scripts keep the
/// empty body.
#[tokio::test]
async fn browsers_get_readable_error_pages_and_other_clients_empty_bodies() {
    let mut stack = stack().start().await;
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let port = stack.proxy.port();
    let html = ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    let get = |target: &'static str, accept: Option<(&'static str, &'static str)>| {
        let cookie = cookie.clone();
        async move {
            let mut headers = vec![("Cookie", cookie.as_str())];
            headers.extend(accept);
            raw_get(port, &format!("GET {target} HTTP/1.1"), &headers).await
        }
    };
    let page = get("/missing.pdf", Some(html)).await;
    assert_eq!(page.status, 404);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&page.body).contains("Check the link"));
    let script = get("/missing.pdf", None).await;
    assert_eq!((script.status, script.body.len()), (404, 0));
    let image = get(
        "/missing.png",
        Some(("Accept", "image/avif,image/webp,*/*")),
    )
    .await;
    assert_eq!((image.status, image.body.len()), (404, 0));

    stack.stop_s3().await;
    let failed = get("/x.pdf", Some(html)).await;
    assert_eq!(failed.status, 500);
    assert!(String::from_utf8_lossy(&failed.body).contains("Try again"));
    stack.redis.kill();
    let unavailable = get("/x.pdf", Some(html)).await;
    assert_eq!(unavailable.status, 503);
    assert!(String::from_utf8_lossy(&unavailable.body).contains("Try again"));
}
