//! Building the application: state, router, middleware, start-up and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::{Role, TokenKeys};
use crate::config::Config;
use crate::error::{AppError, InternalErrorText, shape_bare_errors};
use crate::ratelimit::{LoginLimits, RedisBuckets};
use crate::storage::{AuditEntry, StaffUser, Storage, StorageError};
use crate::{random, routes};

/// Username of the first admin created on an empty database.
pub const FIRST_ADMIN_USERNAME: &str = "admin";
const JWT_SECRET_SETTING: &str = "jwt_secret";

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) storage: Storage,
    pub(crate) tokens: Arc<TokenKeys>,
    pub(crate) config: Arc<Config>,
    pub(crate) login_limiter: Arc<LoginLimits>,
    pub(crate) banks: Arc<crate::banks::BankCache>,
    pub(crate) delivery: Arc<crate::delivery::Delivery>,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// Opening, migrating or reading the database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Listening or serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
    /// Creating the first admin failed.
    #[error("creating the first admin: {0}")]
    FirstAdmin(String),
    /// The stored signing secret is unreadable.
    #[error(
        "the stored JWT signing secret is not hex; remove the `jwt_secret` setting or set XCERT_JWT_SECRET"
    )]
    CorruptSecret,
}

/// The outcome of [`Application::ensure_first_admin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstAdmin {
    /// The database already has staff; nothing was created.
    AlreadyPresent,
    /// Created with the configured password.
    Created {
        /// The admin's username.
        username: String,
    },
    /// Created with a generated password, which is shown now and never again.
    Generated {
        /// The admin's username.
        username: String,
        /// The generated password.
        password: String,
    },
}

/// The current time in Unix seconds. The server owns time; handlers read it here.
pub(crate) fn now_seconds() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Unix seconds as RFC 3339 (UTC).
pub(crate) fn rfc3339(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|time| time.to_string())
        .unwrap_or_else(|_| seconds.to_string())
}

/// An audit entry for `action` on `object`, hashing the JSON form of `payload` (callers leave
/// passwords out of the payload: a hash of a password is a guessing target).
pub(crate) fn audit_entry(
    actor: &str,
    action: &str,
    object: &str,
    payload: &impl Serialize,
) -> AuditEntry {
    let bytes = serde_json::to_vec(payload).unwrap_or_default();
    AuditEntry {
        actor: actor.to_owned(),
        at: now_seconds(),
        action: action.to_owned(),
        object: object.to_owned(),
        payload_sha256: hex::encode(Sha256::digest(&bytes)),
    }
}

/// A started-up server: database open and migrated, signing key loaded.
#[derive(Debug)]
pub struct Application {
    state: AppState,
    /// The answer writer, drained after the last request on shutdown.
    writer_tasks: crate::delivery::WriterTasks,
}

/// The login limiter: shared through Redis when `XCERT_REDIS_URL` is set and Redis answers;
/// in process otherwise (a replica that cannot reach Redis at start still serves, and says so).
async fn login_limits(config: &Config) -> LoginLimits {
    let Some(url) = &config.redis_url else {
        return LoginLimits::local(config.login_burst, config.login_refill);
    };
    let prefix = format!("{}login:", config.redis_key_prefix);
    match RedisBuckets::connect(url, &prefix, config.login_burst, config.login_refill).await {
        Ok(buckets) => LoginLimits::shared(config.login_burst, config.login_refill, buckets),
        Err(error) => {
            tracing::error!(
                %error,
                redis = %crate::config::redact_url(url),
                "Redis is unreachable; login rate limits are per replica until a restart"
            );
            LoginLimits::local(config.login_burst, config.login_refill)
        }
    }
}

impl Application {
    /// Opens and migrates the database and loads (or generates once) the signing secret.
    pub async fn build(config: Config) -> Result<Self, LaunchError> {
        let storage = Storage::connect(&config.database_url).await?;
        storage.migrate().await?;
        let secret = match &config.jwt_secret {
            Some(secret) => secret.clone(),
            None => {
                let generated = hex::encode(random::bytes::<32>());
                let stored = storage
                    .setting_or_insert(JWT_SECRET_SETTING, &generated)
                    .await?;
                hex::decode(stored).map_err(|_| LaunchError::CorruptSecret)?
            }
        };
        let (writer, writer_tasks) = crate::delivery::Writer::start(
            &storage,
            crate::delivery::GRACE_MS,
            crate::delivery::writer_count(&storage),
        );
        let state = AppState {
            delivery: Arc::new(crate::delivery::Delivery::new(writer)),
            storage,
            tokens: Arc::new(TokenKeys::new(&secret)),
            login_limiter: Arc::new(login_limits(&config).await),
            banks: Arc::new(crate::banks::BankCache::default()),
            config: Arc::new(config),
        };
        Ok(Self {
            state,
            writer_tasks,
        })
    }

    /// The state handlers share, for in-process tasks such as `xcert demo`.
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }

    /// The storage, for start-up tasks and tests.
    pub fn storage(&self) -> &Storage {
        &self.state.storage
    }

    /// Creates the first admin when the database has no staff at all: with `password` when
    /// given, else with a generated one that the caller must show once.
    pub async fn ensure_first_admin(
        &self,
        password: Option<&str>,
    ) -> Result<FirstAdmin, LaunchError> {
        let storage = &self.state.storage;
        if storage.count_staff().await? > 0 {
            return Ok(FirstAdmin::AlreadyPresent);
        }
        let (password, generated) = match password {
            Some(password) => (password.to_owned(), false),
            None => (random::password(20), true),
        };
        let hash = crate::auth::hash_password(password.clone())
            .await
            .map_err(|error| LaunchError::FirstAdmin(error.to_string()))?;
        let user = StaffUser {
            id: random::hex_id(),
            username: FIRST_ADMIN_USERNAME.to_owned(),
            password_hash: hash,
            role: Role::Admin,
            organization_id: None,
            site_id: None,
            created_at: now_seconds(),
        };
        let audit = audit_entry(
            "system",
            "staff.create",
            &format!("staff:{}", user.id),
            &serde_json::json!({
                "username": user.username, "role": "admin", "first_admin": true
            }),
        );
        match storage.create_staff(&user, &audit).await {
            // Another replica created it first: theirs stands.
            Err(StorageError::Duplicate(_)) => Ok(FirstAdmin::AlreadyPresent),
            Err(error) => Err(error.into()),
            Ok(()) if generated => Ok(FirstAdmin::Generated {
                username: user.username,
                password,
            }),
            Ok(()) => Ok(FirstAdmin::Created {
                username: user.username,
            }),
        }
    }

    /// The router with every middleware, for serving or for in-process tests.
    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then finishes in-flight requests and
    /// closes the database.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), LaunchError> {
        let address = listener.local_addr()?;
        tracing::info!(
            %address,
            backend = self.state.storage.backend(),
            redis = self.state.config.redis_url.is_some(),
            "xcert server listening"
        );
        let storage = self.state.storage.clone();
        let (stop_sweeper, sweeper_stop) = tokio::sync::watch::channel(false);
        let sweeper = crate::delivery::sweeper::start(self.state.clone(), sweeper_stop.clone());
        let grading = crate::delivery::scoring::start(self.state.clone(), sweeper_stop);
        let app = router(self.state);
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        // Every acknowledged save is already committed; stop the sweeper and the grading pass
        // (what it has not graded waits in the database for the next start), let the writer
        // drain what is queued, then close the database.
        let _ = stop_sweeper.send(true);
        let _ = sweeper.await;
        let _ = grading.await;
        self.writer_tasks.finish(Duration::from_secs(10)).await;
        served?;
        storage.close().await;
        tracing::info!("xcert server stopped");
        Ok(())
    }
}

/// Starts the server on an already bound `listener` (bind port 0 first in tests, read the
/// port, then spawn this). Creates the first admin when `config.admin_password` is set and the
/// database has no staff.
pub async fn launch(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), LaunchError> {
    let admin_password = config.admin_password.clone();
    let application = Application::build(config).await?;
    if let Some(password) = admin_password.as_deref() {
        application.ensure_first_admin(Some(password)).await?;
    }
    application.serve(listener, shutdown).await
}

fn router(state: AppState) -> Router {
    let limit = state.config.body_limit_bytes;
    let timeout = state.config.request_timeout;
    routes::router(&state)
        .with_state(state)
        .layer(DefaultBodyLimit::max(limit))
        // The outer cap admits the one larger route limit (bank uploads, a route-level
        // `DefaultBodyLimit`); every body extractor still applies its route's limit or this one.
        .layer(RequestBodyLimitLayer::new(
            limit.max(crate::banks::MAX_UPLOAD_BYTES),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(middleware::from_fn(log_internal_errors))
        .layer(middleware::map_response(shape_bare_errors))
}

/// Logs the text of internal errors once, with the request line; the client got a generic
/// message from [`AppError`].
async fn log_internal_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(InternalErrorText(text)) = response.extensions().get::<InternalErrorText>() {
        tracing::error!(%method, %path, status = response.status().as_u16(), error = %text, "request failed");
    }
    response
}

/// Completes on Ctrl-C or SIGTERM, whichever comes first.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("Ctrl-C received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}

/// Binds a TCP listener on `address` (e.g. `127.0.0.1:8080`; port 0 picks a free port).
pub async fn bind(address: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

/// A multi-threaded tokio runtime for the binary's `serve` command.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Installs JSON logging on stderr, filtered by `XCERT_LOG` (default `info`). Safe to call twice.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("XCERT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _already_installed = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(false)
        .try_init();
}

/// How long to wait before a health check answers "not ready".
pub(crate) const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

impl AppState {
    /// Whether the database answers within [`READINESS_TIMEOUT`].
    pub(crate) async fn database_ready(&self) -> Result<(), AppError> {
        match tokio::time::timeout(READINESS_TIMEOUT, self.storage.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(AppError::NotReady(error.to_string())),
            Err(_) => Err(AppError::NotReady("database ping timed out".to_owned())),
        }
    }
}
