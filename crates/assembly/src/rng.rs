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

/// Fills `out` with one uniform integer in `0..bound` per entry of `bounds` (each >= 1),
/// exactly and independently, from as few 64-bit words as possible: the batched form of
/// Lemire's method (Brackett-Rozinsky and Lemire, "Batched ranged random integer
/// generation", 2024). Consecutive bounds are grouped while their product P fits in 64
/// bits; one word r is multiplied by each bound in turn, the high halves being the group's
/// digits and the low half carried on. This computes floor(r x P / 2^64) in mixed radix, and
/// rejecting r when (r x P mod 2^64) < (2^64 - P) mod P makes it exactly uniform on 0..P,
/// so the digits are exactly uniform and independent.
pub(crate) fn fill_uniform(rng: &mut ChaCha20Rng, bounds: &[u32], out: &mut Vec<u32>) {
    out.clear();
    out.resize(bounds.len(), 0);
    let mut start = 0;
    while start < bounds.len() {
        // One pass computes the digits and finds where the group ends (when the next bound
        // would overflow the product); a rejected group is redone over the same range.
        let mut word = rng.next_u64();
        let mut product: u64 = 1;
        let mut end = start;
        while end < bounds.len() {
            let Some(next) = product.checked_mul(u64::from(bounds[end])) else {
                break;
            };
            product = next;
            let wide = u128::from(word) * u128::from(bounds[end]);
            out[end] = (wide >> 64) as u32;
            word = wide as u64;
            end += 1;
        }
        // Rejection is rare (probability below P / 2^64), and so is the division.
        while word < product && word < product.wrapping_neg() % product {
            word = rng.next_u64();
            for (digit, &bound) in out[start..end].iter_mut().zip(&bounds[start..end]) {
                let wide = u128::from(word) * u128::from(bound);
                *digit = (wide >> 64) as u32;
                word = wide as u64;
            }
        }
        start = end;
    }
}

/// Option counts up to this use a table of all permutations: one digit below k! picks the
/// permutation of that rank in lexicographic order (k! <= 720).
pub(crate) const TABLED_PERMUTATIONS: usize = 6;

/// Every permutation of 0..k in lexicographic order, for k = 0..=6, flattened.
#[derive(Debug, Clone)]
pub(crate) struct PermutationTable {
    offsets: [usize; TABLED_PERMUTATIONS + 1],
    data: Vec<u8>,
}

impl PermutationTable {
    pub(crate) fn new() -> PermutationTable {
        let mut offsets = [0; TABLED_PERMUTATIONS + 1];
        let mut data = Vec::new();
        for (k, offset) in offsets.iter_mut().enumerate() {
            *offset = data.len();
            let mut current: Vec<u8> = (0..k as u8).collect();
            loop {
                data.extend_from_slice(&current);
                // Next permutation in lexicographic order.
                let Some(i) = (1..k).rev().find(|&i| current[i - 1] < current[i]) else {
                    break;
                };
                let j = (i..k)
                    .rev()
                    .find(|&j| current[j] > current[i - 1])
                    .unwrap_or(i);
                current.swap(i - 1, j);
                current[i..].reverse();
            }
        }
        PermutationTable { offsets, data }
    }

    /// The permutation of 0..k of the given rank (k <= 6, rank < k!).
    #[inline]
    pub(crate) fn get(&self, k: usize, rank: u32) -> &[u8] {
        let start = self.offsets[k] + rank as usize * k;
        &self.data[start..start + k]
    }
}

/// k! for k <= 12.
pub(crate) const fn factorial(k: usize) -> u32 {
    let mut product = 1u32;
    let mut i = 2;
    while i <= k {
        product *= i as u32;
        i += 1;
    }
    product
}

/// Pushes the Fisher–Yates bounds for shuffling `len` elements: len, len - 1, ..., 2.
pub(crate) fn push_shuffle_bounds(len: usize, bounds: &mut Vec<u32>) {
    bounds.extend((2..=len as u32).rev());
}

/// Applies a Fisher–Yates shuffle whose swap indices are `digits` (drawn with the bounds
/// of [`push_shuffle_bounds`]); returns the digits not used.
pub(crate) fn apply_shuffle<'d, T>(items: &mut [T], digits: &'d [u32]) -> &'d [u32] {
    let len = items.len();
    if len < 2 {
        return digits;
    }
    for (step, i) in (1..len).rev().enumerate() {
        items.swap(i, digits[step] as usize);
    }
    &digits[len - 1..]
}

/// Shuffles uniformly (Fisher–Yates with batched digits).
#[cfg(test)]
pub(crate) fn shuffle<T>(rng: &mut ChaCha20Rng, items: &mut [T]) {
    let mut bounds = Vec::new();
    push_shuffle_bounds(items.len(), &mut bounds);
    let mut digits = Vec::new();
    fill_uniform(rng, &bounds, &mut digits);
    apply_shuffle(items, &digits);
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
    fn batched_digits_stay_below_their_bounds_and_are_uniform() {
        let mut rng = ChaCha20Rng::from_seed([5; 32]);
        let mut bounds: Vec<u32> = (1..=40).map(|i| i * 7 % 23 + 1).collect();
        bounds[4] = 6;
        let mut counts = vec![0u32; 6];
        let mut digits = Vec::new();
        for _ in 0..6000 {
            fill_uniform(&mut rng, &bounds, &mut digits);
            assert_eq!(digits.len(), bounds.len());
            assert!(digits.iter().zip(&bounds).all(|(d, b)| d < b));
            counts[digits[4] as usize] += 1;
        }
        let chi: f64 = counts
            .iter()
            .map(|&c| (f64::from(c) - 1000.0).powi(2) / 1000.0)
            .sum();
        assert!(chi < 20.5, "chi-square {chi}: {counts:?}"); // 5 df, 0.999 quantile
    }

    #[test]
    fn the_permutation_table_lists_every_permutation_in_lexicographic_order() {
        let table = PermutationTable::new();
        assert_eq!(table.get(3, 0), &[0, 1, 2]);
        assert_eq!(table.get(3, 1), &[0, 2, 1]);
        assert_eq!(table.get(3, 5), &[2, 1, 0]);
        let mut all: Vec<&[u8]> = (0..720).map(|rank| table.get(6, rank)).collect();
        assert!(all.windows(2).all(|pair| pair[0] < pair[1]));
        all.dedup();
        assert_eq!(all.len(), 720);
        assert_eq!(factorial(6), 720);
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
