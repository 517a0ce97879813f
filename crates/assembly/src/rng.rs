//! Sampling primitives over a raw `u32` stream, written here rather than taken from `rand`
//! so that the mapping from seed to paper is pinned by this crate's source: an auditor
//! re-deriving a paper years later must get the same numbers whatever `rand` has changed.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::Rng;

/// A uniform integer in `0..n` (n >= 1), by Lemire's multiply-and-reject method: unbiased,
/// usually one `u32` per call.
#[inline]
pub(crate) fn below(rng: &mut ChaCha20Rng, n: u32) -> u32 {
    debug_assert!(n > 0);
    let mut product = u64::from(rng.next_u32()) * u64::from(n);
    let mut low = product as u32;
    if low < n {
        let threshold = n.wrapping_neg() % n;
        while low < threshold {
            product = u64::from(rng.next_u32()) * u64::from(n);
            low = product as u32;
        }
    }
    (product >> 32) as u32
}

const FACTORIALS: [u32; 13] = [
    1,
    1,
    2,
    6,
    24,
    120,
    720,
    5040,
    40320,
    362_880,
    3_628_800,
    39_916_800,
    479_001_600,
];

/// Shuffles uniformly (Fisher–Yates). For up to 12 elements one uniform draw in `0..n!` is
/// split into the mixed-radix digits that Fisher–Yates needs, which costs one `u32` instead
/// of n - 1; the result is the same uniform distribution.
#[inline]
pub(crate) fn shuffle<T>(rng: &mut ChaCha20Rng, items: &mut [T]) {
    let len = items.len();
    if len < 2 {
        return;
    }
    if len < FACTORIALS.len() {
        let mut code = below(rng, FACTORIALS[len]);
        for i in (1..len).rev() {
            let radix = i as u32 + 1;
            let j = (code % radix) as usize;
            code /= radix;
            items.swap(i, j);
        }
    } else {
        for i in (1..len).rev() {
            let j = below(rng, i as u32 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            seen[below(&mut rng, 7) as usize] += 1;
        }
        assert!(
            seen.iter().all(|&count| count > 850 && count < 1150),
            "{seen:?}"
        );
    }

    #[test]
    fn small_shuffles_produce_every_permutation_about_equally_often() {
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..24_000 {
            let mut items = [0u8, 1, 2, 3];
            shuffle(&mut rng, &mut items);
            *counts.entry(items).or_insert(0u32) += 1;
        }
        assert_eq!(counts.len(), 24);
        // Chi-square with 23 degrees of freedom; 49.7 is the 0.999 quantile.
        let chi: f64 = counts
            .values()
            .map(|&count| (f64::from(count) - 1000.0).powi(2) / 1000.0)
            .sum();
        assert!(chi < 49.7, "chi-square {chi}");
    }

    #[test]
    fn large_shuffles_keep_every_element() {
        let mut rng = ChaCha20Rng::from_seed([3; 32]);
        let mut items: Vec<u32> = (0..40).collect();
        shuffle(&mut rng, &mut items);
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..40).collect::<Vec<_>>());
        assert_ne!(items, sorted);
    }
}
