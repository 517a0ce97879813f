//! Drawing one paper: the hot path. See the crate docs for the algorithm and the
//! distribution it produces.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::plan::Plan;
use crate::rng::{
    PermutationTable, TABLED_PERMUTATIONS, apply_shuffle, below, factorial, fill_uniform,
    push_shuffle_bounds,
};
use crate::{AssemblyError, Seed};

/// Whole-paper attempts before a draw gives up.
pub const MAX_ATTEMPTS: u32 = 16;
/// Rejection tries for one slot before falling back to listing the cell's eligible items.
const REJECTION_TRIES: u32 = 16;
/// Option indices in authored order, copied before shuffling.
const IDENTITY: [u8; crate::pool::MAX_OPTIONS] = {
    let mut identity = [0u8; crate::pool::MAX_OPTIONS];
    let mut i = 0;
    while i < identity.len() {
        identity[i] = i as u8;
        i += 1;
    }
    identity
};
/// Marks an item that a sitting's exposure cap has taken out of use.
const EXHAUSTED: u32 = u32::MAX;

/// One item of a paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaperItem {
    item: u32,
    section: u16,
    points: u32,
    option_start: u32,
    option_len: u8,
}

impl PaperItem {
    /// Pool index of the item.
    pub const fn item(&self) -> u32 {
        self.item
    }
    /// Index of the blueprint section.
    pub const fn section(&self) -> u16 {
        self.section
    }
    /// Points, hundredths.
    pub const fn points(&self) -> u32 {
        self.points
    }
}

/// A candidate's paper: items in order, each with its option order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Paper {
    items: Vec<PaperItem>,
    option_orders: Vec<u8>,
    expected_score: f64,
    mean_difficulty: f64,
    total_points: u32,
    attempts: u32,
    repair_swaps: u32,
    random_words: u32,
}

impl Paper {
    /// Items in paper order.
    pub fn items(&self) -> &[PaperItem] {
        &self.items
    }
    /// The option order of an item of this paper, as indices into the item's options.
    pub fn option_order(&self, item: &PaperItem) -> &[u8] {
        let start = item.option_start as usize;
        &self.option_orders[start..start + usize::from(item.option_len)]
    }
    /// Sum of points x p-value.
    pub const fn expected_score(&self) -> f64 {
        self.expected_score
    }
    /// Mean p-value of the items.
    pub const fn mean_difficulty(&self) -> f64 {
        self.mean_difficulty
    }
    /// Total points, hundredths.
    pub const fn total_points(&self) -> u32 {
        self.total_points
    }
    /// Whole-paper attempts used (1 unless a draw had to start over).
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }
    /// Fairness swaps made in the successful attempt (0 = a plain uniform draw).
    pub const fn repair_swaps(&self) -> u32 {
        self.repair_swaps
    }
    /// 32-bit words taken from the ChaCha20 stream to draw this paper.
    pub const fn random_words(&self) -> u32 {
        self.random_words
    }
}

/// Reusable scratch state for drawing papers from one plan. Holding it across draws avoids
/// allocation in the hot path; in a sitting it also carries which items the exposure cap
/// has taken out of use.
#[derive(Debug, Clone)]
pub struct Drawer {
    /// Per pool item: `generation` when in the current paper, `EXHAUSTED` when capped,
    /// anything lower otherwise.
    state: Vec<u32>,
    generation: u32,
    chosen: Vec<u32>,
    scratch: Vec<u32>,
    order: Vec<u32>,
    bounds: Vec<u32>,
    digits: Vec<u32>,
    /// In a sitting: papers each item may still appear in (its share of the exposure cap);
    /// empty for a standalone draw.
    allowance: Vec<u32>,
    /// The per-item limit the allowances started from (0 for a standalone draw).
    limit: u32,
    permutations: PermutationTable,
}

impl Drawer {
    /// Scratch space for `plan`.
    pub fn new(plan: &Plan<'_>) -> Drawer {
        Drawer {
            state: vec![0; plan.pool.items().len()],
            generation: 0,
            chosen: vec![0; plan.slots()],
            scratch: Vec::new(),
            order: Vec::new(),
            bounds: Vec::new(),
            digits: Vec::new(),
            allowance: Vec::new(),
            limit: 0,
            permutations: PermutationTable::new(),
        }
    }

    /// Scratch space for drawing a sitting in which every item may appear in at most
    /// `limit` papers. Draws then pick items with probability proportional to their
    /// remaining allowance (an urn holding `limit` copies of each item), which keeps usage
    /// even so that tight cells do not run dry near the end of the sitting.
    pub(crate) fn with_exposure_limit(plan: &Plan<'_>, limit: u32) -> Drawer {
        let mut drawer = Drawer::new(plan);
        drawer.allowance = vec![limit; plan.pool.items().len()];
        drawer.limit = limit;
        drawer
    }

    /// Scratch space for continuing a sitting in which item `i` has appeared in `counts[i]`
    /// papers and every item may now appear in at most `limit` papers: the allowance of each
    /// item is what the limit leaves of its count (an item at or past the limit is not drawn).
    pub(crate) fn with_exposure_counts(plan: &Plan<'_>, limit: u32, counts: &[u32]) -> Drawer {
        let mut drawer = Drawer::with_exposure_limit(plan, limit);
        for (item, &count) in counts.iter().enumerate() {
            if let Some(left) = drawer.allowance.get_mut(item) {
                *left = limit.saturating_sub(count);
                if *left == 0 {
                    drawer.state[item] = EXHAUSTED;
                }
            }
        }
        drawer
    }

    /// Records that `item` appeared in one more paper; at its limit it is not drawn again.
    pub(crate) fn record_use(&mut self, item: u32) {
        if let Some(left) = self.allowance.get_mut(item as usize) {
            *left = left.saturating_sub(1);
            if *left == 0 {
                self.state[item as usize] = EXHAUSTED;
            }
        }
    }

    fn begin(&mut self) {
        if self.generation >= EXHAUSTED - 2 {
            for state in &mut self.state {
                if *state != EXHAUSTED {
                    *state = 0;
                }
            }
            self.generation = 0;
        }
        self.generation += 1;
    }

    #[inline]
    fn eligible(&self, plan: &Plan<'_>, candidate: u32) -> bool {
        self.state[candidate as usize] < self.generation
            && plan
                .enemies(candidate)
                .iter()
                .all(|&enemy| self.state[enemy as usize] != self.generation)
    }

    /// Draws every slot from its cell among the items still eligible: uniformly for a
    /// standalone draw, proportionally to the remaining allowance in a sitting (a uniform
    /// index accepted when a uniform integer below the limit is below the item's
    /// allowance). Returns the fairness sum, or the index of a cell that ran out of
    /// eligible items. The first try of every slot comes from one batch of uniform digits;
    /// retries draw single integers.
    fn select(&mut self, plan: &Plan<'_>, rng: &mut ChaCha20Rng) -> Result<f64, usize> {
        let weighted = self.limit > 0;
        self.bounds.clear();
        for (slot, info) in plan.slots.iter().enumerate() {
            if info.len == 0 {
                return Err(usize::from(plan.slot_cell[slot]));
            }
            self.bounds.push(info.len);
            if weighted {
                self.bounds.push(self.limit);
            }
        }
        let mut digits = std::mem::take(&mut self.digits);
        fill_uniform(rng, &self.bounds, &mut digits);
        let stride = if weighted { 2 } else { 1 };
        let mut sum = 0.0;
        for (slot, info) in plan.slots.iter().enumerate() {
            let members = &plan.cell_items[info.start as usize..(info.start + info.len) as usize];
            let first = members[digits[slot * stride] as usize];
            let first_ok = self.eligible(plan, first)
                && (!weighted || digits[slot * stride + 1] < self.allowance[first as usize]);
            let candidate = if first_ok {
                first
            } else {
                match self.retry(plan, rng, members) {
                    Some(candidate) => candidate,
                    None => {
                        self.digits = digits;
                        return Err(usize::from(plan.slot_cell[slot]));
                    }
                }
            };
            self.state[candidate as usize] = self.generation;
            self.chosen[slot] = candidate;
            sum += info.weight * plan.p(candidate);
        }
        self.digits = digits;
        Ok(sum)
    }

    /// Further tries for one slot, then a draw from the listed eligible items (weighted by
    /// allowance in a sitting). `None` when no item of the cell is eligible.
    fn retry(&mut self, plan: &Plan<'_>, rng: &mut ChaCha20Rng, members: &[u32]) -> Option<u32> {
        let weighted = self.limit > 0;
        for _ in 1..REJECTION_TRIES {
            let candidate = members[below(rng, members.len() as u32) as usize];
            if self.eligible(plan, candidate)
                && (!weighted || below(rng, self.limit) < self.allowance[candidate as usize])
            {
                return Some(candidate);
            }
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.extend(members.iter().copied().filter(|&c| self.eligible(plan, c)));
        let picked = if scratch.is_empty() {
            None
        } else if weighted {
            let total: u32 = scratch.iter().map(|&c| self.allowance[c as usize]).sum();
            let mut target = below(rng, total);
            scratch.iter().copied().find(|&c| {
                let weight = self.allowance[c as usize];
                if target < weight {
                    true
                } else {
                    target -= weight;
                    false
                }
            })
        } else {
            Some(scratch[below(rng, scratch.len() as u32) as usize])
        };
        self.scratch = scratch;
        picked
    }

    /// Greedy seeded swaps within cells until the fairness sum is within tolerance. Returns
    /// the final distance from the target and the number of swaps made.
    fn repair(&mut self, plan: &Plan<'_>, rng: &mut ChaCha20Rng, sum: f64) -> (f64, u32) {
        let mut distance = sum - plan.target_sum;
        let slots = plan.slots() as u32;
        let max_steps = 64 + 16 * slots;
        let mut swaps = 0;
        for _ in 0..max_steps {
            if distance.abs() <= plan.tolerance_sum {
                break;
            }
            let slot = below(rng, slots) as usize;
            let cell = &plan.cells[usize::from(plan.slot_cell[slot])];
            let members = plan.cell_members(cell);
            let candidate = members[below(rng, cell.len()) as usize];
            if self.state[candidate as usize] >= self.generation {
                continue;
            }
            let old = self.chosen[slot];
            let delta = cell.weight * (plan.p(candidate) - plan.p(old));
            if (distance + delta).abs() >= distance.abs() {
                continue;
            }
            let conflict = plan
                .enemies(candidate)
                .iter()
                .any(|&enemy| enemy != old && self.state[enemy as usize] == self.generation);
            if conflict {
                continue;
            }
            self.state[old as usize] = 0;
            self.state[candidate as usize] = self.generation;
            self.chosen[slot] = candidate;
            distance += delta;
            swaps += 1;
        }
        (distance, swaps)
    }

    /// Draws the paper for `seed` into `paper` (reusing its allocations).
    pub fn draw_into(
        &mut self,
        plan: &Plan<'_>,
        seed: &Seed,
        paper: &mut Paper,
    ) -> Result<(), AssemblyError> {
        let mut rng = ChaCha20Rng::from_seed(*seed.as_bytes());
        let mut closest = f64::INFINITY;
        let mut short_cell = None;
        for attempt in 1..=MAX_ATTEMPTS {
            self.begin();
            let sum = match self.select(plan, &mut rng) {
                Ok(sum) => sum,
                Err(cell) => {
                    short_cell = Some(cell);
                    continue;
                }
            };
            let (distance, swaps) = self.repair(plan, &mut rng, sum);
            if distance.abs() <= plan.tolerance_sum {
                self.finish(plan, &mut rng, paper);
                paper.attempts = attempt;
                paper.repair_swaps = swaps;
                paper.random_words = rng.get_word_pos() as u32;
                return Ok(());
            }
            closest = closest.min(distance.abs());
        }
        let message = match short_cell {
            Some(cell) if !closest.is_finite() => format!(
                "{} ({}) ran out of eligible items in all {MAX_ATTEMPTS} attempts (enemies or the exposure cap leave too few)",
                plan.rule_name(cell),
                plan.rule_of(cell).describe()
            ),
            _ => format!(
                "the fairness target {:.4} ± {:.4} was not reached in {MAX_ATTEMPTS} attempts (closest miss {:.4} beyond it)",
                plan.fairness_target(),
                plan.fairness_tolerance(),
                plan.in_measure(closest - plan.tolerance_sum)
            ),
        };
        Err(AssemblyError::DrawFailed(message))
    }

    /// Puts the chosen items in paper order and draws option orders. All the digits come
    /// from one batch: first the Fisher–Yates indices of every section with
    /// `shuffle_items` (in section order), then those of every shuffled item's options, in
    /// slot order (blueprint rule order, before the sections are shuffled).
    fn finish(&mut self, plan: &Plan<'_>, rng: &mut ChaCha20Rng, paper: &mut Paper) {
        self.bounds.clear();
        for section in &plan.sections {
            if section.shuffle_items {
                push_shuffle_bounds((section.end - section.start) as usize, &mut self.bounds);
            }
        }
        for section in &plan.sections {
            if section.shuffle_options {
                for slot in section.start..section.end {
                    let hot = &plan.hot[self.chosen[slot as usize] as usize];
                    let k = usize::from(hot.option_count);
                    if hot.shuffle && k >= 2 {
                        if k <= TABLED_PERMUTATIONS {
                            self.bounds.push(factorial(k));
                        } else {
                            push_shuffle_bounds(k, &mut self.bounds);
                        }
                    }
                }
            }
        }
        let mut digits = std::mem::take(&mut self.digits);
        fill_uniform(rng, &self.bounds, &mut digits);

        paper.items.clear();
        paper.option_orders.clear();
        let mut option_start_of_slot = std::mem::take(&mut self.scratch);
        option_start_of_slot.clear();
        // Option orders first, in slot order, so the digits are consumed as documented.
        let mut section_digits_len = 0;
        for section in &plan.sections {
            if section.shuffle_items {
                section_digits_len += ((section.end - section.start) as usize).saturating_sub(1);
            }
        }
        let mut rest = &digits[section_digits_len..];
        for section in &plan.sections {
            for slot in section.start..section.end {
                let item = self.chosen[slot as usize];
                let hot = &plan.hot[item as usize];
                let k = usize::from(hot.option_count);
                let start = paper.option_orders.len();
                option_start_of_slot.push(start as u32);
                if section.shuffle_options && hot.shuffle && k >= 2 {
                    if k <= TABLED_PERMUTATIONS {
                        paper
                            .option_orders
                            .extend_from_slice(self.permutations.get(k, rest[0]));
                        rest = &rest[1..];
                    } else {
                        paper.option_orders.extend_from_slice(&IDENTITY[..k]);
                        rest = apply_shuffle(&mut paper.option_orders[start..], rest);
                    }
                } else {
                    paper.option_orders.extend_from_slice(&IDENTITY[..k]);
                }
            }
        }
        let mut section_digits = &digits[..section_digits_len];
        let mut points_total = 0u32;
        let mut expected_hundredths = 0.0;
        let mut p_total = 0.0;
        for (section_index, section) in plan.sections.iter().enumerate() {
            self.order.clear();
            self.order.extend(section.start..section.end);
            if section.shuffle_items {
                section_digits = apply_shuffle(&mut self.order, section_digits);
            } else {
                let chosen = &self.chosen;
                let slot_cell = &plan.slot_cell;
                self.order.sort_unstable_by_key(|&slot| {
                    (slot_cell[slot as usize], chosen[slot as usize])
                });
            }
            for &slot in &self.order {
                let item = self.chosen[slot as usize];
                let cell = &plan.cells[usize::from(plan.slot_cell[slot as usize])];
                paper.items.push(PaperItem {
                    item,
                    section: section_index as u16,
                    points: cell.points,
                    option_start: option_start_of_slot[slot as usize],
                    option_len: plan.hot[item as usize].option_count,
                });
                points_total += cell.points;
                let p = plan.p(item);
                expected_hundredths += f64::from(cell.points) * p;
                p_total += p;
            }
        }
        self.digits = digits;
        self.scratch = option_start_of_slot;
        paper.total_points = points_total;
        paper.expected_score = expected_hundredths / 100.0;
        paper.mean_difficulty = p_total / paper.items.len().max(1) as f64;
    }
}

/// Draws the paper for `seed`: deterministic in (pool, blueprint, seed).
pub fn draw(plan: &Plan<'_>, seed: &Seed) -> Result<Paper, AssemblyError> {
    let mut drawer = Drawer::new(plan);
    let mut paper = Paper::default();
    drawer.draw_into(plan, seed, &mut paper)?;
    Ok(paper)
}
