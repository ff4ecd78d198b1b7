//! Latency samples and their percentiles.

use std::time::Duration;

/// Latencies, in nanoseconds.
#[derive(Debug, Default)]
pub(crate) struct Latencies(Vec<u64>);

impl Latencies {
    /// Records one.
    pub(crate) fn record(&mut self, d: Duration) {
        self.0.push(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Adds another set.
    pub(crate) fn merge(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// How many.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The `p`-th percentile (0..=100), after sorting.
    pub(crate) fn percentile(&mut self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0.sort_unstable();
        let rank = (p / 100.0 * (self.0.len() - 1) as f64).round() as usize;
        Duration::from_nanos(self.0[rank.min(self.0.len() - 1)])
    }

    /// "p50 123µs  p99 456µs  p99.9 789µs".
    pub(crate) fn summary(&mut self) -> String {
        let (a, b, c) = (
            self.percentile(50.0),
            self.percentile(99.0),
            self.percentile(99.9),
        );
        format!("p50 {a:.0?}  p99 {b:.0?}  p99.9 {c:.0?}")
    }
}
