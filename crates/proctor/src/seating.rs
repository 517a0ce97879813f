//! Seating plans: a sitting's candidates into rooms and seats, reproducibly random, with
//! candidates of one school kept from sitting next to each other, and the proctor draw that
//! follows kept feasible.
//!
//! # Design, and why
//!
//! "Next to" means the same row and adjacent columns, or the same column and adjacent rows.
//! Under that rule a room is a chessboard: no two black seats are next to each other, nor two
//! white ones. So a room needs only **two schools** to hold no same-school neighbour at all:
//! one on the black seats, one on the white. Mixing more schools buys nothing and costs
//! proctors: under school-level avoidance every school in a room removes that school's
//! teachers from it, and if every room held every school, no teacher could take any room.
//!
//! The plan is built in three steps ([`plan`]):
//!
//! 1. **Compose** rooms from one seeded sequence of candidates, school after school
//!    (`compose`). Black seats are used first in every room of the fill. The *checkerboard*
//!    mixing reads the sequence as two streams (black seats from one, white seats from the
//!    other, the cut moved to a school boundary), so a room holds about two schools in the
//!    shares the chessboard needs; a cap on schools per room starts at 2 and is raised only
//!    when it leaves candidates without a seat, each raise reported with its reason. The
//!    *packed* fill uses as few rooms as hold everyone; *spread* uses them all.
//! 2. **Check the proctor draw** (`hall`): Hall's condition for every room, the rooms of each
//!    group of schools that share a room, of each school, of each group of overlapping
//!    slots, and all rooms; for the total places and for
//!    the external quota, using the assignment crate's own eligibility rules
//!    ([`crate::Instance`]). Hall's condition is necessary, not sufficient:
//!    [`plan_and_confirm`] (what the CLI runs) also runs the exact solver ([`crate::assign`]).
//! 3. **Arrange** each room (`arrange`): a subset-sum puts whole schools on the black seats,
//!    the one school split across colours is placed at opposite ends of the room, a swap
//!    search removes what adjacencies it can, and a bounded exact search handles the rest.
//!
//! Strategies are tried in order: checkerboard/packed, checkerboard/spread (when it would use
//! more rooms), and *blocked*/packed (one stream: schools kept together, one school per room
//! where sizes allow, cap from 1), which trades same-school neighbours for eligible proctors.
//! The first feasible plan with no same-school neighbours is kept, else the feasible one with
//! fewest; if none is feasible the sitting cannot be planned and the failing sets are named.
//!
//! The report counts the same-school adjacencies left and compares them with the expected
//! count if the same seats were filled by a uniformly random permutation of the candidates.
//!
//! # Reproducibility
//!
//! Every random choice (school order, room order within a slot, candidate order within a
//! school) comes from one ChaCha20 stream keyed by the seed (8 little-endian bytes), the 16
//! bytes `xcert seating v1` and 8 zero bytes. The same input and seed give the same plan.
//!
//! Rows and columns in the output are numbered from 1.

mod arrange;
mod compose;
mod draw;
mod hall;

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::{InputProblem, ProctorError};
use crate::input::{AssignmentInput, Candidate, Instance, Policy, Proctor, Room, Slot};
use crate::output::Outcome;
use arrange::EMPTY;
use compose::{Fill, Mixing, Shape};

/// The largest number of rows or columns a room may have.
pub const MAX_ROOM_SIDE: i64 = 1000;

/// A seating request: the proctor-assignment input of CONTRACT section 4, with rooms given
/// by their seat grid instead of their candidates, and the list of schools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatingInput {
    /// The staffing rule the proctor draw will apply (section 4).
    pub policy: Policy,
    /// The slots the rooms sit in (section 4).
    pub slots: Vec<Slot>,
    /// Every school or exam site named by a candidate, a proctor or a room's `site`.
    pub schools: Vec<String>,
    /// The rooms to fill.
    pub rooms: Vec<SeatingRoom>,
    /// The candidates to seat (section 4), each exactly once.
    pub candidates: Vec<Candidate>,
    /// The teachers who may proctor (section 4).
    pub proctors: Vec<Proctor>,
}

impl SeatingInput {
    /// Parses a seating request. Unknown fields are refused.
    ///
    /// # Errors
    /// [`ProctorError::Parse`] with serde's message (it names the line and column).
    pub fn from_json(text: &str) -> Result<Self, ProctorError> {
        serde_json::from_str(text).map_err(|error| ProctorError::Parse(error.to_string()))
    }

    /// A request to re-seat the candidates of an assignment input: the same policy, slots,
    /// candidates and proctors, every room given `rows` × `cols` seats, and `schools` listing
    /// every school and site named (in order of first mention). The rooms' own candidate lists
    /// are dropped: the plan decides them.
    #[must_use]
    pub fn from_assignment(input: &AssignmentInput, rows: i64, cols: i64) -> Self {
        let mut schools: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        let named = input
            .candidates
            .iter()
            .map(|c| &c.school)
            .chain(input.proctors.iter().map(|p| &p.school))
            .chain(input.rooms.iter().map(|r| &r.site));
        for school in named {
            if seen.insert(school.as_str()) {
                schools.push(school.clone());
            }
        }
        Self {
            policy: input.policy.clone(),
            slots: input.slots.clone(),
            schools,
            rooms: input
                .rooms
                .iter()
                .map(|r| SeatingRoom {
                    id: r.id.clone(),
                    slot: r.slot.clone(),
                    site: r.site.clone(),
                    rows,
                    cols,
                })
                .collect(),
            candidates: input.candidates.clone(),
            proctors: input.proctors.clone(),
        }
    }
}

/// A room of a seating request: `rows` × `cols` seats, in one slot, at one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatingRoom {
    /// Unique room id.
    pub id: String,
    /// The slot the room sits in.
    pub slot: String,
    /// The school hosting the room.
    pub site: String,
    /// Rows of seats (1 to [`MAX_ROOM_SIDE`]).
    pub rows: i64,
    /// Seats per row (1 to [`MAX_ROOM_SIDE`]).
    pub cols: i64,
}

/// The result of [`plan`]: a plan, or the reasons none keeps the rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SeatingOutcome {
    /// Every candidate has a seat and the proctor draw passes Hall's condition.
    Planned(Box<SeatingPlan>),
    /// The candidates cannot be seated, or no plan keeps proctoring feasible.
    Unplanned(SeatingRefusal),
}

/// A seating plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeatingPlan {
    /// Always `true`.
    pub planned: bool,
    /// The seed the plan was drawn with.
    pub seed: u64,
    /// Every room of the input, in input order, with its seats.
    pub rooms: Vec<RoomPlan>,
    /// What the allocator did and how well it kept schools apart.
    pub report: SeatingReport,
    /// A complete CONTRACT section 4 input for `xcert proctors assign`: the request's policy,
    /// slots, candidates and proctors, and every room that holds candidates.
    pub proctor_input: AssignmentInput,
}

/// One room of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomPlan {
    /// Room id.
    pub id: String,
    /// Slot id.
    pub slot: String,
    /// Site.
    pub site: String,
    /// Rows of seats.
    pub rows: u32,
    /// Seats per row.
    pub cols: u32,
    /// The schools seated here, sorted.
    pub schools: Vec<String>,
    /// Same-school pairs next to each other in this room.
    pub same_school_adjacencies: u64,
    /// The occupied seats, row-major; empty seats are not listed.
    pub seats: Vec<SeatPlan>,
}

/// One occupied seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeatPlan {
    /// Row, from 1.
    pub row: u32,
    /// Column, from 1.
    pub col: u32,
    /// Candidate id.
    pub candidate: String,
}

/// What the allocator did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeatingReport {
    /// Candidates seated.
    pub candidates: usize,
    /// Seats in all rooms.
    pub seats: u64,
    /// Rooms holding at least one candidate.
    pub rooms_used: usize,
    /// Rooms left empty (they need no proctor and are not in `proctor_input`).
    pub rooms_empty: usize,
    /// The kept strategy: `checkerboard/packed`, `checkerboard/spread` or `blocked/packed`
    /// (see the module docs).
    pub mixing: String,
    /// The most schools any room was allowed to hold.
    pub school_cap: usize,
    /// How many schools the used rooms hold.
    pub schools_per_room: Spread,
    /// How many rooms each school's candidates are spread over.
    pub rooms_per_school: Spread,
    /// Pairs of candidates of one school next to each other, in the whole plan.
    pub same_school_adjacencies: u64,
    /// Pairs of occupied seats next to each other, in the whole plan.
    pub adjacent_pairs: u64,
    /// The expected same-school adjacencies if the same seats were filled by a uniformly
    /// random permutation of the candidates (one decimal).
    pub random_baseline: f64,
    /// Every composition tried, in order, and why each but the last was not kept.
    pub attempts: Vec<Attempt>,
    /// The proctor-feasibility check of the kept composition.
    pub proctoring: ProctoringCheck,
}

/// Minimum, maximum and mean of a count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Smallest value.
    pub min: usize,
    /// Largest value.
    pub max: usize,
    /// Mean, two decimals.
    pub mean: f64,
}

/// One composition the allocator tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// The strategy: `checkerboard/packed`, `checkerboard/spread` or `blocked/packed`.
    pub mixing: String,
    /// The cap on schools per room.
    pub school_cap: usize,
    /// `kept` (the plan returned), `feasible` (a valid plan not kept: it left more
    /// same-school neighbours than the kept one), `unseated` (the cap left candidates without
    /// a seat: relaxed), or `proctoring_infeasible` (Hall's condition or the exact solver
    /// fails).
    pub outcome: String,
    /// A sentence saying why.
    pub message: String,
}

/// The Hall's-condition check run on a composition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProctoringCheck {
    /// How many conditions (sets of rooms × total or external places) were checked.
    pub conditions_checked: usize,
    /// The condition with the least slack, as a sentence.
    pub tightest: Option<String>,
    /// The exact check's verdict when the assignment solver was run
    /// ([`plan_and_confirm`]); `null` otherwise.
    pub exact: Option<String>,
}

/// Why no plan was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeatingRefusal {
    /// Always `false`.
    pub planned: bool,
    /// The seed.
    pub seed: u64,
    /// Each reason: a set of rooms (empty when seats are short), what it needs and has.
    pub reasons: Vec<SeatingReason>,
    /// Every composition tried.
    pub attempts: Vec<Attempt>,
}

/// One reason a plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeatingReason {
    /// `seats` (more candidates than seats), `proctors` or `external_proctors` (Hall's
    /// condition), or `proctors_exact` (the assignment solver's min cut: `needed` is the
    /// proctor places left empty, `available` the proctors eligible for those rooms).
    pub kind: String,
    /// The rooms concerned (at most 20 listed).
    pub rooms: Vec<String>,
    /// How many rooms the set holds.
    pub room_count: usize,
    /// Seats or proctor places needed.
    pub needed: u64,
    /// Seats or proctor places available at most.
    pub available: u64,
    /// A sentence for a person.
    pub message: String,
}

/// A validated seating request, indexed.
struct Prepared<'a> {
    input: &'a SeatingInput,
    shapes: Vec<Shape>,
    rows: Vec<u32>,
    cols: Vec<u32>,
    room_slot: Vec<u32>,
    school_of: Vec<u32>,
    schools: usize,
}

/// How far a composition's proctor feasibility is checked before it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirmation {
    /// Hall's condition only (necessary, fast).
    Hall,
    /// Hall's condition, then the exact assignment solver ([`crate::assign`]).
    Solver,
}

/// Draws a seating plan whose proctor draw passes Hall's condition (a necessary condition;
/// see [`plan_and_confirm`] for the exact check).
///
/// # Errors
/// [`ProctorError::Invalid`] naming every invalid object: an unknown school, a room with no
/// seats, a duplicate id, and everything the assignment input's own validation refuses.
pub fn plan(input: &SeatingInput, seed: u64) -> Result<SeatingOutcome, ProctorError> {
    plan_with(input, seed, Confirmation::Hall)
}

/// As [`plan`], and each composition that passes Hall's condition is also given to the
/// assignment solver ([`crate::assign`], exact): a plan is kept only when a proctor
/// assignment for it exists. This is what `xcert seating plan` runs.
///
/// # Errors
/// As [`plan`].
pub fn plan_and_confirm(input: &SeatingInput, seed: u64) -> Result<SeatingOutcome, ProctorError> {
    plan_with(input, seed, Confirmation::Solver)
}

fn plan_with(
    input: &SeatingInput,
    seed: u64,
    confirmation: Confirmation,
) -> Result<SeatingOutcome, ProctorError> {
    let prepared = prepare(input)?;
    let seats: u64 = prepared.shapes.iter().map(|s| u64::from(s.capacity)).sum();
    let candidates = input.candidates.len();
    if candidates as u64 > seats {
        return Ok(SeatingOutcome::Unplanned(SeatingRefusal {
            planned: false,
            seed,
            reasons: vec![SeatingReason {
                kind: "seats".into(),
                rooms: Vec::new(),
                room_count: input.rooms.len(),
                needed: candidates as u64,
                available: seats,
                message: format!(
                    "{candidates} candidates but only {seats} seats in {} rooms: {} more seats are needed",
                    input.rooms.len(),
                    candidates as u64 - seats
                ),
            }],
            attempts: Vec::new(),
        }));
    }

    let mut rng = draw::seating_rng(seed);
    let mut schools: Vec<Vec<u32>> = vec![Vec::new(); prepared.schools];
    for (c, &s) in prepared.school_of.iter().enumerate() {
        schools[s as usize].push(c as u32);
    }
    for list in &mut schools {
        draw::shuffle(&mut rng, list);
    }
    schools.retain(|list| !list.is_empty());
    draw::shuffle(&mut rng, &mut schools);
    let room_order = room_order(&prepared, &mut rng);

    let mut attempts = Vec::new();
    let mut last_failure = Vec::new();
    let mut best: Option<(u64, SeatingPlan)> = None;
    let packed_rooms = compose::targets(
        &prepared.shapes,
        &room_order,
        candidates,
        compose::Fill::Packed,
    )
    .len();
    let mut strategies = vec![(Mixing::Checkerboard, Fill::Packed)];
    if packed_rooms < input.rooms.len() {
        strategies.push((Mixing::Checkerboard, Fill::Spread));
    }
    strategies.push((Mixing::Blocked, Fill::Packed));
    for strategy in strategies {
        let name = strategy_name(strategy);
        let Some((composition, cap)) =
            compose_with_cap(&prepared, &room_order, &schools, strategy, &mut attempts)
        else {
            continue;
        };
        let (proctor_input, instance_room) = proctor_input(input, &composition.members);
        let instance = Instance::new(proctor_input)?;
        let sets = room_sets(&prepared, &composition.members, &instance_room, &instance);
        let hall = hall::check(&instance, &sets);
        if !hall.shortfalls.is_empty() {
            let mut shortfalls = hall.shortfalls;
            shortfalls.sort_by_key(|s| (s.capacity as i128 - s.needed as i128, s.rooms.len()));
            attempts.push(Attempt {
                mixing: name.clone(),
                school_cap: cap,
                outcome: "proctoring_infeasible".into(),
                message: format!(
                    "{} proctor condition(s) fail; the worst: {}",
                    shortfalls.len(),
                    describe(&shortfalls[0])
                ),
            });
            last_failure = shortfalls
                .iter()
                .take(10)
                .map(|s| reason(&instance, s))
                .collect();
            continue;
        }
        let exact = match confirmation {
            Confirmation::Hall => None,
            Confirmation::Solver => match crate::assign(&instance, seed) {
                Outcome::Assigned(_) => Some(format!(
                    "feasible: the assignment solver staffed all {} rooms",
                    instance.rooms()
                )),
                Outcome::Infeasible(infeasible) => {
                    let messages: Vec<String> = infeasible
                        .reasons
                        .iter()
                        .map(|r| r.message.clone())
                        .collect();
                    attempts.push(Attempt {
                        mixing: name.clone(),
                        school_cap: cap,
                        outcome: "proctoring_infeasible".into(),
                        message: format!(
                            "Hall's condition holds but the assignment solver finds no assignment: {}",
                            messages.join("; ")
                        ),
                    });
                    last_failure = infeasible
                        .reasons
                        .iter()
                        .map(|r| SeatingReason {
                            kind: "proctors_exact".into(),
                            rooms: r.rooms.iter().take(20).cloned().collect(),
                            room_count: r.rooms.len(),
                            needed: r.needed,
                            available: r.eligible_proctors.len() as u64,
                            message: r.message.clone(),
                        })
                        .collect();
                    continue;
                }
            },
        };
        let check = ProctoringCheck {
            conditions_checked: hall.conditions,
            tightest: hall.tightest.as_ref().map(describe),
            exact,
        };
        let plan = finish(
            &prepared,
            seed,
            &composition.members,
            &name,
            cap,
            check,
            instance,
        );
        let same = plan.report.same_school_adjacencies;
        attempts.push(Attempt {
            mixing: name.clone(),
            school_cap: cap,
            outcome: "feasible".into(),
            message: format!(
                "every candidate seated with at most {cap} schools per room in {} rooms; Hall's condition holds for all {} proctor conditions; {same} same-school adjacencies",
                plan.report.rooms_used, hall.conditions
            ),
        });
        if best.as_ref().is_none_or(|(fewest, _)| same < *fewest) {
            best = Some((same, plan));
        }
        if same == 0 {
            break;
        }
    }
    match best {
        Some((_, mut plan)) => {
            // Mark the kept attempt: the feasible one whose plan this is.
            let kept = attempts.iter().rposition(|a| {
                a.outcome == "feasible"
                    && a.mixing == plan.report.mixing
                    && a.school_cap == plan.report.school_cap
            });
            if let Some(i) = kept {
                attempts[i].outcome = "kept".into();
            }
            plan.report.attempts = attempts;
            Ok(SeatingOutcome::Planned(Box::new(plan)))
        }
        None => Ok(SeatingOutcome::Unplanned(SeatingRefusal {
            planned: false,
            seed,
            reasons: last_failure,
            attempts,
        })),
    }
}

fn strategy_name((mixing, fill): (Mixing, Fill)) -> String {
    format!("{}/{}", mixing.name(), fill.name())
}

/// Validates the request: its own rules here, and the assignment input's rules through
/// [`Instance::new`] on the request with empty rooms.
fn prepare(input: &SeatingInput) -> Result<Prepared<'_>, ProctorError> {
    let mut problems = Vec::new();
    let mut school_index: HashMap<&str, u32> = HashMap::new();
    for school in &input.schools {
        let next = school_index.len() as u32;
        if school_index.insert(school.as_str(), next).is_some() {
            problems.push(InputProblem {
                object: format!("school {school:?}"),
                message: format!("the school id {school:?} is listed twice"),
            });
        }
    }
    let mut unknown = |object: String, school: &str, role: &str| {
        if !school_index.contains_key(school) {
            problems.push(InputProblem {
                object,
                message: format!("{role} {school:?}, which is not in `schools`"),
            });
        }
    };
    for candidate in &input.candidates {
        unknown(
            format!("candidate {:?}", candidate.id),
            &candidate.school,
            "names school",
        );
    }
    for proctor in &input.proctors {
        unknown(
            format!("proctor {:?}", proctor.id),
            &proctor.school,
            "names school",
        );
    }
    for room in &input.rooms {
        unknown(format!("room {:?}", room.id), &room.site, "names site");
    }
    let mut shapes = Vec::with_capacity(input.rooms.len());
    let mut rows = Vec::with_capacity(input.rooms.len());
    let mut cols = Vec::with_capacity(input.rooms.len());
    for room in &input.rooms {
        let side = |n: i64, what: &str, problems: &mut Vec<InputProblem>| -> u32 {
            if (1..=MAX_ROOM_SIDE).contains(&n) {
                n as u32
            } else {
                let message = if n < 1 {
                    format!("has zero seats: {what} is {n}, it must be at least 1")
                } else {
                    format!("{what} is {n}, more than {MAX_ROOM_SIDE}")
                };
                problems.push(InputProblem {
                    object: format!("room {:?}", room.id),
                    message,
                });
                0
            }
        };
        let r = side(room.rows, "rows", &mut problems);
        let c = side(room.cols, "cols", &mut problems);
        shapes.push(Shape {
            capacity: r * c,
            black: (r * c).div_ceil(2),
        });
        rows.push(r);
        cols.push(c);
    }

    // The section 4 rules (policy, slots and times, duplicate ids, proctors' slots, counts
    // and dates) are the assignment crate's: run its validation on the request with its
    // rooms empty, and keep its problems.
    let empty_rooms = AssignmentInput {
        policy: input.policy.clone(),
        slots: input.slots.clone(),
        rooms: input
            .rooms
            .iter()
            .map(|r| Room {
                id: r.id.clone(),
                slot: r.slot.clone(),
                site: r.site.clone(),
                candidates: Vec::new(),
            })
            .collect(),
        candidates: input.candidates.clone(),
        proctors: input.proctors.clone(),
    };
    if let Err(ProctorError::Invalid(theirs)) = Instance::new(empty_rooms) {
        problems.extend(theirs);
    }
    if !problems.is_empty() {
        return Err(ProctorError::Invalid(problems));
    }

    let slot_index: HashMap<&str, u32> = input
        .slots
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i as u32))
        .collect();
    let room_slot = input
        .rooms
        .iter()
        .map(|r| slot_index[r.slot.as_str()])
        .collect();
    let school_of = input
        .candidates
        .iter()
        .map(|c| school_index[c.school.as_str()])
        .collect();
    Ok(Prepared {
        input,
        shapes,
        rows,
        cols,
        room_slot,
        school_of,
        schools: input.schools.len(),
    })
}

/// The seeded room order: within each slot, rooms shuffled then largest first (so surplus
/// seats leave whole rooms empty, and empty rooms need no proctor); slots then interleaved
/// so the candidates are spread evenly over the slots.
fn room_order(prepared: &Prepared<'_>, rng: &mut rand_chacha::ChaCha20Rng) -> Vec<u32> {
    let slots = prepared.input.slots.len();
    let mut by_slot: Vec<Vec<u32>> = vec![Vec::new(); slots];
    for (r, &s) in prepared.room_slot.iter().enumerate() {
        by_slot[s as usize].push(r as u32);
    }
    for list in &mut by_slot {
        draw::shuffle(rng, list);
        list.sort_by_key(|&r| std::cmp::Reverse(prepared.shapes[r as usize].capacity));
    }
    let mut order = Vec::with_capacity(prepared.shapes.len());
    let longest = by_slot.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for list in &by_slot {
            if let Some(&r) = list.get(i) {
                order.push(r);
            }
        }
    }
    order
}

/// Composes with the smallest cap (from 2 for checkerboard, 1 for blocked, then up by one,
/// or by a quarter once the cap passes 8) that
/// seats everyone, recording each relaxation. `None` only when even an uncapped composition
/// leaves someone out, which cannot happen when candidates ≤ seats.
fn compose_with_cap(
    prepared: &Prepared<'_>,
    room_order: &[u32],
    schools: &[Vec<u32>],
    strategy: (Mixing, Fill),
    attempts: &mut Vec<Attempt>,
) -> Option<(compose::Composition, usize)> {
    let mixing = strategy.0;
    let most = schools.len().max(1);
    let mut cap = match mixing {
        Mixing::Checkerboard => 2.min(most),
        Mixing::Blocked => 1,
    };
    loop {
        let composition = compose::compose(
            &prepared.shapes,
            room_order,
            schools,
            &prepared.school_of,
            strategy,
            cap,
        );
        if composition.unseated == 0 {
            return Some((composition, cap));
        }
        if cap >= most {
            return None;
        }
        let next = (cap + (cap / 4).max(1)).min(most);
        attempts.push(Attempt {
            mixing: strategy_name(strategy),
            school_cap: cap,
            outcome: "unseated".into(),
            message: format!(
                "with at most {cap} school(s) per room {} candidates found no seat (rooms closed early at school boundaries); cap relaxed to {next}",
                composition.unseated
            ),
        });
        cap = next;
    }
}

/// The section 4 input for the composed rooms (empty rooms left out), and for each input
/// room its index in that input (`u32::MAX` when left out).
fn proctor_input(input: &SeatingInput, members: &[Vec<u32>]) -> (AssignmentInput, Vec<u32>) {
    let mut rooms = Vec::new();
    let mut index = vec![u32::MAX; input.rooms.len()];
    for (r, room) in input.rooms.iter().enumerate() {
        if members[r].is_empty() {
            continue;
        }
        index[r] = rooms.len() as u32;
        let mut candidates: Vec<String> = members[r]
            .iter()
            .map(|&c| input.candidates[c as usize].id.clone())
            .collect();
        candidates.sort_unstable();
        rooms.push(Room {
            id: room.id.clone(),
            slot: room.slot.clone(),
            site: room.site.clone(),
            candidates,
        });
    }
    let document = AssignmentInput {
        policy: input.policy.clone(),
        slots: input.slots.clone(),
        rooms,
        candidates: input.candidates.clone(),
        proctors: input.proctors.clone(),
    };
    (document, index)
}

/// The sets of rooms Hall's condition is checked on (besides each room alone): the rooms
/// of each group of schools sharing a room, of each school, of each group of overlapping
/// slots, and all rooms.
fn room_sets(
    prepared: &Prepared<'_>,
    members: &[Vec<u32>],
    instance_room: &[u32],
    instance: &Instance,
) -> Vec<hall::RoomSet> {
    let mut sets = Vec::new();
    let mut of_school: Vec<Vec<u32>> = vec![Vec::new(); prepared.schools];
    // Each distinct set of two or more schools sharing a room, in room order.
    let mut groups_of_schools: Vec<Vec<u32>> = Vec::new();
    let mut seen_groups: HashSet<Vec<u32>> = HashSet::new();
    for (r, list) in members.iter().enumerate() {
        let mut schools: Vec<u32> = list
            .iter()
            .map(|&c| prepared.school_of[c as usize])
            .collect();
        schools.sort_unstable();
        schools.dedup();
        for &s in &schools {
            of_school[s as usize].push(instance_room[r]);
        }
        if schools.len() > 1 && seen_groups.insert(schools.clone()) {
            groups_of_schools.push(schools);
        }
    }
    // The rooms of each group of schools that share a room: they compete for the teachers
    // of none of those schools.
    for group in groups_of_schools {
        let mut rooms: Vec<u32> = group
            .iter()
            .flat_map(|&s| of_school[s as usize].iter().copied())
            .collect();
        rooms.sort_unstable();
        rooms.dedup();
        let names: Vec<String> = group
            .iter()
            .map(|&s| format!("{:?}", prepared.input.schools[s as usize]))
            .collect();
        sets.push(hall::RoomSet {
            label: format!(
                "the rooms holding candidates of schools {}",
                names.join(", ")
            ),
            rooms,
        });
    }
    for (s, rooms) in of_school.into_iter().enumerate() {
        if rooms.len() > 1 {
            sets.push(hall::RoomSet {
                label: format!(
                    "the rooms holding candidates of school {:?}",
                    prepared.input.schools[s]
                ),
                rooms,
            });
        }
    }
    // Groups of overlapping slots: connected components of the overlap relation.
    let slots = instance.slots();
    let mut group: Vec<usize> = (0..slots).collect();
    fn root(group: &mut [usize], mut s: usize) -> usize {
        while group[s] != s {
            group[s] = group[group[s]];
            s = group[s];
        }
        s
    }
    for a in 0..slots {
        for b in a + 1..slots {
            if instance.overlap(a, b) {
                let (ra, rb) = (root(&mut group, a), root(&mut group, b));
                group[ra] = rb;
            }
        }
    }
    let mut of_group: HashMap<usize, Vec<u32>> = HashMap::new();
    for r in 0..instance.rooms() {
        let g = root(&mut group, instance.room_slot[r] as usize);
        of_group.entry(g).or_default().push(r as u32);
    }
    let mut groups: Vec<(usize, Vec<u32>)> = of_group.into_iter().collect();
    groups.sort_unstable();
    let several = groups.len() > 1;
    for (g, rooms) in groups {
        if several && rooms.len() > 1 {
            let names: Vec<&str> = (0..slots)
                .filter(|&s| root(&mut group, s) == g)
                .map(|s| instance.input.slots[s].id.as_str())
                .collect();
            sets.push(hall::RoomSet {
                label: format!("the rooms in slot(s) {}", names.join(", ")),
                rooms,
            });
        }
    }
    if instance.rooms() > 1 {
        sets.push(hall::RoomSet {
            label: "all rooms".into(),
            rooms: (0..instance.rooms() as u32).collect(),
        });
    }
    sets
}

/// A sentence for a Hall condition.
fn describe(shortfall: &hall::Shortfall) -> String {
    let (kind, who) = if shortfall.external {
        (
            "external proctor places",
            "proctors who may take them (available, qualified, no avoidance conflict) and are from a school other than the site",
        )
    } else {
        (
            "proctor places",
            "proctors who may take them (available, qualified, no avoidance conflict, within max_rooms and overlapping slots)",
        )
    };
    format!(
        "{} ({} room(s)): {} {kind} needed, at most {} available from the {who}",
        shortfall.label,
        shortfall.rooms.len(),
        shortfall.needed,
        shortfall.capacity
    )
}

fn reason(instance: &Instance, shortfall: &hall::Shortfall) -> SeatingReason {
    SeatingReason {
        kind: if shortfall.external {
            "external_proctors"
        } else {
            "proctors"
        }
        .into(),
        rooms: shortfall
            .rooms
            .iter()
            .take(20)
            .map(|&r| instance.input.rooms[r as usize].id.clone())
            .collect(),
        room_count: shortfall.rooms.len(),
        needed: shortfall.needed,
        available: shortfall.capacity,
        message: describe(shortfall),
    }
}

fn spread(values: impl Iterator<Item = usize>) -> Spread {
    let (mut min, mut max, mut sum, mut n) = (usize::MAX, 0, 0, 0);
    for v in values {
        min = min.min(v);
        max = max.max(v);
        sum += v;
        n += 1;
    }
    if n == 0 {
        return Spread {
            min: 0,
            max: 0,
            mean: 0.0,
        };
    }
    Spread {
        min,
        max,
        mean: (sum as f64 / n as f64 * 100.0).round() / 100.0,
    }
}

/// Arranges every room and assembles the plan.
#[allow(clippy::too_many_arguments)]
fn finish(
    prepared: &Prepared<'_>,
    seed: u64,
    members: &[Vec<u32>],
    mixing: &str,
    cap: usize,
    proctoring: ProctoringCheck,
    instance: Instance,
) -> SeatingPlan {
    let input = prepared.input;
    let mut rooms = Vec::with_capacity(input.rooms.len());
    let mut total_same = 0;
    let mut total_pairs = 0;
    let mut rooms_of_school = vec![0_usize; prepared.schools];
    let mut schools_in_room = Vec::new();
    for (r, room) in input.rooms.iter().enumerate() {
        let (rows, cols) = (prepared.rows[r], prepared.cols[r]);
        let seats = arrange::arrange(rows, cols, &members[r], &prepared.school_of);
        let same = arrange::same_school_adjacencies(rows, cols, &seats, &prepared.school_of);
        total_same += same;
        total_pairs += arrange::occupied_adjacent_pairs(rows, cols, &seats);
        let mut schools: Vec<u32> = members[r]
            .iter()
            .map(|&c| prepared.school_of[c as usize])
            .collect();
        schools.sort_unstable();
        schools.dedup();
        for &s in &schools {
            rooms_of_school[s as usize] += 1;
        }
        if !schools.is_empty() {
            schools_in_room.push(schools.len());
        }
        let mut names: Vec<String> = schools
            .iter()
            .map(|&s| input.schools[s as usize].clone())
            .collect();
        names.sort_unstable();
        let seats = seats
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c != EMPTY)
            .map(|(i, &c)| SeatPlan {
                row: i as u32 / cols + 1,
                col: i as u32 % cols + 1,
                candidate: input.candidates[c as usize].id.clone(),
            })
            .collect();
        rooms.push(RoomPlan {
            id: room.id.clone(),
            slot: room.slot.clone(),
            site: room.site.clone(),
            rows,
            cols,
            schools: names,
            same_school_adjacencies: same,
            seats,
        });
    }
    let n = input.candidates.len() as f64;
    let mut same_pairs_share = 0.0;
    if n > 1.0 {
        let mut size = vec![0_u64; prepared.schools];
        for &s in &prepared.school_of {
            size[s as usize] += 1;
        }
        let same: f64 = size.iter().map(|&c| (c * c.saturating_sub(1)) as f64).sum();
        same_pairs_share = same / (n * (n - 1.0));
    }
    let rooms_used = schools_in_room.len();
    let report = SeatingReport {
        candidates: input.candidates.len(),
        seats: prepared.shapes.iter().map(|s| u64::from(s.capacity)).sum(),
        rooms_used,
        rooms_empty: input.rooms.len() - rooms_used,
        mixing: mixing.into(),
        school_cap: cap,
        schools_per_room: spread(schools_in_room.into_iter()),
        rooms_per_school: spread(rooms_of_school.into_iter().filter(|&n| n > 0)),
        same_school_adjacencies: total_same,
        adjacent_pairs: total_pairs,
        random_baseline: (total_pairs as f64 * same_pairs_share * 10.0).round() / 10.0,
        attempts: Vec::new(),
        proctoring,
    };
    SeatingPlan {
        planned: true,
        seed,
        rooms,
        report,
        proctor_input: instance.input,
    }
}
