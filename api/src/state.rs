//! [`AppState`]: what every handler can reach. Cheap to clone: one shared
//! [`Shared`] behind a single reference count.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use lectern_runtime::engine::EngineConfig;
use lectern_runtime::plugin::{HostConfig, PluginHost};
use lectern_runtime::realtime::protocol::Eagerness;
use lectern_runtime::realtime::{RealtimeConfig, VadMode};
use lectern_runtime::session::{LessonConfig, LessonMetrics};
use lectern_runtime::store::Store;
use lectern_runtime::worker::WorkerMetrics;

use crate::config::{Config, LiveKitConfig, VadEagerness, VadKind};
use crate::metrics::Metrics;
use crate::plugin_sync::{self, PluginSync};
use crate::rate_limit::RateLimiter;
use crate::routes::sessions::LessonSessions;

/// Shared server state, handed to handlers with `State<AppState>`; its fields
/// are [`Shared`]'s, reached through `Deref`.
///
/// Extractors clone the state for every request, so a clone is one reference
/// count rather than one per field.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares.
#[derive(Debug)]
pub struct Shared {
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// Prometheus metrics; record into its fields.
    pub metrics: Arc<Metrics>,
    /// Per-client limiter for token and session routes (use the
    /// [`crate::rate_limit::RateLimited`] extractor).
    pub rate_limiter: Arc<RateLimiter>,
    /// LiveKit credentials, when all three variables are set.
    pub livekit: Option<Arc<LiveKitConfig>>,
    /// The database (migrated).
    pub store: Store,
    /// The plugin host: registry of versions, tool calls.
    pub plugins: PluginHost,
    /// Announces plugin changes to the other instances (Redis).
    pub plugin_sync: PluginSync,
    /// Lesson settings, when a Realtime endpoint is usable (an OpenAI key, or
    /// an `OPENAI_REALTIME_URL` override for a local/compatible server).
    pub lesson_config: Option<Arc<LessonConfig>>,
    /// Process-wide lesson metrics (turn latency, tools, interruptions).
    pub lesson_metrics: Arc<LessonMetrics>,
    /// The LiveKit agent worker's job counters (all zero when no worker runs).
    pub worker_metrics: Arc<WorkerMetrics>,
    /// Pending session tokens and the lessons running in this process.
    pub lessons: Arc<LessonSessions>,
    plugins_loaded: AtomicBool,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Connects the database and applies migrations, creates the plugin host
    /// and the rate limiter (Redis is connected lazily, so a Redis outage
    /// does not stop the start). Plugins are loaded by [`AppState::start`].
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        config.validate().map_err(anyhow::Error::msg)?;
        let metrics = Arc::new(Metrics::new());
        let redis_url = config.redis_url.as_ref().map(|s| s.expose().to_owned());
        let rate_limiter = Arc::new(RateLimiter::new(
            config.rate_limit_per_min,
            redis_url.as_deref(),
            metrics.clone(),
        )?);
        let livekit = config.livekit().map(Arc::new);

        let url = config.effective_database_url();
        let started = Instant::now();
        let store = Store::connect(url.expose())
            .await
            .context("opening the database (check DATABASE_URL or --data-dir)")?;
        store
            .migrate()
            .await
            .context("applying database migrations")?;
        metrics.observe_db("connect_and_migrate", started.elapsed());

        let plugins = PluginHost::new(HostConfig {
            engine: EngineConfig {
                max_concurrent_instances: config.plugin_max_instances,
                ..EngineConfig::default()
            },
            ..HostConfig::default()
        })
        .context("creating the plugin host")?;
        let plugin_sync = PluginSync::new(redis_url.as_deref())?;

        Ok(Self(Arc::new(Shared {
            metrics,
            rate_limiter,
            livekit,
            store,
            plugins,
            plugin_sync,
            lesson_config: lesson_config(&config).map(Arc::new),
            lesson_metrics: Arc::new(LessonMetrics::default()),
            worker_metrics: Arc::new(WorkerMetrics::default()),
            lessons: Arc::new(LessonSessions::default()),
            config: Arc::new(config),
            plugins_loaded: AtomicBool::new(false),
        })))
    }

    /// Loads plugins: stores the bundled examples' new versions (when
    /// configured), loads every plugin's active version from the database,
    /// and (with Redis) starts following other instances' changes.
    pub async fn start(&self) -> anyhow::Result<()> {
        if self.config.bundled_plugins {
            plugin_sync::store_bundled(&self.plugins, &self.store).await?;
        }
        plugin_sync::reconcile_all(&self.plugins, &self.store, &self.metrics).await?;
        self.plugin_sync.spawn_listener(
            self.plugins.clone(),
            self.store.clone(),
            self.metrics.clone(),
        );
        self.plugins_loaded.store(true, Ordering::Release);
        Ok(())
    }

    /// Each dependency readiness depends on, with the reason when unusable.
    pub async fn readiness_checks(&self) -> Vec<(&'static str, Result<(), String>)> {
        let started = Instant::now();
        let database = self.store.ping().await.map_err(|e| {
            tracing::warn!(error = %e, "readiness: database unreachable");
            "unreachable".to_owned()
        });
        self.metrics.observe_db("ping", started.elapsed());
        let plugins = if self.plugins_loaded.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err("still loading".to_owned())
        };
        vec![("database", database), ("plugins", plugins)]
    }

    /// Releases what the state holds (database connections) at shutdown.
    pub async fn close(&self) {
        self.store.close().await;
    }
}

/// Lesson settings from the configuration: `None` without an OpenAI key
/// unless the Realtime URL was overridden (a local or compatible server).
fn lesson_config(config: &Config) -> Option<LessonConfig> {
    let key = config
        .openai_api_key
        .as_ref()
        .map(|k| k.expose().trim())
        .filter(|k| !k.is_empty());
    let overridden = config.openai_realtime_url != crate::config::DEFAULT_OPENAI_REALTIME_URL;
    if key.is_none() && !overridden {
        return None;
    }
    let vad = match config.realtime_vad {
        VadKind::SemanticVad => VadMode::Semantic(match config.realtime_vad_eagerness {
            Some(VadEagerness::Low) => Eagerness::Low,
            Some(VadEagerness::Medium) => Eagerness::Medium,
            Some(VadEagerness::High) => Eagerness::High,
            Some(VadEagerness::Auto) | None => Eagerness::Auto,
        }),
        VadKind::ServerVad => VadMode::Server {
            silence_duration_ms: config
                .realtime_vad_silence_ms
                .unwrap_or(crate::config::DEFAULT_VAD_SILENCE_MS),
        },
    };
    let realtime = RealtimeConfig {
        url: config.openai_realtime_url.clone(),
        model: config.realtime_model.clone(),
        voice: config.realtime_voice.clone(),
        vad,
        api_key: key.map(str::to_owned),
        ..RealtimeConfig::default()
    };
    Some(LessonConfig {
        realtime,
        idle_nudge_ms: config.lesson_idle_nudge_ms,
        idle_end_ms: config.lesson_idle_end_ms,
        ..LessonConfig::default()
    })
}
