//! The output of CONTRACT section 4: an assignment, or the reasons it cannot exist.

use serde::{Deserialize, Serialize};

/// What `assign` returns: an assignment (exit 0) or an explanation of infeasibility (exit 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Outcome {
    /// Every room staffed by the rules.
    Assigned(Assignment),
    /// No assignment exists (or, for a huge overlap chain, none could be found: see the reason).
    Infeasible(Infeasibility),
}

/// `{"feasible": true, "seed": N, "assignments": [...], "load": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// Always `true`.
    pub feasible: bool,
    /// The seed that drew this assignment.
    pub seed: u64,
    /// One entry per room, in the input's room order.
    pub assignments: Vec<RoomAssignment>,
    /// The smallest and largest number of rooms of any proctor in the input (unassigned
    /// proctors count as 0).
    pub load: Load,
}

/// The proctors of one room, in the input's proctor order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomAssignment {
    /// Room id.
    pub room: String,
    /// Proctor ids.
    pub proctors: Vec<String>,
}

/// Load range over all proctors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    /// Fewest rooms of any proctor.
    pub min: u32,
    /// Most rooms of any proctor; the solver makes this as small as the rules allow.
    pub max: u32,
}

/// `{"feasible": false, "reasons": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Infeasibility {
    /// Always `false`.
    pub feasible: bool,
    /// One entry per independent set of rooms that cannot be staffed.
    pub reasons: Vec<Reason>,
}

/// A set of rooms that cannot be staffed together (a Hall violator read off the min cut).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// The rooms, in input order.
    pub rooms: Vec<String>,
    /// How many proctor seats of these rooms stay empty in the best possible assignment.
    pub needed: u64,
    /// Every proctor who may take at least one of these rooms, in input order.
    pub eligible_proctors: Vec<String>,
    /// The dominant cause, one of `avoidance`, `availability`, `qualification`,
    /// `external_quota`, `overlap`, `max_rooms`, `search_limit`.
    pub cause: String,
    /// A human sentence.
    pub message: String,
}
