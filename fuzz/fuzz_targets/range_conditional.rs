//! `Range` and the four conditional headers.
//!
//! Input: lines (`\n`-separated): `Range`, `If-None-Match`, `If-Match`,
//! `If-Modified-Since`, `If-Unmodified-Since`, `If-Range`; a missing line is an absent
//! header.
//!
//! Properties: a usable Range is the input itself, is `bytes=` after trimming, and names
//! one range `a-b` (a ≤ b), `a-` or `-n` (n > 0); entity tags are passed on exactly as
//! sent; a date that was read survives httpdate formatting and parsing (whole seconds);
//! an If-Range tag is the trimmed value, a strong tag (quoted, no quote inside).
#![no_main]

use std::time::{Duration, SystemTime};

use http::{header, HeaderMap, HeaderName, HeaderValue};
use http_input::{conditions, if_range, usable_range, IfRange};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    if let Ok(range) = std::str::from_utf8(lines.next().unwrap_or_default()) {
        check_range(range);
    }

    let names: [HeaderName; 5] = [
        header::IF_NONE_MATCH,
        header::IF_MATCH,
        header::IF_MODIFIED_SINCE,
        header::IF_UNMODIFIED_SINCE,
        header::IF_RANGE,
    ];
    let mut headers = HeaderMap::new();
    for (name, line) in names.iter().zip(lines) {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.insert(name.clone(), value);
        }
    }
    let c = conditions(&headers);
    let text = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(c.if_none_match.as_deref(), text(&header::IF_NONE_MATCH));
    assert_eq!(c.if_match.as_deref(), text(&header::IF_MATCH));
    for (name, date) in [
        (header::IF_MODIFIED_SINCE, c.if_modified_since),
        (header::IF_UNMODIFIED_SINCE, c.if_unmodified_since),
    ] {
        let Some(date) = date else {
            continue;
        };
        assert!(text(&name).is_some(), "a date from no header: {name}");
        round_trips(date);
    }
    match if_range(&headers) {
        None => assert!(!headers.contains_key(header::IF_RANGE)),
        Some(IfRange::Tag(tag)) => {
            assert_eq!(Some(tag.as_str()), text(&header::IF_RANGE).map(str::trim));
            assert!(
                tag.len() >= 2 && tag.starts_with('"') && tag.ends_with('"'),
                "{tag:?}"
            );
            assert!(!tag[1..tag.len() - 1].contains('"'), "{tag:?}");
        }
        Some(IfRange::Date(date)) => round_trips(date),
        Some(IfRange::Unusable) => {}
    }
});

fn check_range(range: &str) {
    if let Some(usable) = usable_range(range) {
        assert!(std::ptr::eq(usable, range), "not the input: {range:?}");
        let spec = usable
            .trim()
            .strip_prefix("bytes=")
            .unwrap_or_else(|| panic!("no bytes= prefix: {range:?}"));
        let (first, last) = spec.split_once('-').expect("a dash");
        let number = |s: &str| -> Option<u64> {
            let s = s.trim();
            (!s.is_empty()).then(|| s.parse().expect("digits only"))
        };
        match (number(first), number(last)) {
            (Some(a), Some(b)) => assert!(a <= b, "{range:?}"),
            (Some(_), None) => {}
            (None, Some(n)) => assert!(n > 0, "{range:?}"),
            (None, None) => panic!("no bound at all: {range:?}"),
        }
    }
    // And the other way round: well-formed single ranges built from the input's length
    // and bytes are always usable.
    let a = range.len() as u64;
    let b = a + range.bytes().map(u64::from).sum::<u64>();
    for ok in [
        format!("bytes={a}-{b}"),
        format!("bytes={a}-"),
        format!("bytes=-{}", b + 1),
        format!(" bytes={a}-{b} "),
    ] {
        assert_eq!(usable_range(&ok), Some(ok.as_str()));
    }
}

/// The date, formatted as HTTP does and parsed back, is the same to the second.
fn round_trips(date: SystemTime) {
    let formatted = httpdate::fmt_http_date(date);
    let back = httpdate::parse_http_date(&formatted)
        .unwrap_or_else(|e| panic!("{formatted:?} does not parse back: {e}"));
    let diff = back
        .duration_since(date)
        .or_else(|_| date.duration_since(back))
        .unwrap_or_default();
    assert!(
        diff < Duration::from_secs(1),
        "{date:?} -> {formatted:?} -> {back:?}"
    );
}
