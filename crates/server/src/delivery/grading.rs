//! Objective grading: a candidate's response against an item's key. Pure: no I/O, no clock.
//!
//! Scores are in hundredths of a point, like the bank's `Points`; a partial score is rounded
//! down to the hundredth, so a candidate never gets more than the rules give.
//!
//! The rules, per item type:
//!
//! - **single**: full points when the label names the keyed option, else 0.
//! - **multiple**: all-or-nothing by default (full points only for exactly the keyed set).
//!   With the section's `multiple_scoring = "partial"`: any wrong option gives 0; the exact
//!   set gives full points; a non-empty subset of the keyed options gives
//!   points × chosen ÷ keyed (the usual Chinese rule: 少选得部分分, 错选不得分).
//! - **true_false**: full points for the keyed boolean.
//! - **fill_blank**: each blank is right when its normalized text equals one of that blank's
//!   normalized accepted answers; the score is points × right blanks ÷ blanks.
//! - **short_answer**: full points when the normalized text equals a normalized accepted answer.
//! - **numeric**: full points when |response − value| ≤ tolerance (with a relative slack of
//!   1e-9 for binary floating point, so `0.1 + 0.2` is `0.3`).
//! - **essay, practical**: not graded here; they go to manual grading.
//!
//! Normalization (fill_blank, short_answer): full-width ASCII (U+FF01–U+FF5E) folds to
//! half-width and the ideographic space U+3000 to a space (what Chinese input methods produce),
//! leading and trailing whitespace is removed, inner runs of whitespace become one space, and
//! case is ignored (Unicode lower case).
//!
//! A missing or `null` response scores 0. Responses are validated when saved
//! ([`super::paper::validate_response`]); a stored value of the wrong shape still scores 0
//! here rather than failing.

use serde_json::Value;
use xcert_assembly::MultipleScoring;
use xcert_bank::{Answer, ItemType};

use super::paper::label_position;

/// One question as the candidate saw it, with its key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Question<'a> {
    /// The item type.
    pub(crate) item_type: ItemType,
    /// The key; `None` for essay and practical items.
    pub(crate) answer: Option<&'a Answer>,
    /// The bank's option ids in the order shown: label `A` is `shown_options[0]`.
    pub(crate) shown_options: &'a [String],
    /// The points of this item in this paper, hundredths.
    pub(crate) points: u32,
    /// How a multiple-choice item is scored (from the blueprint section).
    pub(crate) multiple_scoring: MultipleScoring,
}

/// The result of grading one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Graded by machine: the score in hundredths (0 ..= the item's points).
    Graded(u32),
    /// Essay or practical: a person grades it against the rubric.
    NeedsManual,
}

/// Grades `response` (the JSON the candidate saved, in shown labels; `None` when nothing was
/// saved) against `question`.
pub(crate) fn grade(question: &Question<'_>, response: Option<&Value>) -> Outcome {
    if !question.item_type.is_auto_gradable() {
        return Outcome::NeedsManual;
    }
    let (Some(answer), Some(response)) = (question.answer, response) else {
        return Outcome::Graded(0);
    };
    let points = question.points;
    let score = match (answer, response) {
        (Answer::Single(key), Value::String(label)) => {
            full_if(shown_id(question, label) == Some(key.as_str()), points)
        }
        (Answer::Multiple(keys), Value::Array(labels)) => {
            grade_multiple(question, keys, labels, points)
        }
        (Answer::TrueFalse(key), Value::Bool(given)) => full_if(key == given, points),
        (Answer::FillBlank(accepted), Value::Array(given)) => grade_blanks(accepted, given, points),
        (Answer::ShortAnswer(accepted), Value::String(given)) => {
            full_if(matches_any(given, accepted), points)
        }
        (Answer::Numeric { value, tolerance }, Value::Number(given)) => {
            let right = given
                .as_f64()
                .is_some_and(|given| within_tolerance(given, *value, *tolerance));
            full_if(right, points)
        }
        _ => 0,
    };
    Outcome::Graded(score)
}

fn full_if(right: bool, points: u32) -> u32 {
    if right { points } else { 0 }
}

/// The bank option id behind a shown label.
fn shown_id<'a>(question: &Question<'a>, label: &str) -> Option<&'a str> {
    label_position(label)
        .and_then(|position| question.shown_options.get(position))
        .map(String::as_str)
}

fn grade_multiple(question: &Question<'_>, keys: &[String], labels: &[Value], points: u32) -> u32 {
    let mut chosen: Vec<&str> = Vec::with_capacity(labels.len());
    for label in labels {
        let Some(id) = label.as_str().and_then(|label| shown_id(question, label)) else {
            return 0;
        };
        if !chosen.contains(&id) {
            chosen.push(id);
        }
    }
    if chosen.is_empty() || keys.is_empty() {
        return 0;
    }
    let wrong = chosen
        .iter()
        .any(|id| !keys.iter().any(|key| key.as_str() == *id));
    if wrong {
        return 0;
    }
    if chosen.len() == keys.len() {
        return points;
    }
    match question.multiple_scoring {
        MultipleScoring::AllOrNothing => 0,
        MultipleScoring::Partial => share(points, chosen.len(), keys.len()),
    }
}

fn grade_blanks(accepted: &[Vec<String>], given: &[Value], points: u32) -> u32 {
    if accepted.is_empty() || given.len() != accepted.len() {
        return 0;
    }
    let right = accepted
        .iter()
        .zip(given)
        .filter(|(accepted, given)| {
            given
                .as_str()
                .is_some_and(|text| matches_any(text, accepted))
        })
        .count();
    share(points, right, accepted.len())
}

/// `points × part ÷ whole`, rounded down to the hundredth.
fn share(points: u32, part: usize, whole: usize) -> u32 {
    if whole == 0 {
        return 0;
    }
    let scaled = u128::from(points) * part as u128 / whole as u128;
    u32::try_from(scaled).unwrap_or(points).min(points)
}

fn matches_any(given: &str, accepted: &[String]) -> bool {
    let given = normalize(given);
    accepted
        .iter()
        .any(|candidate| normalize(candidate) == given)
}

fn within_tolerance(given: f64, value: f64, tolerance: f64) -> bool {
    if !given.is_finite() {
        return false;
    }
    let slack = 1e-9 * value.abs().max(1.0);
    (given - value).abs() <= tolerance.abs() + slack
}

/// Folds what input methods vary in: full-width ASCII and the ideographic space to their
/// half-width forms, surrounding whitespace, runs of inner whitespace, and case.
pub(crate) fn normalize(text: &str) -> String {
    let folded = text.chars().map(|c| match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFF01 + 0x21).unwrap_or(c),
        other => other,
    });
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in folded {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| (*id).to_owned()).collect()
    }

    fn question<'a>(
        item_type: ItemType,
        answer: &'a Answer,
        shown: &'a [String],
        scoring: MultipleScoring,
    ) -> Question<'a> {
        Question {
            item_type,
            answer: Some(answer),
            shown_options: shown,
            points: 200,
            multiple_scoring: scoring,
        }
    }

    #[test]
    fn a_single_answer_is_read_through_the_shown_order() {
        // Shown order C, A, B: the keyed option A is shown second, as label B.
        let shown = ids(&["C", "A", "B"]);
        let key = Answer::Single("A".to_owned());
        let q = question(
            ItemType::Single,
            &key,
            &shown,
            MultipleScoring::AllOrNothing,
        );
        assert_eq!(grade(&q, Some(&json!("B"))), Outcome::Graded(200));
        assert_eq!(grade(&q, Some(&json!("A"))), Outcome::Graded(0));
        assert_eq!(grade(&q, Some(&json!("D"))), Outcome::Graded(0));
        assert_eq!(grade(&q, Some(&json!(1))), Outcome::Graded(0));
        assert_eq!(grade(&q, None), Outcome::Graded(0));
        assert_eq!(grade(&q, Some(&Value::Null)), Outcome::Graded(0));
    }

    #[test]
    fn a_multiple_answer_is_all_or_nothing_by_default() {
        let shown = ids(&["A", "B", "C", "D"]);
        let key = Answer::Multiple(ids(&["A", "C"]));
        let q = question(
            ItemType::Multiple,
            &key,
            &shown,
            MultipleScoring::AllOrNothing,
        );
        assert_eq!(grade(&q, Some(&json!(["C", "A"]))), Outcome::Graded(200));
        assert_eq!(grade(&q, Some(&json!(["A"]))), Outcome::Graded(0));
        assert_eq!(grade(&q, Some(&json!(["A", "C", "D"]))), Outcome::Graded(0));
        assert_eq!(grade(&q, Some(&json!([]))), Outcome::Graded(0));
    }

    #[test]
    fn partial_credit_gives_a_share_for_a_correct_subset_and_nothing_for_a_wrong_option() {
        let shown = ids(&["A", "B", "C", "D"]);
        let key = Answer::Multiple(ids(&["A", "B", "C"]));
        let q = question(ItemType::Multiple, &key, &shown, MultipleScoring::Partial);
        assert_eq!(
            grade(&q, Some(&json!(["A", "B", "C"]))),
            Outcome::Graded(200)
        );
        // 2 of 3 keyed options: 200 × 2 / 3 = 133.33 → 133 (rounded down).
        assert_eq!(grade(&q, Some(&json!(["A", "B"]))), Outcome::Graded(133));
        assert_eq!(grade(&q, Some(&json!(["A"]))), Outcome::Graded(66));
        assert_eq!(grade(&q, Some(&json!(["A", "D"]))), Outcome::Graded(0));
        assert_eq!(grade(&q, Some(&json!([]))), Outcome::Graded(0));
    }

    #[test]
    fn a_repeated_label_in_a_multiple_answer_counts_once() {
        let shown = ids(&["A", "B"]);
        let key = Answer::Multiple(ids(&["A", "B"]));
        let q = question(ItemType::Multiple, &key, &shown, MultipleScoring::Partial);
        assert_eq!(grade(&q, Some(&json!(["A", "A"]))), Outcome::Graded(100));
    }

    #[test]
    fn true_false_compares_booleans_only() {
        let key = Answer::TrueFalse(false);
        let q = question(
            ItemType::TrueFalse,
            &key,
            &[],
            MultipleScoring::AllOrNothing,
        );
        assert_eq!(grade(&q, Some(&json!(false))), Outcome::Graded(200));
        assert_eq!(grade(&q, Some(&json!(true))), Outcome::Graded(0));
        assert_eq!(grade(&q, Some(&json!("false"))), Outcome::Graded(0));
    }

    #[test]
    fn fill_blanks_score_per_blank_after_normalization() {
        let key = Answer::FillBlank(vec![ids(&["HTTP", "超文本传输协议"]), ids(&["443"])]);
        let q = question(
            ItemType::FillBlank,
            &key,
            &[],
            MultipleScoring::AllOrNothing,
        );
        assert_eq!(
            grade(&q, Some(&json!([" ｈｔｔｐ ", "４４３"]))),
            Outcome::Graded(200)
        );
        assert_eq!(
            grade(&q, Some(&json!(["超文本传输协议", "80"]))),
            Outcome::Graded(100)
        );
        assert_eq!(grade(&q, Some(&json!(["http"]))), Outcome::Graded(0));
        assert_eq!(grade(&q, Some(&json!(["http", 443]))), Outcome::Graded(100));
    }

    #[test]
    fn a_short_answer_accepts_any_listed_alternative_in_any_case_and_width() {
        let key = Answer::ShortAnswer(ids(&["Semantic HTML", "语义化"]));
        let q = question(
            ItemType::ShortAnswer,
            &key,
            &[],
            MultipleScoring::AllOrNothing,
        );
        assert_eq!(
            grade(&q, Some(&json!("ｓｅｍａｎｔｉｃ\u{3000}\u{3000}ｈｔｍｌ"))),
            Outcome::Graded(200)
        );
        assert_eq!(grade(&q, Some(&json!("语义化"))), Outcome::Graded(200));
        assert_eq!(grade(&q, Some(&json!("semantic"))), Outcome::Graded(0));
        assert_eq!(grade(&q, Some(&json!(""))), Outcome::Graded(0));
    }

    #[test]
    fn a_numeric_answer_is_right_within_the_tolerance_inclusive() {
        let key = Answer::Numeric {
            value: 2.5,
            tolerance: 0.01,
        };
        let q = question(ItemType::Numeric, &key, &[], MultipleScoring::AllOrNothing);
        assert_eq!(grade(&q, Some(&json!(2.51))), Outcome::Graded(200));
        assert_eq!(grade(&q, Some(&json!(2.49))), Outcome::Graded(200));
        assert_eq!(grade(&q, Some(&json!(2.5101))), Outcome::Graded(0));
        assert_eq!(grade(&q, Some(&json!("2.5"))), Outcome::Graded(0));
    }

    #[test]
    fn zero_tolerance_still_accepts_the_same_value_reached_by_float_arithmetic() {
        let key = Answer::Numeric {
            value: 0.3,
            tolerance: 0.0,
        };
        let q = question(ItemType::Numeric, &key, &[], MultipleScoring::AllOrNothing);
        assert_eq!(grade(&q, Some(&json!(0.1 + 0.2))), Outcome::Graded(200));
        assert_eq!(grade(&q, Some(&json!(0.31))), Outcome::Graded(0));
    }

    #[test]
    fn essays_and_practical_tasks_go_to_manual_grading() {
        for item_type in [ItemType::Essay, ItemType::Practical] {
            let q = Question {
                item_type,
                answer: None,
                shown_options: &[],
                points: 1000,
                multiple_scoring: MultipleScoring::AllOrNothing,
            };
            assert_eq!(grade(&q, Some(&json!("my essay"))), Outcome::NeedsManual);
            assert_eq!(grade(&q, None), Outcome::NeedsManual);
        }
    }

    #[test]
    fn normalization_folds_width_space_and_case() {
        assert_eq!(normalize("  Ａ\u{3000}ｂ\t\tC  "), "a b c");
        assert_eq!(normalize("（ｘ）"), "(x)");
        assert_eq!(normalize(""), "");
    }

    proptest! {
        #[test]
        fn a_score_never_exceeds_the_points(
            points in 1u32..10_000,
            keyed in proptest::collection::btree_set(0usize..6, 1..6),
            chosen in proptest::collection::vec(0usize..6, 0..8),
            partial in any::<bool>(),
        ) {
            let shown: Vec<String> = (0..6).map(|i| format!("o{i}")).collect();
            let key = Answer::Multiple(keyed.iter().map(|i| format!("o{i}")).collect());
            let q = Question {
                item_type: ItemType::Multiple,
                answer: Some(&key),
                shown_options: &shown,
                points,
                multiple_scoring: if partial { MultipleScoring::Partial } else { MultipleScoring::AllOrNothing },
            };
            let labels: Vec<Value> = chosen.iter().map(|&i| json!(super::super::paper::option_label(i))).collect();
            let Outcome::Graded(score) = grade(&q, Some(&Value::Array(labels))) else {
                panic!("a multiple item is auto-graded");
            };
            prop_assert!(score <= points);
            let chosen_set: std::collections::BTreeSet<usize> = chosen.iter().copied().collect();
            prop_assert_eq!(score == points, chosen_set == keyed);
        }

        #[test]
        fn normalization_is_idempotent_and_ignores_width(text in "[ -~\u{3000}\u{FF01}-\u{FF5E}]{0,24}") {
            let once = normalize(&text);
            prop_assert_eq!(&normalize(&once), &once);
            let wide: String = text.chars().map(|c| match c {
                '!'..='~' => char::from_u32(u32::from(c) - 0x21 + 0xFF01).unwrap_or(c),
                ' ' => '\u{3000}',
                other => other,
            }).collect();
            prop_assert_eq!(normalize(&wide), once);
        }
    }
}
