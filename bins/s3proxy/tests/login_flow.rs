//! SPEC §3 and §4: sign-ins as the configuration sets them up (a bucket with a path,
//! `VCAP_SERVICES`, `memory://`). The login flow and sessions themselves are tested in
//! process: `crates/http-frontend/tests/in_process`.

mod common;

use common::stack;
use test_kit::Browser;

#[tokio::test]
async fn bucket_with_a_path_is_a_prefix() {
    let stack = stack()
        .env("AWS_S3_BUCKET", "my-bucket/some/prefix/")
        .env("KEY_PREFIX", "k")
        .start()
        .await;
    stack.put_object("some/prefix/k/x.txt", b"deep");
    let page = Browser::new().get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200, "{}", stack.proxy.logs());
    assert_eq!(page.body, b"deep");
}

#[tokio::test]
async fn vcap_services_beats_redis_endpoint_end_to_end() {
    let dead_port = test_kit::free_port();
    let stack = stack().start().await;
    let vcap = format!(
        r#"{{"redis": [{{"credentials": {{"uri": "{}"}}}}]}}"#,
        stack.redis.url()
    );
    let dead = format!("redis://127.0.0.1:{dead_port}/0");
    let proxy = stack
        .spawn_proxy(&[
            ("VCAP_SERVICES", Some(&vcap)),
            ("REDIS_ENDPOINT", Some(&dead)),
        ])
        .await;
    stack.put_object("x.txt", b"x");
    let page = Browser::new().get(&proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200, "{}", proxy.logs());
    assert_eq!(
        stack
            .redis
            .keys("s3proxy__assets_session_id__*")
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn memory_store_serves_a_whole_login() {
    let stack = stack().env("REDIS_ENDPOINT", "memory://").start().await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    let page = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.redirects.len(), 3);
    assert!(stack.redis.keys("*").await.is_empty());
    assert!(stack
        .proxy
        .logs_with("memory://")
        .await
        .contains("memory://"));
}
