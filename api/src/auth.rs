//! Admin authentication: `Authorization: Bearer <LECTERN_ADMIN_TOKEN>`.
//!
//! Admin handlers take [`AdminAuth`] as their first argument; it runs before any
//! body extractor, so an anonymous request is refused before its body is read.
//! Without a configured token every admin route answers 403: admin access is
//! never open by default. Tokens are compared as SHA-256 digests in constant
//! time, so neither the content nor the length of the configured token leaks
//! through timing.
//!
//! In the OpenAPI document admin operations carry the `admin_token` security
//! requirement (`security(("admin_token" = []))` in `#[utoipa::path]`); the test
//! suite finds them there and checks each refuses anonymous and wrong tokens.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// Name of the security scheme admin operations declare in the OpenAPI document.
pub const ADMIN_SECURITY_SCHEME: &str = "admin_token";

/// Proof that the request carried the admin token.
#[derive(Debug, Clone, Copy)]
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(expected) = &state.config.admin_token else {
            return Err(ApiError::forbidden(
                "admin_disabled",
                "Admin routes are disabled: set LECTERN_ADMIN_TOKEN (or --admin-token) on the server and send it as `Authorization: Bearer <token>`.",
            ));
        };
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        match presented {
            Some(token) if token_matches(token, expected.expose()) => Ok(Self),
            Some(_) => Err(ApiError::unauthorized(
                "The bearer token is not the admin token; check LECTERN_ADMIN_TOKEN.",
            )),
            None => Err(ApiError::unauthorized(
                "This route needs `Authorization: Bearer <admin token>`.",
            )),
        }
    }
}

fn token_matches(presented: &str, expected: &str) -> bool {
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    bool::from(a.as_slice().ct_eq(b.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::token_matches;

    #[test]
    fn compares_whole_tokens() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cre", "s3cret"));
        assert!(!token_matches("", "s3cret"));
        assert!(!token_matches("s3cret ", "s3cret"));
    }
}
