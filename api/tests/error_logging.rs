//! Every 5xx answer is logged exactly once. A test binary of its own: the
//! subscriber it installs is thread-local, and tracing caches per call site
//! whether anyone listens, which tests logging on other threads of the same
//! process can race.

#[path = "support/probes.rs"]
mod probes;
#[path = "support/lib.rs"]
mod support;

use axum::http::StatusCode;
use probes::app_with_probes;

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn server_errors_are_logged_once() {
    let app = app_with_probes(|c| c.request_timeout_ms = 100).await;
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    app.get("/test/panic")
        .await
        .assert_error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    app.get("/test/slow")
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "timeout");
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let failures: Vec<&str> = text.lines().filter(|l| l.contains("failed")).collect();
    assert_eq!(failures.len(), 2, "one line per 5xx answer:\n{text}");
    assert!(
        failures[0].contains("ERROR") && failures[0].contains("a handler panicked"),
        "{text}"
    );
    assert!(
        failures[1].contains("WARN") && failures[1].contains("timeout"),
        "{text}"
    );
}
