//! The streamer against a local S3-compatible server that checks SigV4: statuses, the
//! headers passed through, bodies byte for byte, and S3 being down, slow or hanging.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use dev_s3::{S3Config, S3Server};
use http::StatusCode;
use http_body_util::BodyExt;
use s3_streamer::{
    FetchError, Method, ObjectBody, ObjectRequest, ObjectResponse, S3Settings, S3Streamer,
    StaticKeys,
};

const BUCKET: &str = S3Config::DEFAULT_BUCKET;

struct Fixture {
    server: S3Server,
    // Last, so the folder outlives the server.
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let server = S3Server::start(S3Config::new(dir.path())).await.unwrap();
        Fixture { server, _dir: dir }
    }

    /// Puts an object in the bucket by writing its file.
    fn write(&self, key: &str, data: &[u8]) {
        let path = self.server.bucket_dir(BUCKET).join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }

    fn mtime(&self, key: &str) -> SystemTime {
        std::fs::metadata(self.server.bucket_dir(BUCKET).join(key))
            .unwrap()
            .modified()
            .unwrap()
    }

    fn settings(&self) -> S3Settings {
        S3Settings {
            endpoint: Some(self.server.endpoint()),
            static_keys: Some(StaticKeys {
                access_key_id: S3Config::DEFAULT_ACCESS_KEY.into(),
                secret_access_key: S3Config::DEFAULT_SECRET_KEY.into(),
            }),
            ..S3Settings::new("us-east-1", BUCKET)
        }
    }

    async fn streamer(&self) -> S3Streamer {
        self.streamer_with(|_| {}).await
    }

    async fn streamer_with(&self, tweak: impl FnOnce(&mut S3Settings)) -> S3Streamer {
        let mut settings = self.settings();
        tweak(&mut settings);
        S3Streamer::new(settings).await.unwrap()
    }
}

/// Bytes that differ from one position to the next, so a shifted or reordered range shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

async fn body_bytes(body: ObjectBody) -> Bytes {
    body.collect().await.expect("the whole body").to_bytes()
}

fn header<'a>(response: &'a ObjectResponse, name: &str) -> Option<&'a str> {
    response
        .headers
        .get(name)
        .map(|v| v.to_str().expect("ASCII header"))
}

fn get(key: &str) -> ObjectRequest {
    ObjectRequest::new(Method::Get, key)
}

fn ranged(key: &str, range: &str) -> ObjectRequest {
    ObjectRequest {
        range: Some(range.into()),
        ..get(key)
    }
}

async fn fetch_err(s3: &S3Streamer, request: &ObjectRequest) -> FetchError {
    match s3.fetch(request).await {
        Ok(r) => panic!("expected an error, got {}", r.status),
        Err(e) => e,
    }
}

/// Trace headers ride outside the signature: S3 (SigV4 checked here) still accepts it.
#[tokio::test]
async fn unsigned_headers_leave_the_signature_valid() {
    let f = Fixture::new().await;
    f.write("a.txt", b"abc");
    let s3 = f.streamer().await;
    assert_eq!(s3.bucket(), BUCKET);
    let mut request = get("a.txt");
    request.unsigned_headers.insert(
        "x-amzn-trace-id",
        http::HeaderValue::from_static(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        ),
    );
    request.unsigned_headers.insert(
        "traceparent",
        http::HeaderValue::from_static("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"),
    );
    let response = s3.fetch(&request).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(body_bytes(response.body).await, &b"abc"[..]);
}

#[tokio::test]
async fn get_whole_object() {
    let f = Fixture::new().await;
    let data = pattern(1000);
    f.write("docs/report.txt", &data);
    let s3 = f.streamer().await;

    let response = s3.fetch(&get("docs/report.txt")).await.unwrap();

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(header(&response, "content-length"), Some("1000"));
    assert_eq!(header(&response, "content-type"), Some("text/plain"));
    assert_eq!(header(&response, "accept-ranges"), Some("bytes"));
    assert_eq!(header(&response, "content-range"), None);
    let etag = header(&response, "etag").expect("an ETag");
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "{etag}"
    );
    // Last-Modified is an HTTP date, the file's modification time to the second.
    let last_modified = header(&response, "last-modified").expect("Last-Modified");
    let parsed = httpdate::parse_http_date(last_modified).expect("an HTTP date");
    let mtime = f.mtime("docs/report.txt");
    let apart = parsed
        .duration_since(mtime)
        .unwrap_or_else(|e| e.duration());
    assert!(
        apart <= Duration::from_secs(1),
        "{last_modified} vs file time {mtime:?}"
    );
    // Nothing but pass-through headers.
    for name in response.headers.keys() {
        assert!(
            s3_streamer::PASS_THROUGH_HEADERS.contains(&name.as_str()),
            "{name}"
        );
    }
    assert_eq!(body_bytes(response.body).await, data);
}

#[tokio::test]
async fn empty_object() {
    let f = Fixture::new().await;
    f.write("empty.bin", b"");
    let s3 = f.streamer().await;
    let response = s3.fetch(&get("empty.bin")).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(header(&response, "content-length"), Some("0"));
    assert!(body_bytes(response.body).await.is_empty());
}

#[tokio::test]
async fn key_prefix_is_applied() {
    let f = Fixture::new().await;
    f.write("p/q/file", b"under the prefix");
    f.write("file", b"at the root");
    let s3 = f.streamer_with(|s| s.key_prefix = "p/q".into()).await;
    assert_eq!(s3.full_key("file"), "p/q/file");

    let response = s3.fetch(&get("file")).await.unwrap();
    assert_eq!(body_bytes(response.body).await, &b"under the prefix"[..]);
    // The prefix also applies to HEAD, and nothing outside it is reachable by that name.
    let head = s3
        .fetch(&ObjectRequest::new(Method::Head, "file"))
        .await
        .unwrap();
    assert_eq!(header(&head, "content-length"), Some("16"));
    assert!(matches!(
        fetch_err(&s3, &get("q/file")).await,
        FetchError::NotFound
    ));
}

#[tokio::test]
async fn ranges() {
    let f = Fixture::new().await;
    let data = pattern(1000);
    f.write("r.bin", &data);
    let s3 = f.streamer().await;

    for (range, from, to) in [
        ("bytes=0-", 0, 999),
        ("bytes=1-", 1, 999),
        ("bytes=-100", 900, 999),
        ("bytes=10-19", 10, 19),
        // Past the end is cut to the end, as S3 does.
        ("bytes=990-5000", 990, 999),
    ] {
        let response = s3.fetch(&ranged("r.bin", range)).await.unwrap();
        assert_eq!(response.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header(&response, "content-range"),
            Some(format!("bytes {from}-{to}/1000").as_str()),
            "{range}"
        );
        let len = to - from + 1;
        assert_eq!(
            header(&response, "content-length"),
            Some(len.to_string().as_str()),
            "{range}"
        );
        assert_eq!(body_bytes(response.body).await, &data[from..=to], "{range}");
    }
}

#[tokio::test]
async fn unsatisfiable_range_is_416_with_the_size() {
    let f = Fixture::new().await;
    f.write("r.bin", &pattern(1000));
    let s3 = f.streamer().await;

    for method in [Method::Get, Method::Head] {
        let request = ObjectRequest {
            range: Some("bytes=1000-".into()),
            ..ObjectRequest::new(method, "r.bin")
        };
        let err = fetch_err(&s3, &request).await;
        assert!(
            matches!(err, FetchError::RangeNotSatisfiable { size: Some(1000) }),
            "{method:?}: {err:?}"
        );
        assert_eq!(err.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    }
}

#[tokio::test]
async fn conditional_requests() {
    let f = Fixture::new().await;
    f.write("c.txt", b"conditional");
    let s3 = f.streamer().await;
    let first = s3.fetch(&get("c.txt")).await.unwrap();
    let etag = header(&first, "etag").unwrap().to_owned();
    let last_modified = header(&first, "last-modified").unwrap().to_owned();

    let err = fetch_err(
        &s3,
        &ObjectRequest {
            if_none_match: Some(etag.clone()),
            ..get("c.txt")
        },
    )
    .await;
    let FetchError::NotModified { headers } = &err else {
        panic!("expected NotModified, got {err:?}");
    };
    assert_eq!(err.status(), StatusCode::NOT_MODIFIED);
    // A 304 repeats the validator so a cache can refresh its copy.
    assert_eq!(
        headers.get("etag").map(|v| v.to_str().unwrap()),
        Some(&*etag)
    );

    let err = fetch_err(
        &s3,
        &ObjectRequest {
            if_modified_since: httpdate::parse_http_date(&last_modified).ok(),
            ..get("c.txt")
        },
    )
    .await;
    assert!(matches!(err, FetchError::NotModified { .. }), "{err:?}");

    let err = fetch_err(
        &s3,
        &ObjectRequest {
            if_match: Some("\"0123456789abcdef0123456789abcdef\"".into()),
            ..get("c.txt")
        },
    )
    .await;
    assert!(matches!(err, FetchError::PreconditionFailed), "{err:?}");
    assert_eq!(err.status(), StatusCode::PRECONDITION_FAILED);

    let err = fetch_err(
        &s3,
        &ObjectRequest {
            if_unmodified_since: httpdate::parse_http_date("Mon, 01 Jan 2001 00:00:00 GMT").ok(),
            ..get("c.txt")
        },
    )
    .await;
    assert!(matches!(err, FetchError::PreconditionFailed), "{err:?}");

    // Conditions that hold give the object.
    let response = s3
        .fetch(&ObjectRequest {
            if_match: Some(etag.clone()),
            if_none_match: Some("\"something-else\"".into()),
            ..get("c.txt")
        })
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(body_bytes(response.body).await, &b"conditional"[..]);
}

#[tokio::test]
async fn missing_key_is_not_found() {
    let f = Fixture::new().await;
    f.write("dir/present.txt", b"x");
    let s3 = f.streamer().await;
    for request in [
        get("absent.txt"),
        ObjectRequest::new(Method::Head, "absent.txt"),
        // A "folder" is not an object either.
        get("dir"),
    ] {
        let err = fetch_err(&s3, &request).await;
        assert!(matches!(err, FetchError::NotFound), "{request:?}: {err:?}");
        assert_eq!(err.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn wrong_secret_fails() {
    let f = Fixture::new().await;
    f.write("a.txt", b"a");
    let s3 = f
        .streamer_with(|s| {
            s.static_keys = Some(StaticKeys {
                access_key_id: S3Config::DEFAULT_ACCESS_KEY.into(),
                secret_access_key: "not-the-secret".into(),
            })
        })
        .await;
    for method in [Method::Get, Method::Head] {
        let err = fetch_err(&s3, &ObjectRequest::new(method, "a.txt")).await;
        assert!(matches!(err, FetchError::Failed(_)), "{method:?}: {err:?}");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.to_string().contains("not-the-secret"), "{err}");
    }
}

#[tokio::test]
async fn head_gives_headers_and_no_body() {
    let f = Fixture::new().await;
    let data = pattern(4321);
    f.write("h.bin", &data);
    let s3 = f.streamer().await;
    let got = s3.fetch(&get("h.bin")).await.unwrap();

    let head = s3
        .fetch(&ObjectRequest::new(Method::Head, "h.bin"))
        .await
        .unwrap();

    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(header(&head, "content-length"), Some("4321"));
    assert_eq!(header(&head, "content-type"), Some("binary/octet-stream"));
    // HEAD says what GET would.
    for name in ["etag", "last-modified", "accept-ranges", "content-type"] {
        assert_eq!(header(&head, name), header(&got, name), "{name}");
    }
    assert!(body_bytes(head.body).await.is_empty());

    let head = s3
        .fetch(&ObjectRequest {
            range: Some("bytes=-21".into()),
            ..ObjectRequest::new(Method::Head, "h.bin")
        })
        .await
        .unwrap();
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&head, "content-range"), Some("bytes 4300-4320/4321"));
    assert_eq!(header(&head, "content-length"), Some("21"));
}

/// Keys reach S3 as given: the SDK encodes them for the URL and the signature alike.
#[tokio::test]
async fn keys_with_special_characters() {
    let f = Fixture::new().await;
    // Each is signed over exactly the path sent (dev-s3 checks SigV4): one encoding,
    // `~` and the other unreserved characters left as they are, `/` kept.
    let keys = [
        "a b+cé.txt",
        "dir with space/x+y%20z.txt",
        "日本語/ファイル.txt",
        "q?x=1&y=#2.txt",
        "100%/~user/file~1.txt",
        "paren (1)/it's [a] {b} @c $d ;e ,f =g!*.txt",
        "emoji 😀/ünïcödé.bin",
    ];
    for (i, key) in keys.iter().enumerate() {
        f.write(key, format!("object {i}").as_bytes());
    }
    let s3 = f.streamer().await;
    for (i, key) in keys.iter().enumerate() {
        let response = s3
            .fetch(&get(key))
            .await
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(
            body_bytes(response.body).await,
            format!("object {i}").as_bytes(),
            "{key}"
        );
    }
    // `+` is not a space and the key is not decoded again: these name other objects.
    let err = fetch_err(&s3, &get("a b cé.txt")).await;
    assert!(matches!(err, FetchError::NotFound), "{err:?}");
    let err = fetch_err(&s3, &get("a%20b+c%C3%A9.txt")).await;
    assert!(matches!(err, FetchError::NotFound), "{err:?}");
}

#[tokio::test]
async fn s3_stopped_fails_within_the_response_timeout() {
    let mut f = Fixture::new().await;
    f.write("a.txt", b"a");
    let timeout = Duration::from_secs(1);
    let s3 = f.streamer_with(|s| s.response_timeout = timeout).await;
    // A pooled connection first, so the stop also cuts an open connection.
    body_bytes(s3.fetch(&get("a.txt")).await.unwrap().body).await;
    f.server.stop().await;

    for method in [Method::Get, Method::Head] {
        let started = Instant::now();
        let err = fetch_err(&s3, &ObjectRequest::new(method, "a.txt")).await;
        let took = started.elapsed();
        assert!(matches!(err, FetchError::Failed(_)), "{method:?}: {err:?}");
        assert!(
            took < timeout + Duration::from_millis(500),
            "{method:?} took {took:?}"
        );
    }
}

#[tokio::test]
async fn s3_hanging_fails_after_the_response_timeout() {
    let f = Fixture::new().await;
    f.write("a.txt", b"a");
    let s3 = f
        .streamer_with(|s| s.response_timeout = Duration::from_millis(500))
        .await;
    f.server.set_hang(true);

    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(10), s3.fetch(&get("a.txt")))
        .await
        .expect("the fetch hung")
        .err()
        .expect("an error");
    let took = started.elapsed();
    assert!(matches!(err, FetchError::Failed(_)), "{err:?}");
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(2),
        "took {took:?}"
    );
    assert!(f.server.request_count() >= 1, "the request reached S3");

    // And S3 answering again is enough to be served again.
    f.server.set_hang(false);
    let response = s3.fetch(&get("a.txt")).await.unwrap();
    assert_eq!(body_bytes(response.body).await, &b"a"[..]);
}

/// The response timeout bounds the wait for S3's answer, not the download: a body that
/// keeps coming, slowly, for much longer than the timeout arrives whole.
#[tokio::test]
async fn slow_steady_body_is_not_cut_by_the_timeout() {
    let f = Fixture::new().await;
    let data = pattern(1024 * 1024);
    f.write("big.bin", &data);
    let s3 = f
        .streamer_with(|s| s.response_timeout = Duration::from_millis(500))
        .await;
    f.server.set_throttle(Some(256 * 1024));

    let started = Instant::now();
    let response = s3.fetch(&get("big.bin")).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    let body = body_bytes(response.body).await;
    let took = started.elapsed();

    assert_eq!(body.len(), data.len());
    assert!(body == data, "the body differs from the object");
    // About 4 s at that rate: well past the timeout, so the test did test something.
    assert!(took >= Duration::from_secs(3), "took {took:?}");
}

/// A pooled connection that S3 closed while it sat idle is only found dead once the
/// next request is on it: that request is sent again, once, on a new connection.
#[tokio::test]
async fn a_request_on_a_connection_closed_meanwhile_is_sent_again() {
    let f = Fixture::new().await;
    f.write("x.txt", b"x");
    let relay = test_kit::StaleConnections::start(f.server.addr()).await;
    let s3 = f
        .streamer_with(|s| s.endpoint = Some(relay.endpoint()))
        .await;
    let first = s3.fetch(&get("x.txt")).await.unwrap();
    assert_eq!(body_bytes(first.body).await.as_ref(), b"x");
    relay.arm();
    let second = s3
        .fetch(&get("x.txt"))
        .await
        .expect("the request was not sent again");
    assert_eq!(body_bytes(second.body).await.as_ref(), b"x");
    assert_eq!(relay.dropped(), 1, "the relay never dropped a connection");
}

/// A stand-in S3 that answers every request with `status` and an error body that stops
/// part way: the head and the first bytes arrive, the rest never does.
async fn stalling_error_body(status: &'static str) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let answer = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: 400\r\n\r\n\
                 <?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDen"
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            // Kept open, sending nothing more, until the test ends.
            held.push(stream);
        }
    });
    (endpoint, task)
}

/// Found in review: the error body was read after the response timeout had ended, so an
/// S3 that sent an error head and stalled mid-body hung the request for good. It is read
/// within what is left of the timeout, and on timeout the status alone decides.
#[tokio::test]
async fn an_error_body_that_stalls_is_cut_by_the_response_timeout() {
    let f = Fixture::new().await;
    let timeout = Duration::from_secs(1);
    for (status, is_expected) in [
        (
            "403 Forbidden",
            (|e| matches!(e, FetchError::Failed(m) if m.contains("403")))
                as fn(&FetchError) -> bool,
        ),
        ("404 Not Found", |e| matches!(e, FetchError::NotFound)),
        ("500 Internal Server Error", |e| {
            matches!(e, FetchError::Failed(_))
        }),
    ] {
        let (endpoint, stand_in) = stalling_error_body(status).await;
        let s3 = f
            .streamer_with(|s| {
                s.endpoint = Some(endpoint);
                s.response_timeout = timeout;
            })
            .await;
        let started = Instant::now();
        let err = tokio::time::timeout(Duration::from_secs(10), s3.fetch(&get("a.txt")))
            .await
            .unwrap_or_else(|_| panic!("{status}: the fetch hung on the stalled error body"))
            .err()
            .expect("an error");
        let took = started.elapsed();
        assert!(is_expected(&err), "{status}: {err:?}");
        assert!(
            took < timeout + Duration::from_millis(1500),
            "{status}: took {took:?}"
        );
        stand_in.abort();
    }
}
