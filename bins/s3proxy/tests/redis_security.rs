//! Redis with a password and with TLS (ElastiCache's AUTH and in-transit encryption),
//! against real redis-server processes; the CA is made at test time.

mod common;

use std::sync::Arc;

use common::stack;
use test_kit::{raw_get, Browser, RedisOptions, TestCa};

#[tokio::test]
async fn a_password_protected_redis_works_and_a_wrong_password_is_503() {
    let password = "s3cr3t-redis-pass";
    let stack = stack()
        .redis(RedisOptions {
            password: Some(password.into()),
            tls: None,
            ..RedisOptions::default()
        })
        .start()
        .await;
    stack.put_object("x.txt", b"x");
    let page = Browser::new().get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200, "{}", stack.proxy.logs());

    let wrong_url = stack.redis.url().replace(password, "wrong-password-given");
    let wrong = stack
        .spawn_proxy(&[("REDIS_ENDPOINT", Some(&wrong_url))])
        .await;
    assert_eq!(
        raw_get(wrong.port(), "GET /x.txt HTTP/1.1", &[])
            .await
            .status,
        503
    );
    let logs = wrong.logs_with("could not save login state").await;
    assert!(logs.contains("could not save login state"), "{logs}");
    for secret in [password, "wrong-password-given"] {
        assert!(
            !logs.contains(secret),
            "a Redis password in the log:\n{logs}"
        );
        assert!(!stack.proxy.logs().contains(secret));
    }
}

#[tokio::test]
async fn rediss_is_verified_against_ssl_cert_file_added_to_the_system_roots() {
    let ca = Arc::new(TestCa::new());
    let stack = stack()
        .redis(RedisOptions {
            password: Some("tls-pass".into()),
            tls: Some(ca.clone()),
            ..RedisOptions::default()
        })
        .env("SSL_CERT_FILE", ca.ca_file().to_str().unwrap())
        .start()
        .await;
    assert!(stack.redis.url().starts_with("rediss://"));
    stack.put_object("x.txt", b"x");
    let page = Browser::new().get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(page.status, 200, "{}", stack.proxy.logs());
    assert!(!stack
        .redis
        .keys("s3proxy__assets_session_id__*")
        .await
        .is_empty());

    // Without the test CA the server's certificate is not trusted: an outage, 503.
    let untrusting = stack.spawn_proxy(&[("SSL_CERT_FILE", None)]).await;
    assert_eq!(
        raw_get(untrusting.port(), "GET /x.txt HTTP/1.1", &[])
            .await
            .status,
        503
    );
    // Through VCAP_SERVICES too, as on Cloud Foundry.
    let vcap = format!(
        r#"{{"redis":[{{"credentials":{{"uri":"{}"}}}}]}}"#,
        stack.redis.url()
    );
    let bound = stack
        .spawn_proxy(&[("REDIS_ENDPOINT", None), ("VCAP_SERVICES", Some(&vcap))])
        .await;
    assert_eq!(
        raw_get(bound.port(), "GET /x.txt HTTP/1.1", &[])
            .await
            .status,
        302
    );
    assert!(!untrusting.logs().contains("tls-pass"));
}
