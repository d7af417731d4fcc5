use std::time::Duration;

use crate::{
    AccessConfig, Config, ConfigError, OidcConfig, RedisTarget, SameSite, SsoProvider, TraceSampler,
};

fn base() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PORT", "8080"),
        ("REDIS_ENDPOINT", "redis://127.0.0.1:6379/0"),
        ("SSO_URL", "https://sso.example.com/"),
        ("SSO_CLIENT_ID", "the-id"),
        ("SSO_CLIENT_SECRET", "super-secret-value"),
        ("AWS_DEFAULT_REGION", "eu-west-2"),
        ("AWS_S3_BUCKET", "my-bucket"),
        ("AWS_S3_HEALTHCHECK_KEY", "healthcheck.txt"),
    ]
}

fn read(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

fn with(extra: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
    let mut vars: Vec<(&str, &str)> = base()
        .into_iter()
        .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
        .collect();
    vars.extend(extra.iter().filter(|(_, v)| *v != "<unset>"));
    read(&vars)
}

fn variables(err: &ConfigError) -> Vec<&'static str> {
    err.problems.iter().map(|p| p.variable).collect()
}

#[test]
fn base_config_has_the_defaults() {
    let c = with(&[]).unwrap();
    assert_eq!(c.port, 8080);
    assert_eq!(c.redis, RedisTarget::Url("redis://127.0.0.1:6379/0".into()));
    assert_eq!(c.sso_url_internal, "https://sso.example.com/");
    assert_eq!(c.sso_token_check_grace_period, Duration::from_secs(3600));
    assert_eq!(c.shutdown_timeout, Duration::from_secs(10));
    assert_eq!(c.client_idle_timeout, Duration::from_secs(300));
    assert_eq!(c.key_prefix, "");
    assert_eq!(c.aws_keys, None);
    assert_eq!(c.s3_local_endpoint, None);
    assert_eq!(c.cookie_samesite, None);
}

#[test]
fn vcap_services_wins_over_redis_endpoint() {
    let c = with(&[(
        "VCAP_SERVICES",
        r#"{"redis": [{"credentials": {"uri": "redis://vcap-host:6380/1"}}]}"#,
    )])
    .unwrap();
    assert_eq!(c.redis, RedisTarget::Url("redis://vcap-host:6380/1".into()));
}

#[test]
fn malformed_vcap_services_is_an_error_without_fallback() {
    for vcap in [
        "not json",
        r#"{"postgres": []}"#,
        r#"{"redis": []}"#,
        r#"{"redis": [{"credentials": {}}]}"#,
        r#"{"redis": [{"credentials": {"uri": 5}}]}"#,
    ] {
        let vars = [base(), vec![("VCAP_SERVICES", vcap)]].concat();
        let err = read(&vars).unwrap_err();
        assert_eq!(variables(&err), vec!["VCAP_SERVICES"], "for {vcap}");
    }
}

#[test]
fn redis_endpoint_or_vcap_is_required() {
    let err = with(&[("REDIS_ENDPOINT", "<unset>")]).unwrap_err();
    assert_eq!(variables(&err), vec!["REDIS_ENDPOINT"]);
    assert!(err.to_string().contains("VCAP_SERVICES"));
}

#[test]
fn redis_url_scheme_is_checked_without_printing_it() {
    let err = with(&[("REDIS_ENDPOINT", "http://user:hunter2@host")]).unwrap_err();
    assert_eq!(variables(&err), vec!["REDIS_ENDPOINT"]);
    assert!(!err.to_string().contains("hunter2"));
}

#[test]
fn memory_url_selects_the_in_memory_store() {
    let c = with(&[("REDIS_ENDPOINT", "memory://")]).unwrap();
    assert_eq!(c.redis, RedisTarget::Memory);
}

#[test]
fn bucket_with_prefix_is_split() {
    let c = with(&[("AWS_S3_BUCKET", "my-bucket/some/prefix")]).unwrap();
    assert_eq!(c.bucket, "my-bucket");
    assert_eq!(c.key_prefix, "some/prefix");
    let c = with(&[("AWS_S3_BUCKET", "my-bucket/some/prefix/")]).unwrap();
    assert_eq!(c.key_prefix, "some/prefix");
}

#[test]
fn key_prefix_joins_after_the_bucket_path() {
    let c = with(&[("AWS_S3_BUCKET", "my-bucket/a"), ("KEY_PREFIX", "b")]).unwrap();
    assert_eq!(c.key_prefix, "a/b");
    let c = with(&[("KEY_PREFIX", "folder")]).unwrap();
    assert_eq!(c.key_prefix, "folder");
}

#[test]
fn empty_key_prefix_means_none() {
    let c = with(&[("KEY_PREFIX", "")]).unwrap();
    assert_eq!(c.key_prefix, "");
    let c = with(&[("AWS_S3_BUCKET", "my-bucket/p"), ("KEY_PREFIX", "")]).unwrap();
    assert_eq!(c.key_prefix, "p");
}

#[test]
fn sso_url_gets_a_trailing_slash_either_way() {
    let c = with(&[("SSO_URL", "https://sso.example.com")]).unwrap();
    assert_eq!(c.sso_url, "https://sso.example.com/");
    assert_eq!(c.sso_url_internal, "https://sso.example.com/");
    let c = with(&[("SSO_URL_INTERNAL", "http://sso:8001")]).unwrap();
    assert_eq!(c.sso_url, "https://sso.example.com/");
    assert_eq!(c.sso_url_internal, "http://sso:8001/");
}

#[test]
fn s3_use_local_spellings() {
    for on in ["1", "true", "True"] {
        let c = with(&[
            ("S3_USE_LOCAL", on),
            ("S3_ENDPOINT_URL", "http://minio:9000"),
        ])
        .unwrap();
        assert_eq!(
            c.s3_local_endpoint.as_deref(),
            Some("http://minio:9000"),
            "{on}"
        );
    }
    for off in ["0", "false", "False", ""] {
        let c = with(&[
            ("S3_USE_LOCAL", off),
            ("S3_ENDPOINT_URL", "http://minio:9000"),
        ])
        .unwrap();
        assert_eq!(c.s3_local_endpoint, None, "{off}");
    }
    let err = with(&[("S3_USE_LOCAL", "yes")]).unwrap_err();
    assert_eq!(variables(&err), vec!["S3_USE_LOCAL"]);
}

#[test]
fn s3_endpoint_is_required_only_when_local() {
    let err = with(&[("S3_USE_LOCAL", "true")]).unwrap_err();
    assert_eq!(variables(&err), vec!["S3_ENDPOINT_URL"]);
    assert!(with(&[("S3_USE_LOCAL", "false")]).is_ok());
}

#[test]
fn static_aws_keys_come_in_pairs() {
    let c = with(&[
        ("AWS_ACCESS_KEY_ID", "AKIA"),
        ("AWS_SECRET_ACCESS_KEY", "shh"),
    ])
    .unwrap();
    let keys = c.aws_keys.clone().unwrap();
    assert_eq!(keys.access_key_id, "AKIA");
    assert!(!format!("{c:?}").contains("shh"));
    let err = with(&[("AWS_ACCESS_KEY_ID", "AKIA")]).unwrap_err();
    assert_eq!(variables(&err), vec!["AWS_SECRET_ACCESS_KEY"]);
}

#[test]
fn every_problem_is_reported_at_once_and_no_secret_is_printed() {
    let err = read(&[
        ("PORT", "eighty"),
        ("SSO_CLIENT_SECRET", "super-secret-value"),
        ("SSO_TOKEN_CHECK_GRACE_PERIOD", "soon"),
        ("COOKIE_SAMESITE", "sometimes"),
    ])
    .unwrap_err();
    let vars = variables(&err);
    for expected in [
        "PORT",
        "REDIS_ENDPOINT",
        "SSO_URL",
        "SSO_CLIENT_ID",
        "SSO_TOKEN_CHECK_GRACE_PERIOD",
        "AWS_DEFAULT_REGION",
        "AWS_S3_BUCKET",
        "AWS_S3_HEALTHCHECK_KEY",
        "COOKIE_SAMESITE",
    ] {
        assert!(vars.contains(&expected), "{expected} missing from {vars:?}");
    }
    assert!(!vars.contains(&"SSO_CLIENT_SECRET"));
    assert!(!err.to_string().contains("super-secret-value"));
    assert!(!format!("{err:?}").contains("super-secret-value"));
}

#[test]
fn port_must_be_a_port() {
    let err = with(&[("PORT", "70000")]).unwrap_err();
    assert_eq!(variables(&err), vec!["PORT"]);
}

#[test]
fn optional_durations_and_samesite() {
    let c = with(&[
        ("SSO_TOKEN_CHECK_GRACE_PERIOD", "2"),
        ("SHUTDOWN_TIMEOUT", "3"),
        ("CLIENT_IDLE_TIMEOUT", "4"),
        ("COOKIE_SAMESITE", "Strict"),
    ])
    .unwrap();
    assert_eq!(c.sso_token_check_grace_period, Duration::from_secs(2));
    assert_eq!(c.shutdown_timeout, Duration::from_secs(3));
    assert_eq!(c.client_idle_timeout, Duration::from_secs(4));
    assert_eq!(c.cookie_samesite, Some(SameSite::Strict));
}

#[test]
fn timeouts_have_defaults_and_refuse_zero() {
    let c = with(&[]).unwrap();
    assert_eq!(c.sso_timeout, Duration::from_secs(10));
    assert_eq!(c.s3_timeout, Duration::from_secs(10));
    assert_eq!(c.redis_timeout, Duration::from_secs(2));
    assert_eq!(c.header_read_timeout, Duration::from_secs(10));
    let c = with(&[
        ("SSO_TIMEOUT", "1"),
        ("S3_TIMEOUT", "2"),
        ("REDIS_TIMEOUT", "3"),
    ])
    .unwrap();
    assert_eq!(
        (c.sso_timeout, c.s3_timeout, c.redis_timeout),
        (
            Duration::from_secs(1),
            Duration::from_secs(2),
            Duration::from_secs(3)
        )
    );
    let err = with(&[("SSO_TIMEOUT", "0"), ("HEADER_READ_TIMEOUT", "x")]).unwrap_err();
    assert_eq!(variables(&err), vec!["SSO_TIMEOUT", "HEADER_READ_TIMEOUT"]);
}

/// Values that parse but break at run time: a zero idle cut, a shutdown timeout that
/// overflows an `Instant`, a TTL Redis refuses.
#[test]
fn every_duration_is_bounded() {
    for (name, ok, bad) in [
        (
            "SHUTDOWN_TIMEOUT",
            &["0", "3600"][..],
            &["3601", "18446744073709551615", "-1"][..],
        ),
        (
            "SSO_TOKEN_CHECK_GRACE_PERIOD",
            &["0", "36000"],
            &["36001", "9223372036854775"],
        ),
        ("CLIENT_IDLE_TIMEOUT", &["1", "3600"], &["0", "3601"]),
        ("SSO_TIMEOUT", &["1", "3600"], &["0", "3601"]),
        ("S3_TIMEOUT", &["1", "3600"], &["0", "3601"]),
        ("REDIS_TIMEOUT", &["1", "3600"], &["0", "3601"]),
        ("HEADER_READ_TIMEOUT", &["1", "3600"], &["0", "3601"]),
        ("KEEPALIVE_TIMEOUT", &["1", "3600"], &["0", "3601", "1.5"]),
    ] {
        for v in ok {
            assert!(with(&[(name, v)]).is_ok(), "{name}={v} refused");
        }
        for v in bad {
            let err = with(&[(name, v)]).unwrap_err();
            assert_eq!(variables(&err), vec![name], "{name}={v}");
            assert!(err.to_string().contains("seconds from"), "{err}");
        }
    }
}

#[test]
fn keepalive_outlasts_the_balancers_by_default() {
    let c = with(&[]).unwrap();
    assert_eq!(c.keepalive_timeout, Duration::from_secs(120));
    let c = with(&[("KEEPALIVE_TIMEOUT", "3")]).unwrap();
    assert_eq!(c.keepalive_timeout, Duration::from_secs(3));
}

#[test]
fn sso_urls_must_be_absolute_with_a_host() {
    for name in ["SSO_URL", "SSO_URL_INTERNAL"] {
        for bad in [
            "http://",
            "https://",
            "http:// sso.example.com",
            "http://sso example.com/",
            "https://sso.example.com/a b/",
            "sso.example.com",
            "ftp://sso.example.com/",
            "https://sso.example.com/?next=x",
            "https://sso.example.com/#top",
            "/relative/",
        ] {
            let err = with(&[(name, bad)]).unwrap_err();
            assert_eq!(variables(&err), vec![name], "{name}={bad:?}");
        }
        for good in [
            "http://sso:8001",
            "https://sso.example.com/auth/",
            "http://127.0.0.1:1/",
        ] {
            assert!(with(&[(name, good)]).is_ok(), "{name}={good:?}");
        }
    }
}

#[test]
fn connection_cap_and_forwarded_hops() {
    let c = with(&[]).unwrap();
    assert_eq!(c.max_connections, None);
    assert_eq!(c.forwarded_hops, 1);
    let c = with(&[("MAX_CONNECTIONS", "5"), ("FORWARDED_HOPS", "0")]).unwrap();
    assert_eq!(c.max_connections, Some(5));
    assert_eq!(c.forwarded_hops, 0);
    let err = with(&[("MAX_CONNECTIONS", "0"), ("FORWARDED_HOPS", "x")]).unwrap_err();
    assert_eq!(variables(&err), vec!["MAX_CONNECTIONS", "FORWARDED_HOPS"]);
}

#[test]
fn session_cache_entries_has_a_default_an_off_and_bounds() {
    assert_eq!(with(&[]).unwrap().session_cache_entries, 100_000);
    let c = with(&[("SESSION_CACHE_ENTRIES", "0")]).unwrap();
    assert_eq!(c.session_cache_entries, 0, "0 turns the cache off");
    let c = with(&[("SESSION_CACHE_ENTRIES", " 2500 ")]).unwrap();
    assert_eq!(c.session_cache_entries, 2500);
    for bad in ["-1", "many", "1e5", "10000001"] {
        let err = with(&[("SESSION_CACHE_ENTRIES", bad)]).unwrap_err();
        assert_eq!(variables(&err), vec!["SESSION_CACHE_ENTRIES"], "{bad}");
    }
}

#[test]
fn content_security_policy_is_a_header_value() {
    assert_eq!(with(&[]).unwrap().content_security_policy, None);
    assert_eq!(
        with(&[("CONTENT_SECURITY_POLICY", "")])
            .unwrap()
            .content_security_policy,
        None
    );
    let c = with(&[("CONTENT_SECURITY_POLICY", "sandbox; default-src 'none'")]).unwrap();
    assert_eq!(
        c.content_security_policy.as_deref(),
        Some("sandbox; default-src 'none'")
    );
    let err = with(&[("CONTENT_SECURITY_POLICY", "sandbox\nX-Evil: 1")]).unwrap_err();
    assert_eq!(variables(&err), vec!["CONTENT_SECURITY_POLICY"]);
}

#[test]
fn unrelated_variables_are_ignored() {
    let vars = [base(), vec![("HOME", "/root"), ("WEIRD", "\u{fffd}")]].concat();
    assert!(read(&vars).is_ok());
}

#[test]
fn metrics_port_must_differ_from_port() {
    assert_eq!(with(&[]).unwrap().metrics_port, None);
    assert_eq!(
        with(&[("METRICS_PORT", "9100")]).unwrap().metrics_port,
        Some(9100)
    );
    for bad in ["8080", "0", "http", "70000"] {
        let err = with(&[("METRICS_PORT", bad)]).unwrap_err();
        assert_eq!(variables(&err), vec!["METRICS_PORT"], "{bad}");
    }
}

#[test]
fn access_lists_are_comma_separated_and_trimmed() {
    let config = with(&[
        ("ALLOWED_EMAILS", " a@example.com, ,B@Example.com "),
        ("ALLOWED_EMAIL_DOMAINS", "example.gov.uk"),
        ("ACCESS_RULES_FILE", "/etc/s3proxy/rules.toml"),
    ])
    .unwrap();
    assert_eq!(
        config.access.allowed_emails,
        ["a@example.com", "B@Example.com"]
    );
    assert_eq!(config.access.allowed_email_domains, ["example.gov.uk"]);
    assert!(config.access.allowed_groups.is_empty());
    assert_eq!(
        config.access.rules_file.as_deref(),
        Some(std::path::Path::new("/etc/s3proxy/rules.toml"))
    );
    assert_eq!(with(&[]).unwrap().access, AccessConfig::default());
}

#[test]
fn the_sign_out_redirect_must_be_an_absolute_url() {
    let url = "https://sso.example.com/logout/?next=https%3A%2F%2Fexample.com";
    let config = with(&[("SIGN_OUT_REDIRECT_URL", url)]).unwrap();
    assert_eq!(config.sign_out_redirect_url.as_deref(), Some(url));
    assert_eq!(with(&[]).unwrap().sign_out_redirect_url, None);
    for bad in [
        "/relative",
        "ftp://x/",
        "https://x/a b",
        "javascript:alert(1)",
    ] {
        let err = with(&[("SIGN_OUT_REDIRECT_URL", bad)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SIGN_OUT_REDIRECT_URL"), "{bad}: {err}");
    }
}

#[test]
fn binding_sign_ins_to_their_browser_is_off_unless_turned_on() {
    assert!(!with(&[]).unwrap().sso_bind_state);
    for (v, on) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("false", false),
        ("0", false),
        ("", false),
    ] {
        assert_eq!(
            with(&[("SSO_BIND_STATE", v)]).unwrap().sso_bind_state,
            on,
            "{v}"
        );
    }
    let err = with(&[("SSO_BIND_STATE", "yes")]).unwrap_err().to_string();
    assert!(err.contains("SSO_BIND_STATE"), "{err}");
}

#[test]
fn pkce_is_on_unless_turned_off() {
    assert!(with(&[]).unwrap().sso_pkce);
    for (v, on) in [
        ("false", false),
        ("FALSE", false),
        ("0", false),
        ("True", true),
        ("1", true),
    ] {
        assert_eq!(with(&[("SSO_PKCE", v)]).unwrap().sso_pkce, on, "{v}");
    }
    let err = with(&[("SSO_PKCE", "no")]).unwrap_err();
    assert_eq!(variables(&err), vec!["SSO_PKCE"]);
}

#[test]
fn sentry_is_off_without_a_dsn_and_its_variables_are_checked_anyway() {
    assert_eq!(with(&[]).unwrap().sentry, None);
    assert_eq!(with(&[("SENTRY_DSN", "")]).unwrap().sentry, None);
    let err = with(&[
        ("SENTRY_ENABLE_TRACING", "yes"),
        ("SENTRY_TRACES_SAMPLE_RATE", "1.5"),
    ])
    .unwrap_err();
    assert_eq!(
        variables(&err),
        vec!["SENTRY_ENABLE_TRACING", "SENTRY_TRACES_SAMPLE_RATE"]
    );
    let err = with(&[("SENTRY_TRACES_SAMPLE_RATE", "lots")]).unwrap_err();
    assert_eq!(variables(&err), vec!["SENTRY_TRACES_SAMPLE_RATE"]);
}

#[test]
fn sentry_settings_and_environment_precedence() {
    let dsn = ("SENTRY_DSN", "https://key@o1.ingest.sentry.io/42");
    let s = with(&[dsn]).unwrap().sentry.unwrap();
    assert_eq!(s.environment, "undefined");
    assert!(!s.enable_tracing);
    assert_eq!(s.traces_sample_rate, 0.0);
    assert!(!format!("{s:?}").contains("key@"));
    let s = with(&[dsn, ("APP_ENV", "staging")])
        .unwrap()
        .sentry
        .unwrap();
    assert_eq!(s.environment, "staging");
    let s = with(&[
        dsn,
        ("APP_ENV", "staging"),
        ("COPILOT_ENVIRONMENT_NAME", "prod"),
        ("SENTRY_ENABLE_TRACING", "TRUE"),
        ("SENTRY_TRACES_SAMPLE_RATE", "0.25"),
        (
            "ECS_CONTAINER_METADATA_URI_V4",
            "http://169.254.170.2/v4/abc",
        ),
    ])
    .unwrap()
    .sentry
    .unwrap();
    assert_eq!(s.environment, "prod");
    assert!(s.enable_tracing);
    assert_eq!(s.traces_sample_rate, 0.25);
    assert_eq!(
        s.ecs_metadata_uri.as_deref(),
        Some("http://169.254.170.2/v4/abc")
    );
    let err = with(&[dsn, ("ECS_CONTAINER_METADATA_URI_V4", "not a url")]).unwrap_err();
    assert_eq!(variables(&err), vec!["ECS_CONTAINER_METADATA_URI_V4"]);
}

#[test]
fn the_staff_sso_is_the_default_provider() {
    assert_eq!(with(&[]).unwrap().sso_provider, SsoProvider::StaffSso);
    for staff in ["", "staff-sso", "Staff-SSO", " staff-sso "] {
        let c = with(&[("SSO_PROVIDER", staff)]).unwrap();
        assert_eq!(c.sso_provider, SsoProvider::StaffSso, "{staff:?}");
    }
}

#[test]
fn oidc_has_default_scopes_and_groups_claim() {
    let c = with(&[("SSO_PROVIDER", "oidc")]).unwrap();
    assert_eq!(
        c.sso_provider,
        SsoProvider::Oidc(OidcConfig {
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            groups_claim: "groups".into(),
        })
    );
    assert_eq!(
        with(&[("SSO_PROVIDER", "OIDC")]).unwrap().sso_provider,
        c.sso_provider
    );
}

#[test]
fn oidc_scopes_always_include_openid() {
    for (value, scopes) in [
        ("email groups", &["openid", "email", "groups"][..]),
        ("profile  openid\temail", &["profile", "openid", "email"]),
        ("openid openid", &["openid"]),
        (
            "https://graph.example.com/User.Read",
            &["openid", "https://graph.example.com/User.Read"],
        ),
    ] {
        let c = with(&[
            ("SSO_PROVIDER", "oidc"),
            ("OIDC_SCOPES", value),
            ("OIDC_GROUPS_CLAIM", "https://example.com/claims/roles"),
        ])
        .unwrap();
        let SsoProvider::Oidc(oidc) = c.sso_provider else {
            panic!("not oidc");
        };
        assert_eq!(oidc.scopes, scopes, "{value:?}");
        assert_eq!(oidc.groups_claim, "https://example.com/claims/roles");
    }
}

#[test]
fn sso_provider_and_oidc_variables_are_checked_in_either_mode() {
    let err = with(&[("SSO_PROVIDER", "keycloak")]).unwrap_err();
    assert_eq!(variables(&err), vec!["SSO_PROVIDER"]);
    assert!(err.to_string().contains("staff-sso or oidc"), "{err}");
    // A mistake in the OpenID variables shows before the day they are used.
    for provider in ["staff-sso", "oidc"] {
        let err = with(&[
            ("SSO_PROVIDER", provider),
            ("OIDC_SCOPES", "openid \"email\""),
            ("OIDC_GROUPS_CLAIM", "my groups"),
        ])
        .unwrap_err();
        assert_eq!(
            variables(&err),
            vec!["OIDC_SCOPES", "OIDC_GROUPS_CLAIM"],
            "{provider}"
        );
    }
    let err = with(&[("OIDC_SCOPES", "openid caf\u{e9}")]).unwrap_err();
    assert_eq!(variables(&err), vec!["OIDC_SCOPES"]);
}

#[test]
fn tracing_is_off_unless_asked_for() {
    let c = with(&[]).unwrap();
    assert_eq!((c.xray, c.otlp), (None, None));
    for off in ["", "false", "0", "FALSE"] {
        assert_eq!(with(&[("ENABLE_XRAY", off)]).unwrap().xray, None, "{off:?}");
    }
    // The Python service took only "true"; a value that means nothing is an error.
    let err = with(&[("ENABLE_XRAY", "yes")]).unwrap_err();
    assert_eq!(variables(&err), vec!["ENABLE_XRAY"]);
}

#[test]
fn x_ray_daemon_address_and_name() {
    for on in ["true", "True", "1"] {
        let x = with(&[("ENABLE_XRAY", on)]).unwrap().xray.unwrap();
        assert_eq!(x.daemon_address, "127.0.0.1:2000");
        assert_eq!(x.tracing_name, "S3Proxy");
    }
    let daemon = |address: &'static str| {
        with(&[
            ("ENABLE_XRAY", "true"),
            ("AWS_XRAY_DAEMON_ADDRESS", address),
        ])
        .map(|c| c.xray.unwrap().daemon_address)
    };
    assert_eq!(daemon("xray-daemon:2000").unwrap(), "xray-daemon:2000");
    assert_eq!(daemon("[::1]:2000").unwrap(), "[::1]:2000");
    assert_eq!(
        daemon("tcp:127.0.0.1:2000 udp:127.0.0.2:2001").unwrap(),
        "127.0.0.2:2001"
    );
    assert_eq!(daemon("udp:xray:2001  tcp:xray:2000").unwrap(), "xray:2001");
    for bad in [
        "localhost",
        "127.0.0.1:0",
        "127.0.0.1:99999",
        ":2000",
        "udp:127.0.0.1:2000",
        "tcp:127.0.0.1:2000 tcp:127.0.0.1:2001",
        "bad host:2000",
        "[::1:2000",
        "http://127.0.0.1:2000",
    ] {
        let err = daemon(bad).unwrap_err();
        assert_eq!(variables(&err), vec!["AWS_XRAY_DAEMON_ADDRESS"], "{bad:?}");
    }
    // Checked even while X-Ray is off.
    let err = with(&[("AWS_XRAY_DAEMON_ADDRESS", "nowhere")]).unwrap_err();
    assert_eq!(variables(&err), vec!["AWS_XRAY_DAEMON_ADDRESS"]);

    let named = with(&[
        ("ENABLE_XRAY", "1"),
        ("AWS_XRAY_TRACING_NAME", "Assets proxy-eu/1"),
    ]);
    assert_eq!(
        named.unwrap().xray.unwrap().tracing_name,
        "Assets proxy-eu/1"
    );
    for bad in ["a;b", "quote\"d", &"x".repeat(201)] {
        let bad: &'static str = Box::leak(bad.to_string().into_boxed_str());
        let err = with(&[("AWS_XRAY_TRACING_NAME", bad)]).unwrap_err();
        assert_eq!(variables(&err), vec!["AWS_XRAY_TRACING_NAME"]);
    }
}

#[test]
fn an_otlp_endpoint_turns_opentelemetry_on_with_the_standard_defaults() {
    let o = with(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")])
        .unwrap()
        .otlp
        .unwrap();
    assert_eq!(o.traces_endpoint, "http://collector:4318/v1/traces");
    assert_eq!(o.service_name, "s3proxy");
    assert_eq!(o.sampler, TraceSampler::ParentBasedAlwaysOn);
    assert_eq!(o.timeout, Duration::from_secs(10));
    assert!(o.headers.is_empty());
    let base = with(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "https://otlp.example.com/prefix/",
    )]);
    assert_eq!(
        base.unwrap().otlp.unwrap().traces_endpoint,
        "https://otlp.example.com/prefix/v1/traces"
    );
    // The signal's own endpoint is taken as it is, and wins.
    let traces = with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://traces:9999/custom",
        ),
        ("OTEL_SERVICE_NAME", "assets"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
    ])
    .unwrap()
    .otlp
    .unwrap();
    assert_eq!(traces.traces_endpoint, "http://traces:9999/custom");
    assert_eq!(traces.service_name, "assets");
    assert_eq!(traces.timeout, Duration::from_millis(2500));

    for (variable, value) in [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "ftp://collector/v1/traces",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "0"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "10s"),
    ] {
        let err = with(&[(variable, value)]).unwrap_err();
        assert_eq!(variables(&err), vec![variable], "{value:?}");
    }
}

#[test]
fn otlp_headers_are_parsed_decoded_and_never_printed() {
    let o = with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-api-key=s3cr3t-key, Authorization=Basic%20dXNlcjpwYXNz,",
        ),
    ])
    .unwrap()
    .otlp
    .unwrap();
    assert_eq!(
        o.headers,
        vec![
            ("x-api-key".to_string(), "s3cr3t-key".to_string()),
            (
                "Authorization".to_string(),
                "Basic dXNlcjpwYXNz".to_string()
            ),
        ]
    );
    let printed = format!("{o:?}");
    assert!(
        !printed.contains("s3cr3t-key") && !printed.contains("dXNlcjpwYXNz"),
        "{printed}"
    );
    assert!(!printed.contains("collector"), "{printed}");

    let traces = with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=2"),
    ]);
    assert_eq!(
        traces.unwrap().otlp.unwrap().headers,
        vec![("b".to_string(), "2".to_string())]
    );

    for bad in ["novalue", "bad name=v", "x=line%0Abreak", "=v", "x=%zz"] {
        let err = with(&[("OTEL_EXPORTER_OTLP_HEADERS", bad)]).unwrap_err();
        assert_eq!(
            variables(&err),
            vec!["OTEL_EXPORTER_OTLP_HEADERS"],
            "{bad:?}"
        );
    }
    let err = with(&[("OTEL_EXPORTER_OTLP_HEADERS", "ok=1,key-only-s3cr3t")]).unwrap_err();
    assert!(err.to_string().contains("entry 2"), "{err}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}

#[test]
fn otel_samplers_and_their_argument() {
    let sampler = |name: &'static str, arg: &'static str| {
        with(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_TRACES_SAMPLER", name),
            ("OTEL_TRACES_SAMPLER_ARG", arg),
        ])
        .map(|c| c.otlp.unwrap().sampler)
    };
    assert_eq!(sampler("always_on", "").unwrap(), TraceSampler::AlwaysOn);
    assert_eq!(sampler("always_off", "").unwrap(), TraceSampler::AlwaysOff);
    assert_eq!(
        sampler("parentbased_always_off", "").unwrap(),
        TraceSampler::ParentBasedAlwaysOff
    );
    assert_eq!(
        sampler("parentbased_always_on", "").unwrap(),
        TraceSampler::ParentBasedAlwaysOn
    );
    assert_eq!(
        sampler("traceidratio", "").unwrap(),
        TraceSampler::TraceIdRatio(1.0)
    );
    assert_eq!(
        sampler("TraceIdRatio", "0.25").unwrap(),
        TraceSampler::TraceIdRatio(0.25)
    );
    assert_eq!(
        sampler("parentbased_traceidratio", "0").unwrap(),
        TraceSampler::ParentBasedTraceIdRatio(0.0)
    );
    // Ignored by samplers that take none.
    assert_eq!(
        sampler("always_on", "nonsense").unwrap(),
        TraceSampler::AlwaysOn
    );
    let err = sampler("traceidratio", "1.5").unwrap_err();
    assert_eq!(variables(&err), vec!["OTEL_TRACES_SAMPLER_ARG"]);
    let err = sampler("jaeger_remote", "").unwrap_err();
    assert_eq!(variables(&err), vec!["OTEL_TRACES_SAMPLER"]);
}
