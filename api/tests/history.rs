//! History routes: conversations, messages, tool invocations, learner progress and
//! learner deletion — against SQLite and (when reachable) PostgreSQL.

#[path = "support/lib.rs"]
mod support;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use lectern_runtime::curriculum::{Curriculum, Format};
use lectern_runtime::store::{Evidence, NewToolInvocation};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Reply, TestApp, databases, request};

const SAMPLE: &str = include_str!("../curriculum/sample.yaml");

async fn admin_json(app: &TestApp, method: Method, uri: &str, body: &Value) -> Reply {
    app.send(
        request(method, uri)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

async fn for_each_app<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in databases().await {
        eprintln!("-- {}", db.kind);
        let app = TestApp::with_config(|c| db.configure(c)).await;
        app.state
            .store
            .seed_if_empty(&Curriculum::parse(SAMPLE, Format::Yaml).unwrap())
            .await
            .unwrap();
        test(app).await;
        db.cleanup().await;
    }
}

async fn start(app: &TestApp, learner: &str, subtopic: &str) -> String {
    let reply = admin_json(
        app,
        Method::POST,
        "/api/conversations",
        &json!({"learner_id": learner, "subtopic_id": subtopic, "room": "r"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn conversations_messages_and_tool_invocations() {
    for_each_app(|app| async move {
        let c1 = start(&app, "ada", "fractions-basics").await;
        let c2 = start(&app, "bob", "photosynthesis-overview").await;
        let c3 = start(&app, "ada", "photosynthesis-overview").await;
        for (role, text) in [
            ("learner", "What is a numerator?"),
            ("tutor", "The number on top."),
            ("system", "switched"),
        ] {
            let reply = admin_json(
                &app,
                Method::POST,
                &format!("/api/conversations/{c1}/messages"),
                &json!({"role": role, "content": text}),
            )
            .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        }
        app.state
            .store
            .history()
            .record_tool_invocation(&NewToolInvocation {
                conversation_id: Some(c1.clone()),
                plugin_name: "check-understanding".into(),
                tool_name: "check_understanding".into(),
                arguments: json!({"answer": "top"}),
                outcome: "ok".into(),
                duration_us: 1200,
                output: Some("{\"correct\":true}".into()),
                ..Default::default()
            })
            .await
            .unwrap();

        let detail = app.get(&format!("/api/conversations/{c1}")).await.json();
        assert_eq!(detail["learner_id"], "ada");
        assert_eq!(detail["status"], "active");
        assert_eq!(detail["message_count"], 3);
        assert_eq!(detail["messages"][1]["content"], "The number on top.");
        let page = app
            .get(&format!("/api/conversations/{c1}/messages?limit=2"))
            .await
            .json();
        assert_eq!(page.as_array().unwrap().len(), 2);
        let after = page[1]["id"].as_i64().unwrap();
        let rest = app
            .get(&format!("/api/conversations/{c1}/messages?after={after}"))
            .await
            .json();
        assert_eq!(rest[0]["role"], "system");
        let calls = app
            .get(&format!("/api/conversations/{c1}/tool-invocations"))
            .await
            .json();
        assert_eq!(calls[0]["plugin_name"], "check-understanding");
        assert_eq!(calls[0]["arguments"]["answer"], "top");
        assert_eq!(
            app.get(&format!("/api/conversations/{c2}/tool-invocations"))
                .await
                .json(),
            json!([])
        );

        let ada = app.get("/api/conversations?learner_id=ada").await.json();
        let ids: Vec<_> = ada["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&c1) && ids.contains(&c3));
        let by_subtopic = app
            .get("/api/conversations?subtopic_id=photosynthesis-overview&limit=1")
            .await
            .json();
        assert_eq!(by_subtopic["items"].as_array().unwrap().len(), 1);
        let cursor = by_subtopic["next_cursor"].as_str().unwrap().to_owned();
        let next = app
            .get(&format!(
                "/api/conversations?subtopic_id=photosynthesis-overview&limit=1&cursor={cursor}"
            ))
            .await
            .json();
        assert_eq!(next["items"].as_array().unwrap().len(), 1);
        assert_ne!(next["items"][0]["id"], by_subtopic["items"][0]["id"]);
        assert_eq!(
            app.get("/api/conversations?status=ended").await.json()["items"],
            json!([])
        );

        // Bad input: each a 4xx in the error shape, nothing written.
        let count =
            app.get(&format!("/api/conversations/{c1}")).await.json()["message_count"].clone();
        app.get("/api/conversations/nope")
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
        app.get("/api/conversations/nope/messages")
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
        app.get("/api/conversations/nope/tool-invocations")
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
        app.get("/api/conversations?status=paused")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_status");
        app.get("/api/conversations?cursor=garbage")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
        app.get("/api/conversations?limit=0")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_limit");
        app.get("/api/conversations?limit=100000")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_limit");
        app.get("/api/conversations?colour=red")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
        let uri = format!("/api/conversations/{c1}/messages");
        admin_json(
            &app,
            Method::POST,
            &uri,
            &json!({"role": "robot", "content": "x"}),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
        admin_json(
            &app,
            Method::POST,
            &uri,
            &json!({"role": "tutor", "content": "x", "mood": 1}),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
        admin_json(
            &app,
            Method::POST,
            "/api/conversations/nope/messages",
            &json!({"role": "tutor", "content": "x"}),
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
        app.post_json(&uri, &json!({"role": "tutor", "content": "x"}))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
        admin_json(
            &app,
            Method::POST,
            "/api/conversations",
            &json!({"learner_id": "ada", "subtopic_id": "nope"}),
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
        admin_json(
            &app,
            Method::POST,
            "/api/conversations",
            &json!({"learner_id": ""}),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
        admin_json(
            &app,
            Method::POST,
            "/api/conversations",
            &json!({"id": c1, "learner_id": "ada"}),
        )
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
        assert_eq!(
            app.get(&format!("/api/conversations/{c1}")).await.json()["message_count"],
            count
        );
        assert_eq!(
            app.get("/api/conversations").await.json()["items"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
    })
    .await;
}

#[tokio::test]
async fn progress_is_read_per_learner_and_learner_deletion_is_complete() {
    for_each_app(|app| async move {
        let progress = app.state.store.progress();
        for (objective, score) in [("name-parts", 1.0), ("equal-parts", 0.5)] {
            progress
                .record_evidence(&Evidence {
                    learner_id: "ada".into(),
                    subtopic_id: "fractions-basics".into(),
                    objective_id: objective.into(),
                    score,
                    note: "quiz".into(),
                })
                .await
                .unwrap();
        }
        let c = start(&app, "ada", "fractions-basics").await;
        admin_json(
            &app,
            Method::POST,
            &format!("/api/conversations/{c}/messages"),
            &json!({"role": "learner", "content": "hi"}),
        )
        .await;
        let other = start(&app, "bob", "fractions-basics").await;

        let p = app.get("/api/learners/ada/progress").await.json();
        assert_eq!(p[0]["subtopic_id"], "fractions-basics");
        assert!(
            (p[0]["mastery"].as_f64().unwrap() - 0.5).abs() < 1e-9,
            "{p}"
        );
        assert_eq!(p[0]["objectives"].as_array().unwrap().len(), 3);
        assert_eq!(
            app.get("/api/learners/nobody/progress").await.json(),
            json!([])
        );

        let delete = |token: Option<&'static str>| {
            let mut r = request(Method::DELETE, "/api/learners/ada");
            if let Some(t) = token {
                r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
            }
            r.body(Body::empty()).unwrap()
        };
        app.send(delete(None))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
        app.send(delete(Some("wrong")))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(
            app.get("/api/conversations?learner_id=ada").await.json()["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let reply = app.send(delete(Some(ADMIN_TOKEN))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let body = reply.json();
        assert_eq!(
            (
                body["conversations"].as_u64(),
                body["messages"].as_u64(),
                body["progress"].as_u64()
            ),
            (Some(1), Some(1), Some(2))
        );
        assert_eq!(
            app.get("/api/learners/ada/progress").await.json(),
            json!([])
        );
        assert_eq!(
            app.get("/api/conversations?learner_id=ada").await.json()["items"],
            json!([])
        );
        app.get(&format!("/api/conversations/{c}"))
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(
            app.get(&format!("/api/conversations/{other}")).await.status,
            StatusCode::OK
        );
        let audit = app
            .state
            .store
            .audit()
            .list(Some("learner:ada"), None, None)
            .await
            .unwrap();
        assert_eq!(audit[0].action, "learner.delete");
        app.send(delete(Some(ADMIN_TOKEN)))
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    })
    .await;
}
