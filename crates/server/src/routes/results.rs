//! Routes of [`crate::results`]: publication, the staff and candidate result views, score
//! corrections and retake bans.
//!
//! | route | who |
//! |---|---|
//! | `POST /sittings/{id}/results/publish` | admin; org (owner) |
//! | `GET /sittings/{id}/results` | admin, auditor; org (owner) |
//! | `PUT /sittings/{id}/results/{attempt_id}/items/{item_id}` `{"score", "reason"}` | admin; org (owner) |
//! | `GET /sittings/{id}/results/corrections` | admin, auditor; org (owner) |
//! | `GET /sittings/{id}/retake-bans` | admin, auditor; org (owner) |
//! | `POST /retake-bans/{id}/lift` `{"reason"}` | admin |
//! | `GET /candidate/result` | candidate (their own, after publication) |
//!
//! Another organization's sitting answers 404. Before publication every result route answers
//! 409 `not_published` and says nothing else.

use axum::Json as JsonResponse;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Route, Rule, access};
use crate::app::{AppState, audit_entry, now_seconds, rfc3339};
use crate::auth::{Caller, CandidateCaller, Role};
use crate::error::AppError;
use crate::extract::Json;
use crate::results::{self, CorrectionRequest, not_published, parse_points, points_value};
use crate::sittings::mask_document;
use crate::storage::results::{BanRecord, BanState, LiftOutcome, ResultListing};
use crate::storage::sittings::Sitting;

const OWNERS: &[Role] = &[Role::Admin, Role::Org];
const READERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Org];

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::POST,
            "/sittings/{id}/results/publish",
            "Publish a sitting's results: grade, rank, apply the bottom-10% rule (idempotent)",
            Rule::Staff(OWNERS),
            post(publish),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/results",
            "A published sitting's results: totals, ranks, pass, bans (masked ID numbers)",
            Rule::Staff(READERS),
            get(sitting_results),
        ),
        Route::new(
            Method::PUT,
            "/sittings/{id}/results/{attempt_id}/items/{item_id}",
            "Correct an item score after publication; the whole sitting is re-evaluated",
            Rule::Staff(OWNERS),
            put(correct),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/results/corrections",
            "The history of score corrections of a sitting",
            Rule::Staff(READERS),
            get(corrections),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/retake-bans",
            "The retake bans a sitting's results produced, lifted ones included",
            Rule::Staff(READERS),
            get(sitting_bans),
        ),
        Route::new(
            Method::POST,
            "/retake-bans/{id}/lift",
            "Lift a retake ban (an appeal), with a reason",
            Rule::Staff(&[Role::Admin]),
            post(lift),
        ),
        Route::new(
            Method::GET,
            "/candidate/result",
            "The calling candidate's result once published: total, pass, rank, and any ban with its reason",
            Rule::Candidate,
            get(candidate_result),
        ),
    ]
}

/// The sitting, if the caller may act on or read its results.
async fn sitting_for(
    state: &AppState,
    caller: &Caller,
    id: &str,
    write: bool,
) -> Result<Sitting, AppError> {
    let sitting = state
        .storage
        .sitting(id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    if write {
        access::publish_results(caller, &sitting.organization_id)?;
    } else {
        access::read_results(caller, &sitting.organization_id)?;
    }
    Ok(sitting)
}

/// Re-issues and revokes certificates after a publication or correction has committed. A
/// failure here leaves the results standing; it is logged, and the next publication call or
/// correction reconciles again.
async fn reconcile(state: &AppState, sitting_id: &str, actor: &str, now: i64) {
    if let Err(error) = crate::credentials::reconcile_sitting(state, sitting_id, actor, now).await {
        tracing::error!(%error, sitting = %sitting_id, "issuing certificates after a result change failed; publishing again retries");
    }
}

async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Value>, AppError> {
    let sitting = sitting_for(&state, &caller, &id, true).await?;
    let now = now_seconds();
    let published = results::publish(&state, &sitting, &caller.user_id, now).await?;
    reconcile(&state, &sitting.id, &caller.user_id, now).await;
    Ok(JsonResponse(
        json!({"graded": published.graded, "banned": published.banned}),
    ))
}

#[derive(Debug, Serialize)]
struct BanSummary {
    id: String,
    until: String,
    lifted: bool,
    lift_reason: Option<String>,
}

impl From<BanState> for BanSummary {
    fn from(ban: BanState) -> Self {
        Self {
            id: ban.id,
            until: ban.until,
            lifted: ban.lifted_at.is_some(),
            lift_reason: ban.lift_reason,
        }
    }
}

#[derive(Debug, Serialize)]
struct ResultLine {
    attempt: String,
    registration: String,
    person: String,
    name: String,
    id_number: String,
    total: Value,
    max: Value,
    rank: i64,
    passed: bool,
    banned: bool,
    ban: Option<BanSummary>,
    updated_at: String,
}

impl From<ResultListing> for ResultLine {
    fn from(listing: ResultListing) -> Self {
        let result = listing.result;
        Self {
            attempt: result.attempt_id,
            registration: result.registration_id,
            person: result.person_id,
            name: listing.name,
            id_number: mask_document(&listing.document_number),
            total: points_value(result.total_hundredths),
            max: points_value(result.max_hundredths),
            rank: result.rank,
            passed: result.passed,
            banned: result.banned,
            ban: listing.ban.map(BanSummary::from),
            updated_at: rfc3339(result.updated_at),
        }
    }
}

async fn sitting_results(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Value>, AppError> {
    let sitting = sitting_for(&state, &caller, &id, false).await?;
    let Some(published_at) = sitting.published_at else {
        return Err(not_published());
    };
    let listing = state.storage.results_of_sitting(&sitting.id).await?;
    let certificate = state.storage.certificate(&sitting.certificate_id).await?;
    let first = listing.first().map(|entry| entry.result.clone());
    let lines: Vec<ResultLine> = listing.into_iter().map(ResultLine::from).collect();
    let passed = lines.iter().filter(|line| line.passed).count();
    let banned = lines.iter().filter(|line| line.banned).count();
    Ok(JsonResponse(json!({
        "sitting": sitting.id,
        "published_at": rfc3339(published_at),
        "exam_date": sitting.exam_date,
        "certificate_code": sitting.certificate_code,
        "level": sitting.level,
        "graded": lines.len(),
        "passed": passed,
        "banned": banned,
        "cut": first.as_ref().map_or(0, |result| result.cut),
        "pass_score": first.as_ref().map(|result| points_value(result.pass_hundredths)),
        "retake_ban_percent": certificate.as_ref().map(|c| c.retake_ban_percent),
        "retake_ban_years": certificate.as_ref().map(|c| c.retake_ban_years),
        "results": lines,
    })))
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CorrectionBody {
    score: Value,
    reason: String,
}

/// A reason kept in the record: 1 to 500 characters.
fn check_reason(reason: &str) -> Result<String, AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::Invalid(
            "reason must be 1 to 500 characters: say why (it is kept in the record)".to_owned(),
        ));
    }
    Ok(reason.to_owned())
}

async fn correct(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, attempt_id, item_id)): Path<(String, String, String)>,
    Json(body): Json<CorrectionBody>,
) -> Result<JsonResponse<Value>, AppError> {
    let sitting = sitting_for(&state, &caller, &id, true).await?;
    let score = parse_points(&body.score).map_err(AppError::Invalid)?;
    let reason = check_reason(&body.reason)?;
    let now = now_seconds();
    let corrected = results::correct(
        &state,
        &sitting,
        &caller.user_id,
        CorrectionRequest {
            attempt_id,
            item_id: item_id.clone(),
            score,
            reason,
        },
        now,
    )
    .await?;
    if corrected.results_changed > 0 {
        reconcile(&state, &sitting.id, &caller.user_id, now).await;
    }
    let result = &corrected.result;
    Ok(JsonResponse(json!({
        "attempt": result.attempt_id,
        "item": item_id,
        "old_score": points_value(corrected.old_score),
        "new_score": points_value(corrected.new_score),
        "total": points_value(result.total_hundredths),
        "max": points_value(result.max_hundredths),
        "rank": result.rank,
        "passed": result.passed,
        "banned": result.banned,
        "results_changed": corrected.results_changed,
        "bans_added": corrected.bans_added,
        "bans_lifted": corrected.bans_lifted,
    })))
}

async fn corrections(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Value>, AppError> {
    let sitting = sitting_for(&state, &caller, &id, false).await?;
    let history = state.storage.score_corrections(&sitting.id).await?;
    Ok(JsonResponse(Value::Array(
        history
            .into_iter()
            .map(|correction| {
                json!({
                    "id": correction.id,
                    "attempt": correction.attempt_id,
                    "item": correction.item_id,
                    "old_score": points_value(correction.old_hundredths),
                    "new_score": points_value(correction.new_hundredths),
                    "reason": correction.reason,
                    "actor": correction.actor,
                    "at": rfc3339(correction.at),
                })
            })
            .collect(),
    )))
}

#[derive(Debug, Serialize)]
struct BanView {
    id: String,
    person: String,
    name: String,
    id_number: String,
    certificate_code: String,
    level: String,
    sitting: String,
    until: String,
    reason: String,
    created_at: String,
    lifted: bool,
    lifted_at: Option<String>,
    lifted_by: Option<String>,
    lift_reason: Option<String>,
}

impl From<BanRecord> for BanView {
    fn from(ban: BanRecord) -> Self {
        Self {
            id: ban.id,
            person: ban.person_id,
            name: ban.name,
            id_number: mask_document(&ban.document_number),
            certificate_code: ban.certificate_code,
            level: ban.level,
            sitting: ban.sitting_id,
            until: ban.until,
            reason: ban.reason,
            created_at: rfc3339(ban.created_at),
            lifted: ban.lifted_at.is_some(),
            lifted_at: ban.lifted_at.map(rfc3339),
            lifted_by: ban.lifted_by,
            lift_reason: ban.lift_reason,
        }
    }
}

async fn sitting_bans(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Vec<BanView>>, AppError> {
    let sitting = sitting_for(&state, &caller, &id, false).await?;
    let bans = state.storage.retake_bans_of_sitting(&sitting.id).await?;
    Ok(JsonResponse(bans.into_iter().map(BanView::from).collect()))
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LiftBody {
    reason: String,
}

async fn lift(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<LiftBody>,
) -> Result<JsonResponse<BanView>, AppError> {
    access::lift_retake_bans(&caller)?;
    let reason = check_reason(&body.reason)?;
    let audit = audit_entry(
        &caller.user_id,
        "retake_ban.lift",
        &format!("retake_ban:{id}"),
        &body,
    );
    match state
        .storage
        .lift_retake_ban(&id, &caller.user_id, &reason, now_seconds(), &audit)
        .await?
    {
        LiftOutcome::Lifted(ban) => Ok(JsonResponse(BanView::from(*ban))),
        LiftOutcome::AlreadyLifted(ban) => Err(AppError::refused(
            StatusCode::CONFLICT,
            "already_lifted",
            format!(
                "this ban was lifted at {}; nothing changed",
                ban.lifted_at.map(rfc3339).unwrap_or_default()
            ),
        )
        .with_detail("lifted_at", ban.lifted_at.map(rfc3339))),
        LiftOutcome::NoBan => Err(AppError::NotFound("retake ban")),
    }
}

async fn candidate_result(
    State(state): State<AppState>,
    candidate: CandidateCaller,
) -> Result<JsonResponse<Value>, AppError> {
    let sitting = state
        .storage
        .sitting(&candidate.sitting_id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    let Some(published_at) = sitting.published_at else {
        return Err(not_published());
    };
    let Some(listing) = state
        .storage
        .result_of_registration(&candidate.registration_id)
        .await?
    else {
        return Err(AppError::refused(
            StatusCode::NOT_FOUND,
            "no_result",
            "there is no result for you in this sitting: no attempt of yours was graded (absent, or the attempt was ended by staff)",
        ));
    };
    let certificate = state.storage.certificate(&sitting.certificate_id).await?;
    let result = listing.result;
    let ban = listing.ban.map(|ban| {
        json!({
            "until": ban.until,
            "rank": result.rank,
            "of": result.graded_count,
            "cut": result.cut,
            "percent": certificate.as_ref().map(|c| c.retake_ban_percent),
            "reason": ban.reason,
            "lifted": ban.lifted_at.is_some(),
            "lift_reason": ban.lift_reason,
        })
    });
    Ok(JsonResponse(json!({
        "sitting": {
            "id": sitting.id,
            "title": sitting.title,
            "certificate_code": sitting.certificate_code,
            "level": sitting.level,
            "exam_date": sitting.exam_date,
        },
        "published_at": rfc3339(published_at),
        "total": points_value(result.total_hundredths),
        "max": points_value(result.max_hundredths),
        "pass_score": points_value(result.pass_hundredths),
        "passed": result.passed,
        "rank": result.rank,
        "of": result.graded_count,
        "ban": ban,
    })))
}
