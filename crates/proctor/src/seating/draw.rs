//! The seating draw's randomness: one ChaCha20 stream per plan, derived from the seed.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// The 16 bytes that separate the seating stream from every other draw made with the same
/// number (the proctor draw with `--seed 7` and the seating plan with `--seed 7` share
/// nothing).
const DOMAIN: &[u8; 16] = b"xcert seating v1";

/// The generator for a seating plan: ChaCha20 keyed with the seed as 8 little-endian bytes,
/// then `xcert seating v1`, then 8 zero bytes. An auditor can rebuild it from the seed alone.
pub(crate) fn seating_rng(seed: u64) -> ChaCha20Rng {
    let mut key = [0_u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..24].copy_from_slice(DOMAIN);
    ChaCha20Rng::from_seed(key)
}

/// A uniform integer in `0..bound` (`bound` > 0), without modulo bias (Lemire's method).
pub(crate) fn below(rng: &mut ChaCha20Rng, bound: usize) -> usize {
    let bound = bound as u64;
    let threshold = bound.wrapping_neg() % bound;
    loop {
        let product = u128::from(rng.next_u64()) * u128::from(bound);
        if (product as u64) >= threshold {
            return (product >> 64) as usize;
        }
    }
}

/// Fisher–Yates shuffle driven by `rng`.
pub(crate) fn shuffle<T>(rng: &mut ChaCha20Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, below(rng, i + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_shuffle() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        shuffle(&mut seating_rng(9), &mut a);
        shuffle(&mut seating_rng(9), &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn different_seeds_give_different_shuffles() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        shuffle(&mut seating_rng(1), &mut a);
        shuffle(&mut seating_rng(2), &mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn below_stays_below_its_bound_and_reaches_every_value() {
        let mut rng = seating_rng(3);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let value = below(&mut rng, 7);
            assert!(value < 7);
            seen[value] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
