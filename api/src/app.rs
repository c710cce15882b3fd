//! Router assembly: every route plus the middleware every request goes through.
//!
//! Outermost first: request id (`x-request-id`, generated when absent) →
//! tracing span → request id echoed on the response → panic catcher →
//! security headers → CORS → JSON error shape for bare error responses →
//! request deadline → body-size limit → per-route metrics → handler.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::routes::{self, OpenApiDocument};
use crate::state::AppState;

/// Browsers may cache a CORS preflight answer this long.
const CORS_MAX_AGE_SECS: u64 = 3600;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: every route of [`routes::router`] with middleware
/// and state. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`
/// so rate limiting sees client addresses.
pub fn router(state: AppState) -> Router {
    router_with(state, OpenApiRouter::new())
}

/// [`router`] plus `extra` routes under the same middleware (benchmarks use it
/// to measure a floor handler on the same stack).
pub fn router_with(state: AppState, extra: OpenApiRouter<AppState>) -> Router {
    let (api, openapi) = routes::router().merge(extra).split_for_parts();
    let document = OpenApiDocument(Arc::new(
        openapi
            .to_pretty_json()
            .expect("the OpenAPI document serializes"),
    ));
    let config = &state.config;

    let cors = if config.cors_origins.is_empty() {
        None
    } else {
        let origins = if config.cors_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                config
                    .cors_origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o.trim()).ok()),
            )
        };
        Some(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::CONTENT_TYPE,
                    header::AUTHORIZATION,
                    REQUEST_ID.clone(),
                ])
                .expose_headers([REQUEST_ID.clone(), header::RETRY_AFTER])
                .max_age(Duration::from_secs(CORS_MAX_AGE_SECS)),
        )
    };

    let outer = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id)
        })
        // Error statuses are logged once, by `ApiError` (every 5xx answer is one,
        // with its cause); only failures that never became a response are left here.
        .on_failure(|class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span| {
            if let ServerErrorsFailureClass::Error(error) = class {
                tracing::error!(%error, latency_ms = latency.as_millis() as u64, "response failed");
            }
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(CatchPanicLayer::custom(|_panic: Box<dyn std::any::Any + Send>| {
            ApiError::internal(anyhow::anyhow!("a handler panicked")).into_response()
        }))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .option_layer(cors)
        .layer(middleware::from_fn(json_error_shape))
        .layer(middleware::from_fn_with_state(
            Duration::from_millis(config.request_timeout_ms),
            deadline,
        ))
        .layer(DefaultBodyLimit::max(config.max_body_bytes));

    api.fallback(crate::web_assets::fallback)
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            record_metrics,
        ))
        .layer(axum::Extension(document))
        .layer(outer)
        .with_state(state)
}

// The middleware below take only what they use as state, not `AppState`:
// cloning and dropping its many shared handles for every request was a visible
// share of a small request's cost.

/// Answers 503 `timeout` when a request outlives `limit` (`request_timeout_ms`).
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::unavailable(
            "timeout",
            format!(
                "The request took longer than the server's {} ms deadline; retry later.",
                limit.as_millis()
            ),
        )
        .into_response(),
    }
}

/// Rewrites error responses that are not JSON (axum's 405, body-limit 413, …)
/// into the `{"error": {code, message}}` shape, keeping their headers.
async fn json_error_shape(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let replacement = ApiError::from_status(status).into_response();
    let (new_parts, body) = replacement.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(content_type) = new_parts.headers.get(header::CONTENT_TYPE) {
        parts
            .headers
            .insert(header::CONTENT_TYPE, content_type.clone());
    }
    Response::from_parts(parts, body)
}

/// Counts requests and latency by method, matched route template and status.
async fn record_metrics(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // A clone of the matched path shares its string: no allocation per request.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    metrics.record_http(
        method.as_str(),
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        response.status(),
        started.elapsed(),
    );
    response
}
