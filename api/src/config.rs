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
/// A Rust tool is a few hundred KiB, but a JavaScript or Python one embeds its
/// language runtime (12-20 MiB); the runtime refuses components over 64 MiB.
pub const DEFAULT_MAX_PLUGIN_UPLOAD_BYTES: usize = 64 * 1024 * 1024;
/// Whole-request deadline; plugin calls have their own, shorter deadline.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// How long shutdown waits for in-flight requests before closing anyway.
pub const DEFAULT_SHUTDOWN_GRACE_MS: u64 = 10_000;
/// The agent name LiveKit dispatches into a lesson room.
pub const DEFAULT_AGENT_NAME: &str = "lectern-tutor";
/// Default number of LiveKit lessons one instance's agent worker runs at once.
pub const DEFAULT_AGENT_MAX_LESSONS: u32 = 16;
/// Default address of `lectern worker`'s metrics and health listener: loopback
/// only, and a port apart from the API's so both commands fit on one machine.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9091";
/// Plugin calls that may run at once (each reserves a sandbox slot).
pub const DEFAULT_PLUGIN_MAX_INSTANCES: u32 = 500;
/// OpenAI Realtime WebSocket endpoint.
pub const DEFAULT_OPENAI_REALTIME_URL: &str = "wss://api.openai.com/v1/realtime";
/// The GA speech-to-speech model.
pub const DEFAULT_REALTIME_MODEL: &str = "gpt-realtime";
/// The tutor's voice.
pub const DEFAULT_REALTIME_VOICE: &str = "marin";
/// Quiet time before the tutor checks in with a silent learner.
pub const DEFAULT_LESSON_IDLE_NUDGE_MS: u64 = 45_000;
/// Further quiet time after that check-in before the lesson ends.
pub const DEFAULT_LESSON_IDLE_END_MS: u64 = 60_000;
/// Silence that ends a learner's turn under `server_vad` when not set.
pub const DEFAULT_VAD_SILENCE_MS: u32 = 500;

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

/// How the Realtime API decides the learner finished a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum VadKind {
    /// A model judges whether the learner is done (patient with pauses).
    SemanticVad,
    /// A stretch of silence ends the turn.
    ServerVad,
}

/// How soon `semantic_vad` lets the tutor answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "lowercase")]
pub enum VadEagerness {
    /// Waits longest; lets learners think aloud.
    Low,
    /// Between low and high.
    Medium,
    /// Answers soonest.
    High,
    /// The server's choice (medium).
    Auto,
}

/// A Realtime URL must be a WebSocket URL.
fn realtime_url(value: &str) -> Result<String, String> {
    let value = value.trim();
    let rest = value
        .strip_prefix("wss://")
        .or_else(|| value.strip_prefix("ws://"))
        .ok_or_else(|| {
            format!("{value:?} is not a WebSocket URL; use wss://host/path (or ws:// for a local server)")
        })?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        return Err(format!("{value:?} has no host; use wss://host/path"));
    }
    Ok(value.to_owned())
}

/// A name that may not be blank (model, voice).
fn name(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() || value.len() > 128 || value.contains(char::is_whitespace) {
        return Err("must be 1 to 128 characters without spaces".to_owned());
    }
    Ok(value.to_owned())
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

    /// LiveKit lessons this instance's agent worker runs at once; further jobs
    /// are refused so LiveKit dispatches them to another instance.
    #[arg(long, env = "LECTERN_AGENT_MAX_LESSONS", default_value_t = DEFAULT_AGENT_MAX_LESSONS,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub agent_max_lessons: u32,

    /// Subtopic a LiveKit lesson teaches when its token named none; without
    /// it, the curriculum's first subtopic (looked up when the job arrives).
    #[arg(long, env = "LECTERN_DEFAULT_SUBTOPIC", value_parser = name)]
    pub default_subtopic: Option<String>,

    /// `lectern worker` only: address serving `/metrics`, `/health` and
    /// `/ready` (`lectern serve` serves them on --bind).
    #[arg(long, env = "LECTERN_METRICS_ADDR", default_value = DEFAULT_METRICS_ADDR)]
    pub metrics_addr: SocketAddr,

    /// OpenAI API key for the Realtime bridge.
    #[arg(long, env = "OPENAI_API_KEY")]
    pub openai_api_key: Option<Secret>,

    /// OpenAI Realtime WebSocket base URL (override to use a compatible server).
    #[arg(long, env = "OPENAI_REALTIME_URL", default_value = DEFAULT_OPENAI_REALTIME_URL, value_parser = realtime_url)]
    pub openai_realtime_url: String,

    /// Realtime model (sent as `?model=` unless the URL names one).
    #[arg(long, env = "OPENAI_REALTIME_MODEL", default_value = DEFAULT_REALTIME_MODEL, value_parser = name)]
    pub realtime_model: String,

    /// The tutor's voice (e.g. marin, cedar, alloy).
    #[arg(long, env = "LECTERN_REALTIME_VOICE", default_value = DEFAULT_REALTIME_VOICE, value_parser = name)]
    pub realtime_voice: String,

    /// Turn detection: `semantic_vad` or `server_vad`.
    #[arg(long, env = "LECTERN_REALTIME_VAD", value_enum, default_value_t = VadKind::SemanticVad)]
    pub realtime_vad: VadKind,

    /// `semantic_vad` only: low, medium, high or auto (default auto).
    #[arg(long, env = "LECTERN_REALTIME_VAD_EAGERNESS", value_enum)]
    pub realtime_vad_eagerness: Option<VadEagerness>,

    /// `server_vad` only: silence that ends a turn, 100 to 10000 ms (default 500).
    #[arg(long, env = "LECTERN_REALTIME_VAD_SILENCE_MS", value_parser = clap::value_parser!(u32).range(100..=10_000))]
    pub realtime_vad_silence_ms: Option<u32>,

    /// Quiet time before the tutor checks in with a silent learner, in ms (at least 1000).
    #[arg(long, env = "LECTERN_LESSON_IDLE_NUDGE_MS", default_value_t = DEFAULT_LESSON_IDLE_NUDGE_MS,
          value_parser = clap::value_parser!(u64).range(1_000..))]
    pub lesson_idle_nudge_ms: u64,

    /// Further quiet time after the check-in before the lesson ends, in ms (at least 1000).
    #[arg(long, env = "LECTERN_LESSON_IDLE_END_MS", default_value_t = DEFAULT_LESSON_IDLE_END_MS,
          value_parser = clap::value_parser!(u64).range(1_000..))]
    pub lesson_idle_end_ms: u64,

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
            agent_max_lessons: DEFAULT_AGENT_MAX_LESSONS,
            default_subtopic: None,
            metrics_addr: DEFAULT_METRICS_ADDR
                .parse()
                .expect("DEFAULT_METRICS_ADDR is a socket address"),
            openai_api_key: None,
            openai_realtime_url: DEFAULT_OPENAI_REALTIME_URL.to_owned(),
            realtime_model: DEFAULT_REALTIME_MODEL.to_owned(),
            realtime_voice: DEFAULT_REALTIME_VOICE.to_owned(),
            realtime_vad: VadKind::SemanticVad,
            realtime_vad_eagerness: None,
            realtime_vad_silence_ms: None,
            lesson_idle_nudge_ms: DEFAULT_LESSON_IDLE_NUDGE_MS,
            lesson_idle_end_ms: DEFAULT_LESSON_IDLE_END_MS,
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
    /// Checks settings that are only wrong together (each flag alone is
    /// checked when parsed).
    pub fn validate(&self) -> Result<(), String> {
        match self.realtime_vad {
            VadKind::ServerVad if self.realtime_vad_eagerness.is_some() => Err(
                "--realtime-vad-eagerness (LECTERN_REALTIME_VAD_EAGERNESS) applies to semantic_vad only; \
                 drop it or set --realtime-vad semantic_vad"
                    .to_owned(),
            ),
            VadKind::SemanticVad if self.realtime_vad_silence_ms.is_some() => Err(
                "--realtime-vad-silence-ms (LECTERN_REALTIME_VAD_SILENCE_MS) applies to server_vad only; \
                 drop it or set --realtime-vad server_vad"
                    .to_owned(),
            ),
            _ => Ok(()),
        }
    }

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

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    fn parse(args: &[&str]) -> Result<Config, String> {
        use clap::Parser;
        let mut argv = vec!["lectern"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)
            .map(|c| c.config)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn lesson_settings_parse_and_bad_values_are_refused_clearly() {
        let c = parse(&[
            "--realtime-model",
            "gpt-realtime-mini",
            "--realtime-voice",
            "cedar",
            "--realtime-vad",
            "server_vad",
            "--realtime-vad-silence-ms",
            "800",
            "--lesson-idle-nudge-ms",
            "20000",
            "--lesson-idle-end-ms",
            "30000",
            "--openai-realtime-url",
            "ws://127.0.0.1:9100/v1/realtime",
        ])
        .unwrap();
        assert_eq!(c.realtime_model, "gpt-realtime-mini");
        assert_eq!(c.realtime_voice, "cedar");
        assert_eq!(c.realtime_vad, VadKind::ServerVad);
        assert_eq!(c.realtime_vad_silence_ms, Some(800));
        assert_eq!(
            (c.lesson_idle_nudge_ms, c.lesson_idle_end_ms),
            (20_000, 30_000)
        );
        assert!(c.validate().is_ok());
        let c = parse(&["--realtime-vad-eagerness", "low"]).unwrap();
        assert_eq!(c.realtime_vad, VadKind::SemanticVad);
        assert_eq!(c.realtime_vad_eagerness, Some(VadEagerness::Low));
        assert!(c.validate().is_ok());

        for (args, says) in [
            (&["--realtime-vad", "energy"][..], "server_vad"),
            (&["--realtime-vad-eagerness", "eager"], "medium"),
            (&["--realtime-vad-silence-ms", "5"], "100..=10000"),
            (&["--lesson-idle-nudge-ms", "10"], "1000"),
            (&["--lesson-idle-end-ms", "soon"], "invalid digit"),
            (&["--realtime-voice", " "], "without spaces"),
            (
                &[
                    "--openai-realtime-url",
                    "https://api.openai.com/v1/realtime",
                ],
                "WebSocket URL",
            ),
            (&["--openai-realtime-url", "ws://"], "no host"),
        ] {
            let err = parse(args).expect_err(&format!("{args:?} must be refused"));
            assert!(err.contains(says), "{args:?}: {err}");
        }
        let both = parse(&[
            "--realtime-vad",
            "server_vad",
            "--realtime-vad-eagerness",
            "high",
        ])
        .unwrap()
        .validate()
        .unwrap_err();
        assert!(both.contains("semantic_vad only"), "{both}");
        let both = parse(&["--realtime-vad-silence-ms", "700"])
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(both.contains("server_vad only"), "{both}");
    }

    #[test]
    fn the_worker_metrics_address_has_a_loopback_default_and_a_flag() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.metrics_addr, Config::default().metrics_addr);
        assert_eq!(c.metrics_addr.to_string(), "127.0.0.1:9091");
        let c = parse(&["--metrics-addr", "0.0.0.0:9300"]).unwrap();
        assert_eq!(c.metrics_addr.to_string(), "0.0.0.0:9300");
        let err = parse(&["--metrics-addr", "9300"]).unwrap_err();
        assert!(err.contains("--metrics-addr"), "{err}");
    }

    #[test]
    fn the_default_subtopic_is_optional_and_must_be_an_id() {
        assert_eq!(parse(&[]).unwrap().default_subtopic, None);
        let c = parse(&["--default-subtopic", "fractions-1"]).unwrap();
        assert_eq!(c.default_subtopic.as_deref(), Some("fractions-1"));
        let err = parse(&["--default-subtopic", "two words"]).unwrap_err();
        assert!(err.contains("without spaces"), "{err}");
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
