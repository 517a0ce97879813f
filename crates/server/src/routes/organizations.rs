//! Organizations, their staff accounts and their certificates.
//!
//! | route | who |
//! |---|---|
//! | `POST /organizations` | admin |
//! | `GET /organizations` | admin, auditor (all); org (their own) |
//! | `GET /organizations/{id}` | admin, auditor; org (their own) |
//! | `POST /organizations/{id}/staff` | admin |
//! | `GET /organizations/{id}/staff` | admin, auditor; org (their own) |
//! | `POST /organizations/{id}/certificates` | admin; org (their own) |
//! | `GET /organizations/{id}/certificates` | admin, auditor; org (their own) |
//! | `GET /certificates/{id}` | admin, auditor; org (owner) |

use axum::Json as JsonResponse;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{Route, Rule, access};
use crate::app::{AppState, audit_entry, now_seconds, rfc3339};
use crate::auth::{Caller, Role, hash_password};
use crate::error::AppError;
use crate::extract::Json;
use crate::random;
use crate::storage::{Certificate, Organization, StaffUser};

pub(super) fn routes() -> Vec<Route> {
    const READERS: &[Role] = &[Role::Admin, Role::Auditor, Role::Org];
    const WRITERS: &[Role] = &[Role::Admin, Role::Org];
    vec![
        Route::new(
            Method::POST,
            "/organizations",
            "Create an evaluation organization",
            Rule::Staff(&[Role::Admin]),
            post(create_organization),
        ),
        Route::new(
            Method::GET,
            "/organizations",
            "List the organizations the caller may see",
            Rule::Staff(READERS),
            get(list_organizations),
        ),
        Route::new(
            Method::GET,
            "/organizations/{id}",
            "One organization",
            Rule::Staff(READERS),
            get(organization),
        ),
        Route::new(
            Method::POST,
            "/organizations/{id}/staff",
            "Create an organization staff account (org or grader)",
            Rule::Staff(&[Role::Admin]),
            post(create_staff),
        ),
        Route::new(
            Method::GET,
            "/organizations/{id}/staff",
            "List an organization's staff accounts",
            Rule::Staff(READERS),
            get(list_staff),
        ),
        Route::new(
            Method::POST,
            "/organizations/{id}/certificates",
            "Create a certificate (code, level, title, credits, retake ban)",
            Rule::Staff(WRITERS),
            post(create_certificate),
        ),
        Route::new(
            Method::GET,
            "/organizations/{id}/certificates",
            "List an organization's certificates",
            Rule::Staff(READERS),
            get(list_certificates),
        ),
        Route::new(
            Method::GET,
            "/certificates/{id}",
            "One certificate",
            Rule::Staff(READERS),
            get(certificate),
        ),
    ]
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NewOrganization {
    code: String,
    name: String,
}

#[derive(Debug, Serialize)]
struct OrganizationView {
    id: String,
    code: String,
    name: String,
    created_at: String,
}

impl From<Organization> for OrganizationView {
    fn from(organization: Organization) -> Self {
        Self {
            id: organization.id,
            code: organization.code,
            name: organization.name,
            created_at: rfc3339(organization.created_at),
        }
    }
}

/// `[A-Z0-9-]+`, the shape of certificate and organization codes.
pub(super) fn check_code(field: &str, code: &str, max_len: usize) -> Result<(), AppError> {
    let shape_ok = !code.is_empty()
        && code.len() <= max_len
        && code
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'-');
    if shape_ok {
        Ok(())
    } else {
        Err(AppError::Invalid(format!(
            "{field} `{code}` must be 1 to {max_len} characters of A-Z, 0-9 and -"
        )))
    }
}

pub(super) fn check_text(field: &str, text: &str, max_chars: usize) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max_chars {
        return Err(AppError::Invalid(format!(
            "{field} must be 1 to {max_chars} characters"
        )));
    }
    Ok(text.to_owned())
}

async fn create_organization(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<NewOrganization>,
) -> Result<(StatusCode, JsonResponse<OrganizationView>), AppError> {
    access::manage_organizations(&caller)?;
    check_code("code", &request.code, 32)?;
    let organization = Organization {
        id: random::hex_id(),
        code: request.code.clone(),
        name: check_text("name", &request.name, 200)?,
        created_at: now_seconds(),
    };
    let audit = audit_entry(
        &caller.user_id,
        "organization.create",
        &format!("organization:{}", organization.id),
        &request,
    );
    state
        .storage
        .create_organization(&organization, &audit)
        .await?;
    Ok((StatusCode::CREATED, JsonResponse(organization.into())))
}

async fn list_organizations(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<JsonResponse<Vec<OrganizationView>>, AppError> {
    access::list_organizations(&caller)?;
    let organizations = state.storage.organizations().await?;
    let visible = organizations
        .into_iter()
        .filter(|organization| access::read_organization(&caller, &organization.id).is_ok())
        .map(OrganizationView::from)
        .collect();
    Ok(JsonResponse(visible))
}

/// Loads an organization the caller may read, or the error that says why not.
async fn readable_organization(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Organization, AppError> {
    access::read_organization(caller, id)?;
    state
        .storage
        .organization(id)
        .await?
        .ok_or(AppError::NotFound("organization"))
}

async fn organization(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<OrganizationView>, AppError> {
    Ok(JsonResponse(
        readable_organization(&state, &caller, &id).await?.into(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewStaff {
    username: String,
    password: String,
    role: Role,
}

#[derive(Debug, Serialize)]
pub(super) struct StaffView {
    id: String,
    username: String,
    role: Role,
    organization: Option<String>,
    site: Option<String>,
    created_at: String,
}

impl From<StaffUser> for StaffView {
    fn from(user: StaffUser) -> Self {
        Self {
            id: user.id,
            username: user.username,
            role: user.role,
            organization: user.organization_id,
            site: user.site_id,
            created_at: rfc3339(user.created_at),
        }
    }
}

/// Usernames are stored lower-case: `[a-z0-9._-]`, 3 to 64 characters.
pub(super) fn normalize_username(username: &str) -> Result<String, AppError> {
    let username = username.trim().to_lowercase();
    let shape_ok = (3..=64).contains(&username.len())
        && username.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"._-".contains(&byte)
        });
    if shape_ok {
        Ok(username)
    } else {
        Err(AppError::Invalid(
            "username must be 3 to 64 characters of a-z, 0-9, `.`, `_` and `-`".to_owned(),
        ))
    }
}

/// Staff passwords: 12 to 256 characters.
pub(super) fn check_password(password: &str) -> Result<(), AppError> {
    let length = password.chars().count();
    if (12..=256).contains(&length) {
        Ok(())
    } else {
        Err(AppError::Invalid(
            "password must be 12 to 256 characters".to_owned(),
        ))
    }
}

async fn create_staff(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<NewStaff>,
) -> Result<(StatusCode, JsonResponse<StaffView>), AppError> {
    access::manage_organizations(&caller)?;
    let organization = readable_organization(&state, &caller, &id).await?;
    if !matches!(request.role, Role::Org | Role::Grader) {
        return Err(AppError::Invalid(format!(
            "role `{}` does not belong to an organization; use `org` or `grader`",
            request.role.as_str()
        )));
    }
    let user = create_staff_account(&state, &caller, request, Some(organization.id), None).await?;
    Ok((StatusCode::CREATED, JsonResponse(user.into())))
}

/// Validates and stores a staff account scoped to an organization or a site, audited as
/// `staff.create` without the password.
pub(super) async fn create_staff_account(
    state: &AppState,
    caller: &Caller,
    request: NewStaff,
    organization_id: Option<String>,
    site_id: Option<String>,
) -> Result<StaffUser, AppError> {
    let username = normalize_username(&request.username)?;
    check_password(&request.password)?;
    let user = StaffUser {
        id: random::hex_id(),
        username,
        password_hash: hash_password(request.password).await?,
        role: request.role,
        organization_id,
        site_id,
        created_at: now_seconds(),
    };
    // The password is left out of the audited payload on purpose.
    let audited = serde_json::json!({
        "username": user.username, "role": user.role,
        "organization": user.organization_id, "site": user.site_id
    });
    let audit = audit_entry(
        &caller.user_id,
        "staff.create",
        &format!("staff:{}", user.id),
        &audited,
    );
    state.storage.create_staff(&user, &audit).await?;
    Ok(user)
}

impl NewStaff {
    pub(super) fn role(&self) -> Role {
        self.role
    }
}

async fn list_staff(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Vec<StaffView>>, AppError> {
    let organization = readable_organization(&state, &caller, &id).await?;
    let staff = state
        .storage
        .staff_of_organization(&organization.id)
        .await?;
    Ok(JsonResponse(
        staff.into_iter().map(StaffView::from).collect(),
    ))
}

/// The certificate levels of DOMAIN.md.
const LEVELS: [&str; 3] = ["junior", "intermediate", "senior"];

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NewCertificate {
    code: String,
    level: String,
    title: String,
    credits: i64,
    #[serde(default = "default_ban_percent")]
    retake_ban_percent: i64,
    #[serde(default = "default_ban_years")]
    retake_ban_years: i64,
}

fn default_ban_percent() -> i64 {
    10
}

fn default_ban_years() -> i64 {
    3
}

#[derive(Debug, Serialize)]
struct CertificateView {
    id: String,
    organization: String,
    code: String,
    level: String,
    title: String,
    credits: i64,
    retake_ban_percent: i64,
    retake_ban_years: i64,
    created_at: String,
}

impl From<Certificate> for CertificateView {
    fn from(certificate: Certificate) -> Self {
        Self {
            id: certificate.id,
            organization: certificate.organization_id,
            code: certificate.code,
            level: certificate.level,
            title: certificate.title,
            credits: certificate.credits,
            retake_ban_percent: certificate.retake_ban_percent,
            retake_ban_years: certificate.retake_ban_years,
            created_at: rfc3339(certificate.created_at),
        }
    }
}

async fn create_certificate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(request): Json<NewCertificate>,
) -> Result<(StatusCode, JsonResponse<CertificateView>), AppError> {
    access::write_certificates(&caller, &id)?;
    let organization = state
        .storage
        .organization(&id)
        .await?
        .ok_or(AppError::NotFound("organization"))?;
    check_code("code", &request.code, 32)?;
    if !LEVELS.contains(&request.level.as_str()) {
        return Err(AppError::Invalid(format!(
            "level `{}` must be one of junior, intermediate, senior",
            request.level
        )));
    }
    if !(0..=1000).contains(&request.credits) {
        return Err(AppError::Invalid(
            "credits must be between 0 and 1000".to_owned(),
        ));
    }
    if !(0..=100).contains(&request.retake_ban_percent) {
        return Err(AppError::Invalid(
            "retake_ban_percent must be between 0 and 100".to_owned(),
        ));
    }
    if !(0..=10).contains(&request.retake_ban_years) {
        return Err(AppError::Invalid(
            "retake_ban_years must be between 0 and 10".to_owned(),
        ));
    }
    let certificate = Certificate {
        id: random::hex_id(),
        organization_id: organization.id,
        code: request.code.clone(),
        level: request.level.clone(),
        title: check_text("title", &request.title, 200)?,
        credits: request.credits,
        retake_ban_percent: request.retake_ban_percent,
        retake_ban_years: request.retake_ban_years,
        created_at: now_seconds(),
    };
    let audit = audit_entry(
        &caller.user_id,
        "certificate.create",
        &format!("certificate:{}", certificate.id),
        &request,
    );
    state
        .storage
        .create_certificate(&certificate, &audit)
        .await?;
    Ok((StatusCode::CREATED, JsonResponse(certificate.into())))
}

async fn list_certificates(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<Vec<CertificateView>>, AppError> {
    let organization = readable_organization(&state, &caller, &id).await?;
    let certificates = state.storage.certificates_of(&organization.id).await?;
    Ok(JsonResponse(
        certificates
            .into_iter()
            .map(CertificateView::from)
            .collect(),
    ))
}

async fn certificate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<JsonResponse<CertificateView>, AppError> {
    // The role check comes first so a role that may never read certificates learns nothing.
    access::list_organizations(&caller)?;
    let certificate = state
        .storage
        .certificate(&id)
        .await?
        .ok_or(AppError::NotFound("certificate"))?;
    access::read_organization(&caller, &certificate.organization_id)
        .map_err(|_| AppError::NotFound("certificate"))?;
    Ok(JsonResponse(certificate.into()))
}
