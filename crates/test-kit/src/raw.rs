//! HTTP/1.1 over a plain TCP socket, for requests a normal client would "fix" (dot
//! segments, a bare `?`, odd bytes) and for reading the exact response head.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lowercased, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `head` (request line and headers, without the final blank line; `Host` and
/// `Connection: close` are added) and reads the response until the server closes.
pub async fn raw_get(port: u16, request_line: &str, headers: &[(&str, &str)]) -> RawResponse {
    let mut head = format!("{request_line}\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    raw_exchange(port, head.as_bytes()).await
}

/// Sends the bytes as they are and parses what comes back (until close, 10 s at most).
pub async fn raw_exchange(port: u16, request: &[u8]) -> RawResponse {
    parse(&raw_exchange_bytes(port, request).await)
}

/// Sends the bytes as they are and returns everything that comes back until the server
/// closes the connection (10 s at most).
pub async fn raw_exchange_bytes(port: u16, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to the proxy");
    stream.write_all(request).await.expect("send request");
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes)).await;
    assert!(read.is_ok(), "the connection was not closed within 10 s");
    bytes
}

pub fn parse(bytes: &[u8]) -> RawResponse {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    RawResponse {
        status,
        headers,
        body: bytes[split + 4..].to_vec(),
    }
}

impl RawResponse {
    /// Status and `Content-Length` (0 when absent) of a response head.
    pub fn status_and_length(head: &[u8]) -> (u16, usize) {
        let mut with_end = head.to_vec();
        with_end.extend_from_slice(b"\r\n\r\n");
        let parsed = parse(&with_end);
        let length = parsed
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        (parsed.status, length)
    }
}

/// Sends `GET target` with `headers` on an open keep-alive connection and reads one
/// response, its body by `Content-Length`.
pub async fn get_on(stream: &mut TcpStream, target: &str, headers: &[(&str, &str)]) -> RawResponse {
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("response in time")
            .unwrap();
        assert!(n > 0, "connection closed before a full response");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let (_, length) = RawResponse::status_and_length(&buf[..end]);
            if buf.len() >= end + 4 + length {
                buf.truncate(end + 4 + length);
                return parse(&buf);
            }
        }
    }
}
