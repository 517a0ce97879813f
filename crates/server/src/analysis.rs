//! Item analysis after publication: facility, discrimination, distractor counts, flags, a
//! summary of the totals and a score histogram (as SVG). Pure: no I/O, no clock.
//!
//! Two layers:
//!
//! - [`prepare`] turns what storage loads for one sitting ([`StoredAttempt`]: the published
//!   total, the drawn paper, item scores and saved responses) and the sitting's bank version
//!   into plain numbers: every item of the bank ([`ItemSpec`]) and, per attempt, the items it
//!   had with their scores and which bank options the candidate chose ([`AttemptRecord`]).
//!   Responses are stored in the labels the candidate saw (`"B"`, `["A","C"]`); label `A` is
//!   the paper's `options[0]`, so each label is mapped back to the bank's option id, and
//!   distractor counts add up across candidates whose options were shuffled differently.
//! - [`analyse`] computes the statistics from those numbers in one pass over the attempts
//!   (plus a cheap second pass for the reliability estimate).
//!
//! The statistics (docs/ITEM-ANALYSIS.md has the formulas and their reasons):
//!
//! - **Facility** `p`: the mean over the attempts that had the item of score ÷ the item's
//!   points in that paper, in `[0, 1]`. With one point value it is mean score ÷ points.
//! - **Discrimination**: the *corrected* point-biserial, i.e. the Pearson correlation between
//!   the item's score (as a share of its points) and the **rest score**, the attempt's total
//!   minus this item's score. Correlating with the total itself would count the item on both
//!   sides and inflate the figure, most for short papers. Undefined (`null` with a reason)
//!   with fewer than two attempts, or when the item score or the rest score does not vary.
//! - **Distractors**: for single and multiple items, how many attempts chose each bank option
//!   (a multiple-choice answer counts for every option it names), and for every item how many
//!   attempts left it unanswered.
//! - **Flags** ([`Thresholds`]): facility below 0.1 (too hard) or above 0.95 (too easy),
//!   discrimination below 0.1; raised only for items that at least [`MIN_ATTEMPTS`] attempts
//!   had, since items appear in some papers only and a handful of answers says little.
//! - **Summary**: n, mean, standard deviation (population, divided by n), minimum and maximum
//!   of the totals, and Cronbach's alpha estimated over the drawn papers (see [`Summary`]).
//!
//! Every accumulation uses Welford's updates, so the results do not depend on the order of
//! the attempts beyond floating-point rounding, and stay accurate for 20,000 attempts.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;
use xcert_bank::{Answer, Bank, ItemType};

use crate::delivery::paper::{DrawnItem, DrawnPaper, label_position};

/// Items had by fewer attempts than this are not flagged (their figures are still shown).
pub const MIN_ATTEMPTS: u64 = 20;
/// Facility below this flags an item as too hard.
pub const FACILITY_LOW: f64 = 0.1;
/// Facility above this flags an item as too easy.
pub const FACILITY_HIGH: f64 = 0.95;
/// Discrimination below this flags an item as not telling strong from weak candidates.
pub const DISCRIMINATION_LOW: f64 = 0.1;
/// Bins of the score histogram: 10 bins of 10 percentage points of the maximum.
pub const HISTOGRAM_BINS: u32 = 10;

/// When an item is flagged. [`Thresholds::default`] holds the constants of this module.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Items had by fewer attempts are not flagged.
    pub min_attempts: u64,
    /// Facility below this: too hard.
    pub facility_low: f64,
    /// Facility above this: too easy.
    pub facility_high: f64,
    /// Discrimination below this: low discrimination.
    pub discrimination_low: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_attempts: MIN_ATTEMPTS,
            facility_low: FACILITY_LOW,
            facility_high: FACILITY_HIGH,
            discrimination_low: DISCRIMINATION_LOW,
        }
    }
}

/// One item of the bank version, as the analysis reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSpec {
    /// The bank's item id.
    pub id: String,
    /// The item type.
    pub item_type: ItemType,
    /// The knowledge point, when the bank names one.
    pub knowledge_point: Option<String>,
    /// The bank's options in bank order (single and multiple only).
    pub options: Vec<OptionSpec>,
}

/// One option of a single or multiple item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSpec {
    /// The bank's option id.
    pub id: String,
    /// The option text (CommonMark, as in the bank).
    pub text: String,
    /// Whether the key names this option.
    pub key: bool,
}

/// What a candidate gave for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    /// Nothing saved, or cleared (`null`).
    Nothing,
    /// Bank option indexes (into [`ItemSpec::options`]) named by a single or multiple answer.
    Choices(Vec<usize>),
    /// Any other answer: text, numbers, true/false, or option labels that name no option.
    Answer,
}

/// One item of one attempt: its score and what was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Index into the item list passed to [`analyse`].
    pub item: usize,
    /// Score, hundredths (at most `max`).
    pub score: u32,
    /// The item's points in this paper, hundredths (> 0).
    pub max: u32,
    /// What the candidate gave.
    pub given: Given,
}

/// One graded attempt: its published total and the items it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The published total, hundredths.
    pub total: u64,
    /// The paper's maximum, hundredths (> 0).
    pub max: u64,
    /// The items of the paper that have a score.
    pub observations: Vec<Observation>,
}

/// Why a discrimination (or alpha) cannot be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undefined {
    /// Fewer than two attempts: a correlation needs two points.
    TooFewAttempts,
    /// Every attempt that had the item scored the same on it.
    ItemScoreConstant,
    /// Every attempt that had the item had the same rest score.
    RestScoreConstant,
    /// Papers hold fewer than two items on average (alpha only).
    TooFewItems,
    /// Every total is the same (alpha only).
    TotalConstant,
    /// No item's score varies (alpha only).
    NoItemVaries,
}

impl Undefined {
    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Undefined::TooFewAttempts => "too_few_attempts",
            Undefined::ItemScoreConstant => "item_score_constant",
            Undefined::RestScoreConstant => "rest_score_constant",
            Undefined::TooFewItems => "too_few_items",
            Undefined::TotalConstant => "total_constant",
            Undefined::NoItemVaries => "no_item_varies",
        }
    }

    /// The reason in words.
    pub fn reason(self) -> &'static str {
        match self {
            Undefined::TooFewAttempts => "fewer than two attempts: a correlation needs two",
            Undefined::ItemScoreConstant => {
                "every attempt that had the item scored the same on it (its variance is 0)"
            }
            Undefined::RestScoreConstant => {
                "every attempt that had the item has the same rest score (its variance is 0)"
            }
            Undefined::TooFewItems => "papers hold fewer than two scored items",
            Undefined::TotalConstant => "every total is the same (the variance of totals is 0)",
            Undefined::NoItemVaries => "no item's score varies",
        }
    }
}

/// Why an item is flagged for the next bank version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flag {
    /// Facility below [`Thresholds::facility_low`].
    TooHard,
    /// Facility above [`Thresholds::facility_high`].
    TooEasy,
    /// Discrimination below [`Thresholds::discrimination_low`].
    LowDiscrimination,
}

impl Flag {
    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Flag::TooHard => "too_hard",
            Flag::TooEasy => "too_easy",
            Flag::LowDiscrimination => "low_discrimination",
        }
    }
}

/// The figures of one item over the attempts that had it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemStatistics {
    /// Index into the item list passed to [`analyse`].
    pub item: usize,
    /// How many attempts had the item (with a score).
    pub attempts: u64,
    /// Mean score, hundredths.
    pub mean_score: f64,
    /// Mean of the item's points in the papers, hundredths.
    pub mean_max: f64,
    /// Mean share of the points scored, in `[0, 1]`.
    pub facility: f64,
    /// The corrected point-biserial in `[-1, 1]`, or why it is undefined.
    pub discrimination: Result<f64, Undefined>,
    /// How many attempts chose each bank option (index as in [`ItemSpec::options`]).
    pub option_counts: Vec<u64>,
    /// How many attempts left the item unanswered.
    pub no_answer: u64,
    /// The flags raised, in [`Flag`] order; empty when `too_few`.
    pub flags: Vec<Flag>,
    /// Fewer than [`Thresholds::min_attempts`] attempts had the item: no flag is raised.
    pub too_few: bool,
}

/// The totals of the sitting.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Number of graded attempts.
    pub attempts: u64,
    /// Mean total, hundredths (0 without attempts).
    pub mean: f64,
    /// Population standard deviation of the totals, hundredths.
    pub sd: f64,
    /// Lowest total, hundredths (0 without attempts).
    pub min: u64,
    /// Highest total, hundredths (0 without attempts).
    pub max: u64,
    /// The highest paper maximum, hundredths (papers of one blueprint share it).
    pub max_possible: u64,
    /// Mean number of scored items per paper.
    pub items_per_paper: f64,
    /// Cronbach's alpha estimated over the drawn papers: `k/(k-1) * (1 - E/var(T))` with `k`
    /// the mean number of items per paper, `var(T)` the variance of the totals and `E` the
    /// mean over papers of the sum of their items' score variances (each item's variance over
    /// every attempt that had it). With one common paper this is exactly Cronbach's alpha.
    pub alpha: Result<f64, Undefined>,
}

/// One bin of the score histogram: totals from `from_percent` (inclusive) to `to_percent`
/// (exclusive; the last bin includes 100) of the paper's maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bin {
    /// Lower edge, percent of the maximum.
    pub from_percent: u32,
    /// Upper edge, percent of the maximum.
    pub to_percent: u32,
    /// Attempts whose total falls in the bin.
    pub count: u64,
}

/// The score histogram of a sitting.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Bins from 0 % up.
    pub bins: Vec<Bin>,
    /// The pass score as a percent of the maximum, when known.
    pub pass_percent: Option<f64>,
}

/// Everything [`analyse`] finds.
#[derive(Debug, Clone, PartialEq)]
pub struct SittingAnalysis {
    /// The totals.
    pub summary: Summary,
    /// One entry per item that at least one attempt had, in item-list order.
    pub items: Vec<ItemStatistics>,
    /// The score histogram in [`HISTOGRAM_BINS`] bins.
    pub histogram: Histogram,
}

/// Running sums of one item (Welford's updates, order-independent up to rounding).
#[derive(Debug, Clone, Default)]
struct Accumulator {
    n: u64,
    /// Mean and sum of squared deviations of the share scored.
    mean_share: f64,
    m2_share: f64,
    /// Mean and sum of squared deviations of the rest score.
    mean_rest: f64,
    m2_rest: f64,
    /// Sum of co-deviations of share and rest.
    co: f64,
    /// Mean and sum of squared deviations of the raw score (for alpha).
    mean_score: f64,
    m2_score: f64,
    mean_max: f64,
    option_counts: Vec<u64>,
    no_answer: u64,
}

impl Accumulator {
    fn add(&mut self, share: f64, rest: f64, score: f64, max: f64) {
        self.n += 1;
        #[allow(clippy::cast_precision_loss)] // counts stay far below 2^52
        let n = self.n as f64;
        let d_share = share - self.mean_share;
        self.mean_share += d_share / n;
        let d_rest = rest - self.mean_rest;
        self.mean_rest += d_rest / n;
        self.m2_share += d_share * (share - self.mean_share);
        self.m2_rest += d_rest * (rest - self.mean_rest);
        self.co += d_share * (rest - self.mean_rest);
        let d_score = score - self.mean_score;
        self.mean_score += d_score / n;
        self.m2_score += d_score * (score - self.mean_score);
        self.mean_max += (max - self.mean_max) / n;
    }

    fn discrimination(&self) -> Result<f64, Undefined> {
        if self.n < 2 {
            return Err(Undefined::TooFewAttempts);
        }
        if self.m2_share <= 0.0 {
            return Err(Undefined::ItemScoreConstant);
        }
        if self.m2_rest <= 0.0 {
            return Err(Undefined::RestScoreConstant);
        }
        Ok((self.co / (self.m2_share * self.m2_rest).sqrt()).clamp(-1.0, 1.0))
    }

    /// Population variance of the raw score, hundredths squared.
    fn score_variance(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            #[allow(clippy::cast_precision_loss)]
            let n = self.n as f64;
            self.m2_score / n
        }
    }
}

/// Computes the analysis of one sitting. `items` are the bank's items (observations name
/// them by index; an observation naming no item is skipped); `pass_percent` is the pass score
/// as a percent of the maximum, for the histogram.
pub fn analyse(
    items: &[ItemSpec],
    attempts: &[AttemptRecord],
    pass_percent: Option<f64>,
    thresholds: &Thresholds,
) -> SittingAnalysis {
    let mut accumulators: Vec<Accumulator> = items
        .iter()
        .map(|item| Accumulator {
            option_counts: vec![0; item.options.len()],
            ..Accumulator::default()
        })
        .collect();
    for attempt in attempts {
        #[allow(clippy::cast_precision_loss)] // hundredths of a paper fit an f64 exactly
        let total = attempt.total as f64;
        for observation in &attempt.observations {
            let Some(accumulator) = accumulators.get_mut(observation.item) else {
                continue;
            };
            let max = observation.max.max(1);
            let score = observation.score.min(max);
            let (score, max) = (f64::from(score), f64::from(max));
            accumulator.add(score / max, total - score, score, max);
            match &observation.given {
                Given::Nothing => accumulator.no_answer += 1,
                Given::Choices(chosen) => {
                    // A choice is counted once per attempt, however often it is named.
                    let mut seen: Vec<usize> = Vec::with_capacity(chosen.len());
                    for &option in chosen {
                        if !seen.contains(&option)
                            && let Some(count) = accumulator.option_counts.get_mut(option)
                        {
                            *count += 1;
                            seen.push(option);
                        }
                    }
                }
                Given::Answer => {}
            }
        }
    }
    let summary = summarize(attempts, &accumulators);
    let items = accumulators
        .into_iter()
        .enumerate()
        .filter(|(_, accumulator)| accumulator.n > 0)
        .map(|(item, accumulator)| item_statistics(item, accumulator, thresholds))
        .collect();
    SittingAnalysis {
        summary,
        items,
        histogram: histogram(attempts, HISTOGRAM_BINS, pass_percent),
    }
}

fn item_statistics(
    item: usize,
    accumulator: Accumulator,
    thresholds: &Thresholds,
) -> ItemStatistics {
    let facility = accumulator.mean_share.clamp(0.0, 1.0);
    let discrimination = accumulator.discrimination();
    let too_few = accumulator.n < thresholds.min_attempts;
    let mut flags = Vec::new();
    if !too_few {
        if facility < thresholds.facility_low {
            flags.push(Flag::TooHard);
        }
        if facility > thresholds.facility_high {
            flags.push(Flag::TooEasy);
        }
        if discrimination.is_ok_and(|d| d < thresholds.discrimination_low) {
            flags.push(Flag::LowDiscrimination);
        }
    }
    ItemStatistics {
        item,
        attempts: accumulator.n,
        mean_score: accumulator.mean_score,
        mean_max: accumulator.mean_max,
        facility,
        discrimination,
        option_counts: accumulator.option_counts,
        no_answer: accumulator.no_answer,
        flags,
        too_few,
    }
}

fn summarize(attempts: &[AttemptRecord], accumulators: &[Accumulator]) -> Summary {
    // Totals are integers: exact sums make the mean and variance independent of the order.
    let (mut sum, mut sum_of_squares, mut items) = (0_u128, 0_u128, 0_u128);
    let (mut min, mut max, mut max_possible) = (u64::MAX, 0_u64, 0_u64);
    let mut error_sum = 0.0_f64;
    for attempt in attempts {
        let total = u128::from(attempt.total);
        sum += total;
        sum_of_squares += total * total;
        items += attempt.observations.len() as u128;
        min = min.min(attempt.total);
        max = max.max(attempt.total);
        max_possible = max_possible.max(attempt.max);
        error_sum += attempt
            .observations
            .iter()
            .filter_map(|observation| accumulators.get(observation.item))
            .map(Accumulator::score_variance)
            .sum::<f64>();
    }
    let n = attempts.len() as u128;
    if n == 0 {
        min = 0;
    }
    #[allow(clippy::cast_precision_loss)] // sums of hundredths stay far below 2^52 per attempt
    let (mean, variance, items_mean, error_mean) = if n == 0 {
        (0.0, 0.0, 0.0, 0.0)
    } else {
        let spread = n * sum_of_squares - sum * sum;
        (
            sum as f64 / n as f64,
            spread as f64 / (n as f64 * n as f64),
            items as f64 / n as f64,
            error_sum / n as f64,
        )
    };
    let alpha = if n < 2 {
        Err(Undefined::TooFewAttempts)
    } else if items_mean < 2.0 {
        Err(Undefined::TooFewItems)
    } else if variance <= 0.0 {
        Err(Undefined::TotalConstant)
    } else if error_mean <= 0.0 {
        Err(Undefined::NoItemVaries)
    } else {
        Ok(items_mean / (items_mean - 1.0) * (1.0 - error_mean / variance))
    };
    Summary {
        attempts: u64::try_from(n).unwrap_or(u64::MAX),
        mean,
        sd: variance.sqrt(),
        min,
        max,
        max_possible,
        items_per_paper: items_mean,
        alpha,
    }
}

/// The histogram of totals as a percent of each attempt's maximum, in `bins` equal bins
/// (at least one); a total at or above the maximum falls in the last bin.
pub fn histogram(attempts: &[AttemptRecord], bins: u32, pass_percent: Option<f64>) -> Histogram {
    let bins = bins.max(1);
    let mut counts = vec![0_u64; bins as usize];
    for attempt in attempts {
        let max = u128::from(attempt.max.max(1));
        // Integer arithmetic: 70.0 % lands in the 70-80 bin, not in 60-70 by rounding.
        let bin = (u128::from(attempt.total) * u128::from(bins) / max).min(u128::from(bins - 1));
        if let Some(count) = counts.get_mut(usize::try_from(bin).unwrap_or(usize::MAX)) {
            *count += 1;
        }
    }
    let edge = |index: u32| index * 100 / bins;
    Histogram {
        bins: (0..bins)
            .zip(counts)
            .map(|(index, count)| Bin {
                from_percent: edge(index),
                to_percent: edge(index + 1),
                count,
            })
            .collect(),
        pass_percent,
    }
}

// ---------------------------------------------------------------------------------------------
// From stored rows to records.

/// One published attempt as storage loads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttempt {
    /// The attempt id (named in errors).
    pub attempt_id: String,
    /// The published total, hundredths (`results.total_hundredths`).
    pub total_hundredths: i64,
    /// The paper's maximum, hundredths (`results.max_hundredths`).
    pub max_hundredths: i64,
    /// The drawn paper, JSON (`attempts.paper`).
    pub paper: String,
    /// The attempt's item scores.
    pub scores: Vec<StoredItemScore>,
    /// The attempt's saved responses, sorted by item id.
    pub responses: Vec<StoredItemResponse>,
}

/// One row of `item_scores`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItemScore {
    /// The bank's item id.
    pub item_id: String,
    /// Score, hundredths; `None` while the item waits for manual grading.
    pub score_hundredths: Option<i64>,
    /// The item's points in this paper, hundredths.
    pub max_hundredths: i64,
}

/// One row of `responses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItemResponse {
    /// The bank's item id.
    pub item_id: String,
    /// The JSON the candidate saved, in the labels they saw.
    pub response: String,
}

/// The records [`analyse`] takes, made by [`prepare`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// Every item of the bank version, in bank order.
    pub items: Vec<ItemSpec>,
    /// One record per stored attempt.
    pub attempts: Vec<AttemptRecord>,
    /// Item scores left out because they have no score (still waiting for a grader).
    pub unscored: u64,
}

/// Stored data that does not fit the bank version it was drawn from: the rows were written by
/// this server, so this is corruption, not a user error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// `attempts.paper` is not a drawn paper.
    #[error("attempt {attempt}: the stored paper does not parse: {message}")]
    Paper {
        /// The attempt id.
        attempt: String,
        /// The parser's message.
        message: String,
    },
    /// A score names an item the bank version does not have.
    #[error("attempt {attempt}: item {item} is not in the sitting's bank version")]
    UnknownItem {
        /// The attempt id.
        attempt: String,
        /// The item id.
        item: String,
    },
}

/// Turns stored attempts into [`AttemptRecord`]s against `bank` (the sitting's bank version).
/// Scores are clamped to `0 ..= max`; an item score without a score (manual grading still
/// outstanding) is left out and counted in [`Prepared::unscored`].
pub fn prepare(bank: &Bank, attempts: &[StoredAttempt]) -> Result<Prepared, AnalysisError> {
    let items: Vec<ItemSpec> = bank.items().iter().map(item_spec).collect();
    let index: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(position, item)| (item.id.as_str(), position))
        .collect();
    let mut unscored = 0_u64;
    let mut records = Vec::with_capacity(attempts.len());
    for attempt in attempts {
        let paper: DrawnPaper =
            serde_json::from_str(&attempt.paper).map_err(|error| AnalysisError::Paper {
                attempt: attempt.attempt_id.clone(),
                message: error.to_string(),
            })?;
        let shown: HashMap<&str, &DrawnItem> = paper
            .items()
            .map(|(_, item)| (item.id.as_str(), item))
            .collect();
        let mut observations = Vec::with_capacity(attempt.scores.len());
        for stored in &attempt.scores {
            let Some(&item) = index.get(stored.item_id.as_str()) else {
                return Err(AnalysisError::UnknownItem {
                    attempt: attempt.attempt_id.clone(),
                    item: stored.item_id.clone(),
                });
            };
            let Some(score) = stored.score_hundredths else {
                unscored += 1;
                continue;
            };
            let max = clamp_u32(stored.max_hundredths).max(1);
            let score = clamp_u32(score).min(max);
            let response = attempt
                .responses
                .binary_search_by(|response| response.item_id.as_str().cmp(&stored.item_id))
                .ok()
                .map(|position| attempt.responses[position].response.as_str());
            let given = given(
                &items[item],
                shown.get(stored.item_id.as_str()).copied(),
                response,
            );
            observations.push(Observation {
                item,
                score,
                max,
                given,
            });
        }
        records.push(AttemptRecord {
            total: u64::try_from(attempt.total_hundredths).unwrap_or(0),
            max: u64::try_from(attempt.max_hundredths).unwrap_or(0).max(1),
            observations,
        });
    }
    Ok(Prepared {
        items,
        attempts: records,
        unscored,
    })
}

fn clamp_u32(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

fn item_spec(item: &xcert_bank::Item) -> ItemSpec {
    let keyed = |id: &str| match item.answer() {
        Some(Answer::Single(key)) => key == id,
        Some(Answer::Multiple(keys)) => keys.iter().any(|key| key == id),
        _ => false,
    };
    ItemSpec {
        id: item.id().to_owned(),
        item_type: item.item_type(),
        knowledge_point: item.knowledge_point().map(str::to_owned),
        options: item
            .options()
            .iter()
            .map(|option| OptionSpec {
                id: option.id().to_owned(),
                text: option.text().to_owned(),
                key: keyed(option.id()),
            })
            .collect(),
    }
}

/// What a stored response gave, with labels mapped back to bank options through the order
/// the candidate saw.
fn given(item: &ItemSpec, shown: Option<&DrawnItem>, response: Option<&str>) -> Given {
    let Some(response) = response else {
        return Given::Nothing;
    };
    if response.trim() == "null" {
        return Given::Nothing;
    }
    if !item.item_type.has_options() {
        return Given::Answer;
    }
    let Ok(value) = serde_json::from_str::<Value>(response) else {
        return Given::Answer;
    };
    let Some(shown) = shown else {
        return Given::Answer;
    };
    let option = |label: &Value| {
        let position = label.as_str().and_then(label_position)?;
        let id = shown.options.get(position)?;
        item.options.iter().position(|option| &option.id == id)
    };
    let chosen: Vec<usize> = match &value {
        Value::Null => return Given::Nothing,
        Value::String(_) => option(&value).into_iter().collect(),
        Value::Array(labels) => labels.iter().filter_map(option).collect(),
        _ => Vec::new(),
    };
    if chosen.is_empty() {
        Given::Answer
    } else {
        Given::Choices(chosen)
    }
}

// ---------------------------------------------------------------------------------------------
// The histogram as SVG.

const SVG_WIDTH: u32 = 640;
const SVG_HEIGHT: u32 = 360;
const PLOT_LEFT: u32 = 64;
const PLOT_RIGHT: u32 = 616;
const PLOT_TOP: u32 = 48;
const PLOT_BOTTOM: u32 = 300;

/// Renders `histogram` as a standalone SVG document: bars with their counts, the x axis in
/// percent of the maximum, the y axis in attempts, the pass score as a dashed line, `title`
/// on top. No script, no stylesheet, no external reference (presentation attributes only),
/// so it can be shown under a strict Content-Security-Policy; all text is XML-escaped.
pub fn histogram_svg(histogram: &Histogram, title: &str) -> String {
    let attempts: u64 = histogram.bins.iter().map(|bin| bin.count).sum();
    let highest = histogram
        .bins
        .iter()
        .map(|bin| bin.count)
        .max()
        .unwrap_or(0);
    let (step, top) = y_scale(highest);
    let plot_width = f64::from(PLOT_RIGHT - PLOT_LEFT);
    let plot_height = f64::from(PLOT_BOTTOM - PLOT_TOP);
    #[allow(clippy::cast_precision_loss)]
    let y_of = |count: u64| f64::from(PLOT_BOTTOM) - count as f64 / top as f64 * plot_height;
    let x_of = |percent: f64| f64::from(PLOT_LEFT) + percent / 100.0 * plot_width;
    let title = escape(title);
    let pass_words = histogram
        .pass_percent
        .map_or_else(String::new, |pass| format!("; pass score at {pass:.1} %"));
    let mut svg = String::with_capacity(4096);
    let _ = writeln!(
        svg,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{SVG_WIDTH}\" height=\"{SVG_HEIGHT}\" \
         viewBox=\"0 0 {SVG_WIDTH} {SVG_HEIGHT}\" role=\"img\" aria-labelledby=\"title desc\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <title id=\"title\">{title}</title>\n\
         <desc id=\"desc\">Score histogram of {attempts} graded attempts, totals in percent of \
         the maximum{pass_words}.</desc>\n\
         <rect x=\"0\" y=\"0\" width=\"{SVG_WIDTH}\" height=\"{SVG_HEIGHT}\" fill=\"#ffffff\"/>\n\
         <text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\" \
         fill=\"#1a1a1a\">{title}</text>",
        SVG_WIDTH / 2
    );
    // Horizontal grid lines with the y labels.
    let mut tick = 0;
    while tick <= top {
        let y = y_of(tick);
        let _ = writeln!(
            svg,
            "<line x1=\"{PLOT_LEFT}\" y1=\"{y:.1}\" x2=\"{PLOT_RIGHT}\" y2=\"{y:.1}\" \
             stroke=\"#dddddd\" stroke-width=\"1\"/>\n\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#333333\">{tick}</text>",
            PLOT_LEFT - 6,
            y + 4.0
        );
        tick += step;
    }
    // Bars and their counts.
    for bin in &histogram.bins {
        let x0 = x_of(f64::from(bin.from_percent));
        let x1 = x_of(f64::from(bin.to_percent));
        let y = y_of(bin.count);
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#4a78b5\">\
             <title>{}-{} %: {} attempts</title></rect>",
            x0 + 1.0,
            (x1 - x0 - 2.0).max(0.0),
            f64::from(PLOT_BOTTOM) - y,
            bin.from_percent,
            bin.to_percent,
            bin.count
        );
        if bin.count > 0 {
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#1a1a1a\">{}</text>",
                (x0 + x1) / 2.0,
                y - 4.0,
                bin.count
            );
        }
    }
    // Axes, x labels at every bin edge, axis titles.
    let _ = writeln!(
        svg,
        "<line x1=\"{PLOT_LEFT}\" y1=\"{PLOT_BOTTOM}\" x2=\"{PLOT_RIGHT}\" y2=\"{PLOT_BOTTOM}\" \
         stroke=\"#333333\" stroke-width=\"1\"/>\n\
         <line x1=\"{PLOT_LEFT}\" y1=\"{PLOT_TOP}\" x2=\"{PLOT_LEFT}\" y2=\"{PLOT_BOTTOM}\" \
         stroke=\"#333333\" stroke-width=\"1\"/>"
    );
    let mut edges: Vec<u32> = histogram.bins.iter().map(|bin| bin.from_percent).collect();
    edges.extend(histogram.bins.last().map(|bin| bin.to_percent));
    for edge in edges {
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333333\">{edge}</text>",
            x_of(f64::from(edge)),
            PLOT_BOTTOM + 16
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#1a1a1a\">Total score (% of \
         maximum)</text>\n\
         <text x=\"16\" y=\"{}\" text-anchor=\"middle\" fill=\"#1a1a1a\" \
         transform=\"rotate(-90 16 {})\">Attempts</text>",
        (PLOT_LEFT + PLOT_RIGHT) / 2,
        PLOT_BOTTOM + 40,
        (PLOT_TOP + PLOT_BOTTOM) / 2,
        (PLOT_TOP + PLOT_BOTTOM) / 2
    );
    if let Some(pass) = histogram.pass_percent {
        let x = x_of(pass.clamp(0.0, 100.0));
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{PLOT_BOTTOM}\" stroke=\"#c0392b\" \
             stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n\
             <text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#c0392b\">pass \
             {pass:.1} %</text>",
            PLOT_TOP - 6,
            PLOT_TOP - 10
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// A step of 1, 2 or 5 times a power of ten giving at most 5 intervals, and the axis top.
fn y_scale(highest: u64) -> (u64, u64) {
    let highest = highest.max(1);
    let mut magnitude = 1_u64;
    loop {
        for factor in [1, 2, 5] {
            let step = factor * magnitude;
            let top = highest.div_ceil(step) * step;
            if top / step <= 5 {
                return (step, top);
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

/// Escapes text for XML content and attribute values; drops characters XML 1.0 forbids.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn spec(id: &str, options: usize) -> ItemSpec {
        ItemSpec {
            id: id.to_owned(),
            item_type: if options > 0 {
                ItemType::Single
            } else {
                ItemType::TrueFalse
            },
            knowledge_point: None,
            options: (0..options)
                .map(|index| OptionSpec {
                    id: format!("o{index}"),
                    text: String::new(),
                    key: index == 0,
                })
                .collect(),
        }
    }

    fn observation(item: usize, score: u32, max: u32) -> Observation {
        Observation {
            item,
            score,
            max,
            given: Given::Answer,
        }
    }

    /// An attempt with the given (item, score, max) triples and a total equal to their sum
    /// plus `other` (points from items outside the analysis).
    fn attempt(scores: &[(usize, u32, u32)], other: u64, max: u64) -> AttemptRecord {
        let total = scores.iter().map(|&(_, s, _)| u64::from(s)).sum::<u64>() + other;
        AttemptRecord {
            total,
            max,
            observations: scores
                .iter()
                .map(|&(item, score, max)| observation(item, score, max))
                .collect(),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Pearson correlation, written out the textbook way, to check the running sums against.
    fn pearson(x: &[f64], y: &[f64]) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let n = x.len() as f64;
        let mx = x.iter().sum::<f64>() / n;
        let my = y.iter().sum::<f64>() / n;
        let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
        let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
        let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
        sxy / (sxx * syy).sqrt()
    }

    /// Five candidates, three one-point items (100 hundredths each):
    ///
    /// | candidate | item 0 | item 1 | item 2 | total |
    /// |---|---|---|---|---|
    /// | a | 1 | 1 | 1 | 3 |
    /// | b | 1 | 1 | 0 | 2 |
    /// | c | 1 | 0 | 0 | 1 |
    /// | d | 0 | 1 | 0 | 1 |
    /// | e | 0 | 0 | 0 | 0 |
    ///
    /// Item 0: p = 3/5 = 0.6; rest = (2, 1, 0, 1, 0) hundredths x100; item scores (1,1,1,0,0).
    /// Mean item 0.6, mean rest 0.8; co-deviations: 0.4*1.2 + 0.4*0.2 + 0.4*(-0.8) +
    /// (-0.6)*0.2 + (-0.6)*(-0.8) = 0.48 + 0.08 - 0.32 - 0.12 + 0.48 = 0.6; item sum of squares
    /// 3*0.16 + 2*0.36 = 1.2; rest sum of squares 1.44 + 0.04 + 0.64 + 0.04 + 0.64 = 2.8.
    /// r = 0.6 / sqrt(1.2 * 2.8) = 0.6 / sqrt(3.36) = 0.32732683535398854.
    fn five_candidates() -> Vec<AttemptRecord> {
        [[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0]]
            .iter()
            .map(|row| {
                let scores: Vec<(usize, u32, u32)> = row
                    .iter()
                    .enumerate()
                    .map(|(item, &right)| (item, right * 100, 100))
                    .collect();
                attempt(&scores, 0, 300)
            })
            .collect()
    }

    #[test]
    fn facility_and_corrected_point_biserial_match_a_hand_computed_example() {
        let items = [spec("i0", 0), spec("i1", 0), spec("i2", 0)];
        let analysis = analyse(&items, &five_candidates(), None, &Thresholds::default());
        let first = &analysis.items[0];
        assert_eq!(first.attempts, 5);
        assert!(close(first.facility, 0.6));
        assert!(close(first.mean_score, 60.0));
        let r = first.discrimination.expect("defined");
        assert!(close(r, 0.6 / 3.36_f64.sqrt()), "{r}");
        assert!(close(r, 0.327_326_835_353_988_54), "{r}");
        // Item 1: scores (1,1,0,1,0), rest (2,1,1,0,0): mean 0.6 and 0.8; co 0.4*1.2 +
        // 0.4*0.2 - 0.6*0.2 + 0.4*(-0.8) - 0.6*(-0.8) = 0.6; same sums of squares.
        let second = analysis.items[1].discrimination.expect("defined");
        assert!(close(second, 0.327_326_835_353_988_54), "{second}");
        // Item 2: only the best candidate has it: scores (1,0,0,0,0), rest (2,2,1,1,0).
        let third = &analysis.items[2];
        assert!(close(third.facility, 0.2));
        let r = third.discrimination.expect("defined");
        let expected = pearson(
            &[1.0, 0.0, 0.0, 0.0, 0.0],
            &[200.0, 200.0, 100.0, 100.0, 0.0],
        );
        assert!(close(r, expected), "{r} vs {expected}");
        assert!(close(r, 0.8 / (0.8_f64 * 2.8).sqrt()), "{r}");
    }

    #[test]
    fn the_correction_removes_the_item_from_the_total_it_is_correlated_with() {
        // Uncorrected, item 0 correlates with the total (3,2,1,1,0) more strongly.
        let uncorrected = pearson(
            &[1.0, 1.0, 1.0, 0.0, 0.0],
            &[300.0, 200.0, 100.0, 100.0, 0.0],
        );
        let items = [spec("i0", 0), spec("i1", 0), spec("i2", 0)];
        let analysis = analyse(&items, &five_candidates(), None, &Thresholds::default());
        let corrected = analysis.items[0].discrimination.expect("defined");
        assert!(
            uncorrected > corrected + 0.3,
            "{uncorrected} vs {corrected}"
        );
    }

    #[test]
    fn partial_scores_count_as_shares_of_the_points() {
        // One two-point item: 2, 1.5 and 0 points of 2 → shares 1, 0.75, 0.
        let items = [spec("i0", 0)];
        let attempts = [
            attempt(&[(0, 200, 200)], 500, 1000),
            attempt(&[(0, 150, 200)], 300, 1000),
            attempt(&[(0, 0, 200)], 100, 1000),
        ];
        let analysis = analyse(&items, &attempts, None, &Thresholds::default());
        let item = &analysis.items[0];
        assert!(close(item.facility, 1.75 / 3.0));
        assert!(close(item.mean_score, 350.0 / 3.0));
        assert!(close(item.mean_max, 200.0));
        // Rest scores are 500, 300, 100: perfectly ordered with the shares, but not linear.
        let expected = pearson(&[1.0, 0.75, 0.0], &[500.0, 300.0, 100.0]);
        assert!(close(item.discrimination.expect("defined"), expected));
    }

    #[test]
    fn discrimination_is_undefined_with_a_reason_when_a_variance_is_zero() {
        let items = [spec("i0", 0), spec("i1", 0)];
        // Everyone right on item 0.
        let attempts = [
            attempt(&[(0, 100, 100), (1, 100, 100)], 0, 200),
            attempt(&[(0, 100, 100), (1, 0, 100)], 0, 200),
        ];
        let analysis = analyse(&items, &attempts, None, &Thresholds::default());
        assert_eq!(
            analysis.items[0].discrimination,
            Err(Undefined::ItemScoreConstant)
        );
        // Item 1 varies; its rest (item 0) does not.
        assert_eq!(
            analysis.items[1].discrimination,
            Err(Undefined::RestScoreConstant)
        );
        let one = analyse(&items, &attempts[..1], None, &Thresholds::default());
        assert_eq!(one.items[0].discrimination, Err(Undefined::TooFewAttempts));
        for reason in [
            Undefined::TooFewAttempts,
            Undefined::ItemScoreConstant,
            Undefined::RestScoreConstant,
        ] {
            assert!(!reason.reason().is_empty() && !reason.code().is_empty());
        }
    }

    #[test]
    fn items_no_attempt_had_are_left_out_and_the_rest_keep_their_index() {
        let items = [spec("i0", 0), spec("i1", 0), spec("i2", 0)];
        let attempts = [attempt(&[(2, 100, 100)], 0, 100)];
        let analysis = analyse(&items, &attempts, None, &Thresholds::default());
        assert_eq!(analysis.items.len(), 1);
        assert_eq!(analysis.items[0].item, 2);
    }

    /// `n` attempts on one single-choice item with 4 options: `right` of them choose the key.
    fn single_item_sitting(n: u32, right: u32) -> Vec<AttemptRecord> {
        (0..n)
            .map(|index| {
                let correct = index < right;
                AttemptRecord {
                    total: if correct {
                        100 + u64::from(index % 3) * 100
                    } else {
                        u64::from(index % 2) * 100
                    },
                    max: 1000,
                    observations: vec![Observation {
                        item: 0,
                        score: if correct { 100 } else { 0 },
                        max: 100,
                        given: match index % 4 {
                            _ if correct => Given::Choices(vec![0]),
                            0 => Given::Nothing,
                            1 => Given::Choices(vec![1]),
                            _ => Given::Choices(vec![2]),
                        },
                    }],
                }
            })
            .collect()
    }

    #[test]
    fn flags_are_raised_only_from_the_minimum_number_of_attempts() {
        let items = [spec("i0", 4)];
        let thresholds = Thresholds::default();
        // 19 attempts, all right: too easy, but too few to say so.
        let few = analyse(&items, &single_item_sitting(19, 19), None, &thresholds);
        assert!(few.items[0].too_few);
        assert!(few.items[0].flags.is_empty());
        // 20 attempts, all right.
        let easy = analyse(&items, &single_item_sitting(20, 20), None, &thresholds);
        assert!(!easy.items[0].too_few);
        assert_eq!(easy.items[0].flags, vec![Flag::TooEasy]);
        // 20 attempts, one right: facility 0.05.
        let hard = analyse(&items, &single_item_sitting(20, 1), None, &thresholds);
        assert!(hard.items[0].flags.contains(&Flag::TooHard));
        // Thresholds are parameters: with a lower minimum the 19 are flagged.
        let lenient = Thresholds {
            min_attempts: 10,
            ..thresholds
        };
        let flagged = analyse(&items, &single_item_sitting(19, 19), None, &lenient);
        assert_eq!(flagged.items[0].flags, vec![Flag::TooEasy]);
    }

    #[test]
    fn an_item_the_weak_candidates_get_right_is_flagged_for_low_discrimination() {
        let items = [spec("i0", 0)];
        // The item is right exactly for the candidates with the lowest rest scores.
        let attempts: Vec<AttemptRecord> = (0..40_u32)
            .map(|index| {
                let right = index < 20;
                let rest = u64::from(index) * 10;
                attempt(&[(0, if right { 100 } else { 0 }, 100)], rest, 1000)
            })
            .collect();
        let analysis = analyse(&items, &attempts, None, &Thresholds::default());
        let item = &analysis.items[0];
        assert!(item.discrimination.expect("defined") < 0.0);
        assert_eq!(item.flags, vec![Flag::LowDiscrimination]);
    }

    #[test]
    fn choices_are_counted_per_bank_option_and_missing_answers_apart() {
        let items = [spec("i0", 4)];
        let analysis = analyse(
            &items,
            &single_item_sitting(20, 8),
            None,
            &Thresholds::default(),
        );
        let item = &analysis.items[0];
        // Wrong answers: indexes 8..20, by index % 4: 0 → nothing (8, 12, 16), 1 → option 1
        // (9, 13, 17), 2 and 3 → option 2 (10, 11, 14, 15, 18, 19).
        assert_eq!(item.option_counts, vec![8, 3, 6, 0]);
        assert_eq!(item.no_answer, 3);
    }

    #[test]
    fn an_option_named_twice_in_one_answer_counts_once() {
        let items = [spec("i0", 3)];
        let attempts = [AttemptRecord {
            total: 0,
            max: 100,
            observations: vec![Observation {
                item: 0,
                score: 0,
                max: 100,
                given: Given::Choices(vec![1, 1, 2, 7]),
            }],
        }];
        let analysis = analyse(&items, &attempts, None, &Thresholds::default());
        assert_eq!(analysis.items[0].option_counts, vec![0, 1, 1]);
    }

    #[test]
    fn the_summary_has_the_mean_population_sd_and_range_of_the_totals() {
        let items = [spec("i0", 0), spec("i1", 0), spec("i2", 0)];
        let summary = analyse(&items, &five_candidates(), None, &Thresholds::default()).summary;
        // Totals 300, 200, 100, 100, 0: mean 140, variance (160² + 60² + 40² + 40² + 140²)/5
        // = (25600 + 3600 + 1600 + 1600 + 19600)/5 = 10400.
        assert_eq!(summary.attempts, 5);
        assert!(close(summary.mean, 140.0));
        assert!(close(summary.sd, 10_400_f64.sqrt()));
        assert_eq!(
            (summary.min, summary.max, summary.max_possible),
            (0, 300, 300)
        );
        assert!(close(summary.items_per_paper, 3.0));
    }

    #[test]
    fn alpha_of_one_common_paper_is_cronbachs_alpha() {
        let items = [spec("i0", 0), spec("i1", 0), spec("i2", 0)];
        let summary = analyse(&items, &five_candidates(), None, &Thresholds::default()).summary;
        // Item variances (hundredths²): 0.24, 0.24, 0.16 → ×10⁴; total variance 10400.
        // alpha = 3/2 × (1 − 6400/10400) = 1.5 × 0.384615... = 0.576923...
        let alpha = summary.alpha.expect("defined");
        assert!(close(alpha, 1.5 * (1.0 - 6400.0 / 10400.0)), "{alpha}");
    }

    #[test]
    fn alpha_is_undefined_with_a_reason() {
        let items = [spec("i0", 0)];
        let one_item = [
            attempt(&[(0, 100, 100)], 0, 100),
            attempt(&[(0, 0, 100)], 0, 100),
        ];
        let summary = analyse(&items, &one_item, None, &Thresholds::default()).summary;
        assert_eq!(summary.alpha, Err(Undefined::TooFewItems));
        let empty = analyse(&items, &[], None, &Thresholds::default()).summary;
        assert_eq!(empty.alpha, Err(Undefined::TooFewAttempts));
        assert_eq!((empty.attempts, empty.min, empty.max), (0, 0, 0));
    }

    #[test]
    fn histogram_bins_cover_0_to_100_percent_with_the_maximum_in_the_last_bin() {
        let attempts: Vec<AttemptRecord> = [0_u64, 99, 100, 699, 700, 999, 1000]
            .iter()
            .map(|&total| AttemptRecord {
                total,
                max: 1000,
                observations: Vec::new(),
            })
            .collect();
        let histogram = histogram(&attempts, 10, Some(60.0));
        let counts: Vec<u64> = histogram.bins.iter().map(|bin| bin.count).collect();
        assert_eq!(counts, vec![2, 1, 0, 0, 0, 0, 1, 1, 0, 2]);
        assert_eq!(histogram.bins[0].from_percent, 0);
        assert_eq!(histogram.bins[9].to_percent, 100);
        assert_eq!(histogram.pass_percent, Some(60.0));
        // Twenty bins of five points.
        let fine = super::histogram(&attempts, 20, None);
        assert_eq!(fine.bins[1].from_percent, 5);
        assert_eq!(fine.bins.iter().map(|bin| bin.count).sum::<u64>(), 7);
    }

    /// Checks that tags nest, attributes are quoted and `&` starts an entity: a structural
    /// well-formedness check (the API test runs a full XML check on the served document).
    fn tags_balance(svg: &str) -> bool {
        let mut open: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            if rest[..start].contains('>') {
                return false;
            }
            let Some(end) = rest[start..].find('>') else {
                return false;
            };
            let tag = &rest[start + 1..start + end];
            rest = &rest[start + end + 1..];
            if tag.starts_with('?') {
                continue;
            }
            if let Some(name) = tag.strip_prefix('/') {
                if open.pop().as_deref() != Some(name.trim()) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap_or_default();
                open.push(name.to_owned());
            }
            if tag.matches('"').count() % 2 != 0 {
                return false;
            }
        }
        open.is_empty()
            && svg.match_indices('&').all(|(at, _)| {
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|entity| svg[at..].starts_with(entity))
            })
    }

    #[test]
    fn the_histogram_svg_is_self_contained_with_counts_axes_and_the_pass_line() {
        let attempts = five_candidates();
        let svg = histogram_svg(
            &histogram(&attempts, 10, Some(60.0)),
            "Web <Front-End> & \"more\"",
        );
        assert!(tags_balance(&svg), "{svg}");
        assert!(svg.contains("Web &lt;Front-End&gt; &amp; &quot;more&quot;"));
        assert!(svg.contains("pass 60.0 %"));
        assert!(svg.contains("Total score (% of maximum)"));
        assert!(svg.contains(">Attempts</text>"));
        assert!(svg.contains("stroke-dasharray"));
        // 0-10 %: 1, 30-40 %: 2, 60-70 %: 1, 100 %: 1 → the counts are written on the bars.
        assert!(svg.contains("30-40 %: 2 attempts"));
        for forbidden in [
            "<script",
            "<style",
            "href",
            "url(",
            "<image",
            "<foreignObject",
        ] {
            assert!(!svg.contains(forbidden), "{forbidden}");
        }
        let empty = histogram_svg(&histogram(&[], 10, None), "No attempts");
        assert!(tags_balance(&empty), "{empty}");
        assert!(!empty.contains("pass "));
    }

    #[test]
    fn the_y_axis_steps_by_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(y_scale(0), (1, 1));
        assert_eq!(y_scale(3), (1, 3));
        assert_eq!(y_scale(7), (2, 8));
        assert_eq!(y_scale(23), (5, 25));
        assert_eq!(y_scale(2_731), (1_000, 3_000));
        assert_eq!(y_scale(20_000), (5_000, 20_000));
    }

    #[test]
    fn escaping_drops_control_characters_xml_forbids() {
        assert_eq!(escape("a\u{1}b\tc'"), "ab c&apos;");
    }

    // --- prepare -------------------------------------------------------------------------

    const BANK: &str = r#"
[bank]
format = 1
certificate = "ANA"
level = "junior"
version = "1"
title = "Analysis"

[[knowledge_point]]
id = "kp"
title = "KP"

[[item]]
id = "S1"
type = "single"
knowledge_point = "kp"
difficulty = 0.5
points = 1
stem = "Pick"
options = [ { id = "A", text = "right" }, { id = "B", text = "wrong" }, { id = "C", text = "other" } ]
answer = "A"

[[item]]
id = "M1"
type = "multiple"
knowledge_point = "kp"
difficulty = 0.5
points = 2
stem = "Pick two"
options = [ { id = "A", text = "one" }, { id = "B", text = "two" }, { id = "C", text = "three" } ]
answer = ["A", "C"]

[[item]]
id = "T1"
type = "true_false"
knowledge_point = "kp"
difficulty = 0.5
points = 1
stem = "True?"
answer = true
"#;

    fn bank() -> Bank {
        Bank::parse(&xcert_bank::BankSource::single("bank.toml", BANK)).expect("a valid bank")
    }

    fn paper(single: &[&str], multiple: &[&str]) -> String {
        serde_json::json!({"sections": [{"title": "All", "multiple_scoring": "partial", "items": [
            {"id": "S1", "type": "single", "points": 100, "options": single},
            {"id": "M1", "type": "multiple", "points": 200, "options": multiple},
            {"id": "T1", "type": "true_false", "points": 100},
        ]}]})
        .to_string()
    }

    fn stored(
        id: &str,
        paper: String,
        scores: &[(&str, Option<i64>, i64)],
        responses: &[(&str, &str)],
    ) -> StoredAttempt {
        StoredAttempt {
            attempt_id: id.to_owned(),
            total_hundredths: scores.iter().filter_map(|s| s.1).sum(),
            max_hundredths: 400,
            paper,
            scores: scores
                .iter()
                .map(|&(item, score, max)| StoredItemScore {
                    item_id: item.to_owned(),
                    score_hundredths: score,
                    max_hundredths: max,
                })
                .collect(),
            responses: responses
                .iter()
                .map(|&(item, response)| StoredItemResponse {
                    item_id: item.to_owned(),
                    response: response.to_owned(),
                })
                .collect(),
        }
    }

    #[test]
    fn labels_are_mapped_back_to_bank_options_through_the_order_each_candidate_saw() {
        let bank = bank();
        let attempts = [
            // Saw C, A, B: "B" is bank option A (the key); saw B, C, A for M1: ["A","C"] is B, A.
            stored(
                "a1",
                paper(&["C", "A", "B"], &["B", "C", "A"]),
                &[
                    ("M1", Some(0), 200),
                    ("S1", Some(100), 100),
                    ("T1", Some(0), 100),
                ],
                &[("M1", r#"["A","C"]"#), ("S1", r#""B""#), ("T1", "false")],
            ),
            // Saw A, B, C: "B" is bank option B; M1 cleared; T1 never answered.
            stored(
                "a2",
                paper(&["A", "B", "C"], &["A", "B", "C"]),
                &[
                    ("M1", Some(0), 200),
                    ("S1", Some(0), 100),
                    ("T1", Some(0), 100),
                ],
                &[("M1", "null"), ("S1", r#""B""#)],
            ),
        ];
        let prepared = prepare(&bank, &attempts).expect("prepared");
        let spec = |id: &str| {
            prepared
                .items
                .iter()
                .find(|item| item.id == id)
                .expect("in the bank")
        };
        assert_eq!(prepared.items.len(), 3);
        let keys: Vec<bool> = spec("M1").options.iter().map(|o| o.key).collect();
        assert_eq!(keys, [true, false, true]);
        assert_eq!(spec("S1").knowledge_point.as_deref(), Some("kp"));
        let analysis = analyse(
            &prepared.items,
            &prepared.attempts,
            None,
            &Thresholds::default(),
        );
        let by_id = |id: &str| {
            analysis
                .items
                .iter()
                .find(|item| prepared.items[item.item].id == id)
                .expect("analysed")
        };
        assert_eq!(by_id("S1").option_counts, vec![1, 1, 0]);
        assert_eq!(by_id("S1").no_answer, 0);
        assert_eq!(by_id("M1").option_counts, vec![1, 1, 0]);
        assert_eq!(by_id("M1").no_answer, 1);
        assert_eq!(by_id("T1").option_counts, Vec::<u64>::new());
        assert_eq!(by_id("T1").no_answer, 1);
        assert!(close(by_id("S1").facility, 0.5));
    }

    #[test]
    fn unscored_items_are_left_out_and_counted() {
        let bank = bank();
        let attempts = [stored(
            "a1",
            paper(&["A", "B", "C"], &["A", "B", "C"]),
            &[
                ("M1", None, 200),
                ("S1", Some(100), 100),
                ("T1", Some(100), 100),
            ],
            &[],
        )];
        let prepared = prepare(&bank, &attempts).expect("prepared");
        assert_eq!(prepared.unscored, 1);
        assert_eq!(prepared.attempts[0].observations.len(), 2);
    }

    #[test]
    fn stored_data_that_does_not_fit_the_bank_is_an_error_naming_the_attempt() {
        let bank = bank();
        let unknown = [stored(
            "a9",
            paper(&["A", "B", "C"], &["A", "B", "C"]),
            &[("X1", Some(0), 100)],
            &[],
        )];
        assert_eq!(
            prepare(&bank, &unknown),
            Err(AnalysisError::UnknownItem {
                attempt: "a9".to_owned(),
                item: "X1".to_owned()
            })
        );
        let broken = [stored("a8", "{".to_owned(), &[], &[])];
        let error = prepare(&bank, &broken).expect_err("a broken paper");
        assert!(
            error
                .to_string()
                .starts_with("attempt a8: the stored paper does not parse")
        );
    }

    // --- properties ----------------------------------------------------------------------

    /// Random sittings: up to 6 items of up to 4 options, up to 40 attempts each holding a
    /// random subset of the items with random scores and choices.
    fn sitting() -> impl Strategy<Value = (Vec<ItemSpec>, Vec<AttemptRecord>)> {
        (1usize..6).prop_flat_map(|item_count| {
            let attempt = proptest::collection::vec(
                (any::<bool>(), 0u32..=4, 1u32..=4, 0usize..5, 0u64..500),
                item_count,
            )
            .prop_map(|cells| {
                let mut total = 0;
                let mut observations = Vec::new();
                for (item, (present, score, max, choice, extra)) in cells.into_iter().enumerate() {
                    if !present {
                        continue;
                    }
                    let score = score.min(max) * 100;
                    total += u64::from(score) + extra;
                    observations.push(Observation {
                        item,
                        score,
                        max: max * 100,
                        given: if choice == 4 {
                            Given::Nothing
                        } else {
                            Given::Choices(vec![choice])
                        },
                    });
                }
                AttemptRecord {
                    total,
                    max: 5000,
                    observations,
                }
            });
            (
                Just(
                    (0..item_count)
                        .map(|i| spec(&format!("i{i}"), 4))
                        .collect::<Vec<_>>(),
                ),
                proptest::collection::vec(attempt, 0..40),
            )
        })
    }

    /// The first difference between two analyses beyond rounding, if any.
    fn difference(a: &SittingAnalysis, b: &SittingAnalysis) -> Option<String> {
        let near = |x: f64, y: f64| (x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs()));
        let near_result = |x: Result<f64, Undefined>, y: Result<f64, Undefined>| match (x, y) {
            (Ok(x), Ok(y)) => near(x, y),
            (x, y) => x == y,
        };
        if a.items.len() != b.items.len() {
            return Some("item count".to_owned());
        }
        for (x, y) in a.items.iter().zip(&b.items) {
            let same = x.item == y.item
                && x.attempts == y.attempts
                && near(x.facility, y.facility)
                && near(x.mean_score, y.mean_score)
                && near_result(x.discrimination, y.discrimination)
                && x.option_counts == y.option_counts
                && x.no_answer == y.no_answer
                && x.too_few == y.too_few;
            if !same {
                return Some(format!("{x:?} vs {y:?}"));
            }
        }
        let summary = near(a.summary.mean, b.summary.mean)
            && near(a.summary.sd, b.summary.sd)
            && near_result(a.summary.alpha, b.summary.alpha);
        if !summary {
            return Some(format!("{:?} vs {:?}", a.summary, b.summary));
        }
        (a.histogram != b.histogram).then(|| "histogram".to_owned())
    }

    proptest! {
        #[test]
        fn facility_is_a_share_and_discrimination_a_correlation((items, attempts) in sitting()) {
            let analysis = analyse(&items, &attempts, Some(60.0), &Thresholds::default());
            for item in &analysis.items {
                prop_assert!((0.0..=1.0).contains(&item.facility), "{}", item.facility);
                if let Ok(r) = item.discrimination {
                    prop_assert!((-1.0..=1.0).contains(&r), "{r}");
                }
                prop_assert!(item.attempts > 0);
                let answered: u64 = item.option_counts.iter().sum();
                prop_assert_eq!(answered + item.no_answer, item.attempts);
            }
            let binned: u64 = analysis.histogram.bins.iter().map(|bin| bin.count).sum();
            prop_assert_eq!(binned, attempts.len() as u64);
            prop_assert!(analysis.summary.sd >= 0.0);
        }

        #[test]
        fn the_order_of_the_attempts_does_not_matter(
            (items, attempts) in sitting(),
            seed in any::<u64>(),
        ) {
            let mut shuffled = attempts.clone();
            // Fisher-Yates with a small xorshift: the permutation is part of the input.
            let mut state = seed | 1;
            for index in (1..shuffled.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let other = usize::try_from(state % (index as u64 + 1)).unwrap_or(0);
                shuffled.swap(index, other);
            }
            let thresholds = Thresholds::default();
            let a = analyse(&items, &attempts, None, &thresholds);
            let b = analyse(&items, &shuffled, None, &thresholds);
            prop_assert_eq!(difference(&a, &b), None);
        }

        #[test]
        fn discrimination_matches_the_textbook_formula((items, attempts) in sitting()) {
            let analysis = analyse(&items, &attempts, None, &Thresholds::default());
            for item in &analysis.items {
                let (shares, rests): (Vec<f64>, Vec<f64>) = attempts
                    .iter()
                    .filter_map(|attempt| {
                        let observation = attempt.observations.iter().find(|o| o.item == item.item)?;
                        let score = f64::from(observation.score);
                        #[allow(clippy::cast_precision_loss)]
                        let rest = attempt.total as f64 - score;
                        Some((score / f64::from(observation.max), rest))
                    })
                    .unzip();
                if let Ok(r) = item.discrimination {
                    prop_assert!((r - pearson(&shares, &rests)).abs() < 1e-9, "{r}");
                }
            }
        }

        #[test]
        fn alpha_of_one_common_paper_never_exceeds_one(
            rows in proptest::collection::vec(proptest::collection::vec(0u32..=3, 4), 2..30),
        ) {
            let items: Vec<ItemSpec> = (0..4).map(|i| spec(&format!("i{i}"), 0)).collect();
            let attempts: Vec<AttemptRecord> = rows
                .iter()
                .map(|row| {
                    let scores: Vec<(usize, u32, u32)> =
                        row.iter().enumerate().map(|(i, &s)| (i, s * 100, 300)).collect();
                    attempt(&scores, 0, 1200)
                })
                .collect();
            let summary = analyse(&items, &attempts, None, &Thresholds::default()).summary;
            if let Ok(alpha) = summary.alpha {
                prop_assert!(alpha <= 1.0 + 1e-9, "{alpha}");
            }
        }
    }
}
