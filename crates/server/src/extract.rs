//! A JSON body extractor whose every rejection uses the contract's error shape.
//!
//! axum's own `Json` answers rejections with plain text; this wrapper maps each kind to a 4xx
//! [`AppError`]: malformed JSON (400 `malformed_json`), wrong types, missing or unknown fields
//! (422 `invalid_body`, naming the field and position), a missing JSON content type (415) and
//! an oversized body (413). Request types use `#[serde(deny_unknown_fields)]`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub(crate) struct Json<T>(pub(crate) T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> AppError {
    match rejection {
        JsonRejection::JsonSyntaxError(error) => AppError::BadRequest {
            code: "malformed_json",
            message: error.body_text(),
        },
        JsonRejection::JsonDataError(error) => AppError::InvalidBody(error.body_text()),
        JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType,
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        other => AppError::BadRequest {
            code: "bad_request",
            message: other.body_text(),
        },
    }
}
