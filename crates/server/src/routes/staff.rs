//! Staff accounts without an organization or site scope: admins and auditors.
//!
//! | route | who |
//! |---|---|
//! | `POST /staff` | admin |
//! | `GET /staff` | admin, auditor |
//!
//! Organization staff (org, grader) are created under `/organizations/{id}/staff` and exam
//! site staff (site, proctor) under `/sites/{id}/staff`, so every account has exactly the
//! scope its role needs.

use axum::Json as JsonResponse;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};

use super::organizations::{NewStaff, StaffView, create_staff_account};
use super::{Route, Rule, access};
use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::extract::Json;

pub(super) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::POST,
            "/staff",
            "Create an admin or auditor account (no organization or site scope)",
            Rule::Staff(&[Role::Admin]),
            post(create),
        ),
        Route::new(
            Method::GET,
            "/staff",
            "List the admin and auditor accounts",
            Rule::Staff(&[Role::Admin, Role::Auditor]),
            get(list),
        ),
    ]
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<NewStaff>,
) -> Result<(StatusCode, JsonResponse<StaffView>), AppError> {
    access::manage_organizations(&caller)?;
    if !matches!(request.role(), Role::Admin | Role::Auditor) {
        return Err(AppError::Invalid(format!(
            "role `{}` needs a scope: create org and grader accounts under /organizations/{{id}}/staff, site and proctor accounts under /sites/{{id}}/staff",
            request.role().as_str()
        )));
    }
    let user = create_staff_account(&state, &caller, request, None, None).await?;
    Ok((StatusCode::CREATED, JsonResponse(user.into())))
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<JsonResponse<Vec<StaffView>>, AppError> {
    access::read_audit_log(&caller)?;
    let staff = state.storage.unscoped_staff().await?;
    Ok(JsonResponse(
        staff.into_iter().map(StaffView::from).collect(),
    ))
}
