//! What `/proc` says about a process: CPU time used, resident memory now and at its peak.

use std::time::Duration;

/// User plus system CPU time `pid` has used so far (all its threads).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    cpu_from_stat(&stat)
}

/// CPU time of `pid` and of its children (nginx's master and its workers).
pub fn tree_cpu_time(pid: u32) -> Option<Duration> {
    let mut total = cpu_time(pid)?;
    for child in children(pid) {
        total += cpu_time(child).unwrap_or_default();
    }
    Some(total)
}

/// CPU time the hypervisor has taken from this machine's CPUs since boot (`steal` in
/// `/proc/stat`): time the benchmark's processes wanted a CPU and did not get one.
pub fn steal_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu = stat.lines().next()?.strip_prefix("cpu ")?;
    // user nice system idle iowait irq softirq steal …
    let steal: u64 = cpu.split_whitespace().nth(7)?.parse().ok()?;
    Some(ticks(steal))
}

/// Resident memory now (`VmRSS`), in bytes.
pub fn rss(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:").map(|kib| kib * 1024)
}

/// The most resident memory since the process started (`VmHWM`), in bytes.
pub fn peak_rss(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:").map(|kib| kib * 1024)
}

/// [`peak_rss`] of `pid` and of its children, added up (nginx's master and workers;
/// since they started, so over every measurement so far).
pub fn tree_peak_rss(pid: u32) -> Option<u64> {
    let mut total = peak_rss(pid)?;
    for child in children(pid) {
        total += peak_rss(child).unwrap_or_default();
    }
    Some(total)
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// utime and stime (fields 14 and 15) of a `/proc/<pid>/stat` line.
fn cpu_from_stat(stat: &str) -> Option<Duration> {
    // The command name, in parentheses, may hold spaces: count fields after it.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so field n is at index n - 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(ticks(utime + stime))
}

fn ticks(n: u64) -> Duration {
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second)
        .ok()
        .filter(|&t| t > 0)
        .unwrap_or(100);
    Duration::from_nanos(n * 1_000_000_000 / per_second)
}

/// The pids whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&candidate| {
            std::fs::read_to_string(format!("/proc/{candidate}/stat"))
                .ok()
                .and_then(|stat| {
                    let (_, rest) = stat.rsplit_once(')')?;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines() {
        let line =
            "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 \
                    12345 1000000 300 18446744073709551615";
        // 300 ticks at the usual 100 per second.
        let cpu = cpu_from_stat(line).unwrap();
        assert_eq!(cpu, ticks(300));
        assert!(cpu_from_stat("garbage").is_none());
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(rss(me).unwrap() > 0);
        assert!(peak_rss(me).unwrap() >= rss(me).unwrap() / 2);
        assert!(cpu_time(me).is_some());
        assert!(steal_time().is_some());
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(children(me).contains(&child.id()));
        // Read ours first: other test threads keep adding CPU time while we look.
        let own = cpu_time(me).unwrap();
        assert!(tree_cpu_time(me).unwrap() >= own);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
