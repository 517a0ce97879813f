//! Staff login (`POST /staff/sessions`), logout (`DELETE /staff/sessions/current`) and
//! `GET /staff/me`.

use std::net::SocketAddr;

use axum::Json as JsonResponse;
use axum::extract::{ConnectInfo, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};

use crate::app::{AppState, audit_entry, now_seconds, rfc3339};
use crate::auth::{Caller, Role, verify_password};
use crate::error::AppError;
use crate::extract::Json;
use crate::random;
use crate::storage::Session;

use super::{Route, Rule, STAFF};

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::POST,
            "/staff/sessions",
            "Staff login: username and password for a bearer token",
            Rule::Public,
            post(login),
        ),
        Route::new(
            Method::DELETE,
            "/staff/sessions/current",
            "Logout: revoke the calling token's session",
            Rule::Staff(STAFF),
            delete(logout),
        ),
        Route::new(
            Method::GET,
            "/staff/me",
            "The calling staff member's role and scope",
            Rule::Staff(STAFF),
            get(me),
        ),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Debug, Serialize)]
struct TokenResponse {
    token: String,
    expires_at: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(request): Json<LoginRequest>,
) -> Result<JsonResponse<TokenResponse>, AppError> {
    let username = request.username.trim().to_lowercase();
    state
        .login_limiter
        .try_acquire(&username, peer.ip())
        .await
        .map_err(|wait| AppError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        })?;
    let user = state.storage.staff_by_username(&username).await?;
    let hash = user.as_ref().map(|user| user.password_hash.clone());
    let matches = verify_password(request.password, hash).await?;
    let user = match user {
        Some(user) if matches && user.role != Role::Candidate => user,
        _ => {
            tracing::info!(%username, address = %peer.ip(), "staff login refused");
            return Err(AppError::InvalidCredentials);
        }
    };
    let now = now_seconds();
    let lifetime = i64::try_from(state.config.staff_token_lifetime.as_secs()).unwrap_or(i64::MAX);
    let session = Session {
        id: random::hex_id(),
        user_id: user.id.clone(),
        created_at: now,
        expires_at: now.saturating_add(lifetime),
    };
    let audit = audit_entry(
        &user.id,
        "session.create",
        &format!("session:{}", session.id),
        &serde_json::json!({
            "username": username, "address": peer.ip().to_string()
        }),
    );
    state.storage.create_session(&session, &audit).await?;
    let token = state
        .tokens
        .sign_staff(&user, &session.id, now, session.expires_at)?;
    Ok(JsonResponse(TokenResponse {
        token,
        expires_at: rfc3339(session.expires_at),
    }))
}

async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, AppError> {
    let audit = audit_entry(
        &caller.user_id,
        "session.revoke",
        &format!("session:{}", caller.session_id),
        &serde_json::json!({}),
    );
    state
        .storage
        .revoke_session(&caller.session_id, now_seconds(), &audit)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize)]
struct Me {
    id: String,
    username: String,
    role: Role,
    organization: Option<String>,
    site: Option<String>,
}

async fn me(caller: Caller) -> JsonResponse<Me> {
    JsonResponse(Me {
        id: caller.user_id,
        username: caller.username,
        role: caller.role,
        organization: caller.organization_id,
        site: caller.site_id,
    })
}
