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

/// Draws one paper per candidate, in the order given (callers pass a canonical order, e.g.
/// sorted ids: a sitting's papers depend on that order through the exposure counts). The
/// seed of candidate `c` is `secret.paper_seed(c)`. An item reaching the exposure limit
/// is not drawn again; `each` sees every paper as it is drawn. A blueprint that fails
/// [`Plan::feasibility`] (exposure included) is refused before any paper is drawn.
pub fn draw_sitting(
    plan: &Plan<'_>,
    secret: &Seed,
    candidates: &[String],
    mut each: impl FnMut(&str, &Paper),
) -> Result<SittingReport, AssemblyError> {
    plan.ensure_feasible()?;
    let cap = plan.blueprint.max_exposure();
    let papers = candidates.len();
    let limit = ((cap * papers as f64 + 1e-9).floor() as u32).max(1);
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
            .map_err(|error| match error {
                AssemblyError::DrawFailed(message) => {
                    AssemblyError::DrawFailed(format!("candidate `{candidate}`: {message}"))
                }
                other => other,
            })?;
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
