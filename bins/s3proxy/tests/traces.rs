//! Traces as the X-Ray daemon and an OTLP collector receive them from the real binary:
//! a local UDP socket stands in for the daemon, a local HTTP server for the collector
//! (its protobuf decoded with the OpenTelemetry crates), and one for S3 where a test
//! looks at the trace headers of the S3 request.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::stack;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::Value;
use test_kit::{free_port, raw_get, RawResponse, Recorder};
use tokio::net::UdpSocket;

/// Stands in for the X-Ray daemon: every datagram, as received.
struct Daemon {
    socket: UdpSocket,
    received: Vec<Vec<u8>>,
}

impl Daemon {
    async fn start() -> Daemon {
        Daemon {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            received: Vec::new(),
        }
    }

    fn address(&self) -> String {
        self.socket.local_addr().unwrap().to_string()
    }

    /// Collects datagrams until `count` have come in all, or nothing more comes for
    /// `quiet`.
    async fn collect(&mut self, count: usize, quiet: Duration) {
        let mut buf = vec![0u8; 65536];
        while self.received.len() < count {
            match tokio::time::timeout(quiet, self.socket.recv(&mut buf)).await {
                Ok(Ok(n)) => self.received.push(buf[..n].to_vec()),
                _ => return,
            }
        }
    }

    /// The segments received, each datagram's header line checked.
    fn segments(&self) -> Vec<Value> {
        self.received
            .iter()
            .map(|d| {
                let text = std::str::from_utf8(d).expect("a UTF-8 datagram");
                let (header, body) = text.split_once('\n').expect("a header line");
                assert_eq!(header, r#"{"format": "json", "version": 1}"#);
                serde_json::from_str(body).expect("a JSON segment")
            })
            .collect()
    }

    fn segment_of(&self, root: &str) -> Value {
        self.segments()
            .into_iter()
            .find(|s| s["trace_id"] == root)
            .unwrap_or_else(|| panic!("no segment of {root} in {:#?}", self.segments()))
    }
}

/// A new X-Ray trace id, as a caller would send it.
fn new_root() -> String {
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let random: u128 = rand_u96();
    format!("1-{second:08x}-{random:024x}")
}

fn rand_u96() -> u128 {
    // The test's own ids need only differ; the clock's nanoseconds and a counter do.
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    (u128::from(nanos) << 32 | u128::from(N.fetch_add(1, Ordering::Relaxed))) & ((1 << 96) - 1)
}

fn sampled(root: &str) -> String {
    format!("Root={root};Sampled=1")
}

fn names(segment: &Value) -> Vec<String> {
    segment["subsegments"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|s| s["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn subsegment<'a>(segment: &'a Value, name: &str) -> &'a Value {
    segment["subsegments"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no {name} subsegment in {segment:#}"))
}

/// A sign-in and a download, every request traced: one segment each, with the calls it
/// made as subsegments, the fields X-Ray shows, and not one secret in any byte.
#[tokio::test]
async fn a_sign_in_and_a_download_are_segments_with_their_calls_and_no_secret() {
    let mut daemon = Daemon::start().await;
    let stack = stack()
        .env("ENABLE_XRAY", "true")
        .env("AWS_XRAY_DAEMON_ADDRESS", &daemon.address())
        // Every authenticated request asks the SSO: its call shows in the download.
        .env("SSO_TOKEN_CHECK_GRACE_PERIOD", "0")
        .sso(|c| {
            c.client_secret = "client-secret-8e1d6a".into();
            c.code = "auth-code-53c0b7".into();
            c.tokens = vec!["access-token-f94e21".into()];
        })
        .start()
        .await;
    stack.put_object("doc.txt", b"twelve bytes");
    let port = stack.proxy.port();

    // 1. Anonymous: sent to the SSO.
    let root1 = new_root();
    let started = raw_get(
        port,
        "GET /doc.txt?token=query-secret-5d1f HTTP/1.1",
        &[("X-Amzn-Trace-Id", &sampled(&root1))],
    )
    .await;
    assert_eq!(started.status, 302);
    assert_eq!(
        started.header("x-amzn-trace-id"),
        Some(format!("Root={root1}").as_str())
    );
    let location = started.header("location").unwrap().to_string();
    let state = test_kit::state_of(&location);
    let verifier = stack
        .redis
        .get(&format!("s3proxy__sso_pkce__{state}"))
        .await
        .expect("the PKCE verifier");

    // 2. The callback.
    let callback = test_kit::authorize(&location).await;
    let root2 = new_root();
    let signed_in = raw_get(
        port,
        &format!("GET {callback} HTTP/1.1"),
        &[("X-Amzn-Trace-Id", &sampled(&root2))],
    )
    .await;
    assert_eq!(signed_in.status, 302);
    let cookie = signed_in
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let session_id = cookie.split_once('=').unwrap().1.to_string();

    // 3. The download, from behind a balancer, in a trace the caller began.
    let root3 = new_root();
    let downloaded = raw_get(
        port,
        "GET /doc.txt?x=query-secret-5d1f HTTP/1.1",
        &[
            ("Cookie", &cookie),
            ("User-Agent", "trace-test/1.0"),
            ("X-Forwarded-For", "198.51.100.1, 203.0.113.9"),
            (
                "X-Amzn-Trace-Id",
                &format!("Root={root3};Parent=53995c3f42cd8ad8;Sampled=1"),
            ),
        ],
    )
    .await;
    assert_eq!(downloaded.status, 200);
    assert_eq!(downloaded.body, b"twelve bytes");
    assert_eq!(
        downloaded.header("x-amzn-trace-id"),
        Some(format!("Root={root3}").as_str())
    );

    // 4. A HEAD, and a key that is not there.
    let root4 = new_root();
    let head = raw_get(
        port,
        "HEAD /doc.txt HTTP/1.1",
        &[("Cookie", &cookie), ("X-Amzn-Trace-Id", &sampled(&root4))],
    )
    .await;
    assert_eq!(head.status, 200);
    let root5 = new_root();
    let missing = raw_get(
        port,
        "GET /missing.txt HTTP/1.1",
        &[("Cookie", &cookie), ("X-Amzn-Trace-Id", &sampled(&root5))],
    )
    .await;
    assert_eq!(missing.status, 404);

    daemon.collect(5, Duration::from_secs(3)).await;
    assert_eq!(daemon.received.len(), 5, "{:#?}", daemon.segments());

    let login = daemon.segment_of(&root1);
    assert_eq!(login["name"], "S3Proxy");
    assert_eq!(login["http"]["response"]["status"], 302);
    assert_eq!(
        login["http"]["request"]["url"],
        format!("http://127.0.0.1:{port}/doc.txt")
    );
    assert!(login.get("parent_id").is_none());
    assert_eq!(names(&login), ["Redis"]);

    let callback_segment = daemon.segment_of(&root2);
    assert_eq!(
        callback_segment["http"]["request"]["url"],
        format!("http://127.0.0.1:{port}/__redirect_from_sso")
    );
    assert_eq!(names(&callback_segment), ["Redis", "SSO", "Redis"]);
    assert_eq!(subsegment(&callback_segment, "SSO")["namespace"], "remote");

    let download = daemon.segment_of(&root3);
    assert_eq!(download["parent_id"], "53995c3f42cd8ad8");
    let id = download["id"].as_str().unwrap();
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let request = &download["http"]["request"];
    assert_eq!(request["method"], "GET");
    assert_eq!(request["url"], format!("http://127.0.0.1:{port}/doc.txt"));
    assert_eq!(
        request["client_ip"], "203.0.113.9",
        "FORWARDED_HOPS=1 picks it"
    );
    assert_eq!(request["user_agent"], "trace-test/1.0");
    assert_eq!(download["http"]["response"]["status"], 200);
    assert_eq!(download["http"]["response"]["content_length"], 12);
    let (start, end) = (
        download["start_time"].as_f64().unwrap(),
        download["end_time"].as_f64().unwrap(),
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        now - 60.0 < start && start <= end && end <= now + 1.0,
        "{start} {end} {now}"
    );
    assert_eq!(names(&download), ["Redis", "SSO", "Redis", "S3"]);
    let s3 = subsegment(&download, "S3");
    assert_eq!(s3["namespace"], "aws");
    assert_eq!(s3["aws"]["operation"], "GetObject");
    assert_eq!(s3["aws"]["bucket_name"], test_kit::BUCKET);
    assert_eq!(s3["http"]["response"]["status"], 200);
    for flag in ["error", "throttle", "fault"] {
        assert!(download.get(flag).is_none(), "{download:#}");
    }
    let redis = subsegment(&download, "Redis");
    assert_eq!(redis["namespace"], "remote");

    let head = daemon.segment_of(&root4);
    assert_eq!(head["http"]["request"]["method"], "HEAD");
    assert_eq!(subsegment(&head, "S3")["aws"]["operation"], "HeadObject");

    let missing = daemon.segment_of(&root5);
    assert_eq!(missing["http"]["response"]["status"], 404);
    assert_eq!(missing["error"], true);
    assert_eq!(subsegment(&missing, "S3")["error"], true);

    let everything: Vec<u8> = daemon.received.concat();
    let everything = String::from_utf8_lossy(&everything);
    for (what, secret) in [
        ("session id", session_id.as_str()),
        ("state", state.as_str()),
        ("PKCE verifier", verifier.as_str()),
        ("authorization code", "auth-code-53c0b7"),
        ("access token", "access-token-f94e21"),
        ("client secret", "client-secret-8e1d6a"),
        ("AWS secret key", test_kit::S3_SECRET_KEY),
        ("query", "query-secret-5d1f"),
        ("cookie name", "assets_session_id"),
        ("client id", "test-client-id"),
    ] {
        assert!(!everything.contains(secret), "the {what} reached X-Ray");
    }
}

/// With S3 at a recorder: the S3 request carries the trace, naming the S3 subsegment
/// as its parent, in both X-Ray's and W3C's headers; the caller's decision travels on.
#[tokio::test]
async fn the_s3_request_carries_the_trace_and_the_callers_decision() {
    let mut daemon = Daemon::start().await;
    let s3 = Recorder::start().await;
    let stack = stack()
        .env("ENABLE_XRAY", "1")
        .env("AWS_XRAY_DAEMON_ADDRESS", &daemon.address())
        .env("AWS_XRAY_TRACING_NAME", "Assets")
        .env("S3_ENDPOINT_URL", &s3.url(""))
        .start()
        .await;
    let port = stack.proxy.port();
    let health = format!("GET /{} HTTP/1.1", test_kit::HEALTHCHECK_KEY);

    let root = new_root();
    let r = raw_get(
        port,
        &health,
        &[(
            "X-Amzn-Trace-Id",
            &format!("Root={root};Parent=1111111111111111;Sampled=1"),
        )],
    )
    .await;
    assert_eq!(r.status, 200);
    daemon.collect(1, Duration::from_secs(3)).await;
    let segment = daemon.segment_of(&root);
    assert_eq!(segment["name"], "Assets");
    let s3_id = subsegment(&segment, "S3")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let recorded = s3.requests();
    let sent = recorded.last().expect("the S3 request");
    assert_eq!(
        sent.header("x-amzn-trace-id"),
        Some(format!("Root={root};Parent={s3_id};Sampled=1").as_str())
    );
    let w3c_trace = root[2..].replace('-', "");
    assert_eq!(
        sent.header("traceparent"),
        Some(format!("00-{w3c_trace}-{s3_id}-01").as_str())
    );
    // Outside the signature.
    let authorization = sent.header("authorization").unwrap();
    assert!(!authorization.contains("x-amzn-trace-id") && !authorization.contains("traceparent"));

    // Sampled=0: no segment here, and S3 is told not to trace either.
    let unsampled = new_root();
    let r = raw_get(
        port,
        &health,
        &[("X-Amzn-Trace-Id", &format!("Root={unsampled};Sampled=0"))],
    )
    .await;
    assert_eq!(
        r.header("x-amzn-trace-id"),
        Some(format!("Root={unsampled}").as_str())
    );
    let sent = s3.requests().last().cloned().unwrap();
    let header = sent.header("x-amzn-trace-id").unwrap();
    assert!(
        header.starts_with(&format!("Root={unsampled};Parent=")) && header.ends_with(";Sampled=0"),
        "{header}"
    );
    assert!(sent.header("traceparent").unwrap().ends_with("-00"));

    // Sampled=?: decided here and answered.
    let root = new_root();
    let r = raw_get(
        port,
        &health,
        &[("X-Amzn-Trace-Id", &format!("Root={root};Sampled=?"))],
    )
    .await;
    let answer = r.header("x-amzn-trace-id").unwrap();
    assert!(
        answer == format!("Root={root};Sampled=1") || answer == format!("Root={root};Sampled=0"),
        "{answer}"
    );

    // A W3C traceparent alone names the trace too.
    let r = raw_get(
        port,
        &health,
        &[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )],
    )
    .await;
    assert_eq!(
        r.header("x-amzn-trace-id"),
        Some("Root=1-4bf92f35-77b34da6a3ce929d0e0e4736")
    );
    daemon.collect(3, Duration::from_secs(3)).await;
    let from_w3c = daemon.segment_of("1-4bf92f35-77b34da6a3ce929d0e0e4736");
    assert_eq!(from_w3c["parent_id"], "00f067aa0ba902b7");
    assert!(
        daemon
            .segments()
            .iter()
            .all(|s| s["trace_id"] != unsampled.as_str()),
        "a Sampled=0 request was sent"
    );
}

fn root_of(header: &str) -> String {
    header
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("Root=")
        .to_string()
}

/// Without a decision from the caller: X-Ray's default rule, the first request of each
/// second and 5 % of the rest. Every response names its trace, and a new trace id
/// begins with the epoch second.
#[tokio::test]
async fn without_a_decision_x_rays_default_rule_samples() {
    let mut daemon = Daemon::start().await;
    let stack = stack()
        .env("ENABLE_XRAY", "TRUE")
        .env("AWS_XRAY_DAEMON_ADDRESS", &daemon.address())
        .start()
        .await;
    stack.put_object(test_kit::HEALTHCHECK_KEY, b"OK");
    let port = stack.proxy.port();
    let health = format!("HEAD /{} HTTP/1.1", test_kit::HEALTHCHECK_KEY);
    let began = Instant::now();
    let mut roots = Vec::new();
    for _ in 0..80 {
        let r = raw_get(port, &health, &[]).await;
        assert_eq!(r.status, 200);
        let root = root_of(r.header("x-amzn-trace-id").expect("a trace header"));
        let second = u64::from_str_radix(&root[2..10], 16).unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(second <= now && now - second < 5, "{root}");
        roots.push(root);
    }
    let seconds = began.elapsed().as_secs() + 2;
    daemon.collect(80, Duration::from_secs(2)).await;
    let received: Vec<String> = daemon
        .segments()
        .iter()
        .map(|s| s["trace_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        received.first(),
        Some(&roots[0]),
        "the first request was not sampled"
    );
    // One per second started, plus 5 % of 80 (4); generous either way.
    let most = seconds as usize + 20;
    assert!(
        (1..=most).contains(&received.len()) && received.len() < 60,
        "{} of 80 sampled in about {seconds} s",
        received.len()
    );
    assert!(received.iter().all(|r| roots.contains(r)));
}

/// ENABLE_XRAY unset: not one datagram, no trace header on the response or to S3.
#[tokio::test]
async fn without_enable_xray_nothing_is_sent() {
    let mut daemon = Daemon::start().await;
    let s3 = Recorder::start().await;
    let stack = stack()
        .env("AWS_XRAY_DAEMON_ADDRESS", &daemon.address())
        .env("S3_ENDPOINT_URL", &s3.url(""))
        .start()
        .await;
    let port = stack.proxy.port();
    for _ in 0..3 {
        let r = raw_get(
            port,
            &format!("GET /{} HTTP/1.1", test_kit::HEALTHCHECK_KEY),
            &[("X-Amzn-Trace-Id", &sampled(&new_root()))],
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-amzn-trace-id"), None);
    }
    daemon.collect(1, Duration::from_secs(1)).await;
    assert!(daemon.received.is_empty(), "{:?}", daemon.segments());
    let sent = s3.requests();
    assert_eq!(sent.len(), 3);
    assert!(sent
        .iter()
        .all(|r| r.header("x-amzn-trace-id").is_none() && r.header("traceparent").is_none()));
}

/// No daemon: requests are answered as ever, and the refused segments are counted.
#[tokio::test]
async fn a_missing_daemon_is_a_counter_not_a_delay() {
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let nobody = closed.local_addr().unwrap().to_string();
    drop(closed);
    let metrics_port = free_port();
    let stack = stack()
        .env("ENABLE_XRAY", "true")
        .env("AWS_XRAY_DAEMON_ADDRESS", &nobody)
        .env("METRICS_PORT", &metrics_port.to_string())
        .start()
        .await;
    stack.put_object(test_kit::HEALTHCHECK_KEY, b"OK");
    for _ in 0..10 {
        let asked = Instant::now();
        let r = raw_get(
            stack.proxy.port(),
            &format!("GET /{} HTTP/1.1", test_kit::HEALTHCHECK_KEY),
            &[("X-Amzn-Trace-Id", &sampled(&new_root()))],
        )
        .await;
        assert_eq!(r.status, 200);
        assert!(
            asked.elapsed() < Duration::from_millis(1500),
            "{:?}",
            asked.elapsed()
        );
    }
    let dropped = common::metric(metrics_port, "s3proxy_xray_segments_dropped_total ").await;
    // The kernel refuses every other datagram to a closed local port.
    assert!(dropped >= 3, "{dropped}");
}

#[test]
fn invalid_tracing_variables_stop_the_start_naming_them() {
    let env = common::offline_env(&[
        ("ENABLE_XRAY", "yes"),
        ("AWS_XRAY_DAEMON_ADDRESS", "nowhere"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
    ]);
    let (code, log, _) = common::exit_of(&env, Duration::from_secs(10));
    assert_eq!(code, Some(2), "{log}");
    for variable in [
        "ENABLE_XRAY",
        "AWS_XRAY_DAEMON_ADDRESS",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_TRACES_SAMPLER",
    ] {
        assert!(log.contains(variable), "{variable} not named in\n{log}");
    }
}

// ---- OpenTelemetry ----

/// Every span the collector received, decoded.
fn spans(collector: &Recorder) -> Vec<(String, Span)> {
    collector
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/traces")
        .flat_map(|r| {
            let export =
                ExportTraceServiceRequest::decode(r.body.as_slice()).expect("OTLP protobuf");
            export.resource_spans.into_iter().flat_map(|rs| {
                let service = rs
                    .resource
                    .as_ref()
                    .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
                    .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                        AnyValue::StringValue(s) => Some(s.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                rs.scope_spans
                    .into_iter()
                    .flat_map(|ss| ss.spans)
                    .map(move |span| (service.clone(), span))
            })
        })
        .collect()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span
        .attributes
        .iter()
        .find(|a| a.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?;
    Some(match value {
        AnyValue::StringValue(s) => s.clone(),
        AnyValue::IntValue(i) => i.to_string(),
        other => format!("{other:?}"),
    })
}

/// With both on, the collector gets the same trace X-Ray gets: the same trace id, the
/// segment's id as the server span's, each subsegment's as a client span's.
#[tokio::test]
async fn otlp_spans_are_the_same_trace_as_the_x_ray_segment() {
    let mut daemon = Daemon::start().await;
    let collector = Recorder::start().await;
    let stack = stack()
        .env("ENABLE_XRAY", "true")
        .env("AWS_XRAY_DAEMON_ADDRESS", &daemon.address())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url(""))
        .env("OTEL_SERVICE_NAME", "assets-proxy")
        .env("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=otlp-key-6a2f")
        .env("SSO_TOKEN_CHECK_GRACE_PERIOD", "0")
        // Every call of the request in the trace: without the session cache, the session
        // is read from Redis (with it, the read is a cache hit and no call at all).
        .env("SESSION_CACHE_ENTRIES", "0")
        .start()
        .await;
    stack.put_object("doc.txt", b"twelve bytes");
    let browser = test_kit::Browser::new();
    let cookie = common::login(&stack, &browser).await;
    let root = new_root();
    let r = raw_get(
        stack.proxy.port(),
        "GET /doc.txt?code=query-secret-77 HTTP/1.1",
        &[
            ("Cookie", &cookie),
            (
                "X-Amzn-Trace-Id",
                &format!("Root={root};Parent=53995c3f42cd8ad8;Sampled=1"),
            ),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    daemon.collect(4, Duration::from_secs(3)).await;
    let segment = daemon.segment_of(&root);

    let trace_id = hex_of(&root[2..].replace('-', ""));
    let received = collector
        .wait_for(Duration::from_secs(10), |r| {
            !r.is_empty() && spans_of(&spans_in(r), &trace_id).len() >= 5
        })
        .await;
    assert!(!received.is_empty(), "nothing reached the collector");
    assert!(received.iter().all(|r| r.method == "POST"
        && r.header("content-type") == Some("application/x-protobuf")
        && r.header("x-api-key") == Some("otlp-key-6a2f")));
    let all = spans(&collector);
    assert!(all.iter().all(|(service, _)| service == "assets-proxy"));
    let trace: Vec<&Span> = all
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.trace_id == trace_id)
        .collect();
    let server = trace
        .iter()
        .find(|s| s.kind == 2)
        .unwrap_or_else(|| panic!("no server span in {trace:#?}"));
    assert_eq!(server.name, "GET /{key}");
    assert_eq!(
        hex::encode(&server.span_id),
        segment["id"].as_str().unwrap()
    );
    assert_eq!(hex::encode(&server.parent_span_id), "53995c3f42cd8ad8");
    assert_eq!(
        attribute(server, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attribute(server, "url.full"),
        Some(format!("http://127.0.0.1:{}/doc.txt", stack.proxy.port()))
    );
    let clients: Vec<&&Span> = trace.iter().filter(|s| s.kind == 3).collect();
    let mut client_names: Vec<&str> = clients.iter().map(|s| s.name.as_str()).collect();
    client_names.sort();
    assert_eq!(client_names, ["S3.GetObject", "SSO", "redis", "redis"]);
    for client in &clients {
        assert_eq!(client.parent_span_id, server.span_id);
        let id = hex::encode(&client.span_id);
        assert!(
            segment["subsegments"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["id"] == id),
            "span {} is no subsegment of {segment:#}",
            client.name
        );
    }
    let s3 = clients.iter().find(|s| s.name == "S3.GetObject").unwrap();
    assert_eq!(
        attribute(s3, "aws.s3.bucket").as_deref(),
        Some(test_kit::BUCKET)
    );

    let bytes: Vec<u8> = collector
        .requests()
        .iter()
        .flat_map(|r| r.body.clone())
        .collect();
    let text = String::from_utf8_lossy(&bytes);
    let session_id = cookie.split_once('=').unwrap().1;
    for secret in [
        session_id,
        "query-secret-77",
        "test-code",
        "test-client-secret",
        test_kit::S3_SECRET_KEY,
        "assets_session_id",
    ] {
        assert!(!text.contains(secret), "{secret:?} reached the collector");
    }
}

fn spans_in(requests: &[test_kit::Recorded]) -> Vec<Span> {
    requests
        .iter()
        .filter(|r| r.path == "/v1/traces")
        .filter_map(|r| ExportTraceServiceRequest::decode(r.body.as_slice()).ok())
        .flat_map(|e| e.resource_spans)
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .collect()
}

fn spans_of(spans: &[Span], trace_id: &[u8]) -> Vec<Span> {
    spans
        .iter()
        .filter(|s| s.trace_id == trace_id)
        .cloned()
        .collect()
}

fn hex_of(hex: &str) -> Vec<u8> {
    hex::decode(hex).unwrap()
}

/// OTLP alone: a W3C traceparent is honoured (same trace, the caller's span as parent)
/// and S3 is asked with the trace's headers; new trace ids are X-Ray compatible.
#[tokio::test]
async fn otlp_alone_honours_traceparent_and_makes_x_ray_compatible_ids() {
    let collector = Recorder::start().await;
    let s3 = Recorder::start().await;
    let stack = stack()
        .env(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            &collector.url("/v1/traces"),
        )
        .env("S3_ENDPOINT_URL", &s3.url(""))
        .start()
        .await;
    let health = format!("GET /{} HTTP/1.1", test_kit::HEALTHCHECK_KEY);
    let r = raw_get(
        stack.proxy.port(),
        &health,
        &[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )],
    )
    .await;
    assert_eq!(r.status, 200);
    let sent = s3.requests().last().cloned().unwrap();
    let traceparent = sent.header("traceparent").unwrap().to_string();
    assert!(
        traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-")
            && traceparent.ends_with("-01"),
        "{traceparent}"
    );
    assert!(sent
        .header("x-amzn-trace-id")
        .unwrap()
        .starts_with("Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent="));

    // No trace header: a new trace, sampled (parent-based always-on), whose id starts
    // with the epoch second.
    let r = raw_get(stack.proxy.port(), &health, &[]).await;
    let root = root_of(r.header("x-amzn-trace-id").unwrap());
    let new_trace = hex_of(&root[2..].replace('-', ""));
    let second = u64::from_str_radix(&root[2..10], 16).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now - second < 60);

    let honoured = hex_of("4bf92f3577b34da6a3ce929d0e0e4736");
    let received = collector
        .wait_for(Duration::from_secs(10), |r| {
            let spans = spans_in(r);
            !spans_of(&spans, &honoured).is_empty() && !spans_of(&spans, &new_trace).is_empty()
        })
        .await;
    let spans = spans_in(&received);
    let server = spans_of(&spans, &honoured)
        .into_iter()
        .find(|s| s.kind == 2)
        .expect("the server span");
    assert_eq!(hex::encode(&server.parent_span_id), "00f067aa0ba902b7");
    let s3_span = spans_of(&spans, &honoured)
        .into_iter()
        .find(|s| s.name == "S3.GetObject")
        .expect("the S3 span");
    assert_eq!(
        traceparent,
        format!(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01",
            hex::encode(&s3_span.span_id)
        )
    );
    assert!(!spans_of(&spans, &new_trace).is_empty());
}

/// A collector that never answers, or is not there, slows no request, and the exit
/// waits for it 2 s at most.
#[tokio::test]
async fn an_unreachable_collector_delays_nothing() {
    let stuck = Recorder::start().await;
    stuck.set_delay(Duration::from_secs(60));
    for endpoint in [stuck.url(""), format!("http://127.0.0.1:{}", free_port())] {
        let mut stack = stack()
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .env("OTEL_TRACES_SAMPLER", "always_on")
            .start()
            .await;
        stack.put_object(test_kit::HEALTHCHECK_KEY, b"OK");
        let began = Instant::now();
        // Over two export periods, so an export is stuck while requests go on.
        while began.elapsed() < Duration::from_millis(2500) {
            let asked = Instant::now();
            let r: RawResponse = raw_get(
                stack.proxy.port(),
                &format!("GET /{} HTTP/1.1", test_kit::HEALTHCHECK_KEY),
                &[],
            )
            .await;
            assert_eq!(r.status, 200);
            assert!(
                asked.elapsed() < Duration::from_millis(1500),
                "{:?} with {endpoint}",
                asked.elapsed()
            );
        }
        let signalled = Instant::now();
        stack.proxy.signal("TERM");
        let exited = stack.proxy.wait_exit(Duration::from_secs(10)).await;
        assert_eq!(
            exited.and_then(|s| s.code()),
            Some(0),
            "{}",
            stack.proxy.logs()
        );
        assert!(
            signalled.elapsed() < Duration::from_millis(5000),
            "exit {:?} after SIGTERM",
            signalled.elapsed()
        );
    }
}
