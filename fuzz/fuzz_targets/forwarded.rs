//! `X-Forwarded-For` → the client's address, with N trusted hops.
//!
//! Input: the first byte's low two bits are the hops (0–3); the rest, split at `\n`, are
//! the header's lines, in order (any bytes a header value may hold, obs-text included).
//!
//! Properties: with 0 hops, or when the entry N places from the right is no address, the
//! answer is the peer's; otherwise it is exactly that entry's address (never one further
//! left, which the client wrote). Entries are split on `,` as bytes, so what the client
//! wrote — whatever its bytes — changes nothing once N entries follow it.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use http::{HeaderMap, HeaderValue};
use http_input::client_address;
use libfuzzer_sys::fuzz_target;

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

/// What a client may have written before the trusted entries: bytes outside ASCII, and
/// an entry that is an address.
const CLIENT_WRITTEN: &[u8] = b"\xff\x80caf\xe9, 6.6.6.6, ";

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let hops = usize::from(first & 3);
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    let mut headers = HeaderMap::new();
    for line in &lines {
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
    // The model: all entries, right to left, across lines from the last, as bytes.
    let entries: Vec<&[u8]> = lines
        .iter()
        .rev()
        .flat_map(|line| line.rsplit(|&b| b == b','))
        .collect();
    let expected = entries
        .get(hops - 1)
        .and_then(|e| std::str::from_utf8(e.trim_ascii()).ok())
        .and_then(|e| {
            e.parse::<IpAddr>()
                .ok()
                .or_else(|| e.parse::<SocketAddr>().ok().map(|a| a.ip()))
        })
        .unwrap_or(PEER);
    assert_eq!(found, expected, "{entries:?}, {hops} hops");

    // Whatever the client wrote in front of the first line changes nothing while the
    // entry used is one of those after it.
    if entries.len() >= hops {
        let mut prefixed = HeaderMap::new();
        for (i, line) in lines.iter().enumerate() {
            let value = if i == 0 {
                HeaderValue::from_bytes(&[CLIENT_WRITTEN, line].concat())
            } else {
                HeaderValue::from_bytes(line)
            };
            let Ok(value) = value else {
                return;
            };
            prefixed.append("x-forwarded-for", value);
        }
        assert_eq!(client_address(&prefixed, hops, PEER), found, "{entries:?}");
    }
});
