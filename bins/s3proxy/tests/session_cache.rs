//! The session cache through the real binary: signed-in requests served without Redis
//! round trips, and never against what Redis says — changes made by another client, by
//! another instance, flushes included.

mod common;

use common::{login, stack};
use session_store::{checked_key, profile_key, token_key};
use test_kit::{get_on, Browser, RedisOptions, Stack};
use tokio::net::TcpStream;

/// The session id in a `Cookie` header value.
fn session_of(cookie: &str) -> String {
    cookie
        .split("; ")
        .find_map(|c| c.strip_prefix("assets_session_id="))
        .expect("a session cookie")
        .to_string()
}

async fn query(conn: &mut redis::aio::MultiplexedConnection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    let _: redis::Value = cmd
        .query_async(conn)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

async fn signed_in_stack() -> (Stack, u16, String, String) {
    let metrics_port = test_kit::free_port();
    let stack = stack()
        .env("METRICS_PORT", &metrics_port.to_string())
        .start()
        .await;
    stack.put_object("x.txt", b"x");
    let cookie = login(&stack, &Browser::new()).await;
    let id = session_of(&cookie);
    let token = stack
        .redis
        .get(&token_key(&id))
        .await
        .expect("the session's token");
    (stack, metrics_port, cookie, token)
}

/// The issue's loop, through HTTP: 1,000 rounds of a change made by another Redis client
/// (`DEL`, `EXPIRE`, `UNLINK`, `FLUSHALL`), each followed by a request, which must be
/// sent to sign in again. The session is put back between rounds and read from the cache
/// first, so every round starts from a cached session.
///
/// Key changes are followed by the request at once: Redis writes their (broadcast)
/// invalidation before it acknowledges the change. A flush's invalidation is written
/// right *after* its acknowledgement, in the same pass of Redis's event loop, so after a
/// `FLUSHALL` the other client sends a `PING` first: its answer comes from a later pass,
/// when the invalidation has reached the instance (see docs/operations.md).
#[tokio::test]
async fn a_change_in_redis_is_answered_by_the_next_request() {
    let (stack, metrics_port, cookie, token) = signed_in_stack().await;
    let id = session_of(&cookie);
    let (token_key, checked_key) = (token_key(&id), checked_key(&id));
    let mut other = stack.redis.connection().await;
    let mut client = TcpStream::connect(("127.0.0.1", stack.proxy.port()))
        .await
        .unwrap();
    let headers = [("Cookie", cookie.as_str())];
    let hits_before = common::metric(
        metrics_port,
        "s3proxy_session_cache_lookups_total{result=\"hit\"}",
    )
    .await;

    let mut stale = Vec::new();
    for round in 0..1000 {
        query(&mut other, &["SET", &token_key, &token, "EX", "36000"]).await;
        query(&mut other, &["SET", &checked_key, "checked", "EX", "3600"]).await;
        for _ in 0..2 {
            let page = get_on(&mut client, "/x.txt", &headers).await;
            assert_eq!(page.status, 200, "round {round}: {}", stack.proxy.logs());
        }
        let change: &[&str] = match round % 4 {
            0 => &["DEL", &token_key],
            1 => &["EXPIRE", &token_key, "0"],
            2 => &["FLUSHALL"],
            _ => &["UNLINK", &token_key, &checked_key],
        };
        query(&mut other, change).await;
        if change[0] == "FLUSHALL" {
            query(&mut other, &["PING"]).await;
        }
        let page = get_on(&mut client, "/x.txt", &headers).await;
        if page.status != 302 {
            stale.push((round, change[0], page.status));
        }
    }
    assert!(stale.is_empty(), "{} stale answers: {stale:?}", stale.len());
    let hits = common::metric(
        metrics_port,
        "s3proxy_session_cache_lookups_total{result=\"hit\"}",
    )
    .await;
    assert!(
        hits - hits_before >= 900,
        "the cache served {} of the 1,000 second requests",
        hits - hits_before
    );
}

/// The Python service's flush test: Redis flushed, the next request signs in again.
#[tokio::test]
async fn a_flushed_redis_signs_everyone_in_again() {
    let (stack, _, cookie, _) = signed_in_stack().await;
    let mut client = TcpStream::connect(("127.0.0.1", stack.proxy.port()))
        .await
        .unwrap();
    let headers = [("Cookie", cookie.as_str())];
    for _ in 0..3 {
        assert_eq!(get_on(&mut client, "/x.txt", &headers).await.status, 200);
    }
    stack.redis.flushall().await;
    let page = get_on(&mut client, "/x.txt", &headers).await;
    assert_eq!(page.status, 302);
}

/// Two instances on one Redis: each caches the session, a change made elsewhere reaches
/// both, and a token check recorded by one is seen by the other (which does not ask the
/// SSO again).
#[tokio::test]
async fn two_instances_see_changes_at_once() {
    let (stack, _, cookie, token) = signed_in_stack().await;
    let second = stack.spawn_proxy(&[("METRICS_PORT", None)]).await;
    let id = session_of(&cookie);
    let headers = [("Cookie", cookie.as_str())];
    let mut a = TcpStream::connect(("127.0.0.1", stack.proxy.port()))
        .await
        .unwrap();
    let mut b = TcpStream::connect(("127.0.0.1", second.port()))
        .await
        .unwrap();
    let mut other = stack.redis.connection().await;
    for _ in 0..2 {
        assert_eq!(get_on(&mut a, "/x.txt", &headers).await.status, 200);
        assert_eq!(get_on(&mut b, "/x.txt", &headers).await.status, 200);
    }

    // The grace period ends (the marker goes): the first instance asks the SSO and
    // records the answer; the second reads that record instead of asking again.
    let checks = stack.sso.me_calls();
    query(&mut other, &["DEL", &checked_key(&id)]).await;
    assert_eq!(get_on(&mut a, "/x.txt", &headers).await.status, 200);
    assert_eq!(stack.sso.me_calls(), checks + 1);
    for _ in 0..3 {
        assert_eq!(get_on(&mut b, "/x.txt", &headers).await.status, 200);
        assert_eq!(get_on(&mut a, "/x.txt", &headers).await.status, 200);
    }
    assert_eq!(stack.sso.me_calls(), checks + 1, "{}", second.logs());

    // Signed out elsewhere: neither instance lets the cookie in.
    query(&mut other, &["DEL", &token_key(&id)]).await;
    assert_eq!(get_on(&mut b, "/x.txt", &headers).await.status, 302);
    assert_eq!(get_on(&mut a, "/x.txt", &headers).await.status, 302);
    // And back.
    query(&mut other, &["SET", &token_key(&id), &token, "EX", "60"]).await;
    query(
        &mut other,
        &["SET", &checked_key(&id), "checked", "EX", "60"],
    )
    .await;
    assert_eq!(get_on(&mut a, "/x.txt", &headers).await.status, 200);
    assert_eq!(get_on(&mut b, "/x.txt", &headers).await.status, 200);
}

/// A Redis without `CLIENT` (some proxies, some managed services): one log line at start,
/// and sessions are read from Redis as before.
#[tokio::test]
async fn a_redis_refusing_tracking_is_said_once_and_served_without_cache() {
    let stack = stack()
        .redis(RedisOptions {
            disabled_commands: vec!["CLIENT".into()],
            ..RedisOptions::default()
        })
        .start()
        .await;
    stack.put_object("x.txt", b"x");
    let browser = Browser::new();
    login(&stack, &browser).await;
    for _ in 0..3 {
        let page = browser.get(&stack.proxy.url("/x.txt")).await;
        assert_eq!(page.status, 200);
    }
    let logs = stack.proxy.logs_with("no session cache").await;
    assert_eq!(logs.matches("no session cache").count(), 1, "{logs}");
    assert!(!logs.contains("session cache on"), "{logs}");
}

/// With access rules on, the session's profile is read with it: from the cache too, so a
/// signed-in request still costs no Redis round trip; a change to the profile in Redis
/// drops the entry.
#[tokio::test]
async fn with_access_rules_the_profile_comes_from_the_cache_too() {
    let metrics_port = test_kit::free_port();
    let stack = stack()
        .env("ALLOWED_EMAIL_DOMAINS", "example.com")
        .env("METRICS_PORT", &metrics_port.to_string())
        .start()
        .await;
    stack.put_object("x.txt", b"x");
    let cookie = login(&stack, &Browser::new()).await;
    let id = session_of(&cookie);
    let profile_key = profile_key(&id);
    assert!(
        stack.redis.get(&profile_key).await.is_some(),
        "no profile kept"
    );
    let mut client = TcpStream::connect(("127.0.0.1", stack.proxy.port()))
        .await
        .unwrap();
    let headers = [("Cookie", cookie.as_str())];
    // The first request reads the session (and may find it cached already).
    let page = get_on(&mut client, "/x.txt", &headers).await;
    assert_eq!(page.status, 200, "{}", stack.proxy.logs());
    let hit = "s3proxy_session_cache_lookups_total{result=\"hit\"}";
    let hits_before = common::metric(metrics_port, hit).await;
    for _ in 0..20 {
        let page = get_on(&mut client, "/x.txt", &headers).await;
        assert_eq!(page.status, 200, "{}", stack.proxy.logs());
    }
    assert_eq!(common::metric(metrics_port, hit).await - hits_before, 20);

    // Another client changes the profile: the next request reads Redis, which now says
    // the person is outside the allowed domain.
    let mut other = stack.redis.connection().await;
    let outsider = r#"{"emails":["someone@example.org"]}"#;
    query(&mut other, &["SET", &profile_key, outsider]).await;
    let page = get_on(&mut client, "/x.txt", &headers).await;
    assert_eq!(page.status, 403, "{}", stack.proxy.logs());
}
