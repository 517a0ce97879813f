//! `xcert-proctor`: proctor assignment with teacher avoidance (and seating plans).
//!
//! Pure: data and a seed in, data out. No I/O, no clock, no global RNG.
//! The design is documented in `docs/PROCTOR-ASSIGNMENT.md`; the solver lands next.

mod error;
pub mod input;
pub mod seating;

pub use error::{InputProblem, ProctorError};
pub use input::{AssignmentInput, Avoidance, Candidate, Instance, Policy, Proctor, Room, Slot};
