//! SPEC §1: start-up validation, with the real binary.

mod common;

use std::time::Duration;

/// Start-up errors come at once: 5 s is a hang.
fn run(env: &[(String, String)]) -> (Option<i32>, String, Duration) {
    common::exit_of(env, Duration::from_secs(5))
}

fn without(env: &[(String, String)], name: &str) -> Vec<(String, String)> {
    env.iter().filter(|(k, _)| k != name).cloned().collect()
}

#[test]
fn each_missing_required_variable_is_named_and_exits_2_fast() {
    for name in [
        "PORT",
        "SSO_URL",
        "SSO_CLIENT_ID",
        "SSO_CLIENT_SECRET",
        "AWS_DEFAULT_REGION",
        "AWS_S3_BUCKET",
        "AWS_S3_HEALTHCHECK_KEY",
        "REDIS_ENDPOINT",
    ] {
        let (code, logs, elapsed) = run(&without(&common::offline_env(&[]), name));
        assert_eq!(code, Some(2), "without {name}: {logs}");
        assert!(logs.contains(name), "without {name}: {logs}");
        assert!(
            elapsed < Duration::from_secs(1),
            "without {name}: {elapsed:?}"
        );
        assert!(!logs.contains("very-secret-client-secret"), "{logs}");
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let mut env = without(&without(&common::offline_env(&[]), "SSO_URL"), "PORT");
    env.push(("VCAP_SERVICES".into(), "{not json".into()));
    env.push(("S3_USE_LOCAL".into(), "true".into()));
    let (code, logs, _) = run(&env);
    assert_eq!(code, Some(2));
    for name in ["PORT", "SSO_URL", "VCAP_SERVICES", "S3_ENDPOINT_URL"] {
        assert!(logs.contains(name), "{name} not named: {logs}");
    }
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut env = without(&common::offline_env(&[]), "PORT");
    env.push(("PORT".into(), port.clone()));
    let (code, logs, _) = run(&env);
    assert_eq!(code, Some(2), "{logs}");
    assert!(logs.contains("PORT") && logs.contains(&port), "{logs}");
}

/// Values that parse but would break at run time (a zero idle cut, an overflowing
/// shutdown timeout, a TTL Redis refuses), URLs without a host, and a healthcheck key
/// that no request could name: each is named at start-up, exit 2, nothing printed back.
#[test]
fn values_that_would_break_at_run_time_are_refused_at_start() {
    for (name, value) in [
        ("CLIENT_IDLE_TIMEOUT", "0"),
        ("SHUTDOWN_TIMEOUT", "18446744073709551615"),
        ("SHUTDOWN_TIMEOUT", "3601"),
        ("SSO_TOKEN_CHECK_GRACE_PERIOD", "9223372036854775"),
        ("KEEPALIVE_TIMEOUT", "0"),
        ("HEADER_READ_TIMEOUT", "3601"),
        ("SSO_URL", "http://"),
        ("SSO_URL", "http://sso example.com/"),
        ("SSO_URL_INTERNAL", "https://"),
        ("AWS_S3_HEALTHCHECK_KEY", "/x"),
        ("AWS_S3_HEALTHCHECK_KEY", "../x"),
        ("AWS_S3_HEALTHCHECK_KEY", "a/./b"),
        ("MAX_CONNECTIONS", "0"),
        ("FORWARDED_HOPS", "many"),
        ("CONTENT_SECURITY_POLICY", "sandbox\nX-Injected: 1"),
    ] {
        let mut env = without(&common::offline_env(&[]), name);
        env.push((name.into(), value.into()));
        let (code, logs, elapsed) = run(&env);
        assert_eq!(code, Some(2), "{name}={value:?}: {logs}");
        assert!(logs.contains(name), "{name}={value:?} not named: {logs}");
        assert!(elapsed < Duration::from_secs(1), "{name}: {elapsed:?}");
        assert!(!logs.contains("very-secret-client-secret"), "{logs}");
        assert!(!logs.contains("panicked"), "{logs}");
    }
}
