//! One error type for every route, answered as `{"error": {"code", "message"}}`.
//!
//! Handlers return `Result<_, ApiError>`. Client mistakes carry a stable `code`
//! and a sentence saying what to do. Internal failures ([`ApiError::internal`],
//! or `?` on an `anyhow::Error`) are logged with their full chain and answered
//! with a generic message: no SQL, paths or error chains reach clients.
//!
//! The extractors [`ApiJson`], [`ApiQuery`] and [`ApiPath`] replace axum's
//! `Json`, `Query` and `Path` so that their rejections (malformed JSON, unknown
//! fields, wrong content type, oversized body, bad ids) answer in the same shape.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// The JSON body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// Code and explanation of an error.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_room_name`.
    pub code: String,
    /// What went wrong and what to do about it.
    pub message: String,
}

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<Duration>,
    /// Logged, never returned.
    internal: Option<anyhow::Error>,
}

impl ApiError {
    /// An error with an explicit status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            internal: None,
        }
    }

    /// 400: the request is wrong; `code` names what (e.g. `invalid_identity`).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422: well-formed JSON whose content is not acceptable.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 404 for a missing resource, e.g. `not_found("subtopic", id)`.
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No {kind} with id `{id}` exists; check the id (list them with GET)."),
        )
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 401: the admin bearer token is missing or wrong.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: the route is switched off by configuration.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 413: the body is larger than `limit_bytes`.
    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body is larger than the limit of {limit_bytes} bytes; send less."),
        )
    }

    /// 415: the body's `Content-Type` is not `expected`.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Send the body with `Content-Type: {expected}`."),
        )
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after: Duration) -> Self {
        let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many requests from this client; retry in {secs} s."),
        );
        error.retry_after = Some(Duration::from_secs(secs));
        error
    }

    /// 503: a dependency is not configured or not reachable.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// 500: logs `error` with its chain and answers a generic message.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The server failed to handle this request; it has been logged. Retry, or report it with the x-request-id header.",
        );
        e.internal = Some(error.into());
        e
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message a client sees.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error a plain status maps to when nothing more specific is known
    /// (404 from the router, 405, timeouts, panics).
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::new(
                status,
                "route_not_found",
                "No route matches this path; see GET /api/openapi.json for the routes.",
            ),
            StatusCode::METHOD_NOT_ALLOWED => Self::new(
                status,
                "method_not_allowed",
                "This route does not accept that method; see GET /api/openapi.json.",
            ),
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => Self::new(
                status,
                "timeout",
                "The request took longer than the server's deadline; retry later.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                status,
                "payload_too_large",
                "The request body is larger than the server accepts; send less.",
            ),
            s if s.is_server_error() => Self::new(
                s,
                "internal",
                "The server failed to handle this request; it has been logged. Retry, or report it with the x-request-id header.",
            ),
            s => Self::new(
                s,
                "bad_request",
                "The request was refused; check it against GET /api/openapi.json.",
            ),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::internal(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(internal) = &self.internal {
            tracing::error!(error = ?internal, code = self.code, "request failed");
        } else if self.status.is_server_error() {
            tracing::warn!(code = self.code, message = %self.message, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(after) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs()));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonSyntaxError(e) => Self::bad_request(
                "malformed_json",
                format!(
                    "The body is not valid JSON ({}); fix its syntax.",
                    e.body_text()
                ),
            ),
            JsonRejection::JsonDataError(e) => Self::unprocessable(
                "invalid_body",
                format!(
                    "The JSON does not match what this route expects: {}.",
                    e.body_text()
                ),
            ),
            JsonRejection::MissingJsonContentType(_) => {
                Self::unsupported_media_type("application/json")
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::from_status(StatusCode::PAYLOAD_TOO_LARGE)
            }
            other => Self::bad_request(
                "unreadable_body",
                format!(
                    "The request body could not be read ({}); resend it.",
                    other.body_text()
                ),
            ),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(
            "invalid_query",
            format!(
                "The query string is not valid for this route: {}.",
                rejection.body_text()
            ),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request(
            "invalid_path",
            format!("A path parameter is not valid: {}.", rejection.body_text()),
        )
    }
}

/// `axum::Json` whose rejections are [`ApiError`]s. Use it as an extractor and
/// as a response (`ApiJson(value)`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The common case is decided here without axum's general path:
        // `Content-Type: application/json` exactly, and a body that parses.
        // axum parses the content type as a MIME type and deserializes through
        // `serde_path_to_error`, which copies every object key it reads into a
        // new string so that an error can name where it happened; that was a
        // visible share of a small request's cost. Anything else (another
        // spelling of the content type, a body that does not parse) goes
        // through axum, so acceptance and every rejection message are axum's.
        let plain_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes() == b"application/json");
        if !plain_json {
            let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
            return Ok(Self(value));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(JsonRejection::from)?;
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(Self(value)),
            Err(_) => {
                let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
                Ok(Self(value))
            }
        }
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// `axum::extract::Path` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}
