//! Many small requests at once, with wrk (C, keep-alive connections, HdrHistogram latencies).

use std::process::Command;
use std::time::Duration;

use devstack::Result;

/// What one wrk run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkResult {
    pub requests_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub requests: u64,
    /// wrk's "Socket errors" line, when there was one.
    pub socket_errors: Option<String>,
}

/// `wrk -t<threads> -c<connections> -d<duration> --latency [-H header]… url`.
pub fn run(
    url: &str,
    threads: usize,
    connections: usize,
    duration: Duration,
    headers: &[String],
) -> Result<WrkResult> {
    let mut wrk = Command::new("wrk");
    wrk.arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .args(["--latency", "--timeout", "5s"]);
    for header in headers {
        wrk.args(["-H", header]);
    }
    wrk.arg(url);
    let output = launcher::probe(&mut wrk, duration + Duration::from_secs(30))
        .map_err(|e| format!("wrk {url}: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse(&text).map_err(|e| format!("wrk {url}: {e}; its output:\n{text}"))
}

fn parse(text: &str) -> Result<WrkResult> {
    let mut result = WrkResult {
        requests_per_sec: f64::NAN,
        p50: Duration::ZERO,
        p99: Duration::ZERO,
        requests: 0,
        socket_errors: None,
    };
    let (mut p50, mut p99) = (None, None);
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("50%"), Some(value)) => p50 = parse_duration(value),
            (Some("99%"), Some(value)) => p99 = parse_duration(value),
            (Some("Requests/sec:"), Some(value)) => {
                result.requests_per_sec = value.parse().map_err(|_| "bad Requests/sec")?;
            }
            (Some(n), Some("requests")) => result.requests = n.parse().unwrap_or(0),
            _ => {}
        }
        if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
            return Err(format!(
                "{} responses were errors: the load is not what it should be",
                n.trim()
            ));
        }
        if let Some(errors) = line.strip_prefix("Socket errors:") {
            result.socket_errors = Some(errors.trim().to_owned());
        }
    }
    result.p50 = p50.ok_or("no 50% latency")?;
    result.p99 = p99.ok_or("no 99% latency")?;
    if !result.requests_per_sec.is_finite() || result.requests == 0 {
        return Err("no requests were made".into());
    }
    Ok(result)
}

/// wrk's `123.45us`, `1.20ms`, `2.00s`, `1.00m`.
fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "us" => number / 1e6,
        "ms" => number / 1e3,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 10s test @ http://127.0.0.1:8000/bench-1k.bin
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.20ms  30.00ms   80.00%
    Req/Sec    10.00k     1.00k   12.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    3.50ms
     90%    4.00ms
     99%    9.99ms
  200000 requests in 10.00s, 250.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 0
Requests/sec:  19999.50
Transfer/sec:     25.00MB
";

    #[test]
    fn parses_wrk_output() {
        let r = parse(OUTPUT).unwrap();
        assert_eq!(r.requests_per_sec, 19999.5);
        assert_eq!(r.requests, 200_000);
        assert_eq!(r.p50, Duration::from_micros(812));
        assert_eq!(r.p99, Duration::from_micros(9990));
        assert_eq!(
            r.socket_errors.as_deref(),
            Some("connect 0, read 3, write 0, timeout 0")
        );
        let failed = OUTPUT.replace(
            "  Socket errors",
            "  Non-2xx or 3xx responses: 7\n  Socket errors",
        );
        assert!(parse(&failed).unwrap_err().contains("7 responses"));
        assert!(parse("nothing").is_err());
        assert_eq!(parse_duration("2.00s"), Some(Duration::from_secs(2)));
    }
}
