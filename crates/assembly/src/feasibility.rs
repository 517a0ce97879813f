//! Feasibility analysis before any draw: per rule counts, a max-flow over rules and items
//! (an item serves one rule; enemy groups serve at most their independence number), the same
//! flow with the exposure cap as fractional capacities, and the reachable fairness range.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::blueprint::FairnessMeasure;
use crate::flow::FlowNetwork;
use crate::plan::Plan;

/// Scale for the fractional (exposure) flow: rates are counted in 1/SCALE of a paper.
const SCALE: i64 = 10_000;
/// Enemy groups up to this size get an exact independence number; larger ones are bounded
/// by their size (still a valid necessary condition, just weaker).
const EXACT_INDEPENDENCE_LIMIT: usize = 40;

/// One rule's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleReport {
    /// Section id.
    pub section: String,
    /// 1-based rule number within the section.
    pub rule: u32,
    /// Line of the rule in the blueprint.
    pub line: u32,
    /// What the rule asks for.
    pub description: String,
    /// Items that satisfy the rule's filters.
    pub qualifying: u32,
    /// Items the rule draws from after overlapping rules were made disjoint.
    pub drawn_from: u32,
    /// Items per paper.
    pub count: u32,
    /// Items the cell needs so that no item exceeds the exposure cap: ceil(count / cap).
    pub needed_for_exposure: u32,
    /// Enemy pairs with both items in this cell.
    pub enemy_pairs: u32,
    /// Points per item, hundredths.
    pub points: u32,
}

/// What kind of requirement fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// One paper cannot be filled.
    PerPaper,
    /// Papers can be filled, but not without some item exceeding the exposure cap.
    Exposure,
    /// No paper can reach the fairness target within its tolerance.
    Fairness,
}

impl ProblemKind {
    /// A short name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProblemKind::PerPaper => "per_paper",
            ProblemKind::Exposure => "exposure",
            ProblemKind::Fairness => "fairness",
        }
    }
}

/// One unmet requirement, naming the rules involved and the shortfall.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The kind.
    pub kind: ProblemKind,
    /// The rules involved, as "section `x`, rule n".
    pub rules: Vec<String>,
    /// Their lines in the blueprint.
    pub lines: Vec<u32>,
    /// What is needed (items per paper, or the fairness target).
    pub needed: f64,
    /// What can be had.
    pub available: f64,
    /// A sentence.
    pub message: String,
}

/// The fairness side of the report, in the blueprint's measure.
#[derive(Debug, Clone, PartialEq)]
pub struct FairnessReport {
    /// `expected_score` or `mean_difficulty`.
    pub measure: FairnessMeasure,
    /// The target.
    pub target: f64,
    /// The allowed absolute deviation.
    pub tolerance: f64,
    /// Lowest value any paper could have (ignoring overlaps and enemies).
    pub min_possible: f64,
    /// Highest value any paper could have (same caveat).
    pub max_possible: f64,
    /// Mean under unconstrained uniform in-cell sampling.
    pub analytic_mean: f64,
    /// Standard deviation under unconstrained uniform in-cell sampling (cells independent,
    /// without replacement within a cell).
    pub analytic_sd: f64,
    /// Share of unconstrained draws expected within tolerance (normal approximation): the
    /// rest are repaired by swaps.
    pub share_within_tolerance: f64,
}

/// The feasibility report.
#[derive(Debug, Clone, PartialEq)]
pub struct FeasibilityReport {
    /// Per rule numbers.
    pub rules: Vec<RuleReport>,
    /// Unmet requirements; empty when feasible.
    pub problems: Vec<Problem>,
    /// Fairness range and spread.
    pub fairness: FairnessReport,
    /// The exposure cap.
    pub max_exposure: f64,
    /// Items per paper.
    pub items_per_paper: u32,
}

impl FeasibilityReport {
    /// Whether every requirement can be met.
    pub fn is_feasible(&self) -> bool {
        self.problems.is_empty()
    }

    /// One line per problem.
    pub fn problems_text(&self) -> String {
        self.problems
            .iter()
            .map(|problem| format!("{}: {}", problem.kind.as_str(), problem.message))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Maximum independent set size in a small graph given as adjacency bitmasks.
fn independence_number(adjacency: &[u64], mask: u64) -> u32 {
    if mask == 0 {
        return 0;
    }
    let vertex = mask.trailing_zeros() as usize;
    let without = mask & !(1u64 << vertex);
    if adjacency[vertex] & mask == 0 {
        return 1 + independence_number(adjacency, without);
    }
    let skip = independence_number(adjacency, without);
    let take = 1 + independence_number(adjacency, without & !adjacency[vertex]);
    skip.max(take)
}

/// Enemy groups among `items`: (members, independence number) for groups of 2 or more.
fn enemy_groups(
    plan: &Plan<'_>,
    items: &[u32],
    position: &HashMap<u32, usize>,
) -> Vec<(Vec<u32>, u32)> {
    let mut group_of = vec![usize::MAX; items.len()];
    let mut groups = Vec::new();
    for start in 0..items.len() {
        if group_of[start] != usize::MAX {
            continue;
        }
        let id = groups.len();
        let mut members = vec![items[start]];
        group_of[start] = id;
        let mut cursor = 0;
        while cursor < members.len() {
            let item = members[cursor];
            cursor += 1;
            for enemy in plan.enemies(item) {
                if let Some(&at) = position.get(enemy) {
                    if group_of[at] == usize::MAX {
                        group_of[at] = id;
                        members.push(*enemy);
                    }
                }
            }
        }
        groups.push(members);
    }
    groups
        .into_iter()
        .filter(|members| members.len() > 1)
        .map(|members| {
            let alpha = if members.len() <= EXACT_INDEPENDENCE_LIMIT {
                let local: HashMap<u32, usize> = members
                    .iter()
                    .enumerate()
                    .map(|(i, &item)| (item, i))
                    .collect();
                let adjacency: Vec<u64> = members
                    .iter()
                    .map(|&item| {
                        plan.enemies(item)
                            .iter()
                            .filter_map(|enemy| local.get(enemy))
                            .fold(0u64, |mask, &i| mask | (1u64 << i))
                    })
                    .collect();
                let all = if members.len() == 64 {
                    u64::MAX
                } else {
                    (1u64 << members.len()) - 1
                };
                independence_number(&adjacency, all)
            } else {
                members.len() as u32
            };
            (members, alpha)
        })
        .collect()
}

struct FlowOutcome {
    delivered: Vec<i64>,
    short_rules: Vec<usize>,
}

/// Runs the rule/item flow. `demand(cell)` is the rule's demand, `item_capacity` the per-item
/// capacity, `group_capacity(alpha)` the capacity of an enemy group.
fn run_flow(
    plan: &Plan<'_>,
    items: &[u32],
    position: &HashMap<u32, usize>,
    groups: &[(Vec<u32>, u32)],
    demand: impl Fn(u32) -> i64,
    item_capacity: i64,
    group_capacity: impl Fn(u32) -> i64,
) -> FlowOutcome {
    let rules = plan.cells.len();
    let (source, sink) = (0, 1);
    let rule_node = |r: usize| 2 + r;
    let item_node = |i: usize| 2 + rules + i;
    let group_node = |g: usize| 2 + rules + items.len() + g;
    let mut network = FlowNetwork::new(2 + rules + items.len() + groups.len());
    let mut source_edges = Vec::with_capacity(rules);
    for (r, cell) in plan.cells.iter().enumerate() {
        source_edges.push(network.add_edge(source, rule_node(r), demand(cell.count)));
        for member in plan.qualifying_members(cell) {
            network.add_edge(rule_node(r), item_node(position[member]), item_capacity);
        }
    }
    let mut in_group = vec![false; items.len()];
    for (g, (members, alpha)) in groups.iter().enumerate() {
        for member in members {
            let at = position[member];
            in_group[at] = true;
            network.add_edge(item_node(at), group_node(g), item_capacity);
        }
        network.add_edge(group_node(g), sink, group_capacity(*alpha));
    }
    for (at, grouped) in in_group.iter().enumerate() {
        if !grouped {
            network.add_edge(item_node(at), sink, item_capacity);
        }
    }
    network.max_flow(source, sink);
    let delivered: Vec<i64> = source_edges
        .iter()
        .map(|&edge| network.flow(edge))
        .collect();
    let side = network.source_side(source);
    let short_rules = (0..rules)
        .filter(|&r| side[rule_node(r)] && plan.cells[r].count > 0)
        .collect();
    FlowOutcome {
        delivered,
        short_rules,
    }
}

/// The standard normal CDF (Abramowitz–Stegun 7.1.26 for erf; absolute error < 1.5e-7).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Standard deviation of the fairness sum under unconstrained uniform in-cell sampling:
/// each rule draws `count` of its `N` items without replacement, so its variance is
/// count x sigma^2 x (N - count) / (N - 1), sigma^2 being the population variance of
/// weight x p over the cell; rules are treated as independent.
pub(crate) fn analytic_sd_sum(plan: &Plan<'_>, weight: impl Fn(usize) -> f64) -> f64 {
    let mut variance = 0.0;
    for (index, cell) in plan.cells.iter().enumerate() {
        let members = plan.cell_members(cell);
        let n = members.len() as f64;
        let k = f64::from(cell.count);
        if members.len() < 2 || k >= n {
            continue;
        }
        let w = weight(index);
        let mean = members.iter().map(|&i| w * plan.p(i)).sum::<f64>() / n;
        let sigma2 = members
            .iter()
            .map(|&i| (w * plan.p(i) - mean).powi(2))
            .sum::<f64>()
            / n;
        variance += k * sigma2 * (n - k) / (n - 1.0);
    }
    variance.sqrt()
}

impl Plan<'_> {
    /// Analyses whether the blueprint can be met, before any draw.
    pub fn feasibility(&self) -> FeasibilityReport {
        let cap = self.blueprint.max_exposure();
        let mut rules = Vec::new();
        let mut problems = Vec::new();
        for (index, cell) in self.cells.iter().enumerate() {
            let members = self.qualifying_members(cell);
            let member_set: std::collections::HashSet<u32> = members.iter().copied().collect();
            let enemy_pairs = members
                .iter()
                .map(|&item| {
                    self.enemies(item)
                        .iter()
                        .filter(|e| **e > item && member_set.contains(e))
                        .count()
                })
                .sum::<usize>() as u32;
            let section = &self.blueprint.sections()[cell.section as usize];
            rules.push(RuleReport {
                section: section.id.clone(),
                rule: u32::from(cell.rule_in_section) + 1,
                line: self.rule_of(index).line,
                description: self.rule_of(index).describe(),
                qualifying: cell.qualifying_end - cell.qualifying_start,
                drawn_from: cell.len(),
                count: cell.count,
                needed_for_exposure: (f64::from(cell.count) / cap - 1e-9).ceil() as u32,
                enemy_pairs,
                points: cell.points,
            });
        }

        let mut items: Vec<u32> = self.qualifying_items.clone();
        items.sort_unstable();
        items.dedup();
        let position: HashMap<u32, usize> = items
            .iter()
            .enumerate()
            .map(|(i, &item)| (item, i))
            .collect();
        let groups = enemy_groups(self, &items, &position);

        let per_paper = run_flow(self, &items, &position, &groups, i64::from, 1, i64::from);
        let mut per_paper_short = false;
        if !per_paper.short_rules.is_empty() {
            let needed: i64 = per_paper
                .short_rules
                .iter()
                .map(|&r| i64::from(self.cells[r].count))
                .sum();
            let available: i64 = per_paper
                .short_rules
                .iter()
                .map(|&r| per_paper.delivered[r])
                .sum();
            if available < needed {
                per_paper_short = true;
                problems.push(self.problem(
                    ProblemKind::PerPaper,
                    &per_paper.short_rules,
                    needed as f64,
                    available as f64,
                    &format!(
                        "need {needed} distinct items per paper but at most {available} can be drawn (short by {}); each item serves one rule and enemies never share a paper",
                        needed - available
                    ),
                ));
            }
        }
        if !per_paper_short {
            let item_capacity = ((cap * SCALE as f64) + 1e-9).floor() as i64;
            let exposure = run_flow(
                self,
                &items,
                &position,
                &groups,
                |count| i64::from(count) * SCALE,
                item_capacity,
                |alpha| i64::from(alpha) * SCALE,
            );
            if !exposure.short_rules.is_empty() {
                let needed: i64 = exposure
                    .short_rules
                    .iter()
                    .map(|&r| i64::from(self.cells[r].count) * SCALE)
                    .sum();
                let available: i64 = exposure
                    .short_rules
                    .iter()
                    .map(|&r| exposure.delivered[r])
                    .sum();
                if available < needed {
                    let needed_items: u32 = exposure
                        .short_rules
                        .iter()
                        .map(|&r| (f64::from(self.cells[r].count) / cap - 1e-9).ceil() as u32)
                        .sum();
                    let qualifying: u32 = {
                        let mut pooled: Vec<u32> = exposure
                            .short_rules
                            .iter()
                            .flat_map(|&r| self.qualifying_members(&self.cells[r]).iter().copied())
                            .collect();
                        pooled.sort_unstable();
                        pooled.dedup();
                        pooled.len() as u32
                    };
                    problems.push(self.problem(
                        ProblemKind::Exposure,
                        &exposure.short_rules,
                        needed as f64 / SCALE as f64,
                        available as f64 / SCALE as f64,
                        &format!(
                            "with exposure ≤ {cap} these rules can fill only {:.2} of their {} items per paper on average; they need at least {needed_items} qualifying items but have {qualifying} (short by {})",
                            available as f64 / SCALE as f64,
                            needed / SCALE,
                            needed_items.saturating_sub(qualifying).max(1)
                        ),
                    ));
                }
            }
        }

        let fairness = self.fairness_report();
        let target = self.target_sum;
        let tolerance = self.tolerance_sum;
        let (min_sum, max_sum) = self.fairness_range();
        if target - tolerance > max_sum + 1e-9 || target + tolerance < min_sum - 1e-9 {
            let all: Vec<usize> = (0..self.cells.len()).collect();
            problems.push(self.problem(
                ProblemKind::Fairness,
                &all,
                fairness.target,
                if target > max_sum { fairness.max_possible } else { fairness.min_possible },
                &format!(
                    "the fairness target {} = {:.4} ± {:.4} is out of reach: papers from these cells range from {:.4} to {:.4}",
                    fairness.measure.as_str(),
                    fairness.target,
                    fairness.tolerance,
                    fairness.min_possible,
                    fairness.max_possible
                ),
            ));
        }
        FeasibilityReport {
            rules,
            problems,
            fairness,
            max_exposure: cap,
            items_per_paper: self.slots() as u32,
        }
    }

    /// The feasibility report, or [`crate::AssemblyError::Infeasible`] carrying it when a
    /// requirement cannot be met.
    pub fn ensure_feasible(&self) -> Result<FeasibilityReport, crate::AssemblyError> {
        let report = self.feasibility();
        if report.is_feasible() {
            Ok(report)
        } else {
            Err(crate::AssemblyError::Infeasible(Box::new(report)))
        }
    }

    fn problem(
        &self,
        kind: ProblemKind,
        cells: &[usize],
        needed: f64,
        available: f64,
        detail: &str,
    ) -> Problem {
        let names: Vec<String> = cells.iter().map(|&r| self.rule_name(r)).collect();
        let lines = cells.iter().map(|&r| self.rule_of(r).line).collect();
        let mut message = String::new();
        if kind != ProblemKind::Fairness {
            let described: Vec<String> = cells
                .iter()
                .map(|&r| {
                    format!(
                        "{} (line {}, {})",
                        self.rule_name(r),
                        self.rule_of(r).line,
                        self.rule_of(r).describe()
                    )
                })
                .collect();
            let _ = write!(message, "{}: ", described.join("; "));
        }
        message.push_str(detail);
        Problem {
            kind,
            rules: names,
            lines,
            needed,
            available,
            message,
        }
    }

    /// Lowest and highest fairness sums any paper could have, rule by rule.
    fn fairness_range(&self) -> (f64, f64) {
        let mut low = 0.0;
        let mut high = 0.0;
        for cell in &self.cells {
            let mut values: Vec<f64> = self.cell_members(cell).iter().map(|&i| self.p(i)).collect();
            values.sort_by(f64::total_cmp);
            let k = (cell.count as usize).min(values.len());
            low += cell.weight * values[..k].iter().sum::<f64>();
            high += cell.weight * values[values.len() - k..].iter().sum::<f64>();
        }
        (low, high)
    }

    /// The fairness range and analytic spread, in the blueprint's measure.
    pub fn fairness_report(&self) -> FairnessReport {
        let (min_sum, max_sum) = self.fairness_range();
        let sd_sum = analytic_sd_sum(self, |r| self.cells[r].weight);
        let share = if sd_sum > 0.0 {
            normal_cdf((self.target_sum + self.tolerance_sum - self.analytic_mean_sum) / sd_sum)
                - normal_cdf(
                    (self.target_sum - self.tolerance_sum - self.analytic_mean_sum) / sd_sum,
                )
        } else if (self.target_sum - self.analytic_mean_sum).abs() <= self.tolerance_sum {
            1.0
        } else {
            0.0
        };
        FairnessReport {
            measure: self.blueprint.fairness().measure,
            target: self.in_measure(self.target_sum),
            tolerance: self.in_measure(self.tolerance_sum),
            min_possible: self.in_measure(min_sum),
            max_possible: self.in_measure(max_sum),
            analytic_mean: self.in_measure(self.analytic_mean_sum),
            analytic_sd: self.in_measure(sd_sum),
            share_within_tolerance: share,
        }
    }

    /// Analytic standard deviations of the expected score and of the mean difficulty under
    /// unconstrained uniform in-cell sampling.
    pub fn analytic_spread(&self) -> (f64, f64) {
        let slots = self.slots().max(1) as f64;
        let score = analytic_sd_sum(self, |r| f64::from(self.cells[r].points) / 100.0);
        let difficulty = analytic_sd_sum(self, |_| 1.0 / slots);
        (score, difficulty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_cdf_is_accurate_enough() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
    }

    #[test]
    fn a_triangle_of_enemies_has_independence_number_one() {
        let adjacency = [0b110, 0b101, 0b011];
        assert_eq!(independence_number(&adjacency, 0b111), 1);
        let path = [0b010, 0b101, 0b010];
        assert_eq!(independence_number(&path, 0b111), 2);
    }
}
