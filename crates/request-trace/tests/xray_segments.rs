//! The segments as the X-Ray daemon receives them: a local UDP socket stands in for it.

use std::net::{Ipv4Addr, UdpSocket};
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use request_trace::{
    subsegment, Call, Outcome, RequestInfo, RequestTrace, TraceSettings, Tracer, XraySettings,
};
use serde_json::Value;

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";

struct Daemon(UdpSocket);

impl Daemon {
    fn start() -> Daemon {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        Daemon(socket)
    }

    fn address(&self) -> String {
        self.0.local_addr().unwrap().to_string()
    }

    /// The next segment, after checking the datagram's header line; `None` if none
    /// comes within half a second.
    fn segment(&self) -> Option<Value> {
        let mut buf = vec![0u8; 65536];
        let n = self.0.recv(&mut buf).ok()?;
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        assert_eq!(header, r#"{"format": "json", "version": 1}"#);
        Some(serde_json::from_str(body).unwrap())
    }
}

async fn tracer(daemon: &Daemon, name: &str) -> Tracer {
    let settings = TraceSettings {
        xray: Some(XraySettings::new(daemon.address(), name)),
        otlp: None,
    };
    Tracer::start(settings).await.unwrap().unwrap()
}

fn begin(tracer: &Tracer, trace_header: Option<&str>) -> RequestTrace {
    let mut headers = HeaderMap::new();
    headers.insert("user-agent", HeaderValue::from_static("curl/8.0"));
    headers.insert(
        "cookie",
        HeaderValue::from_static("assets_session_id=secret-id"),
    );
    if let Some(value) = trace_header {
        headers.insert("x-amzn-trace-id", HeaderValue::from_str(value).unwrap());
    }
    tracer.begin(RequestInfo {
        headers: &headers,
        method: "GET",
        url: &|| "https://assets.example.com/docs/a.pdf".into(),
        route: "/{key}",
        client_ip: Ipv4Addr::new(203, 0, 113, 7).into(),
    })
}

#[tokio::test]
async fn a_request_is_one_segment_with_its_calls() {
    let daemon = Daemon::start();
    let tracer = tracer(&daemon, "S3Proxy").await;
    let trace = begin(
        &tracer,
        Some(&format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1")),
    );
    let s3_headers = trace
        .scope(async {
            subsegment(Call::Redis).end(Outcome::Ok);
            subsegment(Call::Sso).end(Outcome::Status(401));
            let s3 = subsegment(Call::S3 {
                operation: "GetObject",
                bucket: "my-bucket",
            });
            let headers = s3.propagation_headers();
            s3.end(Outcome::Status(200));
            subsegment(Call::Redis).end(Outcome::Failed);
            headers
        })
        .await;
    assert_eq!(
        trace.response_header().unwrap(),
        format!("Root={ROOT}"),
        "without Sampled=? the answer is the root alone"
    );
    trace.finish(200, Some(1234));

    let segment = daemon.segment().expect("a segment");
    assert_eq!(segment["name"], "S3Proxy");
    assert_eq!(segment["trace_id"], ROOT);
    assert_eq!(segment["parent_id"], "53995c3f42cd8ad8");
    let id = segment["id"].as_str().unwrap();
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let (start, end) = (
        segment["start_time"].as_f64().unwrap(),
        segment["end_time"].as_f64().unwrap(),
    );
    assert!(start > 1.7e9 && end >= start, "{start} {end}");
    let request = &segment["http"]["request"];
    assert_eq!(request["method"], "GET");
    assert_eq!(request["url"], "https://assets.example.com/docs/a.pdf");
    assert_eq!(request["client_ip"], "203.0.113.7");
    assert_eq!(request["user_agent"], "curl/8.0");
    assert_eq!(segment["http"]["response"]["status"], 200);
    assert_eq!(segment["http"]["response"]["content_length"], 1234);
    for flag in ["error", "throttle", "fault"] {
        assert!(segment.get(flag).is_none(), "{flag} on a 200");
    }

    let subsegments = segment["subsegments"].as_array().unwrap();
    let names: Vec<&str> = subsegments
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Redis", "SSO", "S3", "Redis"]);
    let s3 = &subsegments[2];
    assert_eq!(s3["namespace"], "aws");
    assert_eq!(s3["aws"]["operation"], "GetObject");
    assert_eq!(s3["aws"]["bucket_name"], "my-bucket");
    assert_eq!(s3["http"]["response"]["status"], 200);
    assert_eq!(subsegments[0]["namespace"], "remote");
    assert_eq!(subsegments[1]["namespace"], "remote");
    assert_eq!(subsegments[1]["error"], true, "the SSO's 401");
    assert_eq!(subsegments[3]["fault"], true, "a failed Redis call");
    for s in subsegments {
        let (s_start, s_end) = (
            s["start_time"].as_f64().unwrap(),
            s["end_time"].as_f64().unwrap(),
        );
        assert!(start <= s_start && s_start <= s_end && s_end <= end, "{s}");
        assert_ne!(s["id"], segment["id"]);
    }

    // The S3 request carries the trace, with the S3 subsegment as parent.
    assert_eq!(
        s3_headers["x-amzn-trace-id"],
        format!(
            "Root={ROOT};Parent={};Sampled=1",
            s3["id"].as_str().unwrap()
        )
    );
    assert_eq!(
        s3_headers["traceparent"],
        format!(
            "00-5759e988bd862e3fe1be46a994272793-{}-01",
            s3["id"].as_str().unwrap()
        )
    );

    let text = segment.to_string();
    assert!(
        !text.contains("secret-id") && !text.contains("cookie"),
        "{text}"
    );
}

#[tokio::test]
async fn statuses_set_the_error_throttle_and_fault_flags() {
    let daemon = Daemon::start();
    let tracer = tracer(&daemon, "S3Proxy").await;
    for (status, error, throttle, fault) in [
        (302, false, false, false),
        (404, true, false, false),
        (429, true, true, false),
        (503, false, false, true),
    ] {
        begin(&tracer, Some(&format!("Root={ROOT};Sampled=1"))).finish(status, None);
        let segment = daemon.segment().expect("a segment");
        assert_eq!(segment["http"]["response"]["status"], status);
        assert!(segment["http"]["response"].get("content_length").is_none());
        assert!(
            segment.get("parent_id").is_none(),
            "no Parent in the header"
        );
        let flag = |name: &str| segment.get(name) == Some(&Value::Bool(true));
        assert_eq!(
            (flag("error"), flag("throttle"), flag("fault")),
            (error, throttle, fault),
            "{status}"
        );
    }
}

#[tokio::test]
async fn the_callers_decision_is_honoured_and_answered_when_asked() {
    let daemon = Daemon::start();
    let tracer = tracer(&daemon, "Assets").await;

    // Sampled=0: nothing is sent, and the S3 request says so too.
    let trace = begin(
        &tracer,
        Some(&format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=0")),
    );
    let headers = trace
        .scope(async { subsegment(Call::Redis).propagation_headers() })
        .await;
    assert!(headers["x-amzn-trace-id"]
        .to_str()
        .unwrap()
        .ends_with(";Sampled=0"));
    assert!(headers["traceparent"].to_str().unwrap().ends_with("-00"));
    trace.finish(200, None);
    assert!(daemon.segment().is_none(), "Sampled=0 was sent");

    // Sampled=?: decided here, and the decision comes back. The first request of a
    // second is always sampled.
    std::thread::sleep(Duration::from_millis(1100));
    let trace = begin(&tracer, Some(&format!("Root={ROOT};Sampled=?")));
    assert_eq!(
        trace.response_header().unwrap(),
        format!("Root={ROOT};Sampled=1")
    );
    trace.finish(200, None);
    let segment = daemon.segment().expect("the first request of a second");
    assert_eq!(segment["name"], "Assets");
    assert_eq!(segment["trace_id"], ROOT);

    // A traceparent alone names the trace as well.
    let mut headers = HeaderMap::new();
    headers.insert(
        "traceparent",
        HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    );
    tracer
        .begin(RequestInfo {
            headers: &headers,
            method: "HEAD",
            url: &|| "http://localhost/x".into(),
            route: "/{key}",
            client_ip: Ipv4Addr::LOCALHOST.into(),
        })
        .finish(200, None);
    let segment = daemon.segment().expect("sampled by its traceparent");
    assert_eq!(segment["trace_id"], "1-4bf92f35-77b34da6a3ce929d0e0e4736");
    assert_eq!(segment["parent_id"], "00f067aa0ba902b7");
}

#[tokio::test]
async fn without_a_decision_the_first_request_of_each_second_then_five_percent() {
    let daemon = Daemon::start();
    let tracer = tracer(&daemon, "S3Proxy").await;
    std::thread::sleep(Duration::from_millis(1100));
    // A new trace each: the first of this second is sampled, about 5 % of the rest.
    let mut sampled = Vec::new();
    for _ in 0..400 {
        let trace = begin(&tracer, None);
        let header = trace.response_header().unwrap();
        let root = header
            .to_str()
            .unwrap()
            .strip_prefix("Root=")
            .unwrap()
            .to_string();
        assert_eq!(root.len(), 35);
        trace.finish(200, None);
        sampled.push(root);
    }
    let mut received = Vec::new();
    while let Some(segment) = daemon.segment() {
        received.push(segment["trace_id"].as_str().unwrap().to_string());
    }
    assert!(
        received.first() == Some(&sampled[0]),
        "the first request of the second was not sampled"
    );
    // 400 requests in well under a second or two: a few reservoirs, then 5 % of ~400
    // (20; the bounds are generous).
    assert!((5..=60).contains(&received.len()), "{}", received.len());
    // Each trace id begins with the epoch second it started in.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let second = u64::from_str_radix(&sampled[0][2..10], 16).unwrap();
    assert!(now - second < 60, "{second} vs {now}");
}

#[tokio::test]
async fn a_missing_daemon_costs_a_counter() {
    // A port nobody listens on: the kernel refuses every other datagram.
    let closed = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let settings = TraceSettings {
        xray: Some(XraySettings::new(address, "S3Proxy")),
        otlp: None,
    };
    let tracer = Tracer::start(settings).await.unwrap().unwrap();
    let dropped = tracer.xray_dropped().unwrap();
    for _ in 0..10 {
        begin(&tracer, Some(&format!("Root={ROOT};Sampled=1"))).finish(200, None);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        dropped.load(Ordering::Relaxed) >= 3,
        "{}",
        dropped.load(Ordering::Relaxed)
    );
}

#[tokio::test]
async fn without_a_request_in_scope_a_subsegment_does_nothing() {
    let call = subsegment(Call::Redis);
    assert!(call.propagation_headers().is_empty());
    call.end(Outcome::Ok);
    let off = Tracer::start(TraceSettings::default()).await.unwrap();
    assert!(off.is_none(), "no exporter, no tracer");
}
