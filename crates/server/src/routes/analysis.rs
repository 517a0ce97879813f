//! Routes of [`crate::analysis`]: item analysis and the score histogram of a published
//! sitting, for the organization's next bank version.
//!
//! | route | who |
//! |---|---|
//! | `GET /sittings/{id}/analysis[?flagged=true]` | admin, auditor; org (owner) |
//! | `GET /sittings/{id}/analysis/histogram.svg` | admin, auditor; org (owner) |
//!
//! Who may read the analysis is who may read the sitting's results
//! ([`access::read_results`]): the figures are derived from them. Another organization's
//! sitting answers 404; before publication both routes answer 409 `not_published`.
//! The statistics run off the async threads (20,000 attempts take a noticeable moment).

use axum::Json as JsonResponse;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Route, Rule, access};
use crate::analysis::{
    self, AttemptRecord, HISTOGRAM_BINS, ItemSpec, ItemStatistics, SittingAnalysis, Thresholds,
    Undefined,
};
use crate::app::{AppState, rfc3339};
use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::results::{not_published, points_value};
use crate::storage::sittings::Sitting;

const READERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Org];

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::GET,
            "/sittings/{id}/analysis",
            "Item analysis of a published sitting: facility, discrimination, distractors, flags \
             (?flagged=true: flagged items only)",
            Rule::Staff(READERS),
            get(item_analysis),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/analysis/histogram.svg",
            "Score histogram of a published sitting as SVG, with the pass score",
            Rule::Staff(READERS),
            get(histogram_svg),
        ),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalysisQuery {
    /// Only the flagged items.
    #[serde(default)]
    flagged: bool,
}

/// The published sitting, after the object check.
async fn published_sitting(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(Sitting, i64), AppError> {
    let sitting = state
        .storage
        .sitting(id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    access::read_results(caller, &sitting.organization_id)?;
    let Some(published_at) = sitting.published_at else {
        return Err(not_published());
    };
    Ok((sitting, published_at))
}

async fn item_analysis(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<AnalysisQuery>, QueryRejection>,
) -> Result<JsonResponse<Value>, AppError> {
    let Query(query) = query.map_err(|rejection| AppError::BadRequest {
        code: "invalid_query",
        message: format!(
            "{}; the only parameter is flagged=true or flagged=false",
            rejection.body_text()
        ),
    })?;
    let (sitting, published_at) = published_sitting(&state, &caller, &id).await?;
    let bank = crate::banks::load_bank(&state, &sitting.bank_version_id).await?;
    let (stored, pass) = state.storage.analysis_attempts(&sitting.id).await?;
    let body = tokio::task::spawn_blocking(move || {
        let prepared = analysis::prepare(&bank, &stored)
            .map_err(|error| AppError::Internal(format!("item analysis: {error}")))?;
        let pass_percent = pass_percent(pass, &prepared.attempts);
        let thresholds = Thresholds::default();
        let result = analysis::analyse(
            &prepared.items,
            &prepared.attempts,
            pass_percent,
            &thresholds,
        );
        let report = Report {
            sitting: &sitting,
            published_at,
            items: &prepared.items,
            analysis: &result,
            thresholds: &thresholds,
            pass,
            unscored: prepared.unscored,
        };
        Ok::<Value, AppError>(report.to_json(query.flagged))
    })
    .await
    .map_err(|error| AppError::Internal(format!("the item analysis task failed: {error}")))??;
    Ok(JsonResponse(body))
}

async fn histogram_svg(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (sitting, _) = published_sitting(&state, &caller, &id).await?;
    let (totals, pass) = state.storage.analysis_totals(&sitting.id).await?;
    let attempts: Vec<AttemptRecord> = totals
        .into_iter()
        .map(|(total, max)| AttemptRecord {
            total: u64::try_from(total).unwrap_or(0),
            max: u64::try_from(max).unwrap_or(0).max(1),
            observations: Vec::new(),
        })
        .collect();
    let histogram = analysis::histogram(&attempts, HISTOGRAM_BINS, pass_percent(pass, &attempts));
    let title = format!(
        "{} ({} {}, {}): score histogram",
        sitting.title, sitting.certificate_code, sitting.level, sitting.exam_date
    );
    let mut response = analysis::histogram_svg(&histogram, &title).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    // Shown as an image; opened on its own it may not run anything or load anything.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A score correction after publication changes the figures.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The pass score as a percent of the paper's maximum (papers of one blueprint share both).
fn pass_percent(pass: Option<i64>, attempts: &[AttemptRecord]) -> Option<f64> {
    let max = attempts.iter().map(|attempt| attempt.max).max()?;
    #[allow(clippy::cast_precision_loss)] // hundredths of a paper are far below 2^52
    Some(pass? as f64 / max as f64 * 100.0)
}

/// Hundredths (as a mean) in points.
fn points(hundredths: f64) -> f64 {
    hundredths / 100.0
}

fn undefined(reason: Result<f64, Undefined>) -> Value {
    match reason {
        Ok(_) => Value::Null,
        Err(reason) => json!({"code": reason.code(), "reason": reason.reason()}),
    }
}

/// Everything the analysis response is made of.
struct Report<'a> {
    sitting: &'a Sitting,
    published_at: i64,
    items: &'a [ItemSpec],
    analysis: &'a SittingAnalysis,
    thresholds: &'a Thresholds,
    pass: Option<i64>,
    unscored: u64,
}

impl Report<'_> {
    fn to_json(&self, flagged_only: bool) -> Value {
        let summary = &self.analysis.summary;
        let mean_percent = if summary.max_possible == 0 {
            Value::Null
        } else {
            #[allow(clippy::cast_precision_loss)]
            let max = summary.max_possible as f64;
            json!(summary.mean / max * 100.0)
        };
        let flagged = self
            .analysis
            .items
            .iter()
            .filter(|item| !item.flags.is_empty())
            .count();
        let items: Vec<Value> = self
            .analysis
            .items
            .iter()
            .filter(|item| !flagged_only || !item.flags.is_empty())
            .map(|item| self.item_json(item))
            .collect();
        json!({
            "sitting": self.sitting.id,
            "title": self.sitting.title,
            "certificate_code": self.sitting.certificate_code,
            "level": self.sitting.level,
            "exam_date": self.sitting.exam_date,
            "published_at": rfc3339(self.published_at),
            "bank_version": self.sitting.bank_version_id,
            "discrimination_method": "corrected point-biserial: Pearson correlation of the item's \
                share of points with the rest score (total minus this item)",
            "thresholds": {
                "min_attempts": self.thresholds.min_attempts,
                "facility_low": self.thresholds.facility_low,
                "facility_high": self.thresholds.facility_high,
                "discrimination_low": self.thresholds.discrimination_low,
            },
            "summary": {
                "attempts": summary.attempts,
                "mean": points(summary.mean),
                "mean_percent": mean_percent,
                "sd": points(summary.sd),
                "min": points_value(i64::try_from(summary.min).unwrap_or(i64::MAX)),
                "max": points_value(i64::try_from(summary.max).unwrap_or(i64::MAX)),
                "max_possible": points_value(i64::try_from(summary.max_possible).unwrap_or(i64::MAX)),
                "pass_score": self.pass.map(points_value),
                "items_per_paper": summary.items_per_paper,
                "alpha": summary.alpha.ok(),
                "alpha_undefined": undefined(summary.alpha),
                "unscored_item_scores": self.unscored,
            },
            "histogram": {
                "bins": self.analysis.histogram.bins.iter().map(|bin| json!({
                    "from_percent": bin.from_percent,
                    "to_percent": bin.to_percent,
                    "count": bin.count,
                })).collect::<Vec<_>>(),
                "pass_percent": self.analysis.histogram.pass_percent,
            },
            "items_analysed": self.analysis.items.len(),
            "items_flagged": flagged,
            "items": items,
        })
    }

    fn item_json(&self, statistics: &ItemStatistics) -> Value {
        let spec = &self.items[statistics.item];
        let mut item = json!({
            "id": spec.id,
            "type": spec.item_type.as_str(),
            "knowledge_point": spec.knowledge_point,
            "attempts": statistics.attempts,
            "mean_score": points(statistics.mean_score),
            "mean_points": points(statistics.mean_max),
            "facility": statistics.facility,
            "discrimination": statistics.discrimination.ok(),
            "discrimination_undefined": undefined(statistics.discrimination),
            "no_answer": statistics.no_answer,
            "flags": statistics.flags.iter().map(|flag| flag.code()).collect::<Vec<_>>(),
            "too_few": statistics.too_few,
        });
        if spec.item_type.has_options() {
            item["options"] = spec
                .options
                .iter()
                .zip(&statistics.option_counts)
                .map(|(option, count)| {
                    json!({"id": option.id, "text": option.text, "key": option.key, "chosen": count})
                })
                .collect();
        }
        item
    }
}
