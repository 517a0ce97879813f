//! Seating plans: every candidate seated once, in range, reproducibly; schools kept apart
//! when that is possible; the proctor draw that follows kept feasible.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use xcert_proctor::seating::{self, SeatingInput, SeatingOutcome, SeatingPlan, SeatingRoom};
use xcert_proctor::{
    AssignmentInput, Avoidance, Candidate, Instance, Outcome, Policy, Proctor, ProctorError, Slot,
};

fn slot(id: &str, start: &str, end: &str) -> Slot {
    Slot {
        id: id.into(),
        start: format!("2026-06-06T{start}:00+08:00"),
        end: format!("2026-06-06T{end}:00+08:00"),
    }
}

fn proctor(id: &str, school: &str) -> Proctor {
    Proctor {
        id: id.into(),
        school: school.into(),
        classes: Vec::new(),
        students: Vec::new(),
        available: None,
        qualified_until: Some("2027-01-31".into()),
        max_rooms: None,
    }
}

/// A request: `sizes[s]` candidates of school `SCHs`, rooms of the given shapes in slot S1
/// (or alternately S1 and S2), and `proctors` as given.
fn request(
    sizes: &[usize],
    rooms: &[(i64, i64)],
    two_slots: bool,
    proctors: Vec<Proctor>,
    policy: Policy,
) -> SeatingInput {
    let mut schools: Vec<String> = (0..sizes.len()).map(|s| format!("SCH{s}")).collect();
    schools.push("OUT".into());
    let mut candidates = Vec::new();
    for (s, &size) in sizes.iter().enumerate() {
        for i in 0..size {
            candidates.push(Candidate {
                id: format!("C{s}-{i}"),
                school: format!("SCH{s}"),
                class: Some(format!("SCH{s}-{}", i % 2)),
            });
        }
    }
    SeatingInput {
        policy,
        slots: vec![slot("S1", "09:00", "11:00"), slot("S2", "13:00", "15:00")],
        schools,
        rooms: rooms
            .iter()
            .enumerate()
            .map(|(r, &(rows, cols))| SeatingRoom {
                id: format!("R{r}"),
                slot: if two_slots && r % 2 == 1 { "S2" } else { "S1" }.into(),
                site: if sizes.is_empty() {
                    "OUT".into()
                } else {
                    format!("SCH{}", r % sizes.len())
                },
                rows,
                cols,
            })
            .collect(),
        candidates,
        proctors,
    }
}

fn outside_proctors(n: usize) -> Vec<Proctor> {
    (0..n).map(|p| proctor(&format!("X{p}"), "OUT")).collect()
}

fn planned(outcome: SeatingOutcome) -> SeatingPlan {
    match outcome {
        SeatingOutcome::Planned(plan) => *plan,
        SeatingOutcome::Unplanned(refusal) => panic!("not planned: {refusal:?}"),
    }
}

/// Checks the plan's own invariants and returns the seat of each candidate.
fn check_plan(input: &SeatingInput, plan: &SeatingPlan) -> HashMap<String, (String, u32, u32)> {
    let mut seat_of = HashMap::new();
    assert_eq!(plan.rooms.len(), input.rooms.len());
    for (room, asked) in plan.rooms.iter().zip(&input.rooms) {
        assert_eq!(room.id, asked.id);
        assert!(
            room.seats.len() as i64 <= asked.rows * asked.cols,
            "room {} over capacity",
            room.id
        );
        let mut taken = HashSet::new();
        for seat in &room.seats {
            assert!(
                seat.row >= 1 && i64::from(seat.row) <= asked.rows,
                "row out of range"
            );
            assert!(
                seat.col >= 1 && i64::from(seat.col) <= asked.cols,
                "col out of range"
            );
            assert!(
                taken.insert((seat.row, seat.col)),
                "seat used twice in {}",
                room.id
            );
            let before = seat_of.insert(
                seat.candidate.clone(),
                (room.id.clone(), seat.row, seat.col),
            );
            assert!(
                before.is_none(),
                "candidate {} seated twice",
                seat.candidate
            );
        }
    }
    let ids: HashSet<&String> = input.candidates.iter().map(|c| &c.id).collect();
    assert_eq!(seat_of.len(), ids.len(), "not every candidate is seated");
    assert!(seat_of.keys().all(|id| ids.contains(id)));
    // The proctor input lists the same rooms and candidates.
    for room in &plan.proctor_input.rooms {
        let seated: HashSet<&String> = plan
            .rooms
            .iter()
            .find(|r| r.id == room.id)
            .map(|r| r.seats.iter().map(|s| &s.candidate).collect())
            .unwrap_or_default();
        let listed: HashSet<&String> = room.candidates.iter().collect();
        assert_eq!(
            seated, listed,
            "proctor input differs from the seats of {}",
            room.id
        );
    }
    seat_of
}

/// Same-school neighbours counted from the output alone.
fn adjacencies(input: &SeatingInput, plan: &SeatingPlan) -> u64 {
    let school: HashMap<&str, &str> = input
        .candidates
        .iter()
        .map(|c| (c.id.as_str(), c.school.as_str()))
        .collect();
    let mut count = 0;
    for room in &plan.rooms {
        let at: HashMap<(u32, u32), &str> = room
            .seats
            .iter()
            .map(|s| ((s.row, s.col), school[s.candidate.as_str()]))
            .collect();
        for (&(row, col), &s) in &at {
            for next in [(row + 1, col), (row, col + 1)] {
                if at.get(&next) == Some(&s) {
                    count += 1;
                }
            }
        }
    }
    count
}

fn policy(per_room: i64, min_external: i64, avoidance: Avoidance) -> Policy {
    Policy {
        proctors_per_room: per_room,
        min_external,
        avoidance,
    }
}

/// Runs the assignment solver and its independent checker on a plan's proctor input, after
/// a round trip through JSON (what `xcert seating plan` → `xcert proctors assign` does).
fn assign_from(plan: &SeatingPlan, seed: u64) -> Outcome {
    let text = serde_json::to_string(&plan.proctor_input).expect("serialises");
    let input = AssignmentInput::from_json(&text).expect("the proctor input parses");
    let instance = Instance::new(input.clone()).expect("the proctor input is valid");
    let outcome = xcert_proctor::assign(&instance, seed);
    if let Outcome::Assigned(_) = &outcome {
        let violations = xcert_proctor::verify(&input, &outcome);
        assert!(violations.is_empty(), "{violations:?}");
    }
    outcome
}

/// Whether the candidates (by school counts) can sit in the rooms with no same-school
/// neighbours: exhaustive search over seats, rooms one after another.
fn zero_is_achievable(sizes: &[usize], rooms: &[(i64, i64)]) -> bool {
    let seats: Vec<(usize, i64, i64)> = rooms
        .iter()
        .enumerate()
        .flat_map(|(r, &(rows, cols))| {
            (0..rows).flat_map(move |row| (0..cols).map(move |col| (r, row, col)))
        })
        .collect();
    let empties = seats.len() - sizes.iter().sum::<usize>();
    fn go(
        i: usize,
        seats: &[(usize, i64, i64)],
        placed: &mut HashMap<(usize, i64, i64), usize>,
        left: &mut [usize],
        empties: usize,
    ) -> bool {
        let Some(&(r, row, col)) = seats.get(i) else {
            return true;
        };
        for s in 0..left.len() {
            if left[s] == 0
                || placed.get(&(r, row - 1, col)) == Some(&s)
                || placed.get(&(r, row, col - 1)) == Some(&s)
            {
                continue;
            }
            left[s] -= 1;
            placed.insert((r, row, col), s);
            if go(i + 1, seats, placed, left, empties) {
                return true;
            }
            placed.remove(&(r, row, col));
            left[s] += 1;
        }
        empties > 0 && go(i + 1, seats, placed, left, empties - 1)
    }
    go(0, &seats, &mut HashMap::new(), &mut sizes.to_vec(), empties)
}

fn instance_strategy() -> impl Strategy<Value = (Vec<usize>, Vec<(i64, i64)>, bool)> {
    (
        prop::collection::vec(1_usize..9, 1..6),
        prop::collection::vec((1_i64..5, 1_i64..6), 1..6),
        any::<bool>(),
    )
        .prop_filter("fits", |(sizes, rooms, _)| {
            sizes.iter().sum::<usize>() as i64 <= rooms.iter().map(|(r, c)| r * c).sum::<i64>()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_candidate_is_seated_once_in_range_and_the_plan_depends_only_on_the_seed(
        (sizes, rooms, two_slots) in instance_strategy(),
        seed in any::<u64>(),
    ) {
        let input = request(&sizes, &rooms, two_slots, outside_proctors(30), policy(2, 1, Avoidance::School));
        let plan = planned(seating::plan(&input, seed).expect("valid"));
        check_plan(&input, &plan);
        prop_assert_eq!(adjacencies(&input, &plan), plan.report.same_school_adjacencies);
        let again = planned(seating::plan(&input, seed).expect("valid"));
        prop_assert_eq!(&plan, &again);
    }

    #[test]
    fn different_seeds_give_different_plans(
        (sizes, rooms, two_slots) in instance_strategy(),
        seed in any::<u64>(),
    ) {
        prop_assume!(sizes.iter().sum::<usize>() >= 4);
        let input = request(&sizes, &rooms, two_slots, outside_proctors(30), policy(1, 0, Avoidance::Taught));
        let first = planned(seating::plan(&input, seed).expect("valid"));
        let differs = (1..16_u64).any(|d| {
            let other = planned(seating::plan(&input, seed.wrapping_add(d)).expect("valid"));
            other.rooms != first.rooms
        });
        prop_assert!(differs);
    }

    #[test]
    fn same_school_neighbours_are_avoided_whenever_that_is_possible(
        mut sizes in prop::collection::vec(1_usize..8, 1..5),
        rooms in prop::collection::vec((1_i64..4, 1_i64..4), 1..4),
        seed in any::<u64>(),
    ) {
        // Trim the schools to the seats rather than rejecting the case.
        let seats = rooms.iter().map(|(r, c)| r * c).sum::<i64>() as usize;
        while sizes.iter().sum::<usize>() > seats {
            let last = sizes.len() - 1;
            sizes[last] -= 1;
            if sizes[last] == 0 {
                sizes.pop();
            }
        }
        let input = request(&sizes, &rooms, false, outside_proctors(12), policy(1, 0, Avoidance::School));
        let plan = planned(seating::plan(&input, seed).expect("valid"));
        if zero_is_achievable(&sizes, &rooms) {
            prop_assert_eq!(plan.report.same_school_adjacencies, 0, "{:?}", plan.rooms);
        }
    }

    #[test]
    fn a_confirmed_plan_can_always_be_staffed(
        (sizes, rooms, two_slots) in instance_strategy(),
        proctors_per_school in 0_usize..3,
        outsiders in 0_usize..4,
        seed in any::<u64>(),
    ) {
        let mut proctors = outside_proctors(outsiders);
        for s in 0..sizes.len() {
            for p in 0..proctors_per_school {
                proctors.push(proctor(&format!("T{s}-{p}"), &format!("SCH{s}")));
            }
        }
        let input = request(&sizes, &rooms, two_slots, proctors, policy(1, 0, Avoidance::School));
        match seating::plan_and_confirm(&input, seed).expect("valid") {
            SeatingOutcome::Planned(plan) => {
                check_plan(&input, &plan);
                prop_assert!(matches!(assign_from(&plan, seed), Outcome::Assigned(_)));
            }
            SeatingOutcome::Unplanned(refusal) => {
                prop_assert!(!refusal.reasons.is_empty());
                prop_assert!(refusal.attempts.iter().any(|a| a.outcome == "proctoring_infeasible"));
            }
        }
    }
}

#[test]
fn two_schools_fill_rooms_on_a_chessboard_with_no_neighbour_from_the_same_school() {
    let input = request(
        &[30, 30],
        &[(5, 6), (5, 6)],
        false,
        outside_proctors(4),
        policy(2, 1, Avoidance::School),
    );
    let plan = planned(seating::plan(&input, 1).expect("valid"));
    check_plan(&input, &plan);
    assert_eq!(plan.report.mixing, "checkerboard/packed");
    assert_eq!(plan.report.same_school_adjacencies, 0);
    assert_eq!(adjacencies(&input, &plan), 0);
    assert!(
        plan.report.random_baseline > 40.0,
        "{}",
        plan.report.random_baseline
    );
    assert!(plan.rooms.iter().all(|r| r.schools.len() == 2));
}

#[test]
fn when_mixing_leaves_no_eligible_proctor_the_plan_keeps_schools_apart_and_says_why() {
    // Two schools, two rooms in one slot, and only the schools' own teachers: a room holding
    // both schools would have no eligible proctor under school avoidance.
    let proctors = vec![
        proctor("A1", "SCH0"),
        proctor("A2", "SCH0"),
        proctor("B1", "SCH1"),
        proctor("B2", "SCH1"),
    ];
    let input = request(
        &[6, 6],
        &[(2, 3), (2, 3)],
        false,
        proctors,
        policy(2, 0, Avoidance::School),
    );
    let plan = planned(seating::plan_and_confirm(&input, 5).expect("valid"));
    check_plan(&input, &plan);
    assert_eq!(plan.report.mixing, "blocked/packed");
    assert_eq!(plan.report.attempts[0].mixing, "checkerboard/packed");
    assert_eq!(plan.report.attempts[0].outcome, "proctoring_infeasible");
    assert!(
        plan.report.attempts[0].message.contains("proctor places"),
        "{}",
        plan.report.attempts[0].message
    );
    assert!(plan.rooms.iter().all(|r| r.schools.len() == 1));
    assert!(plan.report.proctoring.exact.is_some());
    // End to end: the plan's proctor input goes straight into the assignment solver.
    let Outcome::Assigned(assignment) = assign_from(&plan, 5) else {
        panic!("infeasible")
    };
    assert_eq!(assignment.assignments.len(), 2);
}

#[test]
fn a_plan_for_a_province_shaped_sitting_is_staffable_under_school_avoidance() {
    let shape = xcert_proctor::generate::Shape {
        proctors: 600,
        rooms: 200,
        schools: 20,
        ..xcert_proctor::generate::Shape::province()
    };
    let sitting = xcert_proctor::generate::generate(&shape, 3);
    let input = SeatingInput::from_assignment(&sitting, 5, 6);
    let plan = planned(seating::plan_and_confirm(&input, 3).expect("valid"));
    check_plan(&input, &plan);
    assert_eq!(plan.report.same_school_adjacencies, 0);
    assert!(plan.report.schools_per_room.max <= plan.report.school_cap);
    assert!(matches!(assign_from(&plan, 3), Outcome::Assigned(_)));
}

#[test]
fn more_candidates_than_seats_cannot_be_planned() {
    let input = request(
        &[4, 4],
        &[(2, 3)],
        false,
        outside_proctors(4),
        policy(1, 0, Avoidance::School),
    );
    let SeatingOutcome::Unplanned(refusal) = seating::plan(&input, 0).expect("valid") else {
        panic!("planned 8 candidates into 6 seats")
    };
    assert_eq!(refusal.reasons[0].kind, "seats");
    assert_eq!(
        (refusal.reasons[0].needed, refusal.reasons[0].available),
        (8, 6)
    );
}

#[test]
fn too_few_proctors_for_any_plan_is_refused_with_the_rooms_named() {
    let input = request(
        &[3, 3],
        &[(2, 3), (2, 3)],
        false,
        vec![proctor("A1", "SCH0")],
        policy(1, 0, Avoidance::School),
    );
    let SeatingOutcome::Unplanned(refusal) = seating::plan_and_confirm(&input, 0).expect("valid")
    else {
        panic!("planned with one proctor for two rooms")
    };
    assert!(
        refusal
            .reasons
            .iter()
            .any(|r| r.kind.starts_with("proctors") && !r.rooms.is_empty())
    );
    assert!(refusal.attempts.len() >= 2, "{:?}", refusal.attempts);
}

fn problems(input: &SeatingInput) -> Vec<String> {
    match seating::plan(input, 0) {
        Err(ProctorError::Invalid(problems)) => problems.iter().map(ToString::to_string).collect(),
        other => panic!("not refused as invalid: {other:?}"),
    }
}

#[test]
fn a_candidate_from_an_unknown_school_is_named() {
    let mut input = request(
        &[2],
        &[(1, 2)],
        false,
        outside_proctors(2),
        policy(1, 0, Avoidance::School),
    );
    input.candidates[0].school = "NOWHERE".into();
    let found = problems(&input);
    assert!(
        found
            .iter()
            .any(|p| p.contains("candidate \"C0-0\"") && p.contains("NOWHERE")),
        "{found:?}"
    );
}

#[test]
fn a_room_with_zero_seats_is_named() {
    let input = request(
        &[2],
        &[(1, 2), (0, 4)],
        false,
        outside_proctors(2),
        policy(1, 0, Avoidance::School),
    );
    let found = problems(&input);
    assert!(
        found
            .iter()
            .any(|p| p.contains("room \"R1\"") && p.contains("zero seats")),
        "{found:?}"
    );
}

#[test]
fn duplicate_ids_are_named() {
    let mut input = request(
        &[2],
        &[(1, 2), (1, 2)],
        false,
        outside_proctors(2),
        policy(1, 0, Avoidance::School),
    );
    input.rooms[1].id = "R0".into();
    input.candidates[1].id = "C0-0".into();
    input.schools.push("SCH0".into());
    let found = problems(&input);
    for object in ["room \"R0\"", "candidate \"C0-0\"", "school \"SCH0\""] {
        assert!(
            found.iter().any(|p| p.contains(object)),
            "{object} not named in {found:?}"
        );
    }
}

#[test]
fn an_unknown_field_is_a_parse_error() {
    let text = r#"{"policy": {"proctors_per_room": 1}, "slots": [], "schools": [], "rooms": [],
                   "candidates": [], "proctors": [], "room": []}"#;
    assert!(matches!(
        SeatingInput::from_json(text),
        Err(ProctorError::Parse(_))
    ));
}
