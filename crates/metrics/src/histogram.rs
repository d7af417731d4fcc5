//! A histogram of durations with fixed buckets, recorded with atomic additions only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds in seconds: from a cached Redis answer to a slow S3 first byte.
pub(crate) const BOUNDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
pub(crate) struct Histogram {
    /// Observations per bucket (not cumulative); the last one is above every bound.
    counts: [AtomicU64; BOUNDS.len() + 1],
    sum_nanos: AtomicU64,
}

/// What a scrape reads: cumulative bucket counts, the sum and the count.
pub(crate) struct Snapshot {
    pub cumulative: [u64; BOUNDS.len()],
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    pub(crate) fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BOUNDS.partition_point(|&bound| bound < seconds);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut cumulative = [0u64; BOUNDS.len()];
        let mut running = 0u64;
        for (i, slot) in cumulative.iter_mut().enumerate() {
            running += self.counts[i].load(Ordering::Relaxed);
            *slot = running;
        }
        let count = running + self.counts[BOUNDS.len()].load(Ordering::Relaxed);
        Snapshot {
            cumulative,
            count,
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_bounds_inclusive() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500)); // exactly the first bound
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(30)); // above every bound
        let s = h.snapshot();
        assert_eq!(s.cumulative[0], 1);
        assert_eq!(s.cumulative[2], 1, "0.0025 holds only the first");
        assert_eq!(s.cumulative[3], 2);
        assert_eq!(s.cumulative[BOUNDS.len() - 1], 2);
        assert_eq!(s.count, 3);
        assert!((s.sum_seconds - 30.0035).abs() < 1e-9, "{}", s.sum_seconds);
    }
}
