//! Drawing a sitting: one paper per candidate, with the exposure cap enforced across all of
//! them, and the statistics an examiner checks.

use crate::draw::{Drawer, Paper};
use crate::plan::Plan;
use crate::{AssemblyError, Seed};

/// min / max / mean / standard deviation of one quantity over the papers of a sitting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub sd: f64,
}

#[derive(Debug, Default)]
struct Accumulator {
    count: u64,
    min: f64,
    max: f64,
    mean: f64,
    m2: f64,
}

impl Accumulator {
    // Welford's update keeps the variance exact enough over 10^5 and more papers.
    fn push(&mut self, value: f64) {
        if self.count == 0 {
            self.min = value;
            self.max = value;
        }
        self.count += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (value - self.mean);
    }

    fn spread(&self) -> Spread {
        Spread {
            min: self.min,
            max: self.max,
            mean: self.mean,
            sd: if self.count > 0 {
                (self.m2 / self.count as f64).sqrt()
            } else {
                0.0
            },
        }
    }
}

/// What a sitting's draw produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SittingReport {
    /// Papers drawn.
    pub papers: usize,
    /// Most papers any one item may appear in: max(1, floor(cap x papers)).
    pub exposure_limit: u32,
    /// Highest exposure rate of any item (papers containing it / papers).
    pub max_exposure: f64,
    /// Distinct items used.
    pub items_used: usize,
    /// Items in the cells that no paper used.
    pub items_unused: usize,
    /// Papers per item, indexed by pool index.
    pub exposure_counts: Vec<u32>,
    /// Histogram of exposure rates of the used items: ten bins of width cap / 10 up to the
    /// cap (the last bin includes the cap).
    pub exposure_histogram: Vec<u32>,
    /// Expected score over papers.
    pub expected_score: Spread,
    /// Mean difficulty over papers.
    pub mean_difficulty: Spread,
    /// Analytic SD of the expected score under unconstrained in-cell sampling.
    pub analytic_expected_score_sd: f64,
    /// Analytic SD of the mean difficulty under unconstrained in-cell sampling.
    pub analytic_mean_difficulty_sd: f64,
    /// Papers that needed fairness swaps.
    pub repaired_papers: usize,
    /// Papers that needed more than one whole attempt.
    pub redrawn_papers: usize,
}

/// The most papers any one item may appear in, in a sitting of `papers` papers under the
/// exposure cap `cap`: max(1, ⌊cap × papers⌋).
pub fn exposure_limit(cap: f64, papers: usize) -> u32 {
    ((cap * papers as f64 + 1e-9).floor() as u32).max(1)
}

fn name_candidate(error: AssemblyError, candidate: &str) -> AssemblyError {
    match error {
        AssemblyError::DrawFailed(message) => {
            AssemblyError::DrawFailed(format!("candidate `{candidate}`: {message}"))
        }
        other => other,
    }
}

/// Draws one paper per candidate, in the order given (callers pass a canonical order, e.g.
/// sorted ids: a sitting's papers depend on that order through the exposure counts). The
/// seed of candidate `c` is `secret.paper_seed(c)`. An item reaching the exposure limit
/// is not drawn again; `each` sees every paper as it is drawn. A blueprint that fails
/// [`Plan::feasibility`] (exposure included) is refused before any paper is drawn.
pub fn draw_sitting(
    plan: &Plan<'_>,
    secret: &Seed,
    candidates: &[String],
    each: impl FnMut(&str, &Paper),
) -> Result<SittingReport, AssemblyError> {
    plan.ensure_feasible()?;
    let limit = exposure_limit(plan.blueprint.max_exposure(), candidates.len());
    draw_with_limit(plan, secret, candidates, limit, each)
}

/// The limits tried, in order, when `first` may be too tight: `first`, then `first` + 1,
/// + 2, + 4, + 8, … and finally `most` (a limit of every paper, no cap at all).
fn relaxed_limits(first: u32, most: u32) -> impl Iterator<Item = u32> {
    let most = most.max(first);
    std::iter::once(first)
        .chain((0..32).map(move |power| first.saturating_add(1u32 << power)))
        .take_while(move |&limit| limit < most)
        .chain(std::iter::once(most))
}

/// [`draw_sitting`] for a sitting that must be drawn even when its exact cap cannot be met:
/// a sitting too small for ⌊cap × papers⌋ to leave the rules enough items (say 5 papers at
/// cap 0.25: one paper per item) would fail. The limit is the first of max(1, ⌊cap ×
/// papers⌋), then that + 1, + 2, + 4, + 8, … (at most the number of papers) under which
/// every paper can be drawn; [`SittingReport::exposure_limit`] says which. The same inputs
/// always give the same limit and papers. `each` sees the papers of that draw only. Other
/// errors (an infeasible blueprint, a paper that fails for fairness alone) are returned at
/// once.
pub fn draw_sitting_relaxed(
    plan: &Plan<'_>,
    secret: &Seed,
    candidates: &[String],
    mut each: impl FnMut(&str, &Paper),
) -> Result<SittingReport, AssemblyError> {
    plan.ensure_feasible()?;
    let papers = candidates.len();
    let first = exposure_limit(plan.blueprint.max_exposure(), papers);
    let most = u32::try_from(papers).unwrap_or(u32::MAX).max(1);
    let mut drawn: Vec<Paper> = Vec::with_capacity(papers);
    let mut failure = None;
    for limit in relaxed_limits(first, most) {
        drawn.clear();
        match draw_with_limit(plan, secret, candidates, limit, |_, paper| {
            drawn.push(paper.clone());
        }) {
            Ok(report) => {
                for (candidate, paper) in candidates.iter().zip(&drawn) {
                    each(candidate, paper);
                }
                return Ok(report);
            }
            Err(error @ AssemblyError::DrawFailed(_)) => failure = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(failure.unwrap_or_else(|| AssemblyError::DrawFailed("no limit was tried".to_owned())))
}

fn draw_with_limit(
    plan: &Plan<'_>,
    secret: &Seed,
    candidates: &[String],
    limit: u32,
    mut each: impl FnMut(&str, &Paper),
) -> Result<SittingReport, AssemblyError> {
    let cap = plan.blueprint.max_exposure();
    let papers = candidates.len();
    let mut drawer = Drawer::with_exposure_limit(plan, limit);
    let mut paper = Paper::default();
    let mut counts = vec![0u32; plan.pool.items().len()];
    let mut score = Accumulator::default();
    let mut difficulty = Accumulator::default();
    let mut repaired = 0;
    let mut redrawn = 0;
    for candidate in candidates {
        let seed = secret.paper_seed(candidate);
        drawer
            .draw_into(plan, &seed, &mut paper)
            .map_err(|error| name_candidate(error, candidate))?;
        for item in paper.items() {
            counts[item.item() as usize] += 1;
            drawer.record_use(item.item());
        }
        score.push(paper.expected_score());
        difficulty.push(paper.mean_difficulty());
        repaired += usize::from(paper.repair_swaps() > 0);
        redrawn += usize::from(paper.attempts() > 1);
        each(candidate, &paper);
    }
    let max_count = counts.iter().copied().max().unwrap_or(0);
    let items_used = counts.iter().filter(|&&count| count > 0).count();
    let mut in_cells: Vec<u32> = plan.cell_items.clone();
    in_cells.sort_unstable();
    in_cells.dedup();
    let items_unused = in_cells
        .iter()
        .filter(|&&item| counts[item as usize] == 0)
        .count();
    let mut histogram = vec![0u32; 10];
    if papers > 0 {
        for &count in counts.iter().filter(|&&count| count > 0) {
            let rate = f64::from(count) / papers as f64;
            let bin = ((rate / cap * 10.0) as usize).min(9);
            histogram[bin] += 1;
        }
    }
    let (score_sd, difficulty_sd) = plan.analytic_spread();
    Ok(SittingReport {
        papers,
        exposure_limit: limit,
        max_exposure: if papers > 0 {
            f64::from(max_count) / papers as f64
        } else {
            0.0
        },
        items_used,
        items_unused,
        exposure_counts: counts,
        exposure_histogram: histogram,
        expected_score: score.spread(),
        mean_difficulty: difficulty.spread(),
        analytic_expected_score_sd: score_sd,
        analytic_mean_difficulty_sd: difficulty_sd,
        repaired_papers: repaired,
        redrawn_papers: redrawn,
    })
}

/// Draws the paper of a candidate who joins a sitting after its papers were drawn (a
/// *latecomer*), keeping the whole sitting under its exposure cap.
///
/// `counts` holds the papers each item (by pool index) is in so far, as
/// [`SittingReport::exposure_counts`] and earlier latecomers left it, `papers_before` how many
/// papers those are, and `limit_before` the limit they were drawn under. The latecomer's
/// paper is drawn like the sitting's next paper, from seed `secret.paper_seed(candidate)`,
/// under the first limit of L, L + 1, L + 2, L + 4, … (at most papers_before + 1) that lets
/// it be drawn, where L = max(`limit_before`, max(1, ⌊cap × (papers_before + 1)⌋)): the cap
/// grows with the sitting. `counts` is updated with the paper's items; the limit used is
/// returned with the paper (the next latecomer's `limit_before`). A pure function of its
/// inputs: an auditor re-derives a sitting with latecomers by running
/// [`draw_sitting_relaxed`] over the first candidate list and then this function over the
/// latecomers in the order they were drawn, starting from that report's counts and limit.
pub fn draw_latecomer(
    plan: &Plan<'_>,
    secret: &Seed,
    counts: &mut [u32],
    papers_before: usize,
    limit_before: u32,
    candidate: &str,
) -> Result<(Paper, u32), AssemblyError> {
    if counts.len() != plan.pool.items().len() {
        return Err(AssemblyError::InvalidPool(format!(
            "exposure counts for {} items, but the bank has {}",
            counts.len(),
            plan.pool.items().len()
        )));
    }
    let papers = papers_before + 1;
    let first = exposure_limit(plan.blueprint.max_exposure(), papers).max(limit_before);
    let most = u32::try_from(papers).unwrap_or(u32::MAX).max(1);
    let seed = secret.paper_seed(candidate);
    let mut paper = Paper::default();
    let mut failure = None;
    for limit in relaxed_limits(first, most) {
        let mut drawer = Drawer::with_exposure_counts(plan, limit, counts);
        match drawer.draw_into(plan, &seed, &mut paper) {
            Ok(()) => {
                for item in paper.items() {
                    counts[item.item() as usize] += 1;
                }
                return Ok((paper, limit));
            }
            Err(error @ AssemblyError::DrawFailed(_)) => failure = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(name_candidate(
        failure.unwrap_or_else(|| AssemblyError::DrawFailed("no limit was tried".to_owned())),
        candidate,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxed_limits_start_at_the_cap_and_end_at_every_paper() {
        assert_eq!(relaxed_limits(1, 5).collect::<Vec<_>>(), vec![1, 2, 3, 5]);
        assert_eq!(relaxed_limits(5, 5).collect::<Vec<_>>(), vec![5]);
        assert_eq!(
            relaxed_limits(10, 100).collect::<Vec<_>>(),
            vec![10, 11, 12, 14, 18, 26, 42, 74, 100]
        );
    }
}
