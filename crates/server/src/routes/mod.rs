//! The HTTP API under `/api/v1`, one module per resource, each listing its [`Route`]s.
//!
//! Authorization is deny by default, in two layers:
//!
//! 1. **The route table.** A route can only be added with a [`Rule`]; the router is built from
//!    the table, and a middleware on every route authenticates the caller and refuses any role
//!    the rule does not name (401 without a valid session, 403 for another role) before the
//!    handler runs. [`route_rules`] publishes the table, and the API tests check every route
//!    for every role against it, so a new route is covered the day it is added.
//! 2. **The object.** Handlers take a [`Caller`] and check, through [`access`], that the
//!    caller's scope covers the exact object (their own organization, ...).

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde_json::json;

use crate::app::AppState;
use crate::auth::{Caller, CandidateCaller, Role};
use crate::error::AppError;

pub(crate) mod access;
mod analysis;
mod attempts;
mod audit;
mod banks;
mod candidates;
mod credentials;
mod marking;
mod openapi;
mod organizations;
mod papers;
mod proctoring;
mod results;
mod sites;
mod sittings;
mod staff;
mod staff_sessions;

/// Every staff role (everyone with a staff account).
pub(crate) const STAFF: &[Role] = &[
    Role::Admin,
    Role::Org,
    Role::Site,
    Role::Proctor,
    Role::Grader,
    Role::Auditor,
];

/// Who may call a route at all (the object check comes on top, in the handler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, without a token.
    Public,
    /// A staff member with a live session and one of these roles.
    Staff(&'static [Role]),
    /// A candidate with a live candidate session (ticket + ID number login); staff tokens
    /// are refused. The handler gets a [`CandidateCaller`].
    Candidate,
}

/// One route: method, path under `/api/v1`, rule and handler.
pub(crate) struct Route {
    method: Method,
    path: &'static str,
    summary: &'static str,
    rule: Rule,
    handler: MethodRouter<AppState>,
}

impl Route {
    pub(crate) fn new(
        method: Method,
        path: &'static str,
        summary: &'static str,
        rule: Rule,
        handler: MethodRouter<AppState>,
    ) -> Self {
        Self {
            method,
            path,
            summary,
            rule,
            handler,
        }
    }
}

/// A line of the published route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// HTTP method.
    pub method: Method,
    /// Full path, e.g. `/api/v1/organizations/{id}`.
    pub path: String,
    /// What it does, in one line.
    pub summary: &'static str,
    /// Who may call it.
    pub rule: Rule,
}

fn table() -> Vec<Route> {
    let mut routes = vec![Route::new(
        Method::GET,
        "/time",
        "The server's clock (RFC 3339), for clients to correct their offset",
        Rule::Public,
        get(server_time),
    )];
    routes.extend(staff_sessions::routes());
    routes.extend(staff::routes());
    routes.extend(organizations::routes());
    routes.extend(sites::routes());
    routes.extend(audit::routes());
    routes.extend(banks::routes());
    routes.extend(sittings::routes());
    routes.extend(candidates::routes());
    routes.extend(attempts::routes());
    routes.extend(papers::routes());
    routes.extend(proctoring::routes());
    routes.extend(marking::routes());
    routes.extend(results::routes());
    routes.extend(credentials::routes());
    routes.extend(analysis::routes());
    routes
}

/// Every API route with its rule, as the router enforces it.
pub fn route_rules() -> Vec<RouteRule> {
    table()
        .into_iter()
        .map(|route| RouteRule {
            method: route.method,
            path: format!("/api/v1{}", route.path),
            summary: route.summary,
            rule: route.rule,
        })
        .collect()
}

pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let mut api = Router::new();
    for route in table() {
        let rule = route.rule;
        let guarded = route.handler.route_layer(middleware::from_fn_with_state(
            state.clone(),
            move |State(state): State<AppState>, request: Request, next: Next| {
                enforce(state, rule, request, next)
            },
        ));
        api = api.route(route.path, guarded);
    }
    Router::new()
        .route("/", get(crate::ui::candidate_page))
        .route("/staff", get(crate::ui::staff_page))
        .route("/ui/{file}", get(crate::ui::file))
        .route("/verify", get(crate::ui::verify_page))
        .route(
            "/certificates/{number}/print",
            get(crate::ui::certificate_print_page),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/openapi.json", get(openapi::document))
        .nest("/api/v1", api)
        .fallback(not_found)
}

/// Applies a route's [`Rule`]; the authenticated [`Caller`] is handed to the handler through
/// the request's extensions so the session is looked up once.
async fn enforce(state: AppState, rule: Rule, request: Request, next: Next) -> Response {
    let roles = match rule {
        Rule::Public => return next.run(request).await,
        Rule::Candidate => {
            let (mut parts, body) = request.into_parts();
            let candidate = match CandidateCaller::from_request_parts(&mut parts, &state).await {
                Ok(candidate) => candidate,
                Err(error) => return error.into_response(),
            };
            parts.extensions.insert(candidate);
            return next.run(Request::from_parts(parts, body)).await;
        }
        Rule::Staff(roles) => roles,
    };
    let (mut parts, body) = request.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    if !roles.contains(&caller.role) {
        return AppError::Forbidden.into_response();
    }
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// The process can serve: the database answers.
async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    state.database_ready().await?;
    let rate_limits = if state.login_limiter.is_shared() {
        "redis"
    } else {
        "in_process"
    };
    Ok(axum::Json(json!({
        "status": "ready",
        "database": state.storage.backend(),
        "rate_limits": rate_limits,
    })))
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
