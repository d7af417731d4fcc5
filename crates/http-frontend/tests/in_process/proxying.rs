//! SPEC §2 and §5: routes, keys and streaming objects.

use test_kit::{pattern, raw_get, Browser, RawResponse};

use crate::common::{frontend, login, Frontend};

async fn get_with_session(
    stack: &Frontend,
    cookie: &str,
    target: &str,
    extra: &[(&str, &str)],
) -> RawResponse {
    let mut headers = vec![("Cookie", cookie)];
    headers.extend_from_slice(extra);
    raw_get(
        stack.proxy.port(),
        &format!("GET {target} HTTP/1.1"),
        &headers,
    )
    .await
}

#[tokio::test]
async fn ranges_are_served_with_the_right_content_range() {
    let stack = frontend().start().await;
    let content = pattern(1000);
    stack.put_object("v.bin", &content);
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;

    for (range, expected_range, expected_body) in [
        ("bytes=0-", "bytes 0-999/1000", &content[..]),
        ("bytes=1-", "bytes 1-999/1000", &content[1..]),
        ("bytes=-100", "bytes 900-999/1000", &content[900..]),
        ("bytes=10-19", "bytes 10-19/1000", &content[10..20]),
    ] {
        let r = get_with_session(&stack, &cookie, "/v.bin", &[("Range", range)]).await;
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.header("content-range"), Some(expected_range), "{range}");
        assert_eq!(
            r.header("content-length"),
            Some(&*expected_body.len().to_string())
        );
        assert_eq!(r.body, expected_body, "{range}");
    }

    let r = get_with_session(&stack, &cookie, "/v.bin", &[("Range", "bytes=5000-")]).await;
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */1000"));
    assert!(r.body.is_empty());

    // An unusable Range is ignored: the whole object.
    let r = get_with_session(&stack, &cookie, "/v.bin", &[("Range", "bytes=abc")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, content);
}

#[tokio::test]
async fn metadata_headers_pass_through_and_conditionals_work() {
    let stack = frontend().start().await;
    stack.put_object("page.html", b"<p>hi</p>");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;

    let r = get_with_session(&stack, &cookie, "/page.html", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let etag = r.header("etag").expect("etag").to_string();
    let last_modified = r
        .header("last-modified")
        .expect("last-modified")
        .to_string();
    assert!(httpdate_like(&last_modified), "{last_modified}");

    let r = get_with_session(&stack, &cookie, "/page.html", &[("If-None-Match", &etag)]).await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(&*etag));

    let r = get_with_session(
        &stack,
        &cookie,
        "/page.html",
        &[("If-Modified-Since", &last_modified)],
    )
    .await;
    assert_eq!(r.status, 304);

    let r = get_with_session(&stack, &cookie, "/page.html", &[("If-Match", "\"nope\"")]).await;
    assert_eq!(r.status, 412);

    let r = get_with_session(
        &stack,
        &cookie,
        "/page.html",
        &[("If-None-Match", "\"other\"")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"<p>hi</p>");
}

fn httpdate_like(s: &str) -> bool {
    s.ends_with(" GMT") && s.len() == 29
}

#[tokio::test]
async fn head_gives_the_headers_without_a_body() {
    let stack = frontend().start().await;
    stack.put_object("h.txt", &pattern(1234));
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let r = raw_get(
        stack.proxy.port(),
        "HEAD /h.txt HTTP/1.1",
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("1234"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert!(r.header("etag").is_some());
    assert!(r.body.is_empty());
    let missing = raw_get(
        stack.proxy.port(),
        "HEAD /nope.txt HTTP/1.1",
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn missing_keys_are_404() {
    let stack = frontend().start().await;
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let r = get_with_session(&stack, &cookie, "/no/such/key.txt", &[]).await;
    assert_eq!(r.status, 404);
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn the_callback_needs_a_known_state_and_a_code() {
    let stack = frontend().start().await;
    let port = stack.proxy.port();
    let unknown = raw_get(
        port,
        "GET /__redirect_from_sso?code=c&state=0123 HTTP/1.1",
        &[],
    )
    .await;
    assert_eq!(unknown.status, 403);
    assert!(String::from_utf8_lossy(&unknown.body).contains("Please try the original link again."));
    for target in [
        "/__redirect_from_sso?code=c",
        "/__redirect_from_sso?state=s",
        "/__redirect_from_sso",
        "/__redirect_from_sso?",
    ] {
        let r = raw_get(port, &format!("GET {target} HTTP/1.1"), &[]).await;
        assert_eq!(r.status, 400, "{target}");
        assert!(r.body.is_empty());
    }
}

#[tokio::test]
async fn the_healthcheck_needs_no_login() {
    let stack = frontend().start().await;
    let port = stack.proxy.port();
    let r = raw_get(port, "GET /healthcheck.txt HTTP/1.1", &[]).await;
    assert_eq!(r.status, 404);
    stack.put_object("healthcheck.txt", b"OK");
    for target in [
        "/healthcheck.txt",
        "/healthcheck.txt?x=1",
        "/%68ealthcheck.txt",
    ] {
        let r = raw_get(port, &format!("GET {target} HTTP/1.1"), &[]).await;
        assert_eq!(r.status, 200, "{target}");
        assert_eq!(r.body, b"OK");
    }
    let head = raw_get(port, "HEAD /healthcheck.txt HTTP/1.1", &[]).await;
    assert_eq!(head.status, 200);
    // Nothing near it skips the login.
    for target in [
        "/healthcheck.txt/",
        "/healthcheck.txtx",
        "/x/healthcheck.txt",
        "/HEALTHCHECK.txt",
    ] {
        let r = raw_get(port, &format!("GET {target} HTTP/1.1"), &[]).await;
        assert_eq!(r.status, 302, "{target}");
    }
}

#[tokio::test]
async fn keys_with_spaces_plus_and_non_ascii_are_decoded() {
    let stack = frontend().start().await;
    stack.put_object("a b+cé.txt", b"decoded");
    stack.put_object("a+b.txt", b"plus");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let r = get_with_session(&stack, &cookie, "/a%20b%2Bc%C3%A9.txt", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"decoded");
    let r = get_with_session(&stack, &cookie, "/a+b.txt", &[]).await;
    assert_eq!(r.body, b"plus");
    let r = get_with_session(&stack, &cookie, "/%C3%28", &[]).await;
    assert_eq!(r.status, 400, "invalid UTF-8");
    let r = get_with_session(&stack, &cookie, "/%zz", &[]).await;
    assert_eq!(r.status, 400, "invalid percent-encoding");
}

#[tokio::test]
async fn dot_segments_are_404_without_reaching_s3() {
    let stack = frontend()
        .s3(|s| s.key_prefix = "inside".into())
        .start()
        .await;
    stack.put_object("secret.txt", b"outside the prefix");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let before = stack.s3.request_count();
    for target in [
        "/../secret.txt",
        "/a/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/.%2e/secret.txt",
        "/./secret.txt",
        "/a/%2e/b",
        "//secret.txt",
        "/",
    ] {
        let r = get_with_session(&stack, &cookie, target, &[]).await;
        assert_eq!(r.status, 404, "{target}");
        assert!(r.body.is_empty());
    }
    assert_eq!(stack.s3.request_count(), before, "S3 was asked");
}

#[tokio::test]
async fn other_methods_are_405_and_change_nothing() {
    let stack = frontend().start().await;
    let path = stack.put_object("keep.txt", b"original");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let before = stack.s3.request_count();
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let request = format!(
            "{method} /keep.txt HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Length: 8\r\nConnection: close\r\n\r\nreplaced"
        );
        let r = test_kit::raw_exchange(stack.proxy.port(), request.as_bytes()).await;
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"original");
    assert_eq!(stack.s3.request_count(), before);
}

#[tokio::test]
async fn the_callback_key_is_never_served() {
    let stack = frontend().start().await;
    stack.put_object("__redirect_from_sso", b"must not be served");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    for target in ["/__redirect_from_sso", "/%5F%5Fredirect_from_sso"] {
        let r = get_with_session(&stack, &cookie, target, &[]).await;
        assert_eq!(r.status, 400, "{target}");
        assert!(r.body.is_empty());
    }
}

#[tokio::test]
async fn two_large_downloads_on_one_client_interleave() {
    let stack = frontend().start().await;
    let a = pattern(8 << 20);
    let b: Vec<u8> = a.iter().rev().copied().collect();
    stack.put_object("a.bin", &a);
    stack.put_object("b.bin", &b);
    let browser = Browser::new();
    login(&stack, &browser).await;
    let client = browser.client();

    let mut first = client.get(stack.proxy.url("/a.bin")).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let mut got_a = first.chunk().await.unwrap().unwrap().to_vec();
    // While the first download is paused part way, the second runs to the end.
    let second = client.get(stack.proxy.url("/b.bin")).send().await.unwrap();
    assert_eq!(second.status(), 200);
    assert_eq!(second.bytes().await.unwrap().as_ref(), &b[..]);
    assert!(got_a.len() < a.len());
    while let Some(chunk) = first.chunk().await.unwrap() {
        got_a.extend_from_slice(&chunk);
    }
    assert_eq!(got_a, a);
}

/// S3 ignores `If-Range`; the proxy holds it to S3's answer, so a resumed download of a
/// replaced object gets the whole new object (200) instead of a splice of two versions.
#[tokio::test]
async fn if_range_resumes_only_the_same_object() {
    let stack = frontend().start().await;
    let path = stack.put_object("v.bin", b"0123456789");
    // Dated ten seconds back, so that the replacement below has a later `Last-Modified`
    // (whole seconds) without waiting for the clock.
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(10))
        .unwrap();
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let get = |headers: Vec<(&'static str, String)>| {
        let cookie = cookie.clone();
        let port = stack.proxy.port();
        async move {
            let mut all: Vec<(&str, &str)> = vec![("Cookie", &cookie)];
            all.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
            raw_get(port, "GET /v.bin HTTP/1.1", &all).await
        }
    };
    let first = get(vec![]).await;
    let etag = first.header("etag").unwrap().to_string();
    let last_modified = first.header("last-modified").unwrap().to_string();
    let range = ("Range", "bytes=5-".to_string());

    // Unchanged: the range is served, by tag and by date.
    let r = get(vec![range.clone(), ("If-Range", etag.clone())]).await;
    assert_eq!((r.status, r.body.as_slice()), (206, &b"56789"[..]));
    let r = get(vec![range.clone(), ("If-Range", last_modified.clone())]).await;
    assert_eq!((r.status, r.body.as_slice()), (206, &b"56789"[..]));
    // A weak tag can never validate a range: everything.
    let weak = format!("W/{etag}");
    let r = get(vec![range.clone(), ("If-Range", weak)]).await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"0123456789"[..]));
    // If-Range without Range means nothing.
    let r = get(vec![("If-Range", "\"other\"".to_string())]).await;
    assert_eq!(r.status, 200);

    // Replaced since: the whole new object, 200.
    stack.put_object("v.bin", b"ABCDEFGHIJKLMNOP");
    let r = get(vec![range.clone(), ("If-Range", etag)]).await;
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"ABCDEFGHIJKLMNOP"[..])
    );
    assert_eq!(r.header("content-range"), None);
    let old_date = "Sun, 06 Nov 1994 08:49:37 GMT".to_string();
    let r = get(vec![range, ("If-Range", old_date)]).await;
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"ABCDEFGHIJKLMNOP"[..])
    );
    // The client's own failed precondition is still a 412.
    let r = get(vec![("If-Match", "\"nope\"".to_string())]).await;
    assert_eq!(r.status, 412);
}

/// Found in review (issue 15), RFC 9110 §13.1.5: an `If-Range` date must be exactly the
/// object's `Last-Modified` (sent as `If-Unmodified-Since`, a later date passed too), and
/// an `If-Range` tag must not cost the client its own `If-Unmodified-Since` (sent as
/// `If-Match`, S3 then ignored it). The validator is compared with the 206's own.
#[tokio::test]
async fn if_range_is_exact_and_keeps_the_clients_own_preconditions() {
    let stack = frontend().start().await;
    let path = stack.put_object("v.bin", b"0123456789");
    let modified = std::time::SystemTime::now() - std::time::Duration::from_secs(30);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let cookie = login(&stack, &Browser::new()).await;
    let get = |headers: Vec<(&'static str, String)>| {
        let cookie = cookie.clone();
        let port = stack.proxy.port();
        async move {
            let mut all: Vec<(&str, &str)> = vec![("Cookie", &cookie)];
            all.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
            raw_get(port, "GET /v.bin HTTP/1.1", &all).await
        }
    };
    let first = get(vec![]).await;
    let etag = first.header("etag").unwrap().to_string();
    let last_modified = first.header("last-modified").unwrap().to_string();
    let at = httpdate::parse_http_date(&last_modified).unwrap();
    let date = |offset: i64| {
        let shifted = if offset >= 0 {
            at + std::time::Duration::from_secs(offset as u64)
        } else {
            at - std::time::Duration::from_secs(offset.unsigned_abs())
        };
        httpdate::fmt_http_date(shifted)
    };
    let range = ("Range", "bytes=5-".to_string());
    let whole = (200, &b"0123456789"[..]);
    let part = (206, &b"56789"[..]);

    // The date form: exactly `Last-Modified`, or the whole object.
    let r = get(vec![range.clone(), ("If-Range", last_modified.clone())]).await;
    assert_eq!((r.status, r.body.as_slice()), part);
    for later in [1, 20] {
        let r = get(vec![range.clone(), ("If-Range", date(later))]).await;
        assert_eq!(
            (r.status, r.body.as_slice()),
            whole,
            "If-Range {later} s later"
        );
        assert_eq!(r.header("content-range"), None);
    }

    // The tag form with the client's own If-Unmodified-Since: that one still decides.
    let r = get(vec![
        range.clone(),
        ("If-Range", etag.clone()),
        ("If-Unmodified-Since", date(-10)),
    ])
    .await;
    assert_eq!(r.status, 412, "If-Unmodified-Since lost to If-Range");
    let r = get(vec![
        range.clone(),
        ("If-Range", etag.clone()),
        ("If-Unmodified-Since", date(10)),
    ])
    .await;
    assert_eq!((r.status, r.body.as_slice()), part);
    let r = get(vec![
        range.clone(),
        ("If-Range", "\"another\"".to_string()),
        ("If-Unmodified-Since", date(10)),
    ])
    .await;
    assert_eq!((r.status, r.body.as_slice()), whole);
    // And with the client's own If-Match, which used to drop the range.
    let r = get(vec![
        range.clone(),
        ("If-Range", etag.clone()),
        ("If-Match", etag.clone()),
    ])
    .await;
    assert_eq!((r.status, r.body.as_slice()), part);

    // A range past the end: 416 for the same object, the whole object for another.
    let past = ("Range", "bytes=100-".to_string());
    let r = get(vec![past.clone(), ("If-Range", etag.clone())]).await;
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */10"));
    let r = get(vec![past, ("If-Range", date(20))]).await;
    assert_eq!((r.status, r.body.as_slice()), whole);
}
