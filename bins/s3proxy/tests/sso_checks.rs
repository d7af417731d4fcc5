//! SPEC §3: what the SSO says, and what happens when it fails.

mod common;

use std::time::Duration;

use common::stack;
use test_kit::{raw_get, state_of, Browser};

#[tokio::test]
async fn me_answering_500_after_the_grace_period_gives_500() {
    let stack = stack()
        .env("SSO_TOKEN_CHECK_GRACE_PERIOD", "1")
        .start()
        .await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    assert_eq!(browser.get(&stack.proxy.url("/x.txt")).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    stack.sso.update(|c| c.me_status = 500);
    let page = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 500);
    assert!(page.body.is_empty());
    assert!(page.redirects.is_empty());
    assert_eq!(stack.sso.me_calls(), 1);
}

#[tokio::test]
async fn sso_down_after_login_serves_within_the_grace_period_only() {
    let mut stack = stack()
        .env("SSO_TOKEN_CHECK_GRACE_PERIOD", "2")
        .start()
        .await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    assert_eq!(browser.get(&stack.proxy.url("/x.txt")).await.status, 200);
    stack.sso.stop().await;
    let page = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200, "served within the grace period");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let page = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 500, "SSO down once the grace period is over");
    assert!(stack
        .proxy
        .logs_with("SSO token check failed")
        .await
        .contains("SSO token check failed"));
}

#[tokio::test]
async fn a_wrong_code_is_refused() {
    let stack = stack().sso(|c| c.reject_status = 403).start().await;
    let first = raw_get(stack.proxy.port(), "GET /x.txt HTTP/1.1", &[]).await;
    let state = state_of(first.header("location").unwrap());
    let callback = format!("GET /__redirect_from_sso?code=not-the-code&state={state} HTTP/1.1");
    let response = raw_get(stack.proxy.port(), &callback, &[]).await;
    assert_eq!(response.status, 403);
    assert!(response.body.is_empty());
    assert!(response.header("set-cookie").is_none());
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_with_the_ssos_status() {
    for status in [403u16, 401] {
        let stack = stack()
            .env("SSO_CLIENT_SECRET", "not-the-secret")
            .sso(|c| c.reject_status = status)
            .start()
            .await;
        let page = Browser::new().get(&stack.proxy.url("/x.txt")).await;
        assert_eq!(page.status.as_u16(), status);
        assert_eq!(page.redirects.len(), 2, "no loop: {:?}", page.redirects);
        let logs = stack.proxy.logs_with("SSO refused").await;
        assert!(logs.contains("SSO refused"), "{logs}");
        assert!(!logs.contains("not-the-secret"));
    }
}

#[tokio::test]
async fn a_token_the_sso_stops_accepting_means_login_again() {
    let stack = stack()
        .env("SSO_TOKEN_CHECK_GRACE_PERIOD", "1")
        .sso(|c| {
            c.tokens = vec!["first-token".into(), "second-token".into()];
            c.me_accepted_tokens = Some(vec!["second-token".into()]);
        })
        .start()
        .await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    let first = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(first.status, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let second = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(second.status, 200);
    assert_eq!(first.redirects.len() + second.redirects.len(), 6);
    assert_eq!(stack.sso.token_calls(), 2);
    assert_eq!(stack.sso.me_calls(), 1);
    // The new token was marked checked at login: no further /me call.
    assert_eq!(browser.get(&stack.proxy.url("/x.txt")).await.status, 200);
    assert_eq!(stack.sso.me_calls(), 1);
}

#[tokio::test]
async fn a_token_endpoint_error_is_a_500_without_a_redirect_loop() {
    let stack = stack().sso(|c| c.token_status = Some(500)).start().await;
    let page = Browser::new().get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 500);
    assert!(page.body.is_empty());
    assert_eq!(page.redirects.len(), 2);
    assert_eq!(stack.sso.token_calls(), 1);
}

#[tokio::test]
async fn the_ssos_login_page_is_shown_to_the_user() {
    let stack = stack().sso(|c| c.login_page = true).start().await;
    let page = Browser::new().get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.redirects.len(), 1);
    assert!(page.text().contains("Sign in as"), "{}", page.text());
}

#[tokio::test]
async fn a_hung_sso_is_a_500_within_the_sso_timeout() {
    let stack = stack().env("SSO_TIMEOUT", "1").start().await;
    let first = raw_get(stack.proxy.port(), "GET /x.txt HTTP/1.1", &[]).await;
    let state = state_of(first.header("location").unwrap());
    stack.sso.update(|c| c.hang = true);
    let started = std::time::Instant::now();
    let callback = format!("GET /__redirect_from_sso?code=test-code&state={state} HTTP/1.1");
    let response = raw_get(stack.proxy.port(), &callback, &[]).await;
    assert_eq!(response.status, 500);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}
