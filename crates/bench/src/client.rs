//! The benchmark's own load, where wrk does not fit: one long stream, many parallel
//! downloads, an exact number of sequential range requests.
//!
//! Each connection is reqwest's client on a single-threaded runtime of the thread that
//! uses it, so a download still has a thread of its own; bodies are counted chunk by chunk
//! as they arrive and thrown away.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use devstack::Result;
use reqwest::header::{COOKIE, RANGE};
use tokio::runtime::Runtime;

/// A stuck server fails the run: connecting may take this long...
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// ...and a whole request, body included, this long. Not a limit per read: reqwest's
/// read timeout arms a timer for every chunk, which showed in the figures.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

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
}

/// One keep-alive connection (opened by the first request), one request at a time, on
/// the calling thread.
pub struct Conn {
    runtime: Runtime,
    client: reqwest::Client,
    endpoint: Endpoint,
}

impl Conn {
    pub fn open(endpoint: &Endpoint) -> Result<Conn> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .http1_only()
            .pool_max_idle_per_host(1)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent("xtask-bench")
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Conn {
            runtime,
            client,
            endpoint: endpoint.clone(),
        })
    }

    /// GETs `key` (a part of it with `range`), reads the whole body and returns the
    /// status and the body's length, which must be the `Content-Length` for 200 and 206.
    pub fn get(&mut self, key: &str, range: Option<&str>) -> Result<(u16, u64)> {
        let what = format!("{} GET {key}", self.endpoint.name);
        let mut request = self.client.get(self.endpoint.url(key));
        if let Some(cookie) = &self.endpoint.cookie {
            request = request.header(COOKIE, cookie);
        }
        if let Some(range) = range {
            request = request.header(RANGE, range);
        }
        self.runtime.block_on(async {
            let mut response = request.send().await.map_err(|e| format!("{what}: {e}"))?;
            let status = response.status().as_u16();
            let length = response.content_length();
            let mut received = 0u64;
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| format!("{what}: after {received} bytes: {e}"))?
            {
                received += chunk.len() as u64;
            }
            match length {
                Some(length) if length != received => Err(format!(
                    "{what}: {received} bytes for a Content-Length of {length}"
                )),
                // Both nginx and the proxy send objects with their length.
                None if status == 200 || status == 206 => {
                    Err(format!("{what}: {status} without Content-Length"))
                }
                _ => Ok((status, received)),
            }
        })
    }
}

/// One GET of a whole object on a new connection; the body's length when the status is 200.
pub fn download(endpoint: &Endpoint, key: &str) -> Result<u64> {
    download_on(&mut Conn::open(endpoint)?, key)
}

fn download_on(conn: &mut Conn, key: &str) -> Result<u64> {
    let (status, length) = conn.get(key, None)?;
    if status != 200 {
        return Err(format!("{} GET {key}: status {status}", conn.endpoint.name));
    }
    Ok(length)
}

/// `count` downloads of `key` at once, each on its own connection and thread. Returns the
/// bytes received in all and the time from the common start to the end of the last
/// download.
pub fn parallel_downloads(endpoint: &Endpoint, key: &str, count: usize) -> Result<(u64, Duration)> {
    let start = Arc::new(Barrier::new(count + 1));
    let threads: Vec<_> = (0..count)
        .map(|_| {
            let start = start.clone();
            let endpoint = endpoint.clone();
            let key = key.to_owned();
            std::thread::spawn(move || {
                // Ready before the start, so that the clock counts only the downloads.
                let conn = Conn::open(&endpoint);
                start.wait();
                download_on(&mut conn?, &key)
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
    let started = Instant::now();
    let mut done = 0;
    while done < count && started.elapsed() < limit {
        let first = rng.next() % (object_size - size + 1);
        let range = format!("bytes={first}-{}", first + size - 1);
        let (status, length) = conn.get(key, Some(&range))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A server that answers each request of one connection with one of `answers`;
    /// returns the endpoint and the requests it read.
    fn serve(
        answers: &'static [&'static [u8]],
    ) -> (Endpoint, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut requests = Vec::new();
            let mut buf = [0u8; 4096];
            for answer in answers {
                let n = stream.read(&mut buf).unwrap();
                requests.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                stream.write_all(answer).unwrap();
            }
            requests
        });
        let endpoint = Endpoint {
            name: "test",
            port,
            prefix: "/b/".into(),
            cookie: Some("c=1".into()),
        };
        (endpoint, server)
    }

    #[test]
    fn keep_alive_requests_and_ranges() {
        const RANGE: &[u8] = b"HTTP/1.1 206 Partial Content\r\nContent-Length: 4\r\n\r\nabcd";
        let (endpoint, server) = serve(&[RANGE, RANGE, RANGE]);
        let (n, _) = random_ranges(&endpoint, "k", 100, 4, 3, Duration::from_secs(10)).unwrap();
        assert_eq!(n, 3);
        // The server accepted one connection: all three went over it.
        let requests = server.join().unwrap();
        assert!(
            requests[0].starts_with("GET /b/k HTTP/1.1\r\n"),
            "{}",
            requests[0]
        );
        assert!(
            requests[0].contains("\r\ncookie: c=1\r\n"),
            "{}",
            requests[0]
        );
        assert!(requests.iter().all(|r| r.contains("\r\nrange: bytes=")));
        assert_ne!(requests[0], requests[1], "the ranges differ");
    }

    #[test]
    fn short_bodies_and_missing_lengths_fail() {
        let (endpoint, server) = serve(&[b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd"]);
        // The server closes after its answer: the body stops 6 bytes short.
        let err = Conn::open(&endpoint).unwrap().get("k", None).unwrap_err();
        server.join().unwrap();
        assert!(err.starts_with("test GET k: after 4 bytes"), "{err}");

        let (endpoint, server) =
            serve(&[b"HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n"]);
        let err = download(&endpoint, "k").unwrap_err();
        assert_eq!(err, "test GET k: status 302");
        server.join().unwrap();
    }
}
