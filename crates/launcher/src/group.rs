//! Processes started together and stopped together (a stack).

use std::process::ExitStatus;
use std::time::Duration;

use crate::pidfile::Entry;
use crate::{stop_pids, Process};

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
        // A child that has exited is a zombie until reaped, which the pid-based stop
        // already counts as gone: it serves our children too, reaped after.
        let running: Vec<u32> = processes
            .iter_mut()
            .filter_map(|p| p.try_wait().is_none().then(|| p.pid()))
            .collect();
        let survivors = stop_pids(&running, grace);
        processes
            .iter_mut()
            .filter_map(|p| {
                if survivors.contains(&p.pid()) {
                    return Some(p.name().to_owned());
                }
                p.try_wait();
                None
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lifetime, Output, Ready, Spec};
    use std::thread::sleep;
    use std::time::Instant;

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
