//! The Redis store against a real redis-server: the exact keys and TTLs the Python service
//! uses, and what happens when Redis dies, freezes or comes back.

use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

use session_store::{
    checked_key, pkce_key, state_key, token_key, LoginState, RedisSettings, RedisStore, Session,
    SessionStore, StoreError, StoreTtls,
};
use test_kit::RedisServer;

/// A grace period unlike every other TTL, so a marker written with the wrong TTL shows.
const GRACE: u64 = 1234;

fn settings(redis: &RedisServer) -> RedisSettings {
    let mut settings = RedisSettings::new(redis.url());
    settings.ttls = StoreTtls {
        checked: Duration::from_secs(GRACE),
        ..StoreTtls::default()
    };
    settings
}

fn store(redis: &RedisServer) -> RedisStore {
    RedisStore::new(settings(redis)).expect("a valid URL")
}

fn assert_ttl_near(ttl: i64, expected: u64) {
    let expected = expected as i64;
    // A few seconds of slack for a loaded machine; a TTL of -1 (none) or -2 (no key) fails.
    assert!(
        ttl <= expected && ttl > expected - 5,
        "TTL {ttl}, expected about {expected}"
    );
}

#[tokio::test]
async fn state_is_saved_under_the_python_key_with_a_60s_ttl() {
    let redis = RedisServer::start().await;
    let store = store(&redis);
    let url = "https://assets.example.com/a b/é.mp4?x=1&y=2?";

    store
        .save_state("0123abcd", &LoginState::new(url, None))
        .await
        .unwrap();

    assert_eq!(
        redis.keys("*").await,
        ["s3proxy__sso_state__0123abcd"],
        "exactly one key, named as the Python service names it"
    );
    assert_eq!(
        redis.get("s3proxy__sso_state__0123abcd").await.as_deref(),
        Some(url)
    );
    let ttl = redis.ttl("s3proxy__sso_state__0123abcd").await;
    assert!(ttl <= 60 && ttl > 50, "TTL {ttl}");

    // Loading does not consume the state: the same callback may be used again.
    for _ in 0..2 {
        assert_eq!(
            store
                .load_state("0123abcd")
                .await
                .unwrap()
                .map(|l| l.original_url)
                .as_deref(),
            Some(url)
        );
    }
    assert_eq!(store.load_state("unknown").await.unwrap(), None);
}

#[tokio::test]
async fn save_session_writes_token_and_marker() {
    let redis = RedisServer::start().await;
    let store = store(&redis);

    store.save_session("Ab-_9z", "access-token").await.unwrap();

    let token = "s3proxy__assets_session_id__Ab-_9z__sso_token";
    let checked = "s3proxy__assets_session_id__Ab-_9z__sso_token_checked";
    let mut keys = redis.keys("*").await;
    keys.sort();
    assert_eq!(keys, [token, checked]);
    assert_eq!(redis.get(token).await.as_deref(), Some("access-token"));
    assert_eq!(redis.get(checked).await.as_deref(), Some("checked"));
    assert_ttl_near(redis.ttl(token).await, 36000);
    assert_ttl_near(redis.ttl(checked).await, GRACE);

    assert_eq!(
        store.load_session("Ab-_9z").await.unwrap(),
        Some(Session {
            token: "access-token".into(),
            checked: true
        })
    );
}

/// Sessions written by the Python service (keys set by hand here) are read as ours.
#[tokio::test]
async fn load_session_reads_keys_written_by_others() {
    let redis = RedisServer::start().await;
    let store = store(&redis);

    redis.set(&token_key("both"), "tok-1", 36000).await;
    redis.set(&checked_key("both"), "checked", 3600).await;
    redis.set(&token_key("unchecked"), "tok-2", 36000).await;
    // A marker alone, without a token, is not a session.
    redis
        .set(&checked_key("marker-only"), "checked", 3600)
        .await;

    assert_eq!(
        store.load_session("both").await.unwrap(),
        Some(Session {
            token: "tok-1".into(),
            checked: true
        })
    );
    assert_eq!(
        store.load_session("unchecked").await.unwrap(),
        Some(Session {
            token: "tok-2".into(),
            checked: false
        })
    );
    assert_eq!(store.load_session("marker-only").await.unwrap(), None);
    assert_eq!(store.load_session("missing").await.unwrap(), None);
}

#[tokio::test]
async fn mark_checked_sets_the_marker() {
    let redis = RedisServer::start().await;
    let store = store(&redis);
    redis.set(&token_key("id"), "tok", 36000).await;
    assert!(!store.load_session("id").await.unwrap().unwrap().checked);

    store.mark_checked("id").await.unwrap();

    assert_eq!(
        redis.get(&checked_key("id")).await.as_deref(),
        Some("checked")
    );
    assert_ttl_near(redis.ttl(&checked_key("id")).await, GRACE);
    assert!(store.load_session("id").await.unwrap().unwrap().checked);
    // The token itself is left alone.
    assert_eq!(redis.get(&token_key("id")).await.as_deref(), Some("tok"));
    assert_ttl_near(redis.ttl(&token_key("id")).await, 36000);
}

/// A grace period of zero: every request checks with the SSO, so no marker is ever written.
#[tokio::test]
async fn zero_grace_period_writes_no_marker() {
    let redis = RedisServer::start().await;
    let mut settings = settings(&redis);
    settings.ttls.checked = Duration::ZERO;
    let store = RedisStore::new(settings).unwrap();

    store.save_session("id", "tok").await.unwrap();
    store.mark_checked("id").await.unwrap();

    assert_eq!(redis.keys("*").await, [token_key("id")]);
    assert!(!store.load_session("id").await.unwrap().unwrap().checked);
}

/// Operations share one multiplexed connection instead of checking one out of the pool
/// each time (deadpool-redis sends `UNWATCH` and `PING` on every checkout): Redis sees
/// the operations' own commands and nothing else. (Without the session cache, whose
/// tracking connection pings every second.)
#[tokio::test]
async fn each_operation_is_one_command() {
    let redis = RedisServer::start().await;
    let mut uncached = settings(&redis);
    uncached.cache_entries = 0;
    let store = RedisStore::new(uncached).unwrap();
    store.save_session("id", "tok").await.unwrap();
    for _ in 0..20 {
        store.load_session("id").await.unwrap();
    }
    let mut conn = redis.connection().await;
    let stats: String = deadpool_redis::redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(stats.contains("cmdstat_mget:calls=20,"), "{stats}");
    assert!(!stats.contains("cmdstat_ping"), "{stats}");
    assert!(!stats.contains("cmdstat_unwatch"), "{stats}");
}

/// Every operation once, with its result.
async fn every_operation(store: &RedisStore) -> Vec<(&'static str, Result<(), StoreError>)> {
    vec![
        ("ping", store.ping().await),
        (
            "save_state",
            store
                .save_state("s", &LoginState::new("http://x/", None))
                .await,
        ),
        ("load_state", store.load_state("s").await.map(drop)),
        ("save_session", store.save_session("id", "tok").await),
        ("load_session", store.load_session("id").await.map(drop)),
        ("mark_checked", store.mark_checked("id").await),
    ]
}

/// Runs `op` and checks it fails within `within`; an outer timeout keeps a hang from
/// stalling the test run.
async fn assert_fails_within<T: std::fmt::Debug>(
    what: &str,
    within: Duration,
    op: impl Future<Output = Result<T, StoreError>>,
) -> StoreError {
    let started = Instant::now();
    let result = tokio::time::timeout(within + Duration::from_secs(5), op)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"));
    let took = started.elapsed();
    let err = result.expect_err(what);
    assert!(took < within, "{what} took {took:?} to fail");
    err
}

/// Retries `ping` until it succeeds; panics if it does not within `within`.
async fn assert_recovers_within(store: &RedisStore, within: Duration) {
    let started = Instant::now();
    loop {
        match store.ping().await {
            Ok(()) => return,
            Err(_) if started.elapsed() < within => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("still failing after {within:?}: {e}"),
        }
    }
}

#[tokio::test]
async fn redis_killed_is_an_error_then_recovers_on_restart() {
    let mut redis = RedisServer::start().await;
    let store = store(&redis);
    // A connection in the pool first: the dead one must be noticed, not reused forever.
    store.save_session("id", "tok").await.unwrap();

    redis.kill();
    let within = Duration::from_millis(2500);
    for (what, err) in every_operation_fails_within(&store, within).await {
        assert!(
            matches!(err, StoreError::Unavailable(_) | StoreError::Timeout(_)),
            "{what}: {err:?}"
        );
    }

    redis.restart().await;
    assert_recovers_within(&store, Duration::from_secs(3)).await;
    // Restarted empty: the store works normally again, every operation.
    for (what, result) in every_operation(&store).await {
        result.unwrap_or_else(|e| panic!("{what} after restart: {e}"));
    }
    assert_eq!(
        store.load_session("id").await.unwrap(),
        Some(Session {
            token: "tok".into(),
            checked: true
        })
    );
}

/// Each operation must fail on its own within `within`; their errors.
async fn every_operation_fails_within(
    store: &RedisStore,
    within: Duration,
) -> Vec<(&'static str, StoreError)> {
    let mut results = Vec::new();
    macro_rules! check {
        ($what:literal, $op:expr) => {
            results.push(($what, assert_fails_within($what, within, $op).await));
        };
    }
    check!("ping", store.ping());
    check!(
        "save_state",
        store.save_state("s", &LoginState::new("http://x/", None))
    );
    check!("load_state", store.load_state("s"));
    check!("save_session", store.save_session("id", "tok"));
    check!("load_session", store.load_session("id"));
    check!("mark_checked", store.mark_checked("id"));
    results
}

/// Sends a signal to a process with the `kill` command (no libc binding needed).
fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{sig} {pid} failed");
}

/// Thaws the frozen redis-server however the test ends, so a failing assertion does not
/// leave a stopped process behind (the server's own drop then kills it).
struct Thaw(u32);

impl Drop for Thaw {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-CONT")
            .arg(self.0.to_string())
            .status();
    }
}

/// A frozen Redis accepts connections (the kernel does) but never answers: only our
/// timeouts end the wait.
#[tokio::test]
async fn redis_frozen_is_an_error_within_the_timeout() {
    let redis = RedisServer::start().await;
    let store = store(&redis);
    store.save_session("id", "tok").await.unwrap();
    let pid = redis.pid().expect("redis is running");

    signal(pid, "STOP");
    let thaw = Thaw(pid);
    let within = Duration::from_secs(3);
    let err = assert_fails_within("load_session", within, store.load_session("id")).await;
    assert!(
        matches!(err, StoreError::Unavailable(_) | StoreError::Timeout(_)),
        "{err:?}"
    );
    assert_fails_within(
        "save_state",
        within,
        store.save_state("s", &LoginState::new("http://x/", None)),
    )
    .await;
    // Several at once (a burst of requests): each is bounded, none waits behind another.
    let started = Instant::now();
    let (a, b, c) = tokio::join!(
        store.load_session("id"),
        store.mark_checked("id"),
        store.ping()
    );
    assert!(a.is_err() && b.is_err() && c.is_err());
    assert!(started.elapsed() < within, "took {:?}", started.elapsed());

    drop(thaw);
    assert_recovers_within(&store, Duration::from_secs(3)).await;
    assert_eq!(
        store.load_session("id").await.unwrap(),
        Some(Session {
            token: "tok".into(),
            checked: true
        })
    );
}

#[test]
fn invalid_urls_are_an_error_without_the_password() {
    for url in [
        "redis://:hunter2@host:notaport/0",
        "redis://user:hunter2@[::1/0",
        "http://:hunter2@localhost:6379/0",
        "not a url hunter2",
        "",
    ] {
        let err = match RedisStore::new(RedisSettings::new(url)) {
            Ok(_) => panic!("{url:?} was accepted"),
            Err(e) => e,
        };
        assert!(matches!(err, StoreError::InvalidUrl(_)), "{url:?}: {err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2"), "{url:?}: {text}");
    }
    // The settings' Debug (which a caller may log) hides the URL too.
    let settings = RedisSettings::new("redis://:hunter2@localhost:6379/0");
    assert!(!format!("{settings:?}").contains("hunter2"));
}

/// Nothing listening: a lazy pool builds fine, and the first use is a prompt error.
#[tokio::test]
async fn nothing_listening_is_a_prompt_error() {
    let port = test_kit::free_port();
    let store = RedisStore::new(RedisSettings::new(format!("redis://127.0.0.1:{port}/0"))).unwrap();
    let err = assert_fails_within("ping", Duration::from_millis(2500), store.ping()).await;
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    // The key of the state is never in an error.
    let err = store
        .save_state("secret-state", &LoginState::new("http://x/", None))
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("secret-state"));
}

/// An ElastiCache failover, played on a real redis-server: the primary turns into a
/// replica (writes answer READONLY, and MASTERDOWN once it stops serving stale data),
/// then is promoted back. Errors meanwhile, a new connection after each, and recovery
/// without a restart.
#[tokio::test]
async fn a_primary_turned_replica_is_unavailable_then_recovers_once_promoted() {
    let redis = RedisServer::start().await;
    let store = store(&redis);
    store
        .save_state("before", &LoginState::new("http://x/", None))
        .await
        .unwrap();
    let first = redis.client_ids().await;
    assert_eq!(first.len(), 1, "one shared connection: {first:?}");

    redis.demote().await;
    match store
        .save_state("during", &LoginState::new("http://x/", None))
        .await
    {
        Err(StoreError::Unavailable(why)) => assert!(why.contains("READONLY"), "{why}"),
        other => panic!("a write to a replica gave {other:?}"),
    }
    // Reads still work on the replica, over a new connection.
    assert_eq!(
        store
            .load_state("before")
            .await
            .unwrap()
            .map(|l| l.original_url)
            .as_deref(),
        Some("http://x/")
    );
    let second = redis.client_ids().await;
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(first, second, "the connection that got READONLY was kept");
    // The session write is a MULTI/EXEC: refused the same way.
    let saved = store.save_session("id", "tok").await;
    assert!(
        matches!(saved, Err(StoreError::Unavailable(_))),
        "{saved:?}"
    );
    let _: String = redis
        .query(&["CONFIG", "SET", "replica-serve-stale-data", "no"])
        .await;
    match store.load_session("id").await {
        Err(StoreError::Unavailable(why)) => assert!(why.contains("MASTERDOWN"), "{why}"),
        other => panic!("a read from a resyncing replica gave {other:?}"),
    }

    redis.promote().await;
    let promoted = Instant::now();
    loop {
        match store
            .save_state("after", &LoginState::new("http://x/", None))
            .await
        {
            Ok(()) => break,
            Err(e) if promoted.elapsed() < Duration::from_secs(2) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("not recovered 2 s after promotion: {e}"),
        }
    }
    assert_eq!(
        redis.get("s3proxy__sso_state__after").await.as_deref(),
        Some("http://x/")
    );
}

/// PKCE: the verifier has a key of its own next to the state's (whose value stays the
/// plain URL, as the Python service reads it), with the same TTL; saved and read in one
/// round trip each.
#[tokio::test]
async fn a_pkce_verifier_is_kept_beside_the_state() {
    let redis = RedisServer::start().await;
    let store = store(&redis);
    let login = LoginState::new("https://a.example/x?y", Some("v".repeat(64)));
    store.save_state("st", &login).await.unwrap();
    assert_eq!(store.load_state("st").await.unwrap(), Some(login));
    // One pipeline to save (MULTI, SET, SET, EXEC), one MGET to read.
    let stats: String = redis.query(&["INFO", "commandstats"]).await;
    for expected in [
        "cmdstat_multi:calls=1,",
        "cmdstat_set:calls=2,",
        "cmdstat_exec:calls=1,",
        "cmdstat_mget:calls=1,",
    ] {
        assert!(stats.contains(expected), "{expected} in {stats}");
    }
    assert!(!stats.contains("cmdstat_get:"), "{stats}");
    assert_eq!(
        redis.get(&state_key("st")).await.as_deref(),
        Some("https://a.example/x?y")
    );
    assert_eq!(redis.get(&pkce_key("st")).await, Some("v".repeat(64)));
    let ttl = redis.ttl(&pkce_key("st")).await;
    assert!(ttl <= 60 && ttl > 50, "TTL {ttl}");
    // A state the Python service saved has no verifier.
    redis.set(&state_key("py"), "https://a.example/z", 60).await;
    assert_eq!(
        store.load_state("py").await.unwrap(),
        Some(LoginState::new("https://a.example/z", None))
    );
}
