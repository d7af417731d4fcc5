//! Hostile input: a clear 4xx (or a sensible answer), never a panic, a hang, a header
//! injection or a leaked secret.

use test_kit::{raw_exchange, raw_get, Browser};

use crate::common::{frontend, login};

#[tokio::test]
async fn malformed_requests_get_a_4xx() {
    let stack = frontend().start().await;
    stack.put_object("healthcheck.txt", b"OK");
    let port = stack.proxy.port();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "non-UTF-8 path bytes",
            b"GET /\xff\xfe.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "CR in the path",
            b"GET /a\rb HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "LF injection in the path",
            b"GET /a\r\nLocation: http://evil/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                .to_vec(),
        ),
        (
            "CR/LF in Host",
            b"GET /a HTTP/1.1\r\nHost: x\rLocation: evil\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "space in the target",
            b"GET /a b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "garbage request line",
            b"\x00\x01\x02 nonsense\r\n\r\n".to_vec(),
        ),
        (
            "invalid percent-encoding",
            b"GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "percent-encoded invalid UTF-8",
            b"GET /%ff%fe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
    ];
    for (name, request) in cases {
        let r = raw_exchange(port, &request).await;
        assert!((400..500).contains(&r.status), "{name}: {}", r.status);
        assert!(
            r.header("location").is_none(),
            "{name}: a Location was sent"
        );
    }
    for host in [
        "evil.com/x",
        "a b",
        "<script>",
        "h\"x",
        "",
        &"h".repeat(1000),
    ] {
        let r = raw_get(port, "GET /x.txt HTTP/1.1", &[]).await;
        assert_eq!(r.status, 302, "sanity");
        let request = format!("GET /x.txt HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let r = raw_exchange(port, request.as_bytes()).await;
        assert_eq!(r.status, 400, "Host {host:?}");
        assert!(r.header("location").is_none());
    }
    let r = raw_get(port, "GET /healthcheck.txt HTTP/1.1", &[]).await;
    assert_eq!(r.status, 200, "still serving");
    stack.assert_no_panic();
}

#[tokio::test]
async fn garbage_cookies_and_headers_are_harmless() {
    let stack = frontend().start().await;
    stack.put_object("v.bin", b"0123456789");
    let port = stack.proxy.port();
    for cookie in [
        "assets_session_id=",
        "assets_session_id=../../etc",
        "assets_session_id=a;assets_session_id=b",
        "=;=;=;;;",
        "assets_session_id=\"\\x00\"",
        &format!("assets_session_id={}", "A".repeat(5000)),
    ] {
        let r = raw_get(port, "GET /v.bin HTTP/1.1", &[("Cookie", cookie)]).await;
        // Not a session: the client is simply asked to sign in.
        assert_eq!(r.status, 302, "{cookie}");
        assert!(r.header("location").unwrap().contains("/o/authorize/?"));
    }
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    for (name, value) in [
        ("Range", "bytes=abc"),
        ("Range", "bytes=99999999999999999999999999-"),
        ("Range", "bytes=0-1,2-3"),
        ("If-Modified-Since", "not a date"),
        ("If-Unmodified-Since", "yesterday"),
    ] {
        let r = raw_get(
            port,
            "GET /v.bin HTTP/1.1",
            &[("Cookie", &cookie), (name, value)],
        )
        .await;
        assert_eq!(r.status, 200, "{name}: {value}");
        assert_eq!(r.body, b"0123456789");
    }
    stack.assert_no_panic();
}
