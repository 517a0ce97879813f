//! Teachers (each exam site's proctor pool), their availability per sitting, the proctor draw
//! of a sitting, and a proctor's own rooms. The draw itself is [`crate::proctoring`].
//!
//! | route | who |
//! |---|---|
//! | `POST /sites/{id}/teachers` | admin; site staff of it |
//! | `GET /sites/{id}/teachers` | admin, auditor; site staff of it |
//! | `PUT /sites/{id}/teachers/{teacher}` | admin; site staff of it |
//! | `PUT /sittings/{id}/teachers/{teacher}/availability` | admin; site staff of the teacher's site |
//! | `POST /sittings/{id}/proctor-draws` | admin; org (owner); a re-draw: admin with a reason |
//! | `GET /sittings/{id}/proctor-draws` | admin, auditor; org (owner) |
//! | `GET /sittings/{id}/proctor-draws/current` | admin, auditor; org (owner) |
//! | `GET /sittings/{id}/proctor-draws/{draw}` | admin, auditor; org (owner) |
//! | `GET /sittings/{id}/proctor-draws/{draw}/input` | admin, auditor; org (owner) |
//! | `GET /sittings/{id}/proctor-draws/{draw}/outcome` | admin, auditor; org (owner) |
//! | `GET /proctor/rooms` | proctor (their own rooms only) |

use axum::Json as JsonResponse;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::json;
use xcert_proctor::{Assignment, Avoidance, Load, Policy, RoomAssignment};

use super::organizations::{check_password, normalize_username};
use super::{Route, Rule, access};
use crate::app::{AppState, audit_entry, now_seconds, rfc3339};
use crate::auth::{Caller, Role, hash_password};
use crate::error::AppError;
use crate::extract::Json;
use crate::proctoring::{
    self, DrawRequest, Drawer, TeacherDetails, check_teacher_code, draw_proctors,
};
use crate::random;
use crate::storage::StaffUser;
use crate::storage::proctoring::{DrawSitting, ProctorDraw, Teacher};

pub(super) fn routes() -> Vec<Route> {
    const SITE_WRITERS: &[Role] = &[Role::Admin, Role::Site];
    const SITE_READERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Site];
    const DRAW_READERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Org];
    vec![
        Route::new(
            Method::POST,
            "/sites/{id}/teachers",
            "Add a teacher to an exam site's proctor pool (optionally with a proctor login)",
            Rule::Staff(SITE_WRITERS),
            post(create_teacher),
        ),
        Route::new(
            Method::GET,
            "/sites/{id}/teachers",
            "List an exam site's teachers",
            Rule::Staff(SITE_READERS),
            get(list_teachers),
        ),
        Route::new(
            Method::PUT,
            "/sites/{id}/teachers/{teacher}",
            "Replace a teacher's name, classes, students, qualification and room limit",
            Rule::Staff(SITE_WRITERS),
            put(update_teacher),
        ),
        Route::new(
            Method::PUT,
            "/sittings/{id}/teachers/{teacher}/availability",
            "Declare whether a teacher is available to proctor a sitting (default: available)",
            Rule::Staff(SITE_WRITERS),
            put(set_availability),
        ),
        Route::new(
            Method::POST,
            "/sittings/{id}/proctor-draws",
            "Draw the sitting's proctors (a re-draw: admin only, with a reason)",
            Rule::Staff(&[Role::Admin, Role::Org]),
            post(create_draw),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/proctor-draws",
            "Every proctor draw of a sitting, oldest first, superseded ones included",
            Rule::Staff(DRAW_READERS),
            get(list_draws),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/proctor-draws/current",
            "The sitting's current proctor draw",
            Rule::Staff(DRAW_READERS),
            get(current_draw),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/proctor-draws/{draw}",
            "One proctor draw with its outcome",
            Rule::Staff(DRAW_READERS),
            get(one_draw),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/proctor-draws/{draw}/input",
            "The exact CONTRACT section 4 input a draw solved (for `xcert proctors assign`)",
            Rule::Staff(DRAW_READERS),
            get(draw_input),
        ),
        Route::new(
            Method::GET,
            "/sittings/{id}/proctor-draws/{draw}/outcome",
            "A draw's outcome exactly as `xcert proctors assign --json` prints it",
            Rule::Staff(DRAW_READERS),
            get(draw_outcome),
        ),
        Route::new(
            Method::GET,
            "/proctor/rooms",
            "The rooms the current proctor draws assign to the calling proctor",
            Rule::Staff(&[Role::Proctor]),
            get(own_rooms),
        ),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTeacher {
    code: String,
    name: String,
    #[serde(default)]
    classes: Vec<String>,
    #[serde(default)]
    students: Vec<String>,
    qualified_until: String,
    #[serde(default)]
    max_rooms: Option<i64>,
    #[serde(default)]
    login: Option<Login>,
}

#[derive(Debug, Serialize)]
struct TeacherView {
    id: String,
    site: String,
    code: String,
    name: String,
    classes: Vec<String>,
    students: Vec<String>,
    qualified_until: String,
    max_rooms: Option<i64>,
    login: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<Teacher> for TeacherView {
    fn from(teacher: Teacher) -> Self {
        Self {
            id: teacher.id,
            site: teacher.site_id,
            code: teacher.code,
            name: teacher.name,
            classes: teacher.classes,
            students: teacher.students,
            qualified_until: teacher.qualified_until,
            max_rooms: teacher.max_rooms,
            login: teacher.staff_user_id,
            created_at: rfc3339(teacher.created_at),
            updated_at: rfc3339(teacher.updated_at),
        }
    }
}

/// Checks the caller may manage the site's teachers and that the site exists.
async fn managed_site(state: &AppState, caller: &Caller, site_id: &str) -> Result<(), AppError> {
    access::manage_teachers(caller, site_id)?;
    state
        .storage
        .site(site_id)
        .await?
        .ok_or(AppError::NotFound("site"))?;
    Ok(())
}

async fn create_teacher(
    State(state): State<AppState>,
    caller: Caller,
    Path(site_id): Path<String>,
    Json(request): Json<NewTeacher>,
) -> Result<(StatusCode, JsonResponse<TeacherView>), AppError> {
    managed_site(&state, &caller, &site_id).await?;
    check_teacher_code(&request.code)?;
    let details = TeacherDetails {
        name: request.name,
        classes: request.classes,
        students: request.students,
        qualified_until: request.qualified_until,
        max_rooms: request.max_rooms,
    }
    .check()?;
    let login = match request.login {
        Some(login) => {
            let username = normalize_username(&login.username)?;
            check_password(&login.password)?;
            Some(StaffUser {
                id: random::hex_id(),
                username,
                password_hash: hash_password(login.password).await?,
                role: Role::Proctor,
                organization_id: None,
                site_id: Some(site_id.clone()),
                created_at: now_seconds(),
            })
        }
        None => None,
    };
    let teacher = proctoring::create_teacher(
        &state.storage,
        &caller.user_id,
        &site_id,
        &request.code,
        details,
        login,
    )
    .await?;
    Ok((StatusCode::CREATED, JsonResponse(teacher.into())))
}

async fn list_teachers(
    State(state): State<AppState>,
    caller: Caller,
    Path(site_id): Path<String>,
) -> Result<JsonResponse<Vec<TeacherView>>, AppError> {
    access::read_teachers(&caller, &site_id)?;
    state
        .storage
        .site(&site_id)
        .await?
        .ok_or(AppError::NotFound("site"))?;
    let teachers = state.storage.teachers_of_site(&site_id).await?;
    Ok(JsonResponse(
        teachers.into_iter().map(TeacherView::from).collect(),
    ))
}

async fn update_teacher(
    State(state): State<AppState>,
    caller: Caller,
    Path((site_id, teacher_id)): Path<(String, String)>,
    Json(request): Json<TeacherDetails>,
) -> Result<JsonResponse<TeacherView>, AppError> {
    managed_site(&state, &caller, &site_id).await?;
    let details = request.check()?;
    let teacher = proctoring::update_teacher(
        &state.storage,
        &caller.user_id,
        &site_id,
        &teacher_id,
        details,
    )
    .await?;
    Ok(JsonResponse(teacher.into()))
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Availability {
    available: bool,
}

async fn set_availability(
    State(state): State<AppState>,
    caller: Caller,
    Path((sitting_id, teacher_id)): Path<(String, String)>,
    Json(request): Json<Availability>,
) -> Result<JsonResponse<serde_json::Value>, AppError> {
    // The role check comes before any lookup, so a role that may never do this learns nothing.
    if !matches!(caller.role, Role::Admin | Role::Site) {
        return Err(AppError::Forbidden);
    }
    let teacher = state
        .storage
        .teacher(&teacher_id)
        .await?
        .ok_or(AppError::NotFound("teacher"))?;
    access::manage_teachers(&caller, &teacher.site_id)
        .map_err(|_| AppError::NotFound("teacher"))?;
    state
        .storage
        .draw_sitting(&sitting_id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    if !state
        .storage
        .site_takes_part(&sitting_id, &teacher.site_id)
        .await?
    {
        return Err(AppError::refused(
            StatusCode::CONFLICT,
            "site_not_in_sitting",
            "the teacher's site does not take part in this sitting, so the teacher is never in its draw; add the site to the sitting first",
        ));
    }
    let audit = audit_entry(
        &caller.user_id,
        "teacher.availability",
        &format!("teacher:{}", teacher.id),
        &json!({"sitting": sitting_id, "available": request.available}),
    );
    state
        .storage
        .set_teacher_availability(&sitting_id, &teacher.id, request.available, &audit)
        .await?;
    Ok(JsonResponse(json!({
        "sitting": sitting_id,
        "teacher": teacher.id,
        "available": request.available,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDraw {
    proctors_per_room: i64,
    #[serde(default)]
    min_external: i64,
    #[serde(default)]
    avoidance: Avoidance,
    #[serde(default)]
    reason: Option<String>,
}

/// A draw as the API shows it: the assignment in section 4 ids (room codes, `SITE/TEACHER`).
#[derive(Debug, Serialize)]
struct DrawView {
    draw: String,
    sitting: String,
    number: i64,
    seed: i64,
    input_sha256: String,
    assignments: Vec<RoomAssignment>,
    load: Load,
    drawn_by: String,
    drawn_at: String,
    reason: Option<String>,
    current: bool,
    superseded_at: Option<String>,
    superseded_by: Option<String>,
}

impl DrawView {
    fn new(draw: ProctorDraw) -> Result<Self, AppError> {
        // Only feasible draws are stored, so the outcome is always an assignment.
        let outcome: Assignment = serde_json::from_str(&draw.outcome).map_err(|error| {
            AppError::Internal(format!("stored outcome of draw {}: {error}", draw.id))
        })?;
        Ok(Self {
            current: draw.superseded_at.is_none(),
            assignments: outcome.assignments,
            load: outcome.load,
            draw: draw.id,
            sitting: draw.sitting_id,
            number: draw.number,
            seed: draw.seed,
            input_sha256: draw.input_sha256,
            drawn_by: draw.drawn_by,
            drawn_at: rfc3339(draw.drawn_at),
            reason: draw.reason,
            superseded_at: draw.superseded_at.map(rfc3339),
            superseded_by: draw.superseded_by,
        })
    }
}

/// Loads the sitting after checking the caller may read its draws.
async fn readable_sitting(
    state: &AppState,
    caller: &Caller,
    sitting_id: &str,
) -> Result<DrawSitting, AppError> {
    if !matches!(caller.role, Role::Admin | Role::Auditor | Role::Org) {
        return Err(AppError::Forbidden);
    }
    let sitting = state
        .storage
        .draw_sitting(sitting_id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    access::read_proctor_draws(caller, &sitting.organization_id)?;
    Ok(sitting)
}

async fn create_draw(
    State(state): State<AppState>,
    caller: Caller,
    Path(sitting_id): Path<String>,
    Json(request): Json<NewDraw>,
) -> Result<(StatusCode, JsonResponse<DrawView>), AppError> {
    let drawer = match caller.role {
        Role::Admin => Drawer::Admin,
        Role::Org => Drawer::OrganizationStaff,
        _ => return Err(AppError::Forbidden),
    };
    let sitting = state
        .storage
        .draw_sitting(&sitting_id)
        .await?
        .ok_or(AppError::NotFound("sitting"))?;
    access::draw_proctors(&caller, &sitting.organization_id)?;
    if !(1..=20).contains(&request.proctors_per_room) {
        return Err(AppError::Invalid(format!(
            "proctors_per_room must be between 1 and 20, not {}",
            request.proctors_per_room
        )));
    }
    if !(0..=request.proctors_per_room).contains(&request.min_external) {
        return Err(AppError::Invalid(format!(
            "min_external must be between 0 and proctors_per_room ({}), not {}",
            request.proctors_per_room, request.min_external
        )));
    }
    let draw_request = DrawRequest {
        policy: Policy {
            proctors_per_room: request.proctors_per_room,
            min_external: request.min_external,
            avoidance: request.avoidance,
        },
        reason: request.reason,
    };
    let result = draw_proctors(
        &state.storage,
        &caller.user_id,
        drawer,
        &sitting.id,
        draw_request,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        JsonResponse(DrawView::new(result.draw)?),
    ))
}

async fn list_draws(
    State(state): State<AppState>,
    caller: Caller,
    Path(sitting_id): Path<String>,
) -> Result<JsonResponse<Vec<DrawView>>, AppError> {
    let sitting = readable_sitting(&state, &caller, &sitting_id).await?;
    let draws = state.storage.proctor_draws(&sitting.id).await?;
    Ok(JsonResponse(
        draws
            .into_iter()
            .map(DrawView::new)
            .collect::<Result<_, _>>()?,
    ))
}

async fn current_draw(
    State(state): State<AppState>,
    caller: Caller,
    Path(sitting_id): Path<String>,
) -> Result<JsonResponse<DrawView>, AppError> {
    let sitting = readable_sitting(&state, &caller, &sitting_id).await?;
    let draw = state
        .storage
        .current_proctor_draw(&sitting.id)
        .await?
        .ok_or(AppError::NotFound("proctor draw"))?;
    Ok(JsonResponse(DrawView::new(draw)?))
}

async fn stored_draw(
    state: &AppState,
    caller: &Caller,
    sitting_id: &str,
    draw_id: &str,
) -> Result<ProctorDraw, AppError> {
    let sitting = readable_sitting(state, caller, sitting_id).await?;
    state
        .storage
        .proctor_draw(&sitting.id, draw_id)
        .await?
        .ok_or(AppError::NotFound("proctor draw"))
}

async fn one_draw(
    State(state): State<AppState>,
    caller: Caller,
    Path((sitting_id, draw_id)): Path<(String, String)>,
) -> Result<JsonResponse<DrawView>, AppError> {
    let draw = stored_draw(&state, &caller, &sitting_id, &draw_id).await?;
    Ok(JsonResponse(DrawView::new(draw)?))
}

/// Stored JSON text as a response, unchanged.
fn json_text(text: String) -> Response {
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The stored input, byte for byte (its SHA-256 is the draw's `input_sha256`).
async fn draw_input(
    State(state): State<AppState>,
    caller: Caller,
    Path((sitting_id, draw_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let draw = stored_draw(&state, &caller, &sitting_id, &draw_id).await?;
    Ok(json_text(draw.input))
}

/// The stored outcome with the final newline the CLI prints, so `cmp` against
/// `xcert proctors assign --input INPUT --seed SEED --json` succeeds.
async fn draw_outcome(
    State(state): State<AppState>,
    caller: Caller,
    Path((sitting_id, draw_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let draw = stored_draw(&state, &caller, &sitting_id, &draw_id).await?;
    Ok(json_text(format!("{}\n", draw.outcome)))
}

#[derive(Debug, Serialize)]
struct OwnRoomView {
    sitting: String,
    sitting_title: String,
    opens_at: String,
    closes_at: String,
    room: String,
    room_id: String,
    site: String,
    candidates: i64,
    draw: String,
}

async fn own_rooms(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<JsonResponse<Vec<OwnRoomView>>, AppError> {
    access::read_own_rooms(&caller)?;
    let rooms = state.storage.proctor_rooms(&caller.user_id).await?;
    Ok(JsonResponse(
        rooms
            .into_iter()
            .map(|room| OwnRoomView {
                sitting: room.sitting_id,
                sitting_title: room.sitting_title,
                opens_at: rfc3339(room.opens_at),
                closes_at: rfc3339(room.closes_at),
                room: room.room_code,
                room_id: room.room_id,
                site: room.site_code,
                candidates: room.candidates,
                draw: room.draw_id,
            })
            .collect(),
    ))
}
