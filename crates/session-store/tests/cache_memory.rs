//! What a full session cache costs in memory: the default 100,000 entries, each with an
//! 86-character session id (64 random bytes, as s3proxy makes them) and a 30-character
//! token (django-oauth-toolkit's length), measured as the growth of this process's
//! resident memory. A test binary of its own, so no other test's memory is counted.
//!
//! `cargo test -p session-store --test cache_memory -- --nocapture` prints the figure that
//! docs/operations.md quotes.

use std::time::{Duration, Instant};

use deadpool_redis::redis;
use session_store::{checked_key, token_key, CacheLookup, RedisSettings, RedisStore, SessionStore};
use test_kit::RedisServer;

const ENTRIES: usize = 100_000;
/// A generous bound: 276 bytes were measured (docs/operations.md).
const MAX_BYTES_PER_ENTRY: usize = 600;

fn session_id(i: usize) -> String {
    format!("{i:0>86}")
}

fn resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_cache_of_100000_sessions_fits_its_documented_memory() {
    let redis = RedisServer::start().await;
    let mut other = redis.connection().await;
    for chunk in (0..ENTRIES).collect::<Vec<_>>().chunks(1000) {
        let mut pipe = redis::pipe();
        for &i in chunk {
            let id = session_id(i);
            pipe.cmd("SET")
                .arg(token_key(&id))
                .arg(format!("{i:0>30}"))
                .ignore();
            pipe.cmd("SET")
                .arg(checked_key(&id))
                .arg("checked")
                .ignore();
        }
        let () = pipe.query_async(&mut other).await.expect("write sessions");
    }

    let mut settings = RedisSettings::new(redis.url());
    settings.cache_entries = ENTRIES;
    settings.timeout = Duration::from_secs(10);
    let store = RedisStore::new(settings).unwrap();
    let started = Instant::now();
    while store.cached_session("probe") == CacheLookup::Off {
        assert!(started.elapsed() < Duration::from_secs(10), "cache not on");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Warm up what every read allocates once (buffers, the runtime's), then measure.
    store.load_session(&session_id(0)).await.unwrap();
    let before = resident_bytes();

    for batch in (0..ENTRIES).collect::<Vec<_>>().chunks(500) {
        let reads: Vec<_> = batch
            .iter()
            .map(|&i| {
                let store = store.clone();
                tokio::spawn(async move { store.load_session(&session_id(i)).await })
            })
            .collect();
        for read in reads {
            assert!(read.await.unwrap().unwrap().is_some());
        }
    }
    let after = resident_bytes();

    let held = (0..ENTRIES)
        .step_by(97)
        .filter(|&i| matches!(store.cached_session(&session_id(i)), CacheLookup::Hit(_)))
        .count();
    assert_eq!(held, ENTRIES.div_ceil(97), "the cache is full");
    let per_entry = after.saturating_sub(before) / ENTRIES;
    println!(
        "a full cache of {ENTRIES} sessions: {:.1} MiB resident, {per_entry} bytes each",
        after.saturating_sub(before) as f64 / (1024.0 * 1024.0)
    );
    assert!(
        per_entry <= MAX_BYTES_PER_ENTRY,
        "{per_entry} bytes per entry (bound {MAX_BYTES_PER_ENTRY})"
    );
}
