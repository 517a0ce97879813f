//! The exact solver: a b-matching of proctor units to room seats, searched as a max flow on
//! an implicit graph.
//!
//! Network (never materialised):
//!
//! ```text
//! source ─cap L_p─▶ proctor p ─cap 1─▶ unit (p, g) ──▶ seat class (r, ext)  ─cap m───▶ sink
//!                                                   └─▶ seat class (r, open) ─cap k−m─▶ sink
//! ```
//!
//! `g` is a group of slots a proctor may use once: a connected component of the overlap
//! graph when all its slots share an instant (then "one room per proctor per group" is exactly
//! the overlap rule), and a single slot otherwise (then the overlap rule is enforced by
//! branching, see [`search`]). A unit reaches `(r, open)` when the proctor is eligible for
//! `r`, and also `(r, ext)` when they are external to it, so "exactly k, at least m external"
//! needs no lower bounds: the flow is feasible iff it saturates every seat class.
//!
//! Unit → seat arcs are dense, so augmenting paths are found by a breadth-first search that
//! keeps, per slot and seat class, the list of rooms not yet visited and deletes from it as it
//! visits. A popped unit walks that list and skips only the rooms its proctor conflicts with,
//! so one search costs O(units + rooms + conflicts met), never O(proctors × rooms).

// The solver walks several parallel arrays indexed by the same node number; index loops say
// that more plainly than zipped iterators.
#![allow(clippy::needless_range_loop)]

use std::collections::VecDeque;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use crate::input::{Instance, NONE, SlotBar};
use crate::output::{Assignment, Infeasibility, Load, Outcome, Reason, RoomAssignment};

/// How many branch-and-bound nodes an overlap chain may cost before the solver says it gave
/// up. Reached only by large components of slots whose overlaps are not one common window.
pub const BRANCH_LIMIT: usize = 4096;

/// Expands `--seed N` into the ChaCha20 key: the 8 little-endian bytes of `N` followed by 24
/// zero bytes (stream 0, counter 0). Anyone can rebuild the stream from N alone.
#[must_use]
pub fn rng_from_seed(seed: u64) -> ChaCha20Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    ChaCha20Rng::from_seed(key)
}

/// A uniform integer in `0..n` (n > 0) by rejection, so the draw does not depend on a
/// library's sampling algorithm: take the next u64; reject it if it falls in the top
/// `2^64 mod n` values; else return it mod n.
pub(crate) fn below(rng: &mut ChaCha20Rng, n: usize) -> usize {
    let n = n as u64;
    let reject = (u64::MAX % n + 1) % n;
    loop {
        let x = rng.next_u64();
        if reject == 0 || x < 0u64.wrapping_sub(reject) {
            return (x % n) as usize;
        }
    }
}

/// Fisher–Yates from the last position down, using [`below`].
pub(crate) fn shuffle<T>(rng: &mut ChaCha20Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i + 1);
        items.swap(i, j);
    }
}

/// The slot structure: groups, and which slots need the branching check.
#[derive(Debug)]
pub(crate) struct Groups {
    pub(crate) count: usize,
    pub(crate) of_slot: Vec<u32>,
    pub(crate) slots: Vec<Vec<u32>>,
    /// Per slot: the other slots it overlaps that are in a different group (non-empty only
    /// in components whose slots do not share one instant).
    pub(crate) cross: Vec<Vec<u32>>,
}

impl Groups {
    pub(crate) fn new(instance: &Instance) -> Self {
        let n = instance.slots();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&s| (instance.slot_start[s], s));
        let mut of_slot = vec![NONE; n];
        let mut slots: Vec<Vec<u32>> = Vec::new();
        let mut cross = vec![Vec::new(); n];
        let mut i = 0;
        while i < n {
            // Sweep one connected component of the overlap graph.
            let mut component = vec![order[i]];
            let mut end = instance.slot_end[order[i]];
            let mut j = i + 1;
            while j < n && instance.slot_start[order[j]] < end {
                component.push(order[j]);
                end = end.max(instance.slot_end[order[j]]);
                j += 1;
            }
            let latest_start = component.iter().map(|&s| instance.slot_start[s]).max();
            let earliest_end = component.iter().map(|&s| instance.slot_end[s]).min();
            if latest_start < earliest_end {
                // All slots share an instant (Helly): one group, exact in the flow.
                let g = slots.len() as u32;
                for &s in &component {
                    of_slot[s] = g;
                }
                let mut members: Vec<u32> = component.iter().map(|&s| s as u32).collect();
                members.sort_unstable();
                slots.push(members);
            } else {
                for &s in &component {
                    of_slot[s] = slots.len() as u32;
                    slots.push(vec![s as u32]);
                }
                for &a in &component {
                    for &b in &component {
                        if a != b && instance.overlap(a, b) {
                            cross[a].push(b as u32);
                        }
                    }
                }
            }
            i = j;
        }
        Self {
            count: slots.len(),
            of_slot,
            slots,
            cross,
        }
    }
}

/// Read-only context shared by every branch.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub(crate) instance: &'a Instance,
    pub(crate) groups: Groups,
    pub(crate) rooms_of_slot: Vec<Vec<u32>>,
    /// A seeded random order of the proctors: searches start from it so no index is favoured.
    pub(crate) order: Vec<u32>,
    pub(crate) per_room: u32,
    /// Member slots per seat class: `per_room`, but never more than there are proctors (a
    /// room cannot hold more distinct proctors), so an absurd `proctors_per_room` costs no
    /// memory.
    pub(crate) stride: usize,
    pub(crate) min_external: u32,
    pub(crate) demand: u64,
    /// Whether some slots overlap in a chain (then branching may be needed).
    pub(crate) chains: bool,
}

impl<'a> Context<'a> {
    fn new(instance: &'a Instance, rng: &mut ChaCha20Rng) -> Self {
        let groups = Groups::new(instance);
        let chains = groups.cross.iter().any(|c| !c.is_empty());
        let mut rooms_of_slot = vec![Vec::new(); instance.slots()];
        for (r, &s) in instance.room_slot.iter().enumerate() {
            rooms_of_slot[s as usize].push(r as u32);
        }
        let mut order: Vec<u32> = (0..instance.proctors() as u32).collect();
        shuffle(rng, &mut order);
        Self {
            instance,
            groups,
            rooms_of_slot,
            order,
            per_room: instance.per_room,
            stride: (instance.per_room as usize).min(instance.proctors()).max(1),
            min_external: instance.min_external,
            demand: u64::from(instance.per_room) * instance.rooms() as u64,
            chains,
        }
    }

    /// Seats of a seat class: node `2r` is the external class, `2r + 1` the open class.
    fn class_cap(&self, node: usize) -> u32 {
        if node % 2 == 0 {
            self.min_external
        } else {
            self.per_room - self.min_external
        }
    }

    fn g(&self) -> usize {
        self.groups.count
    }
}

/// Where a search reached a node from.
#[derive(Debug, Clone, Copy)]
enum Via {
    Source,
    /// A proctor node reached back from one of its used units (the reverse of p → unit).
    Unit(u32),
    /// An unused unit reached from its proctor.
    Proctor,
    /// A used unit reached back from the seat class it occupies.
    Class(u32),
}

/// Scratch memory for searches, reused across them.
#[derive(Debug)]
struct Scratch {
    stamp: u32,
    proctor_seen: Vec<u32>,
    proctor_via: Vec<Via>,
    unit_seen: Vec<u32>,
    unit_via: Vec<Via>,
    class_parent: Vec<u32>,
    unvisited: Vec<Vec<u32>>,
    queue: VecDeque<Item>,
}

#[derive(Debug, Clone, Copy)]
enum Item {
    Proctor(u32),
    Unit(u32),
}

impl Scratch {
    fn new(ctx: &Context<'_>) -> Self {
        let p = ctx.instance.proctors();
        let units = p * ctx.g();
        Self {
            stamp: 0,
            proctor_seen: vec![0; p],
            proctor_via: vec![Via::Source; p],
            unit_seen: vec![0; units],
            unit_via: vec![Via::Source; units],
            class_parent: vec![NONE; 2 * ctx.instance.rooms()],
            unvisited: vec![Vec::new(); 2 * ctx.instance.slots()],
            queue: VecDeque::new(),
        }
    }
}

/// One (partial) assignment with its flow bookkeeping. Cloned at each branch.
#[derive(Debug, Clone)]
pub(crate) struct Draw {
    /// Per unit `p * G + g`: the seat class node it occupies, or [`NONE`].
    unit_at: Vec<u32>,
    load: Vec<u32>,
    cap: Vec<u32>,
    /// Per seat class node: how many units occupy it, and which (`per_room` slots each).
    fill: Vec<u32>,
    members: Vec<u32>,
    /// Per proctor × slot, set by branching: the proctor may not sit in that slot.
    banned: Vec<bool>,
    flow: u64,
}

impl Draw {
    fn new(ctx: &Context<'_>) -> Self {
        let inst = ctx.instance;
        let branching = ctx.groups.cross.iter().any(|c| !c.is_empty());
        Self {
            unit_at: vec![NONE; inst.proctors() * ctx.g()],
            load: vec![0; inst.proctors()],
            cap: vec![0; inst.proctors()],
            fill: vec![0; 2 * inst.rooms()],
            members: vec![NONE; 2 * inst.rooms() * ctx.stride],
            banned: if branching {
                vec![false; inst.proctors() * inst.slots()]
            } else {
                Vec::new()
            },
            flow: 0,
        }
    }

    fn set_cap(&mut self, ctx: &Context<'_>, level: u32) {
        for (p, cap) in self.cap.iter_mut().enumerate() {
            *cap = ctx.instance.proctor_max[p].min(level);
        }
    }

    fn is_banned(&self, ctx: &Context<'_>, p: usize, s: usize) -> bool {
        !self.banned.is_empty() && self.banned[p * ctx.instance.slots() + s]
    }

    /// Eligibility of proctor `p` for room `r` before loads: slot, qualification, avoidance.
    fn may_sit(&self, ctx: &Context<'_>, p: usize, r: usize) -> bool {
        let s = ctx.instance.room_slot[r] as usize;
        ctx.instance.bar(p, s).is_none()
            && !self.is_banned(ctx, p, s)
            && !ctx.instance.avoids(p, r as u32)
    }

    fn place(&mut self, ctx: &Context<'_>, unit: usize, node: usize) {
        let k = ctx.stride;
        let at = node * k + self.fill[node] as usize;
        self.members[at] = unit as u32;
        self.fill[node] += 1;
        self.unit_at[unit] = node as u32;
    }

    fn unplace(&mut self, ctx: &Context<'_>, unit: usize) {
        let node = self.unit_at[unit] as usize;
        let k = ctx.stride;
        let base = node * k;
        let len = self.fill[node] as usize;
        if let Some(i) = self.members[base..base + len]
            .iter()
            .position(|&u| u as usize == unit)
        {
            self.members[base + i] = self.members[base + len - 1];
            self.members[base + len - 1] = NONE;
            self.fill[node] -= 1;
        }
        self.unit_at[unit] = NONE;
    }

    /// The seeded greedy start: rooms in random order, each seat taken by a random eligible
    /// proctor with spare capacity, external seats first. Exact overlap rule throughout.
    fn greedy(&mut self, ctx: &Context<'_>, rng: &mut ChaCha20Rng) {
        let inst = ctx.instance;
        let g_count = ctx.g();
        // Each group's pool holds only proctors who may sit in one of its slots, so the
        // random probes are not wasted on teachers who are away or unqualified that day.
        let mut pools: Vec<Vec<u32>> = (0..g_count)
            .map(|g| {
                let mut pool: Vec<u32> = ctx
                    .order
                    .iter()
                    .copied()
                    .filter(|&p| {
                        ctx.groups.slots[g]
                            .iter()
                            .any(|&s| inst.bar(p as usize, s as usize).is_none())
                    })
                    .collect();
                shuffle(rng, &mut pool);
                pool
            })
            .collect();
        let mut rooms: Vec<u32> = (0..inst.rooms() as u32).collect();
        shuffle(rng, &mut rooms);
        for &r in &rooms {
            let r = r as usize;
            let s = inst.room_slot[r] as usize;
            let g = ctx.groups.of_slot[s] as usize;
            for class in 0..2 {
                let node = 2 * r + class;
                while self.fill[node] < ctx.class_cap(node) {
                    let fits = |draw: &Self, p: usize| {
                        draw.may_sit(ctx, p, r)
                            && (class == 1 || inst.external(p, r))
                            && ctx.groups.cross[s].iter().all(|&t| {
                                draw.unit_at[p * g_count + ctx.groups.of_slot[t as usize] as usize]
                                    == NONE
                            })
                    };
                    let Some(p) = self.pick(&mut pools[g], g, g_count, rng, fits) else {
                        break;
                    };
                    self.place(ctx, p * g_count + g, node);
                    self.load[p] += 1;
                    self.flow += 1;
                }
            }
        }
    }

    /// A random proctor of the pool with a free unit in group `g`, spare capacity, and
    /// `fits`. Random probes first; then a scan from a random point so no fit is missed.
    fn pick(
        &self,
        pool: &mut Vec<u32>,
        g: usize,
        g_count: usize,
        rng: &mut ChaCha20Rng,
        fits: impl Fn(&Self, usize) -> bool,
    ) -> Option<usize> {
        let free = |draw: &Self, p: usize| {
            draw.unit_at[p * g_count + g] == NONE && draw.load[p] < draw.cap[p]
        };
        for _ in 0..24 {
            if pool.is_empty() {
                return None;
            }
            let i = below(rng, pool.len());
            let p = pool[i] as usize;
            if !free(self, p) {
                pool.swap_remove(i);
            } else if fits(self, p) {
                return Some(p);
            }
        }
        if pool.is_empty() {
            return None;
        }
        let start = below(rng, pool.len());
        (0..pool.len())
            .map(|off| pool[(start + off) % pool.len()] as usize)
            .find(|&p| free(self, p) && fits(self, p))
    }

    /// Augments until the flow is maximum for the current capacities. `strict` forbids
    /// paths that would put a proctor in two overlapping slots of an overlap chain: it
    /// finds only valid assignments, so it is tried first, but it is not exact on its own.
    fn augment_all(&mut self, ctx: &Context<'_>, scratch: &mut Scratch, strict: bool) {
        while self.flow < ctx.demand && self.augment_once(ctx, scratch, strict) {}
    }

    /// Whether proctor `p` holds no room in a slot overlapping group `g` from another group.
    fn clear_of_overlaps(&self, ctx: &Context<'_>, p: usize, g: usize) -> bool {
        let g_count = ctx.g();
        ctx.groups.slots[g].iter().all(|&s| {
            ctx.groups.cross[s as usize].iter().all(|&t| {
                self.unit_at[p * g_count + ctx.groups.of_slot[t as usize] as usize] == NONE
            })
        })
    }

    /// One breadth-first search for an augmenting path from any proctor with spare capacity
    /// to any seat class with a free seat; augments along it when found.
    fn augment_once(&mut self, ctx: &Context<'_>, scratch: &mut Scratch, strict: bool) -> bool {
        let inst = ctx.instance;
        let g_count = ctx.g();
        scratch.stamp += 1;
        let stamp = scratch.stamp;
        for s in 0..inst.slots() {
            for class in 0..2 {
                let list = &mut scratch.unvisited[2 * s + class];
                list.clear();
                if ctx.class_cap(class) > 0 {
                    list.extend_from_slice(&ctx.rooms_of_slot[s]);
                }
            }
        }
        scratch.queue.clear();
        for &p in &ctx.order {
            let p = p as usize;
            if self.load[p] < self.cap[p] {
                scratch.proctor_seen[p] = stamp;
                scratch.proctor_via[p] = Via::Source;
                scratch.queue.push_back(Item::Proctor(p as u32));
            }
        }
        while let Some(item) = scratch.queue.pop_front() {
            match item {
                Item::Proctor(p) => {
                    let p = p as usize;
                    for unit in p * g_count..(p + 1) * g_count {
                        if self.unit_at[unit] == NONE
                            && scratch.unit_seen[unit] != stamp
                            && (!strict || self.clear_of_overlaps(ctx, p, unit % g_count))
                        {
                            scratch.unit_seen[unit] = stamp;
                            scratch.unit_via[unit] = Via::Proctor;
                            scratch.queue.push_back(Item::Unit(unit as u32));
                        }
                    }
                }
                Item::Unit(unit) => {
                    let unit = unit as usize;
                    let (p, g) = (unit / g_count, unit % g_count);
                    if self.unit_at[unit] != NONE && scratch.proctor_seen[p] != stamp {
                        scratch.proctor_seen[p] = stamp;
                        scratch.proctor_via[p] = Via::Unit(unit as u32);
                        scratch.queue.push_back(Item::Proctor(p as u32));
                    }
                    for &s in &ctx.groups.slots[g] {
                        let s = s as usize;
                        if inst.bar(p, s).is_some() || self.is_banned(ctx, p, s) {
                            continue;
                        }
                        for class in 0..2 {
                            let mut i = 0;
                            while i < scratch.unvisited[2 * s + class].len() {
                                let r = scratch.unvisited[2 * s + class][i] as usize;
                                let node = 2 * r + class;
                                if inst.avoids(p, r as u32)
                                    || (class == 0 && !inst.external(p, r))
                                    || self.unit_at[unit] as usize == node
                                {
                                    i += 1;
                                    continue;
                                }
                                scratch.unvisited[2 * s + class].swap_remove(i);
                                scratch.class_parent[node] = unit as u32;
                                if self.fill[node] < ctx.class_cap(node) {
                                    self.apply_path(ctx, scratch, node);
                                    return true;
                                }
                                let k = ctx.stride;
                                for j in 0..self.fill[node] as usize {
                                    let other = self.members[node * k + j] as usize;
                                    if scratch.unit_seen[other] != stamp {
                                        scratch.unit_seen[other] = stamp;
                                        scratch.unit_via[other] = Via::Class(node as u32);
                                        scratch.queue.push_back(Item::Unit(other as u32));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        false
    }

    /// Shifts one unit of flow along the search tree from seat class `end` back to a source.
    fn apply_path(&mut self, ctx: &Context<'_>, scratch: &Scratch, end: usize) {
        let g_count = ctx.g();
        let mut node = end;
        loop {
            let unit = scratch.class_parent[node] as usize;
            let via = scratch.unit_via[unit];
            if self.unit_at[unit] != NONE {
                self.unplace(ctx, unit);
            }
            self.place(ctx, unit, node);
            match via {
                Via::Class(previous) => node = previous as usize,
                Via::Proctor => {
                    let p = unit / g_count;
                    match scratch.proctor_via[p] {
                        Via::Unit(freed) => {
                            let freed = freed as usize;
                            let previous = self.unit_at[freed] as usize;
                            self.unplace(ctx, freed);
                            node = previous;
                        }
                        _ => {
                            self.load[p] += 1;
                            self.flow += 1;
                            return;
                        }
                    }
                }
                Via::Source | Via::Unit(_) => return,
            }
        }
    }

    /// The first place where a proctor sits in two overlapping slots (possible only across
    /// the single-slot groups of an overlap chain): `(proctor, slot a, slot b)`.
    fn overlap_violation(&self, ctx: &Context<'_>) -> Option<(usize, usize, usize)> {
        let g_count = ctx.g();
        for p in 0..ctx.instance.proctors() {
            for (s, others) in ctx.groups.cross.iter().enumerate() {
                if others.is_empty()
                    || self.unit_at[p * g_count + ctx.groups.of_slot[s] as usize] == NONE
                {
                    continue;
                }
                for &t in others {
                    let t = t as usize;
                    if t > s && self.unit_at[p * g_count + ctx.groups.of_slot[t] as usize] != NONE {
                        return Some((p, s, t));
                    }
                }
            }
        }
        None
    }

    /// Forbids proctor `p` from slot `s`, removing them from the room they had there.
    fn ban(&mut self, ctx: &Context<'_>, p: usize, s: usize) {
        self.banned[p * ctx.instance.slots() + s] = true;
        let unit = p * ctx.g() + ctx.groups.of_slot[s] as usize;
        if self.unit_at[unit] != NONE {
            self.unplace(ctx, unit);
            self.load[p] -= 1;
            self.flow -= 1;
        }
    }
}

/// Result of the branching search at one load cap.
#[derive(Debug)]
enum Search {
    Found(Draw),
    /// No assignment at this cap; carries the leaf with the largest flow (its min cut
    /// explains why).
    Infeasible(Draw),
    GaveUp(Draw),
}

/// Depth-first branching on overlap violations: a proctor in overlapping slots `a` and `b`
/// is, in any valid assignment, absent from `a` or absent from `b`; try both (in seeded
/// order). The flow bound prunes a branch as soon as its relaxation cannot fill every seat.
fn search(
    ctx: &Context<'_>,
    scratch: &mut Scratch,
    mut draw: Draw,
    rng: &mut ChaCha20Rng,
    budget: &mut usize,
) -> Search {
    if ctx.chains {
        let mut strict = draw.clone();
        strict.augment_all(ctx, scratch, true);
        if strict.flow == ctx.demand && strict.overlap_violation(ctx).is_none() {
            return Search::Found(strict);
        }
    }
    draw.augment_all(ctx, scratch, false);
    if draw.flow < ctx.demand {
        return Search::Infeasible(draw);
    }
    let Some((p, a, b)) = draw.overlap_violation(ctx) else {
        return Search::Found(draw);
    };
    let mut best: Option<Draw> = None;
    let mut gave_up = false;
    let sides = if below(rng, 2) == 0 { [a, b] } else { [b, a] };
    for slot in sides {
        if *budget == 0 {
            gave_up = true;
            break;
        }
        *budget -= 1;
        let mut child = draw.clone();
        child.ban(ctx, p, slot);
        match search(ctx, scratch, child, rng, budget) {
            Search::Found(found) => return Search::Found(found),
            Search::Infeasible(leaf) => {
                if best.as_ref().is_none_or(|b| leaf.flow > b.flow) {
                    best = Some(leaf);
                }
            }
            Search::GaveUp(leaf) => {
                gave_up = true;
                if best.as_ref().is_none_or(|b| leaf.flow > b.flow) {
                    best = Some(leaf);
                }
            }
        }
    }
    let leaf = best.unwrap_or(draw);
    if gave_up {
        Search::GaveUp(leaf)
    } else {
        Search::Infeasible(leaf)
    }
}

/// Draws an assignment: exact (one is found whenever one exists), balanced (the largest
/// load is the smallest the rules allow), and reproducible from `seed`.
#[must_use]
pub fn assign(instance: &Instance, seed: u64) -> Outcome {
    let mut rng = rng_from_seed(seed);
    let ctx = Context::new(instance, &mut rng);
    let mut scratch = Scratch::new(&ctx);
    let proctors = instance.proctors() as u64;
    let demand = ctx.demand;
    if demand == 0 {
        return assigned(&ctx, &Draw::new(&ctx), seed);
    }
    // No proctor can usefully take more rooms than there are groups.
    let top = instance
        .proctor_max
        .iter()
        .map(|&m| m.min(ctx.g() as u32))
        .max()
        .unwrap_or(0);
    let lower = if proctors == 0 {
        1
    } else {
        u32::try_from(demand.div_ceil(proctors)).unwrap_or(u32::MAX)
    };
    let mut level = lower.max(1).min(top.max(1));
    let mut root = Draw::new(&ctx);
    root.set_cap(&ctx, level);
    root.greedy(&ctx, &mut rng);
    let mut budget = BRANCH_LIMIT;
    let mut gave_up = false;
    loop {
        if ctx.chains {
            // The greedy start keeps the overlap rule; try to finish without breaking it.
            let mut strict = root.clone();
            strict.augment_all(&ctx, &mut scratch, true);
            if strict.flow == demand && strict.overlap_violation(&ctx).is_none() {
                return assigned(&ctx, &strict, seed);
            }
        }
        root.augment_all(&ctx, &mut scratch, false);
        if root.flow == demand {
            match search(&ctx, &mut scratch, root.clone(), &mut rng, &mut budget) {
                Search::Found(draw) => return assigned(&ctx, &draw, seed),
                Search::GaveUp(leaf) => {
                    gave_up = true;
                    if level >= top {
                        return explain(&ctx, &leaf, true);
                    }
                }
                Search::Infeasible(leaf) => {
                    if level >= top {
                        return explain(&ctx, &leaf, gave_up);
                    }
                }
            }
        } else if level >= top {
            return explain(&ctx, &root, gave_up);
        }
        level += 1;
        root.set_cap(&ctx, level);
    }
}

fn assigned(ctx: &Context<'_>, draw: &Draw, seed: u64) -> Outcome {
    let inst = ctx.instance;
    let g_count = ctx.g();
    let k = ctx.stride;
    let assignments = inst
        .input
        .rooms
        .iter()
        .enumerate()
        .map(|(r, room)| {
            let mut proctors: Vec<usize> = (0..2)
                .flat_map(|class| {
                    let node = 2 * r + class;
                    let len = draw.fill[node] as usize;
                    draw.members[node * k..node * k + len]
                        .iter()
                        .map(|&u| u as usize / g_count)
                })
                .collect();
            proctors.sort_unstable();
            RoomAssignment {
                room: room.id.clone(),
                proctors: proctors
                    .into_iter()
                    .map(|p| inst.input.proctors[p].id.clone())
                    .collect(),
            }
        })
        .collect();
    let load = Load {
        min: draw.load.iter().copied().min().unwrap_or(0),
        max: draw.load.iter().copied().max().unwrap_or(0),
    };
    Outcome::Assigned(Assignment {
        feasible: true,
        seed,
        assignments,
        load,
    })
}

/// Reads the Hall violators off the final residual graph: everything that can reach a seat
/// class left short (a reverse breadth-first search from all of them). No proctor with spare
/// capacity is among them (else the flow was not maximum), and a unit reached serves only
/// rooms reached, so the rooms reached need more proctors than every proctor who could serve
/// them can give. The set is split into independent reasons by slot group, joining groups
/// that share a reached proctor: each part is then a Hall violator on its own.
fn explain(ctx: &Context<'_>, draw: &Draw, gave_up: bool) -> Outcome {
    let inst = ctx.instance;
    let g_count = ctx.g();
    let rooms = inst.rooms();
    let proctors = inst.proctors();
    let mut class_seen = vec![false; 2 * rooms];
    let mut unit_seen = vec![false; proctors * g_count];
    let mut proctor_seen = vec![false; proctors];
    // Per slot: proctors whose unit there is not reached yet (the complement trick again).
    let mut open_proctors: Vec<Vec<u32>> = (0..inst.slots())
        .map(|s| {
            (0..proctors as u32)
                .filter(|&p| {
                    inst.bar(p as usize, s).is_none() && !draw.is_banned(ctx, p as usize, s)
                })
                .collect()
        })
        .collect();
    let mut queue: VecDeque<(bool, u32)> = VecDeque::new();
    for node in 0..2 * rooms {
        if draw.fill[node] < ctx.class_cap(node) {
            class_seen[node] = true;
            queue.push_back((true, node as u32));
        }
    }
    while let Some((is_class, x)) = queue.pop_front() {
        if is_class {
            let node = x as usize;
            let r = node / 2;
            let s = inst.room_slot[r] as usize;
            let g = ctx.groups.of_slot[s] as usize;
            let list = &mut open_proctors[s];
            let mut i = 0;
            while i < list.len() {
                let p = list[i] as usize;
                let unit = p * g_count + g;
                if unit_seen[unit] {
                    list.swap_remove(i);
                    continue;
                }
                if inst.avoids(p, r as u32)
                    || (node % 2 == 0 && !inst.external(p, r))
                    || draw.unit_at[unit] as usize == node
                {
                    i += 1;
                    continue;
                }
                unit_seen[unit] = true;
                list.swap_remove(i);
                queue.push_back((false, unit as u32));
            }
        } else {
            let unit = x as usize;
            let p = unit / g_count;
            let at = draw.unit_at[unit];
            if at != NONE {
                if !class_seen[at as usize] {
                    class_seen[at as usize] = true;
                    queue.push_back((true, at));
                }
            } else if !proctor_seen[p] {
                // Unused unit: its proctor is saturated, so every room they hold can reach
                // it through the reverse arcs unit → proctor.
                proctor_seen[p] = true;
                for other in p * g_count..(p + 1) * g_count {
                    if draw.unit_at[other] != NONE && !unit_seen[other] {
                        unit_seen[other] = true;
                        queue.push_back((false, other as u32));
                    }
                }
            }
        }
    }
    // Split by group, joining the groups of each reached proctor's reached units.
    let mut parent: Vec<usize> = (0..g_count).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for p in (0..proctors).filter(|&p| proctor_seen[p]) {
        let mut first = None;
        for g in 0..g_count {
            if unit_seen[p * g_count + g] {
                let root = find(&mut parent, g);
                match first {
                    None => first = Some(root),
                    Some(f) => parent[root] = find(&mut parent, f),
                }
            }
        }
    }
    let mut parts: Vec<(usize, Vec<usize>)> = Vec::new();
    for r in 0..rooms {
        if class_seen[2 * r] || class_seen[2 * r + 1] {
            let g = ctx.groups.of_slot[inst.room_slot[r] as usize] as usize;
            let root = find(&mut parent, g);
            match parts.iter_mut().find(|(key, _)| *key == root) {
                Some((_, list)) => list.push(r),
                None => parts.push((root, vec![r])),
            }
        }
    }
    let reasons = parts
        .into_iter()
        .map(|(_, room_ids)| {
            let mut needed = 0u64;
            let mut short_ext = 0u64;
            let mut short_open = 0u64;
            for &r in &room_ids {
                for node in [2 * r, 2 * r + 1] {
                    let short = u64::from(ctx.class_cap(node).saturating_sub(draw.fill[node]));
                    needed += short;
                    if node % 2 == 0 {
                        short_ext += short;
                    } else {
                        short_open += short;
                    }
                }
            }
            let (cause, eligible) = diagnose(ctx, draw, &room_ids, short_ext, short_open, gave_up);
            let message = describe(ctx, &room_ids, &eligible, needed, cause);
            Reason {
                rooms: room_ids
                    .iter()
                    .map(|&r| inst.input.rooms[r].id.clone())
                    .collect(),
                needed,
                eligible_proctors: eligible
                    .iter()
                    .map(|&p| inst.input.proctors[p].id.clone())
                    .collect(),
                cause: cause.to_owned(),
                message,
            }
        })
        .collect();
    Outcome::Infeasible(Infeasibility {
        feasible: false,
        reasons,
    })
}

/// Whether dropping the external quota alone would let every seat be filled (at the same
/// load caps and branching bans, in the flow relaxation).
fn quota_to_blame(ctx: &Context<'_>, draw: &Draw) -> bool {
    if ctx.min_external == 0 {
        return false;
    }
    let relaxed = Context {
        instance: ctx.instance,
        groups: Groups::new(ctx.instance),
        rooms_of_slot: ctx.rooms_of_slot.clone(),
        order: ctx.order.clone(),
        per_room: ctx.per_room,
        stride: ctx.stride,
        min_external: 0,
        demand: ctx.demand,
        chains: ctx.chains,
    };
    let mut scratch = Scratch::new(&relaxed);
    let mut open = Draw::new(&relaxed);
    open.cap.clone_from(&draw.cap);
    open.banned.clone_from(&draw.banned);
    // Start from the current flow, every unit moved to its room's open class (which now
    // holds all k seats), so only the missing seats need augmenting paths.
    let k = ctx.stride;
    for node in 0..draw.fill.len() {
        let open_node = node | 1;
        for &unit in &draw.members[node * k..node * k + draw.fill[node] as usize] {
            open.place(&relaxed, unit as usize, open_node);
        }
    }
    open.load.clone_from(&draw.load);
    open.flow = draw.flow;
    open.augment_all(&relaxed, &mut scratch, false);
    open.flow == relaxed.demand
}

/// Which rule kept the most proctors out of these rooms, and every proctor the rules let
/// take at least one of them (loads and overlaps aside). One pass over rooms × proctors.
fn diagnose(
    ctx: &Context<'_>,
    draw: &Draw,
    rooms: &[usize],
    short_ext: u64,
    short_open: u64,
    gave_up: bool,
) -> (&'static str, Vec<usize>) {
    let inst = ctx.instance;
    let g_count = ctx.g();
    let mut eligible = vec![false; inst.proctors()];
    let mut in_part = vec![false; inst.rooms()];
    let mut by_slot: Vec<Vec<u32>> = vec![Vec::new(); inst.slots()];
    for &r in rooms {
        in_part[r] = true;
        by_slot[inst.room_slot[r] as usize].push(r as u32);
    }
    // Counts per (proctor, room) pair: availability, qualification, avoidance, overlap,
    // max_rooms. Counted per proctor and slot, with the sparse conflict lists, so the cost
    // is proctors × slots + conflicts rather than proctors × rooms.
    let mut counts = [0u64; 5];
    for (s, slot_rooms) in by_slot.iter().enumerate() {
        if slot_rooms.is_empty() {
            continue;
        }
        let g = ctx.groups.of_slot[s] as usize;
        let n = slot_rooms.len() as u64;
        for p in 0..inst.proctors() {
            match inst.bar(p, s) {
                Some(SlotBar::Unavailable) => counts[0] += n,
                Some(SlotBar::Unqualified) => counts[1] += n,
                None => {
                    let avoided = inst.conflicts[p]
                        .iter()
                        .filter(|r| slot_rooms.binary_search(r).is_ok())
                        .count() as u64;
                    counts[2] += avoided;
                    let useful = if ctx.per_room > ctx.min_external {
                        avoided < n
                    } else {
                        slot_rooms
                            .iter()
                            .any(|&r| !inst.avoids(p, r) && inst.external(p, r as usize))
                    };
                    eligible[p] |= useful;
                    let unit = p * g_count + g;
                    let at = draw.unit_at[unit];
                    let here = at != NONE
                        && in_part[at as usize / 2]
                        && inst.room_slot[at as usize / 2] as usize == s;
                    let rest = n - avoided - u64::from(here);
                    if draw.is_banned(ctx, p, s) || at != NONE {
                        counts[3] += rest;
                    } else if draw.load[p] >= draw.cap[p] {
                        counts[4] += rest;
                    }
                }
            }
        }
    }
    let eligible = (0..inst.proctors()).filter(|&p| eligible[p]).collect();
    if gave_up {
        return ("search_limit", eligible);
    }
    if short_ext > 0 && short_open == 0 && quota_to_blame(ctx, draw) {
        return ("external_quota", eligible);
    }
    let names = [
        "availability",
        "qualification",
        "avoidance",
        "overlap",
        "max_rooms",
    ];
    let mut best = 3;
    for (i, &count) in counts.iter().enumerate() {
        if count > counts[best] {
            best = i;
        }
    }
    (names[best], eligible)
}

fn describe(
    ctx: &Context<'_>,
    rooms: &[usize],
    eligible: &[usize],
    needed: u64,
    cause: &str,
) -> String {
    let inst = ctx.instance;
    let list = |ids: Vec<&str>| {
        if ids.len() > 8 {
            format!("{} and {} more", ids[..8].join(", "), ids.len() - 8)
        } else {
            ids.join(", ")
        }
    };
    let room_names = list(
        rooms
            .iter()
            .map(|&r| inst.input.rooms[r].id.as_str())
            .collect(),
    );
    let seats = rooms.len() as u64 * u64::from(ctx.per_room);
    let why = match cause {
        "availability" => "most teachers are not available in these slots",
        "qualification" => "most teachers' qualifications expire before these slots",
        "avoidance" => "most teachers must avoid these rooms (own students, classes or school)",
        "external_quota" => {
            "too few external teachers (from a school other than the site) can take them"
        }
        "overlap" => {
            "the teachers who may take them already proctor other rooms at overlapping times"
        }
        "max_rooms" => "the teachers who may take them are at their max_rooms",
        _ => "the search for an overlap chain hit its limit without finding an assignment",
    };
    format!(
        "{} room(s) ({room_names}) need {seats} proctor seat(s) but at most {} can be filled: \
         {} seat(s) missing; {} teacher(s) may take them; dominant reason: {cause}: {why}",
        rooms.len(),
        seats.saturating_sub(needed),
        needed,
        eligible.len(),
    )
}
