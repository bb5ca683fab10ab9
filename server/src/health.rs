//! The system's own health: what the System tile and `/metrics` read about the stages that
//! carry the data, through one narrow interface.
//!
//! The stages keep their counters where they count (ingest its intake, the store writer its
//! writes); this module says what others may read of them. The live hub holds an
//! [`IntakeHealth`] and a [`StoreHealth`], not ingest's or the writer's types, so the hub
//! does not depend on its producers, and a producer's counters can change without the hub
//! knowing. [`Histogram`] is the latency figure every stage may keep.
//!
//! A leaf: it imports no other module of the crate.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What the System figures read of the intake (ingest's counters).
pub trait IntakeHealth: std::fmt::Debug + Send + Sync {
    /// Messages accepted and rejected since start.
    fn totals(&self) -> (u64, u64);
    /// Messages lost on the way, from gaps in the sources' `seq`.
    fn lost_messages(&self) -> u64;
    /// Every connection that carries messages to the store is connected and subscribed.
    fn broker_connected(&self) -> bool;
}

/// What the System figures read of the store writer.
pub trait StoreHealth: std::fmt::Debug + Send + Sync {
    /// The store takes writes: false from a failed write until the next that works.
    fn writable(&self) -> bool;
    /// Batches waiting in the on-disk spool.
    fn spool_batches(&self) -> u64;
}

/// Latency buckets, in seconds: the store's batch writes, the websockets' fan-out.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A fixed-bucket histogram, lock-free.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Per bucket of [`BUCKETS`], then one for +Inf (not cumulative).
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// Writes the histogram in the Prometheus text format (version 0.0.4), its `# HELP` and
    /// `# TYPE` lines first.
    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = BUCKETS.get(i).map_or("+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(9));
        let mut out = String::new();
        h.render(&mut out, "x", "help");
        assert!(
            out.starts_with("# HELP x help\n# TYPE x histogram\n"),
            "{out}"
        );
        assert!(out.contains("x_bucket{le=\"0.001\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"5\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count 3\n"), "{out}");
        assert!(out.contains("x_sum 9.0035\n"), "{out}");
    }
}
