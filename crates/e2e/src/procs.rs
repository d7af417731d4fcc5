//! Stopping a process and everything it started (chromedriver and its Chromium).

/// SIGKILLs `root` and its descendants.
///
/// Chromium's helpers are children of the browser, which is a child of chromedriver;
/// killing chromedriver alone would leave them running. The tree is collected before
/// anything is killed, since orphans are re-parented and no longer found.
pub fn kill_tree(root: u32) {
    let mut pids = vec![root];
    let mut i = 0;
    let table = parents();
    while i < pids.len() {
        let parent = pids[i];
        pids.extend(
            table
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    for pid in pids {
        // Only positive pids: 0 and negative ones would name whole groups.
        if let Ok(pid @ 1..) = libc::pid_t::try_from(pid) {
            // SAFETY: kill(2) has no memory effects.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// (pid, parent pid) of every process, from /proc.
fn parents() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name is in parentheses and may hold spaces: read after it.
            let (_, rest) = stat.rsplit_once(')')?;
            let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// Live processes (zombies excluded) whose command line mentions `needle`.
pub fn running_with(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let (_, rest) = stat.rsplit_once(')')?;
                    rest.split_whitespace().next().map(|s| s != "Z" && s != "X")
                })
                .unwrap_or(false);
            alive
                && std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .collect()
}
