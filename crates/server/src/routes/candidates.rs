//! Candidate login (`POST /candidate/sessions`, CONTRACT section 3), logout and
//! `GET /candidate/me`.
//!
//! A candidate logs in with the admission ticket and the ID number registered with it. A
//! wrong pair gets one answer, 401 `invalid_credentials`, whether the ticket is unknown or the
//! number wrong; attempts are rate limited per ticket and address like staff logins. Each
//! login opens a new session (a reload or another device logs in again), and the token lives
//! until the sitting's close plus an hour at most. Once the sitting's results are published,
//! a candidate may log in again at any time for a short session to read their result, ban,
//! certificates and credit account (the exam itself stays closed: starts and saves refuse).

use std::net::SocketAddr;

use axum::Json as JsonResponse;
use axum::extract::{ConnectInfo, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};

use super::{Route, Rule};
use crate::app::{AppState, audit_entry, now_seconds, rfc3339};
use crate::auth::{CandidateCaller, candidate_limit_key};
use crate::error::AppError;
use crate::extract::Json;
use crate::random;
use crate::sittings::{document_matches, normalize_ticket};
use crate::storage::sittings::CandidateSession;

/// A candidate token never outlives the sitting's close by more than this.
const AFTER_CLOSE_SECS: i64 = 3600;
/// Nor does it last longer than this, unless the attempt itself (with extra time) is longer.
const MAX_LIFETIME_SECS: i64 = 12 * 3600;
/// A login after the exam, to read published results, certificates and credits, lasts this.
const RESULTS_SESSION_SECS: i64 = 2 * 3600;

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::POST,
            "/candidate/sessions",
            "Candidate login: admission ticket and ID number for a bearer token",
            Rule::Public,
            post(login),
        ),
        Route::new(
            Method::DELETE,
            "/candidate/sessions/current",
            "Candidate logout: revoke the calling token's session",
            Rule::Candidate,
            delete(logout),
        ),
        Route::new(
            Method::GET,
            "/candidate/me",
            "The calling candidate's registration and sitting",
            Rule::Candidate,
            get(me),
        ),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    ticket: String,
    id_number: String,
}

#[derive(Debug, Serialize)]
struct TokenResponse {
    token: String,
    expires_at: String,
    sitting: String,
}

fn invalid_credentials() -> AppError {
    AppError::refused(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "the admission ticket or the ID number is wrong; check both against the admission slip",
    )
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(request): Json<LoginRequest>,
) -> Result<JsonResponse<TokenResponse>, AppError> {
    let ticket = normalize_ticket(&request.ticket);
    // Attempts with something that cannot be a ticket are limited too, under what was typed.
    let limit_key = ticket
        .clone()
        .unwrap_or_else(|| request.ticket.trim().to_uppercase());
    state
        .login_limiter
        .try_acquire(&candidate_limit_key(&limit_key), peer.ip())
        .await
        .map_err(|wait| AppError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        })?;
    let holder = match &ticket {
        Some(ticket) => state.storage.ticket_holder(ticket).await?,
        None => None,
    };
    let holder = match holder {
        Some(holder) if document_matches(&holder.document_number, &request.id_number) => holder,
        _ => {
            tracing::info!(address = %peer.ip(), "candidate login refused");
            return Err(invalid_credentials());
        }
    };
    let now = now_seconds();
    let attempt_secs = holder.duration_secs.saturating_add(holder.extra_time_secs);
    let mut expires_at = holder
        .closes_at
        .saturating_add(AFTER_CLOSE_SECS)
        .min(now.saturating_add(MAX_LIFETIME_SECS.max(attempt_secs + AFTER_CLOSE_SECS)));
    if expires_at <= now && holder.published_at.is_some() {
        expires_at = now.saturating_add(RESULTS_SESSION_SECS);
    }
    if expires_at <= now {
        return Err(AppError::refused(
            StatusCode::FORBIDDEN,
            "sitting_closed",
            format!(
                "this sitting closed at {}; log in again once its results are published",
                rfc3339(holder.closes_at)
            ),
        ));
    }
    let session = CandidateSession {
        id: random::hex_id(),
        registration_id: holder.registration_id.clone(),
        created_at: now,
        expires_at,
    };
    let audit = audit_entry(
        &format!("registration:{}", holder.registration_id),
        "candidate_session.create",
        &format!("candidate_session:{}", session.id),
        &serde_json::json!({"address": peer.ip().to_string()}),
    );
    state
        .storage
        .create_candidate_session(&session, &audit)
        .await?;
    let token = state.tokens.sign_candidate(&session, &holder.sitting_id)?;
    Ok(JsonResponse(TokenResponse {
        token,
        expires_at: rfc3339(session.expires_at),
        sitting: holder.sitting_id,
    }))
}

async fn logout(
    State(state): State<AppState>,
    candidate: CandidateCaller,
) -> Result<StatusCode, AppError> {
    let audit = audit_entry(
        &format!("registration:{}", candidate.registration_id),
        "candidate_session.revoke",
        &format!("candidate_session:{}", candidate.session_id),
        &serde_json::json!({}),
    );
    state
        .storage
        .revoke_candidate_session(&candidate.session_id, now_seconds(), &audit)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
struct SittingSummary {
    id: String,
    title: String,
    certificate_code: String,
    level: String,
    opens_at: String,
    closes_at: String,
    late_entry_until: String,
    duration_secs: i64,
}

#[derive(Debug, Serialize)]
struct Me {
    registration: String,
    name: String,
    ticket: String,
    room: Option<String>,
    extra_time_secs: i64,
    sitting: SittingSummary,
}

async fn me(
    State(state): State<AppState>,
    candidate: CandidateCaller,
) -> Result<JsonResponse<Me>, AppError> {
    let missing = || AppError::Internal("a live candidate session lost its registration".into());
    let registration = state
        .storage
        .registration(&candidate.registration_id)
        .await?
        .ok_or_else(missing)?;
    let person = state
        .storage
        .person(&registration.person_id)
        .await?
        .ok_or_else(missing)?;
    let sitting = state
        .storage
        .sitting(&registration.sitting_id)
        .await?
        .ok_or_else(missing)?;
    let room = match &registration.room_id {
        Some(room_id) => state
            .storage
            .rooms_of_sitting(&sitting.id)
            .await?
            .into_iter()
            .find(|room| &room.id == room_id)
            .map(|room| room.code),
        None => None,
    };
    Ok(JsonResponse(Me {
        registration: registration.id,
        name: person.name,
        ticket: registration.ticket,
        room,
        extra_time_secs: registration.extra_time_secs,
        sitting: SittingSummary {
            id: sitting.id,
            title: sitting.title,
            certificate_code: sitting.certificate_code,
            level: sitting.level,
            opens_at: rfc3339(sitting.opens_at),
            closes_at: rfc3339(sitting.closes_at),
            late_entry_until: rfc3339(sitting.late_entry_until),
            duration_secs: sitting.duration_secs,
        },
    }))
}
