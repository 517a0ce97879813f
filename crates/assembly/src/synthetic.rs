//! Deterministic synthetic banks and blueprints, for benchmarks and tests: the benchmark
//! input is generated from a seed, so its size and shape are stated exactly.

use std::fmt::Write as _;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use crate::pool::{ItemSpec, ItemType, Pool};
use crate::rng::below;

/// The shape of a synthetic bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticBank {
    /// Items in the bank.
    pub items: u32,
    /// Knowledge points `kp00`, `kp01`, ...
    pub knowledge_points: u32,
    /// Enemy pairs, drawn between random items of the same knowledge point.
    pub enemy_pairs: u32,
    /// Generator seed.
    pub seed: u8,
}

/// The three types the synthetic bank rotates through, with their points (hundredths).
const TYPES: [(ItemType, u32); 3] = [
    (ItemType::Single, 100),
    (ItemType::Multiple, 200),
    (ItemType::TrueFalse, 100),
];

impl SyntheticBank {
    /// Builds the pool: item `i` has knowledge point `i mod kps`, type `(i / kps) mod 3`
    /// (single 1 point, multiple 2 points, true_false 1 point; choice items have 4
    /// options), and a p-value uniform in [0.15, 0.95).
    pub fn pool(&self) -> Pool {
        let mut rng = ChaCha20Rng::from_seed([self.seed; 32]);
        let kps = self.knowledge_points.max(1);
        let mut specs: Vec<ItemSpec> = (0..self.items)
            .map(|i| {
                let (item_type, points) = TYPES[((i / kps) % 3) as usize];
                let p = 0.15 + 0.8 * (f64::from(rng.next_u32()) / 4_294_967_296.0);
                let options = if matches!(item_type, ItemType::TrueFalse) {
                    Vec::new()
                } else {
                    ["A", "B", "C", "D"]
                        .iter()
                        .map(|o| (*o).to_owned())
                        .collect()
                };
                ItemSpec {
                    id: format!("SYN-{i:06}"),
                    knowledge_point: Some(format!("kp{:02}", i % kps)),
                    item_type,
                    difficulty: p,
                    points_hundredths: points,
                    enemies: Vec::new(),
                    options,
                    shuffle_options: true,
                }
            })
            .collect();
        let per_kp = self.items / kps;
        if per_kp >= 2 {
            for _ in 0..self.enemy_pairs {
                let kp = below(&mut rng, kps);
                let a = below(&mut rng, per_kp) * kps + kp;
                let b = below(&mut rng, per_kp) * kps + kp;
                if a != b {
                    let enemy = specs[b as usize].id.clone();
                    specs[a as usize].enemies.push(enemy);
                }
            }
        }
        let knowledge_points = (0..kps).map(|k| format!("kp{k:02}")).collect();
        Pool::new(
            knowledge_points,
            specs,
            format!("synthetic-{}-{}", self.items, self.seed),
        )
        .unwrap_or_else(|error| {
            unreachable!("the synthetic bank is valid by construction: {error}")
        })
    }

    /// A blueprint of two one-item rules per knowledge point: a single-choice item (easy for
    /// even knowledge points, hard for odd ones) and a multiple-choice (even) or
    /// true/false (odd) item of the other band. Bands: easy p >= 0.55, hard p < 0.55. With
    /// 30 knowledge points that is 60 items from 60 of the bank's 180 cells
    /// (30 knowledge points x 3 types x 2 bands), 75 points.
    pub fn blueprint_text(&self, tolerance: f64, max_exposure: f64) -> String {
        let kps = self.knowledge_points.max(1);
        let singles = kps;
        let multiples = kps.div_ceil(2);
        let true_false = kps / 2;
        let total = singles + 2 * multiples + true_false;
        let mut text = format!(
            "format = 1\ntitle = \"Synthetic\"\nduration_minutes = 90\ntotal_points = {total}\npass_score = {}\n\n[difficulty_bands]\neasy = {{ min = 0.55, max = 1.0 }}\nhard = {{ min = 0.0, max = 0.55 }}\n\n[fairness]\nmeasure = \"expected_score\"\ntolerance = {tolerance}\n\n[exposure]\nmax_rate = {max_exposure}\n",
            total * 6 / 10
        );
        let _ = write!(
            text,
            "\n[[section]]\nid = \"objective\"\ntitle = \"Objective items\"\n"
        );
        for kp in 0..kps {
            let (first, second, other) = if kp % 2 == 0 {
                ("easy", "hard", "multiple")
            } else {
                ("hard", "easy", "true_false")
            };
            let _ = write!(
                text,
                "\n[[section.rule]]\nknowledge_point = \"kp{kp:02}\"\ntype = \"single\"\ndifficulty = \"{first}\"\ncount = 1\n\n[[section.rule]]\nknowledge_point = \"kp{kp:02}\"\ntype = \"{other}\"\ndifficulty = \"{second}\"\ncount = 1\n"
            );
        }
        text
    }
}
