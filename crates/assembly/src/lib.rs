//! `xcert-assembly`: blueprints, seeded paper drawing, feasibility analysis and sittings.
//!
//! A pure crate: data and seeds in, data out. No I/O, no clock, no thread RNG.
//!
//! # Design
//!
//! A [`Blueprint`] (TOML, `format = 1`, see `docs/BLUEPRINT-FORMAT.md`) is compiled once
//! against a [`Pool`] (the indexed view of a bank) into a [`Plan`]: each draw rule becomes a
//! *cell*, the sorted list of pool indices of the items that satisfy its filters, and each
//! paper position (*slot*) knows its cell, points and fairness weight. Everything after that
//! is integer indexing into flat arrays, which is what makes a 60-item paper cost
//! microseconds: test-assembly solvers (integer programming) take seconds per form because
//! they optimise; we sample, and repair only what the fairness rule rejects.
//!
//! [`Plan::feasibility`] runs before any draw. "Can every rule get its items" is a bipartite
//! b-matching, because an item may qualify for several rules but can serve only one: it is
//! solved exactly as a max-flow (source → rule, capacity = count; rule → qualifying item,
//! capacity 1; item → sink, capacity 1). Enemies are folded in as a relaxation: each
//! connected group of enemies gets one extra node whose capacity is its independence number
//! (exact for groups of up to 40 items), so the test is necessary and, for the usual
//! pairs of enemies, also sufficient. The same network with fractional capacities (item →
//! sink = the exposure cap) tests whether a sitting can respect the cap: a cell of N items
//! serving n per paper needs N ≥ n / cap, generalised to overlapping cells. A failing flow's
//! minimum cut names the rules that compete for too few items and by how much. The fairness
//! range (lowest and highest reachable value) and the analytic spread of unconstrained
//! sampling complete the report.
//!
//! # Randomness and the distribution drawn
//!
//! The paper seed is 32 bytes; a sitting derives candidate `c`'s seed as
//! `HMAC-SHA256(key = sitting secret, message = "paper" || 0x00 || UTF-8(c))`
//! ([`Seed::paper_seed`]). One `rand_chacha::ChaCha20Rng` is seeded with it and consumed in
//! this fixed order, using the crate's own sampling primitives (so the mapping is pinned by
//! this source, not by a `rand` version): Lemire's unbiased multiply-and-reject for an
//! integer below n (usually one `u32`), and Fisher–Yates whose swap indices, for up to 12
//! elements, are the mixed-radix digits of one uniform integer below n!.
//!
//! 1. *Selection.* Slots are filled in blueprint order (sections, then rules, then `count`
//!    times). Each slot draws an index uniformly from its cell and rejects items already in
//!    the paper, enemies of items in the paper, and (in a sitting) items at the exposure
//!    limit; after 16 rejections it lists the eligible items and draws uniformly among
//!    them. Either way the pick is uniform over the eligible items, so with no enemies, no
//!    overlap between cells and no cap, each rule's items are a uniform `count`-subset of
//!    its cell (a sequential partial draw without replacement, equivalent to partial
//!    Fisher–Yates). *Departures:* an item in several cells is more likely to be drawn
//!    than its cell-mates; an item with enemies is slightly less likely (it is excluded when
//!    its enemy came first); the exposure cap makes later papers of a sitting avoid
//!    over-used items.
//! 2. *Fairness repair.* If the paper's fairness value (expected score Σ points × p, or
//!    mean p) misses the target by more than the tolerance, seeded swaps are tried: a
//!    uniform slot, a uniform candidate from the same cell, accepted only when the candidate
//!    is eligible and the swap moves the value strictly closer to the target. It stops
//!    inside the tolerance; if it cannot within 64 + 16 × slots tries, the whole paper is
//!    drawn again from the continuing stream, up to 16 attempts, and then the draw fails
//!    with [`AssemblyError::DrawFailed`] (never an unfair paper). *Departure:* papers that
//!    were fair on the first draw are uniform (conditional on the rules); repaired papers
//!    over-represent items whose p-value is near their cell's mean and under-represent the
//!    extremes, i.e. the overall distribution is "uniform, then greedily pulled into the
//!    tolerance band", not uniform over all fair papers. The fraction of papers repaired
//!    is reported by sittings; the feasibility report estimates it in advance.
//! 3. *Order.* For each section in order: if `shuffle_items`, a uniform permutation of the
//!    section's items (otherwise rule order, and id order within a rule); then for each
//!    item of the section in paper order, a uniform permutation of its options when both
//!    the section and the item allow shuffling (items without options take nothing).
//!
//! A sitting ([`draw_sitting`]) draws candidates in the order given and takes an item out
//! of use once it has appeared in max(1, ⌊cap × papers⌋) papers, so the cap always holds
//! (for sittings smaller than 1 / cap it cannot, and the limit of 1 paper is used). A
//! sitting's papers therefore depend on the candidate list and its order; an auditor
//! re-derives them by re-running the sitting (100,000 papers take well under a second).
//! A single paper drawn with [`draw`] ignores exposure and is what `xcert paper verify`
//! re-derives from (bank, blueprint, seed).

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
pub use sitting::{SittingReport, Spread, draw_sitting};
