//! `VCAP_SERVICES`, read by `Config::from_vars` on an otherwise valid environment.
//!
//! Properties: the configuration is accepted exactly when the JSON has a non-empty
//! string at `redis[0].credentials.uri` with a Redis scheme (or `memory://`), and then
//! it is that URL; an empty VCAP_SERVICES falls back to REDIS_ENDPOINT. A refusal names
//! VCAP_SERVICES alone, reads the same as for any other input with the same fault (so
//! it cannot depend on the value), and never contains the input (values may be secrets).
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3proxy_config::{Config, ConfigError, RedisTarget};
use serde_json::Value;

const FALLBACK: &str = "redis://fallback.invalid:6379/0";

fn config(vcap: &str) -> Result<Config, ConfigError> {
    let base = [
        ("PORT", "8080"),
        ("REDIS_ENDPOINT", FALLBACK),
        ("SSO_URL", "https://sso.example.com"),
        ("SSO_CLIENT_ID", "id"),
        ("SSO_CLIENT_SECRET", "secret"),
        ("AWS_DEFAULT_REGION", "eu-west-2"),
        ("AWS_S3_BUCKET", "bucket/prefix"),
        ("AWS_S3_HEALTHCHECK_KEY", "healthcheck.txt"),
    ];
    Config::from_vars(
        base.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([("VCAP_SERVICES".to_string(), vcap.to_string())]),
    )
}

/// What the input should give, worked out independently of the crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    NotJson,
    NoRedisEntry,
    NoUri,
    UriNotAString,
    BadScheme,
}

impl Fault {
    /// Another input with the same fault: its error must read the same.
    fn example(self) -> &'static str {
        match self {
            Fault::NotJson => "{",
            Fault::NoRedisEntry => r#"{"redis":[]}"#,
            Fault::NoUri => r#"{"redis":[{"credentials":{}}]}"#,
            Fault::UriNotAString => r#"{"redis":[{"credentials":{"uri":""}}]}"#,
            Fault::BadScheme => r#"{"redis":[{"credentials":{"uri":"http://h"}}]}"#,
        }
    }
}

fn expected(vcap: &str) -> Result<RedisTarget, Fault> {
    if vcap.is_empty() {
        return Ok(RedisTarget::Url(FALLBACK.to_string()));
    }
    let json: Value = serde_json::from_str(vcap).map_err(|_| Fault::NotJson)?;
    let entry = json
        .as_object()
        .and_then(|o| o.get("redis"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .ok_or(Fault::NoRedisEntry)?;
    let uri = entry
        .as_object()
        .and_then(|o| o.get("credentials"))
        .and_then(Value::as_object)
        .and_then(|c| c.get("uri"))
        .ok_or(Fault::NoUri)?;
    let uri = uri
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or(Fault::UriNotAString)?;
    if uri == "memory://" {
        return Ok(RedisTarget::Memory);
    }
    let schemes = ["redis://", "rediss://", "unix://", "redis+unix://"];
    if schemes.iter().any(|s| uri.starts_with(s)) {
        Ok(RedisTarget::Url(uri.to_string()))
    } else {
        Err(Fault::BadScheme)
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(vcap) = std::str::from_utf8(data) else {
        return;
    };
    match (config(vcap), expected(vcap)) {
        (Ok(c), Ok(target)) => assert_eq!(c.redis, target, "{vcap:?}"),
        (Err(e), Err(fault)) => {
            assert_eq!(e.problems.len(), 1, "{vcap:?}: {e}");
            assert_eq!(e.problems[0].variable, "VCAP_SERVICES", "{vcap:?}: {e}");
            let shown = e.to_string();
            assert!(shown.starts_with("VCAP_SERVICES: "), "{shown}");
            let same_fault = config(fault.example()).expect_err("the example fails");
            assert_eq!(shown, same_fault.to_string(), "{vcap:?} ({fault:?})");
            // No echo of the value (beyond a coincidence with the fixed wording).
            if vcap.len() > 8 && shown.contains(vcap) {
                assert!(
                    same_fault.to_string().contains(vcap) && !fault.example().contains(vcap),
                    "the error repeats the value: {shown}"
                );
            }
        }
        (got, want) => panic!("{vcap:?}: got {got:?}, expected {want:?}"),
    }
});
