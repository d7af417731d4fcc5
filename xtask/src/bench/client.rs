//! The benchmark's own load: plain HTTP/1.1 GETs over `TcpStream`, bodies read into a
//! reusable buffer and thrown away. Used where wrk does not fit: one long stream, many
//! parallel downloads, an exact number of sequential range requests.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::Result;

/// No single read or write may wait longer than this: a stuck server fails the run.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// The biggest response head accepted.
const MAX_HEAD: usize = 16 * 1024;

/// Where to send requests: the backend directly, or the proxy with the session cookie.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub name: &'static str,
    pub port: u16,
    /// What comes before the key in the path: `/my-bucket/` (backend) or `/` (proxy).
    pub prefix: String,
    /// `assets_session_id=…` for the proxy.
    pub cookie: Option<String>,
}

impl Endpoint {
    pub fn url(&self, key: &str) -> String {
        format!("http://127.0.0.1:{}{}{key}", self.port, self.prefix)
    }

    /// The request head of a GET of `key`, with a `Range` when given.
    fn head(&self, key: &str, range: Option<&str>) -> String {
        let mut head = format!(
            "GET {}{key} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUser-Agent: xtask-bench\r\n",
            self.prefix, self.port
        );
        if let Some(cookie) = &self.cookie {
            head.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if let Some(range) = range {
            head.push_str(&format!("Range: {range}\r\n"));
        }
        head.push_str("\r\n");
        head
    }

    fn connect(&self) -> Result<TcpStream> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
            .map_err(|e| format!("{}: cannot connect to {addr}: {e}", self.name))?;
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
            .and_then(|()| stream.set_nodelay(true))
            .map_err(|e| e.to_string())?;
        Ok(stream)
    }
}

/// One keep-alive connection, one request at a time.
pub struct Conn {
    endpoint: Endpoint,
    stream: TcpStream,
}

impl Conn {
    pub fn open(endpoint: &Endpoint) -> Result<Conn> {
        Ok(Conn {
            stream: endpoint.connect()?,
            endpoint: endpoint.clone(),
        })
    }

    /// GETs `key` (a part of it with `range`), reads the whole body into `buf` piece by
    /// piece and returns the status and the body's length.
    pub fn get(&mut self, key: &str, range: Option<&str>, buf: &mut [u8]) -> Result<(u16, u64)> {
        let what = || format!("{} GET {key}", self.endpoint.name);
        self.stream
            .write_all(self.endpoint.head(key, range).as_bytes())
            .map_err(|e| format!("{}: {e}", what()))?;
        // The head, and whatever part of the body came with it.
        let mut filled = 0;
        let head_end = loop {
            let n = self
                .stream
                .read(&mut buf[filled..])
                .map_err(|e| format!("{}: {e}", what()))?;
            if n == 0 {
                return Err(format!("{}: connection closed before the head", what()));
            }
            filled += n;
            if let Some(end) = find(&buf[..filled], b"\r\n\r\n") {
                break end + 4;
            }
            if filled >= MAX_HEAD.min(buf.len()) {
                return Err(format!("{}: response head too big", what()));
            }
        };
        let (status, length) =
            parse_head(&buf[..head_end]).map_err(|e| format!("{}: {e}", what()))?;
        let mut received = (filled - head_end) as u64;
        while received < length {
            let n = self
                .stream
                .read(buf)
                .map_err(|e| format!("{}: after {received} bytes: {e}", what()))?;
            if n == 0 {
                return Err(format!(
                    "{}: body cut short at {received} of {length} bytes",
                    what()
                ));
            }
            received += n as u64;
        }
        if received != length {
            return Err(format!(
                "{}: {received} bytes for a Content-Length of {length}",
                what()
            ));
        }
        Ok((status, length))
    }
}

/// One GET of a whole object on a new connection; the body's length when the status is 200.
pub fn download(endpoint: &Endpoint, key: &str, buf: &mut [u8]) -> Result<u64> {
    let (status, length) = Conn::open(endpoint)?.get(key, None, buf)?;
    if status != 200 {
        return Err(format!("{} GET {key}: status {status}", endpoint.name));
    }
    Ok(length)
}

/// `count` downloads of `key` at once, each on its own connection and thread with a
/// `buffer`-byte buffer. Returns the bytes received in all and the time from the common
/// start to the end of the last download.
pub fn parallel_downloads(
    endpoint: &Endpoint,
    key: &str,
    count: usize,
    buffer: usize,
) -> Result<(u64, Duration)> {
    let start = Arc::new(Barrier::new(count + 1));
    let threads: Vec<_> = (0..count)
        .map(|_| {
            let start = start.clone();
            let endpoint = endpoint.clone();
            let key = key.to_owned();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; buffer];
                start.wait();
                download(&endpoint, &key, &mut buf)
            })
        })
        .collect();
    start.wait();
    let started = Instant::now();
    let mut total = 0;
    let mut first_error = None;
    for thread in threads {
        match thread.join() {
            Ok(Ok(bytes)) => total += bytes,
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(_) => {
                first_error.get_or_insert("a download thread panicked".into());
            }
        }
    }
    let elapsed = started.elapsed();
    match first_error {
        Some(e) => Err(e),
        None => Ok((total, elapsed)),
    }
}

/// Sequential requests for random `size`-byte ranges of an object of `object_size` bytes,
/// on one keep-alive connection: `count` of them, or fewer when `limit` runs out first.
/// Returns how many were made and how long they took.
pub fn random_ranges(
    endpoint: &Endpoint,
    key: &str,
    object_size: u64,
    size: u64,
    count: usize,
    limit: Duration,
) -> Result<(usize, Duration)> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut conn = Conn::open(endpoint)?;
    let mut buf = vec![0u8; 128 * 1024];
    let started = Instant::now();
    let mut done = 0;
    while done < count && started.elapsed() < limit {
        let first = rng.next() % (object_size - size + 1);
        let range = format!("bytes={first}-{}", first + size - 1);
        let (status, length) = conn.get(key, Some(&range), &mut buf)?;
        if status != 206 || length != size {
            return Err(format!(
                "{} GET {key} with Range {range}: status {status}, {length} bytes (expected 206, {size})",
                endpoint.name
            ));
        }
        done += 1;
    }
    Ok((done, started.elapsed()))
}

/// xorshift64*: the same "random" ranges on every run, for both endpoints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Status and `Content-Length` of a response head (bodies are never chunked here:
/// both nginx and the proxy send files with their length).
fn parse_head(head: &[u8]) -> Result<(u16, u64)> {
    let (status, headers) = crate::http::parse_head(head)?;
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok());
    match length {
        Some(length) => Ok((status, length)),
        // A redirect or error without a body length: say what it was.
        None if status != 200 && status != 206 => Ok((status, 0)),
        None => Err(format!("{status} without Content-Length")),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn heads() {
        assert_eq!(
            parse_head(b"HTTP/1.1 206 Partial Content\r\ncontent-length: 10\r\n\r\n"),
            Ok((206, 10))
        );
        assert_eq!(
            parse_head(b"HTTP/1.1 302 Found\r\nLocation: /\r\n\r\n"),
            Ok((302, 0))
        );
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }

    #[test]
    fn keep_alive_requests_and_ranges() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut requests = Vec::new();
            let mut buf = [0u8; 4096];
            for _ in 0..3 {
                let n = stream.read(&mut buf).unwrap();
                requests.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                stream
                    .write_all(b"HTTP/1.1 206 Partial Content\r\nContent-Length: 4\r\n\r\n")
                    .unwrap();
                stream.write_all(b"abcd").unwrap();
            }
            requests
        });
        let endpoint = Endpoint {
            name: "test",
            port,
            prefix: "/b/".into(),
            cookie: Some("c=1".into()),
        };
        let (n, _) = random_ranges(&endpoint, "k", 100, 4, 3, Duration::from_secs(10)).unwrap();
        assert_eq!(n, 3);
        let requests = server.join().unwrap();
        assert!(requests[0].starts_with("GET /b/k HTTP/1.1\r\n"));
        assert!(requests[0].contains("\r\nCookie: c=1\r\n"));
        assert!(requests.iter().all(|r| r.contains("\r\nRange: bytes=")));
        assert_ne!(requests[0], requests[1], "the ranges differ");
    }
}
