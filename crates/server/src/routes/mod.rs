//! The HTTP API under `/api/v1`, one module per resource, each exposing `router()`.
//!
//! Authorization is deny by default: every handler that touches an object takes a
//! [`Caller`](crate::auth::Caller) and checks, through `crate::routes::access`, that the caller's
//! role and scope allow that exact object before reading or writing it.

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::app::AppState;
use crate::error::AppError;

pub(crate) mod access;
mod organizations;
mod staff_sessions;

pub(crate) fn router() -> Router<AppState> {
    let api = Router::new()
        .route("/time", get(server_time))
        .merge(staff_sessions::router())
        .merge(organizations::router());
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .nest("/api/v1", api)
        .fallback(not_found)
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// The process can serve: the database answers.
async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    state.database_ready().await?;
    Ok(axum::Json(
        json!({"status": "ready", "database": state.storage.backend()}),
    ))
}

/// CONTRACT section 3: `{"server_time": RFC 3339}`, for clients to correct their clock offset.
async fn server_time() -> impl IntoResponse {
    let now = jiff::Timestamp::now();
    let now = now.round(jiff::Unit::Millisecond).unwrap_or(now);
    axum::Json(json!({"server_time": now.to_string()}))
}

async fn not_found() -> AppError {
    AppError::NotFound("endpoint")
}
