//! An independent rule checker for assignments.
//!
//! Deliberately naive and separate from the solver: it reads the input's strings directly
//! (no indexes, no conflict lists, no slot groups), checks each rule of CONTRACT section 4 for
//! each room and proctor by brute force, and names every violation. The property tests run it
//! on every solver output, so a bug would have to be made twice, in two different ways, to
//! pass unseen.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use serde::Serialize;

use crate::input::{AssignmentInput, Avoidance};
use crate::output::Outcome;

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The room concerned, if any.
    pub room: Option<String>,
    /// The proctor concerned, if any.
    pub proctor: Option<String>,
    /// The rule: `coverage`, `unknown_id`, `count`, `duplicate`, `availability`,
    /// `qualification`, `avoidance`, `external_quota`, `overlap`, `max_rooms`, `load`,
    /// `reason`.
    pub rule: String,
    /// A human sentence.
    pub message: String,
}

/// Checks `outcome` against every rule for `input`; an empty list means it holds.
/// The input is assumed to have passed [`crate::Instance::new`].
#[must_use]
#[allow(clippy::too_many_lines)]
pub fn verify(input: &AssignmentInput, outcome: &Outcome) -> Vec<Violation> {
    let mut found = Vec::new();
    let mut say = |room: Option<&str>, proctor: Option<&str>, rule: &str, message: String| {
        found.push(Violation {
            room: room.map(str::to_owned),
            proctor: proctor.map(str::to_owned),
            rule: rule.to_owned(),
            message,
        });
    };
    let rooms: HashMap<&str, _> = input.rooms.iter().map(|r| (r.id.as_str(), r)).collect();
    let proctors: HashMap<&str, _> = input.proctors.iter().map(|p| (p.id.as_str(), p)).collect();
    let slots: HashMap<&str, _> = input.slots.iter().map(|s| (s.id.as_str(), s)).collect();
    let candidates: HashMap<&str, _> = input
        .candidates
        .iter()
        .map(|c| (c.id.as_str(), c))
        .collect();
    let assignment = match outcome {
        Outcome::Assigned(a) => a,
        Outcome::Infeasible(infeasible) => {
            check_reasons(input, infeasible, &mut say);
            return found;
        }
    };
    if !assignment.feasible {
        say(
            None,
            None,
            "coverage",
            "an assignment must say \"feasible\": true".into(),
        );
    }
    let k = usize::try_from(input.policy.proctors_per_room).unwrap_or(0);
    let m = usize::try_from(input.policy.min_external).unwrap_or(0);
    let mut seen_rooms = HashSet::new();
    // Per proctor: the (room, start, end) of every room they were given.
    let mut taken: HashMap<&str, Vec<(&str, Timestamp, Timestamp)>> = HashMap::new();
    for entry in &assignment.assignments {
        let room_id = entry.room.as_str();
        let Some(room) = rooms.get(room_id) else {
            say(
                Some(room_id),
                None,
                "unknown_id",
                format!("room {room_id:?} is not in the input"),
            );
            continue;
        };
        if !seen_rooms.insert(room_id) {
            say(
                Some(room_id),
                None,
                "duplicate",
                format!("room {room_id:?} is listed twice"),
            );
            continue;
        }
        if entry.proctors.len() != k {
            say(
                Some(room_id),
                None,
                "count",
                format!(
                    "room {room_id:?} has {} proctors, not {k}",
                    entry.proctors.len()
                ),
            );
        }
        let Some(slot) = slots.get(room.slot.as_str()) else {
            continue;
        };
        let slot_day = slot.start.get(..10).unwrap_or("");
        let (Ok(start), Ok(end)) = (
            slot.start.parse::<Timestamp>(),
            slot.end.parse::<Timestamp>(),
        ) else {
            continue;
        };
        let mut external = 0;
        let mut in_room = HashSet::new();
        for proctor_id in &entry.proctors {
            let pid = proctor_id.as_str();
            let Some(proctor) = proctors.get(pid) else {
                say(
                    Some(room_id),
                    Some(pid),
                    "unknown_id",
                    format!("proctor {pid:?} is not in the input"),
                );
                continue;
            };
            if !in_room.insert(pid) {
                say(
                    Some(room_id),
                    Some(pid),
                    "duplicate",
                    format!("proctor {pid:?} is listed twice in room {room_id:?}"),
                );
                continue;
            }
            if let Some(available) = &proctor.available
                && !available.contains(&room.slot)
            {
                say(
                    Some(room_id),
                    Some(pid),
                    "availability",
                    format!(
                        "proctor {pid:?} is not available in slot {:?} of room {room_id:?}",
                        room.slot
                    ),
                );
            }
            if let Some(until) = &proctor.qualified_until
                && until.as_str() < slot_day
            {
                say(
                    Some(room_id),
                    Some(pid),
                    "qualification",
                    format!(
                        "proctor {pid:?} is qualified until {until}, before room {room_id:?} on {slot_day}"
                    ),
                );
            }
            for cid in &room.candidates {
                let Some(candidate) = candidates.get(cid.as_str()) else {
                    continue;
                };
                let student = proctor.students.contains(cid);
                let class = candidate
                    .class
                    .as_ref()
                    .is_some_and(|class| proctor.classes.contains(class));
                let school = input.policy.avoidance == Avoidance::School
                    && candidate.school == proctor.school;
                if student || class || school {
                    let how = if student {
                        "their own student"
                    } else if class {
                        "a candidate of a class they teach"
                    } else {
                        "a candidate of their own school"
                    };
                    say(
                        Some(room_id),
                        Some(pid),
                        "avoidance",
                        format!(
                            "proctor {pid:?} supervises room {room_id:?}, which holds {cid:?}, {how}"
                        ),
                    );
                }
            }
            if proctor.school != room.site {
                external += 1;
            }
            taken.entry(pid).or_default().push((room_id, start, end));
        }
        if external < m {
            say(
                Some(room_id),
                None,
                "external_quota",
                format!("room {room_id:?} has {external} external proctors, fewer than {m}"),
            );
        }
    }
    for room in &input.rooms {
        if !seen_rooms.contains(room.id.as_str()) {
            say(
                Some(&room.id),
                None,
                "coverage",
                format!("room {:?} has no entry", room.id),
            );
        }
    }
    for proctor in &input.proctors {
        let list = taken
            .get(proctor.id.as_str())
            .map_or(&[][..], Vec::as_slice);
        if let Some(max) = proctor.max_rooms
            && list.len() as i64 > max
        {
            say(
                None,
                Some(&proctor.id),
                "max_rooms",
                format!(
                    "proctor {:?} has {} rooms, more than max_rooms {max}",
                    proctor.id,
                    list.len()
                ),
            );
        }
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                if a.1 < b.2 && b.1 < a.2 {
                    say(
                        Some(b.0),
                        Some(&proctor.id),
                        "overlap",
                        format!(
                            "proctor {:?} is in rooms {:?} and {:?} at overlapping times",
                            proctor.id, a.0, b.0
                        ),
                    );
                }
            }
        }
    }
    let loads: Vec<u32> = input
        .proctors
        .iter()
        .map(|p| taken.get(p.id.as_str()).map_or(0, |l| l.len() as u32))
        .collect();
    let (min, max) = (
        loads.iter().copied().min().unwrap_or(0),
        loads.iter().copied().max().unwrap_or(0),
    );
    if assignment.load.min != min || assignment.load.max != max {
        say(
            None,
            None,
            "load",
            format!(
                "load says min {} max {}, the assignment gives min {min} max {max}",
                assignment.load.min, assignment.load.max
            ),
        );
    }
    found
}

/// An infeasibility claim cannot be refuted without solving, but it must be consistent:
/// known ids, something missing, and every proctor who may take one of the rooms (by
/// availability, qualification and avoidance) listed.
fn check_reasons(
    input: &AssignmentInput,
    infeasible: &crate::output::Infeasibility,
    say: &mut impl FnMut(Option<&str>, Option<&str>, &str, String),
) {
    if infeasible.feasible {
        say(
            None,
            None,
            "reason",
            "an infeasibility must say \"feasible\": false".into(),
        );
    }
    if infeasible.reasons.is_empty() {
        say(
            None,
            None,
            "reason",
            "an infeasibility must give at least one reason".into(),
        );
    }
    let slot_day: HashMap<&str, &str> = input
        .slots
        .iter()
        .map(|s| (s.id.as_str(), s.start.get(..10).unwrap_or("")))
        .collect();
    let candidates: HashMap<&str, _> = input
        .candidates
        .iter()
        .map(|c| (c.id.as_str(), c))
        .collect();
    for reason in &infeasible.reasons {
        if reason.needed == 0 {
            say(
                None,
                None,
                "reason",
                "a reason must need at least one proctor".into(),
            );
        }
        let listed: HashSet<&str> = reason
            .eligible_proctors
            .iter()
            .map(String::as_str)
            .collect();
        for room_id in &reason.rooms {
            let Some(room) = input.rooms.iter().find(|r| &r.id == room_id) else {
                say(
                    Some(room_id),
                    None,
                    "unknown_id",
                    format!("room {room_id:?} is not in the input"),
                );
                continue;
            };
            let day = slot_day.get(room.slot.as_str()).copied().unwrap_or("");
            for proctor in &input.proctors {
                let available = proctor
                    .available
                    .as_ref()
                    .is_none_or(|a| a.contains(&room.slot));
                let qualified = proctor
                    .qualified_until
                    .as_ref()
                    .is_none_or(|u| u.as_str() >= day);
                let avoids = room.candidates.iter().any(|cid| {
                    candidates.get(cid.as_str()).is_some_and(|c| {
                        proctor.students.contains(cid)
                            || c.class
                                .as_ref()
                                .is_some_and(|class| proctor.classes.contains(class))
                            || (input.policy.avoidance == Avoidance::School
                                && c.school == proctor.school)
                    })
                });
                let useful = input.policy.min_external < input.policy.proctors_per_room
                    || proctor.school != room.site;
                if available
                    && qualified
                    && !avoids
                    && useful
                    && !listed.contains(proctor.id.as_str())
                {
                    say(
                        Some(room_id),
                        Some(&proctor.id),
                        "reason",
                        format!(
                            "proctor {:?} may take room {room_id:?} but is not among the eligible proctors",
                            proctor.id
                        ),
                    );
                }
            }
        }
    }
}
