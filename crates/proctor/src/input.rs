//! The input of CONTRACT section 4, its eligibility rules, and its validation into an
//! indexed [`Instance`] the solver works on.
//!
//! The serde types mirror the JSON to the letter. Counts are read as signed integers so that
//! a negative count gets an error naming its object rather than a serde type error.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::{InputProblem, ProctorError};

/// A whole proctor-assignment input (CONTRACT section 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentInput {
    /// How many proctors per room, how many external, which avoidance rule.
    pub policy: Policy,
    /// The time slots the rooms sit in.
    pub slots: Vec<Slot>,
    /// The rooms to staff; each sits in one slot.
    pub rooms: Vec<Room>,
    /// Every candidate named by a room.
    pub candidates: Vec<Candidate>,
    /// The teachers who may proctor.
    pub proctors: Vec<Proctor>,
}

impl AssignmentInput {
    /// Parses the JSON document of CONTRACT section 4. Unknown fields are refused so that a
    /// misspelt key (`max_room`) is an error rather than a silently ignored rule.
    ///
    /// # Errors
    /// [`ProctorError::Parse`] with serde's message (it names the line and column).
    pub fn from_json(text: &str) -> Result<Self, ProctorError> {
        serde_json::from_str(text).map_err(|error| ProctorError::Parse(error.to_string()))
    }
}

/// The staffing rule every room must meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Exactly this many proctors per room (at least 1).
    pub proctors_per_room: i64,
    /// At least this many of them external: from a school other than the room's site.
    #[serde(default)]
    pub min_external: i64,
    /// Which teachers must stay away from which rooms.
    #[serde(default)]
    pub avoidance: Avoidance,
}

/// The avoidance rule: which rooms a teacher may not supervise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Avoidance {
    /// No candidate in the room is one of the teacher's `students` or in one of their `classes`.
    #[default]
    Taught,
    /// As `taught`, and additionally no candidate in the room is from the teacher's school.
    School,
}

/// A time slot. Two slots overlap when each starts before the other ends (touching slots,
/// 9–11 and 11–13, do not overlap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    /// Unique slot id.
    pub id: String,
    /// RFC 3339 start with an offset, e.g. `2026-06-06T09:00:00+08:00`.
    pub start: String,
    /// RFC 3339 end with an offset; must be after `start`.
    pub end: String,
}

/// A room in one slot, at one site (a school), holding some candidates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Room {
    /// Unique room id.
    pub id: String,
    /// The id of the slot the room sits in.
    pub slot: String,
    /// The school hosting the room; a proctor from another school is external to it.
    pub site: String,
    /// Ids of the candidates sitting in the room.
    #[serde(default)]
    pub candidates: Vec<String>,
}

/// A candidate: the school they come from and their class (if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// Unique candidate id.
    pub id: String,
    /// The candidate's school.
    pub school: String,
    /// The candidate's class; social learners may have none.
    #[serde(default)]
    pub class: Option<String>,
}

/// A teacher who may proctor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proctor {
    /// Unique proctor id.
    pub id: String,
    /// The teacher's school.
    pub school: String,
    /// Classes the teacher teaches: they avoid rooms holding a candidate of these classes.
    #[serde(default)]
    pub classes: Vec<String>,
    /// Candidates the teacher taught: they avoid rooms holding these candidates. Ids of
    /// people not sitting this exam are allowed and simply never match.
    #[serde(default)]
    pub students: Vec<String>,
    /// Slot ids the teacher is available in; absent means every slot.
    #[serde(default)]
    pub available: Option<Vec<String>>,
    /// Last day (`YYYY-MM-DD`) the teacher's qualification is valid, inclusive; absent means
    /// it does not expire.
    #[serde(default)]
    pub qualified_until: Option<String>,
    /// At most this many rooms in total (at least 1); absent means unlimited.
    #[serde(default)]
    pub max_rooms: Option<i64>,
}

impl Proctor {
    /// Availability rule: the teacher is available in the slot with this id.
    #[must_use]
    pub fn is_available_in(&self, slot_id: &str) -> bool {
        self.available
            .as_ref()
            .is_none_or(|slots| slots.iter().any(|s| s == slot_id))
    }

    /// Avoidance rule for one candidate: true when the teacher must not supervise a room
    /// holding this candidate.
    #[must_use]
    pub fn must_avoid(&self, candidate: &Candidate, avoidance: Avoidance) -> bool {
        let taught = self.students.contains(&candidate.id)
            || candidate
                .class
                .as_ref()
                .is_some_and(|class| self.classes.iter().any(|c| c == class));
        taught || (avoidance == Avoidance::School && candidate.school == self.school)
    }

    /// Qualification rule: the teacher's qualification is still valid on `date` (the civil
    /// date of a slot's start, see [`parse_slot_time`]). An unparsable `qualified_until`
    /// counts as not qualified; [`Instance::new`] rejects it anyway.
    #[must_use]
    pub fn is_qualified_on(&self, date: Date) -> bool {
        self.qualified_until
            .as_deref()
            .is_none_or(|until| parse_date(until).is_ok_and(|until| until >= date))
    }

    /// External rule: the teacher is external to a room hosted by `site`.
    #[must_use]
    pub fn is_external_to(&self, site: &str) -> bool {
        self.school != site
    }
}

/// Parses an RFC 3339 timestamp and returns it with its civil date in its own offset (the
/// "slot's date" that a qualification must still cover).
///
/// # Errors
/// A human sentence when the text is not RFC 3339 with an offset.
pub fn parse_slot_time(text: &str) -> Result<(Timestamp, Date), String> {
    let timestamp: Timestamp = text
        .parse()
        .map_err(|e| format!("`{text}` is not an RFC 3339 time with an offset ({e})"))?;
    let pieces = jiff::fmt::temporal::Pieces::parse(text)
        .map_err(|e| format!("`{text}` is not an RFC 3339 time with an offset ({e})"))?;
    Ok((timestamp, pieces.date()))
}

/// Parses a `YYYY-MM-DD` date.
///
/// # Errors
/// A human sentence when the text is not such a date.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let strict = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    match text.parse::<Date>() {
        Ok(date) if strict => Ok(date),
        Ok(_) => Err(format!("`{text}` is not a YYYY-MM-DD date")),
        Err(e) => Err(format!("`{text}` is not a YYYY-MM-DD date ({e})")),
    }
}

/// No value of a `u32` index: "unassigned", "unlimited".
pub(crate) const NONE: u32 = u32::MAX;

/// Why a proctor cannot take a room in a slot, before loads and overlaps are considered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotBar {
    Unavailable,
    Unqualified,
}

/// A validated input, indexed for the solver: every id is a dense `u32` index into the
/// input's own vectors, and each proctor's avoidance conflicts are a sorted list of rooms.
#[derive(Debug, Clone)]
pub struct Instance {
    pub(crate) input: AssignmentInput,
    pub(crate) per_room: u32,
    pub(crate) min_external: u32,
    pub(crate) slot_start: Vec<Timestamp>,
    pub(crate) slot_end: Vec<Timestamp>,
    pub(crate) room_slot: Vec<u32>,
    pub(crate) room_site: Vec<u32>,
    pub(crate) proctor_school: Vec<u32>,
    /// `max_rooms`, or [`NONE`] for unlimited.
    pub(crate) proctor_max: Vec<u32>,
    /// Per proctor × slot (row-major by proctor): why the proctor cannot sit in the slot.
    pub(crate) slot_bar: Vec<Option<SlotBar>>,
    /// Per proctor: the sorted rooms the avoidance rule keeps them from.
    pub(crate) conflicts: Vec<Vec<u32>>,
}

impl Instance {
    /// Validates an input, reporting every problem found (not only the first).
    ///
    /// # Errors
    /// [`ProctorError::Invalid`] listing each problem with the object it concerns.
    #[allow(clippy::too_many_lines)]
    pub fn new(input: AssignmentInput) -> Result<Self, ProctorError> {
        let mut problems = Vec::new();
        let mut problem = |object: String, message: String| {
            problems.push(InputProblem { object, message });
        };

        let policy = &input.policy;
        if policy.proctors_per_room < 1 {
            problem(
                "policy".into(),
                format!(
                    "proctors_per_room must be at least 1, not {}",
                    policy.proctors_per_room
                ),
            );
        }
        if policy.min_external < 0 {
            problem(
                "policy".into(),
                format!(
                    "min_external must not be negative, not {}",
                    policy.min_external
                ),
            );
        }
        if policy.proctors_per_room >= 1 && policy.min_external > policy.proctors_per_room {
            problem(
                "policy".into(),
                format!(
                    "min_external ({}) is more than proctors_per_room ({})",
                    policy.min_external, policy.proctors_per_room
                ),
            );
        }
        let too_big = |n: i64| u32::try_from(n).is_err() || n >= i64::from(NONE);
        if too_big(policy.proctors_per_room) && policy.proctors_per_room > 0 {
            problem("policy".into(), "proctors_per_room is too large".into());
        }

        let slot_index = index_ids(
            input.slots.iter().map(|s| s.id.as_str()),
            "slot",
            &mut problem,
        );
        let room_index = index_ids(
            input.rooms.iter().map(|r| r.id.as_str()),
            "room",
            &mut problem,
        );
        let _ = room_index;
        let candidate_index = index_ids(
            input.candidates.iter().map(|c| c.id.as_str()),
            "candidate",
            &mut problem,
        );
        let _ = index_ids(
            input.proctors.iter().map(|p| p.id.as_str()),
            "proctor",
            &mut problem,
        );

        let mut slot_start = Vec::with_capacity(input.slots.len());
        let mut slot_end = Vec::with_capacity(input.slots.len());
        let mut slot_date = Vec::with_capacity(input.slots.len());
        for slot in &input.slots {
            let object = format!("slot {:?}", slot.id);
            let start = parse_slot_time(&slot.start);
            let end = parse_slot_time(&slot.end);
            match (&start, &end) {
                (Ok((s, _)), Ok((e, _))) if e <= s => problem(
                    object.clone(),
                    format!(
                        "ends ({}) before or when it starts ({})",
                        slot.end, slot.start
                    ),
                ),
                _ => {}
            }
            if let Err(message) = &start {
                problem(object.clone(), format!("start: {message}"));
            }
            if let Err(message) = &end {
                problem(object.clone(), format!("end: {message}"));
            }
            let (s, d) = start.unwrap_or((Timestamp::UNIX_EPOCH, Date::default()));
            let (e, _) = end.unwrap_or((Timestamp::UNIX_EPOCH, Date::default()));
            slot_start.push(s);
            slot_end.push(e);
            slot_date.push(d);
        }

        let mut schools: HashMap<String, u32> = HashMap::new();
        let mut intern = |name: &str| -> u32 {
            let next = u32::try_from(schools.len()).unwrap_or(NONE);
            *schools.entry(name.to_owned()).or_insert(next)
        };

        let mut room_slot = Vec::with_capacity(input.rooms.len());
        let mut room_site = Vec::with_capacity(input.rooms.len());
        // For avoidance: which rooms hold each candidate, each class, each school.
        let mut rooms_of_candidate: Vec<Vec<u32>> = vec![Vec::new(); input.candidates.len()];
        for (r, room) in input.rooms.iter().enumerate() {
            let object = format!("room {:?}", room.id);
            let slot_known = slot_index.contains_key(room.slot.as_str());
            match slot_index.get(room.slot.as_str()) {
                Some(&s) => room_slot.push(s),
                None => {
                    problem(
                        object.clone(),
                        format!("names slot {:?}, which does not exist", room.slot),
                    );
                    room_slot.push(0);
                }
            }
            room_site.push(intern(&room.site));
            let mut seen = HashSet::new();
            for id in &room.candidates {
                if !seen.insert(id.as_str()) {
                    problem(object.clone(), format!("lists candidate {id:?} twice"));
                    continue;
                }
                match candidate_index.get(id.as_str()) {
                    Some(&c) => {
                        // A candidate sits in one room at a time.
                        let same_slot = rooms_of_candidate[c as usize].iter().find(|&&other| {
                            slot_known && room_slot[other as usize] == room_slot[r]
                        });
                        if let Some(&other) = same_slot {
                            problem(
                                object.clone(),
                                format!(
                                    "lists candidate {id:?}, who is already in room {:?} in the same slot {:?}",
                                    input.rooms[other as usize].id, room.slot
                                ),
                            );
                        }
                        rooms_of_candidate[c as usize].push(r as u32);
                    }
                    None => problem(
                        object.clone(),
                        format!("names candidate {id:?}, which does not exist"),
                    ),
                }
            }
        }

        let mut proctor_school = Vec::with_capacity(input.proctors.len());
        let mut proctor_max = Vec::with_capacity(input.proctors.len());
        let mut slot_bar = Vec::with_capacity(input.proctors.len() * input.slots.len());
        for proctor in &input.proctors {
            let object = format!("proctor {:?}", proctor.id);
            proctor_school.push(intern(&proctor.school));
            match proctor.max_rooms {
                None => proctor_max.push(NONE),
                Some(n) if n >= 1 && !too_big(n) => proctor_max.push(n as u32),
                Some(n) => {
                    problem(
                        object.clone(),
                        format!("max_rooms must be at least 1, not {n}"),
                    );
                    proctor_max.push(0);
                }
            }
            let mut available = vec![proctor.available.is_none(); input.slots.len()];
            for id in proctor.available.iter().flatten() {
                match slot_index.get(id.as_str()) {
                    Some(&s) => available[s as usize] = true,
                    None => problem(
                        object.clone(),
                        format!("is available in slot {id:?}, which does not exist"),
                    ),
                }
            }
            let until = match proctor.qualified_until.as_deref().map(parse_date) {
                None => None,
                Some(Ok(date)) => Some(date),
                Some(Err(message)) => {
                    problem(object.clone(), format!("qualified_until: {message}"));
                    None
                }
            };
            for (s, &date) in slot_date.iter().enumerate() {
                slot_bar.push(if !available[s] {
                    Some(SlotBar::Unavailable)
                } else if until.is_some_and(|until| until < date) {
                    Some(SlotBar::Unqualified)
                } else {
                    None
                });
            }
        }

        if !problems.is_empty() {
            return Err(ProctorError::Invalid(problems));
        }

        let avoidance = input.policy.avoidance;
        let conflicts =
            avoidance_conflicts(&input, &candidate_index, &rooms_of_candidate, avoidance);

        Ok(Self {
            per_room: input.policy.proctors_per_room as u32,
            min_external: input.policy.min_external as u32,
            slot_start,
            slot_end,
            room_slot,
            room_site,
            proctor_school,
            proctor_max,
            slot_bar,
            conflicts,
            input,
        })
    }

    /// The input this instance was built from.
    #[must_use]
    pub fn input(&self) -> &AssignmentInput {
        &self.input
    }

    pub(crate) fn proctors(&self) -> usize {
        self.proctor_school.len()
    }

    pub(crate) fn rooms(&self) -> usize {
        self.room_slot.len()
    }

    pub(crate) fn slots(&self) -> usize {
        self.slot_start.len()
    }

    /// Whether two slots overlap (each starts before the other ends).
    pub(crate) fn overlap(&self, a: usize, b: usize) -> bool {
        self.slot_start[a] < self.slot_end[b] && self.slot_start[b] < self.slot_end[a]
    }

    pub(crate) fn bar(&self, proctor: usize, slot: usize) -> Option<SlotBar> {
        self.slot_bar[proctor * self.slots() + slot]
    }

    pub(crate) fn avoids(&self, proctor: usize, room: u32) -> bool {
        self.conflicts[proctor].binary_search(&room).is_ok()
    }

    pub(crate) fn external(&self, proctor: usize, room: usize) -> bool {
        self.proctor_school[proctor] != self.room_site[room]
    }
}

/// Maps ids to their index, reporting duplicates.
fn index_ids<'a>(
    ids: impl Iterator<Item = &'a str>,
    kind: &str,
    problem: &mut impl FnMut(String, String),
) -> HashMap<&'a str, u32> {
    let mut index = HashMap::new();
    for (i, id) in ids.enumerate() {
        if index.insert(id, i as u32).is_some() {
            problem(
                format!("{kind} {id:?}"),
                format!("the {kind} id {id:?} is used twice"),
            );
        }
    }
    index
}

/// Each proctor's sorted list of rooms the avoidance rule keeps them from. Built from
/// inverted indexes (class → rooms, school → rooms) so the cost is the size of the conflicts,
/// never proctors × rooms.
fn avoidance_conflicts(
    input: &AssignmentInput,
    candidate_index: &HashMap<&str, u32>,
    rooms_of_candidate: &[Vec<u32>],
    avoidance: Avoidance,
) -> Vec<Vec<u32>> {
    let mut rooms_of_class: HashMap<&str, Vec<u32>> = HashMap::new();
    let mut rooms_of_school: HashMap<&str, Vec<u32>> = HashMap::new();
    for (c, candidate) in input.candidates.iter().enumerate() {
        let rooms = &rooms_of_candidate[c];
        if rooms.is_empty() {
            continue;
        }
        if let Some(class) = &candidate.class {
            rooms_of_class.entry(class).or_default().extend(rooms);
        }
        if avoidance == Avoidance::School {
            rooms_of_school
                .entry(&candidate.school)
                .or_default()
                .extend(rooms);
        }
    }
    for list in rooms_of_class
        .values_mut()
        .chain(rooms_of_school.values_mut())
    {
        list.sort_unstable();
        list.dedup();
    }
    input
        .proctors
        .iter()
        .map(|proctor| {
            let mut rooms = Vec::new();
            if let Some(list) = rooms_of_school.get(proctor.school.as_str()) {
                rooms.extend_from_slice(list);
            }
            for class in &proctor.classes {
                if let Some(list) = rooms_of_class.get(class.as_str()) {
                    rooms.extend_from_slice(list);
                }
            }
            for student in &proctor.students {
                if let Some(&c) = candidate_index.get(student.as_str()) {
                    rooms.extend_from_slice(&rooms_of_candidate[c as usize]);
                }
            }
            rooms.sort_unstable();
            rooms.dedup();
            rooms.shrink_to_fit();
            rooms
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
      "policy": {"proctors_per_room": 2, "min_external": 1, "avoidance": "school"},
      "slots": [{"id": "S1", "start": "2026-06-06T09:00:00+08:00", "end": "2026-06-06T11:00:00+08:00"}],
      "rooms": [{"id": "R1", "slot": "S1", "site": "SCH1", "candidates": ["C1"]}],
      "candidates": [{"id": "C1", "school": "SCH1", "class": "K1"}],
      "proctors": [{"id": "T1", "school": "SCH1", "classes": ["K1"], "students": ["C7"],
                    "available": ["S1"], "qualified_until": "2027-01-31", "max_rooms": 3}]
    }"#;

    fn problems(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<String> {
        let mut value: serde_json::Value = serde_json::from_str(GOOD).unwrap();
        edit(&mut value);
        let input = AssignmentInput::from_json(&value.to_string()).unwrap();
        match Instance::new(input) {
            Ok(_) => Vec::new(),
            Err(ProctorError::Invalid(list)) => list.iter().map(ToString::to_string).collect(),
            Err(other) => vec![other.to_string()],
        }
    }

    #[test]
    fn the_contract_example_is_valid() {
        assert_eq!(problems(|_| {}), Vec::<String>::new());
    }

    #[test]
    fn a_room_naming_an_unknown_slot_or_candidate_is_rejected_by_name() {
        let found = problems(|v| {
            v["rooms"][0]["slot"] = "S9".into();
            v["rooms"][0]["candidates"][0] = "C9".into();
        });
        assert_eq!(
            found,
            vec![
                r#"room "R1": names slot "S9", which does not exist"#,
                r#"room "R1": names candidate "C9", which does not exist"#,
            ]
        );
    }

    #[test]
    fn a_candidate_in_two_rooms_of_the_same_slot_is_rejected() {
        let found = problems(|v| {
            let mut twin = v["rooms"][0].clone();
            twin["id"] = "R1b".into();
            v["rooms"].as_array_mut().unwrap().push(twin);
        });
        assert_eq!(
            found,
            vec![
                r#"room "R1b": lists candidate "C1", who is already in room "R1" in the same slot "S1""#
            ]
        );
    }

    #[test]
    fn a_duplicate_proctor_id_is_rejected() {
        let found = problems(|v| {
            let twin = v["proctors"][0].clone();
            v["proctors"].as_array_mut().unwrap().push(twin);
        });
        assert_eq!(
            found,
            vec![r#"proctor "T1": the proctor id "T1" is used twice"#]
        );
    }

    #[test]
    fn a_slot_ending_before_it_starts_is_rejected() {
        let found = problems(|v| v["slots"][0]["end"] = "2026-06-06T08:00:00+08:00".into());
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with(r#"slot "S1": ends"#), "{found:?}");
    }

    #[test]
    fn malformed_dates_are_rejected_naming_the_object() {
        let found = problems(|v| {
            v["slots"][0]["start"] = "2026-06-06 09:00".into();
            v["proctors"][0]["qualified_until"] = "31/01/2027".into();
        });
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with(r#"slot "S1": start:"#), "{found:?}");
        assert!(
            found[1].starts_with(r#"proctor "T1": qualified_until:"#),
            "{found:?}"
        );
    }

    #[test]
    fn negative_and_zero_counts_are_rejected() {
        let found = problems(|v| {
            v["policy"]["proctors_per_room"] = 0.into();
            v["policy"]["min_external"] = (-1).into();
            v["proctors"][0]["max_rooms"] = (-2).into();
        });
        assert_eq!(
            found,
            vec![
                "policy: proctors_per_room must be at least 1, not 0",
                "policy: min_external must not be negative, not -1",
                r#"proctor "T1": max_rooms must be at least 1, not -2"#,
            ]
        );
    }

    #[test]
    fn more_external_proctors_than_seats_is_rejected() {
        let found = problems(|v| v["policy"]["min_external"] = 3.into());
        assert_eq!(
            found,
            vec!["policy: min_external (3) is more than proctors_per_room (2)"]
        );
    }

    #[test]
    fn a_misspelt_field_is_refused_rather_than_ignored() {
        let text = GOOD.replace("\"max_rooms\"", "\"max_room\"");
        let error = AssignmentInput::from_json(&text).unwrap_err();
        assert!(error.to_string().contains("max_room"), "{error}");
    }

    #[test]
    fn school_avoidance_adds_the_teachers_own_school() {
        let input = AssignmentInput::from_json(GOOD).unwrap();
        let instance = Instance::new(input).unwrap();
        assert!(instance.avoids(0, 0));
        let mut taught: AssignmentInput = AssignmentInput::from_json(GOOD).unwrap();
        taught.policy.avoidance = Avoidance::Taught;
        taught.proctors[0].classes.clear();
        let instance = Instance::new(taught).unwrap();
        assert!(!instance.avoids(0, 0));
    }

    #[test]
    fn a_qualification_ending_the_day_before_the_slot_bars_it() {
        let mut input = AssignmentInput::from_json(GOOD).unwrap();
        input.proctors[0].qualified_until = Some("2026-06-05".into());
        assert_eq!(
            Instance::new(input.clone()).unwrap().bar(0, 0),
            Some(SlotBar::Unqualified)
        );
        let slot_day = parse_slot_time(&input.slots[0].start).unwrap().1;
        assert!(!input.proctors[0].is_qualified_on(slot_day));
        input.proctors[0].qualified_until = Some("2026-06-06".into());
        assert!(input.proctors[0].is_qualified_on(slot_day));
        assert_eq!(Instance::new(input).unwrap().bar(0, 0), None);
    }
}
