//! SPEC §3 and §4: the login flow and sessions. The tests of the key names and TTLs
//! shared with the Python service keep a real `redis-server`.

use http_frontend::SameSite;
use test_kit::{
    authorize, pattern, query_param, raw_exchange, raw_get, state_of, Browser, RawResponse,
};

use crate::common::{frontend, Frontend};

#[tokio::test]
async fn full_flow_serves_exact_bytes_after_three_redirects() {
    let stack = frontend().start().await;
    let content = pattern(100_000);
    stack.put_object("some/file.bin", &content);

    let browser = Browser::new();
    let page = browser.get(&stack.proxy.url("/some/file.bin")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.redirects.len(), 3, "{:?}", page.redirects);
    assert!(page.redirects[0].starts_with(&format!("{}o/authorize/?", stack.sso.url())));
    assert!(page.redirects[1].starts_with(&stack.proxy.url("/__redirect_from_sso?")));
    assert_eq!(page.redirects[2], stack.proxy.url("/some/file.bin"));
    assert_eq!(page.body, content);
    assert_eq!(page.header("content-length"), Some("100000"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));

    // The session now works without any redirect, and the SSO is not asked again.
    let again = browser.get(&stack.proxy.url("/some/file.bin")).await;
    assert_eq!(again.status, 200);
    assert!(again.redirects.is_empty());
    assert_eq!(again.body, content);
    assert_eq!(stack.sso.me_calls(), 0);
}

#[tokio::test]
async fn anonymous_root_is_sent_to_the_exact_authorize_url() {
    let stack = frontend().redis().start().await;
    let redis = stack.redis();
    let response = raw_get(stack.proxy.port(), "GET / HTTP/1.1", &[]).await;
    assert_eq!(response.status, 302);
    assert!(response.body.is_empty());
    let location = response.header("location").unwrap();
    let state = state_of(location);
    assert_eq!(state.len(), 64);
    assert!(state.bytes().all(|b| b.is_ascii_hexdigit()));
    // PKCE (on by default): the verifier is kept beside the state, with its TTL.
    let verifier = redis
        .get(&format!("s3proxy__sso_pkce__{state}"))
        .await
        .expect("a PKCE verifier beside the state");
    assert!((43..=128).contains(&verifier.len()), "{verifier}");
    let pkce_ttl = redis.ttl(&format!("s3proxy__sso_pkce__{state}")).await;
    assert!((55..=60).contains(&pkce_ttl), "PKCE TTL {pkce_ttl}");
    let expected = format!(
        "{}o/authorize/?scope=read%20write&state={state}&redirect_uri=http%3A%2F%2F127.0.0.1%3A{}%2F__redirect_from_sso&response_type=code&client_id=test-client-id&code_challenge={}&code_challenge_method=S256",
        stack.sso.url(),
        stack.proxy.port(),
        sso_client::s256_challenge(&verifier),
    );
    assert_eq!(location, expected);
    let saved = redis.get(&format!("s3proxy__sso_state__{state}")).await;
    assert_eq!(saved, Some(stack.proxy.url("/")));
    let ttl = redis.ttl(&format!("s3proxy__sso_state__{state}")).await;
    assert!((55..=60).contains(&ttl), "state TTL {ttl}");
}

/// PKCE off (`SSO_PKCE=false`): the authorize URL of the Python service, byte for byte,
/// and no verifier kept (for an SSO that refuses unknown parameters, or the switch-over
/// window).
#[tokio::test]
async fn without_pkce_the_authorize_url_is_the_python_services() {
    let stack = frontend()
        .settings(|s| s.pkce = false)
        .redis()
        .start()
        .await;
    let response = raw_get(stack.proxy.port(), "GET /x HTTP/1.1", &[]).await;
    let location = response.header("location").unwrap();
    let state = state_of(location);
    assert_eq!(
        location,
        format!(
            "{}o/authorize/?scope=read%20write&state={state}&redirect_uri=http%3A%2F%2F127.0.0.1%3A{}%2F__redirect_from_sso&response_type=code&client_id=test-client-id",
            stack.sso.url(),
            stack.proxy.port()
        )
    );
    assert_eq!(
        stack
            .redis()
            .get(&format!("s3proxy__sso_pkce__{state}"))
            .await,
        None
    );
    // And the whole sign-in works without it.
    stack.put_object("x", b"x");
    let page = Browser::new().get(&stack.proxy.url("/x")).await;
    assert_eq!(page.status, 200);
    assert_eq!(stack.sso.pkce_verified(), 0);
}

/// With PKCE, the SSO sees the verifier that matches the challenge it was sent; and a
/// sign-in a Python instance started (a state without a verifier) still completes.
#[tokio::test]
async fn pkce_sign_ins_prove_their_verifier_and_old_states_still_complete() {
    let stack = frontend()
        .sso(|c| c.require_pkce = true)
        .redis()
        .start()
        .await;
    stack.put_object("x", b"x");
    let page = Browser::new().get(&stack.proxy.url("/x")).await;
    assert_eq!(page.status, 200, "{:?}", page.redirects);
    assert_eq!(stack.sso.pkce_verified(), 1);

    stack.sso.update(|c| c.require_pkce = false);
    stack
        .redis()
        .set(
            "s3proxy__sso_state__from-python",
            &stack.proxy.url("/x"),
            60,
        )
        .await;
    let callback = stack
        .proxy
        .url("/__redirect_from_sso?code=test-code&state=from-python");
    let page = Browser::new().get(&callback).await;
    assert_eq!(page.status, 200, "{:?}", page.redirects);
    assert_eq!(page.body, b"x");
}

#[tokio::test]
async fn key_prefix_is_applied() {
    let stack = frontend()
        .s3(|s| s.key_prefix = "folder".into())
        .start()
        .await;
    stack.put_object("folder/a.txt", b"inside");
    stack.put_object("b.txt", b"outside the prefix");
    let browser = Browser::new();
    let page = browser.get(&stack.proxy.url("/a.txt")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body, b"inside");
    let outside = browser.get(&stack.proxy.url("/b.txt")).await;
    assert_eq!(outside.status, 404);
}

#[tokio::test]
async fn parallel_logins_in_one_cookie_jar_all_finish() {
    let stack = frontend().start().await;
    stack.put_object("one.txt", b"1");
    stack.put_object("two.txt", b"2");
    stack.put_object("three.txt", b"3");
    let browser = Browser::new();
    let urls = ["/one.txt", "/two.txt", "/three.txt"].map(|p| stack.proxy.url(p));
    let (a, b, c) = tokio::join!(
        browser.get(&urls[0]),
        browser.get(&urls[1]),
        browser.get(&urls[2]),
    );
    for (page, body) in [(a, b"1"), (b, b"2"), (c, b"3")] {
        assert_eq!(page.status, 200, "{:?}", page.redirects);
        assert_eq!(page.body, body);
    }
    assert_eq!(stack.sso.token_calls(), 3);
}

#[tokio::test]
async fn a_callback_url_can_be_reused_by_a_client_without_cookies() {
    let stack = frontend().start().await;
    stack.put_object("doc.txt", b"doc");
    let first = Browser::new().get(&stack.proxy.url("/doc.txt")).await;
    assert_eq!(first.status, 200);
    let callback = &first.redirects[1];

    let other = Browser::without_cookies();
    other.add_cookie("ignored=1", &stack.proxy.url("/"));
    let response = other.client().get(callback).send().await.unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        stack.proxy.url("/doc.txt")
    );
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let id = cookie.split(';').next().unwrap();
    let page = other
        .client()
        .get(stack.proxy.url("/doc.txt"))
        .header("cookie", id)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.bytes().await.unwrap().as_ref(), b"doc");
}

/// Completes a login started by `authorize` (an authorize URL) up to the callback's
/// answer, without following it. Extra headers go on the callback request.
async fn callback_response(
    stack: &Frontend,
    authorize: &str,
    headers: &[(&str, &str)],
) -> RawResponse {
    let to_callback = Browser::without_cookies()
        .client()
        .get(authorize)
        .send()
        .await
        .unwrap();
    assert_eq!(to_callback.status(), 302);
    let callback = to_callback.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let target = callback
        .split_once("/__redirect_from_sso")
        .map(|(_, rest)| format!("/__redirect_from_sso{rest}"))
        .unwrap();
    raw_get(
        stack.proxy.port(),
        &format!("GET {target} HTTP/1.1"),
        headers,
    )
    .await
}

#[tokio::test]
async fn the_final_location_keeps_a_bare_question_mark_only_if_sent() {
    let stack = frontend().start().await;
    for (target, expected) in [
        ("/file.txt?", "/file.txt?"),
        ("/file.txt", "/file.txt"),
        ("/file.txt?a=1&b=%20", "/file.txt?a=1&b=%20"),
    ] {
        let first = raw_get(stack.proxy.port(), &format!("GET {target} HTTP/1.1"), &[]).await;
        assert_eq!(first.status, 302);
        let done = callback_response(&stack, first.header("location").unwrap(), &[]).await;
        assert_eq!(done.status, 302);
        assert_eq!(
            done.header("location").unwrap(),
            stack.proxy.url(expected),
            "for {target}"
        );
    }
}

#[tokio::test]
async fn a_client_that_drops_the_cookie_is_sent_to_login_again() {
    let stack = frontend().start().await;
    stack.put_object("x.txt", b"x");
    let mut forgetful = Browser::without_cookies();
    forgetful.max_redirects = 3;
    let page = forgetful.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 302, "{:?}", page.redirects);
    assert!(page.header("location").unwrap().contains("o/authorize/"));
}

#[tokio::test]
async fn redis_flushed_after_login_means_a_transparent_new_login() {
    let stack = frontend().redis().start().await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    assert_eq!(browser.get(&stack.proxy.url("/x.txt")).await.status, 200);
    stack.redis().flushall().await;
    let page = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.redirects.len(), 3);
    assert_eq!(page.body, b"x");
}

#[tokio::test]
async fn redis_flushed_during_login_gives_the_try_again_page() {
    let stack = frontend().redis().start().await;
    let first = raw_get(stack.proxy.port(), "GET /x.txt HTTP/1.1", &[]).await;
    let authorize = first.header("location").unwrap().to_string();
    stack.redis().flushall().await;
    let done = callback_response(&stack, &authorize, &[]).await;
    assert_eq!(done.status, 403);
    assert!(done
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let text = String::from_utf8_lossy(&done.body);
    assert!(
        text.contains("Please try the original link again."),
        "{text}"
    );
    assert!(done.header("set-cookie").is_none());
}

#[tokio::test]
async fn behind_https_the_redirect_uri_and_cookie_are_https() {
    let stack = frontend().start().await;
    let https = [("X-Forwarded-Proto", "https")];
    let first = raw_get(stack.proxy.port(), "GET /x.txt HTTP/1.1", &https).await;
    let authorize = first.header("location").unwrap().to_string();
    let redirect_uri = query_param(&authorize, "redirect_uri").unwrap();
    assert_eq!(
        redirect_uri,
        format!(
            "https%3A%2F%2F127.0.0.1%3A{}%2F__redirect_from_sso",
            stack.proxy.port()
        )
    );
    let done = callback_response(&stack, &authorize, &https).await;
    assert_eq!(done.status, 302);
    assert_eq!(
        done.header("location").unwrap(),
        format!("https://127.0.0.1:{}/x.txt", stack.proxy.port())
    );
    let cookie = done.header("set-cookie").unwrap();
    for part in [
        "HttpOnly",
        "Path=/",
        "Max-Age=32400",
        "Expires=",
        "Secure",
        "SameSite=None",
    ] {
        assert!(cookie.contains(part), "{part} missing from {cookie}");
    }
}

#[tokio::test]
async fn on_plain_http_the_cookie_is_lax_and_not_secure() {
    let stack = frontend().start().await;
    let first = raw_get(stack.proxy.port(), "GET /x.txt HTTP/1.1", &[]).await;
    let done = callback_response(&stack, first.header("location").unwrap(), &[]).await;
    let cookie = done.header("set-cookie").unwrap();
    assert!(cookie.starts_with("assets_session_id="), "{cookie}");
    for part in [
        "; HttpOnly",
        "; Path=/",
        "; Max-Age=32400",
        "; Expires=",
        "; SameSite=Lax",
    ] {
        assert!(cookie.contains(part), "{part} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
}

/// `COOKIE_SAMESITE=strict`.
#[tokio::test]
async fn cookie_samesite_overrides_the_default() {
    let stack = frontend()
        .settings(|s| s.cookie_samesite = Some(SameSite::Strict))
        .start()
        .await;
    let first = raw_get(stack.proxy.port(), "GET /x.txt HTTP/1.1", &[]).await;
    let done = callback_response(&stack, first.header("location").unwrap(), &[]).await;
    assert!(done
        .header("set-cookie")
        .unwrap()
        .ends_with("; SameSite=Strict"));
}

#[tokio::test]
async fn a_session_id_sent_before_login_is_never_issued() {
    let stack = frontend().redis().start().await;
    stack.put_object("x.txt", b"x");
    let planted = "planted-session-id-chosen-by-an-attacker";
    let browser = Browser::new();
    browser.add_cookie(
        &format!("assets_session_id={planted}"),
        &stack.proxy.url("/"),
    );
    let page = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.set_cookies.len(), 1);
    assert!(!page.set_cookies[0].contains(planted));
    assert!(stack.redis().keys(&format!("*{planted}*")).await.is_empty());
    let id = page.set_cookies[0]
        .strip_prefix("assets_session_id=")
        .and_then(|c| c.split(';').next())
        .unwrap();
    assert_eq!(id.len(), 86);
    let token_key = format!("s3proxy__assets_session_id__{id}__sso_token");
    assert_key(&stack, &token_key, "test-token", 35990..=36000).await;
    let checked_key = format!("s3proxy__assets_session_id__{id}__sso_token_checked");
    assert_key(&stack, &checked_key, "checked", 3590..=3600).await;
}

/// `key` holds `value` and expires within `ttl` seconds.
async fn assert_key(stack: &Frontend, key: &str, value: &str, ttl: std::ops::RangeInclusive<i64>) {
    let redis = stack.redis();
    assert_eq!(redis.get(key).await.as_deref(), Some(value), "{key}");
    let left = redis.ttl(key).await;
    assert!(ttl.contains(&left), "{key}: TTL {left}");
}

#[tokio::test]
async fn a_session_written_by_the_python_service_is_accepted() {
    let stack = frontend().redis().start().await;
    let redis = stack.redis();
    stack.put_object("x.txt", b"x");
    // As the Python service left them: token and marker under its key names.
    let id = "pythonWroteThis_-123";
    redis
        .set(
            &format!("s3proxy__assets_session_id__{id}__sso_token"),
            "test-token",
            36000,
        )
        .await;
    redis
        .set(
            &format!("s3proxy__assets_session_id__{id}__sso_token_checked"),
            "checked",
            3600,
        )
        .await;
    let cookie = format!("assets_session_id={id}");
    let response = raw_get(
        stack.proxy.port(),
        "GET /x.txt HTTP/1.1",
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"x");
    assert_eq!(stack.sso.me_calls(), 0);

    // Without the marker the token is checked with the SSO once, then trusted again.
    let id2 = "pythonWroteThisToo";
    redis
        .set(
            &format!("s3proxy__assets_session_id__{id2}__sso_token"),
            "test-token",
            36000,
        )
        .await;
    let cookie = format!("assets_session_id={id2}");
    for _ in 0..2 {
        let response = raw_get(
            stack.proxy.port(),
            "GET /x.txt HTTP/1.1",
            &[("Cookie", &cookie)],
        )
        .await;
        assert_eq!(response.status, 200);
    }
    assert_eq!(stack.sso.me_calls(), 1);
    let marker = format!("s3proxy__assets_session_id__{id2}__sso_token_checked");
    assert_eq!(redis.get(&marker).await.as_deref(), Some("checked"));
}

/// The Python service's own suite signs in at `localhost:8080` and sends the callback
/// with `Host: localhost`: it must come back to the saved URL (its trailing `?` kept,
/// none added), as the Python service does. The host name and the scheme still count.
#[tokio::test]
async fn the_callback_compares_host_names_not_ports() {
    let stack = frontend().start().await;
    let port = stack.proxy.port();
    let exchange = |target: String, host: &'static str, proto: &'static str| async move {
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {host}\r\nX-Forwarded-Proto: {proto}\r\n\
             Connection: close\r\n\r\n"
        );
        raw_exchange(port, request.as_bytes()).await
    };
    for (target, host, expected) in [
        ("/x.txt?", "localhost", "http://localhost:8080/x.txt?"),
        ("/x.txt", "localhost", "http://localhost:8080/x.txt"),
        ("/x.txt", "LOCALHOST:9999", "http://localhost:8080/x.txt"),
    ] {
        let started = exchange(target.into(), "localhost:8080", "http").await;
        assert_eq!(started.status, 302);
        let callback = authorize(started.header("location").unwrap()).await;
        let done = exchange(callback, host, "http").await;
        assert_eq!(done.status, 302, "{target} then Host: {host}");
        assert_eq!(done.header("location"), Some(expected));
        assert!(done.header("set-cookie").is_some());
    }
    // Another host name, or another scheme, is another origin.
    for (host, proto) in [("127.0.0.1:8080", "http"), ("localhost:8080", "https")] {
        let started = exchange("/x.txt".into(), "localhost:8080", "http").await;
        let callback = authorize(started.header("location").unwrap()).await;
        let refused = exchange(callback, host, proto).await;
        assert_eq!(refused.status, 400, "Host: {host} over {proto}");
        assert_eq!(refused.header("set-cookie"), None);
    }
}
