//! The file-descriptor limit, with the real binary started under a low soft limit (as a
//! container runtime or a shell's `ulimit -n` may leave it). Alone in its file: the test
//! lowers its own process's limits, which its children inherit.

mod common;

use common::stack;
use rlimit::Resource;
use test_kit::{get_on, Proxy};
use tokio::net::TcpStream;

/// The soft limit the proxy is started with, and the hard one above it.
const SOFT: u64 = 256;
const HARD: u64 = 4096;
/// Client connections the proxy must serve at once: well past what `SOFT` allows.
const CLIENTS: usize = 400;

/// The proxy's soft limit on open files, from `/proc`.
fn soft_nofile(proxy: &Proxy) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", proxy.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files in /proc/<pid>/limits");
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

/// Found in review: with `MAX_CONNECTIONS` set the soft limit was never raised, and past
/// it `accept` failed with EMFILE in a loop while health checks timed out. Now the soft
/// limit is always raised to the hard one, and a `MAX_CONNECTIONS` the limit cannot
/// carry is lowered, with a warning naming both numbers.
#[tokio::test]
async fn the_soft_descriptor_limit_is_raised_whatever_max_connections_says() {
    let stack = stack().start().await;
    stack.put_object("healthcheck.txt", b"OK");

    let (soft, hard) = rlimit::getrlimit(Resource::NOFILE).unwrap();
    assert!(
        hard >= HARD,
        "this test needs a hard descriptor limit of at least {HARD} (`ulimit -Hn`), found {hard}"
    );
    rlimit::setrlimit(Resource::NOFILE, SOFT, HARD).unwrap();
    let under = stack
        .spawn_proxy(&[("MAX_CONNECTIONS", Some("1000"))])
        .await;
    let over = stack
        .spawn_proxy(&[("MAX_CONNECTIONS", Some("5000"))])
        .await;
    // Back to what this process had (under the new hard limit) for its own sockets.
    rlimit::setrlimit(Resource::NOFILE, soft.min(HARD), HARD).unwrap();

    for proxy in [&under, &over] {
        assert_eq!(soft_nofile(proxy), HARD, "soft limit not raised");
    }
    // 5000 connections (and as many to S3) do not fit in 4096 descriptors: capped at half.
    let warning = over.logs_with("MAX_CONNECTIONS").await;
    let warning = warning
        .lines()
        .find(|l| l.contains("MAX_CONNECTIONS"))
        .unwrap_or_else(|| panic!("no warning about MAX_CONNECTIONS: {}", over.logs()));
    assert!(
        warning.contains("WARN") && warning.contains("5000") && warning.contains("2048"),
        "{warning}"
    );
    assert!(
        !under.logs().contains("MAX_CONNECTIONS"),
        "1000 fits: {}",
        under.logs()
    );

    // More connections than the soft limit it was started with, each served.
    let mut open = Vec::new();
    for i in 0..CLIENTS {
        let mut conn = TcpStream::connect(("127.0.0.1", under.port()))
            .await
            .unwrap();
        // Fails after 5 s without an answer (before the fix: after about 240, with
        // `accept` failing with EMFILE).
        let r = get_on(&mut conn, "/healthcheck.txt", &[]).await;
        assert_eq!(r.status, 200, "connection {i}");
        open.push(conn);
    }
    assert!(!under.logs().contains("accept failed"), "{}", under.logs());
}
