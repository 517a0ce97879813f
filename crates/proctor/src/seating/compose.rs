//! Which candidates share a room: the room composition.
//!
//! Candidates are laid out in one sequence, school after school (schools and the candidates
//! inside each school in the seeded order), and rooms are filled from that sequence in the
//! seeded room order. Two ways of reading it:
//!
//! - **Checkerboard**: the sequence is cut in two streams, A and B. Each room takes its black
//!   seats' worth from A and its white seats' worth from B, so a room holds one (or, at a
//!   school boundary, two) schools from each stream: a small number of schools, in the
//!   proportions that let [`super::arrange`] seat them with no same-school neighbours. The cut
//!   point is moved to a school boundary where possible (by rotating the school order), so no
//!   school is split between the two streams.
//! - **Blocked**: one stream; a room holds one school except where a school ends. Fewer
//!   schools per room and fewer rooms per school, so more proctors stay eligible under school
//!   avoidance, at the price of same-school neighbours.
//!
//! Both obey a cap on the number of schools per room: a stream stops filling a room when its
//! next candidate would bring in one school too many, leaving the seat empty. When that leaves
//! candidates without a seat, the caller raises the cap and tries again.

/// How schools are mixed inside rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mixing {
    /// Two streams: one school on the black seats, another on the white seats.
    Checkerboard,
    /// One stream: rooms filled school by school.
    Blocked,
}

impl Mixing {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mixing::Checkerboard => "checkerboard",
            Mixing::Blocked => "blocked",
        }
    }
}

/// One room as the composer sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) capacity: u32,
    pub(crate) black: u32,
}

/// The composition: per room (input index) its candidates, in the draw's order.
#[derive(Debug, Clone)]
pub(crate) struct Composition {
    pub(crate) members: Vec<Vec<u32>>,
    pub(crate) unseated: usize,
}

/// How many rooms a composition uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// As few rooms as hold everyone (the first rooms of the order): fewest rooms to staff.
    Packed,
    /// Every room: more empty seats between candidates, more rooms to staff.
    Spread,
}

impl Fill {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Fill::Packed => "packed",
            Fill::Spread => "spread",
        }
    }
}

/// Per room in order: how many candidates go on its black seats and on its white seats.
/// Black seats are used first in every room of the fill (they are never next to each other),
/// white seats only for the rest.
pub(crate) fn targets(
    shapes: &[Shape],
    room_order: &[u32],
    total: usize,
    fill: Fill,
) -> Vec<(u32, usize, usize)> {
    let mut used = Vec::new();
    let mut room_seats = 0;
    for &room in room_order {
        if fill == Fill::Packed && room_seats >= total {
            break;
        }
        room_seats += shapes[room as usize].capacity as usize;
        used.push(room);
    }
    let black_total: usize = used
        .iter()
        .map(|&r| shapes[r as usize].black as usize)
        .sum();
    let mut black_left = total.min(black_total);
    let mut white_left = total - black_left;
    used.iter()
        .map(|&room| {
            let shape = shapes[room as usize];
            let black = black_left.min(shape.black as usize);
            black_left -= black;
            let white = white_left.min((shape.capacity - shape.black) as usize);
            white_left -= white;
            (room, black, white)
        })
        .collect()
}

/// Fills rooms, taken in `room_order`, from `schools` (each a school's candidates in the
/// draw's order, the list itself in the draw's school order).
pub(crate) fn compose(
    shapes: &[Shape],
    room_order: &[u32],
    schools: &[Vec<u32>],
    school_of: &[u32],
    (mixing, fill): (Mixing, Fill),
    cap: usize,
) -> Composition {
    let total: usize = schools.iter().map(Vec::len).sum();
    let targets = targets(shapes, room_order, total, fill);
    let (sequence, split) = match mixing {
        Mixing::Checkerboard => {
            let split = targets.iter().map(|t| t.1).sum();
            let start = best_rotation(schools, split);
            let sequence: Vec<u32> = schools[start..]
                .iter()
                .chain(&schools[..start])
                .flatten()
                .copied()
                .collect();
            (sequence, split)
        }
        Mixing::Blocked => (schools.iter().flatten().copied().collect(), total),
    };
    let (stream_a, stream_b) = sequence.split_at(split);
    let mut a = Stream {
        list: stream_a,
        next: 0,
    };
    let mut b = Stream {
        list: stream_b,
        next: 0,
    };

    let mut members = vec![Vec::new(); shapes.len()];
    let mut schools_in: Vec<Vec<u32>> = vec![Vec::new(); shapes.len()];
    for &(room, black, white) in &targets {
        let list = &mut members[room as usize];
        let room_schools = &mut schools_in[room as usize];
        match mixing {
            Mixing::Checkerboard => {
                a.take(list, room_schools, black, school_of, cap);
                b.take(list, room_schools, white, school_of, cap);
            }
            Mixing::Blocked => {
                a.take(list, room_schools, black + white, school_of, cap);
            }
        }
    }
    let unseated = a.list.len() - a.next + b.list.len() - b.next;
    Composition { members, unseated }
}

struct Stream<'a> {
    list: &'a [u32],
    next: usize,
}

impl Stream<'_> {
    fn done(&self) -> bool {
        self.next == self.list.len()
    }

    /// Moves up to `want` candidates into `room`, stopping before a school beyond `cap`.
    fn take(
        &mut self,
        room: &mut Vec<u32>,
        schools: &mut Vec<u32>,
        want: usize,
        school_of: &[u32],
        cap: usize,
    ) {
        let mut taken = 0;
        while taken < want && !self.done() {
            let candidate = self.list[self.next];
            let school = school_of[candidate as usize];
            if !schools.contains(&school) {
                if schools.len() >= cap {
                    break;
                }
                schools.push(school);
            }
            room.push(candidate);
            self.next += 1;
            taken += 1;
        }
    }
}

/// The school to start the sequence with so that the cut after `split` candidates splits as
/// few candidates of one school as possible (zero when it can fall on a school boundary).
/// Ties go to the earliest school in the draw's order.
fn best_rotation(schools: &[Vec<u32>], split: usize) -> usize {
    let total: usize = schools.iter().map(Vec::len).sum();
    if total == 0 || schools.is_empty() {
        return 0;
    }
    let mut starts = Vec::with_capacity(schools.len() + 1);
    let mut position = 0;
    for school in schools {
        starts.push(position);
        position += school.len();
    }
    starts.push(total);
    let mut best = (usize::MAX, 0);
    for (first, &offset) in starts[..schools.len()].iter().enumerate() {
        let cut = (offset + split) % total;
        // The school holding position `cut`: the last start at or before it.
        let holder = starts.partition_point(|&s| s <= cut) - 1;
        let straddle = (cut - starts[holder]).min(starts[holder + 1] - cut);
        if straddle < best.0 {
            best = (straddle, first);
            if straddle == 0 {
                break;
            }
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes(n: usize, capacity: u32) -> Vec<Shape> {
        vec![
            Shape {
                capacity,
                black: capacity.div_ceil(2)
            };
            n
        ]
    }

    fn schools_of(sizes: &[usize]) -> (Vec<Vec<u32>>, Vec<u32>) {
        let mut schools = Vec::new();
        let mut school_of = Vec::new();
        for (s, &size) in sizes.iter().enumerate() {
            let first = school_of.len() as u32;
            schools.push((first..first + size as u32).collect());
            school_of.extend(std::iter::repeat_n(s as u32, size));
        }
        (schools, school_of)
    }

    #[test]
    fn checkerboard_rooms_hold_two_schools_when_schools_are_large() {
        let (schools, school_of) = schools_of(&[60, 60, 60, 60]);
        let order: Vec<u32> = (0..8).collect();
        let c = compose(
            &shapes(8, 30),
            &order,
            &schools,
            &school_of,
            (Mixing::Checkerboard, Fill::Packed),
            2,
        );
        assert_eq!(c.unseated, 0);
        for room in &c.members {
            let mut s: Vec<u32> = room.iter().map(|&m| school_of[m as usize]).collect();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), 2, "{room:?}");
        }
    }

    #[test]
    fn a_tight_cap_leaves_candidates_unseated() {
        let (schools, school_of) = schools_of(&[5, 5, 5, 5, 5, 5]);
        let order: Vec<u32> = (0..1).collect();
        let c = compose(
            &shapes(1, 30),
            &order,
            &schools,
            &school_of,
            (Mixing::Blocked, Fill::Packed),
            2,
        );
        assert_eq!(c.unseated, 20);
        let c = compose(
            &shapes(1, 30),
            &order,
            &schools,
            &school_of,
            (Mixing::Blocked, Fill::Packed),
            6,
        );
        assert_eq!(c.unseated, 0);
    }

    #[test]
    fn black_seats_are_used_first_in_every_room_of_the_fill() {
        // Rooms of 6 (3 black) and 3 (2 black); 7 candidates: 5 on black, 2 on white.
        let shapes = vec![
            Shape {
                capacity: 6,
                black: 3,
            },
            Shape {
                capacity: 3,
                black: 2,
            },
        ];
        assert_eq!(
            targets(&shapes, &[0, 1], 7, Fill::Packed),
            vec![(0, 3, 2), (1, 2, 0)]
        );
        // Three candidates fit the first room, or spread over both rooms' black seats.
        assert_eq!(targets(&shapes, &[0, 1], 3, Fill::Packed), vec![(0, 3, 0)]);
        assert_eq!(targets(&shapes, &[0, 1], 4, Fill::Packed), vec![(0, 3, 1)]);
        assert_eq!(
            targets(&shapes, &[0, 1], 4, Fill::Spread),
            vec![(0, 3, 0), (1, 1, 0)]
        );
    }

    #[test]
    fn the_rotation_puts_the_cut_on_a_school_boundary() {
        let (schools, _) = schools_of(&[3, 4, 5]);
        // Cut after 9 = 4 + 5: start with the second school.
        assert_eq!(best_rotation(&schools, 9), 1);
        assert_eq!(best_rotation(&schools, 3), 0);
    }
}
