//! The client's address, as the load balancer in front saw it.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

/// The entry `hops` places from the right of `X-Forwarded-For` (every line of it, in
/// order): each trusted proxy appends the address it saw, so with one balancer in front
/// (`hops` = 1) the last entry is the client's. Entries further left are whatever the
/// client wrote and are never used. The peer's address when `hops` is 0, when there are
/// fewer entries, or when that entry is no IP address.
pub fn client_address(headers: &HeaderMap, hops: usize, peer: IpAddr) -> IpAddr {
    if hops == 0 {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|line| line.to_str().unwrap_or("").rsplit(','))
        .nth(hops - 1)
        .and_then(|entry| parse(entry.trim()))
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
}
