//! The web client (learner lesson, author playground, operator console),
//! embedded in the binary at build time (see `api/build.rs`) and served at `/`.
//!
//! - Hashed files under `/assets/` are cached for a year (`immutable`): a new
//!   build gives them new names.
//! - Everything else (`index.html`, the icon) is revalidated with an ETag on
//!   every load, so a new deployment is picked up at once.
//! - Any other path that does not look like a file gets `index.html`, so the
//!   client's own routes (`/playground`, `/console`) load directly.
//! - `/api/…` and `/metrics…` paths never fall back to the page: an unknown API
//!   route is a JSON 404 like every other API error.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::ApiError;

/// Browsers keep content-hashed assets this long.
const HASHED_ASSET_CACHE: &str = "public, max-age=31536000, immutable";
/// Unhashed files must be revalidated (cheaply, via ETag) on every load.
const REVALIDATE_CACHE: &str = "no-cache";
/// The directory Vite writes content-hashed files to.
const HASHED_ASSET_PREFIX: &str = "assets/";
/// The page every client-side route loads.
const INDEX: &str = "index.html";

#[derive(RustEmbed)]
#[folder = "../web/dist"]
struct WebDist;

/// A router that serves only the web client; mount it as the fallback of the
/// API router so API routes always win.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().fallback(fallback)
}

/// The fallback handler itself, for `Router::fallback`.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if is_api_path(path) {
        return ApiError::from_status(StatusCode::NOT_FOUND).into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED).into_response();
    }
    let wanted = path.trim_start_matches('/');
    let wanted = if wanted.is_empty() { INDEX } else { wanted };
    if let Some(response) = asset(wanted, &headers, method == Method::HEAD) {
        return response;
    }
    if looks_like_file(wanted) {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "asset_not_found",
            "This file is not part of the web client; reload the page to get the current version.",
        )
        .into_response();
    }
    asset(INDEX, &headers, method == Method::HEAD)
        .unwrap_or_else(|| ApiError::from_status(StatusCode::NOT_FOUND).into_response())
}

fn is_api_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || path == "/metrics"
        || path.starts_with("/metrics/")
}

/// A path whose last segment has an extension, or anything under `assets/`, names a file.
fn looks_like_file(path: &str) -> bool {
    path.starts_with(HASHED_ASSET_PREFIX)
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

fn asset(path: &str, request_headers: &HeaderMap, head_only: bool) -> Option<Response> {
    let file = WebDist::get(path)?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
    let cache = if path.starts_with(HASHED_ASSET_PREFIX) {
        HASHED_ASSET_CACHE
    } else {
        REVALIDATE_CACHE
    };
    let not_modified = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });

    let mut builder = Response::builder()
        .header(header::CACHE_CONTROL, cache)
        .header(header::ETAG, HeaderValue::from_str(&etag).ok()?);
    if not_modified {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .ok();
    }
    builder = builder
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, file.metadata.mimetype())
        .header(header::CONTENT_LENGTH, file.data.len());
    let body = if head_only {
        Body::empty()
    } else {
        Body::from(file.data.into_owned())
    };
    builder.body(body).ok()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn get(path: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = Request::builder().uri(path);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        router::<()>()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn hashed_asset() -> Option<String> {
        WebDist::iter()
            .find(|p| p.starts_with(HASHED_ASSET_PREFIX) && p.ends_with(".js"))
            .map(|p| p.into_owned())
    }

    #[tokio::test]
    async fn index_is_served_at_root_and_revalidated() {
        let res = get("/", &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(res.headers()[header::CACHE_CONTROL], REVALIDATE_CACHE);
        let body = to_bytes(res.into_body(), usize::MAX).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("<html"));
    }

    #[tokio::test]
    async fn client_routes_fall_back_to_the_index() {
        let index = to_bytes(get("/", &[]).await.into_body(), usize::MAX)
            .await
            .unwrap();
        for path in ["/console", "/playground", "/some/deep/route"] {
            let res = get(path, &[]).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(
                to_bytes(res.into_body(), usize::MAX).await.unwrap(),
                index,
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn hashed_assets_are_cached_for_a_year() {
        let Some(asset) = hashed_asset() else {
            // A build without the client (LECTERN_SKIP_WEB_BUILD) has no hashed assets.
            assert!(
                std::env::var("LECTERN_SKIP_WEB_BUILD").is_ok(),
                "the web client build produced no assets/*.js"
            );
            return;
        };
        let res = get(&format!("/{asset}"), &[]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CACHE_CONTROL], HASHED_ASSET_CACHE);
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .contains("javascript")
        );
    }

    #[tokio::test]
    async fn a_matching_etag_gets_304() {
        let etag = get("/", &[]).await.headers()[header::ETAG]
            .to_str()
            .unwrap()
            .to_owned();
        let res = get("/", &[("if-none-match", &etag)]).await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(
            to_bytes(res.into_body(), usize::MAX).await.unwrap().len(),
            0
        );
    }

    #[tokio::test]
    async fn missing_files_and_api_paths_are_json_404s() {
        for path in [
            "/assets/missing-abc123.js",
            "/favicon.ico",
            "/api/nope",
            "/api",
            "/metrics/x",
        ] {
            let res = get(path, &[]).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(
                res.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json"),
                "{path}"
            );
        }
    }

    #[tokio::test]
    async fn writes_are_refused() {
        let res = router::<()>()
            .oneshot(
                Request::builder()
                    .method(Method::POST)
                    .uri("/console")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
