//! `X-Forwarded-For` → the client's address, with N trusted hops.
//!
//! Input: the first byte's low two bits are the hops (0–3); the rest, split at `\n`, are
//! the header's lines, in order.
//!
//! Properties: with 0 hops, or when the entry N places from the right is no address, the
//! answer is the peer's; otherwise it is exactly that entry's address (never one further
//! left, which the client wrote).
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use http::{HeaderMap, HeaderValue};
use http_input::client_address;
use libfuzzer_sys::fuzz_target;

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let hops = usize::from(first & 3);
    let mut headers = HeaderMap::new();
    for line in rest.split(|&b| b == b'\n') {
        let Ok(value) = HeaderValue::from_bytes(line) else {
            return;
        };
        headers.append("x-forwarded-for", value);
    }
    let found = client_address(&headers, hops, PEER);
    if hops == 0 {
        assert_eq!(found, PEER);
        return;
    }
    // The model: all entries, right to left, across lines from the last.
    let entries: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|line| {
            line.to_str()
                .unwrap_or("")
                .rsplit(',')
                .map(|e| e.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let expected = entries
        .get(hops - 1)
        .and_then(|e| {
            e.parse::<IpAddr>()
                .ok()
                .or_else(|| e.parse::<SocketAddr>().ok().map(|a| a.ip()))
        })
        .unwrap_or(PEER);
    assert_eq!(found, expected, "{entries:?}, {hops} hops");
});
