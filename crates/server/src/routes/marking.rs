//! Manual grading of essay and practical items ([`crate::marking`]).
//!
//! | route | who |
//! |---|---|
//! | `GET /sittings/{id}/marking` | admin, auditor; org (owner) |
//! | `PUT /sittings/{id}/marking/settings` `{"double_marking", "threshold"?}` | admin; org (owner) |
//! | `POST /sittings/{id}/marking/assignments` `{"item_id", "graders"}` | admin; org (owner) |
//! | `GET /sittings/{id}/marking/progress` | admin, auditor; org (owner); graders assigned in the sitting |
//! | `GET /marking/tasks/next` `?sitting=` | grader |
//! | `POST /marking/tasks/{id}/marks` `{"criteria", "comment"?}` | grader (their own task) |
//! | `GET /marking/tasks/{id}/media/{name}` | grader (images of their own task's item) |
//!
//! What a grader receives names no candidate: no name, ID number, ticket, registration or
//! attempt id; a task id is random per hand-out. Nor does it carry another grader's mark, and
//! the answer to a mark gives only the grader's own total (a final score would give the first
//! marker's score away to the second).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json as JsonResponse;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use xcert_bank::{Bank, ItemType};

use super::{Route, Rule, access};
use crate::app::{AppState, audit_entry, now_seconds, rfc3339};
use crate::auth::{Caller, Role};
use crate::delivery::paper::{DrawnPaper, points_json};
use crate::error::AppError;
use crate::extract::Json;
use crate::marking::{
    CriterionLimit, LEASE_SECS, MAX_COMMENT_CHARS, check_scores, points_to_hundredths,
    scale_criteria,
};
use crate::random;
use crate::storage::marking::{
    AssignmentChange, MarkOutcome, MarkingSettings, MarkingTask, NewMark, SettingsOutcome,
    TaskRequest,
};
use crate::storage::sittings::Sitting;

pub(super) fn routes() -> Vec<Route> {
    const OWNERS: &[Role] = &[Role::Admin, Role::Org];
    vec![
        Route::new(
            Method::GET,
            "/sittings/{id}/marking",
            "A sitting's marking set-up: settings, essay/practical items in its papers, assigned graders, the organization's graders",
            Rule::Staff(&[Role::Admin, Role::Auditor, Role::Org]),
            get(overview),
        ),
        Route::new(
            Method::PUT,
            "/sittings/{id}/marking/settings",
            "Single or double marking for a sitting, with the threshold (points) above which a third grader marks",
            Rule::Staff(OWNERS),
            put(settings),
        ),
        Route::new(
            Method::POST,
            "/sittings/{id}/marking/assignments",
            "Set the graders of one essay/practical item of a sitting (replaces its grader list)",
            Rule::Staff(OWNERS),
            post(assign),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/marking/progress",
            "Marking progress of a sitting per item and per grader",
            Rule::Staff(&[Role::Admin, Role::Auditor, Role::Org, Role::Grader]),
            get(progress),
        ),
        Route::new(
            Method::GET,
            "/marking/tasks/next",
            "The next script for the calling grader, blind (no candidate identity), leased to them",
            Rule::Staff(&[Role::Grader]),
            get(next_task),
        ),
        Route::new(
            Method::POST,
            "/marking/tasks/{id}/marks",
            "Mark a script: one score per rubric criterion, optional comment",
            Rule::Staff(&[Role::Grader]),
            post(mark),
        ),
        Route::new(
            Method::GET,
            "/marking/tasks/{id}/media/{*name}",
            "An image of the item of one of the grader's tasks",
            Rule::Staff(&[Role::Grader]),
            get(media),
        ),
    ]
}

fn results_published() -> AppError {
    AppError::refused(
        StatusCode::CONFLICT,
        "results_published",
        "the sitting's results are published: marking is closed; correct a score through the results correction instead",
    )
}

async fn sitting_of(state: &AppState, id: &str) -> Result<Sitting, AppError> {
    state
        .storage
        .sitting(id)
        .await?
        .ok_or(AppError::NotFound("sitting"))
}

/// An essay/practical item of the sitting's bank and its points in a drawn paper of the
/// sitting (`None` when no paper drawn so far holds it).
async fn paper_points(
    state: &AppState,
    sitting_id: &str,
    item_id: &str,
) -> Result<Option<u32>, AppError> {
    let papers = state
        .storage
        .papers_mentioning_item(sitting_id, item_id, 4)
        .await?;
    for paper in papers {
        let paper: DrawnPaper = serde_json::from_str(&paper).map_err(|error| {
            AppError::Internal(format!("a stored paper does not parse: {error}"))
        })?;
        if let Some((_, item)) = paper.item(item_id) {
            return Ok(Some(item.points));
        }
    }
    Ok(None)
}

fn is_manual(item_type: ItemType) -> bool {
    !item_type.is_auto_gradable()
}

#[derive(Debug, Serialize)]
struct GraderView {
    id: String,
    username: String,
}

#[derive(Debug, Serialize)]
struct MarkableItem {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    /// The bank's points.
    points: Value,
    /// The points in the sitting's papers (`null` while no paper holds the item).
    paper_points: Option<Value>,
    /// Whether some drawn paper of the sitting holds the item (only then can it be assigned).
    in_papers: bool,
    criteria: usize,
    graders: Vec<GraderView>,
}

#[derive(Debug, Serialize)]
struct SettingsView {
    double_marking: bool,
    threshold: Value,
    updated_at: Option<String>,
}

fn settings_view(settings: Option<&MarkingSettings>) -> SettingsView {
    settings.map_or(
        SettingsView {
            double_marking: false,
            threshold: json!(0),
            updated_at: None,
        },
        |settings| SettingsView {
            double_marking: settings.double_marking,
            threshold: points_json(u32::try_from(settings.threshold_hundredths).unwrap_or(0)),
            updated_at: Some(rfc3339(settings.updated_at)),
        },
    )
}

async fn overview(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Value>, AppError> {
    let sitting = sitting_of(&state, &id).await?;
    access::read_marking(&caller, &sitting.organization_id)?;
    let bank = crate::banks::load_bank(&state, &sitting.bank_version_id).await?;
    let settings = state.storage.marking_settings(&sitting.id).await?;
    let mut assigned: BTreeMap<String, Vec<GraderView>> = BTreeMap::new();
    for assignment in state.storage.marking_assignments(&sitting.id).await? {
        assigned
            .entry(assignment.item_id)
            .or_default()
            .push(GraderView {
                id: assignment.grader_id,
                username: assignment.grader_username,
            });
    }
    let mut items = Vec::new();
    for item in bank
        .items()
        .iter()
        .filter(|item| is_manual(item.item_type()))
    {
        let in_paper = paper_points(&state, &sitting.id, item.id()).await?;
        items.push(MarkableItem {
            id: item.id().to_owned(),
            kind: item.item_type().as_str().to_owned(),
            points: points_json(item.points().hundredths()),
            paper_points: in_paper.map(points_json),
            in_papers: in_paper.is_some(),
            criteria: item.rubric().map_or(0, |rubric| rubric.criteria().len()),
            graders: assigned.remove(item.id()).unwrap_or_default(),
        });
    }
    let graders: Vec<GraderView> = state
        .storage
        .staff_of_organization(&sitting.organization_id)
        .await?
        .into_iter()
        .filter(|user| user.role == Role::Grader)
        .map(|user| GraderView {
            id: user.id,
            username: user.username,
        })
        .collect();
    Ok(JsonResponse(json!({
        "sitting": sitting.id,
        "published": sitting.published_at.is_some(),
        "settings": settings_view(settings.as_ref()),
        "items": items,
        "graders": graders,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsRequest {
    double_marking: bool,
    #[serde(default)]
    threshold: Option<Value>,
}

async fn settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<SettingsRequest>,
) -> Result<JsonResponse<SettingsView>, AppError> {
    let sitting = sitting_of(&state, &id).await?;
    access::manage_marking(&caller, &sitting.organization_id)?;
    let threshold = match (&request.threshold, request.double_marking) {
        (Some(value), _) => points_to_hundredths(value)
            .map_err(|problem| AppError::Invalid(format!("threshold: {problem}")))?,
        (None, false) => 0,
        (None, true) => {
            return Err(AppError::Invalid(
                "double marking needs a `threshold` in points: two marks whose totals differ by more go to a third grader (0 sends every disagreement)".to_owned(),
            ));
        }
    };
    if sitting.published_at.is_some() {
        return Err(results_published());
    }
    let settings = MarkingSettings {
        sitting_id: sitting.id.clone(),
        double_marking: request.double_marking,
        threshold_hundredths: i64::from(threshold),
        updated_by: caller.user_id.clone(),
        updated_at: now_seconds(),
    };
    let audit = audit_entry(
        &caller.user_id,
        "marking.settings",
        &format!("sitting:{}", sitting.id),
        &json!({"double_marking": request.double_marking, "threshold_hundredths": threshold}),
    );
    match state
        .storage
        .save_marking_settings(&settings, &audit)
        .await?
    {
        SettingsOutcome::Saved => Ok(JsonResponse(settings_view(Some(&settings)))),
        SettingsOutcome::Published => Err(results_published()),
        SettingsOutcome::MarkingStarted => Err(AppError::refused(
            StatusCode::CONFLICT,
            "marking_started",
            "marks have been recorded in this sitting: single or double marking is fixed once marking starts, so every script is marked by the same rule",
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignmentRequest {
    item_id: String,
    graders: Vec<String>,
}

async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<AssignmentRequest>,
) -> Result<JsonResponse<Value>, AppError> {
    let sitting = sitting_of(&state, &id).await?;
    access::manage_marking(&caller, &sitting.organization_id)?;
    if sitting.published_at.is_some() {
        return Err(results_published());
    }
    let bank = crate::banks::load_bank(&state, &sitting.bank_version_id).await?;
    let item_id = request.item_id.trim();
    let Some(item) = bank.item(item_id) else {
        return Err(AppError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "item_not_in_sitting",
            format!(
                "item `{item_id}` is not in the bank version of this sitting; GET /sittings/{}/marking lists the items to mark",
                sitting.id
            ),
        )
        .with_detail("item_id", item_id));
    };
    if !is_manual(item.item_type()) {
        return Err(AppError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_manually_graded",
            format!(
                "item `{item_id}` is a {} item, graded by the server; only essay and practical items are marked by graders",
                item.item_type().as_str()
            ),
        )
        .with_detail("item_id", item_id));
    }
    if paper_points(&state, &sitting.id, item_id).await?.is_none() {
        return Err(AppError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "item_not_in_sitting",
            format!(
                "item `{item_id}` is in no paper drawn in this sitting so far; assign graders to items candidates have been given"
            ),
        )
        .with_detail("item_id", item_id));
    }
    let graders = state
        .storage
        .staff_of_organization(&sitting.organization_id)
        .await?;
    let mut grader_ids: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for named in &request.graders {
        let named = named.trim();
        let found = graders
            .iter()
            .find(|user| user.role == Role::Grader && (user.id == named || user.username == named));
        match found {
            Some(user) if !grader_ids.contains(&user.id) => grader_ids.push(user.id.clone()),
            Some(_) => {}
            None => unknown.push(named.to_owned()),
        }
    }
    if !unknown.is_empty() {
        return Err(AppError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_grader",
            format!(
                "not a grader of this sitting's organization: {}; give the ids or usernames of staff with role `grader` of the organization",
                unknown.join(", ")
            ),
        )
        .with_detail("graders", unknown));
    }
    let change = AssignmentChange {
        sitting_id: sitting.id.clone(),
        item_id: item_id.to_owned(),
        grader_ids: grader_ids.clone(),
        assigned_by: caller.user_id.clone(),
        at: now_seconds(),
    };
    let audit = audit_entry(
        &caller.user_id,
        "marking.assign",
        &format!("sitting:{}", sitting.id),
        &json!({"item_id": item_id, "graders": grader_ids}),
    );
    if !state
        .storage
        .replace_marking_assignment(&change, &audit)
        .await?
    {
        return Err(results_published());
    }
    let assigned: Vec<GraderView> = state
        .storage
        .marking_assignments(&sitting.id)
        .await?
        .into_iter()
        .filter(|assignment| assignment.item_id == item_id)
        .map(|assignment| GraderView {
            id: assignment.grader_id,
            username: assignment.grader_username,
        })
        .collect();
    Ok(JsonResponse(
        json!({"item_id": item_id, "graders": assigned}),
    ))
}

async fn progress(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Value>, AppError> {
    let sitting = sitting_of(&state, &id).await?;
    let grader_assigned = caller.role == Role::Grader
        && state
            .storage
            .grader_assigned_in_sitting(&sitting.id, &caller.user_id)
            .await?;
    access::read_marking_progress(&caller, &sitting.organization_id, grader_assigned)?;
    let settings = state.storage.marking_settings(&sitting.id).await?;
    let (items, graders) = state
        .storage
        .marking_progress(&sitting.id, now_seconds())
        .await?;
    let items: Vec<Value> = items
        .into_iter()
        .map(|item| {
            json!({
                "item_id": item.item_id,
                "scripts": item.total,
                "unmarked": item.unmarked,
                "marked_once": item.marked_once,
                "double_marked": item.double_marked,
                "third_marked": item.third_marked,
                "awaiting_third": item.awaiting_third,
                "done": item.done,
                "in_hand": item.in_hand,
            })
        })
        .collect();
    // A grader sees their own line only.
    let graders: Vec<Value> = graders
        .into_iter()
        .filter(|grader| caller.role != Role::Grader || grader.grader_id == caller.user_id)
        .map(|grader| {
            json!({
                "grader_id": grader.grader_id,
                "username": grader.username,
                "marks": grader.marks,
                "in_hand": grader.in_hand,
            })
        })
        .collect();
    let complete = items.iter().all(|item| item["done"] == item["scripts"]);
    Ok(JsonResponse(json!({
        "sitting": sitting.id,
        "published": sitting.published_at.is_some(),
        "settings": settings_view(settings.as_ref()),
        "complete": complete,
        "items": items,
        "graders": graders,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NextQuery {
    sitting: Option<String>,
}

/// What a grader sees of a script.
#[derive(Debug, Serialize)]
struct TaskView {
    task: String,
    lease_expires_at: String,
    sitting: Value,
    item: Value,
    criteria: Vec<Value>,
    /// Whether the criteria's maxima were scaled from the bank's points to the paper's.
    scaled: bool,
    /// The candidate's answer; `null` when they saved none.
    response: Value,
}

/// The task's item in the attempt's paper and in the bank, and the criteria with their
/// maxima in this paper.
struct ScriptItem {
    bank: Arc<Bank>,
    paper_points: u32,
    criteria: Vec<CriterionLimit>,
    scaled: bool,
}

async fn script_item(state: &AppState, task: &MarkingTask) -> Result<ScriptItem, AppError> {
    let attempt = state
        .storage
        .attempt(&task.attempt_id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("task {} has no attempt", task.task_id)))?;
    let paper: DrawnPaper = serde_json::from_str(&attempt.paper)
        .map_err(|error| AppError::Internal(format!("a stored paper does not parse: {error}")))?;
    let paper_points = paper
        .item(&task.item_id)
        .map(|(_, item)| item.points)
        .or_else(|| u32::try_from(task.max_hundredths).ok())
        .unwrap_or(0);
    let bank = crate::banks::load_bank(state, &attempt.bank_version_id).await?;
    let item = bank.item(&task.item_id).ok_or_else(|| {
        AppError::Internal(format!("item {} is not in its bank version", task.item_id))
    })?;
    let rubric: Vec<(String, u32)> = item
        .rubric()
        .map(|rubric| {
            rubric
                .criteria()
                .iter()
                .map(|criterion| (criterion.text().to_owned(), criterion.points().hundredths()))
                .collect()
        })
        .unwrap_or_default();
    let bank_points = item.points().hundredths();
    let maxima = scale_criteria(
        &rubric.iter().map(|(_, points)| *points).collect::<Vec<_>>(),
        bank_points,
        paper_points,
    );
    let criteria = rubric
        .into_iter()
        .zip(maxima)
        .map(|((text, _), max_hundredths)| CriterionLimit {
            text,
            max_hundredths,
        })
        .collect();
    Ok(ScriptItem {
        bank: Arc::clone(&bank),
        paper_points,
        criteria,
        scaled: bank_points != paper_points,
    })
}

fn task_media_url(task_id: &str, media_path: &str) -> String {
    let name = media_path.strip_prefix("media/").unwrap_or(media_path);
    format!("/api/v1/marking/tasks/{task_id}/media/{name}")
}

async fn task_view(state: &AppState, task: MarkingTask) -> Result<TaskView, AppError> {
    let script = script_item(state, &task).await?;
    let sitting = sitting_of(state, &task.sitting_id).await?;
    let item = script
        .bank
        .item(&task.item_id)
        .ok_or(AppError::NotFound("item"))?;
    let render = |markdown: &str| {
        xcert_bank::render_html(markdown, |path| task_media_url(&task.task_id, path))
    };
    let response = match state
        .storage
        .response_of(&task.attempt_id, &task.item_id)
        .await?
    {
        None => Value::Null,
        Some(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
    };
    let criteria = script
        .criteria
        .iter()
        .enumerate()
        .map(|(index, criterion)| {
            json!({
                "number": index + 1,
                "text": render(&criterion.text),
                "max": points_json(criterion.max_hundredths),
            })
        })
        .collect();
    Ok(TaskView {
        lease_expires_at: rfc3339(task.expires_at),
        sitting: json!({"id": sitting.id, "title": sitting.title}),
        item: json!({
            "id": task.item_id,
            "type": item.item_type().as_str(),
            "stem": render(item.stem()),
            "points": points_json(script.paper_points),
        }),
        criteria,
        scaled: script.scaled,
        response,
        task: task.task_id,
    })
}

async fn next_task(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<NextQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    access::mark_scripts(&caller)?;
    let Query(query) = query.map_err(|rejection| AppError::BadRequest {
        code: "invalid_query",
        message: rejection.body_text(),
    })?;
    if let Some(sitting_id) = &query.sitting {
        let sitting = state
            .storage
            .sitting(sitting_id)
            .await?
            .filter(|sitting| caller.organization_id.as_deref() == Some(&sitting.organization_id))
            .ok_or(AppError::NotFound("sitting"))?;
        if sitting.published_at.is_some() {
            return Err(results_published());
        }
    }
    let request = TaskRequest {
        grader_id: caller.user_id.clone(),
        sitting_id: query.sitting.clone(),
        now: now_seconds(),
        lease_secs: LEASE_SECS,
        new_task_id: random::hex_id(),
    };
    let audit = audit_entry(
        &caller.user_id,
        "marking.hand_out",
        &format!("task:{}", request.new_task_id),
        &json!({"sitting": query.sitting}),
    );
    match state.storage.next_marking_task(&request, &audit).await? {
        Some(task) => Ok(JsonResponse(task_view(&state, task).await?).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkRequest {
    criteria: Vec<Value>,
    #[serde(default)]
    comment: Option<String>,
}

/// The caller's own task, else 404 (another grader's task is not theirs to know about).
async fn own_task(
    state: &AppState,
    caller: &Caller,
    task_id: &str,
) -> Result<MarkingTask, AppError> {
    state
        .storage
        .marking_task(task_id)
        .await?
        .filter(|task| task.grader_id == caller.user_id)
        .ok_or(AppError::NotFound("task"))
}

async fn mark(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<MarkRequest>,
) -> Result<JsonResponse<Value>, AppError> {
    access::mark_scripts(&caller)?;
    let task = own_task(&state, &caller, &id).await?;
    let comment = request
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|comment| !comment.is_empty())
        .map(str::to_owned);
    if comment
        .as_ref()
        .is_some_and(|comment| comment.chars().count() > MAX_COMMENT_CHARS)
    {
        return Err(AppError::Invalid(format!(
            "comment: at most {MAX_COMMENT_CHARS} characters"
        )));
    }
    let script = script_item(&state, &task).await?;
    let scores = check_scores(&request.criteria, &script.criteria).map_err(|problems| {
        AppError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_marks",
            format!("the marks were not recorded: {}", problems.join("; ")),
        )
        .with_detail("problems", problems)
    })?;
    let total: u32 = scores.iter().sum();
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let new = NewMark {
        task_id: task.task_id.clone(),
        grader_id: caller.user_id.clone(),
        criteria: scores.clone(),
        comment: comment.clone(),
        at_ms: now_ms,
    };
    let audit = audit_entry(
        &caller.user_id,
        "marking.mark",
        &format!("script:{}/{}", task.attempt_id, task.item_id),
        &json!({"task": task.task_id, "criteria": scores, "comment": comment}),
    );
    match state.storage.record_mark(&new, &audit).await? {
        MarkOutcome::Recorded { .. } => Ok(JsonResponse(json!({
            "task": task.task_id,
            "criteria": scores.iter().map(|&score| points_json(score)).collect::<Vec<_>>(),
            "total": points_json(total),
        }))),
        MarkOutcome::UnknownTask => Err(AppError::NotFound("task")),
        MarkOutcome::Published => Err(results_published()),
        MarkOutcome::NotAssigned => Err(AppError::refused(
            StatusCode::FORBIDDEN,
            "not_assigned",
            "you are no longer assigned to this item; take the next script",
        )),
        MarkOutcome::AlreadyMarked => Err(AppError::refused(
            StatusCode::CONFLICT,
            "already_marked",
            "you have marked this script already; a grader marks a script once",
        )),
        MarkOutcome::LeaseLost => Err(AppError::refused(
            StatusCode::CONFLICT,
            "lease_lost",
            format!(
                "this task's lease ran out ({} min) and the script went to another grader; nothing was recorded, take the next script",
                LEASE_SECS / 60
            ),
        )),
    }
}

async fn media(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, AppError> {
    access::mark_scripts(&caller)?;
    let task = own_task(&state, &caller, &id).await?;
    let script = script_item(&state, &task).await?;
    let path = format!("media/{name}");
    let shown = script
        .bank
        .item(&task.item_id)
        .is_some_and(|item| item.media().contains_key(&path));
    let bytes = script
        .bank
        .media()
        .get(&path)
        .filter(|_| shown)
        .ok_or(AppError::NotFound("media file"))?
        .clone();
    Ok(super::attempts::media_response(&path, bytes))
}
