//! xcert-server: the HTTP service of xcert (`xcert serve`).
//!
//! Design choices, and why:
//!
//! - **axum on tokio, one binary, stateless replicas.** All state lives in the database, so
//!   the same process runs alone on SQLite or as many replicas over PostgreSQL.
//! - **One storage interface over two backends** ([`Storage`], an enum over the sqlx pools):
//!   the same SQL text runs on both, the same story test runs against both, and migrations are
//!   embedded per backend. Every state change writes its audit entry in the same transaction.
//! - **Deny by default.** Handlers take a [`Caller`] (role and scope read from the database
//!   through a revocable session, not trusted from the token alone) and check the exact object
//!   through one access rule per kind of action.
//! - **One error shape.** [`AppError`] maps every outcome to the contract's
//!   `{"error": {"code", "message"}}`; internal details are logged once, never sent.
//! - **The domain stays pure.** Identity-document validation ([`identity`]) is a pure module;
//!   clocks and randomness are read only in the HTTP layer.

pub mod analysis;
mod app;
mod auth;
pub mod banks;
pub mod config;
pub mod credentials;
pub mod delivery;
pub mod demo;
mod error;
mod extract;
pub mod identity;
pub mod marking;
pub mod proctoring;
mod random;
mod ratelimit;
pub mod results;
mod routes;
pub mod sittings;
pub mod storage;
mod ui;

pub use app::{
    AppState, Application, FIRST_ADMIN_USERNAME, FirstAdmin, LaunchError, bind, init_tracing,
    launch, runtime, shutdown_signal,
};
pub use auth::{Caller, CandidateCaller, Role};
pub use config::Config;
pub use error::AppError;
pub use routes::{RouteRule, Rule, route_rules};
pub use storage::{Storage, StorageError};
