//! Plugin administration over HTTP, against SQLite and PostgreSQL; with Redis,
//! a change made on one instance reaches another.

#[path = "support/lib.rs"]
mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use lectern_runtime::store::{NewPluginVersion, VersionStatus};
use serde_json::{Value, json};
use support::{
    ADMIN_TOKEN, REDIS_URL, TestApp, TestDatabase, databases, metric_value, redis_available,
    request,
};

fn noop_bytes() -> Vec<u8> {
    std::fs::read(lectern_plugin_artifacts::NOOP).expect("the noop test plugin is built")
}

fn admin(method: Method, uri: &str) -> axum::http::request::Builder {
    request(method, uri).header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
}

fn upload(bytes: Vec<u8>, query: &str) -> axum::http::Request<Body> {
    admin(Method::POST, &format!("/api/plugins{query}"))
        .header(header::CONTENT_TYPE, "application/wasm")
        .body(Body::from(bytes))
        .unwrap()
}

fn admin_json(method: Method, uri: &str, body: &Value) -> axum::http::Request<Body> {
    admin(method, uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn admin_get(uri: &str) -> axum::http::Request<Body> {
    admin(Method::GET, uri).body(Body::empty()).unwrap()
}

async fn app_on(db: &TestDatabase) -> TestApp {
    TestApp::with_config(|c| {
        db.configure(c);
        c.max_plugin_upload_bytes = 4 * 1024 * 1024;
    })
    .await
}

/// A subtopic for the playground, written through the store.
async fn seed_subtopic(app: &TestApp) -> String {
    let doc: lectern_runtime::curriculum::Curriculum = serde_json::from_value(json!({
        "topics": [{
            "id": "fractions",
            "title": "Fractions",
            "subtopics": [{
                "id": "adding-fractions",
                "title": "Adding fractions",
                "summary": "Add fractions with unlike denominators.",
                "content": "To add fractions, find a common denominator first.",
                "level": "beginner"
            }]
        }]
    }))
    .expect("a curriculum document");
    app.state
        .store
        .content()
        .import_curriculum(&doc)
        .await
        .expect("import");
    "adding-fractions".to_owned()
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    let reply = app
        .send(admin_get("/api/audit?target_prefix=plugin:noop"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn upload_activate_invoke_disable_on_every_database() {
    let mut ran = Vec::new();
    for db in databases().await {
        eprintln!("-- database: {}", db.kind);
        ran.push(db.kind);
        let app = app_on(&db).await;
        let kind = db.kind;

        let reply = app.send(upload(noop_bytes(), "")).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{kind}: {}",
            reply.text()
        );
        let uploaded = reply.json();
        assert_eq!(uploaded["plugin"], "noop");
        assert_eq!(uploaded["newly_stored"], true);
        assert_eq!(uploaded["active"], false);
        let sha = uploaded["sha256"].as_str().unwrap().to_owned();

        // The same bytes again change nothing.
        let again = app.send(upload(noop_bytes(), "")).await;
        assert_eq!(again.status, StatusCode::OK, "{kind}: {}", again.text());
        assert_eq!(again.json()["newly_stored"], false);

        let list = app.send(admin_get("/api/plugins")).await.json();
        let noop = list
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "noop")
            .expect("listed");
        assert_eq!(noop["active_version"], Value::Null);

        let reply = app
            .send(admin_json(
                Method::POST,
                "/api/plugins/noop/activate",
                &json!({"version": sha}),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text());
        let detail = reply.json();
        assert_eq!(detail["active_sha256"], sha.as_str());
        assert_eq!(detail["loaded"], true);
        assert_eq!(
            app.state
                .plugins
                .registry()
                .get("noop")
                .unwrap()
                .active
                .as_deref(),
            Some(sha.as_str())
        );

        let versions = app
            .send(admin_get("/api/plugins/noop/versions"))
            .await
            .json();
        assert_eq!(versions.as_array().unwrap().len(), 1);
        assert_eq!(versions[0]["status"], "active");

        // Playground.
        let subtopic = seed_subtopic(&app).await;
        let reply = app
            .send(admin_json(
                Method::POST,
                "/api/plugins/noop/invoke",
                &json!({"tool": "noop", "arguments": {}, "subtopic_id": subtopic}),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text());
        let record = reply.json();
        assert_eq!(record["outcome"], "ok", "{record}");
        assert_eq!(record["digest"], sha.as_str());
        let metrics = app.metrics().await;
        assert_eq!(
            metric_value(
                &metrics,
                r#"lectern_plugin_calls_total{outcome="ok",plugin="noop",tool="noop"}"#
            ),
            1.0,
            "{metrics}"
        );

        // Unknown subtopic: 404, nothing run.
        app.send(admin_json(
            Method::POST,
            "/api/plugins/noop/invoke",
            &json!({"tool": "noop", "arguments": {}, "subtopic_id": "no-such-subtopic"}),
        ))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");

        // Disable, then enable.
        let reply = app
            .send(
                admin(Method::POST, "/api/plugins/noop/disable")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{kind}: {}", reply.text());
        assert_eq!(reply.json()["enabled"], false);
        assert!(app.state.plugins.registry().get("noop").unwrap().disabled);
        let reply = app
            .send(
                admin(Method::POST, "/api/plugins/noop/enable")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.json()["enabled"], true);
        assert!(!app.state.plugins.registry().get("noop").unwrap().disabled);

        assert_eq!(
            audit_actions(&app).await,
            [
                "plugin.enable",
                "plugin.disable",
                "plugin.activate",
                "plugin.upload"
            ],
            "{kind}"
        );
        let metrics = app.metrics().await;
        assert_eq!(
            metric_value(
                &metrics,
                r#"lectern_plugin_swaps_total{action="activate",plugin="noop"}"#
            ),
            1.0
        );
        db.cleanup().await;
    }
    eprintln!("databases ran: {}", ran.join(", "));
}

#[tokio::test]
async fn rollback_returns_to_the_previously_active_version() {
    let mut ran = Vec::new();
    for db in databases().await {
        eprintln!("-- database: {}", db.kind);
        ran.push(db.kind);
        let app = app_on(&db).await;
        let bytes = noop_bytes();
        let first = app
            .send(upload(bytes.clone(), "?activate=true"))
            .await
            .json();
        let first_version = first["version"].as_str().unwrap().to_owned();

        // Nothing to roll back to yet.
        app.send(
            admin(Method::POST, "/api/plugins/noop/rollback")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .assert_error(StatusCode::CONFLICT, "nothing_to_roll_back");

        // A second stored version of the plugin (same component, another version
        // string: what matters here is which row the database marks active).
        app.state
            .store
            .plugins()
            .add_version(&NewPluginVersion {
                plugin_name: "noop".into(),
                version: "9.9.9".into(),
                sha256: first["sha256"].as_str().unwrap().into(),
                manifest: json!({}),
                wasm: Some(bytes.clone()),
                path: None,
                size_bytes: bytes.len() as i64,
                status: VersionStatus::Inactive,
            })
            .await
            .unwrap();
        let reply = app
            .send(admin_json(
                Method::POST,
                "/api/plugins/noop/activate",
                &json!({"version": "9.9.9"}),
            ))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: {}",
            db.kind,
            reply.text()
        );
        assert_eq!(reply.json()["active_version"], "9.9.9");

        let reply = app
            .send(
                admin(Method::POST, "/api/plugins/noop/rollback")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{}: {}",
            db.kind,
            reply.text()
        );
        assert_eq!(reply.json()["active_version"], first_version.as_str());
        assert_eq!(audit_actions(&app).await[0], "plugin.rollback");
        db.cleanup().await;
    }
    eprintln!("databases ran: {}", ran.join(", "));
}

#[tokio::test]
async fn bad_uploads_are_4xx_json_and_store_nothing() {
    let mut ran = Vec::new();
    for db in databases().await {
        eprintln!("-- database: {}", db.kind);
        ran.push(db.kind);
        let app = TestApp::with_config(|c| {
            db.configure(c);
            c.max_plugin_upload_bytes = 64 * 1024;
        })
        .await;
        let empty_core_module = b"\0asm\x01\0\0\0".to_vec();
        let garbage = std::fs::read(lectern_plugin_artifacts::GARBAGE).unwrap();
        let cases: Vec<(&str, axum::http::Request<Body>, StatusCode, &str)> = vec![
            (
                "not wasm",
                upload(garbage, ""),
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_a_component",
            ),
            (
                "core module, not a component",
                upload(empty_core_module, ""),
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_a_component",
            ),
            (
                "too large",
                upload(vec![0u8; 65 * 1024], ""),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
            (
                "empty",
                upload(Vec::new(), ""),
                StatusCode::BAD_REQUEST,
                "empty_body",
            ),
            (
                "wrong content type",
                admin(Method::POST, "/api/plugins")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from("{}"))
                    .unwrap(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                "unknown query",
                upload(noop_bytes(), "?activat=true"),
                StatusCode::BAD_REQUEST,
                "invalid_query",
            ),
            (
                "unknown plugin",
                admin_get("/api/plugins/no-such-plugin"),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                "bad plugin name",
                admin_get("/api/plugins/Bad%20Name"),
                StatusCode::BAD_REQUEST,
                "invalid_plugin_name",
            ),
            (
                "activate unknown plugin",
                admin_json(
                    Method::POST,
                    "/api/plugins/no-such-plugin/activate",
                    &json!({"version": "1.0.0"}),
                ),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                "activate: unknown field",
                admin_json(
                    Method::POST,
                    "/api/plugins/noop/activate",
                    &json!({"version": "1", "force": true}),
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                "activate: malformed JSON",
                admin(Method::POST, "/api/plugins/noop/activate")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from("{"))
                    .unwrap(),
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                "disable unknown plugin",
                admin(Method::POST, "/api/plugins/nope/disable")
                    .body(Body::empty())
                    .unwrap(),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                "invoke: arguments not an object",
                admin_json(
                    Method::POST,
                    "/api/plugins/noop/invoke",
                    &json!({"tool": "noop", "arguments": [1], "subtopic_id": "x"}),
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_arguments",
            ),
            (
                "audit: bad limit",
                admin_get("/api/audit?limit=0"),
                StatusCode::BAD_REQUEST,
                "invalid_limit",
            ),
        ];
        for (what, request, status, code) in cases {
            let reply = app.send(request).await;
            assert_eq!(reply.status, status, "{} {what}: {}", db.kind, reply.text());
            reply.assert_error(status, code);
        }
        assert!(
            app.state.store.plugins().list().await.unwrap().is_empty(),
            "{}: nothing stored",
            db.kind
        );
        assert!(
            app.state.plugins.registry().list().is_empty(),
            "{}: nothing loaded",
            db.kind
        );
        let audit = app.send(admin_get("/api/audit")).await.json();
        assert!(
            audit.as_array().unwrap().is_empty(),
            "{}: nothing audited: {audit}",
            db.kind
        );
        db.cleanup().await;
    }
    eprintln!("databases ran: {}", ran.join(", "));
}

#[tokio::test]
async fn a_change_on_one_instance_reaches_the_other_through_redis() {
    if !redis_available().await {
        return;
    }
    let mut ran = Vec::new();
    for db in databases().await {
        eprintln!("-- database: {}", db.kind);
        ran.push(db.kind);
        // Two instances on one database: a shared SQLite file or PostgreSQL.
        let shared_dir = tempfile::tempdir().unwrap();
        let url = db.url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", shared_dir.path().join("shared.db").display())
        });
        let configure = |c: &mut lectern_api::config::Config| {
            c.database_url = Some(lectern_api::config::Secret::new(url.clone()));
            c.redis_url = Some(lectern_api::config::Secret::new(REDIS_URL));
        };
        let first = TestApp::with_config(configure).await;
        let second = TestApp::with_config(configure).await;
        // Let the second instance's subscription start.
        tokio::time::sleep(Duration::from_millis(300)).await;

        let uploaded = first.send(upload(noop_bytes(), "?activate=true")).await;
        assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.text());
        let sha = uploaded.json()["sha256"].as_str().unwrap().to_owned();
        let registry = second.state.plugins.registry();
        wait_for(|| {
            registry.get("noop").ok().and_then(|s| s.active).as_deref() == Some(sha.as_str())
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "{}: the second instance loaded the activated version",
                db.kind
            )
        });

        first
            .send(
                admin(Method::POST, "/api/plugins/noop/disable")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        wait_for(|| registry.get("noop").map(|s| s.disabled).unwrap_or(false))
            .await
            .unwrap_or_else(|| panic!("{}: the second instance disabled the plugin", db.kind));
        db.cleanup().await;
    }
    eprintln!("databases ran: {}", ran.join(", "));
}

/// Polls `condition` for up to 5 s.
async fn wait_for(mut condition: impl FnMut() -> bool) -> Option<()> {
    for _ in 0..100 {
        if condition() {
            return Some(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}
