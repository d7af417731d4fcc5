//! Trace and span ids, in the forms X-Ray and W3C Trace Context write them.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;

/// 16 bytes; the first 4 are the epoch second the trace began, as X-Ray requires, so
/// one id serves X-Ray (`1-<8 hex>-<24 hex>`) and OpenTelemetry (32 hex) alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceId(pub [u8; 16]);

/// 8 bytes: an X-Ray segment or subsegment id, an OpenTelemetry span id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    /// A new id: the current epoch second, then 12 random bytes.
    pub fn new(now: SystemTime) -> TraceId {
        let seconds = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as u32);
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&seconds.to_be_bytes());
        rand::rng().fill_bytes(&mut bytes[4..]);
        TraceId(bytes)
    }

    /// `1-5f84c7a5-0123456789abcdef01234567`.
    pub fn xray(&self) -> String {
        let mut s = String::with_capacity(35);
        self.write_xray(&mut s);
        s
    }

    pub fn write_xray(&self, out: &mut String) {
        out.push_str("1-");
        write_hex(out, &self.0[..4]);
        out.push('-');
        write_hex(out, &self.0[4..]);
    }

    /// 32 lowercase hex digits.
    #[cfg(test)]
    pub fn w3c(&self) -> String {
        let mut s = String::with_capacity(32);
        write_hex(&mut s, &self.0);
        s
    }

    pub fn write_w3c(&self, out: &mut String) {
        write_hex(out, &self.0);
    }

    /// From X-Ray's form; `None` unless exactly `1-` + 8 hex + `-` + 24 hex.
    pub fn parse_xray(s: &str) -> Option<TraceId> {
        let rest = s.strip_prefix("1-")?;
        let (time, random) = rest.split_once('-')?;
        if time.len() != 8 || random.len() != 24 {
            return None;
        }
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(time, &mut bytes[..4]).ok()?;
        hex::decode_to_slice(random, &mut bytes[4..]).ok()?;
        Some(TraceId(bytes))
    }

    /// From 32 hex digits; all zeros is no id.
    pub fn parse_w3c(s: &str) -> Option<TraceId> {
        let mut bytes = [0u8; 16];
        if s.len() != 32 || !is_lower_hex(s) {
            return None;
        }
        hex::decode_to_slice(s, &mut bytes).ok()?;
        (bytes != [0; 16]).then_some(TraceId(bytes))
    }
}

impl SpanId {
    pub fn new() -> SpanId {
        let mut bytes = [0u8; 8];
        while bytes == [0; 8] {
            rand::rng().fill_bytes(&mut bytes);
        }
        SpanId(bytes)
    }

    /// 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        let mut s = String::with_capacity(16);
        self.write_hex(&mut s);
        s
    }

    pub fn write_hex(&self, out: &mut String) {
        write_hex(out, &self.0);
    }

    /// From 16 hex digits; all zeros is no id.
    pub fn parse(s: &str) -> Option<SpanId> {
        let mut bytes = [0u8; 8];
        if s.len() != 16 {
            return None;
        }
        hex::decode_to_slice(s, &mut bytes).ok()?;
        (bytes != [0; 8]).then_some(SpanId(bytes))
    }
}

/// Lowercase hex, without `format!`'s machinery: ids are written several times per
/// request, on the request path.
fn write_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
}

/// W3C Trace Context allows lowercase only.
fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_trace_id_begins_with_its_epoch_second_in_both_forms() {
        let at = UNIX_EPOCH + Duration::from_secs(0x5f84_c7a5);
        let id = TraceId::new(at);
        let xray = id.xray();
        assert!(xray.starts_with("1-5f84c7a5-"), "{xray}");
        assert_eq!(xray.len(), 35);
        assert_eq!(id.w3c().len(), 32);
        assert!(id.w3c().starts_with("5f84c7a5"));
        assert_eq!(TraceId::parse_xray(&xray), Some(id));
        assert_eq!(TraceId::parse_w3c(&id.w3c()), Some(id));
        assert_ne!(TraceId::new(at), id, "12 random bytes");
    }

    #[test]
    fn only_well_formed_ids_parse() {
        for bad in [
            "",
            "1-5f84c7a5",
            "2-5f84c7a5-0123456789abcdef01234567",
            "1-5f84c7a-0123456789abcdef012345678",
            "1-5f84c7a5-0123456789abcdef0123456",
            "1-5f84c7zz-0123456789abcdef01234567",
            "1-5f84c7a5-0123456789abcdef01234567;",
        ] {
            assert_eq!(TraceId::parse_xray(bad), None, "{bad:?}");
        }
        assert_eq!(TraceId::parse_w3c(&"0".repeat(32)), None);
        assert_eq!(TraceId::parse_w3c(&"A".repeat(32)), None);
        assert_eq!(SpanId::parse("0000000000000000"), None);
        assert_eq!(SpanId::parse("53995c3f42cd8ad"), None);
        assert_eq!(
            SpanId::parse("53995c3f42cd8ad8"),
            Some(SpanId([0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8]))
        );
    }

    #[test]
    fn span_ids_are_random_and_never_zero() {
        let a = SpanId::new();
        assert_ne!(a, SpanId::new());
        assert_ne!(a.0, [0; 8]);
        assert_eq!(SpanId::parse(&a.hex()), Some(a));
    }
}
