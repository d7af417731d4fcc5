//! Temporary credentials from an ECS-style endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`
//! on loopback) that expire after seconds, with dev-s3 checking each session token and
//! refusing expired ones: the proxy refreshes them ahead of expiry, and a download that
//! outlives them still completes.

mod common;

use std::time::{Duration, Instant};

use common::{login, sign_in, stack};
use test_kit::{pattern, Browser, EcsCredentials, Proxy, Stack};

/// A second proxy on the stack that finds its credentials through the default chain.
async fn proxy_with_ecs_credentials(stack: &Stack, ecs: &EcsCredentials) -> Proxy {
    let uri = ecs.uri();
    stack
        .spawn_proxy(&[
            ("AWS_ACCESS_KEY_ID", None),
            ("AWS_SECRET_ACCESS_KEY", None),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", Some(&uri)),
            // Nothing may look for an instance role off this machine.
            ("AWS_EC2_METADATA_DISABLED", Some("true")),
        ])
        .await
}

#[tokio::test]
async fn downloads_before_and_after_a_refresh_succeed() {
    let stack = stack().start().await;
    stack.put_object("x.txt", b"x");
    let ecs = EcsCredentials::start(stack.s3.temporary_credentials(), Duration::from_secs(6)).await;
    let proxy = proxy_with_ecs_credentials(&stack, &ecs).await;
    let browser = sign_in(&proxy).await;
    let started = Instant::now();
    assert_eq!(ecs.issued(), 1);
    // With the first set, then (past three quarters of its life) still with it while a
    // refresh runs behind, then with the second.
    for at in [0, 5000, 6500, 8000] {
        let wait = Duration::from_millis(at).saturating_sub(started.elapsed());
        tokio::time::sleep(wait).await;
        let page = browser.get(&proxy.url("/x.txt")).await;
        assert_eq!(page.status, 200, "at {at} ms:\n{}", proxy.logs());
        assert_eq!(page.body, b"x");
    }
    assert!(ecs.issued() >= 2, "never refreshed");
    assert!(ecs.issued() <= 3, "asked too often: {}", ecs.issued());
}

#[tokio::test]
async fn a_download_longer_than_the_credentials_life_completes() {
    let stack = stack().start().await;
    let content = pattern(3 << 20);
    stack.put_object("long.bin", &content);
    let ecs = EcsCredentials::start(stack.s3.temporary_credentials(), Duration::from_secs(3)).await;
    let proxy = proxy_with_ecs_credentials(&stack, &ecs).await;
    let browser = sign_in(&proxy).await;
    stack.s3.set_throttle(Some(600 * 1024));
    let started = Instant::now();
    let page = browser.get(&proxy.url("/long.bin")).await;
    assert!(
        started.elapsed() > Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(page.status, 200);
    assert!(
        page.body == content,
        "body cut or corrupted: {} bytes",
        page.body.len()
    );
    // The credentials it was signed with have expired: the next request gets new ones.
    stack.s3.set_throttle(None);
    let again = browser.get(&proxy.url("/long.bin")).await;
    assert_eq!(again.status, 200, "{}", proxy.logs());
    assert!(ecs.issued() >= 2);
}

#[tokio::test]
async fn expired_or_missing_credentials_are_a_500_and_the_log_says_why() {
    let stack = stack().start().await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    login(&stack, &browser).await;
    // A credentials endpoint that is not there: the chain finds nothing.
    let nowhere = format!("http://127.0.0.1:{}/creds", test_kit::free_port());
    let proxy = stack
        .spawn_proxy(&[
            ("AWS_ACCESS_KEY_ID", None),
            ("AWS_SECRET_ACCESS_KEY", None),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", Some(&nowhere)),
            ("AWS_EC2_METADATA_DISABLED", Some("true")),
        ])
        .await;
    let cookie = browser.cookies_for(&stack.proxy.url("/")).unwrap();
    let r = test_kit::raw_get(proxy.port(), "GET /x.txt HTTP/1.1", &[("Cookie", &cookie)]).await;
    assert_eq!(r.status, 500);
    let logs = proxy.logs_with("no AWS credentials").await;
    assert!(logs.contains("no AWS credentials"), "{logs}");
    // The credential chain's own diagnostics (it logs through `tracing`) are in the
    // same log, saying which provider failed and how.
    assert!(
        logs.lines()
            .any(|l| l.contains("aws_config") && l.contains("EcsContainer")),
        "{logs}"
    );
}
