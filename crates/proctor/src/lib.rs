//! `xcert-proctor`: proctor assignment with teacher avoidance (and seating plans).
//!
//! Pure: data and a seed in, data out. No I/O, no clock, no global RNG. The full design,
//! with the rules and the formats, is in `docs/PROCTOR-ASSIGNMENT.md`.
//!
//! # Design
//!
//! **Exact.** Staffing rooms is a b-matching, solved as a maximum flow: proctor units (one
//! per proctor and group of mutually overlapping slots) feed two seat classes per room, an
//! *external* class of `min_external` seats that only external proctors reach and an *open*
//! class of the remaining seats, so "exactly k, at least m external" needs no lower bounds.
//! Max flow = Σk ⇔ an assignment exists. Slots whose overlaps do not share one instant (a
//! chain 9–11, 10:30–12:30, 12–14) cannot be expressed as groups; there every slot is its own
//! group and a depth-first branching ("this proctor is not in slot a" / "not in slot b") on
//! each overlap the flow produces restores the rule exactly. The branching is bounded by
//! [`BRANCH_LIMIT`] nodes; past it the answer says so (`search_limit`) rather than guess.
//!
//! **Sparse.** Eligibility is dense (almost every proctor may take almost every room) and
//! conflicts are sparse, so proctor × room arcs are never built. Each proctor keeps the sorted
//! list of rooms they must avoid; augmenting paths are searched over the implicit graph with
//! per-slot lists of rooms not yet visited, so one search costs O(units + rooms + conflicts).
//! A province (30,000 proctors, 10,000 rooms, 300,000 candidates) is solved in well under a
//! second in about 150 MB.
//!
//! **Balanced.** The largest load is minimised: the solver starts the proctor capacity at the
//! lower bound ⌈seats / proctors⌉ and raises it one step at a time, keeping the flow, until
//! every seat is filled; the first capacity that works is optimal because the flow before it
//! was maximum.
//!
//! **Random and reproducible.** `--seed N` keys ChaCha20 with N's 8 little-endian bytes and
//! 24 zero bytes ([`rng_from_seed`]). The seed orders the rooms and the proctor pools of a
//! randomised greedy start (which fills almost every seat) and the proctor order of the
//! augmenting searches. The same input and seed give the same output, byte for byte; every
//! eligible proctor has a real chance of being drawn. The draw is reproducible but **not
//! exactly uniform** over all valid assignments: sampling matchings uniformly is #P-hard.
//!
//! **Explained.** When no assignment exists, the rooms that can still reach an unfilled seat
//! in the residual graph form a Hall violator read off the min cut: they need more proctors
//! than every proctor who could serve them can give. The answer names those rooms, how many
//! seats stay empty at best, every proctor eligible for them, and the dominant cause.
//!
//! **Checked independently.** [`verify()`] re-checks every rule from the input's strings by
//! brute force, sharing no code with the solver; the property tests run it on every output.

mod error;
pub mod generate;
pub mod input;
mod output;
pub mod seating;
mod solve;
mod verify;

pub use error::{InputProblem, ProctorError};
pub use input::{AssignmentInput, Avoidance, Candidate, Instance, Policy, Proctor, Room, Slot};
pub use output::{Assignment, Infeasibility, Load, Outcome, Reason, RoomAssignment};
pub use solve::{BRANCH_LIMIT, assign, rng_from_seed};
pub use verify::{Violation, verify};
