//! Seeded generators of synthetic instances, for benchmarks, tests and the OR-Tools
//! comparison. Pure like the rest of the crate: a shape and a seed in, an input out.

use crate::input::{AssignmentInput, Avoidance, Candidate, Policy, Proctor, Room, Slot};
use crate::solve::{below, rng_from_seed};

/// The size and character of a synthetic instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Number of proctors.
    pub proctors: usize,
    /// Number of slots: four 2-hour slots a day (08:00, 10:30, 13:30, 16:00, none
    /// overlapping), on consecutive days from 2026-06-01.
    pub slots: usize,
    /// Number of rooms; room `r` sits in slot `r % slots`.
    pub rooms: usize,
    /// Number of schools.
    pub schools: usize,
    /// Distinct schools whose candidates share a room (the first is the site).
    pub schools_per_room: usize,
    /// Candidates per room; every candidate sits one room.
    pub candidates_per_room: usize,
    /// `policy.proctors_per_room`.
    pub per_room: i64,
    /// `policy.min_external`.
    pub min_external: i64,
    /// `policy.avoidance`.
    pub avoidance: Avoidance,
    /// When true, slot `s` runs 2 hours from 08:00 + 90 × s minutes instead, so every slot
    /// overlaps the next: one long overlap chain.
    pub chained: bool,
    /// When true, proctors teach classes and students, some are available in only part of
    /// the slots, some qualifications expire, and some have `max_rooms`.
    pub constrained: bool,
}

impl Shape {
    /// 300 proctors × 20 slots × 60 rooms, 2 per room (1 external), 4 of 20 schools per room.
    #[must_use]
    pub fn small() -> Self {
        Self {
            proctors: 300,
            slots: 20,
            rooms: 60,
            schools: 20,
            schools_per_room: 4,
            candidates_per_room: 30,
            per_room: 2,
            min_external: 1,
            avoidance: Avoidance::Taught,
            chained: false,
            constrained: true,
        }
    }

    /// 900 proctors × 30 slots × 150 rooms, otherwise as [`Shape::small`].
    #[must_use]
    pub fn medium() -> Self {
        Self {
            proctors: 900,
            slots: 30,
            rooms: 150,
            ..Self::small()
        }
    }

    /// Province scale: 10,000 rooms in 2 slots, 30,000 proctors, 300,000 candidates from
    /// 500 schools, school-level avoidance, 2 per room, at least 1 external.
    #[must_use]
    pub fn province() -> Self {
        Self {
            proctors: 30_000,
            slots: 2,
            rooms: 10_000,
            schools: 500,
            schools_per_room: 4,
            candidates_per_room: 30,
            per_room: 2,
            min_external: 1,
            avoidance: Avoidance::School,
            chained: false,
            constrained: false,
        }
    }
}

/// Builds an instance of `shape` from `seed`.
#[must_use]
pub fn generate(shape: &Shape, seed: u64) -> AssignmentInput {
    let mut rng = rng_from_seed(seed ^ 0x5eed_0f12_5700);
    let rng = &mut rng;
    let times = ["08:00", "10:30", "13:30", "16:00"];
    let ends = ["10:00", "12:30", "15:30", "18:00"];
    let chain_start = jiff::civil::date(2026, 6, 1).at(8, 0, 0, 0);
    let slots: Vec<Slot> = (0..shape.slots)
        .map(|s| {
            if shape.chained {
                let at = |minutes: i64| {
                    chain_start
                        .checked_add(jiff::Span::new().minutes(minutes))
                        .unwrap_or(chain_start)
                        .strftime("%Y-%m-%dT%H:%M:%S+08:00")
                        .to_string()
                };
                let start = 90 * s as i64;
                return Slot {
                    id: format!("S{s}"),
                    start: at(start),
                    end: at(start + 120),
                };
            }
            let day = jiff::civil::date(2026, 6, 1)
                .checked_add(jiff::Span::new().days((s / 4) as i64))
                .unwrap_or(jiff::civil::date(2026, 6, 1));
            Slot {
                id: format!("S{s}"),
                start: format!("{day}T{}:00+08:00", times[s % 4]),
                end: format!("{day}T{}:00+08:00", ends[s % 4]),
            }
        })
        .collect();
    let schools = shape.schools.max(1);
    let classes_per_school = 10;
    let mut candidates = Vec::with_capacity(shape.rooms * shape.candidates_per_room);
    let mut candidates_of_school: Vec<Vec<usize>> = vec![Vec::new(); schools];
    let mut rooms = Vec::with_capacity(shape.rooms);
    for r in 0..shape.rooms {
        let mut room_schools: Vec<usize> = Vec::new();
        while room_schools.len() < shape.schools_per_room.clamp(1, schools) {
            let school = below(rng, schools);
            if !room_schools.contains(&school) {
                room_schools.push(school);
            }
        }
        let mut ids = Vec::with_capacity(shape.candidates_per_room);
        for i in 0..shape.candidates_per_room {
            let school = room_schools[i % room_schools.len()];
            let id = candidates.len();
            candidates_of_school[school].push(id);
            candidates.push(Candidate {
                id: format!("C{id}"),
                school: format!("SCH{school}"),
                class: Some(format!("SCH{school}-{}", below(rng, classes_per_school))),
            });
            ids.push(format!("C{id}"));
        }
        rooms.push(Room {
            id: format!("R{r}"),
            slot: format!("S{}", r % shape.slots.max(1)),
            site: format!("SCH{}", room_schools[0]),
            candidates: ids,
        });
    }
    let last_day = slots
        .get(shape.slots.saturating_sub(1) / 2)
        .map(|s| s.start[..10].to_owned());
    let proctors = (0..shape.proctors)
        .map(|p| {
            let school = p % schools;
            let mut proctor = Proctor {
                id: format!("T{p}"),
                school: format!("SCH{school}"),
                classes: Vec::new(),
                students: Vec::new(),
                available: None,
                qualified_until: Some("2030-12-31".into()),
                max_rooms: None,
            };
            if shape.constrained {
                proctor.classes = (0..2)
                    .map(|_| format!("SCH{school}-{}", below(rng, classes_per_school)))
                    .collect();
                let own = &candidates_of_school[school];
                if !own.is_empty() {
                    proctor.students = (0..3)
                        .map(|_| format!("C{}", own[below(rng, own.len())]))
                        .collect();
                }
                if below(rng, 10) < 7 {
                    proctor.available = Some(
                        (0..shape.slots)
                            .filter(|_| below(rng, 10) < 8)
                            .map(|s| format!("S{s}"))
                            .collect(),
                    );
                }
                if below(rng, 10) == 0 {
                    proctor.qualified_until.clone_from(&last_day);
                }
                if below(rng, 2) == 0 {
                    proctor.max_rooms = Some(3);
                }
            }
            proctor
        })
        .collect();
    AssignmentInput {
        policy: Policy {
            proctors_per_room: shape.per_room,
            min_external: shape.min_external,
            avoidance: shape.avoidance,
        },
        slots,
        rooms,
        candidates,
        proctors,
    }
}
