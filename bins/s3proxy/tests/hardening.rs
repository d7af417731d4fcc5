//! Hardening for life behind a load balancer: sign-ins return only to their own origin,
//! anonymous work is bounded, odd requests are refused before they cost anything, caches
//! are kept private, and Redis failovers, slow logs and bursts of token checks are
//! absorbed.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{authorize, get_on, login, query_param, stack, state_of};
use test_kit::{raw_exchange, raw_exchange_bytes, raw_get, Browser, RawResponse, StoredHeaders};
use tokio::net::TcpStream;

/// A GET sent with the given `Host`.
async fn get_as_host(port: u16, target: &str, host: &str) -> RawResponse {
    let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    raw_exchange(port, request.as_bytes()).await
}

#[tokio::test]
async fn a_sign_in_started_on_another_host_does_not_return_there() {
    let stack = stack().start().await;
    let port = stack.proxy.port();
    // Anyone can start a login with a forged Host: the state then holds their URL.
    let started = get_as_host(port, "/x.txt", "evil.example.com").await;
    assert_eq!(started.status, 302);
    // The victim signs in at the SSO and completes it on the real host.
    let callback = authorize(started.header("location").unwrap()).await;
    let r = get_as_host(port, &callback, &format!("127.0.0.1:{port}")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("location"), None);
    assert_eq!(r.header("set-cookie"), None, "a session was created");
    assert_eq!(stack.sso.token_calls(), 0, "the code was exchanged");
    assert!(stack.redis.keys("*__sso_token*").await.is_empty());

    // The same origin in another case and with the default port written out is fine.
    let started = get_as_host(port, "/x.txt", &format!("LocalHost:{port}")).await;
    let callback = authorize(started.header("location").unwrap()).await;
    let r = get_as_host(port, &callback, &format!("localhost:{port}")).await;
    assert_eq!(r.status, 302, "{}", stack.proxy.logs());
    assert_eq!(
        r.header("location"),
        Some(&*format!("http://LocalHost:{port}/x.txt"))
    );
}

#[tokio::test]
async fn a_long_target_is_414_and_nothing_is_stored() {
    let stack = stack().start().await;
    let port = stack.proxy.port();
    let long = format!("GET /{} HTTP/1.1", "a".repeat(9000));
    let r = raw_get(port, &long, &[]).await;
    assert_eq!(r.status, 414);
    let long_query = format!("GET /a?{} HTTP/1.1", "q".repeat(9000));
    assert_eq!(raw_get(port, &long_query, &[]).await.status, 414);
    assert!(stack.redis.keys("*").await.is_empty(), "a state was stored");
    // Just under the limit is an ordinary anonymous request.
    let fits = format!("GET /a?{} HTTP/1.1", "q".repeat(8000));
    assert_eq!(raw_get(port, &fits, &[]).await.status, 302);
}

#[tokio::test]
async fn an_oversized_code_is_refused_before_the_sso_is_called() {
    let stack = stack().start().await;
    let port = stack.proxy.port();
    let started = raw_get(port, "GET /x.txt HTTP/1.1", &[]).await;
    let state = state_of(started.header("location").unwrap());
    let code = "c".repeat(1025);
    let target = format!("GET /__redirect_from_sso?code={code}&state={state} HTTP/1.1");
    let r = raw_get(port, &target, &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(stack.sso.token_calls(), 0);
    // The state is still good for the real code.
    let callback = authorize(started.header("location").unwrap()).await;
    assert_eq!(
        raw_get(port, &format!("GET {callback} HTTP/1.1"), &[])
            .await
            .status,
        302
    );
    assert_eq!(stack.sso.token_calls(), 1);
}

#[tokio::test]
async fn control_characters_in_a_key_are_400_before_any_login() {
    let stack = stack().start().await;
    let port = stack.proxy.port();
    for path in [
        "/a%00b",
        "/a%0Ab",
        "/a%0D%0Ab",
        "/%1F",
        "/x%7F.txt",
        "/d/%09/e",
    ] {
        let r = raw_get(port, &format!("GET {path} HTTP/1.1"), &[]).await;
        assert_eq!(r.status, 400, "{path}");
    }
    assert!(
        stack.redis.keys("*").await.is_empty(),
        "a login was started"
    );
}

#[tokio::test]
async fn asterisk_form_is_refused() {
    let stack = stack().start().await;
    let port = stack.proxy.port();
    assert_eq!(raw_get(port, "GET * HTTP/1.1", &[]).await.status, 400);
    assert_eq!(raw_get(port, "HEAD * HTTP/1.1", &[]).await.status, 400);
    let options = raw_get(port, "OPTIONS * HTTP/1.1", &[]).await;
    assert_eq!(options.status, 405);
    assert_eq!(options.header("allow"), Some("GET, HEAD"));
    assert!(stack.redis.keys("*").await.is_empty());
}

/// A body on GET is refused and the connection closed: whatever it held is never read
/// as a request, so the proxy cannot disagree with the balancer in front about where
/// one request ends (request smuggling).
#[tokio::test]
async fn a_get_or_head_with_a_body_is_400_and_the_connection_closes() {
    let stack = stack().start().await;
    stack.put_object("healthcheck.txt", b"OK");
    let port = stack.proxy.port();
    let smuggled = "GET /healthcheck.txt HTTP/1.1\r\nHost: x\r\n\r\n";
    let with_length = format!(
        "GET /healthcheck.txt HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{smuggled}",
        smuggled.len()
    );
    let chunked = format!(
        "HEAD /healthcheck.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{smuggled}\r\n0\r\n\r\n",
        smuggled.len()
    );
    for request in [with_length, chunked] {
        let bytes = raw_exchange_bytes(port, request.as_bytes()).await;
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("HTTP/1.1 400"), "{text}");
        assert_eq!(
            text.matches("HTTP/1.1 ").count(),
            1,
            "answered twice: {text}"
        );
    }
    // An explicit empty body is no body.
    let empty = "GET /healthcheck.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_exchange(port, empty.as_bytes()).await.status, 200);
}

#[tokio::test]
async fn objects_are_private_to_caches_unless_s3_says_otherwise() {
    let stack = stack().start().await;
    stack.put_object("healthcheck.txt", b"OK");
    stack.put_object("page.html", b"<p>hi</p>");
    let headers = StoredHeaders {
        cache_control: Some("no-cache".into()),
        ..StoredHeaders::default()
    };
    stack.put_object_with("told.txt", b"told", &headers);
    let port = stack.proxy.port();

    let health = raw_get(port, "GET /healthcheck.txt HTTP/1.1", &[]).await;
    assert_eq!(health.header("cache-control"), Some("private"));
    assert_eq!(health.header("content-security-policy"), None);

    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let mut conn = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let full = get_on(&mut conn, "/page.html", &[("Cookie", &cookie)]).await;
    assert_eq!(
        (full.status, full.header("cache-control")),
        (200, Some("private"))
    );
    let etag = full.header("etag").unwrap().to_string();
    let part = get_on(
        &mut conn,
        "/page.html",
        &[("Cookie", &cookie), ("Range", "bytes=0-1")],
    )
    .await;
    assert_eq!(
        (part.status, part.header("cache-control")),
        (206, Some("private"))
    );
    let same = get_on(
        &mut conn,
        "/page.html",
        &[("Cookie", &cookie), ("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(
        (same.status, same.header("cache-control")),
        (304, Some("private"))
    );
    let told = get_on(&mut conn, "/told.txt", &[("Cookie", &cookie)]).await;
    assert_eq!(
        (told.status, told.header("cache-control")),
        (200, Some("no-cache"))
    );
}

#[tokio::test]
async fn a_content_security_policy_goes_on_object_responses() {
    let stack = stack()
        .env("CONTENT_SECURITY_POLICY", "sandbox; default-src 'none'")
        .start()
        .await;
    stack.put_object("upload.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let mut conn = TcpStream::connect(("127.0.0.1", stack.proxy.port()))
        .await
        .unwrap();
    let csp = "sandbox; default-src 'none'";
    let full = get_on(&mut conn, "/upload.svg", &[("Cookie", &cookie)]).await;
    assert_eq!(
        (full.status, full.header("content-security-policy")),
        (200, Some(csp))
    );
    let part = get_on(
        &mut conn,
        "/upload.svg",
        &[("Cookie", &cookie), ("Range", "bytes=0-3")],
    )
    .await;
    assert_eq!(
        (part.status, part.header("content-security-policy")),
        (206, Some(csp))
    );
    let missing = get_on(&mut conn, "/nothing.svg", &[("Cookie", &cookie)]).await;
    assert_eq!(
        (missing.status, missing.header("content-security-policy")),
        (404, None)
    );
}

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
