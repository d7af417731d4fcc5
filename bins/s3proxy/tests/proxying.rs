//! SPEC §2 and §5: what the proxy logs of the objects it streams. The routes, keys and
//! streaming themselves are tested in process: `crates/http-frontend/tests/in_process`.

mod common;

use common::stack;
use test_kit::Browser;

#[tokio::test]
async fn a_wrong_aws_key_is_a_500_with_the_cause_in_the_log_only() {
    let stack = stack().start().await;
    stack.put_object("x.txt", b"x");
    let proxy = stack
        .spawn_proxy(&[("AWS_SECRET_ACCESS_KEY", Some("wrong-secret-value"))])
        .await;
    let browser = Browser::new();
    let page = browser.get(&proxy.url("/x.txt")).await;
    assert_eq!(page.status, 500);
    assert!(page.body.is_empty());
    let logs = proxy.logs_with("S3 request for").await;
    assert!(logs.contains("S3 request for \"x.txt\" failed"), "{logs}");
    assert!(!logs.contains("wrong-secret-value"));
}

#[tokio::test]
async fn every_request_is_logged_without_secrets() {
    let stack = stack().start().await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    let page = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200);
    let logs = stack.proxy.logs_with("GET /x.txt 200 1 bytes").await;
    assert!(logs.contains("GET /x.txt 302 0 bytes"), "{logs}");
    let served = logs
        .lines()
        .find(|l| l.contains("GET /x.txt 200 1 bytes"))
        .unwrap_or_else(|| panic!("no access line for the download:\n{logs}"));
    assert!(!served.contains("incomplete"), "{served}");
    assert!(logs.contains("GET /__redirect_from_sso 302"), "{logs}");
    let cookie = browser.cookies_for(&stack.proxy.url("/")).unwrap();
    let session_id = cookie.split('=').nth(1).unwrap();
    for secret in [
        "test-client-secret",
        "test-token",
        "test-code",
        session_id,
        "test-secret-key",
    ] {
        assert!(!logs.contains(secret), "{secret} in the log:\n{logs}");
    }
}
