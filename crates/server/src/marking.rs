//! Manual grading (marking) of essay and practical items: grader assignments, blind marking,
//! double marking.
//!
//! Design choices, and why:
//!
//! - **A script is one candidate's answer to one essay/practical item**, keyed by attempt and
//!   item, created from the `needs_manual` row delivery writes into `item_scores` when an
//!   attempt closes. Graders never see that key: each hand-out is a **task** with a random id
//!   of its own, so nothing a grader receives names a candidate, a registration or an attempt,
//!   and two graders of the same script hold different task ids.
//! - **Leases, not locks.** Handing out a script leases it to one grader for [`LEASE_SECS`];
//!   the claim is a conditional `UPDATE` (free, or its lease expired), so two graders asking at
//!   once never get the same script and any replica may hand out work. A grader asking again
//!   while holding a live lease gets the same task back (a reload loses nothing). A mark is
//!   accepted on an expired lease as long as nobody else has taken the script over.
//! - **Blind double marking.** A grader is never handed a script they marked before, and a
//!   task shows no earlier mark. The rule ([`resolve`]) is pure: one mark, or two within the
//!   threshold (their mean), or a third mark when two differ by more than the threshold.
//! - **Scores are hundredths of the paper's points.** A blueprint section may give an item
//!   other points than the bank's; the rubric's criteria are then scaled ([`scale_criteria`]).
//!
//! The pure rules live in this module and are unit-tested here; storage is
//! [`crate::storage::marking`], the HTTP layer `routes/marking.rs`.

use serde_json::Value;

/// How long a hand-out is reserved for its grader, in seconds.
pub const LEASE_SECS: i64 = 20 * 60;

/// Longest comment a grader may attach to a mark, in characters.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// How a sitting's scripts are marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkingPolicy {
    /// Two independent marks per script instead of one.
    pub double_marking: bool,
    /// Hundredths: two marks whose totals differ by more than this need a third mark.
    pub threshold_hundredths: u32,
}

impl MarkingPolicy {
    /// One mark per script (the default of a sitting without settings).
    pub const SINGLE: MarkingPolicy = MarkingPolicy {
        double_marking: false,
        threshold_hundredths: 0,
    };
}

/// Where a script stands after its latest mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Another independent mark is due (the second of a double marking).
    AnotherMark,
    /// The two marks differ by more than the threshold: a third grader is due.
    ThirdMark,
    /// The final score, hundredths.
    Final(u32),
}

/// The mean of two scores in hundredths, a half hundredth rounded up (doubt goes to the
/// candidate, as in the bottom-10% rule).
pub fn mean_rounded_up(a: u32, b: u32) -> u32 {
    let sum = u64::from(a) + u64::from(b);
    u32::try_from(sum.div_ceil(2)).unwrap_or(u32::MAX)
}

/// The outcome of a script's marks (totals in hundredths, in the order they came in):
///
/// - single marking: the one mark is final;
/// - double marking, two marks: |first − second| ≤ threshold gives their mean (a half
///   hundredth rounded up), a larger difference asks for a third mark;
/// - the third mark: the final is the mean of the third and whichever of the first two is
///   closer to it (when both are equally close, the higher one), rounded up the same way.
///
/// With no marks, or fewer than the rule needs, it asks for another.
pub fn resolve(policy: MarkingPolicy, totals: &[u32]) -> Resolution {
    match (policy.double_marking, totals) {
        (_, []) => Resolution::AnotherMark,
        (false, [only, ..]) => Resolution::Final(*only),
        (true, [_]) => Resolution::AnotherMark,
        (true, [first, second]) => {
            if first.abs_diff(*second) <= policy.threshold_hundredths {
                Resolution::Final(mean_rounded_up(*first, *second))
            } else {
                Resolution::ThirdMark
            }
        }
        (true, [first, second, third, ..]) => {
            let closer = match first.abs_diff(*third).cmp(&second.abs_diff(*third)) {
                std::cmp::Ordering::Less => *first,
                std::cmp::Ordering::Greater => *second,
                std::cmp::Ordering::Equal => (*first).max(*second),
            };
            Resolution::Final(mean_rounded_up(closer, *third))
        }
    }
}

/// The maximum of each rubric criterion in this paper, hundredths.
///
/// When the paper gives the item the bank's own points, the criteria keep their points. When
/// a blueprint section overrides the item's points, each criterion is scaled by paper ÷ bank
/// points and rounded to the hundredth by the largest-remainder method: every criterion gets
/// the floor of its exact share, and the hundredths still missing go one each to the criteria
/// with the largest remainders (the earlier criterion first on equal remainders). The maxima
/// therefore always add up to exactly the paper's points.
pub fn scale_criteria(criteria: &[u32], bank_points: u32, paper_points: u32) -> Vec<u32> {
    if bank_points == paper_points || bank_points == 0 {
        return criteria.to_vec();
    }
    let (bank, paper) = (u64::from(bank_points), u64::from(paper_points));
    let mut scaled: Vec<u64> = Vec::with_capacity(criteria.len());
    let mut remainders: Vec<(u64, usize)> = Vec::with_capacity(criteria.len());
    for (index, &points) in criteria.iter().enumerate() {
        let exact = u64::from(points) * paper;
        scaled.push(exact / bank);
        remainders.push((exact % bank, index));
    }
    let given: u64 = scaled.iter().sum();
    let criteria_total: u64 = criteria.iter().map(|&p| u64::from(p)).sum();
    // The rubric sums to the bank's points (the bank refuses anything else); if it did not,
    // distribute only what the criteria's own share allows.
    let target = criteria_total * paper / bank;
    let missing = usize::try_from(target.saturating_sub(given)).unwrap_or(0);
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, index) in remainders.iter().take(missing) {
        scaled[index] += 1;
    }
    scaled
        .into_iter()
        .map(|points| u32::try_from(points).unwrap_or(u32::MAX))
        .collect()
}

/// A decimal number of points (`2.5`) as hundredths, refusing anything negative, not a
/// number, or finer than a hundredth. `Err` says what is wrong with the value.
pub fn points_to_hundredths(value: &Value) -> Result<u32, String> {
    let Some(number) = value.as_f64() else {
        return Err(format!("{value} is not a number of points"));
    };
    if !number.is_finite() || number < 0.0 {
        return Err(format!("{value} is negative"));
    }
    let hundredths = number * 100.0;
    let rounded = hundredths.round();
    if (hundredths - rounded).abs() > 1e-6 {
        return Err(format!(
            "{value} is finer than a hundredth of a point; give at most two decimals"
        ));
    }
    if rounded > f64::from(u32::MAX) {
        return Err(format!("{value} is too large"));
    }
    // In range and whole: the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(rounded as u32)
}

/// Hundredths as a decimal text (`250` → `2.5`), for messages.
pub fn hundredths_text(hundredths: u32) -> String {
    xcert_assembly::format_points(hundredths)
}

/// One criterion as the grader sees it, for validation messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriterionLimit {
    /// The criterion's text (Markdown, as in the bank).
    pub text: String,
    /// Its maximum in this paper, hundredths.
    pub max_hundredths: u32,
}

/// Checks a grader's scores against the criteria: one score per criterion, in rubric order,
/// each a number of points between 0 and the criterion's maximum with at most two decimals.
/// Returns the scores in hundredths, or every problem found (each naming the criterion by its
/// 1-based number and its text).
pub fn check_scores(
    scores: &[Value],
    criteria: &[CriterionLimit],
) -> Result<Vec<u32>, Vec<String>> {
    if scores.len() != criteria.len() {
        return Err(vec![format!(
            "give one score per rubric criterion, in rubric order: this item has {} criteria, the request has {} scores",
            criteria.len(),
            scores.len()
        )]);
    }
    let mut problems = Vec::new();
    let mut checked = Vec::with_capacity(scores.len());
    for (number, (score, criterion)) in scores.iter().zip(criteria).enumerate() {
        let number = number + 1;
        let summary = short(&criterion.text);
        match points_to_hundredths(score) {
            Ok(hundredths) if hundredths <= criterion.max_hundredths => checked.push(hundredths),
            Ok(_) => problems.push(format!(
                "criterion {number} ({summary}): {score} is more than its maximum of {} points",
                hundredths_text(criterion.max_hundredths)
            )),
            Err(problem) => problems.push(format!(
                "criterion {number} ({summary}): {problem}; give 0 to {} points",
                hundredths_text(criterion.max_hundredths)
            )),
        }
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems)
    }
}

/// The first 40 characters of a criterion, for messages.
fn short(text: &str) -> String {
    let mut summary: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        summary.push('…');
    }
    summary
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DOUBLE_2: MarkingPolicy = MarkingPolicy {
        double_marking: true,
        threshold_hundredths: 200,
    };

    #[test]
    fn a_single_mark_is_final() {
        assert_eq!(
            resolve(MarkingPolicy::SINGLE, &[350]),
            Resolution::Final(350)
        );
        assert_eq!(resolve(MarkingPolicy::SINGLE, &[]), Resolution::AnotherMark);
    }

    #[test]
    fn double_marking_waits_for_the_second_mark() {
        assert_eq!(resolve(DOUBLE_2, &[350]), Resolution::AnotherMark);
    }

    #[test]
    fn two_marks_within_the_threshold_give_their_mean_rounded_up() {
        assert_eq!(resolve(DOUBLE_2, &[400, 600]), Resolution::Final(500));
        assert_eq!(resolve(DOUBLE_2, &[400, 401]), Resolution::Final(401));
        assert_eq!(resolve(DOUBLE_2, &[0, 0]), Resolution::Final(0));
    }

    #[test]
    fn a_difference_exactly_at_the_threshold_is_within_it() {
        assert_eq!(resolve(DOUBLE_2, &[300, 500]), Resolution::Final(400));
        assert_eq!(resolve(DOUBLE_2, &[300, 501]), Resolution::ThirdMark);
    }

    #[test]
    fn a_zero_threshold_accepts_only_equal_marks() {
        let strict = MarkingPolicy {
            double_marking: true,
            threshold_hundredths: 0,
        };
        assert_eq!(resolve(strict, &[250, 250]), Resolution::Final(250));
        assert_eq!(resolve(strict, &[250, 251]), Resolution::ThirdMark);
    }

    #[test]
    fn the_third_mark_is_averaged_with_the_closer_of_the_first_two() {
        assert_eq!(resolve(DOUBLE_2, &[100, 900, 800]), Resolution::Final(850));
        assert_eq!(resolve(DOUBLE_2, &[100, 900, 200]), Resolution::Final(150));
        assert_eq!(resolve(DOUBLE_2, &[100, 900, 301]), Resolution::Final(201));
    }

    #[test]
    fn a_third_mark_halfway_between_takes_the_higher_of_the_first_two() {
        assert_eq!(resolve(DOUBLE_2, &[100, 900, 500]), Resolution::Final(700));
        assert_eq!(resolve(DOUBLE_2, &[900, 100, 500]), Resolution::Final(700));
    }

    #[test]
    fn unscaled_criteria_keep_their_points() {
        assert_eq!(scale_criteria(&[300, 200], 500, 500), vec![300, 200]);
    }

    #[test]
    fn scaled_criteria_add_up_to_the_paper_points_exactly() {
        assert_eq!(scale_criteria(&[300, 200], 500, 1000), vec![600, 400]);
        // 10 points over three equal criteria: 3.34 + 3.33 + 3.33.
        assert_eq!(
            scale_criteria(&[100, 100, 100], 300, 1000),
            vec![334, 333, 333]
        );
        for paper in 1..=700 {
            let scaled = scale_criteria(&[150, 250, 100], 500, paper);
            assert_eq!(
                scaled.iter().sum::<u32>(),
                paper,
                "paper {paper}: {scaled:?}"
            );
        }
    }

    #[test]
    fn the_largest_remainder_gets_the_missing_hundredth() {
        // 7 points as 2 + 5 scaled to 3 points: 0.857.. and 2.142.. -> 0.86 and 2.14.
        assert_eq!(scale_criteria(&[200, 500], 700, 300), vec![86, 214]);
    }

    #[test]
    fn points_are_read_to_the_hundredth_and_no_finer() {
        assert_eq!(points_to_hundredths(&json!(2.55)), Ok(255));
        assert_eq!(points_to_hundredths(&json!(3)), Ok(300));
        assert_eq!(points_to_hundredths(&json!(0)), Ok(0));
        assert!(points_to_hundredths(&json!(2.555)).is_err());
        assert!(points_to_hundredths(&json!(-1)).is_err());
        assert!(points_to_hundredths(&json!("2")).is_err());
        assert!(points_to_hundredths(&json!(null)).is_err());
    }

    fn criteria() -> Vec<CriterionLimit> {
        vec![
            CriterionLimit {
                text: "Structure".to_owned(),
                max_hundredths: 300,
            },
            CriterionLimit {
                text: "Style".to_owned(),
                max_hundredths: 200,
            },
        ]
    }

    #[test]
    fn scores_within_each_criterion_are_accepted() {
        assert_eq!(
            check_scores(&[json!(3), json!(1.25)], &criteria()),
            Ok(vec![300, 125])
        );
    }

    #[test]
    fn every_bad_score_is_reported_with_its_criterion() {
        let problems = check_scores(&[json!(3.01), json!(-0.5)], &criteria()).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("criterion 1 (Structure)"),
            "{problems:?}"
        );
        assert!(problems[0].contains("maximum of 3 points"), "{problems:?}");
        assert!(problems[1].contains("criterion 2 (Style)"), "{problems:?}");
    }

    #[test]
    fn a_score_count_not_matching_the_rubric_is_refused() {
        let problems = check_scores(&[json!(1)], &criteria()).unwrap_err();
        assert!(problems[0].contains("2 criteria"), "{problems:?}");
    }

    #[test]
    fn the_mean_rounds_a_half_hundredth_up() {
        assert_eq!(mean_rounded_up(1, 2), 2);
        assert_eq!(mean_rounded_up(u32::MAX, u32::MAX), u32::MAX);
    }
}
