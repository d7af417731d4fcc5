//! Hardening of routes and headers: sign-ins return only to their own origin,
//! anonymous work is bounded, odd requests are refused before they cost anything, and
//! caches are kept private. ("Nothing stored" is read from the store's count of writes.)

use http_frontend::HeaderValue;
use test_kit::{
    authorize, get_on, raw_exchange, raw_exchange_bytes, raw_get, state_of, Browser, RawResponse,
    StoredHeaders,
};
use tokio::net::TcpStream;

use crate::common::{frontend, login};

/// A GET sent with the given `Host`.
async fn get_as_host(port: u16, target: &str, host: &str) -> RawResponse {
    let request = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    raw_exchange(port, request.as_bytes()).await
}

#[tokio::test]
async fn a_sign_in_started_on_another_host_does_not_return_there() {
    let stack = frontend().start().await;
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
    assert_eq!(stack.store.sessions_saved(), 0, "a session was stored");

    // The same origin in another case and with the default port written out is fine.
    let started = get_as_host(port, "/x.txt", &format!("LocalHost:{port}")).await;
    let callback = authorize(started.header("location").unwrap()).await;
    let r = get_as_host(port, &callback, &format!("localhost:{port}")).await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some(&*format!("http://LocalHost:{port}/x.txt"))
    );
}

#[tokio::test]
async fn a_long_target_is_414_and_nothing_is_stored() {
    let stack = frontend().start().await;
    let port = stack.proxy.port();
    let long = format!("GET /{} HTTP/1.1", "a".repeat(9000));
    let r = raw_get(port, &long, &[]).await;
    assert_eq!(r.status, 414);
    let long_query = format!("GET /a?{} HTTP/1.1", "q".repeat(9000));
    assert_eq!(raw_get(port, &long_query, &[]).await.status, 414);
    assert_eq!(stack.store.writes(), 0, "a state was stored");
    // Just under the limit is an ordinary anonymous request.
    let fits = format!("GET /a?{} HTTP/1.1", "q".repeat(8000));
    assert_eq!(raw_get(port, &fits, &[]).await.status, 302);
}

#[tokio::test]
async fn an_oversized_code_is_refused_before_the_sso_is_called() {
    let stack = frontend().start().await;
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
    let stack = frontend().start().await;
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
    assert_eq!(stack.store.writes(), 0, "a login was started");
}

#[tokio::test]
async fn asterisk_form_is_refused() {
    let stack = frontend().start().await;
    let port = stack.proxy.port();
    assert_eq!(raw_get(port, "GET * HTTP/1.1", &[]).await.status, 400);
    assert_eq!(raw_get(port, "HEAD * HTTP/1.1", &[]).await.status, 400);
    let options = raw_get(port, "OPTIONS * HTTP/1.1", &[]).await;
    assert_eq!(options.status, 405);
    assert_eq!(options.header("allow"), Some("GET, HEAD"));
    assert_eq!(stack.store.writes(), 0);
}

/// A body on GET is refused and the connection closed: whatever it held is never read
/// as a request, so the proxy cannot disagree with the balancer in front about where
/// one request ends (request smuggling).
#[tokio::test]
async fn a_get_or_head_with_a_body_is_400_and_the_connection_closes() {
    let stack = frontend().start().await;
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
    let stack = frontend().start().await;
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
    let stack = frontend()
        .settings(|s| {
            s.content_security_policy =
                Some(HeaderValue::from_static("sandbox; default-src 'none'"))
        })
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
