//! Exam delivery: a candidate's attempt (CONTRACT section 3, candidate flow), and the staff
//! controls of its clock.
//!
//! | route | who |
//! |---|---|
//! | `POST /attempts` | candidate (starts or resumes their own attempt) |
//! | `GET /attempts/{id}` | candidate (their own) |
//! | `PUT /attempts/{id}/responses/{item_id}` | candidate (their own) |
//! | `POST /attempts/{id}/submit` | candidate (their own) |
//! | `GET /attempts/{id}/media/{name}` | candidate (images of their own paper) |
//! | `POST /attempts/{id}/pause`, `/resume` | admin; site staff of the candidate's site; a proctor of the candidate's room (current draw) |
//! | `POST /attempts/{id}/extra-time` | admin; site staff of the candidate's site |
//! | `POST /registrations/{id}/extra-time` | admin; site staff of the candidate's site |
//!
//! Another candidate's attempt answers 404, as if it did not exist. Every time is the
//! server's: nothing a client sends (headers, fields) moves a deadline.

use std::sync::Arc;

use axum::Json as JsonResponse;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use xcert_assembly::Blueprint;
use xcert_bank::Bank;

use super::{Route, Rule, access};
use crate::app::{AppState, audit_entry};
use crate::auth::{Caller, CandidateCaller, Role};
use crate::delivery::paper::{PaperSource, candidate_paper, paper_shows_media, validate_response};
use crate::delivery::{SittingPapers, WriteError, draws, now_ms, parse_paper, rfc3339_ms};
use crate::error::AppError;
use crate::extract::Json;
use crate::random;
use crate::storage::delivery::{
    Attempt, AttemptStatus, Close, CloseOutcome, Closing, NewAttempt, Save, SaveOutcome,
    TimeAdjustment,
};

/// Staff who may grant extra time.
const TIME_KEEPERS: &[Role] = &[Role::Admin, Role::Site];
/// Staff who may pause and resume (proctors only in their own rooms).
const PAUSERS: &[Role] = &[Role::Admin, Role::Site, Role::Proctor];
/// Most extra time one grant may add (a whole day is far beyond any accommodation).
const MAX_EXTRA_SECONDS: i64 = 24 * 60 * 60;

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::POST,
            "/attempts",
            "Start the caller's attempt (201), or return the one already started (200)",
            Rule::Candidate,
            post(start),
        ),
        Route::new(
            Method::GET,
            "/attempts/{id}",
            "The caller's attempt: paper, saved responses, deadline and server time",
            Rule::Candidate,
            get(view),
        ),
        Route::new(
            Method::PUT,
            "/attempts/{id}/responses/{item_id}",
            "Save a response with a sequence number; acknowledged once durable",
            Rule::Candidate,
            put(save),
        ),
        Route::new(
            Method::POST,
            "/attempts/{id}/submit",
            "Submit the attempt (repeating it is harmless)",
            Rule::Candidate,
            post(submit),
        ),
        Route::new(
            Method::GET,
            "/attempts/{id}/media/{*name}",
            "An image shown in the caller's paper",
            Rule::Candidate,
            get(media),
        ),
        Route::new(
            Method::POST,
            "/attempts/{id}/pause",
            "Pause an attempt: saves are refused and the clock stops",
            Rule::Staff(PAUSERS),
            post(pause),
        ),
        Route::new(
            Method::POST,
            "/attempts/{id}/resume",
            "Resume a paused attempt: the deadline moves by the paused time",
            Rule::Staff(PAUSERS),
            post(resume),
        ),
        Route::new(
            Method::POST,
            "/attempts/{id}/extra-time",
            "Grant extra time to a started attempt (with a reason)",
            Rule::Staff(TIME_KEEPERS),
            post(extra_time_for_attempt),
        ),
        Route::new(
            Method::POST,
            "/registrations/{id}/extra-time",
            "Grant extra time to a registration, before or after the start (with a reason)",
            Rule::Staff(TIME_KEEPERS),
            post(extra_time_for_registration),
        ),
    ]
}

/// A refusal with the contract's shape.
fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
    AppError::refused(status, code, message)
}

/// The attempt view of CONTRACT section 3.
#[derive(Debug, Serialize)]
struct AttemptView {
    id: String,
    status: &'static str,
    started_at: String,
    deadline: String,
    server_time: String,
    paper: crate::delivery::paper::CandidatePaper,
    responses: Map<String, Value>,
}

async fn attempt_view(state: &AppState, attempt: &Attempt) -> Result<AttemptView, AppError> {
    let bank = crate::banks::load_bank(state, &attempt.bank_version_id).await?;
    let paper = parse_paper(&attempt.paper)?;
    let stored = state.storage.responses(&attempt.id).await?;
    let mut responses = Map::new();
    for response in stored {
        let value: Value = serde_json::from_str(&response.response).map_err(|error| {
            AppError::Internal(format!("a stored response does not parse: {error}"))
        })?;
        responses.insert(
            response.item_id,
            json!({"seq": response.seq, "response": value}),
        );
    }
    Ok(AttemptView {
        id: attempt.id.clone(),
        status: attempt.status.as_str(),
        started_at: rfc3339_ms(attempt.started_at),
        deadline: rfc3339_ms(attempt.deadline),
        server_time: rfc3339_ms(now_ms()),
        paper: candidate_paper(&paper, &bank, &attempt.id),
        responses,
    })
}

/// The caller's own attempt, or 404 (another candidate's attempt does not exist for them).
async fn own_attempt(
    state: &AppState,
    candidate: &CandidateCaller,
    id: &str,
) -> Result<Attempt, AppError> {
    let attempt = state.storage.attempt(id).await?;
    match attempt {
        Some(attempt) if attempt.registration_id == candidate.registration_id => Ok(attempt),
        _ => Err(AppError::NotFound("attempt")),
    }
}

async fn start(
    State(state): State<AppState>,
    candidate: CandidateCaller,
) -> Result<Response, AppError> {
    let now = now_ms();
    if let Some(attempt) = state
        .storage
        .attempt_of_registration(&candidate.registration_id)
        .await?
    {
        // A candidate who started can always come back, whatever the time.
        let view = attempt_view(&state, &attempt).await?;
        return Ok((StatusCode::OK, JsonResponse(view)).into_response());
    }
    let sitting = state
        .storage
        .sitting(&candidate.sitting_id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    let opens_at = sitting.opens_at.saturating_mul(1000);
    let late_entry_until = sitting.late_entry_until.saturating_mul(1000);
    let closes_at = sitting.closes_at.saturating_mul(1000);
    if now < opens_at {
        return Err(refused(
            StatusCode::CONFLICT,
            "not_open",
            format!(
                "the exam opens at {}; it is now {} (server time). Start again then",
                rfc3339_ms(opens_at),
                rfc3339_ms(now)
            ),
        )
        .with_detail("opens_at", rfc3339_ms(opens_at))
        .with_detail("server_time", rfc3339_ms(now)));
    }
    if now > late_entry_until || now >= closes_at {
        return Err(refused(
            StatusCode::CONFLICT,
            "late_entry_closed",
            format!(
                "late entry closed at {}; it is now {} (server time). Ask the exam site's staff",
                rfc3339_ms(late_entry_until),
                rfc3339_ms(now)
            ),
        )
        .with_detail("late_entry_until", rfc3339_ms(late_entry_until))
        .with_detail("server_time", rfc3339_ms(now)));
    }
    let bank = crate::banks::load_bank(&state, &sitting.bank_version_id).await?;
    let papers = sitting_papers(&state, &sitting.id, &sitting.blueprint, &bank).await?;
    let secret = draws::sitting_secret(&sitting)?;
    // The paper seed is derived from the registration id: one candidate in one sitting.
    let seed = secret.paper_seed(&candidate.registration_id);
    let paper =
        draws::paper_for(&state, &papers, &bank, &sitting, &candidate.registration_id).await?;
    let source = &papers.source;
    let new = NewAttempt {
        id: random::hex_id(),
        registration_id: candidate.registration_id.clone(),
        sitting_id: sitting.id.clone(),
        started_at: now,
        duration_ms: sitting.duration_secs.saturating_mul(1000),
        closes_at,
        paper: serde_json::to_string(&paper)
            .map_err(|error| AppError::Internal(format!("serializing a paper: {error}")))?,
        seed: seed.to_string(),
        bank_version_id: sitting.bank_version_id.clone(),
        bank_hash: source.bank_hash().to_owned(),
        blueprint_hash: source.blueprint_hash(),
    };
    let (attempt, created) = state.storage.create_attempt(&new).await?;
    let view = attempt_view(&state, &attempt).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, JsonResponse(view)).into_response())
}

/// The sitting's compiled paper source, built once per sitting and process.
pub(super) async fn sitting_papers(
    state: &AppState,
    sitting_id: &str,
    blueprint_text: &str,
    bank: &Arc<Bank>,
) -> Result<Arc<SittingPapers>, AppError> {
    if let Some(papers) = state.delivery.sitting(sitting_id) {
        return Ok(papers);
    }
    let blueprint = Blueprint::parse(blueprint_text).map_err(|diagnostics| {
        AppError::Internal(format!(
            "sitting {sitting_id} has a blueprint that no longer parses ({} problems)",
            diagnostics.len()
        ))
    })?;
    let bank = Arc::clone(bank);
    let source = tokio::task::spawn_blocking(move || PaperSource::new(&bank, blueprint))
        .await
        .map_err(|error| AppError::Internal(format!("the paper task failed: {error}")))?
        .map_err(|error| {
            AppError::Internal(format!("sitting {sitting_id}: indexing the bank: {error}"))
        })?;
    Ok(state
        .delivery
        .keep_sitting(sitting_id, Arc::new(SittingPapers::new(source))))
}

async fn view(
    State(state): State<AppState>,
    candidate: CandidateCaller,
    Path(id): Path<String>,
) -> Result<JsonResponse<AttemptView>, AppError> {
    let attempt = own_attempt(&state, &candidate, &id).await?;
    Ok(JsonResponse(attempt_view(&state, &attempt).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveRequest {
    seq: u64,
    response: Value,
}

async fn save(
    State(state): State<AppState>,
    candidate: CandidateCaller,
    Path((id, item_id)): Path<(String, String)>,
    Json(request): Json<SaveRequest>,
) -> Result<JsonResponse<Value>, AppError> {
    // The deadline is checked against the moment the request reached the server.
    let received_at = now_ms();
    let attempt = state
        .delivery
        .attempt_paper(&state.storage, &id)
        .await?
        .filter(|attempt| attempt.registration_id == candidate.registration_id)
        .ok_or(AppError::NotFound("attempt"))?;
    let (_, item) = attempt
        .paper
        .item(&item_id)
        .ok_or(AppError::NotFound("item"))?;
    let seq = i64::try_from(request.seq).map_err(|_| {
        refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_response",
            "seq must be at most 9223372036854775807",
        )
    })?;
    validate_response(item, &request.response).map_err(|problem| {
        refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_response",
            format!("item {item_id}: {problem}"),
        )
    })?;
    let outcome = state
        .delivery
        .writer
        .save(Save {
            attempt_id: id.clone(),
            item_id,
            seq,
            response: request.response.to_string(),
            received_at,
        })
        .await
        .map_err(write_error)?;
    match outcome {
        SaveOutcome::Stored { seq } => Ok(JsonResponse(json!({ "seq": seq }))),
        SaveOutcome::Paused => Err(paused_error()),
        SaveOutcome::Closed => Err(closed_error()),
        SaveOutcome::DeadlinePassed => Err(deadline_error(&state, &id).await),
        SaveOutcome::NoAttempt => Err(AppError::NotFound("attempt")),
    }
}

/// A batch that was not written: the server is stopping (503), or the database failed (500);
/// nothing in it was acknowledged, so the client retries.
fn write_error(error: WriteError) -> AppError {
    match error {
        WriteError::Stopped => AppError::NotReady(error.to_string()),
        WriteError::Failed(text) => AppError::Internal(text),
    }
}

fn paused_error() -> AppError {
    refused(
        StatusCode::CONFLICT,
        "attempt_paused",
        "the exam is paused by the exam staff; your answers are kept, save again once it resumes",
    )
}

fn closed_error() -> AppError {
    refused(
        StatusCode::CONFLICT,
        "attempt_closed",
        "the attempt has been submitted or ended; no more answers are accepted",
    )
}

async fn deadline_error(state: &AppState, attempt_id: &str) -> AppError {
    let deadline = state
        .storage
        .attempt(attempt_id)
        .await
        .ok()
        .flatten()
        .map(|attempt| attempt.deadline);
    let message = match deadline {
        Some(deadline) => format!(
            "time is up: the deadline was {} (server time); answers saved before it are kept",
            rfc3339_ms(deadline)
        ),
        None => "time is up; answers saved before the deadline are kept".to_owned(),
    };
    let error = refused(StatusCode::CONFLICT, "deadline_passed", message);
    match deadline {
        Some(deadline) => error.with_detail("deadline", rfc3339_ms(deadline)),
        None => error,
    }
}

async fn submit(
    State(state): State<AppState>,
    candidate: CandidateCaller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Value>, AppError> {
    // Ownership from the paper cache (no row read per submit in a rush); the close itself
    // says whether the attempt was open, paused or closed already.
    state
        .delivery
        .attempt_paper(&state.storage, &id)
        .await?
        .filter(|attempt| attempt.registration_id == candidate.registration_id)
        .ok_or(AppError::NotFound("attempt"))?;
    // Acknowledged once the close is durable; the grading pass scores the paper afterwards.
    let outcome = state
        .delivery
        .writer
        .close(Close {
            attempt_id: id.clone(),
            closing: Closing::Submit,
            now: now_ms(),
        })
        .await
        .map_err(write_error)?;
    match outcome {
        CloseOutcome::Closed(status) => {
            state.delivery.closed.notify_one();
            Ok(JsonResponse(json!({"status": status.as_str()})))
        }
        CloseOutcome::Unchanged(status) if status.is_closed() => {
            Ok(JsonResponse(json!({"status": status.as_str()})))
        }
        CloseOutcome::Unchanged(AttemptStatus::Paused) => Err(paused_error()),
        CloseOutcome::Unchanged(_) => Err(AppError::Internal(format!(
            "attempt {id} is open but could not be closed"
        ))),
        CloseOutcome::NoAttempt => Err(AppError::NotFound("attempt")),
    }
}

async fn media(
    State(state): State<AppState>,
    candidate: CandidateCaller,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let attempt = own_attempt(&state, &candidate, &id).await?;
    let bank = crate::banks::load_bank(&state, &attempt.bank_version_id).await?;
    let paper = parse_paper(&attempt.paper)?;
    let path = format!("media/{name}");
    if !paper_shows_media(&paper, &bank, &path) {
        return Err(AppError::NotFound("media file"));
    }
    let bytes = bank
        .media()
        .get(&path)
        .ok_or(AppError::NotFound("media file"))?
        .clone();
    Ok(media_response(&path, bytes))
}

/// A bank media file as served to a browser: its image type, shown as an image and never run
/// as a document of this origin (sandbox CSP, nosniff). Used for candidates and graders.
pub(super) fn media_response(path: &str, bytes: Vec<u8>) -> Response {
    let content_type = match path
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // An SVG is shown as an image, never run as a document of this origin.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ReasonRequest {
    reason: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExtraTimeRequest {
    seconds: i64,
    reason: String,
}

/// What staff see of an attempt's clock.
#[derive(Debug, Serialize)]
struct AttemptTimeView {
    id: String,
    status: &'static str,
    started_at: String,
    deadline: String,
    server_time: String,
}

impl From<&Attempt> for AttemptTimeView {
    fn from(attempt: &Attempt) -> Self {
        Self {
            id: attempt.id.clone(),
            status: attempt.status.as_str(),
            started_at: rfc3339_ms(attempt.started_at),
            deadline: rfc3339_ms(attempt.deadline),
            server_time: rfc3339_ms(now_ms()),
        }
    }
}

fn check_reason(reason: &str) -> Result<String, AppError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::Invalid(
            "reason must be 1 to 500 characters: say why (it is kept in the record)".to_owned(),
        ));
    }
    Ok(reason.to_owned())
}

/// What an attempt's time is being changed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeAction {
    Pause,
    ExtraTime,
}

/// An attempt the calling staff member may keep time for: the candidate's site staff and
/// admins; for a pause or resume also a proctor watching the candidate's room.
async fn attempt_for_staff(
    state: &AppState,
    caller: &Caller,
    id: &str,
    action: TimeAction,
) -> Result<Attempt, AppError> {
    let attempt = state
        .storage
        .attempt(id)
        .await?
        .ok_or(AppError::NotFound("attempt"))?;
    let registration = state
        .storage
        .registration(&attempt.registration_id)
        .await?
        .ok_or(AppError::NotFound("attempt"))?;
    match action {
        TimeAction::ExtraTime => access::keep_attempt_time(caller, &registration.site_id)?,
        TimeAction::Pause => {
            let watches = match (&registration.room_id, caller.role) {
                (Some(room_id), Role::Proctor) => {
                    state
                        .storage
                        .proctor_watches_room(&caller.user_id, room_id)
                        .await?
                }
                _ => false,
            };
            access::pause_attempt(caller, &registration.site_id, watches)?;
        }
    }
    Ok(attempt)
}

fn adjustment(caller: &Caller, reason: String) -> TimeAdjustment {
    TimeAdjustment {
        id: random::hex_id(),
        actor: caller.user_id.clone(),
        reason,
        at: now_ms(),
    }
}

async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<ReasonRequest>,
) -> Result<JsonResponse<AttemptTimeView>, AppError> {
    let attempt = attempt_for_staff(&state, &caller, &id, TimeAction::Pause).await?;
    let reason = check_reason(&request.reason)?;
    let audit = audit_entry(
        &caller.user_id,
        "attempt.pause",
        &format!("attempt:{id}"),
        &request,
    );
    let paused = state
        .storage
        .pause_attempt(&id, &adjustment(&caller, reason), &audit)
        .await?;
    match paused {
        Some(attempt) if attempt.status == AttemptStatus::Paused => {
            Ok(JsonResponse(AttemptTimeView::from(&attempt)))
        }
        _ => Err(not_running(&attempt)),
    }
}

/// Why an attempt could not be paused.
fn not_running(attempt: &Attempt) -> AppError {
    match attempt.status {
        AttemptStatus::Paused => refused(
            StatusCode::CONFLICT,
            "attempt_paused",
            "the attempt is paused already",
        ),
        status if status.is_closed() => closed_error(),
        _ => refused(
            StatusCode::CONFLICT,
            "deadline_passed",
            format!(
                "the attempt's deadline {} has passed; it cannot be paused",
                rfc3339_ms(attempt.deadline)
            ),
        ),
    }
}

async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<ReasonRequest>,
) -> Result<JsonResponse<AttemptTimeView>, AppError> {
    let attempt = attempt_for_staff(&state, &caller, &id, TimeAction::Pause).await?;
    let reason = check_reason(&request.reason)?;
    let audit = audit_entry(
        &caller.user_id,
        "attempt.resume",
        &format!("attempt:{id}"),
        &request,
    );
    let resumed = state
        .storage
        .resume_attempt(&id, &adjustment(&caller, reason), &audit)
        .await?;
    match resumed {
        Some(attempt) => Ok(JsonResponse(AttemptTimeView::from(&attempt))),
        None if attempt.status.is_closed() => Err(closed_error()),
        None => Err(refused(
            StatusCode::CONFLICT,
            "attempt_not_paused",
            "the attempt is not paused",
        )),
    }
}

fn check_seconds(seconds: i64) -> Result<(), AppError> {
    if (1..=MAX_EXTRA_SECONDS).contains(&seconds) {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "seconds must be between 1 and {MAX_EXTRA_SECONDS}"
        )))
    }
}

async fn grant(
    state: &AppState,
    caller: &Caller,
    registration_id: &str,
    request: &ExtraTimeRequest,
) -> Result<(), AppError> {
    check_seconds(request.seconds)?;
    let reason = check_reason(&request.reason)?;
    let audit = audit_entry(
        &caller.user_id,
        "registration.extra_time",
        &format!("registration:{registration_id}"),
        request,
    );
    let granted = state
        .storage
        .grant_extra_time(
            registration_id,
            request.seconds,
            &adjustment(caller, reason),
            &audit,
        )
        .await?;
    if granted { Ok(()) } else { Err(closed_error()) }
}

async fn extra_time_for_attempt(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<ExtraTimeRequest>,
) -> Result<JsonResponse<AttemptTimeView>, AppError> {
    let attempt = attempt_for_staff(&state, &caller, &id, TimeAction::ExtraTime).await?;
    grant(&state, &caller, &attempt.registration_id, &request).await?;
    let attempt = state
        .storage
        .attempt(&id)
        .await?
        .ok_or(AppError::NotFound("attempt"))?;
    Ok(JsonResponse(AttemptTimeView::from(&attempt)))
}

async fn extra_time_for_registration(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<ExtraTimeRequest>,
) -> Result<JsonResponse<Value>, AppError> {
    let registration = state
        .storage
        .registration(&id)
        .await?
        .ok_or(AppError::NotFound("registration"))?;
    access::keep_attempt_time(&caller, &registration.site_id).map_err(|error| match error {
        AppError::NotFound(_) => AppError::NotFound("registration"),
        other => other,
    })?;
    grant(&state, &caller, &id, &request).await?;
    let registration = state
        .storage
        .registration(&id)
        .await?
        .ok_or(AppError::NotFound("registration"))?;
    let attempt = state.storage.attempt_of_registration(&id).await?;
    Ok(JsonResponse(json!({
        "registration": id,
        "extra_time_secs": registration.extra_time_secs,
        "attempt": attempt.as_ref().map(AttemptTimeView::from),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, site: Option<&str>) -> Caller {
        Caller {
            user_id: "u".to_owned(),
            username: "u".to_owned(),
            role,
            organization_id: None,
            site_id: site.map(str::to_owned),
            session_id: "s".to_owned(),
        }
    }

    #[test]
    fn a_proctor_pauses_only_in_a_room_their_current_draw_gives_them() {
        let proctor = caller(Role::Proctor, None);
        assert!(access::pause_attempt(&proctor, "site1", true).is_ok());
        assert!(matches!(
            access::pause_attempt(&proctor, "site1", false),
            Err(AppError::NotFound(_))
        ));
        // Extra time is for site staff and admins only.
        assert!(matches!(
            access::keep_attempt_time(&proctor, "site1"),
            Err(AppError::Forbidden)
        ));
    }

    #[test]
    fn site_staff_keep_time_for_their_own_site_only_and_others_may_not() {
        let desk = caller(Role::Site, Some("site1"));
        assert!(access::pause_attempt(&desk, "site1", false).is_ok());
        assert!(access::keep_attempt_time(&desk, "site1").is_ok());
        assert!(matches!(
            access::keep_attempt_time(&desk, "site2"),
            Err(AppError::NotFound(_))
        ));
        assert!(access::keep_attempt_time(&caller(Role::Admin, None), "site9").is_ok());
        for role in [Role::Org, Role::Grader, Role::Auditor, Role::Candidate] {
            assert!(
                matches!(
                    access::pause_attempt(&caller(role, Some("site1")), "site1", true),
                    Err(AppError::Forbidden)
                ),
                "{role:?}"
            );
        }
    }
}
