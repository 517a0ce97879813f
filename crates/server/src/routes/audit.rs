//! `GET /audit-log?limit=N` (admin, auditor): the newest audit entries, newest first.

use axum::Json as JsonResponse;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::{Route, Rule, access};
use crate::app::{AppState, rfc3339};
use crate::auth::{Caller, Role};
use crate::error::AppError;

pub(super) fn routes() -> Vec<Route> {
    vec![Route::new(
        Method::GET,
        "/audit-log",
        "The newest audit-log entries, newest first",
        Rule::Staff(&[Role::Admin, Role::Auditor]),
        get(audit_log),
    )]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Window {
    limit: Option<i64>,
}

#[derive(Debug, Serialize)]
struct EntryView {
    actor: String,
    at: String,
    action: String,
    object: String,
    payload_sha256: String,
}

async fn audit_log(
    State(state): State<AppState>,
    caller: Caller,
    window: Result<Query<Window>, axum::extract::rejection::QueryRejection>,
) -> Result<JsonResponse<Vec<EntryView>>, AppError> {
    access::read_audit_log(&caller)?;
    let Query(window) = window.map_err(|rejection| AppError::BadRequest {
        code: "invalid_query",
        message: rejection.body_text(),
    })?;
    let limit = window.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::Invalid(
            "limit must be between 1 and 1000".to_owned(),
        ));
    }
    let entries = state.storage.audit_log(limit).await?;
    Ok(JsonResponse(
        entries
            .into_iter()
            .map(|entry| EntryView {
                actor: entry.actor,
                at: rfc3339(entry.at),
                action: entry.action,
                object: entry.object,
                payload_sha256: entry.payload_sha256,
            })
            .collect(),
    ))
}
