//! `cargo xtask down`: stops what `up --detach` started, as listed in `.dev/pids`.

use devstack::{Result, STOP_GRACE};

use crate::up::pidfile;

pub fn run() -> Result<()> {
    let pidfile = pidfile();
    let Some(entries) = pidfile.read()? else {
        println!("nothing to stop: no local stack was started with `cargo xtask up --detach`");
        return Ok(());
    };
    let mut ours = Vec::new();
    for entry in &entries {
        if !launcher::is_alive(entry.pid) {
            println!("{} (pid {}) had already stopped", entry.name, entry.pid);
        } else if !launcher::runs(entry.pid, &entry.name) {
            // The pid was reused after our process died: not ours to signal.
            println!("pid {} is no longer {}: left alone", entry.pid, entry.name);
        } else {
            ours.push(entry);
        }
    }
    if !ours.is_empty() {
        let names: Vec<String> = ours
            .iter()
            .map(|e| format!("{} (pid {})", e.name, e.pid))
            .collect();
        println!(
            "stopping {} (SIGTERM, SIGKILL after {} s)...",
            names.join(", "),
            STOP_GRACE.as_secs()
        );
    }
    let pids: Vec<u32> = ours.iter().map(|e| e.pid).collect();
    let survivors = launcher::stop_pids(&pids, STOP_GRACE);
    if !survivors.is_empty() {
        return Err(format!(
            "could not stop pids {survivors:?}, even with SIGKILL; {} is kept",
            pidfile.path().display()
        ));
    }
    pidfile.remove()?;
    for entry in &ours {
        if launcher::accepts(entry.port) {
            eprintln!(
                "warning: port {} (was {}) still accepts connections: something else listens there",
                entry.port, entry.name
            );
        }
    }
    println!("the local stack is stopped");
    Ok(())
}
