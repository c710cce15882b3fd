//! The LiveKit agent worker inside the `lectern` binary.
//!
//! `lectern serve` starts it next to the HTTP API when LiveKit is configured;
//! `lectern worker` runs only it. It registers with the LiveKit server's agent
//! endpoint and teaches the lessons LiveKit dispatches into rooms. Joining a
//! room needs the room transport, compiled in with the cargo feature
//! `livekit`: a binary built without it never registers, as it could accept
//! jobs it cannot run.
//!
//! `lectern worker` serves no API, so it has a listener of its own
//! (`--metrics-addr`) for `/metrics`, `/health` and `/ready`: see
//! [`probe_router`].

use std::sync::atomic::Ordering;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use lectern_runtime::worker::Worker;

/// Why this process runs no agent worker, or `None` when it can run one.
pub fn unavailable_reason(config: &Config) -> Option<String> {
    if config.livekit().is_none() {
        return Some(
            "LiveKit is not configured: set LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
                .to_owned(),
        );
    }
    if !cfg!(feature = "livekit") {
        return Some(
            "this binary was built without the `livekit` cargo feature, so it cannot join \
             LiveKit rooms; rebuild with `cargo build -p lectern-api --features livekit`"
                .to_owned(),
        );
    }
    None
}

/// Starts the agent worker for `state` when it can teach LiveKit lessons:
/// `Ok(None)` (with the reason logged) when LiveKit is not configured, the
/// binary lacks the `livekit` feature, or lessons cannot start (no Realtime
/// endpoint).
pub fn start(state: &AppState) -> anyhow::Result<Option<Worker>> {
    if let Some(reason) = unavailable_reason(&state.config) {
        if state.livekit.is_some() {
            tracing::warn!("the LiveKit agent worker does not register: {reason}");
        } else {
            tracing::debug!("no LiveKit agent worker: {reason}");
        }
        return Ok(None);
    }
    spawn(state)
}

#[cfg(not(feature = "livekit"))]
fn spawn(_state: &AppState) -> anyhow::Result<Option<Worker>> {
    Ok(None)
}

#[cfg(feature = "livekit")]
fn spawn(state: &AppState) -> anyhow::Result<Option<Worker>> {
    use std::sync::Arc;
    use std::time::Duration;

    use lectern_runtime::session::LessonDeps;
    use lectern_runtime::transport::livekit::LiveKitJobRunner;
    use lectern_runtime::worker::WorkerOptions;

    let Some(livekit) = state.livekit.as_deref() else {
        return Ok(None);
    };
    let Some(lesson) = state.lesson_config.clone() else {
        tracing::warn!(
            "the LiveKit agent worker does not register: lessons cannot start without \
             OPENAI_API_KEY (or an OPENAI_REALTIME_URL override)"
        );
        return Ok(None);
    };
    let deps = LessonDeps {
        host: state.plugins.clone(),
        store: state.store.clone(),
        metrics: state.lesson_metrics.clone(),
    };
    let runner = Arc::new(LiveKitJobRunner::new(deps, (*lesson).clone()));
    let mut options = WorkerOptions::new(
        &livekit.url,
        &livekit.api_key,
        livekit.api_secret.expose(),
        &state.config.agent_name,
    );
    options.drain_timeout = Duration::from_millis(state.config.shutdown_grace_ms);
    options.max_jobs = state.config.agent_max_lessons as usize;
    options.default_subtopic = state.config.default_subtopic.clone();
    let worker = Worker::spawn(
        options,
        runner,
        Arc::new(state.store.clone()),
        state.worker_metrics.clone(),
    )?;
    tracing::info!(
        agent_name = %state.config.agent_name,
        url = %livekit.url,
        "LiveKit agent worker started"
    );
    Ok(Some(worker))
}

/// Drains `worker` (stop accepting, end running lessons, wait up to the
/// grace period) and logs how it went.
pub async fn drain(worker: Worker) {
    let report = worker.shutdown().await;
    if report.abandoned > 0 {
        tracing::warn!(
            finished = report.finished,
            abandoned = report.abandoned,
            "agent worker stopped with lessons still running"
        );
    } else {
        tracing::info!(finished = report.finished, "agent worker drained");
    }
}

/// `lectern worker`: only the agent worker, until SIGINT/SIGTERM, then a drain.
/// Its probe listener answers from before registration until the drain ends.
pub async fn run(config: Config) -> anyhow::Result<()> {
    if let Some(reason) = unavailable_reason(&config) {
        anyhow::bail!("`lectern worker` cannot run: {reason}");
    }
    crate::serve::init_tracing(config.log_format);
    tracing::info!(
        ?config,
        "starting the lectern agent worker {}",
        env!("CARGO_PKG_VERSION")
    );
    let address = config.metrics_addr;
    let listener = TcpListener::bind(address).await.with_context(|| {
        format!(
            "binding the worker's metrics listener {address} (is another worker running there? \
             set --metrics-addr / LECTERN_METRICS_ADDR)"
        )
    })?;
    let state = AppState::new(config).await?;
    let (stop_probes, probes_stopped) = tokio::sync::watch::channel(false);
    let probes = tokio::spawn(serve_probes(listener, state.clone(), async move {
        let mut stopped = probes_stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    }));
    let outcome = teach(&state).await;
    let _ = stop_probes.send(true);
    match probes.await {
        Ok(Err(error)) => {
            tracing::warn!(error = %format!("{error:#}"), "the metrics listener failed")
        }
        Err(error) => tracing::warn!(%error, "the metrics listener stopped on an internal error"),
        Ok(Ok(())) => {}
    }
    state.close().await;
    outcome
}

/// Loads plugins, runs the worker until a shutdown signal, then drains it.
async fn teach(state: &AppState) -> anyhow::Result<()> {
    state.start().await?;
    let Some(worker) = start(state)? else {
        anyhow::bail!(
            "`lectern worker` cannot run: lessons cannot start without OPENAI_API_KEY (or an OPENAI_REALTIME_URL override)"
        );
    };
    tokio::select! {
        id = worker.registered() => tracing::info!(worker_id = %id, "registered with LiveKit; waiting for lessons"),
        () = crate::serve::shutdown_signal() => {
            drain(worker).await;
            return Ok(());
        }
    }
    crate::serve::shutdown_signal().await;
    drain(worker).await;
    Ok(())
}

/// The agent worker's probes, for `lectern worker` (`lectern serve` has
/// them in its API):
///
/// - `GET /health`: the process answers.
/// - `GET /ready`: registered with the LiveKit server and not draining, so
///   it takes lessons; 503 `not_ready` otherwise.
/// - `GET /metrics`: Prometheus text: the worker's, the lessons' and the
///   server registry's families the worker records into (plugin swaps,
///   database latency).
pub fn probe_router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Serves [`probe_router`] on `listener` until `shutdown` completes.
pub async fn serve_probes(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    tracing::info!(%address, "worker metrics and probes listening");
    axum::serve(listener, probe_router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving the worker's metrics listener")
}

#[derive(serde::Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

async fn health() -> ApiJson<Health> {
    ApiJson(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[derive(serde::Serialize)]
struct Readiness {
    status: &'static str,
    active_lessons: i64,
}

async fn ready(State(state): State<AppState>) -> Result<ApiJson<Readiness>, ApiError> {
    let metrics = &state.worker_metrics;
    if metrics.draining.load(Ordering::Relaxed) != 0 {
        return Err(ApiError::unavailable(
            "not_ready",
            "The agent worker is draining and takes no new lessons; it stops once they end.",
        ));
    }
    if metrics.connected.load(Ordering::Relaxed) == 0 {
        return Err(ApiError::unavailable(
            "not_ready",
            "The agent worker is not registered with the LiveKit server; check LIVEKIT_URL, \
             the API key and secret, and the worker's log.",
        ));
    }
    Ok(ApiJson(Readiness {
        status: "ready",
        active_lessons: metrics.jobs_active.load(Ordering::Relaxed),
    }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    text.push_str(&state.lesson_metrics.render_prometheus());
    text.push_str(&state.worker_metrics.render_prometheus());
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_livekit_settings_there_is_no_worker() {
        let config = Config {
            livekit_url: None,
            ..Config::default()
        };
        let reason = unavailable_reason(&config).unwrap();
        assert!(reason.contains("LIVEKIT_URL"), "{reason}");
    }

    #[cfg(not(feature = "livekit"))]
    #[tokio::test]
    async fn without_the_feature_the_worker_refuses_to_run_and_says_why() {
        let config = Config {
            livekit_url: Some("wss://lk.example.com".into()),
            livekit_api_key: Some("key".into()),
            livekit_api_secret: Some(crate::config::Secret::new("secret")),
            ..Config::default()
        };
        let error = run(config).await.unwrap_err().to_string();
        assert!(error.contains("`livekit` cargo feature"), "{error}");
        assert!(error.contains("--features livekit"), "{error}");
    }

    #[cfg(not(feature = "livekit"))]
    #[tokio::test]
    async fn serve_with_livekit_configured_but_without_the_feature_registers_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_owned(),
            livekit_url: Some("wss://lk.example.com".into()),
            livekit_api_key: Some("key".into()),
            livekit_api_secret: Some(crate::config::Secret::new("secret")),
            ..Config::default()
        };
        let state = AppState::new(config).await.unwrap();
        assert!(state.livekit.is_some());
        assert!(start(&state).unwrap().is_none());
        state.close().await;
    }
}
