//! The standard process metrics, read from `/proc` at scrape time (Linux).

/// Linux reports CPU times in clock ticks of 1/100 s (USER_HZ) on every architecture.
const TICKS_PER_SECOND: f64 = 100.0;

pub(crate) struct Process {
    pub resident_bytes: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub open_fds: Option<u64>,
}

pub(crate) fn read() -> Process {
    Process {
        resident_bytes: resident_bytes(),
        cpu_seconds: cpu_seconds(),
        open_fds: std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as u64),
    }
}

fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// utime + stime, fields 14 and 15 of `/proc/self/stat` (counted after the command
/// name, which may hold spaces and is closed by the last `)`).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let p = read();
        assert!(p.resident_bytes.is_some_and(|b| b > 1024 * 1024));
        assert!(p.open_fds.is_some_and(|n| n >= 3));
        // Burn a little CPU so the counter cannot be zero.
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        assert!(p.cpu_seconds.is_some());
        assert!(read().cpu_seconds.is_some_and(|s| s > 0.0));
    }
}
