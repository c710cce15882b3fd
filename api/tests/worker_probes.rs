//! `lectern worker`'s own listener: `/health`, `/ready` (registered with the
//! LiveKit dispatcher, not draining) and `/metrics`, against a fake dispatcher.

#[path = "support/lib.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use futures::future::BoxFuture;
use lectern_fake_livekit::FakeDispatcher;
use lectern_runtime::worker::{AssignedJob, JobRunner, Worker, WorkerOptions};

const WAIT: Duration = Duration::from_secs(10);

/// The probes never start a lesson; a job reaching this runner ends at once.
struct NoLessons;

impl JobRunner for NoLessons {
    fn run(&self, _job: AssignedJob) -> BoxFuture<'static, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn the_worker_listener_answers_health_readiness_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let state = lectern_api::state::AppState::new(support::test_config(&dir))
        .await
        .unwrap();
    state.start().await.unwrap();
    state.metrics.record_plugin_swap("quiz", "reconcile");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lectern_api::worker::serve_probes(
        listener,
        state.clone(),
        async move {
            let _ = stop_rx.await;
        },
    ));

    let (status, body) = http_get(address, "/health").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""status":"ok""#), "{body}");
    // Not registered yet: not ready, and the answer says what to check.
    let (status, body) = http_get(address, "/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body.contains("not_ready") && body.contains("LIVEKIT_URL"),
        "{body}"
    );

    let fake = FakeDispatcher::start().await.unwrap();
    let options = WorkerOptions::new(
        fake.url(),
        support::LIVEKIT_KEY,
        support::LIVEKIT_SECRET,
        "lectern-tutor",
    );
    let worker = Worker::spawn(
        options,
        Arc::new(NoLessons),
        Arc::new(state.store.clone()),
        state.worker_metrics.clone(),
    )
    .unwrap();
    tokio::time::timeout(WAIT, worker.registered())
        .await
        .expect("the worker registers");
    let (status, body) = http_get(address, "/ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""status":"ready""#), "{body}");

    let (status, text) = http_get(address, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "lectern_worker_connected 1",
        "lectern_worker_registrations_total 1",
        "lectern_worker_draining 0",
        "lectern_lessons_active 0",
        r#"lectern_plugin_swaps_total{action="reconcile",plugin="quiz"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }
    assert!(
        text.contains("# TYPE lectern_db_query_duration_seconds histogram"),
        "{text}"
    );

    // Draining: no longer ready, and the metrics say so.
    worker.shutdown().await;
    let (status, body) = http_get(address, "/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("draining"), "{body}");
    let (_, text) = http_get(address, "/metrics").await;
    assert!(
        text.lines().any(|l| l == "lectern_worker_draining 1"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "lectern_worker_connected 0"),
        "{text}"
    );

    stop_tx.send(()).unwrap();
    tokio::time::timeout(WAIT, server)
        .await
        .expect("the listener stops after the signal")
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "no longer accepting"
    );
    state.close().await;
}

/// `GET path` on a connection of its own, closed by the server after the
/// answer (the probes' bodies have a length, so no chunked decoding).
async fn http_get(address: SocketAddr, path: &str) -> (StatusCode, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("the listener answers")
        .unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (StatusCode::from_u16(status).unwrap(), body.to_owned())
}
