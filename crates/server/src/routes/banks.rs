//! Question-bank versions: upload, list, read, diff, and the source as uploaded.
//!
//! | route | who |
//! |---|---|
//! | `POST /organizations/{id}/banks` | admin; org (their own) |
//! | `GET /organizations/{id}/banks` | admin, auditor; org (their own) |
//! | `GET /banks/{id}` | admin, auditor; org (owner) |
//! | `GET /banks/{id}/diff/{other_id}` | admin, auditor; org (owner of both) |
//! | `GET /banks/{id}/source` | admin, auditor; org (owner) |
//!
//! The upload body is the bank itself, sent raw (`application/toml`, `application/x-tar`,
//! `application/gzip`), so this one route accepts bodies up to
//! [`crate::banks::MAX_UPLOAD_BYTES`]; everything else keeps the global limit.

use std::collections::BTreeMap;

use axum::Json as JsonResponse;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use xcert_bank::{Bank, BankStats, DifficultyBand, ItemType, StatsRow};

use super::{Route, Rule, access};
use crate::app::{AppState, rfc3339};
use crate::auth::{Caller, Role};
use crate::banks::{MAX_UPLOAD_BYTES, load_bank, store_upload};
use crate::error::AppError;
use crate::storage::banks::BankVersion;

pub(super) fn routes() -> Vec<Route> {
    const READERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Org];
    vec![
        Route::new(
            Method::POST,
            "/organizations/{id}/banks",
            "Upload a bank version (raw body: application/toml, application/x-tar or application/gzip)",
            Rule::Staff(&[Role::Admin, Role::Org]),
            post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        ),
        Route::new(
            Method::GET,
            "/organizations/{id}/banks",
            "List an organization's bank versions, newest first",
            Rule::Staff(READERS),
            get(list),
        ),
        Route::new(
            Method::GET,
            "/banks/{id}",
            "One bank version with its statistics",
            Rule::Staff(READERS),
            get(bank_version),
        ),
        Route::new(
            Method::GET,
            "/banks/{id}/diff/{other_id}",
            "Items added, removed and changed from one version to another",
            Rule::Staff(READERS),
            get(diff),
        ),
        Route::new(
            Method::GET,
            "/banks/{id}/source",
            "A bank version's source exactly as uploaded",
            Rule::Staff(READERS),
            get(source),
        ),
    ]
}

/// A bank version as the API shows it.
#[derive(Debug, Serialize)]
struct BankVersionView {
    id: String,
    organization: String,
    certificate: String,
    code: String,
    level: String,
    version: String,
    content_hash: String,
    items: i64,
    by_type: BTreeMap<String, i64>,
    knowledge_points: i64,
    source_format: &'static str,
    uploaded_by: String,
    uploaded_at: String,
}

impl From<BankVersion> for BankVersionView {
    fn from(version: BankVersion) -> Self {
        Self {
            id: version.id,
            organization: version.organization_id,
            certificate: version.certificate_id,
            code: version.certificate_code,
            level: version.level,
            version: version.version,
            content_hash: version.content_hash,
            items: version.item_count,
            by_type: version.items_by_type,
            knowledge_points: version.knowledge_points,
            source_format: version.source_format.as_str(),
            uploaded_by: version.uploaded_by,
            uploaded_at: rfc3339(version.created_at),
        }
    }
}

/// A version with its statistics (`GET /banks/{id}`).
#[derive(Debug, Serialize)]
struct BankVersionDetail {
    #[serde(flatten)]
    version: BankVersionView,
    stats: Value,
}

async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, JsonResponse<BankVersionView>), AppError> {
    access::upload_banks(&caller, &id)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("(none)");
    let (version, bank) = store_upload(
        &state.storage,
        &caller.user_id,
        &id,
        content_type,
        Vec::from(body),
    )
    .await?;
    state.banks.insert(&version.id, bank);
    Ok((StatusCode::CREATED, JsonResponse(version.into())))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Vec<BankVersionView>>, AppError> {
    access::read_banks(&caller, &id)?;
    state
        .storage
        .organization(&id)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let versions = state.storage.bank_versions_of(&id).await?;
    Ok(JsonResponse(
        versions.into_iter().map(BankVersionView::from).collect(),
    ))
}

/// Loads a bank version the caller may read; another organization's version is 404, as if it
/// did not exist.
async fn readable_version(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<BankVersion, AppError> {
    let version = state
        .storage
        .bank_version(id)
        .await?
        .ok_or(AppError::NotFound("bank version"))?;
    access::read_banks(caller, &version.organization_id).map_err(|error| match error {
        AppError::NotFound(_) => AppError::NotFound("bank version"),
        other => other,
    })?;
    Ok(version)
}

async fn bank_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<BankVersionDetail>, AppError> {
    let version = readable_version(&state, &caller, &id).await?;
    let bank = load_bank(&state, &version.id).await?;
    Ok(JsonResponse(BankVersionDetail {
        version: version.into(),
        stats: stats_json(&bank),
    }))
}

async fn diff(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, other_id)): Path<(String, String)>,
) -> Result<JsonResponse<Value>, AppError> {
    let old = readable_version(&state, &caller, &id).await?;
    let new = readable_version(&state, &caller, &other_id).await?;
    if old.certificate_id != new.certificate_id {
        return Err(AppError::Invalid(format!(
            "bank versions of different certificates cannot be compared: {} is {} {} and {} is {} {}",
            old.id, old.certificate_code, old.level, new.id, new.certificate_code, new.level
        )));
    }
    let (old_bank, new_bank) = (
        load_bank(&state, &old.id).await?,
        load_bank(&state, &new.id).await?,
    );
    let changes = xcert_bank::diff(&old_bank, &new_bank);
    Ok(JsonResponse(json!({
        "added": changes.added,
        "removed": changes.removed,
        "changed": changes.changed,
    })))
}

async fn source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let version = readable_version(&state, &caller, &id).await?;
    let (format, bytes) = state
        .storage
        .bank_version_source(&version.id)
        .await?
        .ok_or(AppError::NotFound("bank version"))?;
    let file_name = format!(
        "{}-{}-{}.{}",
        version.certificate_code,
        version.level,
        version.version,
        format.as_str()
    );
    // The name is built from validated codes and a version label; anything outside a safe
    // set is replaced so the header stays well-formed.
    let file_name: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .map_err(|error| AppError::Internal(error.to_string()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// One statistics row: items per type and difficulty band, as `xcert bank stats --json`.
fn row_json(row: &StatsRow, title: Option<&str>) -> Value {
    let by_type: serde_json::Map<String, Value> = ItemType::ALL
        .iter()
        .map(|kind| (kind.as_str().to_owned(), json!(row.by_type(*kind))))
        .collect();
    let by_band: serde_json::Map<String, Value> = DifficultyBand::ALL
        .iter()
        .map(|band| (band.as_str().to_owned(), json!(row.by_band(*band))))
        .collect();
    json!({
        "knowledge_point": row.knowledge_point,
        "title": title,
        "items": row.total(),
        "points": row.points.as_f64(),
        "by_type": by_type,
        "by_band": by_band,
    })
}

/// Items per knowledge point, type and difficulty band, with points and mean difficulty.
fn stats_json(bank: &Bank) -> Value {
    let stats = BankStats::of(bank);
    let rows: Vec<Value> = stats
        .rows
        .iter()
        .map(|row| {
            let title = row
                .knowledge_point
                .as_deref()
                .and_then(|id| bank.knowledge_point(id))
                .map(|kp| kp.title());
            row_json(row, title)
        })
        .collect();
    json!({
        "title": bank.header().title(),
        "points": stats.total.points.as_f64(),
        "mean_difficulty": f64::from(stats.mean_difficulty_milli) / 1000.0,
        "bands": {"easy": "p >= 0.7", "medium": "0.4 <= p < 0.7", "hard": "p < 0.4"},
        "knowledge_points": rows,
        "total": row_json(&stats.total, None),
    })
}
