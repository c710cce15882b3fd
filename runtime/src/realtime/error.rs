//! Realtime errors, split into retryable and fatal.

/// Why the Realtime connection failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RealtimeError {
    /// The API key was refused (HTTP 401/403, or an auth error event).
    #[error("realtime_auth: the Realtime API refused the key ({0}); check OPENAI_API_KEY")]
    Auth(String),
    /// The server refused the request itself (bad URL, model, parameters).
    #[error(
        "realtime_invalid_request: the Realtime API refused the request ({0}); check the Realtime URL and model"
    )]
    InvalidRequest(String),
    /// Too many requests; retried after a delay.
    #[error("realtime_rate_limited: the Realtime API is rate limiting ({0}); retrying")]
    RateLimited(String),
    /// A server-side failure (HTTP 5xx); retried.
    #[error("realtime_server: the Realtime API failed ({0}); retrying")]
    Server(String),
    /// The network failed or the connection dropped; retried.
    #[error("realtime_network: the connection to the Realtime API failed ({0}); retrying")]
    Network(String),
    /// Reconnecting failed too many times in a row.
    #[error(
        "realtime_unavailable: the Realtime API could not be reached after {attempts} attempts (last: {last}); check connectivity and try again later"
    )]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: String,
    },
    /// The client was closed.
    #[error("realtime_closed: the Realtime client was closed")]
    Closed,
}

impl RealtimeError {
    /// Whether reconnecting may help.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RealtimeError::RateLimited(_) | RealtimeError::Server(_) | RealtimeError::Network(_)
        )
    }

    /// A short, stable label (metrics, logs).
    pub fn code(&self) -> &'static str {
        match self {
            RealtimeError::Auth(_) => "auth",
            RealtimeError::InvalidRequest(_) => "invalid_request",
            RealtimeError::RateLimited(_) => "rate_limited",
            RealtimeError::Server(_) => "server",
            RealtimeError::Network(_) => "network",
            RealtimeError::GaveUp { .. } => "gave_up",
            RealtimeError::Closed => "closed",
        }
    }

    /// Classifies a failed HTTP upgrade by status code.
    pub fn from_http_status(status: u16, body: &str) -> Self {
        let detail = format!(
            "HTTP {status}: {}",
            body.chars().take(200).collect::<String>()
        );
        match status {
            401 | 403 => RealtimeError::Auth(detail),
            429 => RealtimeError::RateLimited(detail),
            500..=599 => RealtimeError::Server(detail),
            408 => RealtimeError::Network(detail),
            _ => RealtimeError::InvalidRequest(detail),
        }
    }

    /// Classifies an `error` event that ends the session (most do not).
    pub fn from_error_event(kind: &str, code: Option<&str>, message: &str) -> Option<Self> {
        let detail = format!("{kind}/{}: {message}", code.unwrap_or("-"));
        match (kind, code) {
            (_, Some("invalid_api_key" | "insufficient_quota")) | ("authentication_error", _) => {
                Some(RealtimeError::Auth(detail))
            }
            (_, Some("session_expired")) => Some(RealtimeError::Network(detail)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(!RealtimeError::from_http_status(401, "").is_retryable());
        assert!(!RealtimeError::from_http_status(400, "").is_retryable());
        assert!(RealtimeError::from_http_status(429, "").is_retryable());
        assert!(RealtimeError::from_http_status(503, "").is_retryable());
        assert!(RealtimeError::Network("x".into()).is_retryable());
        assert!(
            !RealtimeError::from_error_event("invalid_request_error", Some("invalid_api_key"), "")
                .unwrap()
                .is_retryable()
        );
        assert!(
            RealtimeError::from_error_event("invalid_request_error", Some("bad_param"), "")
                .is_none()
        );
    }
}
