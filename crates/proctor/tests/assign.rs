//! Behaviour of `assign` against brute force and the independent checker.

use std::collections::BTreeSet;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use xcert_proctor::{
    Assignment, AssignmentInput, Avoidance, Candidate, Instance, Load, Outcome, Policy, Proctor,
    Room, RoomAssignment, Slot, assign, verify,
};

fn slot(id: &str, start: &str, end: &str) -> Slot {
    Slot {
        id: id.into(),
        start: format!("2026-06-06T{start}:00+08:00"),
        end: format!("2026-06-06T{end}:00+08:00"),
    }
}

fn room(id: &str, slot: &str, site: &str, candidates: &[&str]) -> Room {
    Room {
        id: id.into(),
        slot: slot.into(),
        site: site.into(),
        candidates: candidates.iter().map(|c| (*c).to_owned()).collect(),
    }
}

fn candidate(id: &str, school: &str, class: &str) -> Candidate {
    Candidate {
        id: id.into(),
        school: school.into(),
        class: Some(class.into()),
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

/// The example of the contract smoke check.
fn contract_example(proctors: usize) -> AssignmentInput {
    AssignmentInput {
        policy: Policy {
            proctors_per_room: 2,
            min_external: 1,
            avoidance: Avoidance::Taught,
        },
        slots: vec![slot("S1", "09:00", "11:00")],
        rooms: vec![
            room("R1", "S1", "SCH1", &["C1", "C2"]),
            room("R2", "S1", "SCH2", &["C3"]),
        ],
        candidates: vec![
            candidate("C1", "SCH1", "SCH1-1"),
            candidate("C2", "SCH2", "SCH2-1"),
            candidate("C3", "SCH2", "SCH2-1"),
        ],
        proctors: (0..proctors)
            .map(|i| proctor(&format!("T{i}"), &format!("SCH{}", i % 3 + 1)))
            .collect(),
    }
}

fn solve(input: &AssignmentInput, seed: u64) -> Outcome {
    let instance = Instance::new(input.clone()).expect("valid input");
    assign(&instance, seed)
}

fn assigned(outcome: Outcome) -> Assignment {
    match outcome {
        Outcome::Assigned(assignment) => assignment,
        Outcome::Infeasible(infeasible) => panic!("expected an assignment, got {infeasible:?}"),
    }
}

#[test]
fn the_contract_example_is_staffed_by_the_rules() {
    let input = contract_example(6);
    let outcome = solve(&input, 7);
    assert_eq!(verify(&input, &outcome), vec![]);
    let assignment = assigned(outcome);
    assert_eq!(assignment.seed, 7);
    assert_eq!(assignment.assignments.len(), 2);
    assert_eq!(assignment.load, Load { min: 0, max: 1 });
}

#[test]
fn three_proctors_for_four_seats_are_reported_one_short() {
    let input = contract_example(3);
    let Outcome::Infeasible(infeasible) = solve(&input, 7) else {
        panic!("four seats cannot be filled by three proctors in one slot");
    };
    assert_eq!(infeasible.reasons.len(), 1);
    let reason = &infeasible.reasons[0];
    assert_eq!(reason.needed, 1);
    assert_eq!(reason.rooms, vec!["R1", "R2"]);
    assert_eq!(reason.eligible_proctors, vec!["T0", "T1", "T2"]);
    assert_eq!(reason.cause, "overlap");
    assert_eq!(
        verify(&input, &Outcome::Infeasible(infeasible.clone())),
        vec![]
    );
}

#[test]
fn the_same_seed_gives_the_same_assignment_and_seeds_vary_it() {
    let input = contract_example(6);
    assert_eq!(solve(&input, 11), solve(&input, 11));
    let distinct: BTreeSet<String> = (0..20)
        .map(|seed| format!("{:?}", assigned(solve(&input, seed)).assignments))
        .collect();
    assert!(distinct.len() > 5, "only {} distinct draws", distinct.len());
}

#[test]
fn every_eligible_proctor_is_drawn_across_seeds() {
    let mut input = contract_example(6);
    input.rooms.truncate(1);
    input.policy.proctors_per_room = 1;
    input.policy.min_external = 0;
    // T0 teaches C1's class, so T0 must never supervise R1; everyone else may.
    input.proctors[0].classes = vec!["SCH1-1".into()];
    let mut drawn = BTreeSet::new();
    for seed in 0..200 {
        let assignment = assigned(solve(&input, seed));
        drawn.extend(assignment.assignments[0].proctors.iter().cloned());
    }
    let expected: BTreeSet<String> = (1..6).map(|i| format!("T{i}")).collect();
    assert_eq!(drawn, expected);
}

#[test]
fn a_unique_assignment_is_found_for_every_seed() {
    // Two rooms, three proctors; avoidance and availability leave exactly one assignment.
    let mut input = contract_example(3);
    input.slots.push(slot("S2", "13:00", "15:00"));
    input.rooms[1].slot = "S2".into();
    input.policy.min_external = 0;
    input.proctors[0].available = Some(vec!["S1".into()]);
    input.proctors[1].students = vec!["C1".into()];
    input.proctors[2].max_rooms = Some(2);
    // R1 (S1): T1 avoids C1, so T0 and T2. R2 (S2): T0 is unavailable, so T1 and T2.
    for seed in 0..10 {
        let assignment = assigned(solve(&input, seed));
        assert_eq!(
            assignment.assignments,
            vec![
                RoomAssignment {
                    room: "R1".into(),
                    proctors: vec!["T0".into(), "T2".into()]
                },
                RoomAssignment {
                    room: "R2".into(),
                    proctors: vec!["T1".into(), "T2".into()]
                },
            ]
        );
    }
}

#[test]
fn a_chain_of_overlapping_slots_lets_one_proctor_take_the_two_ends() {
    // 9–11 overlaps 10:30–12:30, which overlaps 12–14; 9–11 and 12–14 do not overlap.
    let input = AssignmentInput {
        policy: Policy {
            proctors_per_room: 1,
            min_external: 0,
            avoidance: Avoidance::Taught,
        },
        slots: vec![
            slot("A", "09:00", "11:00"),
            slot("B", "10:30", "12:30"),
            slot("C", "12:00", "14:00"),
        ],
        rooms: vec![
            room("RA", "A", "X", &[]),
            room("RB", "B", "X", &[]),
            room("RC", "C", "X", &[]),
        ],
        candidates: vec![],
        proctors: vec![proctor("T1", "X"), proctor("T2", "X")],
    };
    for seed in 0..20 {
        let outcome = solve(&input, seed);
        assert_eq!(verify(&input, &outcome), vec![]);
        let assignment = assigned(outcome);
        // Whoever takes B cannot take A or C, so the other takes both.
        assert_eq!(assignment.load, Load { min: 1, max: 2 });
    }
    let mut alone = input;
    alone.proctors.truncate(1);
    let Outcome::Infeasible(infeasible) = solve(&alone, 1) else {
        panic!("one proctor cannot take three rooms of a chain");
    };
    assert_eq!(infeasible.reasons.iter().map(|r| r.needed).sum::<u64>(), 1);
}

/// A small random instance: up to 4 rooms, 5 proctors, 3 slots with arbitrary overlaps.
fn small_instance(seed: u64) -> AssignmentInput {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut below = |n: usize| (rng.next_u64() % n as u64) as usize;
    let slot_count = 1 + below(3);
    let slots: Vec<Slot> = (0..slot_count)
        .map(|s| {
            let start = 8 + below(5);
            let len = 1 + below(3);
            let half = if below(2) == 0 { "00" } else { "30" };
            slot(
                &format!("S{s}"),
                &format!("{start:02}:{half}"),
                &format!("{:02}:{half}", start + len),
            )
        })
        .collect();
    let schools = ["A", "B", "C"];
    let candidates: Vec<Candidate> = (0..6)
        .map(|c| candidate(&format!("C{c}"), schools[c % 3], &format!("K{}", below(4))))
        .collect();
    // A candidate sits in at most one room of a slot (the input validation's rule).
    let mut seated: Vec<(usize, usize)> = Vec::new();
    let rooms: Vec<Room> = (0..1 + below(4))
        .map(|r| {
            let slot = below(slot_count);
            let site = schools[below(3)].into();
            let candidates = (0..6)
                .filter(|_| below(3) == 0)
                .filter(|&c| !seated.contains(&(slot, c)))
                .collect::<Vec<usize>>();
            seated.extend(candidates.iter().map(|&c| (slot, c)));
            Room {
                id: format!("R{r}"),
                slot: format!("S{slot}"),
                site,
                candidates: candidates.iter().map(|c| format!("C{c}")).collect(),
            }
        })
        .collect();
    let proctors: Vec<Proctor> = (0..2 + below(4))
        .map(|p| Proctor {
            id: format!("T{p}"),
            school: schools[below(3)].into(),
            classes: if below(3) == 0 {
                vec![format!("K{}", below(4))]
            } else {
                vec![]
            },
            students: if below(4) == 0 {
                vec![format!("C{}", below(6))]
            } else {
                vec![]
            },
            available: if below(4) == 0 {
                Some(vec![format!("S{}", below(slot_count))])
            } else {
                None
            },
            qualified_until: Some(
                if below(8) == 0 {
                    "2026-06-05"
                } else {
                    "2026-06-06"
                }
                .into(),
            ),
            max_rooms: if below(3) == 0 {
                Some(1 + below(2) as i64)
            } else {
                None
            },
        })
        .collect();
    let per_room = 1 + below(2) as i64;
    AssignmentInput {
        policy: Policy {
            proctors_per_room: per_room,
            min_external: below(per_room as usize + 1) as i64,
            avoidance: if below(2) == 0 {
                Avoidance::Taught
            } else {
                Avoidance::School
            },
        },
        slots,
        rooms,
        candidates,
        proctors,
    }
}

/// Every k-subset of `0..n`.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|mask| mask.count_ones() as usize == k)
        .map(|mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
        .collect()
}

/// The smallest possible maximum load over every valid assignment, by enumeration, judged
/// by the independent checker; `None` when no assignment is valid.
fn brute_force_best_max_load(input: &AssignmentInput) -> Option<u32> {
    let k = input.policy.proctors_per_room as usize;
    let choices = subsets(input.proctors.len(), k);
    let rooms = input.rooms.len();
    let mut pick = vec![0usize; rooms];
    let mut best = None;
    loop {
        let mut load = vec![0u32; input.proctors.len()];
        let assignments = (0..rooms)
            .map(|r| {
                for &p in &choices[pick[r]] {
                    load[p] += 1;
                }
                RoomAssignment {
                    room: input.rooms[r].id.clone(),
                    proctors: choices[pick[r]]
                        .iter()
                        .map(|&p| input.proctors[p].id.clone())
                        .collect(),
                }
            })
            .collect();
        let max = load.iter().copied().max().unwrap_or(0);
        let candidate = Outcome::Assigned(Assignment {
            feasible: true,
            seed: 0,
            assignments,
            load: Load {
                min: load.iter().copied().min().unwrap_or(0),
                max,
            },
        });
        if best.is_none_or(|b| max < b) && verify(input, &candidate).is_empty() {
            best = Some(max);
        }
        // Next combination, odometer style.
        let mut i = 0;
        while i < rooms {
            pick[i] += 1;
            if pick[i] < choices.len() {
                break;
            }
            pick[i] = 0;
            i += 1;
        }
        if i == rooms {
            return best;
        }
    }
}

#[test]
fn assign_finds_an_assignment_exactly_when_brute_force_does_with_optimal_balance() {
    let mut feasible = 0;
    let mut infeasible = 0;
    for seed in 0..400 {
        let input = small_instance(seed);
        let outcome = solve(&input, seed);
        assert_eq!(
            verify(&input, &outcome),
            vec![],
            "instance {seed}: {input:?}"
        );
        match (brute_force_best_max_load(&input), &outcome) {
            (Some(best), Outcome::Assigned(assignment)) => {
                assert_eq!(
                    assignment.load.max, best,
                    "instance {seed} is not balanced: {input:?}"
                );
                feasible += 1;
            }
            (None, Outcome::Infeasible(_)) => infeasible += 1,
            (best, outcome) => {
                panic!("instance {seed}: brute force {best:?}, assign {outcome:?}; {input:?}")
            }
        }
    }
    // The generator must exercise both outcomes for this test to mean anything.
    assert!(
        feasible > 50 && infeasible > 50,
        "{feasible} feasible, {infeasible} infeasible"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_output_passes_the_independent_checker(seed in any::<u64>(), draw in any::<u64>()) {
        let shape = xcert_proctor::generate::Shape {
            proctors: 40,
            slots: 6,
            rooms: 12,
            schools: 5,
            schools_per_room: 2,
            candidates_per_room: 6,
            per_room: 2,
            min_external: (seed % 3) as i64,
            avoidance: if seed % 2 == 0 { Avoidance::Taught } else { Avoidance::School },
            chained: seed % 5 == 0,
            constrained: true,
        };
        let input = xcert_proctor::generate::generate(&shape, seed);
        let outcome = solve(&input, draw);
        prop_assert_eq!(verify(&input, &outcome), vec![]);
        prop_assert_eq!(&outcome, &solve(&input, draw));
    }

    #[test]
    fn small_outputs_pass_the_independent_checker(seed in any::<u64>(), draw in any::<u64>()) {
        let input = small_instance(seed);
        prop_assert_eq!(verify(&input, &solve(&input, draw)), vec![]);
    }
}

#[test]
fn an_absurd_proctors_per_room_is_infeasible_without_a_huge_allocation() {
    let mut input = contract_example(6);
    input.policy.proctors_per_room = 4_000_000_000;
    let Outcome::Infeasible(infeasible) = solve(&input, 1) else {
        panic!("six proctors cannot staff rooms of four billion");
    };
    assert_eq!(infeasible.reasons.len(), 1);
    // Six proctors in one slot fill at most six seats of the eight billion.
    assert_eq!(infeasible.reasons[0].needed, 8_000_000_000 - 6);
}
