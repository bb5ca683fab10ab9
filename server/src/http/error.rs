//! What the API answers when it does not do what was asked: one [`ApiError`] per kind of
//! refusal, each with its status code and the JSON body every API error has, `{"error": "..."}`.
//!
//! A client's mistake (400, 401, 403, 404, ...) says what was wrong, since the client can fix
//! it. The server's own failure (500) is logged with its cause and answers a fixed body: what
//! broke inside is for the operators' log, not for whoever sent the request.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The body of every 500: nothing of the cause.
const INTERNAL: &str = "internal error";

/// Why a request was refused, or failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or its values are out of range.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials (no session, a wrong password, a wrong token).
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the credentials are valid but do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: nothing there.
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the thing is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    /// 413: more than one request may carry.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429 with `Retry-After`: too many attempts; try again after this long.
    #[error("too many attempts")]
    TooManyAttempts(Duration),
    /// 503: a part the answer needs (the store, the session file) cannot serve now; the
    /// message says which, and that trying again later makes sense.
    #[error("{0}")]
    Unavailable(String),
    /// 500: the server failed. The cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> ApiError {
        ApiError::BadRequest(msg.into())
    }

    pub fn unauthorized(msg: impl Into<String>) -> ApiError {
        ApiError::Unauthorized(msg.into())
    }

    pub fn not_found(msg: impl Into<String>) -> ApiError {
        ApiError::NotFound(msg.into())
    }

    pub fn unavailable(msg: impl Into<String>) -> ApiError {
        ApiError::Unavailable(msg.into())
    }

    /// A failure of the server, with its cause for the log.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(cause.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "a request failed");
                (status, Json(json!({ "error": INTERNAL }))).into_response()
            }
            ApiError::TooManyAttempts(wait) => {
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                let body = json!({ "error": "too many attempts", "retry_after_s": secs });
                let mut r = (status, Json(body)).into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                r
            }
            other => (status, Json(json!({ "error": other.to_string() }))).into_response(),
        }
    }
}

/// What a handler returns: its answer, or why there is none.
pub type ApiResult<T = Response> = Result<T, ApiError>;

/// The fallback of every path under `/api/` that no route has.
pub(crate) async fn api_not_found() -> ApiError {
    ApiError::not_found("no such API path")
}

/// The fallback of an API path asked with a method it does not take (axum adds `Allow`).
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: ApiError) -> (StatusCode, axum::http::HeaderMap, String) {
        let r = e.into_response();
        let (parts, body) = r.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_client_error_says_what_was_wrong_as_before() {
        let (status, headers, text) = body(ApiError::bad_request("limit must be 1 to 1000")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(text, r#"{"error":"limit must be 1 to 1000"}"#);
    }

    #[tokio::test]
    async fn too_many_attempts_says_when_to_try_again() {
        let (status, headers, text) =
            body(ApiError::TooManyAttempts(Duration::from_millis(1500))).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[header::RETRY_AFTER], "2");
        assert_eq!(text, r#"{"error":"too many attempts","retry_after_s":2}"#);
    }

    #[tokio::test]
    async fn a_server_failure_shows_nothing_of_its_cause() {
        let (status, _, text) = body(ApiError::internal(
            "disk /var/lib/ioc/alerts.sqlite is gone",
        ))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(text, r#"{"error":"internal error"}"#);
    }
}
