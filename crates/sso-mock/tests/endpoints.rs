//! The mock over real sockets, with hand-written HTTP/1.1 requests so the
//! crate needs no HTTP client.

use std::net::SocketAddr;
use std::time::Duration;

use sso_mock::{MockConfig, SsoMock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const CALLBACK: &str = "http://localhost:8000/__redirect_from_sso";
const CALLBACK_ENCODED: &str = "http%3A%2F%2Flocalhost%3A8000%2F__redirect_from_sso";

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// Reads one response (headers plus `content-length` bytes of body).
async fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end].to_vec()).expect("ASCII head");
            let mut lines = head.split("\r\n");
            let status_line = lines.next().expect("status line");
            let status = status_line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .expect("status code");
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .collect();
            let length: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.parse().expect("content-length"))
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await.expect("read body");
                assert!(n > 0, "connection closed mid-body");
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8(buf[end + 4..end + 4 + length].to_vec()).expect("UTF-8");
            return Reply {
                status,
                headers,
                body,
            };
        }
        let n = stream.read(&mut chunk).await.expect("read head");
        assert!(n > 0, "connection closed before a response");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends `request` on a new connection and reads the reply (5 s at most).
async fn send(addr: SocketAddr, request: String) -> Reply {
    timeout(Duration::from_secs(5), async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        read_reply(&mut stream).await
    })
    .await
    .expect("reply within 5 s")
}

fn get_request(path: &str, headers: &[(&str, &str)]) -> String {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: sso.test\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request + "\r\n"
}

async fn get(mock: &SsoMock, path: &str, headers: &[(&str, &str)]) -> Reply {
    send(mock.addr(), get_request(path, headers)).await
}

async fn post_form(mock: &SsoMock, path: &str, body: &str) -> Reply {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: sso.test\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    send(mock.addr(), request).await
}

fn authorize_path(state: &str) -> String {
    format!(
        "/o/authorize/?scope=read%20write&state={state}&redirect_uri={CALLBACK_ENCODED}\
         &response_type=code&client_id=test-client-id"
    )
}

fn token_form(code: &str, secret: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&client_id=test-client-id\
         &client_secret={secret}&redirect_uri={CALLBACK_ENCODED}"
    )
}

async fn exchange(mock: &SsoMock) -> Reply {
    post_form(
        mock,
        "/o/token/",
        &token_form("test-code", "test-client-secret"),
    )
    .await
}

async fn start(config: MockConfig) -> SsoMock {
    SsoMock::start(config).await.expect("mock starts")
}

#[tokio::test]
async fn authorize_auto_approves_with_302() {
    let mut mock = start(MockConfig::default()).await;
    assert!(mock.url().starts_with("http://127.0.0.1:"));
    assert_eq!(mock.url(), format!("http://127.0.0.1:{}/", mock.port()));

    let reply = get(&mock, &authorize_path("abc123"), &[]).await;
    assert_eq!(reply.status, 302);
    assert_eq!(
        reply.header("location"),
        Some(&*format!("{CALLBACK}?code=test-code&state=abc123"))
    );
    assert_eq!(mock.authorize_calls(), 1);
    mock.stop().await;
}

#[tokio::test]
async fn authorize_appends_to_existing_query_and_encodes() {
    let mut mock = start(MockConfig {
        code: "a b+c".into(),
        ..MockConfig::default()
    })
    .await;
    let path = "/o/authorize/?state=s%26t&redirect_uri=http%3A%2F%2Fh%2Fcb%3Fx%3D1\
                &response_type=code&client_id=test-client-id";
    let reply = get(&mock, path, &[]).await;
    assert_eq!(reply.status, 302);
    assert_eq!(
        reply.header("location"),
        Some("http://h/cb?x=1&code=a%20b%2Bc&state=s%26t")
    );
    mock.stop().await;
}

#[tokio::test]
async fn authorize_rejects_bad_requests_with_400() {
    let mut mock = start(MockConfig::default()).await;
    let ok = format!("redirect_uri={CALLBACK_ENCODED}&response_type=code&client_id=test-client-id");
    for query in [
        // missing state
        ok.clone(),
        // missing redirect_uri
        "state=s&response_type=code&client_id=test-client-id".to_owned(),
        format!("state=s&{}", ok.replace("test-client-id", "other")),
        format!(
            "state=s&{}",
            ok.replace("response_type=code", "response_type=token")
        ),
        format!("state=s&{}", ok.replace("&response_type=code", "")),
        // not an http(s) URL; a control character in it
        "state=s&redirect_uri=javascript%3Aalert(1)&response_type=code&client_id=test-client-id"
            .to_owned(),
        "state=s&redirect_uri=http%3A%2F%2Fh%2F%0Ax&response_type=code&client_id=test-client-id"
            .to_owned(),
        String::new(),
    ] {
        let reply = get(&mock, &format!("/o/authorize/?{query}"), &[]).await;
        assert_eq!(reply.status, 400, "query {query:?}");
        assert!(!reply.body.is_empty());
    }
    mock.stop().await;
}

#[tokio::test]
async fn login_page_then_post_approves() {
    let mut mock = start(MockConfig {
        login_page: true,
        user_email: "jo<e>@example.com".into(),
        ..MockConfig::default()
    })
    .await;

    let reply = get(&mock, &authorize_path("st4te"), &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(reply.body.contains("<title>Sign in</title>"));
    assert!(reply.body.contains("Sign in as jo&lt;e&gt;@example.com"));
    assert!(reply
        .body
        .contains(r#"<form method="post" action="/o/authorize/">"#));
    assert!(reply
        .body
        .contains(r#"<input type="hidden" name="state" value="st4te">"#));
    assert!(reply.body.contains(&format!(
        r#"<input type="hidden" name="redirect_uri" value="{CALLBACK}">"#
    )));

    // What the browser posts when the button is clicked.
    let form = format!(
        "scope=read+write&state=st4te&redirect_uri={CALLBACK_ENCODED}\
         &response_type=code&client_id=test-client-id"
    );
    let reply = post_form(&mock, "/o/authorize/", &form).await;
    assert_eq!(reply.status, 302);
    assert_eq!(
        reply.header("location"),
        Some(&*format!("{CALLBACK}?code=test-code&state=st4te"))
    );
    assert_eq!(mock.authorize_calls(), 2);

    // The form is validated like the query.
    let reply = post_form(&mock, "/o/authorize/", "state=st4te").await;
    assert_eq!(reply.status, 400);
    mock.stop().await;
}

#[tokio::test]
async fn token_exchange_hands_out_tokens_in_sequence() {
    let mut mock = start(MockConfig {
        tokens: vec!["first".into(), "second".into()],
        ..MockConfig::default()
    })
    .await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let reply = exchange(&mock).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let json = reply.json();
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["expires_in"], 36000);
        assert_eq!(json["scope"], "read write");
        got.push(json["access_token"].as_str().expect("token").to_owned());
    }
    assert_eq!(got, ["first", "second", "second"]);
    assert_eq!(mock.issued_tokens(), got);
    assert_eq!(mock.token_calls(), 3);
    mock.stop().await;
}

#[tokio::test]
async fn token_exchange_without_token_list_gives_fresh_tokens() {
    let mut mock = start(MockConfig {
        tokens: Vec::new(),
        ..MockConfig::default()
    })
    .await;
    let a = exchange(&mock).await.json()["access_token"].clone();
    let b = exchange(&mock).await.json()["access_token"].clone();
    let (a, b) = (a.as_str().expect("token"), b.as_str().expect("token"));
    assert!(a.starts_with("mock-token-"), "{a}");
    assert_ne!(a, b);

    // Both are accepted by the user endpoint.
    for token in [a, b] {
        let auth = format!("Bearer {token}");
        let reply = get(&mock, "/api/v1/user/me/", &[("Authorization", &auth)]).await;
        assert_eq!(reply.status, 200);
    }
    mock.stop().await;
}

#[tokio::test]
async fn token_exchange_rejects_bad_grants_with_401() {
    let mut mock = start(MockConfig::default()).await;
    let cases = [
        (
            token_form("wrong-code", "test-client-secret"),
            "invalid_grant",
        ),
        (token_form("test-code", "wrong-secret"), "invalid_client"),
        (
            token_form("test-code", "test-client-secret").replace("test-client-id", "other"),
            "invalid_client",
        ),
        (
            token_form("test-code", "test-client-secret")
                .replace("authorization_code", "client_credentials"),
            "invalid_grant",
        ),
        (
            token_form("test-code", "test-client-secret")
                .replace("grant_type=authorization_code&", ""),
            "invalid_grant",
        ),
        (String::new(), "invalid_client"),
    ];
    for (form, error) in cases {
        let reply = post_form(&mock, "/o/token/", &form).await;
        assert_eq!(reply.status, 401, "form {form:?}");
        assert_eq!(reply.json()["error"], error, "form {form:?}");
    }
    assert!(mock.issued_tokens().is_empty());
    mock.stop().await;
}

#[tokio::test]
async fn token_status_simulates_sso_errors() {
    let mut mock = start(MockConfig {
        token_status: Some(500),
        ..MockConfig::default()
    })
    .await;
    let reply = exchange(&mock).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body, "");

    mock.update(|c| c.token_status = Some(403));
    assert_eq!(exchange(&mock).await.status, 403);

    mock.update(|c| c.token_status = None);
    assert_eq!(exchange(&mock).await.status, 200);
    assert_eq!(mock.token_calls(), 3);
    mock.stop().await;
}

#[tokio::test]
async fn user_endpoint() {
    let mut mock = start(MockConfig::default()).await;
    let token = exchange(&mock).await.json()["access_token"].clone();
    let auth = format!("Bearer {}", token.as_str().expect("token"));

    let reply = get(&mock, "/api/v1/user/me/", &[("Authorization", &auth)]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let json = reply.json();
    assert_eq!(json["email"], "test.user@example.com");
    assert_eq!(json["first_name"], "Mock");
    assert_eq!(json["last_name"], "User");
    assert_eq!(json["user_id"], "00000000-0000-0000-0000-000000000000");

    let wrong = [("Authorization", "Bearer nope")];
    assert_eq!(get(&mock, "/api/v1/user/me/", &wrong).await.status, 401);
    assert_eq!(get(&mock, "/api/v1/user/me/", &[]).await.status, 401);
    let basic = [("Authorization", "Basic dGVzdA==")];
    assert_eq!(get(&mock, "/api/v1/user/me/", &basic).await.status, 401);

    mock.update(|c| c.me_status = 500);
    let reply = get(&mock, "/api/v1/user/me/", &[("Authorization", &auth)]).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body, "");

    // An explicit list replaces "issued by this mock".
    mock.update(|c| {
        c.me_status = 200;
        c.me_accepted_tokens = Some(vec!["listed".into()]);
    });
    let listed = [("Authorization", "Bearer listed")];
    assert_eq!(get(&mock, "/api/v1/user/me/", &listed).await.status, 200);
    let reply = get(&mock, "/api/v1/user/me/", &[("Authorization", &auth)]).await;
    assert_eq!(reply.status, 401);

    assert_eq!(mock.me_calls(), 7);
    mock.stop().await;
}

#[tokio::test]
async fn other_requests_get_4xx() {
    let mut mock = start(MockConfig::default()).await;
    assert_eq!(get(&mock, "/", &[]).await.status, 404);
    assert_eq!(get(&mock, "/o/authorize", &[]).await.status, 404);
    assert_eq!(post_form(&mock, "/nope", "a=b").await.status, 404);

    let reply = get(&mock, "/o/token/", &[]).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
    assert_eq!(post_form(&mock, "/api/v1/user/me/", "").await.status, 405);

    let big = "x".repeat(100 * 1024);
    assert_eq!(post_form(&mock, "/o/token/", &big).await.status, 413);

    // Not HTTP at all: hyper answers 400 and the mock keeps serving.
    let reply = send(mock.addr(), "\x00\x01garbage\r\n\r\n".into()).await;
    assert_eq!(reply.status, 400);
    assert_eq!(exchange(&mock).await.status, 200);
    mock.stop().await;
}

#[tokio::test]
async fn stop_refuses_connections_and_restart_on_same_port_works() {
    let mut mock = start(MockConfig::default()).await;
    let port = mock.port();
    assert_eq!(exchange(&mock).await.status, 200);

    mock.stop().await;
    let err = TcpStream::connect(mock.addr())
        .await
        .expect_err("refused after stop");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    // Stopping twice is harmless.
    mock.stop().await;

    let mut again = SsoMock::start_on_port(port, MockConfig::default())
        .await
        .expect("restart on the same port");
    assert_eq!(again.port(), port);
    assert_eq!(exchange(&again).await.status, 200);
    // A fresh mock has fresh counters.
    assert_eq!(again.token_calls(), 1);
    again.stop().await;
}

#[tokio::test]
async fn start_on_a_busy_port_fails() {
    let mut mock = start(MockConfig::default()).await;
    let err = SsoMock::start_on_port(mock.port(), MockConfig::default())
        .await
        .expect_err("port is taken");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    mock.stop().await;
}

#[tokio::test]
async fn start_with_listener_serves_on_it() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut mock = SsoMock::start_with_listener(listener, MockConfig::default())
        .await
        .expect("start");
    assert_eq!(mock.addr(), addr);
    assert_eq!(exchange(&mock).await.status, 200);
    mock.stop().await;
}

#[tokio::test]
async fn stop_closes_keep_alive_connections() {
    let mut mock = start(MockConfig::default()).await;
    let mut stream = TcpStream::connect(mock.addr()).await.expect("connect");
    let request = "GET / HTTP/1.1\r\nHost: sso.test\r\n\r\n";
    stream.write_all(request.as_bytes()).await.expect("write");
    assert_eq!(read_reply(&mut stream).await.status, 404);

    timeout(Duration::from_secs(2), mock.stop())
        .await
        .expect("stop returns promptly");
    let mut buf = [0u8; 16];
    let read = timeout(Duration::from_secs(1), stream.read(&mut buf))
        .await
        .expect("socket closed, not idle");
    // EOF, or a reset: either way the server side is gone.
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn hang_mode_never_answers_until_stopped() {
    let mut mock = start(MockConfig {
        hang: true,
        ..MockConfig::default()
    })
    .await;
    let mut stream = TcpStream::connect(mock.addr()).await.expect("connect");
    let form = token_form("test-code", "test-client-secret");
    let request = format!(
        "POST /o/token/ HTTP/1.1\r\nHost: sso.test\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");

    let mut buf = [0u8; 16];
    let read = timeout(Duration::from_millis(500), stream.read(&mut buf)).await;
    assert!(read.is_err(), "expected no answer, got {read:?}");
    assert_eq!(mock.token_calls(), 1);

    timeout(Duration::from_secs(2), mock.stop())
        .await
        .expect("stop does not wait for hung requests");
    let read = timeout(Duration::from_secs(1), stream.read(&mut buf))
        .await
        .expect("hung connection closed by stop");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[tokio::test]
async fn hang_can_be_switched_off_while_running() {
    let mut mock = start(MockConfig {
        hang: true,
        ..MockConfig::default()
    })
    .await;
    let mut stream = TcpStream::connect(mock.addr()).await.expect("connect");
    let request = get_request(
        "/api/v1/user/me/",
        &[("Authorization", "Bearer test-token")],
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut buf = [0u8; 16];
    assert!(timeout(Duration::from_millis(200), stream.read(&mut buf))
        .await
        .is_err());

    mock.update(|c| c.hang = false);
    let reply = get(
        &mock,
        "/api/v1/user/me/",
        &[("Authorization", "Bearer test-token")],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(mock.me_calls(), 2);
    mock.stop().await;
}

#[tokio::test]
async fn drop_without_stop_releases_the_port() {
    let mock = start(MockConfig {
        hang: true,
        ..MockConfig::default()
    })
    .await;
    let addr = mock.addr();
    drop(mock);
    // The abort takes effect when the runtime next polls the task.
    let mut refused = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "port still open after drop");
}
