//! The client's address, as the load balancer in front saw it.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

/// The entry `hops` places from the right of `X-Forwarded-For` (every line of it, in
/// order): each trusted proxy appends the address it saw, so with one balancer in front
/// (`hops` = 1) the last entry is the client's. Entries further left are whatever the
/// client wrote and are never used — nor read as text: the lines are split on `,` as
/// bytes, so a byte outside ASCII there cannot hide the entries appended after it. The
/// peer's address when `hops` is 0, when there are fewer entries, or when that entry is
/// no IP address.
pub fn client_address(headers: &HeaderMap, hops: usize, peer: IpAddr) -> IpAddr {
    if hops == 0 {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|line| line.as_bytes().rsplit(|&b| b == b','))
        .nth(hops - 1)
        .and_then(|entry| std::str::from_utf8(entry.trim_ascii()).ok())
        .and_then(parse)
        .unwrap_or(peer)
}

/// `1.2.3.4`, `::1`, and the `ip:port` / `[ip]:port` forms some balancers write.
fn parse(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append("x-forwarded-for", l.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_hop_takes_the_entry_the_balancer_appended() {
        let h = headers(&["6.6.6.6, 1.2.3.4"]);
        assert_eq!(client_address(&h, 1, PEER), ip("1.2.3.4"));
        assert_eq!(client_address(&h, 2, PEER), ip("6.6.6.6"));
        assert_eq!(client_address(&h, 3, PEER), PEER);
    }

    #[test]
    fn lines_are_read_in_order() {
        let h = headers(&["6.6.6.6", "1.2.3.4, 5.6.7.8"]);
        assert_eq!(client_address(&h, 1, PEER), ip("5.6.7.8"));
        assert_eq!(client_address(&h, 3, PEER), ip("6.6.6.6"));
    }

    #[test]
    fn zero_hops_or_no_header_means_the_peer() {
        assert_eq!(client_address(&headers(&["1.2.3.4"]), 0, PEER), PEER);
        assert_eq!(client_address(&HeaderMap::new(), 1, PEER), PEER);
    }

    #[test]
    fn ports_and_v6_are_understood_and_garbage_ignored() {
        assert_eq!(
            client_address(&headers(&["1.2.3.4:5555"]), 1, PEER),
            ip("1.2.3.4")
        );
        assert_eq!(
            client_address(&headers(&["[2001:db8::1]:80"]), 1, PEER),
            ip("2001:db8::1")
        );
        assert_eq!(
            client_address(&headers(&["2001:db8::1"]), 1, PEER),
            ip("2001:db8::1")
        );
        assert_eq!(client_address(&headers(&["unknown"]), 1, PEER), PEER);
        assert_eq!(client_address(&headers(&["1.2.3.4, "]), 1, PEER), PEER);
    }

    /// Found in review: one byte outside visible ASCII (obs-text, which HTTP allows) in
    /// what the client wrote made the whole header unreadable as text, and the log fell
    /// back to the balancer's address.
    #[test]
    fn bytes_the_client_wrote_do_not_hide_the_entries_appended_to_them() {
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"caf\xe9, \x80\xff, 1.2.3.4").unwrap(),
        );
        assert_eq!(client_address(&h, 1, PEER), ip("1.2.3.4"));
        assert_eq!(
            client_address(&h, 2, PEER),
            PEER,
            "that entry is no address"
        );
        h.append("x-forwarded-for", HeaderValue::from_static("5.6.7.8"));
        assert_eq!(client_address(&h, 1, PEER), ip("5.6.7.8"));
        assert_eq!(client_address(&h, 2, PEER), ip("1.2.3.4"));
        // The entry used must itself be an address: no byte of it may be outside ASCII.
        let h = headers(&["1.2.3.4"]);
        let mut odd = h.clone();
        odd.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xa01.2.3.4").unwrap(),
        );
        assert_eq!(client_address(&odd, 1, PEER), PEER);
        assert_eq!(client_address(&h, 1, PEER), ip("1.2.3.4"));
    }
}
