//! Latency samples per kind of call and their percentiles. Exact: every sample is kept as
//! microseconds in a `u32` (a few hundred thousand samples at most take a few MiB), so the
//! p99 is the 99th percentile of what was measured, not a bucket's edge.

use std::sync::Mutex;

use serde::Serialize;

/// Samples of one kind of call, shared by every simulated candidate.
#[derive(Debug, Default)]
pub(super) struct Samples {
    micros: Mutex<Vec<u32>>,
}

impl Samples {
    /// Records one latency.
    pub(super) fn record(&self, elapsed: std::time::Duration) {
        let micros = u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX);
        self.micros
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(micros);
    }

    /// The percentiles of everything recorded so far.
    pub(super) fn summary(&self) -> Summary {
        let mut micros = self
            .micros
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Summary::of(&mut micros)
    }
}

/// p50, p99 and max in milliseconds (`null` in JSON when nothing was measured), and the count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(super) struct Summary {
    pub(super) p50: Option<f64>,
    pub(super) p99: Option<f64>,
    pub(super) max: Option<f64>,
    pub(super) count: usize,
}

impl Summary {
    /// Sorts the samples and reads the nearest-rank percentiles.
    pub(super) fn of(micros: &mut [u32]) -> Self {
        micros.sort_unstable();
        Self {
            p50: percentile(micros, 50),
            p99: percentile(micros, 99),
            max: micros.last().map(|&max| millis(max)),
            count: micros.len(),
        }
    }
}

/// Nearest-rank percentile of sorted samples: the smallest sample with at least `percent`% of
/// the samples at or below it.
fn percentile(sorted: &[u32], percent: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    Some(millis(sorted[rank - 1]))
}

/// Microseconds to milliseconds, rounded to the microsecond.
fn millis(micros: u32) -> f64 {
    f64::from(micros) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut micros: Vec<u32> = (1..=100).rev().map(|ms| ms * 1000).collect();
        let summary = Summary::of(&mut micros);
        assert_eq!(summary.p50, Some(50.0));
        assert_eq!(summary.p99, Some(99.0));
        assert_eq!(summary.max, Some(100.0));
        assert_eq!(summary.count, 100);
    }

    #[test]
    fn one_slow_call_in_a_small_run_is_its_p99() {
        let mut micros = vec![1_000; 10];
        micros[3] = 250_000;
        let summary = Summary::of(&mut micros);
        assert_eq!(summary.p50, Some(1.0));
        assert_eq!(summary.p99, Some(250.0));
    }

    #[test]
    fn no_samples_give_no_percentiles() {
        let summary = Summary::of(&mut []);
        assert_eq!(summary.p50, None);
        assert_eq!(summary.p99, None);
        assert_eq!(summary.count, 0);
    }

    #[test]
    fn samples_recorded_from_many_places_are_all_counted() {
        let samples = Samples::default();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for ms in 0..250_u64 {
                        samples.record(std::time::Duration::from_millis(ms));
                    }
                });
            }
        });
        assert_eq!(samples.summary().count, 1_000);
        assert_eq!(samples.summary().max, Some(249.0));
    }
}
