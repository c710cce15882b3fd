//! Server core: health, readiness, metrics, OpenAPI, error shape, middleware.

#[path = "support/probes.rs"]
mod probes;
#[path = "support/lib.rs"]
mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use probes::app_with_probes;
use support::{TestApp, for_each_database, metric_value, request};

#[tokio::test]
async fn health_answers_with_security_headers_and_request_id() {
    let app = TestApp::new().await;
    let reply = app.get("/api/health").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "ok");
    assert_eq!(reply.headers["x-frame-options"], "DENY");
    assert_eq!(reply.headers["x-content-type-options"], "nosniff");
    assert_eq!(reply.headers["referrer-policy"], "no-referrer");
    let id = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a generated UUID: {id}");

    // A caller's request id is kept.
    let reply = app
        .send(
            request(Method::GET, "/api/health")
                .header("x-request-id", "abc-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.headers["x-request-id"], "abc-123");
}

#[tokio::test]
async fn ready_reports_each_check() {
    for_each_database(
        |_| {},
        |app, kind| async move {
            let reply = app.get("/api/ready").await;
            assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text());
            let json = reply.json();
            assert_eq!(json["status"], "ready");
            let checks = json["checks"].as_array().unwrap();
            assert!(checks.iter().all(|c| c["ok"] == true), "{kind}: {json}");
            assert!(
                checks.iter().any(|c| c["name"] == "database"),
                "{kind}: {json}"
            );
        },
    )
    .await;
}

#[tokio::test]
async fn metrics_count_requests_by_matched_route_and_status() {
    let app = TestApp::new().await;
    app.get("/api/health").await;
    app.get("/api/health").await;
    app.get("/api/no/such/route").await;
    let reply = app.get("/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = reply.text();
    assert_eq!(
        metric_value(
            &text,
            r#"lectern_http_requests_total{method="GET",route="/api/health",status="200"}"#
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        metric_value(
            &text,
            r#"lectern_http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        1.0
    );
    assert!(text.contains("lectern_http_request_duration_seconds_bucket"));
    // Labelled families appear once they have a sample (tokens, plugins and
    // rate limits are checked in their own tests); these always do.
    for family in [
        "lectern_rate_limit_backend_errors_total",
        "lectern_live_sessions",
        "lectern_db_query_duration_seconds",
        "lectern_lessons_started_total",
        "lectern_lessons_active",
        "lectern_first_audio_seconds",
        "lectern_tool_turn_seconds",
        "lectern_lesson_interruptions_total",
        "lectern_realtime_reconnects_total",
        "lectern_realtime_errors_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing from\n{text}"
        );
    }
    assert_eq!(
        text.matches("# TYPE lectern_lessons_started_total ")
            .count(),
        1,
        "one family, one TYPE line"
    );
    // LiveKit is configured here, so the agent worker's families are served…
    assert!(
        text.contains("# TYPE lectern_worker_jobs_active gauge"),
        "{text}"
    );
    // …and without LiveKit there is no worker to report on.
    let no_livekit = TestApp::with_config(|c| c.livekit_url = None).await;
    let text = no_livekit.get("/metrics").await.text();
    assert!(text.contains("lectern_lessons_started_total"), "{text}");
    assert!(!text.contains("lectern_worker_"), "{text}");
    let api = app.get("/api/metrics").await;
    assert_eq!(api.status, StatusCode::OK);
    assert!(api.text().contains("lectern_http_requests_total"));
}

#[tokio::test]
async fn openapi_describes_every_route_of_this_crate() {
    let app = TestApp::new().await;
    let reply = app.get("/api/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/health", "get"),
        ("/api/ready", "get"),
        ("/metrics", "get"),
        ("/api/metrics", "get"),
        ("/api/openapi.json", "get"),
        ("/api/token", "post"),
        ("/api/connection-details", "get"),
        ("/api/connection-details", "post"),
        ("/api/getToken", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["admin_token"]["scheme"],
        "bearer"
    );
    // What the document lists is what the router serves.
    for (path, item) in paths {
        if path.contains('{') {
            continue;
        }
        if item.get("get").is_some() {
            let reply = app.get(path).await;
            assert_ne!(
                reply.status,
                StatusCode::NOT_FOUND,
                "GET {path} is documented but not routed"
            );
            assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "GET {path}");
        }
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_the_json_error_shape() {
    let app = TestApp::new().await;
    app.get("/api/nope")
        .await
        .assert_error(StatusCode::NOT_FOUND, "route_not_found");
    let reply = app
        .send(
            request(Method::DELETE, "/api/health")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert!(
        reply.headers.get(header::ALLOW).is_some(),
        "405 keeps its Allow header"
    );
}

#[tokio::test]
async fn requests_past_the_deadline_answer_503_timeout() {
    let app = app_with_probes(|c| c.request_timeout_ms = 100).await;
    let started = std::time::Instant::now();
    let reply = app.get("/test/slow").await;
    reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "timeout");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn panics_answer_500_without_details() {
    let app = app_with_probes(|_| {}).await;
    let reply = app.get("/test/panic").await;
    reply.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert!(!reply.text().contains("secret"), "{}", reply.text());
    // The server keeps serving.
    assert_eq!(app.get("/api/health").await.status, StatusCode::OK);
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = TestApp::with_config(|c| c.cors_origins = vec!["https://tutor.example".into()]).await;
    let preflight = |origin: &str| {
        request(Method::OPTIONS, "/api/token")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(Body::empty())
            .unwrap()
    };
    let ok = app.send(preflight("https://tutor.example")).await;
    assert_eq!(
        ok.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://tutor.example"
    );
    let other = app.send(preflight("https://evil.example")).await;
    assert!(
        other
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );

    // Without configured origins, no CORS headers at all.
    let closed = TestApp::new().await;
    let reply = closed.send(preflight("https://tutor.example")).await;
    assert!(
        reply
            .headers
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
}

#[tokio::test]
async fn real_listener_serves_and_shuts_down_gracefully() {
    let mut ran = Vec::new();
    for db in support::databases().await {
        eprintln!("-- database: {}", db.kind);
        let dir = tempfile::tempdir().unwrap();
        let mut config = support::test_config(&dir);
        db.configure(&mut config);
        let state = lectern_api::state::AppState::new(config).await.unwrap();
        state.start().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(lectern_api::serve::serve_on(listener, state, async move {
            let _ = stop_rx.await;
        }));

        let (status, body) = http_get(address, "/api/health").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("\"ok\""));
        let (status, body) = http_get(address, "/api/ready").await;
        assert_eq!(status, StatusCode::OK, "{}: {body}", db.kind);
        let (status, _) = http_get(address, "/api/topics").await;
        assert_eq!(status, StatusCode::OK, "{}", db.kind);

        stop_tx.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("server stops after the signal")
            .unwrap()
            .unwrap();
        assert!(
            tokio::net::TcpStream::connect(address).await.is_err(),
            "no longer accepting"
        );
        ran.push(db.kind);
        db.cleanup().await;
    }
    eprintln!("databases ran: {}", ran.join(", "));
}

/// One HTTP/1.1 GET over a fresh connection.
async fn http_get(address: std::net::SocketAddr, path: &str) -> (StatusCode, String) {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let response = sender
        .send_request(
            hyper::Request::get(path)
                .header(header::HOST, address.to_string())
                .body(http_body_util::Empty::<axum::body::Bytes>::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}
