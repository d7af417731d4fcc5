//! `s3proxy healthcheck`, the container health check, run as the real binary against a
//! real proxy, a port where nothing listens, and one that never answers.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::stack;
use test_kit::free_port;

/// The healthcheck's promise: it has exited by then, whatever the proxy does.
const PROMISED: Duration = Duration::from_secs(5);

/// `s3proxy healthcheck` with only `env` (nothing inherited): its exit code, its
/// stderr and how long it ran. Killed after 30 s, so a hang fails rather than stalls.
async fn healthcheck(env: &[(&str, &str)]) -> (Option<i32>, String, Duration) {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // Blocking: the S3 and SSO stand-ins run on this test's runtime and must keep serving.
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut child = Command::new(common::BIN)
            .arg("healthcheck")
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start s3proxy healthcheck");
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the healthcheck") {
                break status.code();
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let elapsed = started.elapsed();
        let mut stderr = String::new();
        let _ = child
            .stderr
            .take()
            .map(|mut e| e.read_to_string(&mut stderr));
        (status, stderr, elapsed)
    })
    .await
    .expect("the healthcheck thread")
}

#[tokio::test]
async fn healthy_only_while_the_proxy_serves_the_healthcheck_object() {
    // A key that must be percent-encoded in the request path.
    let key = "checks/health check #1.txt";
    let stack = stack().env("AWS_S3_HEALTHCHECK_KEY", key).start().await;
    let port = stack.proxy.port().to_string();
    // PORT and the key only: none of the server's other (required) variables.
    let env = [("PORT", port.as_str()), ("AWS_S3_HEALTHCHECK_KEY", key)];

    // Not in the bucket yet: the proxy answers 404.
    let (code, stderr, _) = healthcheck(&env).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    assert!(
        stderr.contains("/checks/health%20check%20%231.txt"),
        "{stderr}"
    );

    stack.put_object(key, b"OK\n");
    let (code, stderr, _) = healthcheck(&env).await;
    assert_eq!(code, Some(0), "{stderr}\n{}", stack.proxy.logs());
    assert_eq!(stderr, "");

    // Another key is an object behind the sign-in: a redirect to the SSO, not healthy.
    stack.put_object("other.txt", b"OK\n");
    let (code, stderr, _) =
        healthcheck(&[("PORT", &port), ("AWS_S3_HEALTHCHECK_KEY", "other.txt")]).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("302"), "{stderr}");
}

#[tokio::test]
async fn nothing_listening_is_unhealthy_at_once() {
    let port = free_port().to_string();
    let (code, stderr, elapsed) = healthcheck(&[
        ("PORT", &port),
        ("AWS_S3_HEALTHCHECK_KEY", "healthcheck.txt"),
    ])
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(elapsed < PROMISED, "{elapsed:?}");
}

#[tokio::test]
async fn a_proxy_that_never_answers_is_unhealthy_within_the_bound() {
    // Connections complete in the kernel's backlog; nothing ever reads or answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let (code, stderr, elapsed) = healthcheck(&[
        ("PORT", &port),
        ("AWS_S3_HEALTHCHECK_KEY", "healthcheck.txt"),
    ])
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no answer"), "{stderr}");
    assert!(elapsed < PROMISED, "{elapsed:?}");
    // It did wait for an answer rather than give up for some other reason.
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test]
async fn a_missing_or_bad_port_or_key_is_named_and_unhealthy() {
    for (env, named) in [
        (vec![("AWS_S3_HEALTHCHECK_KEY", "k")], "PORT is not set"),
        (
            vec![("PORT", "eighty"), ("AWS_S3_HEALTHCHECK_KEY", "k")],
            "PORT must be",
        ),
        (vec![("PORT", "8000")], "AWS_S3_HEALTHCHECK_KEY is not set"),
    ] {
        let (code, stderr, _) = healthcheck(&env).await;
        assert_eq!(code, Some(1), "{env:?}: {stderr}");
        assert!(stderr.contains(named), "{env:?}: {stderr}");
    }
}
