//! A sitting's drawn papers: drawing them ahead of the first start, and the draw record an
//! auditor re-derives every paper from (docs/OPERATIONS.md, "Papers").
//!
//! | route | who |
//! |---|---|
//! | `POST /sittings/{id}/papers` | admin; org (owner) |
//! | `GET /sittings/{id}/papers/record` | admin, auditor (audited: it holds the sitting's secret) |

use axum::Json as JsonResponse;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};

use super::attempts::sitting_papers;
use super::{Route, Rule, access};
use crate::app::{AppState, audit_entry};
use crate::auth::{Caller, Role};
use crate::delivery::{draws, rfc3339_ms};
use crate::error::AppError;
use crate::storage::papers::SittingDraw;
use crate::storage::sittings::Sitting;

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::POST,
            "/sittings/{id}/papers",
            "Draw the sitting's papers now, under the exposure cap (201; 200 when drawn already)",
            Rule::Staff(&[Role::Admin, Role::Org]),
            post(draw),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/papers/record",
            "The sitting's draw record with its secret, to re-derive every paper (audited)",
            Rule::Staff(&[Role::Admin, Role::Auditor]),
            get(record),
        ),
    ]
}

/// What staff see of a sitting's draw (no secret).
#[derive(Debug, Serialize)]
struct DrawView {
    sitting: String,
    papers: i64,
    first_papers: usize,
    latecomers: usize,
    exposure_limit: i64,
    max_rate: f64,
    candidates_sha256: String,
    bank_hash: String,
    blueprint_hash: String,
    drawn_by: String,
    drawn_at: String,
}

impl DrawView {
    fn new(draw: &SittingDraw, max_rate: f64) -> Self {
        Self {
            sitting: draw.sitting_id.clone(),
            papers: draw.papers,
            first_papers: draw.candidates.len(),
            latecomers: draw.latecomers.len(),
            exposure_limit: draw.exposure_limit,
            max_rate,
            candidates_sha256: draw.candidates_sha256.clone(),
            bank_hash: draw.bank_hash.clone(),
            blueprint_hash: draw.blueprint_hash.clone(),
            drawn_by: draw.drawn_by.clone(),
            drawn_at: rfc3339_ms(draw.drawn_at),
        }
    }
}

async fn existing_sitting(state: &AppState, id: &str) -> Result<Sitting, AppError> {
    state
        .storage
        .sitting(id)
        .await?
        .ok_or(AppError::NotFound("sitting"))
}

fn max_rate(sitting: &Sitting) -> f64 {
    xcert_assembly::Blueprint::parse(&sitting.blueprint)
        .map(|blueprint| blueprint.max_exposure())
        .unwrap_or(xcert_assembly::DEFAULT_MAX_EXPOSURE)
}

async fn stored_draw(state: &AppState, sitting_id: &str) -> Result<SittingDraw, AppError> {
    state
        .storage
        .sitting_draw(sitting_id)
        .await?
        .ok_or_else(|| AppError::Internal(format!("sitting {sitting_id}: the draw vanished")))
}

async fn draw(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let sitting = existing_sitting(&state, &id).await?;
    access::draw_papers(&caller, &sitting.organization_id)?;
    if !state.storage.sitting_draw_exists(&sitting.id).await?
        && state
            .storage
            .sitting_registration_ids(&sitting.id)
            .await?
            .is_empty()
    {
        return Err(AppError::refused(
            StatusCode::CONFLICT,
            "no_registrations",
            "the sitting has no registered candidates yet: register them, then draw the papers",
        ));
    }
    let bank = crate::banks::load_bank(&state, &sitting.bank_version_id).await?;
    let papers = sitting_papers(&state, &sitting.id, &sitting.blueprint, &bank).await?;
    let drawn_now = draws::ensure_drawn(&state, &papers, &bank, &sitting, &caller.user_id).await?;
    let _ = papers.filled.set(());
    let view = DrawView::new(&stored_draw(&state, &sitting.id).await?, max_rate(&sitting));
    let status = if drawn_now {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, JsonResponse(view)).into_response())
}

async fn record(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Value>, AppError> {
    access::read_paper_record(&caller)?;
    let sitting = existing_sitting(&state, &id).await?;
    let draw = state
        .storage
        .sitting_draw(&sitting.id)
        .await?
        .ok_or_else(|| {
            AppError::refused(
                StatusCode::NOT_FOUND,
                "not_drawn",
                "the sitting's papers have not been drawn yet (first start, or POST /sittings/{id}/papers)",
            )
        })?;
    state
        .storage
        .record_audit(&audit_entry(
            &caller.user_id,
            "sitting.papers_record_read",
            &format!("sitting:{}", sitting.id),
            &json!({ "candidates_sha256": draw.candidates_sha256 }),
        ))
        .await?;
    let counts: Value = serde_json::from_str(&draw.exposure_counts)
        .map_err(|error| AppError::Internal(format!("stored exposure counts: {error}")))?;
    let summary = serde_json::to_value(DrawView::new(&draw, max_rate(&sitting)))
        .map_err(|error| AppError::Internal(format!("a draw view: {error}")))?;
    // The summary first, then the record's lists: `latecomers` is the list here, not a count.
    let mut body = summary;
    if let Some(fields) = body.as_object_mut() {
        fields.insert("secret".to_owned(), Value::from(sitting.secret.clone()));
        fields.insert(
            "bank_version".to_owned(),
            Value::from(sitting.bank_version_id.clone()),
        );
        fields.insert(
            "blueprint".to_owned(),
            Value::from(sitting.blueprint.clone()),
        );
        fields.insert("candidates".to_owned(), json!(draw.candidates));
        fields.insert("latecomers".to_owned(), json!(draw.latecomers));
        fields.insert("exposure_counts".to_owned(), counts);
    }
    Ok(JsonResponse(body))
}
