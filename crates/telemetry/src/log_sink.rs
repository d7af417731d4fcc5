//! A log writer that never blocks its caller.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Log records queued for stderr before new ones are dropped: a few seconds of a busy
/// server's access log, a few hundred KiB at most.
pub const LOG_QUEUE_LINES: usize = 2048;

/// Hands each write (env_logger writes one record per call) to a thread that owns the
/// real output. `write` never waits: with the queue full, the record is dropped and
/// counted.
pub struct NonBlockingWriter {
    queue: SyncSender<Vec<u8>>,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    /// Dropped since the last report.
    dropped: AtomicU64,
    /// Queued and not yet written.
    pending: AtomicUsize,
}

/// Lets the owner wait for queued records to be written (at exit).
#[derive(Clone)]
pub struct LogHandle {
    counts: Arc<Counts>,
}

impl NonBlockingWriter {
    /// A writer queueing up to `capacity` records for a new thread that writes to `out`.
    pub fn new<W: Write + Send + 'static>(
        out: W,
        capacity: usize,
    ) -> (NonBlockingWriter, LogHandle) {
        let (queue, records) = sync_channel(capacity);
        let counts = Arc::new(Counts::default());
        let writer_counts = counts.clone();
        // If the thread cannot be started, records are dropped (and counted) rather
        // than the service refusing to start over its log.
        let _ = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_out(records, out, &writer_counts));
        (
            NonBlockingWriter {
                queue,
                counts: counts.clone(),
            },
            LogHandle { counts },
        )
    }
}

impl Write for NonBlockingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.counts.pending.fetch_add(1, Ordering::AcqRel);
        match self.queue.try_send(buf.to_vec()) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counts.pending.fetch_sub(1, Ordering::AcqRel);
                self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Flushing is the writer thread's job; waiting for it here would block.
        Ok(())
    }
}

fn write_out<W: Write>(records: Receiver<Vec<u8>>, mut out: W, counts: &Counts) {
    for record in records {
        let dropped = counts.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let _ = writeln!(
                out,
                "[log] {dropped} log line(s) dropped: the log output was not keeping up"
            );
        }
        let _ = out.write_all(&record);
        let _ = out.flush();
        counts.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

impl LogHandle {
    /// Waits until every queued record is written, or `within` has passed.
    pub fn flush(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.counts.pending.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Records dropped since the last report was written.
    pub fn dropped(&self) -> u64 {
        self.counts.dropped.load(Ordering::Relaxed)
    }
}

/// Installs `env_logger` (`RUST_LOG`, default `info`) writing to stderr through a
/// [`NonBlockingWriter`]. Call once, first thing.
pub fn init_logging() -> LogHandle {
    let (writer, handle) = NonBlockingWriter::new(io::stderr(), LOG_QUEUE_LINES);
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .target(env_logger::Target::Pipe(Box::new(writer)))
        .init();
    handle
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, Mutex};

    /// An output that blocks every write until opened, like a full pipe nobody reads.
    #[derive(Clone, Default)]
    struct Gate {
        open: Arc<(Mutex<bool>, Condvar)>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Gate {
        fn open(&self) {
            let (lock, cvar) = &*self.open;
            *lock.lock().unwrap() = true;
            cvar.notify_all();
        }

        fn text(&self) -> String {
            String::from_utf8(self.written.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let (lock, cvar) = &*self.open;
            let mut open = lock.lock().unwrap();
            while !*open {
                open = cvar.wait(open).unwrap();
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_output_never_blocks_the_writer_and_drops_are_reported() {
        let gate = Gate::default();
        let (mut writer, handle) = NonBlockingWriter::new(gate.clone(), 8);
        let started = Instant::now();
        for i in 0..1000 {
            writer.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "writes waited for the output: {:?}",
            started.elapsed()
        );
        assert!(handle.dropped() > 0, "nothing dropped");

        gate.open();
        handle.flush(Duration::from_secs(5));
        writer.write_all(b"after\n").unwrap();
        handle.flush(Duration::from_secs(5));
        let text = gate.text();
        let written = text.lines().filter(|l| l.starts_with("line ")).count() as u64;
        // Reports come as the writer thread gets to them: one or more, adding up.
        let reported: u64 = text
            .lines()
            .filter(|l| l.contains("log line(s) dropped"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        assert!(reported > 900, "{text}");
        assert_eq!(written + reported, 1000, "{text}");
        assert!(text.ends_with("after\n"), "{text}");
    }

    #[test]
    fn records_arrive_whole_and_in_order() {
        let gate = Gate::default();
        gate.open();
        let (mut writer, handle) = NonBlockingWriter::new(gate.clone(), 64);
        for i in 0..50 {
            writer
                .write_all(format!("record {i}\n").as_bytes())
                .unwrap();
        }
        handle.flush(Duration::from_secs(5));
        let expected: String = (0..50).map(|i| format!("record {i}\n")).collect();
        assert_eq!(gate.text(), expected);
        assert_eq!(handle.dropped(), 0);
    }
}
