//! Server configuration: command-line flags with environment fallbacks.
//!
//! Every field has a default that lets `lectern serve` start on a fresh machine
//! with no external service. Optional services (PostgreSQL, Redis, LiveKit,
//! OpenAI) switch on when their variables are set. Secrets are wrapped in
//! [`Secret`], whose `Debug` never prints the value, so logging the whole config
//! at start-up is safe.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Default listen address: loopback only, so a fresh start exposes nothing.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default data directory (SQLite database, uploaded plugin blobs).
pub const DEFAULT_DATA_DIR: &str = "./data";
/// LiveKit tokens live 15 minutes: long enough to join, short enough that a
/// leaked token is soon useless (LiveKit keeps a joined session alive past expiry).
pub const DEFAULT_TOKEN_TTL_SECS: u64 = 15 * 60;
/// Requests per client per minute on token and session routes, as the system we
/// replace allowed.
pub const DEFAULT_RATE_LIMIT_PER_MIN: u32 = 10;
/// JSON bodies are small documents; a curriculum import is the largest.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// A teaching-tool component is typically a few hundred KiB; 16 MiB leaves room.
pub const DEFAULT_MAX_PLUGIN_UPLOAD_BYTES: usize = 16 * 1024 * 1024;
/// Whole-request deadline; plugin calls have their own, shorter deadline.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// How long shutdown waits for in-flight requests before closing anyway.
pub const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 10_000;
/// The agent name LiveKit dispatches into a lesson room.
pub const DEFAULT_AGENT_NAME: &str = "lectern-tutor";
/// Plugin calls that may run at once (each reserves a sandbox slot).
pub const DEFAULT_PLUGIN_MAX_INSTANCES: u32 = 500;
/// OpenAI Realtime WebSocket endpoint.
pub const DEFAULT_OPENAI_REALTIME_URL: &str = "wss://api.openai.com/v1/realtime";

/// A secret value (API key, token, URL with a password). `Debug` and `Display`
/// print `[redacted]`; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: use only where it is needed, never in logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Configuration of `lectern serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "LECTERN_BIND", default_value = DEFAULT_BIND)]
    pub bind: SocketAddr,

    /// Directory for the SQLite database and uploaded plugins.
    #[arg(long, env = "LECTERN_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    /// Database URL (`sqlite://…` or `postgres://…`); defaults to SQLite at
    /// `<data-dir>/lectern.db`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<Secret>,

    /// Redis URL; when set, rate limits and plugin changes are shared by every
    /// instance.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<Secret>,

    /// LiveKit server URL handed to browsers (e.g. `wss://example.livekit.cloud`).
    #[arg(long, env = "LIVEKIT_URL")]
    pub livekit_url: Option<String>,

    /// LiveKit API key used to sign participant tokens.
    #[arg(long, env = "LIVEKIT_API_KEY")]
    pub livekit_api_key: Option<String>,

    /// LiveKit API secret used to sign participant tokens.
    #[arg(long, env = "LIVEKIT_API_SECRET")]
    pub livekit_api_secret: Option<Secret>,

    /// Agent name put in the room's agent dispatch.
    #[arg(long, env = "LECTERN_AGENT_NAME", default_value = DEFAULT_AGENT_NAME)]
    pub agent_name: String,

    /// OpenAI API key for the Realtime bridge.
    #[arg(long, env = "OPENAI_API_KEY")]
    pub openai_api_key: Option<Secret>,

    /// OpenAI Realtime WebSocket base URL (override to use a compatible server).
    #[arg(long, env = "OPENAI_REALTIME_URL", default_value = DEFAULT_OPENAI_REALTIME_URL)]
    pub openai_realtime_url: String,

    /// Bearer token for admin routes; without it every admin route is refused.
    #[arg(long, env = "LECTERN_ADMIN_TOKEN")]
    pub admin_token: Option<Secret>,

    /// Origins allowed by CORS (comma-separated, e.g. `https://tutor.example`);
    /// empty means same-origin only.
    #[arg(long, env = "LECTERN_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Lifetime of issued LiveKit tokens, in seconds.
    #[arg(long, env = "LECTERN_TOKEN_TTL_SECS", default_value_t = DEFAULT_TOKEN_TTL_SECS)]
    pub token_ttl_secs: u64,

    /// Requests per client per minute on token and session routes (0 = no limit).
    #[arg(long, env = "LECTERN_RATE_LIMIT_PER_MIN", default_value_t = DEFAULT_RATE_LIMIT_PER_MIN)]
    pub rate_limit_per_min: u32,

    /// Identify clients by the first `X-Forwarded-For` address (only behind a
    /// trusted reverse proxy that sets it).
    #[arg(long, env = "LECTERN_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// Largest accepted request body, in bytes (plugin uploads excepted).
    #[arg(long, env = "LECTERN_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Largest accepted plugin upload (`application/wasm`), in bytes.
    #[arg(long, env = "LECTERN_MAX_PLUGIN_UPLOAD_BYTES", default_value_t = DEFAULT_MAX_PLUGIN_UPLOAD_BYTES)]
    pub max_plugin_upload_bytes: usize,

    /// Deadline for one request, in milliseconds.
    #[arg(long, env = "LECTERN_REQUEST_TIMEOUT_MS", default_value_t = DEFAULT_REQUEST_TIMEOUT_MS)]
    pub request_timeout_ms: u64,

    /// How long shutdown waits for in-flight requests, in milliseconds.
    #[arg(long, env = "LECTERN_SHUTDOWN_GRACE_MS", default_value_t = DEFAULT_SHUTDOWN_GRACE_MS)]
    pub shutdown_grace_ms: u64,

    /// Install the bundled example plugins on start (new versions only).
    #[arg(long, env = "LECTERN_BUNDLED_PLUGINS", default_value_t = true, action = clap::ArgAction::Set)]
    pub bundled_plugins: bool,

    /// Plugin calls that may run at the same time.
    #[arg(long, env = "LECTERN_PLUGIN_MAX_INSTANCES", default_value_t = DEFAULT_PLUGIN_MAX_INSTANCES)]
    pub plugin_max_instances: u32,

    /// Log format.
    #[arg(long, env = "LECTERN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Default for Config {
    /// The same defaults as the command line, ignoring the environment.
    fn default() -> Self {
        Self {
            bind: DEFAULT_BIND
                .parse()
                .expect("DEFAULT_BIND is a socket address"),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            database_url: None,
            redis_url: None,
            livekit_url: None,
            livekit_api_key: None,
            livekit_api_secret: None,
            agent_name: DEFAULT_AGENT_NAME.to_owned(),
            openai_api_key: None,
            openai_realtime_url: DEFAULT_OPENAI_REALTIME_URL.to_owned(),
            admin_token: None,
            cors_origins: Vec::new(),
            token_ttl_secs: DEFAULT_TOKEN_TTL_SECS,
            rate_limit_per_min: DEFAULT_RATE_LIMIT_PER_MIN,
            trust_forwarded_for: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_plugin_upload_bytes: DEFAULT_MAX_PLUGIN_UPLOAD_BYTES,
            request_timeout_ms: DEFAULT_REQUEST_TIMEOUT_MS,
            shutdown_grace_ms: DEFAULT_SHUTDOWN_GRACE_MS,
            bundled_plugins: true,
            plugin_max_instances: DEFAULT_PLUGIN_MAX_INSTANCES,
            log_format: LogFormat::Text,
        }
    }
}

/// LiveKit credentials, present only when all three variables are set.
#[derive(Debug, Clone)]
pub struct LiveKitConfig {
    /// Server URL handed to clients.
    pub url: String,
    /// API key (the token issuer).
    pub api_key: String,
    /// API secret (signs tokens).
    pub api_secret: Secret,
}

impl Config {
    /// The database URL to use: `DATABASE_URL`, or SQLite under the data directory.
    pub fn effective_database_url(&self) -> Secret {
        match &self.database_url {
            Some(url) => url.clone(),
            None => Secret::new(format!(
                "sqlite://{}",
                self.data_dir.join("lectern.db").display()
            )),
        }
    }

    /// LiveKit credentials when all three of `LIVEKIT_URL`, `LIVEKIT_API_KEY`
    /// and `LIVEKIT_API_SECRET` are set and non-empty.
    pub fn livekit(&self) -> Option<LiveKitConfig> {
        let url = self.livekit_url.as_deref().filter(|s| !s.is_empty())?;
        let key = self.livekit_api_key.as_deref().filter(|s| !s.is_empty())?;
        let secret = self
            .livekit_api_secret
            .as_ref()
            .filter(|s| !s.expose().is_empty())?;
        Some(LiveKitConfig {
            url: url.to_owned(),
            api_key: key.to_owned(),
            api_secret: secret.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secrets() {
        let config = Config {
            database_url: Some(Secret::new("postgres://u:hunter2@db/x")),
            redis_url: Some(Secret::new("redis://:hunter2@cache")),
            livekit_api_secret: Some(Secret::new("hunter2")),
            openai_api_key: Some(Secret::new("sk-hunter2")),
            admin_token: Some(Secret::new("hunter2")),
            ..Config::default()
        };
        let printed = format!("{config:?} {:?}", config.livekit());
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn livekit_needs_all_three() {
        let mut config = Config {
            livekit_url: Some("ws://lk".into()),
            livekit_api_key: Some("key".into()),
            ..Config::default()
        };
        assert!(config.livekit().is_none());
        config.livekit_api_secret = Some(Secret::new(""));
        assert!(config.livekit().is_none());
        config.livekit_api_secret = Some(Secret::new("secret"));
        assert_eq!(config.livekit().unwrap().api_key, "key");
    }
}
