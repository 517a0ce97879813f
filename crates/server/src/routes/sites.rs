//! Exam sites (schools, test centres) and their staff: site desk staff and proctors.
//!
//! | route | who |
//! |---|---|
//! | `POST /sites` | admin |
//! | `GET /sites` | admin, auditor (all); site staff (their own) |
//! | `GET /sites/{id}` | admin, auditor; site staff of it |
//! | `POST /sites/{id}/staff` `{"username", "password", "role": "site"\|"proctor"}` | admin |
//! | `GET /sites/{id}/staff` | admin, auditor; site staff of it |

use axum::Json as JsonResponse;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::organizations::{NewStaff, StaffView, check_code, check_text, create_staff_account};
use super::{Route, Rule, access};
use crate::app::{AppState, audit_entry, now_seconds, rfc3339};
use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::extract::Json;
use crate::random;
use crate::storage::Site;

pub(super) fn routes() -> Vec<Route> {
    const READERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Site];
    vec![
        Route::new(
            Method::POST,
            "/sites",
            "Create an exam site",
            Rule::Staff(&[Role::Admin]),
            post(create_site),
        ),
        Route::new(
            Method::GET,
            "/sites",
            "List the exam sites the caller may see",
            Rule::Staff(READERS),
            get(list_sites),
        ),
        Route::new(
            Method::GET,
            "/sites/{id}",
            "One exam site",
            Rule::Staff(READERS),
            get(site),
        ),
        Route::new(
            Method::POST,
            "/sites/{id}/staff",
            "Create an exam site staff account (site or proctor)",
            Rule::Staff(&[Role::Admin]),
            post(create_staff),
        ),
        Route::new(
            Method::GET,
            "/sites/{id}/staff",
            "List an exam site's staff accounts",
            Rule::Staff(READERS),
            get(list_staff),
        ),
    ]
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NewSite {
    code: String,
    name: String,
}

#[derive(Debug, Serialize)]
struct SiteView {
    id: String,
    code: String,
    name: String,
    created_at: String,
}

impl From<Site> for SiteView {
    fn from(site: Site) -> Self {
        Self {
            id: site.id,
            code: site.code,
            name: site.name,
            created_at: rfc3339(site.created_at),
        }
    }
}

async fn create_site(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<NewSite>,
) -> Result<(StatusCode, JsonResponse<SiteView>), AppError> {
    access::manage_organizations(&caller)?;
    check_code("code", &request.code, 32)?;
    let site = Site {
        id: random::hex_id(),
        code: request.code.clone(),
        name: check_text("name", &request.name, 200)?,
        created_at: now_seconds(),
    };
    let audit = audit_entry(
        &caller.user_id,
        "site.create",
        &format!("site:{}", site.id),
        &request,
    );
    state.storage.create_site(&site, &audit).await?;
    Ok((StatusCode::CREATED, JsonResponse(site.into())))
}

async fn list_sites(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<JsonResponse<Vec<SiteView>>, AppError> {
    let visible = state
        .storage
        .sites()
        .await?
        .into_iter()
        .filter(|site| access::read_site(&caller, &site.id).is_ok())
        .map(SiteView::from)
        .collect();
    Ok(JsonResponse(visible))
}

/// Loads a site the caller may read, or the error that says why not.
async fn readable_site(state: &AppState, caller: &Caller, id: &str) -> Result<Site, AppError> {
    access::read_site(caller, id)?;
    state
        .storage
        .site(id)
        .await?
        .ok_or(AppError::NotFound("site"))
}

async fn site(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<SiteView>, AppError> {
    Ok(JsonResponse(
        readable_site(&state, &caller, &id).await?.into(),
    ))
}

async fn create_staff(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<NewStaff>,
) -> Result<(StatusCode, JsonResponse<StaffView>), AppError> {
    access::manage_organizations(&caller)?;
    let site = readable_site(&state, &caller, &id).await?;
    if !matches!(request.role(), Role::Site | Role::Proctor) {
        return Err(AppError::Invalid(format!(
            "role `{}` does not belong to an exam site; use `site` or `proctor`",
            request.role().as_str()
        )));
    }
    let user = create_staff_account(&state, &caller, request, None, Some(site.id)).await?;
    Ok((StatusCode::CREATED, JsonResponse(user.into())))
}

async fn list_staff(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Vec<StaffView>>, AppError> {
    let site = readable_site(&state, &caller, &id).await?;
    let staff = state.storage.staff_of_site(&site.id).await?;
    Ok(JsonResponse(
        staff.into_iter().map(StaffView::from).collect(),
    ))
}
