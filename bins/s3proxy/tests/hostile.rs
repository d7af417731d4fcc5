//! Hostile input: never a leaked secret in the log. The malformed requests, cookies and
//! headers are tested in process: `crates/http-frontend/tests/in_process`.

mod common;

use common::stack;
use test_kit::Browser;

#[tokio::test]
async fn a_trace_log_of_a_whole_session_holds_no_secret() {
    let stack = stack()
        .env("RUST_LOG", "trace")
        .env("SSO_TOKEN_CHECK_GRACE_PERIOD", "1")
        .start()
        .await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    let page = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200);
    // Past the grace period, so the token check runs and is logged too.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(browser.get(&stack.proxy.url("/x.txt")).await.status, 200);
    assert_eq!(stack.sso.me_calls(), 1);
    let cookie = browser.cookies_for(&stack.proxy.url("/")).unwrap();
    let session_id = cookie.split('=').nth(1).unwrap().to_string();
    let logs = stack.proxy.logs_with("GET /x.txt 200").await;
    assert!(
        logs.contains(" TRACE ") || logs.contains(" DEBUG "),
        "verbose logging is not on:\n{logs}"
    );
    for (what, secret) in [
        ("client secret", "test-client-secret"),
        ("access token", "test-token"),
        ("authorization code", "test-code"),
        ("session id", session_id.as_str()),
        ("AWS secret key", test_kit::S3_SECRET_KEY),
    ] {
        assert!(!logs.contains(secret), "the {what} is in the log");
    }
}
