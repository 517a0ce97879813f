//! Hall's condition for the proctor draw that will follow a seating plan.
//!
//! A set X of rooms needs `proctors_per_room × |X|` proctor places. A proctor can give X at
//! most `min(max_rooms, s)` places, where s is the largest number of pairwise non-overlapping
//! slots in which X has a room the proctor may take (available, qualified on the slot's date,
//! not kept away by avoidance). If the sum over all proctors is short for some X, no
//! assignment exists (Hall's condition for b-matchings); the same holds for the external
//! quota with "may take and is external to" in place of "may take". These are necessary
//! conditions, checked exactly and fast for: every room alone, the rooms of each group of
//! schools sharing a room, the rooms of each school, the rooms of each group of overlapping
//! slots, and all rooms together.
//!
//! Cost: a set's places start from what every proctor could give it without conflicts
//! (proctors grouped by usable slots and `max_rooms`); then only the proctors whose conflicts
//! touch the set (an inverted room → proctors index) or whose school hosts one of its rooms
//! are corrected, and those are grouped too (same school, conflicts, slots and `max_rooms`).
//! So a school's check costs the conflicts near that school, not proctors × rooms.

use std::collections::HashMap;

use crate::input::{Instance, NONE};

/// What makes two proctors alike for the conditions: school, conflicts, usable slots,
/// `max_rooms`.
type KindKey<'a> = (u32, &'a [u32], Vec<bool>, u32);

/// A set of rooms (instance indexes) to check, and how to name it to a person.
#[derive(Debug, Clone)]
pub(crate) struct RoomSet {
    pub(crate) label: String,
    pub(crate) rooms: Vec<u32>,
}

/// A set of rooms that fails Hall's condition.
#[derive(Debug, Clone)]
pub(crate) struct Shortfall {
    pub(crate) label: String,
    pub(crate) rooms: Vec<u32>,
    pub(crate) needed: u64,
    pub(crate) capacity: u64,
    /// True when it is the external quota that falls short.
    pub(crate) external: bool,
}

/// The outcome of the checks: how many conditions held, the tightest one, and every failure.
#[derive(Debug, Clone)]
pub(crate) struct HallReport {
    pub(crate) conditions: usize,
    pub(crate) tightest: Option<Shortfall>,
    pub(crate) shortfalls: Vec<Shortfall>,
}

struct Checker<'a> {
    instance: &'a Instance,
    slots: usize,
    /// Slots sorted by end time, for greedy interval scheduling.
    by_end: Vec<usize>,
    /// (available slots, max_rooms) → number of proctors.
    profiles: Vec<(Vec<bool>, u32, u64)>,
    /// Proctors alike in every way the conditions see (school, conflicts, slots, `max_rooms`):
    /// one representative proctor and how many there are. Under school avoidance most of a
    /// school's teachers are alike, so the sets below cost the schools near them, not their
    /// teachers.
    kinds: Vec<(usize, u64)>,
    /// Room → kinds whose avoidance conflicts include it.
    avoiders: Vec<Vec<u32>>,
    /// School (instance index) → kinds of that school.
    proctors_of_school: HashMap<u32, Vec<u32>>,
    /// Scratch: which rooms are in the current set (by epoch).
    in_set: Vec<u32>,
    epoch: u32,
}

/// Checks every room, each set in `sets`, and reports.
pub(crate) fn check(instance: &Instance, sets: &[RoomSet]) -> HallReport {
    let mut checker = Checker::new(instance);
    let mut report = HallReport {
        conditions: 0,
        tightest: None,
        shortfalls: Vec::new(),
    };
    checker.single_rooms(&mut report);
    for set in sets {
        checker.set(set, &mut report);
    }
    report
}

impl<'a> Checker<'a> {
    fn new(instance: &'a Instance) -> Self {
        let slots = instance.slots();
        let mut by_end: Vec<usize> = (0..slots).collect();
        by_end.sort_by_key(|&s| (instance.slot_end[s], instance.slot_start[s]));
        let mut profile_index: HashMap<(Vec<bool>, u32), usize> = HashMap::new();
        let mut profiles: Vec<(Vec<bool>, u32, u64)> = Vec::new();
        let mut proctors_of_school: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut kind_index: HashMap<KindKey<'_>, u32> = HashMap::new();
        let mut kinds: Vec<(usize, u64)> = Vec::new();
        for p in 0..instance.proctors() {
            let ok: Vec<bool> = (0..slots).map(|s| instance.bar(p, s).is_none()).collect();
            let max = instance.proctor_max[p];
            let key = (ok, max);
            match profile_index.get(&key) {
                Some(&i) => profiles[i].2 += 1,
                None => {
                    profile_index.insert(key.clone(), profiles.len());
                    profiles.push((key.0, key.1, 1));
                }
            }
            let ok: Vec<bool> = (0..slots).map(|s| instance.bar(p, s).is_none()).collect();
            let key = (
                instance.proctor_school[p],
                instance.conflicts[p].as_slice(),
                ok,
                max,
            );
            if let Some(&k) = kind_index.get(&key) {
                kinds[k as usize].1 += 1;
                continue;
            }
            let k = kinds.len() as u32;
            kind_index.insert(key, k);
            kinds.push((p, 1));
            proctors_of_school
                .entry(instance.proctor_school[p])
                .or_default()
                .push(k);
        }
        let mut avoiders = vec![Vec::new(); instance.rooms()];
        for (k, &(p, _)) in kinds.iter().enumerate() {
            for &r in &instance.conflicts[p] {
                avoiders[r as usize].push(k as u32);
            }
        }
        Checker {
            instance,
            slots,
            by_end,
            profiles,
            kinds,
            avoiders,
            proctors_of_school,
            in_set: vec![0; instance.rooms()],
            epoch: 0,
        }
    }

    /// The most rooms a proctor with `max` can take among `usable` slots: the largest set of
    /// pairwise non-overlapping slots (greedy by end time), capped by `max`.
    fn places(&self, usable: impl Fn(usize) -> bool, max: u32) -> u64 {
        let mut count = 0_u64;
        let mut last_end = None;
        for &s in &self.by_end {
            if !usable(s) {
                continue;
            }
            if last_end.is_none_or(|end| self.instance.slot_start[s] >= end) {
                count += 1;
                last_end = Some(self.instance.slot_end[s]);
            }
        }
        if max == NONE {
            count
        } else {
            count.min(u64::from(max))
        }
    }

    fn record(report: &mut HallReport, shortfall: Shortfall) {
        report.conditions += 1;
        let slack = shortfall.capacity as i128 - shortfall.needed as i128;
        let tighter = report
            .tightest
            .as_ref()
            .is_none_or(|t| slack < t.capacity as i128 - t.needed as i128);
        if slack < 0 {
            report.shortfalls.push(shortfall.clone());
        }
        if tighter {
            report.tightest = Some(shortfall);
        }
    }

    /// Every room alone: enough eligible proctors, and enough eligible external ones.
    fn single_rooms(&self, report: &mut HallReport) {
        let instance = self.instance;
        let per_room = u64::from(instance.per_room);
        let min_external = u64::from(instance.min_external);
        let mut ok_in_slot = vec![0_u64; self.slots];
        let mut ok_by_school: HashMap<(u32, u32), u64> = HashMap::new();
        for p in 0..instance.proctors() {
            for (s, count) in ok_in_slot.iter_mut().enumerate() {
                if instance.bar(p, s).is_none() {
                    *count += 1;
                    *ok_by_school
                        .entry((s as u32, instance.proctor_school[p]))
                        .or_default() += 1;
                }
            }
        }
        for r in 0..instance.rooms() {
            let slot = instance.room_slot[r] as usize;
            let site = instance.room_site[r];
            let mut avoid = 0;
            let mut avoid_external = 0;
            for &k in &self.avoiders[r] {
                let (p, count) = self.kinds[k as usize];
                if instance.bar(p, slot).is_none() {
                    avoid += count;
                    if instance.proctor_school[p] != site {
                        avoid_external += count;
                    }
                }
            }
            let label = format!("room {:?}", instance.input.rooms[r].id);
            let eligible = ok_in_slot[slot] - avoid;
            Self::record(
                report,
                Shortfall {
                    label: label.clone(),
                    rooms: vec![r as u32],
                    needed: per_room,
                    capacity: eligible,
                    external: false,
                },
            );
            if min_external > 0 {
                let home = ok_by_school.get(&(slot as u32, site)).copied().unwrap_or(0);
                let external = ok_in_slot[slot] - home - avoid_external;
                Self::record(
                    report,
                    Shortfall {
                        label,
                        rooms: vec![r as u32],
                        needed: min_external,
                        capacity: external,
                        external: true,
                    },
                );
            }
        }
    }

    fn set(&mut self, set: &RoomSet, report: &mut HallReport) {
        let instance = self.instance;
        self.epoch += 1;
        let epoch = self.epoch;
        let mut rooms_in_slot = vec![0_u32; self.slots];
        let mut site_rooms: HashMap<(u32, u32), u32> = HashMap::new();
        for &r in &set.rooms {
            self.in_set[r as usize] = epoch;
            let slot = instance.room_slot[r as usize];
            rooms_in_slot[slot as usize] += 1;
            *site_rooms
                .entry((slot, instance.room_site[r as usize]))
                .or_default() += 1;
        }
        let set_slots: Vec<bool> = rooms_in_slot.iter().map(|&n| n > 0).collect();
        let base: u64 = self
            .profiles
            .iter()
            .map(|(ok, max, count)| count * self.places(|s| ok[s] && set_slots[s], *max))
            .sum();

        // Proctors whose conflicts touch the set, or who are at home in one of its rooms.
        let mut touching: Vec<u32> = Vec::new();
        for &r in &set.rooms {
            touching.extend_from_slice(&self.avoiders[r as usize]);
        }
        touching.sort_unstable();
        touching.dedup();
        let mut home: Vec<u32> = Vec::new();
        if instance.min_external > 0 {
            let mut sites: Vec<u32> = site_rooms.keys().map(|&(_, site)| site).collect();
            sites.sort_unstable();
            sites.dedup();
            for site in sites {
                if let Some(list) = self.proctors_of_school.get(&site) {
                    home.extend_from_slice(list);
                }
            }
            home.extend_from_slice(&touching);
            home.sort_unstable();
            home.dedup();
        }

        let mut capacity = base;
        let mut avoided = vec![0_u32; self.slots];
        for &k in &touching {
            let (p, count) = self.kinds[k as usize];
            avoided.iter_mut().for_each(|a| *a = 0);
            for &r in &instance.conflicts[p] {
                if self.in_set[r as usize] == epoch {
                    avoided[instance.room_slot[r as usize] as usize] += 1;
                }
            }
            let max = instance.proctor_max[p];
            let full = self.places(|s| set_slots[s] && instance.bar(p, s).is_none(), max);
            let actual = self.places(
                |s| instance.bar(p, s).is_none() && rooms_in_slot[s] > avoided[s],
                max,
            );
            capacity -= count * (full - actual);
        }
        let size = set.rooms.len() as u64;
        Self::record(
            report,
            Shortfall {
                label: set.label.clone(),
                rooms: set.rooms.clone(),
                needed: u64::from(instance.per_room) * size,
                capacity,
                external: false,
            },
        );

        if instance.min_external > 0 {
            let mut external_capacity = base;
            for &k in &home {
                let (p, count) = self.kinds[k as usize];
                let school = instance.proctor_school[p];
                for (s, a) in avoided.iter_mut().enumerate() {
                    *a = site_rooms.get(&(s as u32, school)).copied().unwrap_or(0);
                }
                for &r in &instance.conflicts[p] {
                    let r = r as usize;
                    if self.in_set[r] == epoch && instance.room_site[r] != school {
                        avoided[instance.room_slot[r] as usize] += 1;
                    }
                }
                let max = instance.proctor_max[p];
                let full = self.places(|s| set_slots[s] && instance.bar(p, s).is_none(), max);
                let actual = self.places(
                    |s| instance.bar(p, s).is_none() && rooms_in_slot[s] > avoided[s],
                    max,
                );
                external_capacity -= count * (full - actual);
            }
            Self::record(
                report,
                Shortfall {
                    label: set.label.clone(),
                    rooms: set.rooms.clone(),
                    needed: u64::from(instance.min_external) * size,
                    capacity: external_capacity,
                    external: true,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::input::{AssignmentInput, Avoidance, Candidate, Policy, Proctor, Room, Slot};
    use crate::output::Outcome;

    /// A small random instance: slots at random hours (so some overlap), rooms holding
    /// random candidates of random schools, proctors with random schools, slots and limits.
    fn instance() -> impl Strategy<Value = AssignmentInput> {
        (
            prop::collection::vec(8_u32..14, 1..4),
            prop::collection::vec((0_usize..3, prop::collection::vec(0_usize..3, 1..4)), 1..5),
            prop::collection::vec(
                (
                    0_usize..3,
                    prop::option::of(prop::collection::vec(any::<bool>(), 3)),
                    prop::option::of(1_i64..3),
                ),
                1..7,
            ),
            (1_i64..3, 0_i64..2, any::<bool>()),
        )
            .prop_map(
                |(hours, rooms, proctors, (per_room, min_external, school))| {
                    let slots: Vec<Slot> = hours
                        .iter()
                        .enumerate()
                        .map(|(i, h)| Slot {
                            id: format!("S{i}"),
                            start: format!("2026-06-06T{h:02}:00:00+08:00"),
                            end: format!("2026-06-06T{:02}:00:00+08:00", h + 2),
                        })
                        .collect();
                    let mut candidates = Vec::new();
                    let rooms = rooms
                        .iter()
                        .enumerate()
                        .map(|(r, (slot, schools))| {
                            let ids = schools
                                .iter()
                                .map(|&s| {
                                    let id = format!("C{}", candidates.len());
                                    candidates.push(Candidate {
                                        id: id.clone(),
                                        school: format!("SCH{s}"),
                                        class: None,
                                    });
                                    id
                                })
                                .collect();
                            Room {
                                id: format!("R{r}"),
                                slot: format!("S{}", slot % slots.len()),
                                site: format!("SCH{}", r % 3),
                                candidates: ids,
                            }
                        })
                        .collect();
                    let proctors = proctors
                        .iter()
                        .enumerate()
                        .map(|(p, (school, available, max))| Proctor {
                            id: format!("T{p}"),
                            school: format!("SCH{school}"),
                            classes: Vec::new(),
                            students: Vec::new(),
                            available: available.as_ref().map(|a| {
                                (0..slots.len())
                                    .filter(|&s| a[s])
                                    .map(|s| format!("S{s}"))
                                    .collect()
                            }),
                            qualified_until: None,
                            max_rooms: *max,
                        })
                        .collect();
                    AssignmentInput {
                        policy: Policy {
                            proctors_per_room: per_room,
                            min_external: min_external.min(per_room),
                            avoidance: if school {
                                Avoidance::School
                            } else {
                                Avoidance::Taught
                            },
                        },
                        slots,
                        rooms,
                        candidates,
                        proctors,
                    }
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Hall's condition is necessary: when it fails for some set of rooms, the exact
        /// solver finds no assignment either.
        #[test]
        fn a_hall_shortfall_means_no_assignment_exists(input in instance()) {
            let instance = Instance::new(input).expect("generated input is valid");
            let rooms = instance.rooms() as u32;
            let mut sets = vec![RoomSet { label: "all".into(), rooms: (0..rooms).collect() }];
            for a in 0..rooms {
                for b in a + 1..rooms {
                    sets.push(RoomSet { label: format!("{a},{b}"), rooms: vec![a, b] });
                }
            }
            let report = check(&instance, &sets);
            if !report.shortfalls.is_empty() {
                let outcome = crate::assign(&instance, 1);
                prop_assert!(matches!(outcome, Outcome::Infeasible(_)), "{:?}", report.shortfalls);
            }
        }
    }
}
