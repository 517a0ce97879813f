//! Seats inside one room: which candidate sits at which (row, column).
//!
//! A room's grid is a bipartite graph under "next to" (same row and adjacent columns, or same
//! column and adjacent rows): colour the seats like a chessboard and no two seats of one
//! colour are ever next to each other. So the arrangement is a partition problem: put a set
//! of schools on the black seats and the rest on the white seats, and only a school split
//! across both colours (the *straddler*) can sit next to itself. A subset-sum picks the
//! schools that fill the black seats as exactly as possible; the straddler's black part goes
//! to the last black seats (bottom of the room) and its white part to the first white seats
//! (top), with any empty seats left at the bottom between them. A bounded swap search then
//! removes whatever adjacencies it can.

/// An empty seat in a room's seat vector.
pub(crate) const EMPTY: u32 = u32::MAX;

/// The seats of a `rows` × `cols` room as row-major indexes: the black seats
/// (`(row + col)` even) first, then the white ones. Returns the order and the black count.
pub(crate) fn chessboard_order(rows: u32, cols: u32) -> (Vec<u32>, usize) {
    let mut order = Vec::with_capacity((rows * cols) as usize);
    for colour in 0..2 {
        for row in 0..rows {
            for col in 0..cols {
                if (row + col) % 2 == colour {
                    order.push(row * cols + col);
                }
            }
        }
    }
    let black = (rows * cols).div_ceil(2) as usize;
    (order, black)
}

/// Counts pairs of occupied seats next to each other whose candidates share a school.
pub(crate) fn same_school_adjacencies(
    rows: u32,
    cols: u32,
    seats: &[u32],
    school_of: &[u32],
) -> u64 {
    let mut count = 0;
    let school = |seat: usize| (seats[seat] != EMPTY).then(|| school_of[seats[seat] as usize]);
    for row in 0..rows {
        for col in 0..cols {
            let here = (row * cols + col) as usize;
            let Some(mine) = school(here) else { continue };
            if col + 1 < cols && school(here + 1) == Some(mine) {
                count += 1;
            }
            if row + 1 < rows && school(here + cols as usize) == Some(mine) {
                count += 1;
            }
        }
    }
    count
}

/// Counts pairs of occupied seats next to each other, whatever their schools.
pub(crate) fn occupied_adjacent_pairs(rows: u32, cols: u32, seats: &[u32]) -> u64 {
    let mut count = 0;
    for row in 0..rows {
        for col in 0..cols {
            let here = (row * cols + col) as usize;
            if seats[here] == EMPTY {
                continue;
            }
            if col + 1 < cols && seats[here + 1] != EMPTY {
                count += 1;
            }
            if row + 1 < rows && seats[here + cols as usize] != EMPTY {
                count += 1;
            }
        }
    }
    count
}

/// Seats `members` (at most `rows * cols` of them) in a room, keeping candidates of the same
/// school apart as far as the partition allows. The members' order is the seeded draw: it
/// decides who takes which seat among equally good choices. Returns the row-major seat vector
/// ([`EMPTY`] for an empty seat).
pub(crate) fn arrange(rows: u32, cols: u32, members: &[u32], school_of: &[u32]) -> Vec<u32> {
    let capacity = (rows * cols) as usize;
    debug_assert!(members.len() <= capacity);
    let (order, black) = chessboard_order(rows, cols);
    let mut seats = vec![EMPTY; capacity];

    // Group by school, keeping the draw's order inside each school; largest school first.
    let mut groups: Vec<(u32, Vec<u32>)> = Vec::new();
    for &candidate in members {
        let school = school_of[candidate as usize];
        match groups.iter_mut().find(|(s, _)| *s == school) {
            Some((_, list)) => list.push(candidate),
            None => groups.push((school, vec![candidate])),
        }
    }
    groups.sort_by_key(|(_, list)| std::cmp::Reverse(list.len()));

    if members.len() <= black {
        // Everyone fits on one colour: nobody is next to anybody.
        let flat = groups.iter().flat_map(|(_, list)| list.iter().copied());
        for (seat, candidate) in order.iter().zip(flat) {
            seats[*seat as usize] = candidate;
        }
        return seats;
    }

    let on_black = fill_black(&groups, black);
    let mut black_list = Vec::with_capacity(black);
    let mut white_list = Vec::with_capacity(members.len() - black);
    let mut rest: Vec<&Vec<u32>> = Vec::new();
    for (g, (_, list)) in groups.iter().enumerate() {
        if on_black[g] {
            black_list.extend_from_slice(list);
        } else {
            rest.push(list);
        }
    }
    // The straddler (largest school left) tops up the black seats from the bottom; its
    // remainder opens the white seats at the top, far from its black part.
    let mut rest = rest.into_iter();
    if let Some(straddler) = rest.next() {
        let gap = black - black_list.len();
        let (to_black, to_white) = straddler.split_at(gap.min(straddler.len()));
        black_list.extend_from_slice(to_black);
        white_list.extend_from_slice(to_white);
    }
    for list in rest {
        let gap = black.saturating_sub(black_list.len());
        let (to_black, to_white) = list.split_at(gap.min(list.len()));
        black_list.extend_from_slice(to_black);
        white_list.extend_from_slice(to_white);
    }
    for (seat, &candidate) in order[..black].iter().zip(&black_list) {
        seats[*seat as usize] = candidate;
    }
    for (seat, &candidate) in order[black..].iter().zip(&white_list) {
        seats[*seat as usize] = candidate;
    }
    if capacity <= SWAP_SEARCH_SEATS {
        improve(rows, cols, &mut seats, school_of);
    }
    if capacity <= EXACT_SEARCH_SEATS && same_school_adjacencies(rows, cols, &seats, school_of) > 0
    {
        if let Some(better) = search_zero(rows, cols, &groups) {
            return better;
        }
    }
    seats
}

/// The largest room the swap search runs on: it costs seats² per pass, so a hall of
/// thousands of seats keeps the constructive arrangement as it is.
const SWAP_SEARCH_SEATS: usize = 400;

/// The largest room the exact search runs on (its recursion is one level per seat).
const EXACT_SEARCH_SEATS: usize = 100;

/// How many search nodes [`search_zero`] may visit: enough for every room of a few dozen
/// seats in practice, and a hard bound for halls where the swap search must do.
const SEARCH_BUDGET: u32 = 200_000;

/// Depth-first search for an arrangement with no same-school neighbours (seats in row-major
/// order; each seat takes a school differing from its left and upper neighbours, or stays
/// empty while empty seats remain). Local swaps can get stuck where a zero arrangement
/// exists (three schools of two in a 2 × 3 room); this finds it. `None` when there is none or
/// the budget runs out.
fn search_zero(rows: u32, cols: u32, groups: &[(u32, Vec<u32>)]) -> Option<Vec<u32>> {
    let capacity = (rows * cols) as usize;
    let members: usize = groups.iter().map(|(_, list)| list.len()).sum();
    let mut left: Vec<usize> = groups.iter().map(|(_, list)| list.len()).collect();
    let mut empty_left = capacity - members;
    // Per seat: the group index sitting there, or `usize::MAX` for empty.
    let mut choice = vec![usize::MAX; capacity];
    let mut budget = SEARCH_BUDGET;

    fn go(
        seat: usize,
        cols: usize,
        choice: &mut [usize],
        left: &mut [usize],
        empty_left: &mut usize,
        budget: &mut u32,
    ) -> bool {
        if seat == choice.len() {
            return true;
        }
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        let remaining_seats = choice.len() - seat;
        // A group needing more than half the remaining seats (rounded up) cannot avoid itself.
        if left.iter().any(|&n| n > remaining_seats.div_ceil(2) + cols) {
            return false;
        }
        let up = (seat >= cols).then(|| choice[seat - cols]);
        let before = (seat % cols > 0).then(|| choice[seat - 1]);
        let mut order: Vec<usize> = (0..left.len()).filter(|&g| left[g] > 0).collect();
        order.sort_by_key(|&g| std::cmp::Reverse(left[g]));
        for g in order {
            if up == Some(g) || before == Some(g) {
                continue;
            }
            left[g] -= 1;
            choice[seat] = g;
            if go(seat + 1, cols, choice, left, empty_left, budget) {
                return true;
            }
            left[g] += 1;
        }
        if *empty_left > 0 {
            *empty_left -= 1;
            choice[seat] = usize::MAX;
            if go(seat + 1, cols, choice, left, empty_left, budget) {
                return true;
            }
            *empty_left += 1;
        }
        choice[seat] = usize::MAX;
        false
    }

    if !go(
        0,
        cols as usize,
        &mut choice,
        &mut left,
        &mut empty_left,
        &mut budget,
    ) {
        return None;
    }
    let mut next = vec![0_usize; groups.len()];
    let seats = choice
        .iter()
        .map(|&g| {
            if g == usize::MAX {
                EMPTY
            } else {
                next[g] += 1;
                groups[g].1[next[g] - 1]
            }
        })
        .collect();
    Some(seats)
}

/// Chooses which school groups go whole onto the black seats: a subset whose size is as
/// close to `black` as possible without exceeding it (0/1 subset sum over group sizes).
fn fill_black(groups: &[(u32, Vec<u32>)], black: usize) -> Vec<bool> {
    // parent[s] = the group whose addition first reached sum s, and the sum before it.
    let mut reachable = vec![false; black + 1];
    let mut parent: Vec<Option<(usize, usize)>> = vec![None; black + 1];
    reachable[0] = true;
    for (g, (_, list)) in groups.iter().enumerate() {
        let weight = list.len();
        if weight > black {
            continue;
        }
        // Descending sums: `before` still reflects the groups ahead of this one (0/1 knapsack).
        for sum in (weight..=black).rev() {
            let before = sum - weight;
            if !reachable[sum] && reachable[before] {
                reachable[sum] = true;
                parent[sum] = Some((g, before));
            }
        }
    }
    let mut chosen = vec![false; groups.len()];
    let best = (0..=black).rev().find(|&s| reachable[s]).unwrap_or(0);
    let mut sum = best;
    while let Some((g, before)) = parent[sum] {
        chosen[g] = true;
        sum = before;
    }
    chosen
}

/// Same-school pairs on the edges touching seat `a` or seat `b` (each edge counted once).
fn local_pairs(rows: u32, cols: u32, seats: &[u32], school_of: &[u32], a: usize, b: usize) -> u64 {
    let school = |seat: usize| (seats[seat] != EMPTY).then(|| school_of[seats[seat] as usize]);
    let mut count = 0;
    for (i, &seat) in [a, b].iter().enumerate() {
        let Some(mine) = school(seat) else { continue };
        let (row, col) = (seat as u32 / cols, seat as u32 % cols);
        let mut neighbours = [None; 4];
        if row > 0 {
            neighbours[0] = Some(seat - cols as usize);
        }
        if row + 1 < rows {
            neighbours[1] = Some(seat + cols as usize);
        }
        if col > 0 {
            neighbours[2] = Some(seat - 1);
        }
        if col + 1 < cols {
            neighbours[3] = Some(seat + 1);
        }
        for other in neighbours.into_iter().flatten() {
            // The edge a–b is seen from both ends: count it from `a` only.
            if i == 1 && other == a {
                continue;
            }
            if school(other) == Some(mine) {
                count += 1;
            }
        }
    }
    count
}

/// Swap search: while some seat sits next to its own school, try swapping it with every
/// other seat (empty ones included) and keep the first swap that lowers the count. Bounded
/// by a few passes over the room so a large hall stays cheap.
fn improve(rows: u32, cols: u32, seats: &mut [u32], school_of: &[u32]) {
    let capacity = seats.len();
    for _pass in 0..4 {
        let mut improved = false;
        for a in 0..capacity {
            if seats[a] == EMPTY || local_pairs(rows, cols, seats, school_of, a, a) == 0 {
                continue;
            }
            for b in 0..capacity {
                if b == a || seats[b] == seats[a] {
                    continue;
                }
                if seats[b] != EMPTY && school_of[seats[b] as usize] == school_of[seats[a] as usize]
                {
                    continue;
                }
                let before = local_pairs(rows, cols, seats, school_of, a, b);
                seats.swap(a, b);
                let after = local_pairs(rows, cols, seats, school_of, a, b);
                if after < before {
                    improved = true;
                    break;
                }
                seats.swap(a, b);
            }
        }
        if !improved {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seated(seats: &[u32]) -> Vec<u32> {
        let mut list: Vec<u32> = seats.iter().copied().filter(|&c| c != EMPTY).collect();
        list.sort_unstable();
        list
    }

    #[test]
    fn black_seats_are_never_next_to_each_other() {
        let (order, black) = chessboard_order(4, 5);
        for &a in &order[..black] {
            for &b in &order[..black] {
                let (ra, ca) = (a / 5, a % 5);
                let (rb, cb) = (b / 5, b % 5);
                assert!(ra.abs_diff(rb) + ca.abs_diff(cb) != 1);
            }
        }
        assert_eq!(black, 10);
    }

    #[test]
    fn two_equal_schools_fill_a_room_with_no_adjacency() {
        let school_of: Vec<u32> = (0..30).map(|c| c % 2).collect();
        let members: Vec<u32> = (0..30).collect();
        let seats = arrange(5, 6, &members, &school_of);
        assert_eq!(seated(&seats), members);
        assert_eq!(same_school_adjacencies(5, 6, &seats, &school_of), 0);
    }

    #[test]
    fn three_schools_in_a_full_room_are_kept_apart() {
        let school_of: Vec<u32> = (0..30).map(|c| c / 10).collect();
        let members: Vec<u32> = (0..30).collect();
        let seats = arrange(5, 6, &members, &school_of);
        assert_eq!(same_school_adjacencies(5, 6, &seats, &school_of), 0);
    }

    #[test]
    fn three_schools_of_two_fill_a_two_by_three_room_with_no_adjacency() {
        let school_of = vec![0, 0, 1, 1, 2, 2];
        let members: Vec<u32> = (0..6).collect();
        let seats = arrange(2, 3, &members, &school_of);
        assert_eq!(seated(&seats), members);
        assert_eq!(same_school_adjacencies(2, 3, &seats, &school_of), 0);
    }

    #[test]
    fn a_room_of_one_school_has_every_pair_adjacent() {
        let school_of = vec![0; 6];
        let members: Vec<u32> = (0..6).collect();
        let seats = arrange(2, 3, &members, &school_of);
        assert_eq!(same_school_adjacencies(2, 3, &seats, &school_of), 7);
        assert_eq!(occupied_adjacent_pairs(2, 3, &seats), 7);
    }

    #[test]
    fn a_half_full_room_of_one_school_uses_only_black_seats() {
        let school_of = vec![0; 4];
        let members: Vec<u32> = (0..4).collect();
        let seats = arrange(2, 4, &members, &school_of);
        assert_eq!(seated(&seats), members);
        assert_eq!(same_school_adjacencies(2, 4, &seats, &school_of), 0);
    }
}
