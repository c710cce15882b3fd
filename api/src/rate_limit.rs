//! Per-client rate limiting for token and session routes.
//!
//! The algorithm is GCRA with a burst equal to the per-minute quota: a client
//! may send `per_min` requests at once, then one every `60 s / per_min`.
//! Without Redis the state lives in this process ([`governor`]); with
//! `REDIS_URL` it lives in Redis (one Lua script, atomic, clock from Redis'
//! `TIME`) so every instance shares one budget per client.
//!
//! **When Redis fails** (down, slow, refusing), the check falls back to the
//! in-process limiter: the request is decided locally, a warning is logged (at
//! most every [`REDIS_WARN_INTERVAL_SECS`]) and
//! `lectern_rate_limit_backend_errors_total` is incremented. We fail *open to
//! the local limiter* rather than closed because the token route is how every
//! lesson starts: a cache outage must not stop teaching, while the local
//! limiter still bounds each client to the quota per instance (so the shared
//! budget degrades to `instances × quota`, never to unlimited). Reconnection is
//! attempted at most every [`REDIS_RECONNECT_INTERVAL_MS`], so an outage adds
//! no connect latency to most requests.
//!
//! Routes opt in with the [`RateLimited`] extractor (put it before any body
//! extractor).

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use tokio::sync::Mutex;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::state::AppState;

/// Connecting to Redis may take this long before the local limiter decides.
pub const REDIS_CONNECT_TIMEOUT_MS: u64 = 250;
/// One rate-limit script call may take this long before the local limiter decides.
pub const REDIS_RESPONSE_TIMEOUT_MS: u64 = 250;
/// After a Redis failure, reconnection is tried at most this often.
pub const REDIS_RECONNECT_INTERVAL_MS: u64 = 1_000;
/// Redis failures are logged at most this often (the metric counts every one).
pub const REDIS_WARN_INTERVAL_SECS: u64 = 10;
/// Above this many tracked clients the local limiter forgets idle ones.
pub const MAX_TRACKED_CLIENTS: usize = 100_000;
/// Prefix of the Redis keys holding each client's theoretical arrival time.
pub const REDIS_KEY_PREFIX: &str = "lectern:ratelimit:";

/// GCRA in one atomic step. KEYS[1]: the client's key. ARGV[1]: emission
/// interval (µs). ARGV[2]: burst (requests). Returns {allowed (0|1), retry_after_us}.
/// The key expires when the client's budget is full again, so idle clients cost nothing.
const GCRA_SCRIPT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local new_tat = tat + interval
local horizon = interval * burst
if new_tat - now > horizon then
  return {0, new_tat - now - horizon}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return {1, 0}
"#;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refused; the client may retry after this long.
    Deny {
        /// Time until the next request would be allowed.
        retry_after: Duration,
    },
}

/// Which store decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// No limit configured.
    Off,
    /// The in-process limiter.
    Local,
    /// Redis.
    Redis,
}

struct RedisLimiter {
    client: redis::Client,
    script: redis::Script,
    connection: Mutex<RedisConnection>,
}

#[derive(Default)]
struct RedisConnection {
    live: Option<redis::aio::MultiplexedConnection>,
    last_attempt: Option<Instant>,
    last_warning: Option<Instant>,
}

/// The per-client limiter shared by every rate-limited route.
pub struct RateLimiter {
    per_min: u32,
    local: Option<DefaultKeyedRateLimiter<String>>,
    redis: Option<RedisLimiter>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("per_min", &self.per_min)
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

impl RateLimiter {
    /// A limiter allowing `per_min` requests per client per minute (0 = off),
    /// shared through Redis when `redis_url` is given. Does not connect yet:
    /// the server starts even while Redis is down.
    pub fn new(
        per_min: u32,
        redis_url: Option<&str>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let local =
            NonZeroU32::new(per_min).map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)));
        let redis = match (redis_url, per_min) {
            (Some(url), n) if n > 0 => Some(RedisLimiter {
                client: redis::Client::open(url)
                    .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?,
                script: redis::Script::new(GCRA_SCRIPT),
                connection: Mutex::new(RedisConnection::default()),
            }),
            _ => None,
        };
        Ok(Self {
            per_min,
            local,
            redis,
            metrics,
        })
    }

    /// Requests per client per minute (0 = off).
    pub fn per_min(&self) -> u32 {
        self.per_min
    }

    /// Whether Redis is configured as the shared store.
    pub fn uses_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// Counts one request from `client` and decides.
    pub async fn check(&self, client: &str) -> (Decision, Backend) {
        if self.per_min == 0 {
            return (Decision::Allow, Backend::Off);
        }
        if let Some(redis) = &self.redis {
            match self.check_redis(redis, client).await {
                Ok(decision) => return (decision, Backend::Redis),
                Err(error) => self.note_redis_failure(redis, &error).await,
            }
        }
        (self.check_local(client), Backend::Local)
    }

    fn check_local(&self, client: &str) -> Decision {
        let Some(local) = &self.local else {
            return Decision::Allow;
        };
        if local.len() > MAX_TRACKED_CLIENTS {
            local.retain_recent();
        }
        match local.check_key(&client.to_owned()) {
            Ok(()) => Decision::Allow,
            Err(not_until) => Decision::Deny {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            },
        }
    }

    async fn check_redis(&self, redis: &RedisLimiter, client: &str) -> anyhow::Result<Decision> {
        let mut connection = self.redis_connection(redis).await?;
        let interval_us = 60_000_000 / u64::from(self.per_min);
        let (allowed, retry_after_us): (i64, i64) = redis
            .script
            .key(format!("{REDIS_KEY_PREFIX}{client}"))
            .arg(interval_us)
            .arg(self.per_min)
            .invoke_async(&mut connection)
            .await?;
        Ok(if allowed == 1 {
            Decision::Allow
        } else {
            Decision::Deny {
                retry_after: Duration::from_micros(retry_after_us.max(0) as u64),
            }
        })
    }

    async fn redis_connection(
        &self,
        redis: &RedisLimiter,
    ) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        let mut state = redis.connection.lock().await;
        if let Some(live) = &state.live {
            return Ok(live.clone());
        }
        if let Some(at) = state.last_attempt
            && at.elapsed() < Duration::from_millis(REDIS_RECONNECT_INTERVAL_MS)
        {
            anyhow::bail!("Redis unavailable; next reconnect attempt pending");
        }
        state.last_attempt = Some(Instant::now());
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(REDIS_CONNECT_TIMEOUT_MS)))
            .set_response_timeout(Some(Duration::from_millis(REDIS_RESPONSE_TIMEOUT_MS)));
        let live = redis
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        state.live = Some(live.clone());
        Ok(live)
    }

    async fn note_redis_failure(&self, redis: &RedisLimiter, error: &anyhow::Error) {
        self.metrics.rate_limit_backend_errors_total.inc();
        let mut state = redis.connection.lock().await;
        // A failed call may leave the multiplexed connection broken: reconnect later.
        state.live = None;
        let due = state
            .last_warning
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(REDIS_WARN_INTERVAL_SECS));
        if due {
            state.last_warning = Some(Instant::now());
            tracing::warn!(
                error = %error,
                "Redis rate limiting failed; deciding with the in-process limiter until Redis answers again"
            );
        }
    }
}

/// Identifies the client: the peer address, or the first `X-Forwarded-For`
/// entry when the server is configured to trust it.
pub fn client_key(parts: &Parts, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for
        && let Some(first) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
        && let Ok(ip) = first.trim().parse::<IpAddr>()
    {
        return ip.to_string();
    }
    match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => addr.ip().to_string(),
        None => "unknown".to_owned(),
    }
}

/// Extractor that counts the request against the client's budget and refuses
/// it with 429 + `Retry-After` when the budget is spent.
#[derive(Debug, Clone, Copy)]
pub struct RateLimited;

impl FromRequestParts<AppState> for RateLimited {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.rate_limiter.per_min() == 0 {
            // Off: no need to format a client key for every request.
            return Ok(Self);
        }
        let client = client_key(parts, state.config.trust_forwarded_for);
        match state.rate_limiter.check(&client).await.0 {
            Decision::Allow => Ok(Self),
            Decision::Deny { retry_after } => {
                let route = parts
                    .extensions
                    .get::<MatchedPath>()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "unmatched".to_owned());
                state
                    .metrics
                    .rate_limited_total
                    .with_label_values(&[route.as_str()])
                    .inc();
                Err(ApiError::too_many_requests(retry_after))
            }
        }
    }
}
