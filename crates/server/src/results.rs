//! Results: totals, pass/fail, ranking, the bottom-10% retake rule, publication and score
//! corrections (CONTRACT section 3; docs/RESULTS.md).
//!
//! Design choices, and why:
//!
//! - **The rule is pure** ([`rule`]): totals in hundredths in, ranks, the cut and the banned
//!   out, with the tie rule and the ban's end date; unit- and property-tested without a
//!   database. Storage calls it inside the publication transaction, so what is written is
//!   exactly what the rule says for what is read.
//! - **Publication is one transaction** ([`crate::storage::results`]): the sitting's row is
//!   written first (the lock), then `published_at` is re-read, so two replicas publishing at
//!   once end with one set of results and the second gets the first one's numbers.
//! - **Who counts as graded**: an attempt that was submitted or expired and has a score for
//!   every item of its paper. A registration without an attempt (absent) and a terminated
//!   attempt (voided by staff) get no result and are not among the `n` of the rule.
//! - **When publication is possible**: once no attempt can start any more (the sitting's
//!   late-entry cutoff has passed) and none is running or paused; otherwise 409
//!   `sitting_in_progress`. A closed attempt without scores (the grading pass has not reached
//!   it) is graded here first; 409 `grading_incomplete` while any essay or practical item
//!   waits for manual grading.
//! - **Corrections re-evaluate the whole sitting** in one transaction: a changed total can
//!   move anyone across the cut, so bans are added and lifted (reason
//!   [`crate::storage::results::LIFTED_BY_CORRECTION`]) as the rule now says, with the same
//!   `n` (the attempts published).

pub mod rule;

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use xcert_assembly::Blueprint;

use crate::app::AppState;
use crate::delivery::{grade_paper, parse_paper};
use crate::error::AppError;
use crate::storage::delivery::AttemptScores;
use crate::storage::results::{
    Corrected, Correction, CorrectionOutcome, PublishOutcome, SittingRules,
};
use crate::storage::sittings::Sitting;
use rule::{BanPolicy, Points};

/// What publication did: the contract's `{"graded": n, "banned": n}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Results written (the `n` of the rule).
    pub graded: usize,
    /// Bans written.
    pub banned: usize,
}

/// The rules a sitting's results are computed by: its certificate's ban policy and its
/// blueprint's pass score.
async fn sitting_rules(
    state: &AppState,
    sitting: &Sitting,
    actor: &str,
    now: i64,
) -> Result<SittingRules, AppError> {
    let certificate = state
        .storage
        .certificate(&sitting.certificate_id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("sitting {} has no certificate", sitting.id)))?;
    let policy = BanPolicy::new(certificate.retake_ban_percent, certificate.retake_ban_years)
        .map_err(|error| AppError::Internal(format!("certificate {}: {error}", certificate.id)))?;
    let blueprint = Blueprint::parse(&sitting.blueprint).map_err(|diagnostics| {
        AppError::Internal(format!(
            "sitting {} has a blueprint that no longer parses ({} problems)",
            sitting.id,
            diagnostics.len()
        ))
    })?;
    Ok(SittingRules {
        sitting_id: sitting.id.clone(),
        title: sitting.title.clone(),
        certificate_code: sitting.certificate_code.clone(),
        level: sitting.level.clone(),
        exam_date: sitting.exam_date.clone(),
        policy,
        pass_hundredths: i64::from(blueprint.pass_score()),
        actor: actor.to_owned(),
        now,
    })
}

/// 409 `not_published`: nothing about results exists for anyone before publication.
pub(crate) fn not_published() -> AppError {
    AppError::refused(
        StatusCode::CONFLICT,
        "not_published",
        "the results of this sitting are not published yet",
    )
}

/// Grades the closed attempts of a sitting that have no scores yet (the grading pass has not
/// reached them): pure grading from their responses, recorded in the publication transaction.
async fn late_scores(state: &AppState, sitting_id: &str) -> Result<Vec<AttemptScores>, AppError> {
    let unscored = state.storage.unscored_attempts(sitting_id).await?;
    let mut banks = HashMap::new();
    let mut late = Vec::with_capacity(unscored.len());
    for attempt in unscored {
        let bank = match banks.get(&attempt.bank_version_id) {
            Some(bank) => Arc::clone(bank),
            None => {
                let bank = crate::banks::load_bank(state, &attempt.bank_version_id).await?;
                banks.insert(attempt.bank_version_id.clone(), Arc::clone(&bank));
                bank
            }
        };
        let paper = parse_paper(&attempt.paper)?;
        late.push(AttemptScores {
            scores: grade_paper(&paper, &bank, &attempt.responses),
            attempt_id: attempt.id,
            graded_at: crate::delivery::now_ms(),
        });
    }
    Ok(late)
}

/// Publishes a sitting's results (CONTRACT section 3): 200 `{"graded", "banned"}`, the same
/// numbers again for a published sitting; 409 `sitting_in_progress` while attempts may still
/// start or are running or paused; 409 `grading_incomplete` with `outstanding` (items waiting
/// for manual grading) and `attempts` while grading is outstanding. The caller has checked
/// that the actor may publish this sitting.
pub async fn publish(
    state: &AppState,
    sitting: &Sitting,
    actor: &str,
    now: i64,
) -> Result<Published, AppError> {
    let now_ms = now.saturating_mul(1000);
    if sitting.published_at.is_none() && now_ms <= sitting.late_entry_until.saturating_mul(1000) {
        return Err(AppError::refused(
            StatusCode::CONFLICT,
            "sitting_in_progress",
            format!(
                "candidates may still start until the late-entry cutoff {}; publish after it",
                crate::app::rfc3339(sitting.late_entry_until)
            ),
        )
        .with_detail(
            "late_entry_until",
            crate::app::rfc3339(sitting.late_entry_until),
        ));
    }
    let rules = sitting_rules(state, sitting, actor, now).await?;
    let late = if sitting.published_at.is_none() {
        late_scores(state, &sitting.id).await?
    } else {
        Vec::new()
    };
    match state.storage.publish_results(&rules, &late).await? {
        PublishOutcome::Published { graded, banned }
        | PublishOutcome::AlreadyPublished { graded, banned } => {
            Ok(Published { graded, banned })
        }
        PublishOutcome::AttemptsOpen { open } => Err(AppError::refused(
            StatusCode::CONFLICT,
            "sitting_in_progress",
            format!(
                "{open} attempt(s) are still running or paused; publish once every attempt is submitted, expired or terminated"
            ),
        )
        .with_detail("open_attempts", open)),
        PublishOutcome::GradingIncomplete { items, attempts } => Err(AppError::refused(
            StatusCode::CONFLICT,
            "grading_incomplete",
            format!(
                "{items} item(s) of {attempts} attempt(s) still wait for manual grading; publish once marking is complete"
            ),
        )
        .with_detail("outstanding", items)
        .with_detail("attempts", attempts)),
        PublishOutcome::NoSitting => Err(AppError::NotFound("sitting")),
    }
}

/// A score correction as requested.
#[derive(Debug, Clone)]
pub struct CorrectionRequest {
    /// The attempt.
    pub attempt_id: String,
    /// The item.
    pub item_id: String,
    /// The new score, hundredths (checked against the item's points in the transaction).
    pub score: i64,
    /// Why (1 to 500 characters).
    pub reason: String,
}

/// Corrects one item score after publication and re-evaluates the sitting (module
/// documentation). Refusals, nothing written: 409 `not_published` before publication (manual
/// marking owns scores until then); 404 for an attempt without a result in this sitting; 404
/// `item_not_in_paper`; 422 `score_out_of_range` with `max`.
pub async fn correct(
    state: &AppState,
    sitting: &Sitting,
    actor: &str,
    request: CorrectionRequest,
    now: i64,
) -> Result<Corrected, AppError> {
    if sitting.published_at.is_none() {
        return Err(AppError::refused(
            StatusCode::CONFLICT,
            "not_published",
            "scores are corrected only after publication; until then manual marking sets them",
        ));
    }
    let rules = sitting_rules(state, sitting, actor, now).await?;
    let correction = Correction {
        id: crate::random::hex_id(),
        attempt_id: request.attempt_id.clone(),
        item_id: request.item_id.clone(),
        score: request.score,
        reason: request.reason,
    };
    match state.storage.correct_score(&rules, &correction).await? {
        CorrectionOutcome::Done(corrected) => Ok(*corrected),
        CorrectionOutcome::NotPublished => Err(not_published()),
        CorrectionOutcome::NoResult => Err(AppError::refused(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "attempt `{}` has no result in this sitting (unknown, absent or terminated)",
                request.attempt_id
            ),
        )),
        CorrectionOutcome::NoItem => Err(AppError::refused(
            StatusCode::NOT_FOUND,
            "item_not_in_paper",
            format!(
                "item `{}` is not in the paper of attempt `{}`",
                request.item_id, request.attempt_id
            ),
        )),
        CorrectionOutcome::OutOfRange { max } => Err(AppError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "score_out_of_range",
            format!(
                "score {} is outside 0 to {} points, the item's points in this paper",
                Points(request.score),
                Points(max)
            ),
        )
        .with_detail("max", points_value(max))),
    }
}

/// Hundredths as a JSON number of points: an integer when whole, else a decimal.
pub(crate) fn points_value(hundredths: i64) -> serde_json::Value {
    if hundredths % 100 == 0 {
        serde_json::Value::from(hundredths / 100)
    } else {
        // Exact for any score a paper can hold (far below 2^53 hundredths).
        #[allow(clippy::cast_precision_loss)]
        let points = hundredths as f64 / 100.0;
        serde_json::Value::from(points)
    }
}

/// A number of points (JSON) as hundredths: at most two decimals, not negative. `Err` says
/// what is wrong.
pub(crate) fn parse_points(value: &serde_json::Value) -> Result<i64, String> {
    let Some(number) = value.as_f64() else {
        return Err(format!("score {value} is not a number of points"));
    };
    if !number.is_finite() || number < 0.0 {
        return Err(format!("score {value} is negative; give 0 or more points"));
    }
    let hundredths = number * 100.0;
    let rounded = hundredths.round();
    if (hundredths - rounded).abs() > 1e-6 {
        return Err(format!(
            "score {value} is finer than a hundredth of a point; give at most two decimals"
        ));
    }
    if rounded > 1e12 {
        return Err(format!("score {value} is too large"));
    }
    // Whole and in range: the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    Ok(rounded as i64)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn points_are_read_to_the_hundredth_and_no_finer() {
        assert_eq!(parse_points(&json!(2.55)), Ok(255));
        assert_eq!(parse_points(&json!(3)), Ok(300));
        assert_eq!(parse_points(&json!(0)), Ok(0));
        assert!(parse_points(&json!(2.555)).is_err());
        assert!(parse_points(&json!(-1)).is_err());
        assert!(parse_points(&json!("2")).is_err());
    }

    #[test]
    fn points_print_as_integers_when_whole() {
        assert_eq!(points_value(1200), json!(12));
        assert_eq!(points_value(1250), json!(12.5));
    }
}
