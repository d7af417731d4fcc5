//! Processes started together and stopped together (a stack).

use std::process::ExitStatus;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::pidfile::Entry;
use crate::{Process, POLL};

/// What a launcher started, in start order. Dropping it kills what still runs.
#[derive(Debug, Default)]
pub struct Group {
    processes: Vec<Process>,
}

impl Group {
    pub fn new() -> Group {
        Group::default()
    }

    /// Adds a started process; returns it, to wait until it is ready.
    pub fn push(&mut self, process: Process) -> &mut Process {
        self.processes.push(process);
        let last = self.processes.len() - 1;
        &mut self.processes[last]
    }

    /// The pid file's lines of the processes started so far.
    pub fn entries(&self) -> Vec<Entry> {
        self.processes.iter().map(Process::entry).collect()
    }

    /// The first process that has exited, and how.
    pub fn exited(&mut self) -> Option<(String, ExitStatus)> {
        self.processes
            .iter_mut()
            .find_map(|p| Some((p.name().to_owned(), p.try_wait()?)))
    }

    /// Stops them all at once (SIGTERM, then SIGKILL after `grace`), each named as it
    /// goes; returns the names of those that survived even SIGKILL.
    pub fn stop(&mut self, grace: Duration) -> Vec<String> {
        let survivors = Group::stop_all(&mut self.processes, grace);
        for process in &self.processes {
            if !survivors.iter().any(|name| name == process.name()) {
                println!("  stopped {}", process.name());
            }
        }
        self.processes.clear();
        survivors
    }

    /// Leaves them all running beyond this value; returns their pid file lines.
    pub fn release(mut self) -> Vec<Entry> {
        self.processes.drain(..).map(Process::release).collect()
    }

    /// SIGTERM to each, up to `grace` for all to exit, SIGKILL to the rest; returns the
    /// names of those still running after that.
    pub(crate) fn stop_all(processes: &mut [Process], grace: Duration) -> Vec<String> {
        for process in processes.iter_mut() {
            let _ = process.signal(libc::SIGTERM);
        }
        if !wait_all(processes, grace) {
            for process in processes.iter_mut() {
                if process.try_wait().is_some() {
                    continue;
                }
                eprintln!(
                    "  {} (pid {}) ignored SIGTERM for {} s: SIGKILL",
                    process.name(),
                    process.pid(),
                    grace.as_secs()
                );
                let _ = process.signal(libc::SIGKILL);
            }
            wait_all(processes, Duration::from_secs(2));
        }
        processes
            .iter_mut()
            .filter_map(|p| p.try_wait().is_none().then(|| p.name().to_owned()))
            .collect()
    }
}

/// Waits up to `limit` for every process to exit (reaping each); true when all have.
fn wait_all(processes: &mut [Process], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if processes.iter_mut().all(|p| p.try_wait().is_some()) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lifetime, Output, Ready, Spec};

    fn start(name: &str, script: &str) -> Process {
        let spec = Spec::new(name, "sh", 0, Ready::Accepts).args(["-c", script]);
        Process::spawn(spec, Output::StderrPipe, Lifetime::Owned).unwrap()
    }

    #[test]
    fn stops_all_and_kills_who_ignores_sigterm() {
        let mut group = Group::new();
        group.push(start("polite", "exec sleep 30"));
        // `trap '' TERM` ignores SIGTERM, and `exec sleep` keeps that.
        group.push(start("stubborn", "trap '' TERM; exec sleep 30"));
        assert_eq!(group.entries().len(), 2);
        assert!(group.exited().is_none());
        let started = Instant::now();
        assert!(group.stop(Duration::from_millis(300)).is_empty());
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(group.entries().is_empty());
    }

    #[test]
    fn names_the_first_to_exit() {
        let mut group = Group::new();
        group.push(start("stays", "exec sleep 30"));
        group.push(start("leaves", "exit 3"));
        let deadline = Instant::now() + Duration::from_secs(5);
        let exited = loop {
            if let Some(exited) = group.exited() {
                break exited;
            }
            assert!(Instant::now() < deadline, "nothing exited");
            sleep(Duration::from_millis(10));
        };
        assert_eq!(exited.0, "leaves");
        assert_eq!(exited.1.code(), Some(3));
    }
}
