//! `xcert-proctor`: proctor assignment with teacher avoidance (and seating plans).
//!
//! Pure: data and a seed in, data out. No I/O, no clock, no global RNG.
//! The design is documented in `docs/PROCTOR-ASSIGNMENT.md`.

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
