//! Connections as a load balancer in front uses them: kept alive while idle (the
//! balancer closes first), request heads timed from their first byte, and a cap on how
//! many are served at once.

mod common;

use std::time::Duration;

use common::{closed_after, stack, PausedBatch};
use test_kit::get_on;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

async fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).await.unwrap()
}

#[tokio::test]
async fn an_idle_keepalive_connection_outlives_the_header_read_timeout() {
    let stack = stack().env("HEADER_READ_TIMEOUT", "2").start().await;
    stack.put_object("healthcheck.txt", b"OK");
    let mut conn = connect(stack.proxy.port()).await;
    assert_eq!(get_on(&mut conn, "/healthcheck.txt", &[]).await.status, 200);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let again = get_on(&mut conn, "/healthcheck.txt", &[]).await;
    assert_eq!((again.status, again.body.as_slice()), (200, &b"OK"[..]));
}

#[tokio::test]
async fn a_half_sent_head_is_cut_about_the_header_timeout_after_its_first_byte() {
    let stack = stack().env("HEADER_READ_TIMEOUT", "2").start().await;
    let mut conn = connect(stack.proxy.port()).await;
    // Idle first, longer than the header timeout: that clock must not be running yet.
    tokio::time::sleep(Duration::from_secs(3)).await;
    conn.write_all(b"GET /healthcheck.txt HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let closed = closed_after(&mut conn, Duration::from_secs(6))
        .await
        .expect("a half-sent head was never cut");
    assert!(
        closed >= Duration::from_millis(1800),
        "cut early: {closed:?}"
    );
    assert!(closed < Duration::from_millis(3500), "cut late: {closed:?}");
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_keepalive_timeout() {
    let stack = stack().env("KEEPALIVE_TIMEOUT", "3").start().await;
    stack.put_object("healthcheck.txt", b"OK");
    let mut used = connect(stack.proxy.port()).await;
    let mut never_used = connect(stack.proxy.port()).await;
    assert_eq!(get_on(&mut used, "/healthcheck.txt", &[]).await.status, 200);
    let (used, never_used) = tokio::join!(
        closed_after(&mut used, Duration::from_secs(6)),
        closed_after(&mut never_used, Duration::from_secs(6)),
    );
    for (name, closed) in [("used", used), ("never used", never_used)] {
        let closed = closed.unwrap_or_else(|| panic!("{name}: still open after 6 s"));
        assert!(closed >= Duration::from_millis(2500), "{name}: {closed:?}");
        assert!(closed < Duration::from_millis(4500), "{name}: {closed:?}");
    }
}

/// Past `MAX_CONNECTIONS` the accept loop waits: the next client is queued by the
/// kernel, not refused or failed, and is served as soon as a slot frees.
#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let stack = stack().env("MAX_CONNECTIONS", "5").start().await;
    stack.put_object("healthcheck.txt", b"OK");
    let port = stack.proxy.port();
    let mut open = Vec::new();
    for _ in 0..5 {
        let mut conn = connect(port).await;
        assert_eq!(get_on(&mut conn, "/healthcheck.txt", &[]).await.status, 200);
        open.push(conn);
    }
    let mut waiting = connect(port).await;
    waiting
        .write_all(b"GET /healthcheck.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(
        Duration::from_millis(1500),
        tokio::io::AsyncReadExt::read(&mut waiting, &mut byte),
    )
    .await;
    assert!(
        early.is_err(),
        "a sixth connection was served past the cap of 5"
    );

    drop(open.pop());
    let served = tokio::time::timeout(Duration::from_secs(3), async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut waiting, &mut chunk)
                .await
                .unwrap();
            assert!(n > 0, "closed without an answer");
            buf.extend_from_slice(&chunk[..n]);
            if buf.ends_with(b"OK") {
                return buf;
            }
        }
    })
    .await
    .expect("not served after a slot freed");
    assert!(served.starts_with(b"HTTP/1.1 200"), "{served:?}");
    // The others are still served.
    assert_eq!(
        get_on(&mut open[0], "/healthcheck.txt", &[]).await.status,
        200
    );
}

/// Found in review (issue 15): the keep-alive clock started when hyper dropped a
/// response's body, before its last bytes were written; a client that paused near the
/// end for longer than `KEEPALIVE_TIMEOUT` had its connection closed under it. A
/// connection is idle only once everything written has reached the socket: 20 rounds,
/// on three processes at once, each download byte for byte.
#[tokio::test]
async fn clients_pausing_near_the_end_longer_than_the_keepalive_timeout_get_every_byte() {
    let env = [("KEEPALIVE_TIMEOUT", "2")];
    let batches = tokio::join!(
        PausedBatch::run(&env, 0, false),
        PausedBatch::run(&env, 1, false),
        PausedBatch::run(&env, 2, false),
    );
    let batches = [batches.0, batches.1, batches.2];
    let cut: Vec<String> = batches.iter().flat_map(PausedBatch::cut_short).collect();
    assert!(
        cut.is_empty(),
        "{} of 20 rounds cut short: {cut:#?}",
        cut.len()
    );
    for batch in &batches {
        batch.assert_logged_whole().await;
    }
}
