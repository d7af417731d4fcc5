//! Shared by the integration test files.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use test_kit::{Browser, Proxy, Stack, StackBuilder};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

pub const BIN: &str = env!("CARGO_BIN_EXE_s3proxy");

/// A complete environment whose Redis and SSO refuse connections, with `extra` added:
/// for starts that must stop at the configuration.
pub fn offline_env(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    [
        ("PORT", "0"),
        ("REDIS_ENDPOINT", "redis://127.0.0.1:1/0"),
        ("SSO_URL", "http://127.0.0.1:1/"),
        ("SSO_CLIENT_ID", "id"),
        ("SSO_CLIENT_SECRET", "very-secret-client-secret"),
        ("AWS_DEFAULT_REGION", "eu-west-2"),
        ("AWS_S3_BUCKET", "my-bucket"),
        ("AWS_S3_HEALTHCHECK_KEY", "healthcheck.txt"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The value on the metrics line that begins with `line_start` (the series and a space).
pub async fn metric(port: u16, line_start: &str) -> u64 {
    let text = Browser::new()
        .get(&format!("http://127.0.0.1:{port}/metrics"))
        .await
        .text();
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{line_start} not in\n{text}"))
}

/// Runs the binary with `env` until it exits (killed after `within`): its exit code,
/// its log, and how long it ran.
pub fn exit_of(env: &[(String, String)], within: Duration) -> (Option<i32>, String, Duration) {
    let (status, logs, elapsed) = Proxy::run_to_exit(Path::new(BIN), env, within);
    (status.and_then(|s| s.code()), logs, elapsed)
}

pub fn stack() -> StackBuilder {
    Stack::builder(BIN)
}

/// Signs `browser` in (through a request for a missing object) and returns the session
/// cookie as a `Cookie` header value.
pub async fn login(stack: &Stack, browser: &Browser) -> String {
    test_kit::login_at(&stack.proxy.url(""), browser).await
}

/// A browser signed in on `proxy` (one more proxy of a stack): a request for a missing
/// object goes through the SSO and ends in a 404.
pub async fn sign_in(proxy: &Proxy) -> Browser {
    let browser = Browser::new();
    let page = browser.get(&proxy.url("/__probe__")).await;
    assert_eq!(page.status, 404, "{}", proxy.logs());
    browser
}

/// Waits up to `within` for the proxy to exit, and checks it exited with status 0.
pub async fn assert_clean_exit(proxy: &mut Proxy, within: Duration) {
    let exited = proxy.wait_exit(within).await;
    assert_eq!(exited.and_then(|s| s.code()), Some(0), "{}", proxy.logs());
}

/// How long until the server closes `stream` (reading and discarding what it sends);
/// `None` if it is still open after `within`.
pub async fn closed_after(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// The receive buffer of [`pausing_download`]'s client: tiny, so that the proxy's
/// kernel, which sizes its send buffer by the window the client offers, keeps little of
/// what is left, and the rest waits in the proxy's own write buffer. (The review used
/// 64 KiB; then the kernel's buffers grew to 1–2 MB and swallowed the end of the body too
/// often for a test that must fail without the fix.)
pub const SMALL_RECEIVE_BUFFER: u32 = 4 << 10;

/// Downloads `target` on a new connection from a client with a tiny receive buffer
/// that stops reading `left` bytes before the end of the body, says so on `paused`, waits
/// until `resume` turns true, and then reads the rest. Returns the body as received,
/// whole or cut short (the connection closed, or nothing came for 20 s).
pub async fn pausing_download(
    port: u16,
    cookie: String,
    target: String,
    left: usize,
    paused: tokio::sync::mpsc::Sender<()>,
    mut resume: tokio::sync::watch::Receiver<bool>,
) -> Vec<u8> {
    use tokio::io::AsyncWriteExt;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(SMALL_RECEIVE_BUFFER).unwrap();
    // The segment size of an Ethernet path rather than loopback's 64 KiB, with which the
    // proxy's kernel would size its send buffer far larger.
    socket2::SockRef::from(&socket).set_tcp_mss(1460).unwrap();
    let mut stream = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let (head_len, length) = loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the response head");
        received.extend_from_slice(&buf[..n]);
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let (status, length) = test_kit::RawResponse::status_and_length(&received[..end]);
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&received[..end]));
            break (end + 4, length);
        }
    };
    let mut body = received.split_off(head_len);
    let pause_at = length.saturating_sub(left);
    let mut resumed = false;
    while body.len() < length {
        if !resumed && body.len() >= pause_at {
            let _ = paused.send(()).await;
            let _ = resume.wait_for(|&go| go).await;
            resumed = true;
        }
        // Up to the pause point exactly, then the rest.
        let want = if resumed {
            length - body.len()
        } else {
            pause_at - body.len()
        };
        let want = want.min(buf.len());
        match tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf[..want])).await {
            Ok(Ok(n)) if n > 0 => body.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    body
}

/// The access log lines of `GET path`, once there are `expected` of them (or after 5 s:
/// the log is written by a thread of its own).
pub async fn access_lines(proxy: &Proxy, path: &str, expected: usize) -> Vec<String> {
    let needle = format!(" GET {path} ");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines: Vec<String> = proxy
            .logs()
            .lines()
            .filter(|l| l.contains(&needle))
            .map(str::to_string)
            .collect();
        if lines.len() >= expected || Instant::now() > deadline {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Rounds of [`pausing_download`] of `target`, all at once, round `i` stopping `lefts[i]`
/// bytes before the end. Once every client has stopped reading, the pause lasts 5 s
/// (with `sigterm`, the proxy gets SIGTERM 1 s into it); then they all read on. Returns
/// each round's body as received.
pub async fn paused_downloads(
    stack: &Stack,
    cookie: &str,
    target: &str,
    lefts: &[usize],
    sigterm: bool,
) -> Vec<Vec<u8>> {
    let (paused_tx, mut paused_rx) = tokio::sync::mpsc::channel(lefts.len());
    let (resume_tx, resume_rx) = tokio::sync::watch::channel(false);
    let port = stack.proxy.port();
    let clients: Vec<_> = lefts
        .iter()
        .map(|&left| {
            tokio::spawn(pausing_download(
                port,
                cookie.to_string(),
                target.to_string(),
                left,
                paused_tx.clone(),
                resume_rx.clone(),
            ))
        })
        .collect();
    for _ in lefts {
        tokio::time::timeout(Duration::from_secs(60), paused_rx.recv())
            .await
            .expect("the downloads did not reach their pause within 60 s")
            .expect("a client failed before its pause");
    }
    if sigterm {
        tokio::time::sleep(Duration::from_secs(1)).await;
        stack.proxy.signal("TERM");
        tokio::time::sleep(Duration::from_secs(4)).await;
    } else {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    resume_tx.send(true).unwrap();
    let mut bodies = Vec::new();
    for client in clients {
        bodies.push(client.await.expect("a client panicked"));
    }
    bodies
}

/// Where the rounds of a batch stop reading, before the end of the body: from 32 KiB to
/// 336 KiB in steps of 16 KiB (round `i` of batch `b` is round `b + 3 i` overall, so each
/// batch spans the range). The end of a body waits in the proxy's own write buffer when
/// the client stops reading more than the kernel holds of it (about 150 KiB here, with
/// the client's tiny window) before the end, and no more than that plus hyper's buffer
/// and the last chunk from S3: without the fix, about half the rounds lost their end.
pub fn pause_points(batch: usize) -> Vec<usize> {
    (0..20)
        .filter(|round| round % 3 == batch)
        .map(|round| (32 << 10) + round * (16 << 10))
        .collect()
}

/// One batch of [`pause_points`] rounds, on a stack of its own started with `env` (a
/// SIGTERM ends a process, so each batch has its own): an 8 MiB object downloaded by each
/// round's pausing client.
pub struct PausedBatch {
    pub stack: Stack,
    pub content: Vec<u8>,
    pub lefts: Vec<usize>,
    pub bodies: Vec<Vec<u8>>,
}

impl PausedBatch {
    pub async fn run(env: &[(&str, &str)], batch: usize, sigterm: bool) -> PausedBatch {
        let mut builder = stack();
        for (name, value) in env {
            builder = builder.env(name, value);
        }
        let stack = builder.start().await;
        let content = test_kit::pattern(8 << 20);
        stack.put_object("big.bin", &content);
        let cookie = login(&stack, &Browser::new()).await;
        let lefts = pause_points(batch);
        let bodies = paused_downloads(&stack, &cookie, "/big.bin", &lefts, sigterm).await;
        PausedBatch {
            stack,
            content,
            lefts,
            bodies,
        }
    }

    /// The rounds whose body is not exactly the object's, with what they got.
    pub fn cut_short(&self) -> Vec<String> {
        self.lefts
            .iter()
            .zip(&self.bodies)
            .filter(|(_, body)| **body != self.content)
            .map(|(left, body)| {
                format!(
                    "paused {left} bytes before the end: got {} of {} bytes",
                    body.len(),
                    self.content.len()
                )
            })
            .collect()
    }

    /// Every round logged as sent whole (8 MiB, not incomplete).
    pub async fn assert_logged_whole(&self) {
        let lines = access_lines(&self.stack.proxy, "/big.bin", self.lefts.len()).await;
        assert_eq!(lines.len(), self.lefts.len(), "{lines:#?}");
        for line in lines {
            assert!(
                line.contains(" 200 8388608 bytes ") && !line.contains("incomplete"),
                "{line}"
            );
        }
    }
}

/// One more proxy on `stack` that can find AWS credentials only in `source` (variables
/// such as `AWS_CONTAINER_CREDENTIALS_FULL_URI`): no static keys, `home` as its home
/// with empty AWS config and credentials files, and instance metadata disabled unless
/// `source` names its endpoint.
pub async fn proxy_with_credentials_from(
    stack: &Stack,
    home: &Path,
    source: &[(&str, &str)],
) -> Proxy {
    let home_var = home.display().to_string();
    // Empty files: no profile, and no warning that a named file is missing.
    let config = home.join("empty-aws-config");
    let credentials = home.join("empty-aws-credentials");
    for file in [&config, &credentials] {
        std::fs::write(file, "").expect("write an empty AWS file");
    }
    let config = config.display().to_string();
    let credentials = credentials.display().to_string();
    let mut vars: Vec<(&str, Option<&str>)> = vec![
        ("AWS_ACCESS_KEY_ID", None),
        ("AWS_SECRET_ACCESS_KEY", None),
        ("AWS_SESSION_TOKEN", None),
        ("AWS_PROFILE", None),
        ("HOME", Some(&home_var)),
        ("AWS_CONFIG_FILE", Some(&config)),
        ("AWS_SHARED_CREDENTIALS_FILE", Some(&credentials)),
    ];
    if !source
        .iter()
        .any(|(name, _)| *name == "AWS_EC2_METADATA_SERVICE_ENDPOINT")
    {
        // Nothing may look for an instance role off this machine.
        vars.push(("AWS_EC2_METADATA_DISABLED", Some("true")));
    }
    vars.extend(source.iter().map(|(name, value)| (*name, Some(*value))));
    stack.spawn_proxy(&vars).await
}
