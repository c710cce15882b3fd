//! `lectern serve`: bind, serve, and shut down gracefully.
//!
//! On SIGINT or SIGTERM, running lessons are told to end cleanly (a reply
//! being spoken may finish, then the conversation is closed with what was
//! said) while new lesson starts are refused with 503; they get
//! `shutdown_grace_ms` to end. Then the listener stops accepting, in-flight
//! requests get `shutdown_grace_ms` to finish, and the database is closed.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use crate::app;
use crate::config::{Config, LogFormat};
use crate::state::AppState;

/// Installs the global tracing subscriber (`RUST_LOG` filters; default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only for a person at a terminal: a log file or collector
    // would store them as noise, and styling every field of every request's
    // span was most of what that span cost.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    // A second call (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Runs the server (and, when LiveKit is configured, the agent worker) until
/// SIGINT/SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    init_tracing(config.log_format);
    tracing::info!(?config, "starting lectern {}", env!("CARGO_PKG_VERSION"));
    let listener = TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding {} (is another server running there?)", config.bind))?;
    let state = AppState::new(config).await?;
    state.start().await?;
    let worker = crate::worker::start(&state)?;
    // LiveKit lessons end before the API's own drain, while the database is
    // still open for their last records.
    let shutdown = async move {
        shutdown_signal().await;
        if let Some(worker) = worker {
            crate::worker::drain(worker).await;
        }
    };
    serve_on(listener, state, shutdown).await
}

/// Serves `state` on `listener` until `shutdown` completes, then drains and
/// closes. Tests use it with their own listener and shutdown trigger.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    let grace = Duration::from_millis(state.config.shutdown_grace_ms);
    let router = app::router(state.clone());
    tracing::info!(%address, "listening");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let lessons = state.lessons.clone();
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        // Lessons first, while HTTP still answers: new lesson starts get a
        // 503 instead of a refused connection, running ones end cleanly.
        let live = lessons.live_count();
        tracing::info!(live, "shutting down: ending lessons, refusing new ones");
        lessons.begin_drain();
        if !lessons.wait_drained(grace).await {
            tracing::warn!(
                still_running = lessons.live_count(),
                grace_ms = grace.as_millis() as u64,
                "lessons still running after the grace period"
            );
        }
        tracing::info!("shutting down: no new connections, draining in-flight requests");
        let _ = stop_tx.send(true);
    });
    let mut server = std::pin::pin!(server.into_future());
    let mut stop_rx = stop_rx;
    tokio::select! {
        result = &mut server => result.context("serving HTTP")?,
        _ = async {
            let _ = stop_rx.wait_for(|stopped| *stopped).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "requests still running after the grace period; closing anyway");
        }
    }
    state.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
