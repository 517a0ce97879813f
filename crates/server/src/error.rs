//! The one error type of the HTTP layer and the contract's error shape
//! `{"error": {"code": "...", "message": "..."}}`.
//!
//! Internal errors (database, hashing, anything a client cannot act on) are answered with a
//! generic message; their text travels to the logging middleware in a response extension and
//! is logged there exactly once, never sent to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::storage::StorageError;

/// Every way a request can fail, one variant per outcome the client sees.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the body is not JSON, or a value is not acceptable as a whole request.
    #[error("{message}")]
    BadRequest {
        /// Machine-readable code.
        code: &'static str,
        /// What to fix.
        message: String,
    },
    /// 422: a field has a value the domain does not accept.
    #[error("{0}")]
    Invalid(String),
    /// 401 `unauthenticated`: no token, a bad token, or an expired or revoked session.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// 401 `invalid_credentials`: login with a wrong username or password.
    #[error("the username or password is wrong")]
    InvalidCredentials,
    /// 403 `forbidden`: the caller's role may not do this.
    #[error("your role may not do this")]
    Forbidden,
    /// 404 `not_found`: no such object, or not one the caller may see.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409 `conflict`: a unique key is taken.
    #[error("{0}")]
    Conflict(String),
    /// 422 `invalid_body`: the JSON has wrong types, missing or unknown fields.
    #[error("{0}")]
    InvalidBody(String),
    /// 413 `payload_too_large`.
    #[error("the request body is larger than the server accepts")]
    PayloadTooLarge,
    /// 415 `unsupported_media_type`.
    #[error("send the body as JSON with `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// 429 `too_many_requests`.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooManyRequests {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: u64,
    },
    /// 503 `not_ready`: a dependency (the database) is unreachable.
    #[error("the database is unreachable")]
    NotReady(String),
    /// A domain refusal with its own status and code, and optional fields beside `code` and
    /// `message` in the error object: 403 `retake_banned` with `until`, 422 `invalid_bank` with
    /// `errors`, 409 `deadline_passed`, ... Build it with [`AppError::refused`].
    #[error("{message}")]
    Refused {
        /// HTTP status.
        status: StatusCode,
        /// Machine-readable code.
        code: &'static str,
        /// What happened and what to do.
        message: String,
        /// Extra fields of the error object.
        details: serde_json::Map<String, serde_json::Value>,
    },
    /// 500 `internal`: logged with its text, answered without it.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The text of an internal error, carried from [`AppError::into_response`] to the logging
/// middleware so it is logged once, with the request's method and path.
#[derive(Debug, Clone)]
pub(crate) struct InternalErrorText(pub(crate) String);

impl AppError {
    /// A domain refusal: `status`, `code` and a message a person can act on.
    pub fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError::Refused {
            status,
            code,
            message: message.into(),
            details: serde_json::Map::new(),
        }
    }

    /// Adds a field beside `code` and `message` (only on [`AppError::Refused`]; other variants
    /// are returned unchanged).
    #[must_use]
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        if let AppError::Refused { details, .. } = &mut self {
            details.insert(key.to_owned(), value.into());
        }
        self
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            AppError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            AppError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            AppError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::InvalidBody(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            AppError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            AppError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            AppError::NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            AppError::Refused { status, code, .. } => (*status, code),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The contract's error body.
pub(crate) fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let (message, internal) = match &self {
            AppError::Internal(text) => (
                "internal error; the server log has the details".to_owned(),
                Some(text.clone()),
            ),
            AppError::NotReady(text) => (self.to_string(), Some(text.clone())),
            _ => (self.to_string(), None),
        };
        let mut response = match &self {
            AppError::Refused { details, .. } if !details.is_empty() => {
                let mut error = details.clone();
                error.insert("code".to_owned(), code.into());
                error.insert("message".to_owned(), message.into());
                (status, Json(json!({ "error": error }))).into_response()
            }
            _ => error_body(status, code, &message),
        };
        if let AppError::TooManyRequests { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if let Some(text) = internal {
            response.extensions_mut().insert(InternalErrorText(text));
        }
        response
    }
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Duplicate(what) => AppError::Conflict(format!("a {what} already exists")),
            StorageError::MissingReference(what) => AppError::NotFound(what),
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Gives bodiless error responses (unmatched routes, wrong methods, timeouts, limits applied
/// outside our extractor) the contract's error shape, so clients parse one shape everywhere.
pub(crate) async fn shape_bare_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this endpoint does not accept that method",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "request_timeout",
            "the request took too long and was abandoned",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "unsupported content type")
        }
        _ if status.is_client_error() => ("bad_request", "the request cannot be processed"),
        _ => ("internal", "internal error; the server log has the details"),
    };
    let mut shaped = error_body(status, code, message);
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(value) = response.headers().get(&name) {
            shaped.headers_mut().insert(name, value.clone());
        }
    }
    shaped
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};

    use super::*;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("a body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_bare_timeout_gets_the_error_shape() {
        runtime().block_on(async {
            let bare = Response::builder()
                .status(StatusCode::REQUEST_TIMEOUT)
                .body(Body::empty())
                .expect("response");
            let shaped = shape_bare_errors(bare).await;
            assert_eq!(shaped.status(), StatusCode::REQUEST_TIMEOUT);
            assert_eq!(body_json(shaped).await["error"]["code"], "request_timeout");
        });
    }

    #[test]
    fn an_internal_error_hides_its_text_from_the_client_and_hands_it_to_the_logger() {
        runtime().block_on(async {
            let response =
                AppError::Internal("connection refused to 10.0.0.5".to_owned()).into_response();
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            let logged = response
                .extensions()
                .get::<InternalErrorText>()
                .map(|text| text.0.clone());
            assert_eq!(logged.as_deref(), Some("connection refused to 10.0.0.5"));
            let body = body_json(response).await;
            assert_eq!(body["error"]["code"], "internal");
            assert!(!body.to_string().contains("10.0.0.5"));
        });
    }

    #[test]
    fn a_duplicate_in_storage_is_a_conflict_and_other_storage_errors_are_internal() {
        assert!(matches!(
            AppError::from(StorageError::Duplicate("username")),
            AppError::Conflict(_)
        ));
        assert!(matches!(
            AppError::from(StorageError::Corrupt("x".to_owned())),
            AppError::Internal(_)
        ));
    }

    #[test]
    fn a_successful_response_passes_through_untouched() {
        runtime().block_on(async {
            let ok = Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Body::empty())
                .expect("response");
            assert_eq!(shape_bare_errors(ok).await.status(), StatusCode::NO_CONTENT);
        });
    }
}
