//! Sittings, the exam sites and rooms taking part, and registration (CONTRACT section 3).
//! The rules live in [`crate::sittings`]; these handlers check who asks and translate JSON.
//!
//! | route | who |
//! |---|---|
//! | `POST /organizations/{id}/sittings` | admin; org (their own) |
//! | `GET /organizations/{id}/sittings` | admin, auditor; org (their own) |
//! | `GET /sites/{id}/sittings` | admin, auditor; site staff of it |
//! | `GET /sittings/{id}` | admin, auditor; org (owner); site staff of a site taking part |
//! | `POST /sittings/{id}/sites` `{"site"}` | admin; org (owner) |
//! | `POST /sittings/{id}/rooms` `{"code", "capacity", "site"?}` | admin (naming `site`); site staff of a site taking part (their own) |
//! | `GET /sittings/{id}/rooms` | as `GET /sittings/{id}`; site staff see their own site's rooms |
//! | `POST /sittings/{id}/registrations` | admin (naming `site`); site staff of a site taking part (their own) |
//! | `GET /sittings/{id}/registrations` | as `GET /sittings/{id}`; site staff see their own site's candidates |

use axum::Json as JsonResponse;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{Route, Rule, access};
use crate::app::{AppState, now_seconds, rfc3339};
use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::extract::Json;
use crate::sittings::{self, NewRegistration, NewSitting};
use crate::storage::sittings::{Room, Sitting};

pub(super) fn routes() -> Vec<Route> {
    const READERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Org, Role::Site];
    const OWNERS: &[Role] = &[Role::Admin, Role::Org];
    const DESKS: &[Role] = &[Role::Admin, Role::Site];
    vec![
        Route::new(
            Method::POST,
            "/organizations/{id}/sittings",
            "Create a sitting: certificate, pinned bank version, blueprint (checked for feasibility), window, sites",
            Rule::Staff(OWNERS),
            post(create_sitting),
        ),
        Route::new(
            Method::GET,
            "/organizations/{id}/sittings",
            "List an organization's sittings",
            Rule::Staff(&[Role::Admin, Role::Auditor, Role::Org]),
            get(organization_sittings),
        ),
        Route::new(
            Method::GET,
            "/sites/{id}/sittings",
            "List the sittings an exam site takes part in",
            Rule::Staff(&[Role::Admin, Role::Auditor, Role::Site]),
            get(site_sittings),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}",
            "One sitting (never its secret)",
            Rule::Staff(READERS),
            get(sitting),
        ),
        Route::new(
            Method::POST,
            "/sittings/{id}/sites",
            "Add an exam site to a sitting",
            Rule::Staff(OWNERS),
            post(add_site),
        ),
        Route::new(
            Method::POST,
            "/sittings/{id}/rooms",
            "Create a room of an exam site in a sitting",
            Rule::Staff(DESKS),
            post(create_room),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/rooms",
            "List a sitting's rooms (site staff: their own site's)",
            Rule::Staff(READERS),
            get(rooms),
        ),
        Route::new(
            Method::POST,
            "/sittings/{id}/registrations",
            "Register a candidate (ID number and name) and issue the admission ticket",
            Rule::Staff(DESKS),
            post(register),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/registrations",
            "List a sitting's candidates with masked ID numbers (site staff: their own site's)",
            Rule::Staff(READERS),
            get(registrations),
        ),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SittingRequest {
    certificate: String,
    bank_version: String,
    title: String,
    blueprint: String,
    opens_at: String,
    closes_at: String,
    #[serde(default)]
    duration_secs: Option<i64>,
    #[serde(default)]
    late_entry_secs: Option<i64>,
    #[serde(default)]
    sites: Vec<String>,
}

#[derive(Debug, Serialize)]
struct SittingView {
    id: String,
    organization: String,
    certificate: String,
    certificate_code: String,
    level: String,
    bank_version: String,
    title: String,
    blueprint: String,
    blueprint_hash: String,
    opens_at: String,
    closes_at: String,
    late_entry_until: String,
    duration_secs: i64,
    exam_date: String,
    sites: Vec<String>,
    published_at: Option<String>,
    created_at: String,
}

impl SittingView {
    fn new(sitting: Sitting, sites: Vec<String>) -> Self {
        Self {
            id: sitting.id,
            organization: sitting.organization_id,
            certificate: sitting.certificate_id,
            certificate_code: sitting.certificate_code,
            level: sitting.level,
            bank_version: sitting.bank_version_id,
            title: sitting.title,
            blueprint: sitting.blueprint,
            blueprint_hash: sitting.blueprint_hash,
            opens_at: rfc3339(sitting.opens_at),
            closes_at: rfc3339(sitting.closes_at),
            late_entry_until: rfc3339(sitting.late_entry_until),
            duration_secs: sitting.duration_secs,
            exam_date: sitting.exam_date,
            sites,
            published_at: sitting.published_at.map(rfc3339),
            created_at: rfc3339(sitting.created_at),
        }
    }
}

/// An RFC 3339 time as Unix seconds.
fn parse_time(field: &str, text: &str) -> Result<i64, AppError> {
    text.trim()
        .parse::<jiff::Timestamp>()
        .map(|time| time.as_second())
        .map_err(|_| {
            AppError::Invalid(format!(
                "{field} `{text}` is not an RFC 3339 time such as 2026-06-06T09:00:00+08:00"
            ))
        })
}

async fn view(state: &AppState, sitting: Sitting) -> Result<SittingView, AppError> {
    let sites = state.storage.sitting_site_ids(&sitting.id).await?;
    Ok(SittingView::new(sitting, sites))
}

async fn create_sitting(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<SittingRequest>,
) -> Result<(StatusCode, JsonResponse<SittingView>), AppError> {
    access::write_sittings(&caller, &id)?;
    let organization = state
        .storage
        .organization(&id)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let new = NewSitting {
        certificate_id: request.certificate,
        bank_version_id: request.bank_version,
        title: request.title,
        blueprint: request.blueprint,
        opens_at: parse_time("opens_at", &request.opens_at)?,
        closes_at: parse_time("closes_at", &request.closes_at)?,
        duration_secs: request.duration_secs,
        late_entry_secs: request.late_entry_secs,
        site_ids: request.sites,
    };
    // The feasibility check needs the parsed bank; a version of another organization is
    // refused before it is parsed (create_sitting checks the certificate as well).
    let version = state
        .storage
        .bank_version(&new.bank_version_id)
        .await?
        .filter(|version| version.organization_id == organization.id)
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "bank_version `{}` is not a bank version of organization {}",
                new.bank_version_id, organization.code
            ))
        })?;
    let bank = crate::banks::load_bank(&state, &version.id).await?;
    let sitting = sittings::create_sitting(
        &state.storage,
        &caller.user_id,
        &organization.id,
        new,
        bank,
        now_seconds(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        JsonResponse(view(&state, sitting).await?),
    ))
}

async fn organization_sittings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Vec<SittingView>>, AppError> {
    access::read_organization(&caller, &id)?;
    state
        .storage
        .organization(&id)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    let mut views = Vec::new();
    for sitting in state.storage.sittings_of_organization(&id).await? {
        views.push(view(&state, sitting).await?);
    }
    Ok(JsonResponse(views))
}

async fn site_sittings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Vec<SittingView>>, AppError> {
    access::read_site(&caller, &id)?;
    state
        .storage
        .site(&id)
        .await?
        .ok_or(AppError::NotFound("site"))?;
    let mut views = Vec::new();
    for sitting in state.storage.sittings_of_site(&id).await? {
        views.push(view(&state, sitting).await?);
    }
    Ok(JsonResponse(views))
}

/// A sitting the caller may read, its participating sites, and the site the caller is
/// limited to (`None`: all).
async fn readable_sitting(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(Sitting, Vec<String>, Option<String>), AppError> {
    let sitting = state
        .storage
        .sitting(id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    let sites = state.storage.sitting_site_ids(&sitting.id).await?;
    let scope = access::read_sitting(caller, &sitting.organization_id, &sites)?;
    Ok((sitting, sites, scope))
}

async fn sitting(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<SittingView>, AppError> {
    let (sitting, sites, _) = readable_sitting(&state, &caller, &id).await?;
    Ok(JsonResponse(SittingView::new(sitting, sites)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteRequest {
    site: String,
}

async fn add_site(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<SiteRequest>,
) -> Result<JsonResponse<SittingView>, AppError> {
    let (sitting, _, _) = readable_sitting(&state, &caller, &id).await?;
    access::write_sittings(&caller, &sitting.organization_id)?;
    sittings::add_site(
        &state.storage,
        &caller.user_id,
        &sitting,
        request.site.trim(),
    )
    .await?;
    Ok(JsonResponse(view(&state, sitting).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoomRequest {
    code: String,
    capacity: i64,
    #[serde(default)]
    site: Option<String>,
}

#[derive(Debug, Serialize)]
struct RoomView {
    id: String,
    sitting: String,
    site: String,
    code: String,
    capacity: i64,
    created_at: String,
}

impl From<Room> for RoomView {
    fn from(room: Room) -> Self {
        Self {
            id: room.id,
            sitting: room.sitting_id,
            site: room.site_id,
            code: room.code,
            capacity: room.capacity,
            created_at: rfc3339(room.created_at),
        }
    }
}

/// A sitting the caller may act on as an exam site's desk, and the site acted for.
async fn desk_sitting(
    state: &AppState,
    caller: &Caller,
    id: &str,
    named_site: Option<&str>,
) -> Result<(Sitting, String), AppError> {
    let sitting = state
        .storage
        .sitting(id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    let sites = state.storage.sitting_site_ids(&sitting.id).await?;
    let site = access::site_desk(caller, &sites, named_site.map(str::trim))?;
    Ok((sitting, site))
}

async fn create_room(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<RoomRequest>,
) -> Result<(StatusCode, JsonResponse<RoomView>), AppError> {
    let (sitting, site) = desk_sitting(&state, &caller, &id, request.site.as_deref()).await?;
    let room = sittings::create_room(
        &state.storage,
        &caller.user_id,
        &sitting,
        &site,
        &request.code,
        request.capacity,
        now_seconds(),
    )
    .await?;
    Ok((StatusCode::CREATED, JsonResponse(room.into())))
}

async fn rooms(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Vec<RoomView>>, AppError> {
    let (sitting, _, scope) = readable_sitting(&state, &caller, &id).await?;
    let rooms = state.storage.rooms_of_sitting(&sitting.id).await?;
    Ok(JsonResponse(
        rooms
            .into_iter()
            .filter(|room| scope.as_ref().is_none_or(|site| *site == room.site_id))
            .map(RoomView::from)
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationRequest {
    id_number: String,
    name: String,
    #[serde(default)]
    document_kind: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    room: Option<String>,
    #[serde(default)]
    site: Option<String>,
}

#[derive(Debug, Serialize)]
struct RegisteredView {
    ticket: String,
    registration: String,
    person: String,
    name: String,
    site: String,
    room: Option<String>,
}

async fn register(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<RegistrationRequest>,
) -> Result<(StatusCode, JsonResponse<RegisteredView>), AppError> {
    let (sitting, site) = desk_sitting(&state, &caller, &id, request.site.as_deref()).await?;
    let new = NewRegistration {
        id_number: request.id_number,
        name: request.name,
        document_kind: request.document_kind,
        country: request.country,
        class: request.class,
        room: request.room,
    };
    let registered = sittings::register(
        &state.storage,
        &caller.user_id,
        &sitting,
        &site,
        new,
        now_seconds(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        JsonResponse(RegisteredView {
            ticket: registered.registration.ticket,
            registration: registered.registration.id,
            person: registered.person.id,
            name: registered.person.name,
            site: registered.registration.site_id,
            room: registered.room.map(|room| room.code),
        }),
    ))
}

#[derive(Debug, Serialize)]
struct RegistrationView {
    id: String,
    ticket: String,
    name: String,
    document_kind: String,
    id_number: String,
    site: String,
    class: Option<String>,
    room: Option<String>,
    created_at: String,
}

async fn registrations(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Vec<RegistrationView>>, AppError> {
    let (sitting, _, scope) = readable_sitting(&state, &caller, &id).await?;
    let listing = state
        .storage
        .registrations_of_sitting(&sitting.id, scope.as_deref())
        .await?;
    Ok(JsonResponse(
        listing
            .into_iter()
            .map(|entry| RegistrationView {
                id: entry.registration.id,
                ticket: entry.registration.ticket,
                name: entry.name,
                document_kind: entry.document_kind,
                id_number: sittings::mask_document(&entry.document_number),
                site: entry.registration.site_id,
                class: entry.registration.class_code,
                room: entry.room_code,
                created_at: rfc3339(entry.registration.created_at),
            })
            .collect(),
    ))
}
