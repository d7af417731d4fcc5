//! The session cache against a real redis-server: reads from memory once cached, and
//! never an answer Redis would not give now — whoever changes the keys, however.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_redis::redis;
use session_store::{
    checked_key, profile_key, token_key, CacheLookup, LoginState, RedisSettings, RedisStore,
    Session, SessionStore,
};
use test_kit::{RedisOptions, RedisServer, TestCa};

fn settings(redis: &RedisServer) -> RedisSettings {
    RedisSettings::new(redis.url())
}

/// A store whose cache is on (its tracking connection is up).
async fn cached_store(settings: RedisSettings) -> RedisStore {
    let store = RedisStore::new(settings).expect("a valid URL");
    wait_until("the cache is on", || {
        store.cached_session("probe") != CacheLookup::Off
    })
    .await;
    assert_eq!(store.cached_session("probe"), CacheLookup::Miss);
    store
}

/// Polls `done` every 10 ms for up to 10 s.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not within 10 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What the frontend does for a signed-in request: the cache, else one read.
async fn request(store: &RedisStore, id: &str) -> Option<Session> {
    match store.cached_session(id) {
        CacheLookup::Hit(session) => Some(session),
        _ => store.load_session(id).await.expect("session read"),
    }
}

/// The same, when profiles are kept (OpenID Connect, access rules).
async fn request_with_profile(store: &RedisStore, id: &str) -> Option<(Session, Option<String>)> {
    match store.cached_session_with_profile(id) {
        CacheLookup::Hit(loaded) => Some(loaded),
        _ => store
            .load_session_with_profile(id)
            .await
            .expect("session read"),
    }
}

fn session(token: &str, checked: bool) -> Option<Session> {
    Some(Session {
        token: token.into(),
        checked,
    })
}

/// Another client of the same Redis (the Python service, another instance, an operator).
struct Other(redis::aio::MultiplexedConnection);

impl Other {
    async fn new(redis: &RedisServer) -> Other {
        Other(redis.connection().await)
    }

    async fn run(&mut self, args: &[&str]) {
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        let _: redis::Value = cmd
            .query_async(&mut self.0)
            .await
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }

    async fn sign_in(&mut self, id: &str, token: &str) {
        self.run(&["SET", &token_key(id), token, "EX", "36000"])
            .await;
        self.run(&["SET", &checked_key(id), "checked", "EX", "3600"])
            .await;
    }
}

async fn command_calls(redis: &RedisServer, command: &str) -> u64 {
    let stats: String = redis.query(&["INFO", "commandstats"]).await;
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_cached_session_costs_no_round_trip() {
    let redis = RedisServer::start().await;
    let store = cached_store(settings(&redis)).await;
    Other::new(&redis).await.sign_in("id", "tok").await;

    assert_eq!(store.cached_session("id"), CacheLookup::Miss);
    assert_eq!(request(&store, "id").await, session("tok", true));
    for _ in 0..50 {
        assert_eq!(
            store.cached_session("id"),
            CacheLookup::Hit(Session {
                token: "tok".into(),
                checked: true
            })
        );
    }
    assert_eq!(
        command_calls(&redis, "mget").await,
        1,
        "only the first read"
    );
    assert_eq!(command_calls(&redis, "get").await, 0);
}

/// The proof: 1,000 rounds of a change made by another client, then at once a
/// request. Every answer is what Redis says now.
///
/// Redis writes a key change's (broadcast) invalidation before it acknowledges the
/// change, so the request follows the acknowledgement at once. A flush's invalidation is
/// written right after the acknowledgement, in the same pass of Redis's event loop: after
/// a `FLUSHALL` the other client sends a `PING`, answered in a later pass, once the
/// invalidation has reached this instance (without it, about 3 % of flush rounds on a
/// saturated 2-vCPU machine saw the session from before the flush).
#[tokio::test]
async fn a_change_by_another_client_is_seen_by_the_next_request() {
    let redis = RedisServer::start().await;
    let store = cached_store(settings(&redis)).await;
    let mut other = Other::new(&redis).await;
    let id = "victim";
    let (token, checked) = (token_key(id), checked_key(id));
    let mut stale = Vec::new();
    for round in 0..1000 {
        other.sign_in(id, "tok").await;
        assert_eq!(request(&store, id).await, session("tok", true));
        assert!(
            matches!(store.cached_session(id), CacheLookup::Hit(_)),
            "round {round}: not cached, so nothing would be proven"
        );
        let (change, expected) = match round % 6 {
            0 => (vec!["DEL", &token], None),
            1 => (vec!["FLUSHALL"], None),
            2 => (vec!["EXPIRE", &token, "0"], None),
            3 => (vec!["SET", &token, "tok-2"], session("tok-2", true)),
            4 => (vec!["UNLINK", &token, &checked], None),
            _ => (vec!["DEL", &checked], session("tok", false)),
        };
        other.run(&change).await;
        if change[0] == "FLUSHALL" {
            other.run(&["PING"]).await;
        }
        let answer = request(&store, id).await;
        if answer != expected {
            stale.push((round, change[0].to_string()));
        }
    }
    assert!(stale.is_empty(), "{} stale answers: {stale:?}", stale.len());
}

/// With profiles kept, a signed-in request costs no round trip either; any change to the
/// profile (another client's, or this instance's own) drops the entry, so the next
/// request reads what Redis holds now.
#[tokio::test]
async fn a_cached_profile_is_served_from_memory_until_it_changes() {
    let redis = RedisServer::start().await;
    let store = cached_store(settings(&redis)).await;
    let mut other = Other::new(&redis).await;
    let profile = profile_key("id");
    other.sign_in("id", "tok").await;
    other.run(&["SET", &profile, "p-1", "EX", "36000"]).await;
    let with = |p: Option<&str>| session("tok", true).map(|s| (s, p.map(str::to_owned)));

    assert_eq!(store.cached_session_with_profile("id"), CacheLookup::Miss);
    assert_eq!(request_with_profile(&store, "id").await, with(Some("p-1")));
    for _ in 0..50 {
        assert_eq!(
            store.cached_session_with_profile("id"),
            CacheLookup::Hit(with(Some("p-1")).unwrap())
        );
    }
    // The same entry serves the session alone.
    assert_eq!(request(&store, "id").await, session("tok", true));
    assert_eq!(
        command_calls(&redis, "mget").await,
        1,
        "only the first read"
    );

    other.run(&["SET", &profile, "p-2", "EX", "36000"]).await;
    assert_eq!(
        store.cached_session_with_profile("id"),
        CacheLookup::Miss,
        "SET of the profile invalidates"
    );
    assert_eq!(request_with_profile(&store, "id").await, with(Some("p-2")));
    assert!(matches!(
        store.cached_session_with_profile("id"),
        CacheLookup::Hit(_)
    ));

    other.run(&["DEL", &profile]).await;
    assert_eq!(
        store.cached_session_with_profile("id"),
        CacheLookup::Miss,
        "DEL of the profile invalidates"
    );
    assert_eq!(request_with_profile(&store, "id").await, with(None));
    assert!(matches!(
        store.cached_session_with_profile("id"),
        CacheLookup::Hit(_)
    ));

    // This instance's own profile write drops its entry at once.
    store.save_profile("id", "p-3", Some("idt")).await.unwrap();
    assert_eq!(store.cached_session_with_profile("id"), CacheLookup::Miss);
    assert_eq!(request_with_profile(&store, "id").await, with(Some("p-3")));
    assert_eq!(command_calls(&redis, "mget").await, 4);
}

#[tokio::test]
async fn an_entry_follows_a_new_ttl_and_ends_with_it() {
    let redis = RedisServer::start().await;
    let store = cached_store(settings(&redis)).await;
    let mut other = Other::new(&redis).await;
    other.sign_in("id", "tok").await;
    assert_eq!(request(&store, "id").await, session("tok", true));

    other.run(&["PEXPIRE", &token_key("id"), "700"]).await;
    assert_eq!(
        store.cached_session("id"),
        CacheLookup::Miss,
        "EXPIRE invalidates"
    );
    assert_eq!(request(&store, "id").await, session("tok", true));
    assert!(matches!(store.cached_session("id"), CacheLookup::Hit(_)));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(request(&store, "id").await, None);
}

#[tokio::test]
async fn the_instances_own_writes_drop_its_entry() {
    let redis = RedisServer::start().await;
    let store = cached_store(settings(&redis)).await;
    Other::new(&redis).await.sign_in("id", "tok").await;
    redis.query::<i64>(&["DEL", &checked_key("id")]).await;
    assert_eq!(request(&store, "id").await, session("tok", false));
    assert!(matches!(store.cached_session("id"), CacheLookup::Hit(_)));

    store.mark_checked("id").await.unwrap();
    assert_eq!(store.cached_session("id"), CacheLookup::Miss);
    assert_eq!(request(&store, "id").await, session("tok", true));

    store.save_session("id", "tok-2").await.unwrap();
    assert_eq!(store.cached_session("id"), CacheLookup::Miss);
    assert_eq!(request(&store, "id").await, session("tok-2", true));
}

/// A session id with no token in Redis is read every time (no entry), and a session
/// created afterwards is seen at once.
#[tokio::test]
async fn unknown_sessions_leave_no_entry() {
    let redis = RedisServer::start().await;
    let store = cached_store(settings(&redis)).await;
    for _ in 0..3 {
        assert_eq!(request(&store, "nobody").await, None);
        assert_eq!(store.cached_session("nobody"), CacheLookup::Miss);
    }
    assert_eq!(command_calls(&redis, "mget").await, 3);
    Other::new(&redis).await.sign_in("nobody", "tok").await;
    assert_eq!(request(&store, "nobody").await, session("tok", true));
}

#[tokio::test]
async fn two_instances_see_each_others_changes_at_once() {
    let redis = RedisServer::start().await;
    let a = cached_store(settings(&redis)).await;
    let b = cached_store(settings(&redis)).await;
    a.save_session("id", "tok-1").await.unwrap();
    for store in [&a, &b] {
        assert_eq!(request(store, "id").await, session("tok-1", true));
        assert!(matches!(store.cached_session("id"), CacheLookup::Hit(_)));
    }
    for round in 0..100 {
        let token = format!("tok-{round}");
        let (writer, reader) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        writer.save_session("id", &token).await.unwrap();
        assert_eq!(request(reader, "id").await, session(&token, true));
        assert_eq!(request(writer, "id").await, session(&token, true));
    }
}

#[tokio::test]
async fn a_full_cache_drops_its_least_recently_used_session() {
    let redis = RedisServer::start().await;
    let mut small = settings(&redis);
    small.cache_entries = 2;
    let store = cached_store(small).await;
    let mut other = Other::new(&redis).await;
    for id in ["a", "b", "c"] {
        other.sign_in(id, id).await;
        assert_eq!(request(&store, id).await, session(id, true));
    }
    assert_eq!(store.cached_session("a"), CacheLookup::Miss);
    assert!(matches!(store.cached_session("b"), CacheLookup::Hit(_)));
    assert!(matches!(store.cached_session("c"), CacheLookup::Hit(_)));
}

#[tokio::test]
async fn no_entries_means_no_cache_and_no_tracking_connection() {
    let redis = RedisServer::start().await;
    let mut off = settings(&redis);
    off.cache_entries = 0;
    let store = RedisStore::new(off).unwrap();
    Other::new(&redis).await.sign_in("id", "tok").await;
    for _ in 0..3 {
        assert_eq!(store.cached_session("id"), CacheLookup::Uncached);
        assert_eq!(request(&store, "id").await, session("tok", true));
    }
    assert_eq!(command_calls(&redis, "mget").await, 3);
    assert!(redis.tracking_client_ids().await.is_empty());
}

#[tokio::test]
async fn invalidations_are_reported() {
    let redis = RedisServer::start().await;
    let store = cached_store(settings(&redis)).await;
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = dropped.clone();
    store.report_invalidations(Box::new(move |n| {
        counter.fetch_add(n, Ordering::Relaxed);
    }));
    let mut other = Other::new(&redis).await;
    for id in ["a", "b", "c"] {
        other.sign_in(id, "tok").await;
        request(&store, id).await;
    }
    other.run(&["DEL", &token_key("a")]).await;
    store.cached_session("a");
    assert_eq!(dropped.load(Ordering::Relaxed), 1);
    other.run(&["FLUSHALL"]).await;
    store.cached_session("b");
    assert_eq!(dropped.load(Ordering::Relaxed), 3);
}

/// The tracking connection killed (by an operator, a proxy, Redis's own limits): no
/// entry survives, the cache is off at once, and back once tracking is on again.
#[tokio::test]
async fn losing_the_tracking_connection_drops_the_cache_until_it_is_back() {
    let redis = RedisServer::start().await;
    let store = cached_store(settings(&redis)).await;
    Other::new(&redis).await.sign_in("id", "tok").await;
    request(&store, "id").await;
    let [tracking] = redis.tracking_client_ids().await[..] else {
        panic!("one tracking connection expected")
    };

    let killed: i64 = redis
        .query(&["CLIENT", "KILL", "ID", &tracking.to_string()])
        .await;
    assert_eq!(killed, 1);
    // Redis closed the socket before answering the KILL: the very next lookup sees it.
    assert_eq!(store.cached_session("id"), CacheLookup::Off);
    assert_eq!(request(&store, "id").await, session("tok", true));

    wait_until("tracking is back", || {
        store.cached_session("id") != CacheLookup::Off
    })
    .await;
    assert_eq!(
        store.cached_session("id"),
        CacheLookup::Miss,
        "nothing survived"
    );
    assert_eq!(request(&store, "id").await, session("tok", true));
    assert!(matches!(store.cached_session("id"), CacheLookup::Hit(_)));
    assert_ne!(redis.tracking_client_ids().await, [tracking]);
}

/// A failover, played on a real redis-server: `READONLY` on a write, `MASTERDOWN` on a
/// read; each drops the whole cache, and it comes back once a primary answers.
#[tokio::test]
async fn a_failover_drops_the_cache() {
    let redis = RedisServer::start().await;
    let store = cached_store(settings(&redis)).await;
    Other::new(&redis).await.sign_in("id", "tok").await;
    request(&store, "id").await;
    assert!(matches!(store.cached_session("id"), CacheLookup::Hit(_)));

    redis.demote().await;
    let written = store
        .save_state("s", &LoginState::new("http://x/", None))
        .await;
    assert!(written.is_err(), "{written:?}");
    assert_eq!(store.cached_session("id"), CacheLookup::Off);

    // Back on, on the replica (reads are fine there, and tracked).
    wait_until("tracking on the replica", || {
        store.cached_session("id") != CacheLookup::Off
    })
    .await;
    assert_eq!(request(&store, "id").await, session("tok", true));
    assert!(matches!(store.cached_session("id"), CacheLookup::Hit(_)));
    let _: String = redis
        .query(&["CONFIG", "SET", "replica-serve-stale-data", "no"])
        .await;
    // A read that answers MASTERDOWN drops everything.
    let read = store.load_session("id").await;
    assert!(read.is_err(), "{read:?}");
    assert_eq!(store.cached_session("id"), CacheLookup::Off);

    redis.promote().await;
    wait_until("tracking after promotion", || {
        store.cached_session("id") != CacheLookup::Off
    })
    .await;
    assert_eq!(request(&store, "id").await, session("tok", true));
    assert!(matches!(store.cached_session("id"), CacheLookup::Hit(_)));
}

/// A frozen Redis answers nothing: the keeper's `PING` goes unanswered, and the cache is
/// off within the timeout and a ping period. Back once Redis is.
#[tokio::test]
async fn a_frozen_redis_turns_the_cache_off() {
    let redis = RedisServer::start().await;
    let mut quick = settings(&redis);
    quick.timeout = Duration::from_millis(500);
    let store = cached_store(quick).await;
    Other::new(&redis).await.sign_in("id", "tok").await;
    request(&store, "id").await;
    let pid = redis.pid().expect("running").to_string();

    let stop = std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap();
    assert!(stop.success());
    let off = tokio::time::timeout(
        Duration::from_secs(10),
        wait_until("off", || store.cached_session("id") == CacheLookup::Off),
    )
    .await;
    let cont = std::process::Command::new("kill")
        .args(["-CONT", &pid])
        .status()
        .unwrap();
    assert!(cont.success());
    off.expect("still on while Redis was frozen");

    wait_until("back on", || store.cached_session("id") != CacheLookup::Off).await;
    assert_eq!(request(&store, "id").await, session("tok", true));
}

/// A server without `CLIENT` (renamed away, as some proxies and managed services do) or
/// without `HELLO` (Redis before 6): no cache, and reads work as before.
#[tokio::test]
async fn a_server_refusing_client_side_caching_gets_no_cache() {
    for disabled in ["CLIENT", "HELLO"] {
        let redis = RedisServer::start_with(RedisOptions {
            disabled_commands: vec![disabled.into()],
            ..RedisOptions::default()
        })
        .await;
        let store = RedisStore::new(settings(&redis)).unwrap();
        wait_until("tracking refused", || {
            store.cached_session("id") == CacheLookup::Uncached
        })
        .await;
        Other::new(&redis).await.sign_in("id", "tok").await;
        for _ in 0..3 {
            assert_eq!(request(&store, "id").await, session("tok", true));
            assert_eq!(store.cached_session("id"), CacheLookup::Uncached);
        }
        assert_eq!(command_calls(&redis, "mget").await, 3, "without {disabled}");
    }
}

/// In-transit encryption and AUTH (ElastiCache): the tracking connection speaks TLS
/// over its own socket, with the same roots as the shared connection.
#[tokio::test]
async fn the_cache_works_over_tls_with_a_password() {
    let ca = Arc::new(TestCa::new());
    let redis = RedisServer::start_with(RedisOptions {
        password: Some("tls-pass".into()),
        tls: Some(ca.clone()),
        ..RedisOptions::default()
    })
    .await;
    let mut tls = settings(&redis);
    let roots = rustls_native_certs::load_certs_from_paths(Some(&ca.ca_file()), None);
    tls.tls_roots = Some(roots.certs.iter().map(|c| c.to_vec()).collect());
    let store = cached_store(tls).await;
    let mut other = Other::new(&redis).await;
    other.sign_in("id", "tok").await;
    assert_eq!(request(&store, "id").await, session("tok", true));
    assert!(matches!(store.cached_session("id"), CacheLookup::Hit(_)));
    for round in 0..50 {
        other.run(&["DEL", &token_key("id")]).await;
        assert_eq!(request(&store, "id").await, None, "round {round}");
        other.sign_in("id", "tok").await;
        assert_eq!(request(&store, "id").await, session("tok", true));
    }
}
