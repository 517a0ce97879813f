//! A blueprint compiled against a pool: every rule's cell of qualifying items, the points and
//! fairness weight of each slot, the fairness target. Built once, then used for every draw.

use crate::AssemblyError;
use std::collections::{BTreeMap, HashMap};

use crate::blueprint::{
    Blueprint, BlueprintDiagnostic, FairnessMeasure, format_points, glob_matches,
};
use crate::pool::{ItemType, Pool};

/// One rule's cell.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    pub(crate) section: u16,
    /// Index of the rule within its section (0-based).
    pub(crate) rule_in_section: u16,
    pub(crate) count: u32,
    /// Points per item in this rule, hundredths.
    pub(crate) points: u32,
    /// Fairness weight per unit of p-value: points for expected score, 1 for mean difficulty.
    pub(crate) weight: f64,
    /// The cell's items to draw from (disjoint from every other cell's when the partition
    /// succeeded), as a range of `Plan::cell_items`.
    pub(crate) start: u32,
    pub(crate) end: u32,
    /// Every item satisfying the rule's filters, as a range of `Plan::qualifying_items`.
    pub(crate) qualifying_start: u32,
    pub(crate) qualifying_end: u32,
}

impl Cell {
    pub(crate) const fn len(&self) -> u32 {
        self.end - self.start
    }
}

/// What the hot path needs of one pool item, packed into 16 bytes so that one access
/// brings all of it into cache.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HotItem {
    pub(crate) p: f64,
    pub(crate) enemy_start: u32,
    pub(crate) enemy_len: u16,
    pub(crate) option_count: u8,
    /// The item's own `shuffle_options` (choice items only).
    pub(crate) shuffle: bool,
}

/// What the hot path needs of one slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotInfo {
    pub(crate) start: u32,
    pub(crate) len: u32,
    pub(crate) weight: f64,
}

/// Where a section's slots are in the slot list.
#[derive(Debug, Clone)]
pub(crate) struct SectionSlots {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) shuffle_items: bool,
    pub(crate) shuffle_options: bool,
}

/// How overlapping rules were made disjoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// No item qualifies for two rules: nothing to do.
    NoOverlap,
    /// Every rule got at least ceil(count / cap) items of its own.
    ForExposureCap,
    /// Every rule got at least `count` items of its own, but not enough for the cap.
    PerPaperOnly,
    /// Not even `count` items per rule: the cells overlap and draws may fail.
    Overlapping,
}

/// A blueprint compiled against a pool.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub(crate) pool: &'a Pool,
    pub(crate) blueprint: &'a Blueprint,
    pub(crate) cells: Vec<Cell>,
    pub(crate) cell_items: Vec<u32>,
    pub(crate) qualifying_items: Vec<u32>,
    /// Whether the cells were made disjoint with the exposure cap's sizes (true), with
    /// per-paper sizes only, or not at all (the rules compete for too few items).
    pub(crate) partition: Partition,
    /// Rule (cell) index of each slot; slots are grouped by section, in rule order.
    pub(crate) slot_cell: Vec<u16>,
    pub(crate) sections: Vec<SectionSlots>,
    pub(crate) slots: Vec<SlotInfo>,
    pub(crate) hot: Vec<HotItem>,
    pub(crate) enemy_list: Vec<u32>,
    /// Target of the fairness sum (sum of weight x p over slots).
    pub(crate) target_sum: f64,
    /// Allowed absolute deviation of the fairness sum.
    pub(crate) tolerance_sum: f64,
    /// Mean of the fairness sum under unconstrained in-cell sampling.
    pub(crate) analytic_mean_sum: f64,
}

impl<'a> Plan<'a> {
    /// Compiles `blueprint` against `pool`. Names the bank lacks (a knowledge point pattern
    /// matching none, a type with no item) and cells whose items differ in points without a
    /// section override are blueprint errors; counts that cannot be met are not checked here
    /// but by [`Plan::feasibility`].
    pub fn new(pool: &'a Pool, blueprint: &'a Blueprint) -> Result<Plan<'a>, AssemblyError> {
        let mut diagnostics = Vec::new();
        let mut cells = Vec::new();
        let mut qualifying_items: Vec<u32> = Vec::new();
        let mut slot_cell = Vec::new();
        let mut sections = Vec::new();
        let measure = blueprint.fairness().measure;
        let mut total_points: u64 = 0;
        for (section_index, section) in blueprint.sections().iter().enumerate() {
            let section_start = slot_cell.len() as u32;
            for (rule_index, rule) in section.rules.iter().enumerate() {
                let context = format!("section `{}`, rule {}", section.id, rule_index + 1);
                let mut problem = |message: String| {
                    diagnostics.push(BlueprintDiagnostic {
                        line: Some(rule.line),
                        column: None,
                        context: context.clone(),
                        message,
                    });
                };
                let kp_mask: Option<Vec<bool>> = rule.knowledge_point.as_ref().map(|pattern| {
                    pool.knowledge_points()
                        .iter()
                        .map(|kp| glob_matches(pattern, kp))
                        .collect()
                });
                if let (Some(mask), Some(pattern)) = (&kp_mask, &rule.knowledge_point) {
                    if pool.knowledge_points().is_empty() {
                        problem(format!(
                            "knowledge point `{pattern}` is named but the bank declares no knowledge points"
                        ));
                    } else if !mask.iter().any(|&hit| hit) {
                        problem(format!(
                            "knowledge point `{pattern}` matches none of the bank's knowledge points"
                        ));
                    }
                }
                if let Some(kind) = rule.item_type {
                    if !pool.items().iter().any(|item| item.item_type() == kind) {
                        problem(format!("the bank has no item of type `{}`", kind.as_str()));
                    }
                }
                let start = qualifying_items.len() as u32;
                for (index, item) in pool.items().iter().enumerate() {
                    let kp_ok = match (&kp_mask, item.knowledge_point()) {
                        (None, _) => true,
                        (Some(mask), Some(kp)) => mask[kp as usize],
                        (Some(_), None) => false,
                    };
                    let qualifies = kp_ok
                        && rule.item_type.is_none_or(|kind| kind == item.item_type())
                        && rule
                            .difficulty
                            .as_ref()
                            .is_none_or(|range| range.contains(item.difficulty()))
                        && rule
                            .item_points
                            .is_none_or(|points| points == item.points());
                    if qualifies {
                        qualifying_items.push(index as u32);
                    }
                }
                let end = qualifying_items.len() as u32;
                let points = match section.points.or(rule.item_points) {
                    Some(points) => points,
                    None => {
                        let mut values: Vec<u32> = qualifying_items[start as usize..end as usize]
                            .iter()
                            .map(|&index| pool.items()[index as usize].points())
                            .collect();
                        values.sort_unstable();
                        values.dedup();
                        if values.len() > 1 {
                            problem(format!(
                                "the qualifying items are worth different points ({}); set `points` on the section or `item_points` on the rule so every paper has the same total",
                                values
                                    .iter()
                                    .map(|&v| format_points(v))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ));
                        }
                        values.first().copied().unwrap_or(0)
                    }
                };
                total_points += u64::from(points) * u64::from(rule.count);
                let weight = match measure {
                    FairnessMeasure::ExpectedScore => f64::from(points) / 100.0,
                    FairnessMeasure::MeanDifficulty => 1.0,
                };
                let cell_index = cells.len();
                if cell_index >= usize::from(u16::MAX) {
                    problem("too many rules (at most 65535)".to_owned());
                }
                cells.push(Cell {
                    section: section_index as u16,
                    rule_in_section: rule_index as u16,
                    count: rule.count,
                    points,
                    weight,
                    start,
                    end,
                    qualifying_start: start,
                    qualifying_end: end,
                });
                for _ in 0..rule.count {
                    slot_cell.push(cell_index as u16);
                }
            }
            sections.push(SectionSlots {
                start: section_start,
                end: slot_cell.len() as u32,
                shuffle_items: section.shuffle_items,
                shuffle_options: section.shuffle_options,
            });
        }
        let all_cells_known = cells.iter().all(|cell| cell.points > 0);
        if diagnostics.is_empty()
            && all_cells_known
            && total_points != u64::from(blueprint.total_points())
        {
            diagnostics.push(BlueprintDiagnostic {
                line: None,
                column: None,
                context: "total_points".to_owned(),
                message: format!(
                    "with this bank's item points the sections add up to {} points, not {}",
                    format_points(total_points as u32),
                    format_points(blueprint.total_points())
                ),
            });
        }
        if !diagnostics.is_empty() {
            return Err(AssemblyError::InvalidBlueprint(diagnostics));
        }

        let (cell_items, partition) =
            partition_cells(&mut cells, &qualifying_items, blueprint.max_exposure());
        let items = pool.items();
        let mut enemy_list = Vec::new();
        let mut hot = Vec::with_capacity(items.len());
        for item in items {
            hot.push(HotItem {
                p: item.difficulty(),
                enemy_start: enemy_list.len() as u32,
                enemy_len: u16::try_from(item.enemies().len()).map_err(|_| {
                    AssemblyError::InvalidPool(format!(
                        "item `{}` has more than 65535 enemies",
                        item.id()
                    ))
                })?,
                option_count: item.options().len() as u8,
                shuffle: item.shuffle_options()
                    && matches!(item.item_type(), ItemType::Single | ItemType::Multiple),
            });
            enemy_list.extend_from_slice(item.enemies());
        }
        let slots = slot_cell
            .iter()
            .map(|&cell| {
                let cell = &cells[usize::from(cell)];
                SlotInfo {
                    start: cell.start,
                    len: cell.len(),
                    weight: cell.weight,
                }
            })
            .collect();
        let p = |index: u32| hot[index as usize].p;

        let analytic_mean_sum: f64 = cells
            .iter()
            .map(|cell| {
                let members = &cell_items[cell.start as usize..cell.end as usize];
                if members.is_empty() {
                    return 0.0;
                }
                let mean = members.iter().map(|&i| p(i)).sum::<f64>() / members.len() as f64;
                f64::from(cell.count) * cell.weight * mean
            })
            .sum();
        let fairness = blueprint.fairness();
        let slot_count = slot_cell.len() as f64;
        let target_sum = match (fairness.target, measure) {
            (Some(target), FairnessMeasure::ExpectedScore) => target,
            (Some(target), FairnessMeasure::MeanDifficulty) => target * slot_count,
            (None, _) => analytic_mean_sum,
        };
        Ok(Plan {
            pool,
            blueprint,
            cells,
            cell_items,
            qualifying_items,
            partition,
            slot_cell,
            sections,
            slots,
            hot,
            enemy_list,
            target_sum,
            tolerance_sum: fairness.tolerance * target_sum,
            analytic_mean_sum,
        })
    }

    /// The pool.
    pub const fn pool(&self) -> &'a Pool {
        self.pool
    }

    /// The blueprint.
    pub const fn blueprint(&self) -> &'a Blueprint {
        self.blueprint
    }

    /// Items per paper.
    pub fn slots(&self) -> usize {
        self.slot_cell.len()
    }

    /// The fairness target in the blueprint's measure (points, or mean p-value).
    pub fn fairness_target(&self) -> f64 {
        self.in_measure(self.target_sum)
    }

    /// The allowed deviation from the target, in the same unit.
    pub fn fairness_tolerance(&self) -> f64 {
        self.in_measure(self.tolerance_sum)
    }

    /// Converts a fairness sum to the blueprint's measure.
    pub(crate) fn in_measure(&self, sum: f64) -> f64 {
        match self.blueprint.fairness().measure {
            FairnessMeasure::ExpectedScore => sum,
            FairnessMeasure::MeanDifficulty => sum / self.slot_cell.len().max(1) as f64,
        }
    }

    /// The items a cell draws from.
    /// The p-value of a pool item.
    #[inline]
    pub(crate) fn p(&self, item: u32) -> f64 {
        self.hot[item as usize].p
    }

    pub(crate) fn cell_members(&self, cell: &Cell) -> &[u32] {
        &self.cell_items[cell.start as usize..cell.end as usize]
    }

    /// Every item satisfying a cell's rule (cells may overlap here).
    pub(crate) fn qualifying_members(&self, cell: &Cell) -> &[u32] {
        &self.qualifying_items[cell.qualifying_start as usize..cell.qualifying_end as usize]
    }

    /// How overlapping rules were made disjoint.
    pub const fn partition(&self) -> Partition {
        self.partition
    }

    #[inline]
    pub(crate) fn enemies(&self, item: u32) -> &[u32] {
        let hot = &self.hot[item as usize];
        let start = hot.enemy_start as usize;
        &self.enemy_list[start..start + usize::from(hot.enemy_len)]
    }

    /// Section id and 1-based rule number of a cell, for messages.
    pub(crate) fn rule_name(&self, cell_index: usize) -> String {
        let cell = &self.cells[cell_index];
        let section = &self.blueprint.sections()[cell.section as usize];
        format!(
            "section `{}`, rule {}",
            section.id,
            cell.rule_in_section + 1
        )
    }

    pub(crate) fn rule_of(&self, cell_index: usize) -> &'a crate::blueprint::Rule {
        let cell = &self.cells[cell_index];
        &self.blueprint.sections()[cell.section as usize].rules[cell.rule_in_section as usize]
    }
}

/// Makes the rules' cells disjoint, so that an item qualifying for several rules is drawn
/// by exactly one of them (which keeps inclusion probabilities equal within a cell and lets
/// the exposure cap be met rule by rule). A max-flow gives every rule ceil(lambda x count)
/// items of its own, with lambda as large as possible (binary search from 1 / cap, so every
/// rule has the same relative room above what the cap needs; failing 1 / cap, lambda = 1);
/// the items left over go, in id order, to the qualifying rule with the fewest items per
/// drawn item (ties: the earlier rule). Deterministic. Returns the new flat item list (each
/// cell's range rewritten) and what was achieved.
fn partition_cells(cells: &mut [Cell], qualifying: &[u32], cap: f64) -> (Vec<u32>, Partition) {
    let mut rules_of: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (r, cell) in cells.iter().enumerate() {
        for &item in &qualifying[cell.qualifying_start as usize..cell.qualifying_end as usize] {
            rules_of.entry(item).or_default().push(r);
        }
    }
    if rules_of.values().all(|rules| rules.len() == 1) {
        return (qualifying.to_vec(), Partition::NoOverlap);
    }
    let items: Vec<u32> = rules_of.keys().copied().collect();
    let position: HashMap<u32, usize> = items
        .iter()
        .enumerate()
        .map(|(i, &item)| (item, i))
        .collect();
    // Solves the flow for a given lambda; returns each item's owner when every rule got its
    // ceil(lambda x count).
    let solve = |lambda: f64| -> Option<HashMap<u32, usize>> {
        let rules = cells.len();
        let mut network = crate::flow::FlowNetwork::new(2 + rules + items.len());
        let mut demand = 0;
        let mut edges = Vec::new();
        for (r, cell) in cells.iter().enumerate() {
            let need = (lambda * f64::from(cell.count) - 1e-9).ceil() as i64;
            demand += need;
            network.add_edge(0, 2 + r, need);
            for &item in &qualifying[cell.qualifying_start as usize..cell.qualifying_end as usize] {
                let edge = network.add_edge(2 + r, 2 + rules + position[&item], 1);
                edges.push((r, item, edge));
            }
        }
        for i in 0..items.len() {
            network.add_edge(2 + rules + i, 1, 1);
        }
        if network.max_flow(0, 1) < demand {
            return None;
        }
        Some(
            edges
                .iter()
                .filter(|&&(_, _, edge)| network.flow(edge) > 0)
                .map(|&(r, item, _)| (item, r))
                .collect(),
        )
    };
    let (mut owner, outcome) = match solve(1.0 / cap) {
        Some(owner) => {
            // Raise lambda while the flow still succeeds.
            let (mut low, mut high) = (1.0 / cap, items.len() as f64 + 1.0);
            let mut best = owner;
            for _ in 0..24 {
                let middle = (low + high) / 2.0;
                match solve(middle) {
                    Some(found) => {
                        best = found;
                        low = middle;
                    }
                    None => high = middle,
                }
                if high - low < 0.01 {
                    break;
                }
            }
            (best, Partition::ForExposureCap)
        }
        None => match solve(1.0) {
            Some(owner) => (owner, Partition::PerPaperOnly),
            None => return (qualifying.to_vec(), Partition::Overlapping),
        },
    };
    let mut sizes = vec![0u32; cells.len()];
    for &r in owner.values() {
        sizes[r] += 1;
    }
    for (&item, candidates) in &rules_of {
        if owner.contains_key(&item) {
            continue;
        }
        let ratio = |rule: usize| f64::from(sizes[rule]) / f64::from(cells[rule].count.max(1));
        let mut best = candidates[0];
        for &r in candidates {
            if ratio(r) < ratio(best) {
                best = r;
            }
        }
        owner.insert(item, best);
        sizes[best] += 1;
    }
    let mut flat = Vec::with_capacity(items.len());
    for (r, cell) in cells.iter_mut().enumerate() {
        cell.start = flat.len() as u32;
        flat.extend(
            qualifying[cell.qualifying_start as usize..cell.qualifying_end as usize]
                .iter()
                .copied()
                .filter(|item| owner[item] == r),
        );
        cell.end = flat.len() as u32;
    }
    (flat, outcome)
}
