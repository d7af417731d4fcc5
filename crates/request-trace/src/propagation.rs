//! The trace headers: `X-Amzn-Trace-Id` (X-Ray's) and `traceparent` (W3C Trace
//! Context), read from a request and written on the calls it makes.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::ids::{SpanId, TraceId};

/// X-Ray's trace header.
pub const XRAY_HEADER: HeaderName = HeaderName::from_static("x-amzn-trace-id");
/// W3C Trace Context's trace header.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The trace a request arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    pub trace_id: TraceId,
    /// The caller's segment or span.
    pub parent: Option<SpanId>,
    /// The caller's sampling decision; `None` when it made none (or asked with `?`).
    pub sampled: Option<bool>,
    /// `Sampled=?`: the caller wants the decision in the response header.
    pub asks_decision: bool,
}

/// The trace named by `X-Amzn-Trace-Id`, else by `traceparent`; a header that does not
/// parse is ignored (the request then starts a trace of its own).
pub fn incoming(headers: &HeaderMap) -> Option<Incoming> {
    let value = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    value(XRAY_HEADER)
        .and_then(parse_xray)
        .or_else(|| value(TRACEPARENT).and_then(parse_traceparent))
}

/// `Root=1-…;Parent=…;Sampled=0|1|?`, fields in any order, other fields (`Self`,
/// `Lineage`) ignored. Without a valid `Root` it names no trace.
pub fn parse_xray(value: &str) -> Option<Incoming> {
    let mut root = None;
    let mut parent = None;
    let mut sampled = None;
    let mut asks_decision = false;
    for field in value.split(';') {
        let Some((key, v)) = field.split_once('=') else {
            continue;
        };
        let (key, v) = (key.trim(), v.trim());
        if key.eq_ignore_ascii_case("root") {
            root = TraceId::parse_xray(v);
        } else if key.eq_ignore_ascii_case("parent") {
            parent = SpanId::parse(v);
        } else if key.eq_ignore_ascii_case("sampled") {
            match v {
                "1" => sampled = Some(true),
                "0" => sampled = Some(false),
                "?" => asks_decision = true,
                _ => {}
            }
        }
    }
    Some(Incoming {
        trace_id: root?,
        parent,
        sampled,
        asks_decision,
    })
}

/// `00-<trace id>-<parent id>-<flags>`; a later version is read by its first four
/// fields, as the specification asks.
pub fn parse_traceparent(value: &str) -> Option<Incoming> {
    let mut fields = value.trim().split('-');
    let version = fields.next()?;
    let trace_id = TraceId::parse_w3c(fields.next()?)?;
    let parent = SpanId::parse(fields.next()?)?;
    let flags = fields.next()?;
    let valid_version = version.len() == 2
        && version != "ff"
        && u8::from_str_radix(version, 16).is_ok()
        && (version != "00" || fields.next().is_none());
    if !valid_version || flags.len() != 2 {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(Incoming {
        trace_id,
        parent: Some(parent),
        sampled: Some(flags & 1 == 1),
        asks_decision: false,
    })
}

/// `X-Amzn-Trace-Id` for a call made from span `parent`.
pub fn xray_header(trace_id: &TraceId, parent: &SpanId, sampled: bool) -> String {
    let mut s = String::with_capacity(78);
    s.push_str("Root=");
    trace_id.write_xray(&mut s);
    s.push_str(";Parent=");
    parent.write_hex(&mut s);
    s.push_str(if sampled { ";Sampled=1" } else { ";Sampled=0" });
    s
}

/// `traceparent` for a call made from span `parent`.
pub fn traceparent(trace_id: &TraceId, parent: &SpanId, sampled: bool) -> String {
    let mut s = String::with_capacity(55);
    s.push_str("00-");
    trace_id.write_w3c(&mut s);
    s.push('-');
    parent.write_hex(&mut s);
    s.push_str(if sampled { "-01" } else { "-00" });
    s
}

/// `X-Amzn-Trace-Id` for a response: the root, and the decision when asked for.
pub fn response_header(trace_id: &TraceId, sampled: Option<bool>) -> String {
    let mut s = String::with_capacity(50);
    s.push_str("Root=");
    trace_id.write_xray(&mut s);
    match sampled {
        Some(true) => s.push_str(";Sampled=1"),
        Some(false) => s.push_str(";Sampled=0"),
        None => {}
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
    const PARENT: &str = "53995c3f42cd8ad8";

    #[test]
    fn x_ray_headers_as_balancers_and_sdks_send_them() {
        let full = parse_xray(&format!("Root={ROOT};Parent={PARENT};Sampled=1")).unwrap();
        assert_eq!(full.trace_id.xray(), ROOT);
        assert_eq!(full.parent.unwrap().hex(), PARENT);
        assert_eq!(full.sampled, Some(true));
        assert!(!full.asks_decision);

        // An ALB's: Self and Root only.
        let alb = parse_xray(&format!(
            "Self=1-67891233-12456789abcdef012345678;Root={ROOT}"
        ))
        .unwrap();
        assert_eq!(alb.trace_id.xray(), ROOT);
        assert_eq!((alb.parent, alb.sampled), (None, None));

        let asks = parse_xray(&format!(" Sampled=? ; Root={ROOT} ")).unwrap();
        assert!(asks.asks_decision);
        assert_eq!(asks.sampled, None);
        assert_eq!(
            parse_xray(&format!("Root={ROOT};Sampled=0"))
                .unwrap()
                .sampled,
            Some(false)
        );

        for bad in [
            "",
            "Root=",
            "Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=1-xyz-abc",
            "garbage",
        ] {
            assert_eq!(parse_xray(bad), None, "{bad:?}");
        }
        // A bad Parent is dropped, the trace kept.
        let bad_parent = parse_xray(&format!("Root={ROOT};Parent=zz")).unwrap();
        assert_eq!(bad_parent.parent, None);
    }

    #[test]
    fn traceparent_as_the_specification_writes_it() {
        let tp =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(tp.trace_id.w3c(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(tp.parent.unwrap().hex(), "00f067aa0ba902b7");
        assert_eq!(tp.sampled, Some(true));
        let off =
            parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").unwrap();
        assert_eq!(off.sampled, Some(false));
        // A later version may add fields.
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz")
                .is_some()
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn x_amzn_trace_id_wins_over_traceparent() {
        let mut headers = HeaderMap::new();
        headers.insert(
            TRACEPARENT,
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        assert_eq!(
            incoming(&headers).unwrap().trace_id.w3c(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        headers.insert(
            XRAY_HEADER,
            HeaderValue::from_str(&format!("Root={ROOT}")).unwrap(),
        );
        assert_eq!(incoming(&headers).unwrap().trace_id.xray(), ROOT);
        // An unreadable X-Ray header falls back to traceparent.
        headers.insert(XRAY_HEADER, HeaderValue::from_static("Root=nonsense"));
        assert_eq!(
            incoming(&headers).unwrap().trace_id.w3c(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }

    #[test]
    fn outgoing_headers_round_trip() {
        let trace = TraceId::parse_xray(ROOT).unwrap();
        let span = SpanId::parse(PARENT).unwrap();
        let x = xray_header(&trace, &span, true);
        assert_eq!(x, format!("Root={ROOT};Parent={PARENT};Sampled=1"));
        assert_eq!(parse_xray(&x).unwrap().parent, Some(span));
        let tp = traceparent(&trace, &span, false);
        assert_eq!(
            tp,
            format!("00-5759e988bd862e3fe1be46a994272793-{PARENT}-00")
        );
        assert_eq!(parse_traceparent(&tp).unwrap().trace_id, trace);
    }
}
