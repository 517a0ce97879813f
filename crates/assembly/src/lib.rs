//! `xcert-assembly`: blueprints, seeded paper drawing, feasibility analysis and sittings.
//!
//! A pure crate: data and seeds in, data out. No I/O, no clock, no thread RNG.
//!
//! # Design
//!
//! A [`Blueprint`] (TOML, `format = 1`, see `docs/BLUEPRINT-FORMAT.md`) is compiled once
//! against a [`Pool`] (the indexed view of a bank) into a [`Plan`]: each draw rule becomes a
//! *cell* of pool indices, and each paper position (*slot*) knows its cell, points and
//! fairness weight. Everything after that is integer indexing into flat arrays, which is
//! what makes a paper cost microseconds: test-assembly solvers (integer programming) take
//! seconds per form because they optimise; we sample, and repair only what the fairness
//! rule rejects.
//!
//! An item may satisfy several rules (say "3 hard singles from anywhere" and "7 singles
//! on html.*"). The plan makes the cells *disjoint* with a max-flow (source → rule,
//! capacity ⌈λ × count⌉; rule → qualifying item, 1; item → sink, 1), raising λ by binary
//! search from 1 / cap so that every rule keeps the same relative room above what the
//! exposure cap needs; items the flow leaves over go, in id order, to the qualifying rule
//! with the fewest items per drawn item. Within a disjoint cell every item then has the same
//! chance, and the cap can be met rule by rule. ([`Plan::partition`] says what was achieved;
//! if not even `count` items per rule can be found the cells stay overlapping and the
//! feasibility report says why.)
//!
//! [`Plan::feasibility`] runs before any draw, on the rules as written (overlapping).
//! "Can every rule get its items" is a bipartite b-matching, solved exactly as a max-flow,
//! not by counting. Enemies are folded in as a relaxation: each connected group of enemies
//! gets a node whose capacity is its independence number (exact for groups of up to 40
//! items), so the test is necessary and, for the usual pairs of enemies, also sufficient.
//! The same network with fractional capacities (item → sink = the cap) tests whether a
//! sitting can respect the exposure cap: a cell of N items serving n per paper needs
//! N ≥ n / cap, generalised to overlapping rules. A failing flow's minimum cut names the
//! rules that compete for too few items and by how much. The reachable fairness range and
//! the analytic spread of unconstrained sampling complete the report.
//!
//! # Randomness and the distribution drawn
//!
//! The paper seed is 32 bytes; a sitting derives candidate `c`'s seed as
//! `HMAC-SHA256(key = sitting secret, message = "paper" || 0x00 || UTF-8(c))`
//! ([`Seed::paper_seed`]). One `rand_chacha::ChaCha20Rng` is seeded with it. Every random
//! integer comes from this crate's own primitives, so the mapping from seed to paper is
//! pinned by this source and not by a `rand` version: a uniform integer below n is
//! Lemire's multiply-and-reject on one `u32`; a *batch* of uniform integers with known
//! bounds is the batched form of the same method (Brackett-Rozinsky and Lemire, 2024):
//! bounds are grouped while their product fits in 64 bits, one `u64` is multiplied by each
//! bound in turn, and a final rejection test makes the digits exactly uniform and
//! independent. A permutation is Fisher–Yates with such digits. The stream is consumed in
//! this order:
//!
//! 1. *Selection.* One batch: for every slot in blueprint order (sections, rules, `count`
//!    times) an index below its cell's size (and, in a sitting, an integer below the
//!    exposure limit). The slot takes that item if it is eligible: not already in the
//!    paper, no enemy in the paper, and in a sitting not at its limit and accepted with
//!    probability allowance / limit. Otherwise up to 15 single retries, then a draw from
//!    the listed eligible items. So a standalone draw is uniform over the eligible items
//!    of the cell, and with no enemies each rule's items are a uniform `count`-subset of its
//!    cell (a sequential draw without replacement, equivalent to partial Fisher–Yates). In a
//!    sitting the pick is proportional to the item's remaining allowance — sampling from an
//!    urn holding `limit` copies of every item — which keeps usage even, so tight cells do
//!    not run dry near the end. *Departures from uniform:* an item with enemies is slightly
//!    less likely (it is skipped when its enemy came first); in a sitting, items already
//!    used often are less likely.
//! 2. *Fairness repair* (single integers). If the paper's fairness value (expected score
//!    Σ points × p, or mean p) misses the target by more than the tolerance, seeded swaps
//!    are tried: a uniform slot, a uniform item of the same cell, accepted only when that
//!    item is eligible and the swap moves the value strictly closer to the target. It
//!    stops inside the tolerance; if it cannot within 64 + 16 × slots tries, the whole
//!    paper is drawn again from the continuing stream, up to 16 attempts, and then the draw
//!    fails with [`AssemblyError::DrawFailed`]: never an unfair paper. *Departure:* papers
//!    that were fair on the first draw are uniform (given the rules); repaired papers
//!    over-represent items whose p-value is near their cell's mean and under-represent the
//!    extremes. The result is "uniform, then greedily pulled into the tolerance band", not
//!    uniform over all fair papers. The feasibility report estimates the share of papers
//!    needing repair; a sitting reports it.
//! 3. *Order.* One batch: the Fisher–Yates digits of every section with `shuffle_items`
//!    (in section order), then, for every item whose options are shuffled, in slot order:
//!    for k ≤ 6 options one digit below k! naming the permutation of that rank in
//!    lexicographic order, for more options k − 1 Fisher–Yates digits. Unshuffled sections list items in rule order, by id within a rule; items whose
//!    section or own `shuffle_options` forbids it keep the authored option order.
//!
//! A sitting ([`draw_sitting`]) draws candidates in the order given and lets an item appear
//! in at most max(1, ⌊cap × papers⌋) papers, so the cap always holds (a sitting smaller than
//! 1 / cap cannot honour it and uses a limit of one paper). A sitting's papers therefore
//! depend on the candidate list and its order; an auditor re-derives them by re-running the
//! sitting (100,000 papers take about a second). The server draws with
//! [`draw_sitting_relaxed`], which raises the limit step by step only when a sitting is too
//! small for ⌊cap × papers⌋ to be met, and draws a candidate added after a sitting's draw
//! with [`draw_latecomer`] against the sitting's exposure counts, the limit grown to the new
//! number of papers, so the cap still holds; the order latecomers were drawn in is then part
//! of what an auditor needs. A single paper drawn with [`draw`]
//! ignores exposure and is what `xcert paper verify` re-derives from (bank, blueprint, seed).

mod blueprint;
mod draw;
mod error;
mod feasibility;
mod flow;
mod plan;
mod pool;
mod rng;
mod seed;
mod sitting;
pub mod synthetic;

pub use blueprint::{
    Blueprint, BlueprintDiagnostic, DEFAULT_BANDS, DEFAULT_MAX_EXPOSURE, DEFAULT_TOLERANCE,
    DifficultyRange, FORMAT, Fairness, FairnessMeasure, MultipleScoring, Rule, Section,
    format_points, glob_matches,
};
pub use draw::{Drawer, MAX_ATTEMPTS, Paper, PaperItem, draw};
pub use error::AssemblyError;
pub use feasibility::{FairnessReport, FeasibilityReport, Problem, ProblemKind, RuleReport};
pub use plan::{Partition, Plan};
pub use pool::{ItemSpec, ItemType, MAX_OPTIONS, Pool, PoolItem};
pub use seed::Seed;
pub use sitting::{
    SittingReport, Spread, draw_latecomer, draw_sitting, draw_sitting_relaxed, exposure_limit,
};
