//! Content routes: topics, subtopics, tool bindings, curriculum import/export —
//! against SQLite and (when reachable) PostgreSQL.

#[path = "support/lib.rs"]
mod support;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Reply, TestApp, for_each_database, request};

const SAMPLE: &str = include_str!("../curriculum/sample.yaml");

async fn admin(
    app: &TestApp,
    method: Method,
    uri: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> Reply {
    app.send(
        request(method, uri)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap(),
    )
    .await
}

async fn admin_json(app: &TestApp, method: Method, uri: &str, body: &Value) -> Reply {
    admin(app, method, uri, "application/json", body.to_string()).await
}

async fn export(app: &TestApp) -> Value {
    let reply = admin(
        app,
        Method::GET,
        "/api/curriculum?format=json",
        "application/json",
        Body::empty(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

async fn audit_len(app: &TestApp) -> usize {
    app.state
        .store
        .audit()
        .list(None, None, Some(500))
        .await
        .unwrap()
        .len()
}

/// A fresh app on each database, with the sample curriculum imported through the API.
async fn for_each_app<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let test = &test;
    for_each_database(
        |_| {},
        move |app, _| async move {
            let reply = admin(
                &app,
                Method::POST,
                "/api/curriculum",
                "application/yaml",
                SAMPLE,
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            assert_eq!(reply.json()["subtopics"], 6);
            test(app).await;
        },
    )
    .await;
}

#[tokio::test]
async fn reads_serve_the_imported_curriculum() {
    for_each_app(|app| async move {
        let topics = app.get("/api/topics").await.json();
        assert_eq!(topics.as_array().unwrap().len(), 2);
        assert_eq!(topics[0]["id"], "fractions");
        assert_eq!(topics[0]["subtopic_count"], 3);

        let topic = app.get("/api/topics/photosynthesis").await;
        assert_eq!(topic.status, StatusCode::OK);
        assert_eq!(topic.json()["title"], "Photosynthesis");

        let subs = app.get("/api/topics/fractions/subtopics").await.json();
        let ids: Vec<_> = subs
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            ids,
            [
                "fractions-basics",
                "fractions-equivalent",
                "fractions-adding"
            ]
        );

        let sub = app.get("/api/subtopics/fractions-adding").await.json();
        assert_eq!(sub["level"], "intermediate");
        assert_eq!(sub["topic_title"], "Fractions");
        assert_eq!(sub["objectives"].as_array().unwrap().len(), 3);
        assert_eq!(sub["tools"][0]["plugin"], "worked-problem");

        let tools = app
            .get("/api/subtopics/fractions-adding/tools")
            .await
            .json();
        assert_eq!(tools, sub["tools"]);

        for uri in [
            "/api/topics/nope",
            "/api/topics/nope/subtopics",
            "/api/subtopics/nope",
            "/api/subtopics/nope/tools",
        ] {
            app.get(uri)
                .await
                .assert_error(StatusCode::NOT_FOUND, "not_found");
        }

        // Export round-trips: what was imported comes back.
        let exported = export(&app).await;
        let sample: Value = serde_json::to_value(
            lectern_runtime::curriculum::Curriculum::parse(
                SAMPLE,
                lectern_runtime::curriculum::Format::Yaml,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(exported, sample);
        let yaml = admin(
            &app,
            Method::GET,
            "/api/curriculum",
            "application/json",
            Body::empty(),
        )
        .await;
        assert!(
            yaml.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/yaml")
        );
        assert!(yaml.text().contains("fractions-basics"));
    })
    .await;
}

#[tokio::test]
async fn admin_writes_create_update_bind_and_delete() {
    for_each_app(|app| async move {
        // Anonymous and wrong-token writes are refused before anything happens.
        app.post_json("/api/topics", &json!({"id": "x", "title": "X"})).await.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");

        let created = admin_json(&app, Method::POST, "/api/topics", &json!({"id": "algebra", "title": "Algebra"})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        assert_eq!(created.json()["position"], 2, "appended after the sample topics");
        admin_json(&app, Method::POST, "/api/topics", &json!({"id": "algebra", "title": "Again"}))
            .await
            .assert_error(StatusCode::CONFLICT, "conflict");
        let updated = admin_json(&app, Method::PUT, "/api/topics/algebra", &json!({"title": "Algebra I", "position": 0})).await;
        assert_eq!(updated.json()["title"], "Algebra I");
        admin_json(&app, Method::PUT, "/api/topics/nope", &json!({"title": "T"})).await.assert_error(StatusCode::NOT_FOUND, "not_found");

        let sub = json!({
            "id": "linear-equations", "topic_id": "algebra", "title": "Linear equations", "level": "beginner",
            "content": "Solve for x by doing the same to both sides.",
            "objectives": [{"id": "solve", "text": "Solve ax + b = c"}],
            "key_points": ["Do the same to both sides"],
            "examples": [{"title": "One step", "concept": "solve", "problem": "x + 3 = 5", "solution": "x = 2"}]
        });
        let created = admin_json(&app, Method::POST, "/api/subtopics", &sub).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let mut orphan = sub.clone();
        orphan["id"] = "orphan".into();
        orphan["topic_id"] = "nope".into();
        admin_json(&app, Method::POST, "/api/subtopics", &orphan).await.assert_error(StatusCode::NOT_FOUND, "not_found");

        let mut update = sub.clone();
        update.as_object_mut().unwrap().remove("id");
        update["level"] = "advanced".into();
        let updated = admin_json(&app, Method::PUT, "/api/subtopics/linear-equations", &update).await;
        assert_eq!(updated.json()["level"], "advanced", "{}", updated.text());

        let tools = json!([{"plugin": "quiz", "config": {"questions": 2}}, {"plugin": "not-installed-yet", "enabled": false}]);
        let put = admin_json(&app, Method::PUT, "/api/subtopics/linear-equations/tools", &tools).await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.text());
        assert_eq!(app.get("/api/subtopics/linear-equations/tools").await.json(), tools);
        admin_json(&app, Method::PUT, "/api/subtopics/nope/tools", &tools).await.assert_error(StatusCode::NOT_FOUND, "not_found");

        let before = audit_len(&app).await;
        let deleted = admin(&app, Method::DELETE, "/api/subtopics/linear-equations", "application/json", Body::empty()).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        app.get("/api/subtopics/linear-equations").await.assert_error(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(audit_len(&app).await, before + 1, "admin changes are audited");
        let deleted = admin(&app, Method::DELETE, "/api/topics/fractions", "application/json", Body::empty()).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        app.get("/api/subtopics/fractions-basics").await.assert_error(StatusCode::NOT_FOUND, "not_found");
        admin(&app, Method::DELETE, "/api/topics/fractions", "application/json", Body::empty())
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    for_each_app(|app| async move {
        let before = export(&app).await;
        let audit_before = audit_len(&app).await;
        let cases: Vec<(Reply, StatusCode, &str)> = vec![
            (
                admin(
                    &app,
                    Method::POST,
                    "/api/topics",
                    "application/json",
                    "{\"id\": \"x\", ",
                )
                .await,
                StatusCode::BAD_REQUEST,
                "malformed_json",
            ),
            (
                admin_json(
                    &app,
                    Method::POST,
                    "/api/topics",
                    &json!({"id": "x", "title": "X", "colour": "red"}),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                admin_json(
                    &app,
                    Method::POST,
                    "/api/topics",
                    &json!({"id": "bad id!", "title": "X"}),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_content",
            ),
            (
                admin_json(
                    &app,
                    Method::POST,
                    "/api/topics",
                    &json!({"id": "x", "title": "   "}),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_content",
            ),
            (
                admin_json(
                    &app,
                    Method::PUT,
                    "/api/topics/fractions",
                    &json!({"title": ""}),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_content",
            ),
            (
                admin(&app, Method::POST, "/api/topics", "text/plain", "{}").await,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                admin_json(
                    &app,
                    Method::PUT,
                    "/api/subtopics/fractions-basics",
                    &json!({"topic_id": "fractions", "title": "T", "level": "expert"}),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
            ),
            (
                admin_json(
                    &app,
                    Method::PUT,
                    "/api/subtopics/fractions-basics/tools",
                    &json!([{"plugin": "quiz"}, {"plugin": "quiz"}]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_content",
            ),
            (
                admin_json(
                    &app,
                    Method::PUT,
                    "/api/subtopics/fractions-basics/tools",
                    &json!([{"plugin": "quiz", "version": "xyz"}]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_content",
            ),
            (
                admin_json(
                    &app,
                    Method::PUT,
                    "/api/subtopics/fractions-basics/tools",
                    &json!([{"plugin": "quiz", "config": [1]}]),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_content",
            ),
            // Curriculum documents.
            (
                admin(
                    &app,
                    Method::POST,
                    "/api/curriculum",
                    "application/yaml",
                    "topics: [ {id: x",
                )
                .await,
                StatusCode::BAD_REQUEST,
                "malformed_curriculum",
            ),
            (
                admin(
                    &app,
                    Method::POST,
                    "/api/curriculum",
                    "application/json",
                    "{\"topics\": [",
                )
                .await,
                StatusCode::BAD_REQUEST,
                "malformed_curriculum",
            ),
            (
                admin(
                    &app,
                    Method::POST,
                    "/api/curriculum",
                    "application/yaml",
                    "topics: []\nextra: 1",
                )
                .await,
                StatusCode::BAD_REQUEST,
                "malformed_curriculum",
            ),
            (
                admin(
                    &app,
                    Method::POST,
                    "/api/curriculum",
                    "application/yaml",
                    "topics: [{id: a, title: A, subtopics: [{id: s, title: S, level: expert}]}]",
                )
                .await,
                StatusCode::BAD_REQUEST,
                "malformed_curriculum",
            ),
            (
                admin(
                    &app,
                    Method::POST,
                    "/api/curriculum",
                    "application/yaml",
                    "topics: [{id: fractions, title: Changed}, {id: fractions, title: Twice}]",
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_curriculum",
            ),
            (
                admin(
                    &app,
                    Method::POST,
                    "/api/curriculum",
                    "application/yaml",
                    "topics: [{id: fractions, title: Changed, subtopics: [{id: s, title: ''}]}]",
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_curriculum",
            ),
            (
                admin(&app, Method::POST, "/api/curriculum", "text/csv", "a,b").await,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            ),
            (
                admin(
                    &app,
                    Method::GET,
                    "/api/curriculum?format=xml",
                    "application/json",
                    Body::empty(),
                )
                .await,
                StatusCode::BAD_REQUEST,
                "invalid_format",
            ),
            (
                app.send(
                    request(Method::POST, "/api/curriculum")
                        .header(header::CONTENT_TYPE, "application/yaml")
                        .body(Body::from(SAMPLE))
                        .unwrap(),
                )
                .await,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            ),
        ];
        for (i, (reply, status, code)) in cases.iter().enumerate() {
            eprintln!("case {i}");
            reply.assert_error(*status, code);
        }
        let oversized = "x".repeat(app.state.config.max_body_bytes + 1);
        admin(
            &app,
            Method::POST,
            "/api/curriculum",
            "application/yaml",
            oversized,
        )
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        assert_eq!(
            export(&app).await,
            before,
            "a refused request writes nothing"
        );
        assert_eq!(audit_len(&app).await, audit_before);

        // The same document as JSON is accepted (and is an idempotent upsert).
        let reply = admin_json(&app, Method::POST, "/api/curriculum", &before).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(export(&app).await, before);
    })
    .await;
}

/// `lectern content import|export` and `lectern migrate` on a SQLite file.
#[test]
fn cli_imports_exports_and_refuses_bad_documents() {
    let dir = tempfile::tempdir().unwrap();
    let lectern = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lectern"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    assert!(lectern(&["migrate"]).status.success());
    let sample = dir.path().join("sample.yaml");
    std::fs::write(&sample, SAMPLE).unwrap();
    let out = lectern(&["content", "import", sample.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 topics, 6 subtopics"));

    let exported = dir.path().join("out.json");
    assert!(
        lectern(&["content", "export", exported.to_str().unwrap()])
            .status
            .success()
    );
    let before = std::fs::read_to_string(&exported).unwrap();
    assert!(before.contains("\"fractions-basics\""));

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "topics:\n  - id: fractions\n    title: ''\n").unwrap();
    let out = lectern(&["content", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("topics[0].title: must not be empty"));
    assert!(
        lectern(&["content", "export", exported.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap(),
        before,
        "a refused import writes nothing"
    );

    // The JSON export imports back (format chosen by the file extension).
    let out = lectern(&["content", "import", exported.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
