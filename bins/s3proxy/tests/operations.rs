//! What operators see: Prometheus metrics on a port of their own, and Sentry events with
//! the Python service's variables, against a local server standing in for Sentry and
//! for the ECS task metadata endpoint.

mod common;

use std::time::{Duration, Instant};

use common::{assert_clean_exit, login, stack};
use test_kit::{free_port, raw_get, Browser, Recorded, Recorder};

async fn scrape(port: u16) -> String {
    let r = raw_get(port, "GET /metrics HTTP/1.1", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    String::from_utf8(r.body).unwrap()
}

/// The value of one series (`name{labels}` exactly as rendered), 0 when absent.
fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_count_requests_upstreams_logins_and_bytes_on_their_own_port() {
    let metrics_port = free_port();
    let stack = stack()
        .env("METRICS_PORT", &metrics_port.to_string())
        .env("SSO_TOKEN_CHECK_GRACE_PERIOD", "1")
        .start()
        .await;
    stack.put_object("a.bin", &[7u8; 1000]);
    stack.put_object("healthcheck.txt", b"OK");
    let port = stack.proxy.port();
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await; // 302, 302 (callback), 404
    let page = browser.get(&stack.proxy.url("/a.bin")).await;
    assert_eq!(page.body.len(), 1000);
    let ranged = raw_get(
        port,
        "GET /a.bin HTTP/1.1",
        &[("Cookie", &cookie), ("Range", "bytes=0-99")],
    )
    .await;
    assert_eq!(ranged.status, 206);
    let head = raw_get(port, "HEAD /healthcheck.txt HTTP/1.1", &[]).await;
    assert_eq!(head.status, 200);
    assert_eq!(raw_get(port, "POST /a.bin HTTP/1.1", &[]).await.status, 405);
    // Past the grace period: one token check.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(browser.get(&stack.proxy.url("/a.bin")).await.status, 200);
    // The main port has no metrics: /metrics there is an object key like any other.
    let on_main = raw_get(port, "GET /metrics HTTP/1.1", &[]).await;
    assert_eq!(on_main.status, 302);

    let m = scrape(metrics_port).await;
    let requests = |method: &str, status: &str| {
        value(
            &m,
            &format!("s3proxy_http_requests_total{{method=\"{method}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!(requests("GET", "200"), 2.0, "{m}");
    assert_eq!(requests("GET", "206"), 1.0);
    assert_eq!(requests("GET", "404"), 1.0);
    assert_eq!(
        requests("GET", "302"),
        3.0,
        "login, callback, /metrics on the main port"
    );
    assert_eq!(requests("HEAD", "200"), 1.0);
    assert_eq!(requests("other", "405"), 1.0);
    assert_eq!(
        value(
            &m,
            "s3proxy_http_request_duration_seconds_count{method=\"GET\"}"
        ),
        7.0
    );
    assert_eq!(value(&m, "s3proxy_http_response_body_bytes_total"), 2100.0);
    assert_eq!(value(&m, "s3proxy_http_requests_in_flight"), 0.0);
    assert_eq!(
        value(&m, "s3proxy_sso_logins_total{stage=\"started\"}"),
        2.0
    );
    assert_eq!(
        value(&m, "s3proxy_sso_logins_total{stage=\"completed\"}"),
        1.0
    );
    assert_eq!(
        value(&m, "s3proxy_sso_token_checks_total{result=\"accepted\"}"),
        1.0
    );
    for (upstream, at_least) in [("s3", 4.0), ("redis", 6.0), ("sso", 2.0)] {
        let count = value(
            &m,
            &format!("s3proxy_upstream_request_duration_seconds_count{{upstream=\"{upstream}\",outcome=\"ok\"}}"),
        );
        assert!(count >= at_least, "{upstream}: {count}\n{m}");
    }
    assert!(value(&m, "process_resident_memory_bytes") > 1e6);
    assert!(value(&m, "process_open_fds") >= 3.0);
    assert!(m.contains("\nprocess_cpu_seconds_total "));
    assert!(
        !m.contains("a.bin") && !m.contains("test.user"),
        "a key or user in a label"
    );

    // Scrapes are not requests of the service; anything but GET /metrics is a 404.
    let again = scrape(metrics_port).await;
    assert_eq!(
        value(
            &again,
            "s3proxy_http_request_duration_seconds_count{method=\"GET\"}"
        ),
        7.0
    );
    assert_eq!(
        raw_get(metrics_port, "GET /other HTTP/1.1", &[])
            .await
            .status,
        404
    );
    assert_eq!(
        raw_get(metrics_port, "POST /metrics HTTP/1.1", &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn failures_are_counted_as_upstream_errors() {
    let metrics_port = free_port();
    let mut stack = stack()
        .env("METRICS_PORT", &metrics_port.to_string())
        .start()
        .await;
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    stack.stop_s3().await;
    let r = raw_get(
        stack.proxy.port(),
        "GET /x HTTP/1.1",
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(r.status, 500);
    stack.redis.kill();
    assert_eq!(
        raw_get(stack.proxy.port(), "GET /x HTTP/1.1", &[])
            .await
            .status,
        503
    );
    let m = scrape(metrics_port).await;
    for upstream in ["s3", "redis"] {
        let errors = value(
            &m,
            &format!("s3proxy_upstream_request_duration_seconds_count{{upstream=\"{upstream}\",outcome=\"error\"}}"),
        );
        assert!(errors >= 1.0, "{upstream}\n{m}");
    }
}

#[tokio::test]
async fn the_metrics_listener_closes_at_shutdown() {
    let metrics_port = free_port();
    let mut stack = stack()
        .env("METRICS_PORT", &metrics_port.to_string())
        .start()
        .await;
    scrape(metrics_port).await;
    stack.proxy.signal("TERM");
    assert_clean_exit(&mut stack.proxy, Duration::from_secs(3)).await;
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", metrics_port))
        .await
        .is_err());
}

/// The envelopes Sentry received, as text, one per request to its envelope endpoint.
fn envelopes(requests: &[Recorded]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.path.ends_with("/envelope/"))
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

fn events(envelopes: &[String]) -> Vec<&String> {
    envelopes
        .iter()
        .filter(|e| e.contains("\"type\":\"event\""))
        .collect()
}

/// One error event per 5xx, naming the dependency, with the request's method and path,
/// environment and ECS task tags; and not one secret in any byte Sentry receives.
#[tokio::test]
async fn each_server_error_is_one_sentry_event_without_secrets() {
    let sentry = Recorder::start().await;
    let ecs = Recorder::start().await;
    ecs.route(
        "/v4/task-meta/task",
        200,
        r#"{"Cluster":"c","TaskARN":"arn:aws:ecs:eu-west-2:111122223333:task/cluster/4f0e1d2c3b4a59687766554433221100"}"#,
    );
    let mut stack = stack()
        .env(
            "SENTRY_DSN",
            &format!("http://publickey@127.0.0.1:{}/42", sentry.port()),
        )
        .env("COPILOT_ENVIRONMENT_NAME", "prod-eu")
        .env("APP_ENV", "ignored")
        .env("ECS_CONTAINER_METADATA_URI_V4", &ecs.url("/v4/task-meta"))
        .env("SENTRY_ENABLE_TRACING", "true")
        .env("SENTRY_TRACES_SAMPLE_RATE", "1.0")
        .start()
        .await;
    let port = stack.proxy.port();
    stack.put_object("ok.txt", b"ok");
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    let session_id = cookie.split('=').nth(1).unwrap().to_string();
    // The state and PKCE verifier of a login in progress.
    let started = raw_get(port, "GET /next.txt?code=query-secret HTTP/1.1", &[]).await;
    let state = test_kit::state_of(started.header("location").unwrap());
    let verifier = stack
        .redis
        .get(&format!("s3proxy__sso_pkce__{state}"))
        .await
        .unwrap();
    assert_eq!(browser.get(&stack.proxy.url("/ok.txt")).await.status, 200);

    // Three dependencies fail, one 5xx each.
    stack.stop_s3().await;
    let s3 = raw_get(
        port,
        "GET /docs/a.pdf?token=query-secret HTTP/1.1",
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(s3.status, 500);
    stack.sso.update(|c| c.token_status = Some(502));
    let callback = test_kit::authorize(started.header("location").unwrap()).await;
    let sso = raw_get(port, &format!("GET {callback} HTTP/1.1"), &[]).await;
    assert_eq!(sso.status, 500);
    stack.redis.kill();
    let redis = raw_get(port, "GET /x.txt HTTP/1.1", &[("Cookie", &cookie)]).await;
    assert_eq!(redis.status, 503);

    // Flushed at shutdown.
    stack.proxy.signal("TERM");
    assert!(stack
        .proxy
        .wait_exit(Duration::from_secs(5))
        .await
        .is_some());
    let received = sentry
        .wait_for(Duration::from_secs(3), |r| events(&envelopes(r)).len() >= 3)
        .await;
    let all = envelopes(&received);
    let events = events(&all);
    assert_eq!(events.len(), 3, "one event per 5xx:\n{all:#?}");
    assert!(
        events.iter().all(|e| e.contains("\"release\":\"s3proxy@")),
        "{events:#?}"
    );
    for (dependency, path) in [
        ("s3", "/docs/a.pdf"),
        ("sso", "/__redirect_from_sso"),
        ("redis", "/x.txt"),
    ] {
        let event = events
            .iter()
            .find(|e| e.contains(&format!("\"dependency\":\"{dependency}\"")))
            .unwrap_or_else(|| panic!("no {dependency} event in {events:#?}"));
        // Sentry leaves out the level when it is the default, error.
        assert!(
            !event.contains("\"level\":") || event.contains("\"level\":\"error\""),
            "{event}"
        );
        assert!(
            event.contains(&format!("\"message\":\"{dependency} failed: ")),
            "{event}"
        );
        assert!(event.contains("\"method\":\"GET\""), "{event}");
        assert!(event.contains(&format!("{path}\"")), "{event}");
        assert!(event.contains("\"environment\":\"prod-eu\""), "{event}");
        assert!(
            event.contains("\"instance_id\":\"4f0e1d2c3b4a59687766554433221100\""),
            "{event}"
        );
    }
    assert!(
        all.iter().any(|e| e.contains("\"type\":\"transaction\"")),
        "tracing at rate 1 sent no transaction"
    );

    let everything = all.join("\n");
    for (what, secret) in [
        ("session id", session_id.as_str()),
        ("state", state.as_str()),
        ("PKCE verifier", verifier.as_str()),
        ("authorization code", "test-code"),
        ("access token", "test-token"),
        ("client secret", "test-client-secret"),
        ("AWS secret key", test_kit::S3_SECRET_KEY),
        ("query", "query-secret"),
        ("cookie name", "assets_session_id"),
    ] {
        assert!(!everything.contains(secret), "the {what} reached Sentry");
    }
}

/// Sentry being slow or stuck delays nothing: not start-up, not a request; and at exit
/// the queue is given 2 s, no more. A slow ECS metadata endpoint is given 2 s and the
/// tag stays `undefined`.
#[tokio::test]
async fn a_stuck_sentry_delays_nothing() {
    let sentry = Recorder::start().await;
    sentry.set_delay(Duration::from_secs(30));
    let ecs = Recorder::start().await;
    ecs.set_delay(Duration::from_secs(30));
    let started = Instant::now();
    let mut stack = stack()
        .env(
            "SENTRY_DSN",
            &format!("http://publickey@127.0.0.1:{}/42", sentry.port()),
        )
        .env("ECS_CONTAINER_METADATA_URI_V4", &ecs.url("/v4/slow"))
        .start()
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "start-up took {:?}",
        started.elapsed()
    );
    let browser = Browser::new();
    let cookie = login(&stack, &browser).await;
    stack.redis.kill();
    for _ in 0..5 {
        let asked = Instant::now();
        let r = raw_get(
            stack.proxy.port(),
            "GET /x HTTP/1.1",
            &[("Cookie", &cookie)],
        )
        .await;
        assert_eq!(r.status, 503);
        assert!(
            asked.elapsed() < Duration::from_millis(1500),
            "{:?}",
            asked.elapsed()
        );
    }
    // No idle keep-alive connection left to drain: the exit waits on Sentry alone.
    drop(browser);
    let signalled = Instant::now();
    stack.proxy.signal("TERM");
    let exited = stack.proxy.wait_exit(Duration::from_secs(8)).await;
    assert_eq!(exited.and_then(|s| s.code()), Some(0));
    assert!(
        signalled.elapsed() < Duration::from_millis(4500),
        "exit {:?} after SIGTERM",
        signalled.elapsed()
    );
    let received = sentry
        .wait_for(Duration::from_secs(1), |r| !r.is_empty())
        .await;
    let all = envelopes(&received);
    assert!(
        all.iter()
            .all(|e| !e.contains("\"instance_id\":\"")
                || e.contains("\"instance_id\":\"undefined\"")),
        "{all:#?}"
    );
}

#[test]
fn a_malformed_dsn_is_a_start_up_error() {
    let env = common::offline_env(&[("SENTRY_DSN", "https://no-project-id.example.com/")]);
    let (code, logs, _) = common::exit_of(&env, Duration::from_secs(5));
    assert_eq!(code, Some(2), "{logs}");
    assert!(logs.contains("SENTRY_DSN"), "{logs}");
    assert!(
        !logs.contains("no-project-id"),
        "the DSN was printed: {logs}"
    );
}
