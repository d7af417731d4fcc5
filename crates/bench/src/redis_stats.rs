//! Redis's own count of the commands it ran (`INFO commandstats`), to tell how many a
//! signed-in request costs. Plain RESP over a std socket: one command, one bulk reply.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use devstack::Result;

/// Every command Redis has run since it started, but the `INFO`s asking.
pub fn commands(port: u16) -> Result<u64> {
    let stats = info_commandstats(port).map_err(|e| format!("INFO commandstats: {e}"))?;
    Ok(total_calls(&stats))
}

fn info_commandstats(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n")?;
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    reader.read_line(&mut head)?;
    let length: usize = head
        .trim_end()
        .strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("unexpected reply {head:?}")))?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The sum of `calls=` over `cmdstat_*` lines, `cmdstat_info` left out.
fn total_calls(stats: &str) -> u64 {
    stats
        .lines()
        .filter(|l| l.starts_with("cmdstat_") && !l.starts_with("cmdstat_info:"))
        .filter_map(|l| {
            l.split_once("calls=")?
                .1
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_summed_without_info() {
        let stats = "# Commandstats\r\n\
            cmdstat_mget:calls=20,usec=40,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_info:calls=7,usec=70,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n\
            cmdstat_ping:calls=3,usec=3,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n";
        assert_eq!(total_calls(stats), 23);
    }
}
